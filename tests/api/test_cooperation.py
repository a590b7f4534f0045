"""The cooperation questionnaire over HTTP: each partner answers once, anonymously; the figures
show once the evaluation is closed and only from three answers, in the report and on the
organisation's side; no event, export or archive ties an answer to its partner."""

from __future__ import annotations

import io
import zipfile

from tests.api_helpers import COORD, ApiProject

ANSWERS = {
    "p1": {"roles": 4, "constraints": 3, "language": 5, "decisions": 4, "neutrality": 5,
           "again": 5, "comment": "Un vrai travail en commun"},
    "p2": {"roles": 5, "constraints": 4, "language": 4, "decisions": 3, "neutrality": 4,
           "again": 4, "comment": "Des réunions trop tardives"},
    "p3": {"roles": 3, "constraints": 2, "language": 3, "decisions": 2, "neutrality": 4,
           "again": 3, "comment": ""},
}  # fmt: skip


async def to_evaluation(project: ApiProject) -> str:
    proposal = await project.to_decision(["p1", "p2", "p3"])
    for pid in ("p1", "p2", "p3"):
        await project.ok("PUT", "/answer", pid, {"kind": "consent"})
    await project.ok("POST", "/close-phase", "fac", {"reason": "fini"})
    view = await project.view()
    assert view["phase"] == "evaluation", view["phase"]
    return proposal


async def finish(project: ApiProject) -> str:
    indicator = (await project.view())["adopted_plan"]["indicators"][0]["id"]
    for pid in ("p1", "p2", "p3"):
        await project.ok(
            "POST", "/assessments", pid, {"scores": [{"indicator_id": indicator, "score": 4}]}
        )
    await project.ok("POST", "/outcome", "fac", {"text": "Une belle alliance"})
    return await project.wait_for_report()


async def test_the_questionnaire_is_anonymous_and_shown_from_three_answers_once_closed(http):
    project = await ApiProject.launch(http)
    await to_evaluation(project)
    await project.ok("POST", "/cooperation", "p1", ANSWERS["p1"])
    again = await project.call("POST", "/cooperation", "p1", ANSWERS["p1"])
    assert again.status_code == 409 and again.json()["code"] == "already_answered"
    wrong = await project.call("POST", "/cooperation", "p2", {**ANSWERS["p2"], "roles": 6})
    assert wrong.status_code == 422
    # While the evaluation is open: who answered, no figure (they would move as people answer).
    during = await project.ok("GET", "/cooperation", "p2")
    assert during == {"answered": 1, "shown": False, "not_shown_because": "evaluation_open",
                      "means": {}, "comments": []}  # fmt: skip
    for pid in ("p2", "p3"):
        await project.ok("POST", "/cooperation", pid, ANSWERS[pid])
    report = await finish(project)
    after = await project.ok("GET", "/cooperation", "p1")
    assert after["shown"] and after["answered"] == 3
    assert after["means"]["roles"] == 4.0 and after["means"]["decisions"] == 3.0
    assert sorted(after["comments"]) == ["Des réunions trop tardives", "Un vrai travail en commun"]
    assert "## La coopération entre les partenaires" in report
    assert "| Les décisions ont vraiment été prises ensemble | 3 |" in report
    # No event, no export, no archive ties an answer to its partner: the scores and comments
    # are nowhere but in the report's figures.
    events = (await project.ok("GET", "/events?limit=1000", "coordinator-credential"))["events"]
    answered = [e for e in events if e["data"]["type"] == "cooperation_answered"]
    assert sorted(e["data"]["participant_id"] for e in answered) == ["p1", "p2", "p3"]
    assert all(set(e["data"]) == {"type", "participant_id"} for e in answered)
    everything = (await http.get(f"/projects/{project.id}/events?limit=1000", headers=COORD)).text
    assert "trop tardives" not in everything and "vrai travail" not in everything
    archive = await project.call("GET", "/archive", "coordinator-credential")
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        assert "La coopération entre les partenaires" in zipped.read("rapport.md").decode()
        for name in zipped.namelist():
            text = zipped.read(name).decode("utf-8", "replace")
            if "trop tardives" in text:
                assert name.startswith(("rapport.", "report.")), name
    # The organisation sees its cooperations' figures across its projects.
    across = (await http.get("/organisation/cooperation", headers=COORD)).json()
    assert across["shown"] and across["answered"] >= 3


async def test_fewer_than_three_answers_show_no_figure(http):
    project = await ApiProject.launch(http)
    await to_evaluation(project)
    for pid in ("p1", "p2"):
        await project.ok("POST", "/cooperation", pid, ANSWERS[pid])
    report = await finish(project)
    after = await project.ok("GET", "/cooperation", "p1")
    assert after == {"answered": 2, "shown": False, "not_shown_because": "fewer_than_three",
                     "means": {}, "comments": []}  # fmt: skip
    assert "2 partenaires ont répondu au questionnaire sur la coopération" in report
    assert "trop tardives" not in report
