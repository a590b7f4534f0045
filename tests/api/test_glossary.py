"""The project's common language over HTTP: a term proposed, defined again, validated; in the
report and the archive; a new project starting from an earlier project's glossary."""

from __future__ import annotations

import io
import zipfile

from tests.api.test_cooperation import finish, to_evaluation
from tests.api_helpers import ApiProject, bearer, project_body
from tests.conftest import OTHER_ORG_CREDENTIAL


async def test_a_validated_term_is_in_the_report_the_archive_and_a_later_project(http):
    project = await ApiProject.launch(http)
    await project.ok(
        "POST", "/glossary", "p1", {"term": "Tiers-lieu", "definition": "Un lieu partagé"}
    )
    view = await project.view()
    (entry,) = view["glossary"]
    term_id = entry["id"]
    await project.ok(
        "POST", f"/glossary/{term_id}/definitions", "p2",
        {"definition": "Un lieu ouvert, géré ensemble"},
    )  # fmt: skip
    await project.ok("POST", f"/glossary/{term_id}/comments", "p3", {"text": "Et le loyer ?"})
    refused = await project.call(
        "POST", f"/glossary/{term_id}/validation", "p1", {"definition_id": "x"}
    )
    assert refused.status_code == 403  # the facilitator validates
    second = (await project.view())["glossary"][0]["definitions"][1]["id"]
    await project.ok("POST", f"/glossary/{term_id}/validation", "fac", {"definition_id": second})
    observer = await project.call(
        "POST", "/glossary", "obs", {"term": "Budget", "definition": "L'argent"}
    )
    assert observer.status_code == 403
    await to_evaluation(project)
    report = await finish(project)
    assert "## Le glossaire du projet" in report
    assert "- **Tiers-lieu**\u00a0: Un lieu ouvert, géré ensemble" in report
    archive = await project.call("GET", "/archive", "coordinator-credential")
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        assert "Un lieu ouvert, géré ensemble" in zipped.read("rapport.md").decode()
    # A new project of the same organisation starts from this common language.
    later = await ApiProject.launch(http, project_body(glossary_from=project.id))
    (kept,) = (await later.view())["glossary"]
    assert (kept["term"], kept["validated"]) == ("Tiers-lieu", kept["definitions"][0]["id"])
    assert kept["definitions"][0]["text"] == "Un lieu ouvert, géré ensemble"
    # Not from another organisation's project.
    other = await http.post(
        "/projects",
        json=project_body(glossary_from=project.id),
        headers=bearer(OTHER_ORG_CREDENTIAL),
    )
    assert other.status_code == 422 and other.json()["code"] == "unknown_project"
