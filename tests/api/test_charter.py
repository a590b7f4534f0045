"""The partnership charter over HTTP, as the issue's users run it: a project launched on the
latest co-construction opens on its charter; a partner objects to the governance; version 2
answers the objection; every partner consents; the diagnosis opens; the later decision takes
the adopted charter's rule and quorum; the report and the archive hold the charter with its
versions and signatures."""

from __future__ import annotations

import io
import zipfile

from tests.api.test_cooperation import finish, to_evaluation
from tests.api_helpers import ApiProject, project_body

OBJECTION = "La majorité écrase les petites associations : décidons par consentement."


def charter_body(model: dict[str, str], **kw):
    return {"sections": dict(model), **kw}


async def test_a_charter_objected_to_answered_adopted_then_ruling_the_decision(http):
    project = await ApiProject.launch(http, project_body(template={"id": "co-construction"}))
    view = await project.view()
    assert (view["phase"], view["template"]["version"]) == ("charter", 2)
    assert view["expected"] == ["fac"]  # the first version comes first
    charter = await project.ok("GET", "/charter", "p1")
    assert charter["step_open"] and charter["awaiting_version"] and charter["versions"] == []
    model = charter["model"]
    assert "Jardins partagés" in model["purpose"] and "Lyon 8e" in model["purpose"]
    early = await project.call("PUT", "/answer", "p1", {"kind": "consent"})
    assert early.status_code == 409 and early.json()["code"] == "charter_not_published"
    no_document = await project.call("GET", "/charter?format=md", "p1")
    assert no_document.status_code == 409 and no_document.json()["code"] == "no_charter_yet"

    # Version 1: decisions by majority, 60 % answering.
    first = charter_body(model, governance={"rule": "majority", "quorum": 0.6})
    by_partner = await project.call("POST", "/charter", "p1", first)
    assert by_partner.status_code == 403
    missing = await project.call(
        "POST", "/charter", "fac", {"sections": {**model, "governance": ""}}
    )
    assert missing.status_code == 422
    await project.ok("POST", "/charter", "fac", first)
    await project.ok(
        "POST", "/charter/notes", "p1",
        {"section": "governance", "text": "Les décisions se prennent par consentement.",
         "wording": True},
    )  # fmt: skip
    await project.ok("POST", "/charter/notes", "p2", {"section": "communication", "text": "Et X ?"})
    unknown = await project.call("POST", "/charter/notes", "p2", {"section": "budget", "text": "?"})
    assert unknown.status_code == 409 and unknown.json()["code"] == "unknown_section"
    await project.ok("PUT", "/answer", "p1", {"kind": "object", "reason": OBJECTION})
    await project.ok("PUT", "/answer", "p2", {"kind": "consent"})
    await project.ok("PUT", "/answer", "p3", {"kind": "consent"})
    view = await project.view()
    assert (view["phase"], view["phase_open"], view["expected"]) == ("charter", True, ["fac"])
    charter = await project.ok("GET", "/charter", "p2")
    assert charter["awaiting_version"] and charter["objections_to_answer"] == {"p1": OBJECTION}

    # Version 2 answers the objection, and says what changed.
    second = charter_body(
        model,
        governance={"rule": "consent", "quorum": 0.75, "joining": "consent"},
        changes=["Gouvernance : le consentement plutôt que la majorité"],
        objection_answers={"p1": "Les décisions se prennent désormais par consentement."},
    )
    unanswered = await project.call("POST", "/charter", "fac", {**second, "objection_answers": {}})
    assert unanswered.status_code == 409
    assert unanswered.json()["code"] == "charter_objection_unanswered"
    unchanged = await project.call("POST", "/charter", "fac", {**second, "changes": []})
    assert unchanged.status_code == 409 and unchanged.json()["code"] == "changes_required"
    await project.ok("POST", "/charter", "fac", second)
    for pid in ("p1", "p2", "p3"):
        await project.ok("PUT", "/answer", pid, {"kind": "consent"})

    # Adopted: each organisation's consent with its date; the diagnosis opens.
    view = await project.view()
    assert view["phase"] == "diagnosis"
    charter = await project.ok("GET", "/charter", "obs")
    assert charter["adopted"] == 2 and charter["adopted_at"]
    assert sorted(s["organisation"] for s in charter["signatures"]) == [
        "Partenaire 1", "Partenaire 2", "Partenaire 3"
    ]  # fmt: skip
    assert all(s["at"] for s in charter["signatures"])
    assert charter["governance_in_force"] == {"rule": "consent", "quorum": 0.75,
                                              "joining": "consent"}  # fmt: skip
    assert charter["versions"][0]["objections"] == {"p1": OBJECTION}
    # The later decision decides by the adopted charter's rule and quorum, and says so.
    assert (view["rule"], view["quorum"]) == ("consent", 0.75)
    decision = next(s for s in view["steps"] if s["kind"] == "decision")
    (partners,) = decision["approvals"]
    assert (partners["rule"], partners["quorum"], partners["rule_source"]) == (
        "consent", 0.75, "charter"
    )  # fmt: skip

    document = await project.call("GET", "/charter?format=md", "p3")
    assert document.status_code == 200
    text = document.text
    assert text.startswith("# Charte de partenariat – Jardins partagés")
    assert "Version 2, adoptée le" in text
    assert "- Partenaire 1 a consenti le" in text
    assert "Objection de Partenaire 1\u00a0:" in text
    assert "Réponse de la version suivante\u00a0: Les décisions se prennent désormais" in text
    printable = await project.call("GET", "/charter?format=html&lang=en", "p3")
    assert printable.headers["content-type"].startswith("text/html")
    assert "<h1>Partnership charter – Jardins partagés</h1>" in printable.text
    assert "@page{size:A4" in printable.text

    await to_evaluation(project)
    view = await project.view()
    (decided,) = view["decisions"]
    assert (decided["rule"], decided["approvals"][0]["quorum"]) == ("consent", 0.75)
    report = await finish(project)
    assert "## Charte de partenariat" in report
    assert "Version 2, adoptée le" in report
    assert "### Signatures" in report and "- Partenaire 3 a consenti le" in report
    assert "- Version 2\u00a0: Gouvernance : le consentement plutôt que la majorité" in report
    archive = await project.call("GET", "/archive", "coordinator-credential")
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        names = zipped.namelist()
        assert {"charte.md", "charte.html", "charter.md", "charter.html"} <= set(names)
        archived = zipped.read("charte.md").decode()
        assert "Version 2, adoptée le" in archived and OBJECTION.split(" :")[0] in archived
        assert "## Signatures" in archived
        assert "Version 2, adopted on" in zipped.read("charter.md").decode()


