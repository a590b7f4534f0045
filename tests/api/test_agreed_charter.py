"""A charter the partners agreed before the project, as a coordinator launches with one: its
file sent first (a PDF, an OpenDocument text or a Word document, up to 10 MB), the launch
naming it with the date; the charter step is skipped, the project opens on its diagnosis; the
charter's page, its document and the archive hold it; its governance rules later decisions."""

from __future__ import annotations

import hashlib
import io
import zipfile

from tests.api_helpers import COORD, ApiProject, project_body

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def odt() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as document:
        document.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        document.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


async def send(http, name: str, data: bytes, headers=COORD):
    return await http.post("/charter-files", files={"file": (name, data)}, headers=headers)


async def test_a_charter_agreed_with_its_file_skips_the_charter_step(http):
    sent = await send(http, "Charte signée cœur 2025.pdf", PDF)
    assert sent.status_code == 201, sent.text
    kept = sent.json()
    assert kept == {
        "id": hashlib.sha256(PDF).hexdigest(),
        "name": "Charte signée cœur 2025.pdf",
        "size": len(PDF),
        "media_type": "application/pdf",
    }
    assert (
        (await send(http, "charte.odt", odt())).json()["media_type"].endswith("opendocument.text")
    )
    # Not a document of these kinds, whatever its name says; too heavy; without a credential.
    fake = await send(http, "charte.pdf", b"MZ\x90\x00 not a pdf")
    assert fake.status_code == 422 and fake.json()["code"] == "charter_file_refused"
    assert "PDF" in fake.json()["message"]
    heavy = await send(http, "charte.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024))
    assert heavy.status_code == 413 and "10 MB" in heavy.json()["message"]
    anonymous = await http.post("/charter-files", files={"file": ("c.pdf", PDF)})
    assert anonymous.status_code == 401

    agreed = {
        "agreed_on": "2025-03-01",
        "file": {"id": kept["id"]},
        "governance": {"rule": "majority", "quorum": 0.6, "joining": "consent"},
    }
    project = await ApiProject.launch(
        http, project_body(template={"id": "co-construction"}, charter_agreed=agreed)
    )
    view = await project.view()
    assert (view["phase"], view["template"]["version"]) == ("diagnosis", 2)
    charter = await project.ok("GET", "/charter", "p2")
    assert charter["agreed"]["agreed_on"] == "2025-03-01"
    assert charter["agreed"]["document"] == {
        "name": "Charte signée cœur 2025.pdf", "sha256": kept["id"], "size": len(PDF),
        "media_type": "application/pdf",
    }  # fmt: skip
    assert charter["versions"] == [] and charter["adopted"] is None
    assert charter["governance_in_force"] == agreed["governance"]
    document = await project.call("GET", "/charter/document", "p3")
    assert document.status_code == 200 and document.content == PDF
    assert document.headers["content-type"] == "application/pdf"
    # Its name as sent, even beyond Latin-1 (RFC 6266), with a plain fallback.
    disposition = document.headers["content-disposition"]
    assert "filename*=UTF-8''Charte%20sign%C3%A9e%20c%C5%93ur%202025.pdf" in disposition
    markdown = (await project.call("GET", "/charter?format=md", "obs")).text
    assert "Adoptée par les partenaires avant le projet, le 1er mars 2025." in markdown
    assert kept["id"] in markdown and "Charte signée cœur 2025.pdf" in markdown
    # The later decision takes the agreed charter's rule and quorum, and says so.
    decision = next(s for s in view["steps"] if s["kind"] == "decision")
    assert (decision["approvals"][0]["rule"], decision["approvals"][0]["rule_source"]) == (
        "majority", "charter"
    )  # fmt: skip
    # Its governance says the partners consent to a newcomer: no plain invitation.
    newcomer = {"organisation_name": "Centre social", "organisation_id": "cs", "role": "partner"}
    invited = await project.call("POST", "/participants", "coordinator-credential", newcomer)
    assert invited.status_code == 409 and invited.json()["code"] == "joining_by_consent"
    archive = await project.call("GET", "/archive", "coordinator-credential")
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        assert zipped.read("charte-signee.pdf") == PDF
        assert "Adoptée par les partenaires avant le projet" in zipped.read("charte.md").decode()


async def test_a_charter_agreed_as_text_and_the_launches_refused(http):
    text = "Article 1 : les partenaires décident ensemble.\n\nArticle 2 : chacun peut partir."
    project = await ApiProject.launch(
        http,
        project_body(
            template={"id": "co-construction"},
            charter_agreed={"agreed_on": "2024-11-20", "text": text},
        ),
    )
    view = await project.view()
    assert view["phase"] == "diagnosis"
    charter = await project.ok("GET", "/charter", "p1")
    assert charter["agreed"]["text"] == text and charter["governance_in_force"] is None
    decision = next(s for s in view["steps"] if s["kind"] == "decision")
    assert decision["approvals"][0]["rule_source"] == "default"
    markdown = (await project.call("GET", "/charter?format=md&lang=en", "p1")).text
    assert "Agreed by the partners before the project, on 20 November 2024." in markdown
    assert "Article 2 : chacun peut partir." in markdown
    missing = await project.call("GET", "/charter/document", "p1")
    assert missing.status_code == 404 and missing.json()["code"] == "no_charter_file"

    def launch(agreed):
        body = project_body(template={"id": "co-construction"}, charter_agreed=agreed)
        return http.post("/projects", json=body, headers=COORD)

    neither = await launch({"agreed_on": "2024-11-20"})
    assert neither.status_code == 422 and "text or its file" in neither.text
    future = await launch({"agreed_on": "2099-01-01", "text": text})
    assert future.status_code == 422 and future.json()["code"] == "date_future"
    unknown = await launch({"agreed_on": "2024-11-20", "file": {"id": "0" * 64}})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_file"