async def test_a_project_without_a_charter_has_none_and_runs_as_before(http):
    project = await ApiProject.launch(http)
    view = await project.view()
    assert (view["phase"], view["template"]["version"]) == ("diagnosis", 1)
    charter = await project.ok("GET", "/charter", "p1")
    assert not charter["step_open"] and charter["versions"] == [] and charter["adopted"] is None
    refused = await project.call("POST", "/charter", "fac", {"sections": charter["model"]})
    assert refused.status_code == 409 and refused.json()["code"] == "wrong_phase"
    step = next(s for s in view["steps"] if s["kind"] == "decision")
    assert step["approvals"][0]["rule_source"] == "template"


async def adopted(http, joining: str) -> ApiProject:
    project = await ApiProject.launch(http, project_body(template={"id": "co-construction"}))
    model = (await project.ok("GET", "/charter", "fac"))["model"]
    body = charter_body(model, governance={"rule": "consent", "quorum": 0.5, "joining": joining})
    await project.ok("POST", "/charter", "fac", body)
    for pid in ("p1", "p2", "p3"):
        await project.ok("PUT", "/answer", pid, {"kind": "consent"})
    return project


NEWCOMER = {
    "organisation_name": "Centre social Garon",
    "organisation_id": "cs-garon",
    "organisation_kind": "association",
    "role": "partner",
    "person_name": "Aïcha Diallo",
    "email": "accueil@cs-garon.example",
}


async def test_a_newcomer_joins_by_the_partners_consent_then_signs_the_charter(http):
    project = await adopted(http, "consent")
    invited = await project.call("POST", "/participants", "coordinator-credential", NEWCOMER)
    assert invited.status_code == 409 and invited.json()["code"] == "joining_by_consent"
    proposed = await project.ok("POST", "/newcomers", "p1", NEWCOMER)
    newcomer_id = proposed["item_id"]
    (waiting,) = (await project.view())["newcomers"]
    assert waiting["status"] == "proposed" and waiting["answers"] == {"p1": "consent"}
    assert "email" not in waiting["participant"] or not waiting["participant"]["email"]
    refused = await project.call(
        "PUT", f"/newcomers/{newcomer_id}/answer", "p2", {"kind": "object"}
    )
    assert refused.status_code == 409 and refused.json()["code"] == "reason_required"
    await project.ok("PUT", f"/newcomers/{newcomer_id}/answer", "p2", {"kind": "consent"})
    joined = await project.ok("PUT", f"/newcomers/{newcomer_id}/answer", "p3", {"kind": "consent"})
    assert joined["item_id"] == newcomer_id and joined["token_version"]
    people = await project.ok("GET", "/participants", "coordinator-credential")
    assert next(p for p in people if p["id"] == newcomer_id)["email"] == NEWCOMER["email"]
    link = await project.ok("POST", f"/participants/{newcomer_id}/link", "coordinator-credential")
    project.tokens[newcomer_id] = link["participant"]["token"]
    await project.ok("POST", "/charter/consent", newcomer_id)
    again = await project.call("POST", "/charter/consent", newcomer_id)
    assert again.status_code == 409 and again.json()["code"] == "already_signed"
    charter = await project.ok("GET", "/charter", newcomer_id)
    assert "Centre social Garon" in [s["organisation"] for s in charter["signatures"]]


async def test_an_objection_refuses_a_newcomer_and_a_charter_of_invitation_keeps_invitations(http):
    project = await adopted(http, "consent")
    proposed = await project.ok("POST", "/newcomers", "coordinator-credential", NEWCOMER)
    await project.ok(
        "PUT", f"/newcomers/{proposed['item_id']}/answer", "p3",
        {"kind": "object", "reason": "Un concurrent direct"},
    )  # fmt: skip
    (refused,) = (await project.view())["newcomers"]
    assert refused["status"] == "refused" and refused["reasons"] == {"p3": "Un concurrent direct"}
    invitation = await adopted(http, "invitation")
    proposal = await invitation.call("POST", "/newcomers", "p1", NEWCOMER)
    assert proposal.status_code == 409 and proposal.json()["code"] == "joining_by_invitation"
    await invitation.ok("POST", "/participants", "coordinator-credential", NEWCOMER)


async def test_an_amendment_suspends_the_step_then_the_amended_charter_rules(http):
    project = await adopted(http, "invitation")
    before = await project.view()
    assert before["phase"] == "diagnosis"
    model = (await project.ok("GET", "/charter", "fac"))["model"]
    amendment = charter_body(
        model,
        governance={"rule": "majority", "quorum": 0.5, "joining": "invitation"},
        changes=["Gouvernance : la majorité plutôt que le consentement"],
        answer_within="P10D",
    )
    by_partner = await project.call("POST", "/charter/amendments", "p1", amendment)
    assert by_partner.status_code == 403
    await project.ok("POST", "/charter/amendments", "fac", amendment)
    view = await project.view()
    assert view["amendment"]["version"] == 2 and view["amendment_pending"] == ["p1", "p2", "p3"]
    suspended = await project.call("POST", "/contributions", "p1", {"kind": "need", "text": "X"})
    assert suspended.status_code == 409 and suspended.json()["code"] == "step_suspended"
    again = await project.call("POST", "/charter/amendments", "fac", amendment)
    assert again.status_code == 409 and again.json()["code"] == "amendment_open"
    for pid in ("p1", "p2", "p3"):
        await project.ok("PUT", "/charter/amendment/answer", pid, {"kind": "consent"})
    view = await project.view()
    assert view["amendment"] is None and view["phase"] == "diagnosis"
    assert view["deadline"] > before["deadline"]  # moved by the time the amendment took
    charter = await project.ok("GET", "/charter", "obs")
    assert charter["adopted"] == 2 and charter["versions"][1]["amendment"]
    assert charter["governance_in_force"]["rule"] == "majority"
    await project.ok("POST", "/contributions", "p1", {"kind": "need", "text": "Des jardins"})
    none_open = await project.call("PUT", "/charter/amendment/answer", "p1", {"kind": "consent"})
    assert none_open.status_code == 409 and none_open.json()["code"] == "no_amendment_open"
    text = (await project.call("GET", "/charter?format=md", "p1")).text
    assert "Version 2, adoptée le" in text
    assert "Version 2 (modification)\u00a0: Gouvernance : la majorité" in text
