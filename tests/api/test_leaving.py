"""A partner leaves the project with its reason: its link stops working, the decision no longer
waits for it, and the record says who left and why."""

from __future__ import annotations

from tests.api_helpers import ApiProject, bearer


async def test_a_partner_leaves_during_a_decision_over_http(http):
    project = await ApiProject.launch(http)
    await project.to_decision(["p1", "p2", "p3"])
    await project.ok("PUT", "/answer", "p1", {"kind": "consent"})
    await project.ok("PUT", "/answer", "p2", {"kind": "consent"})
    empty = await project.call("POST", "/leave", "p3", {"reason": ""})
    assert empty.status_code == 422  # a reason people will read
    refused = await project.call("POST", "/leave", "fac", {"reason": "Je pars"})
    assert refused.status_code == 403  # the facilitator is replaced, never leaves alone
    left = await project.ok("POST", "/leave", "p3", {"reason": "Notre association se dissout"})
    # Nobody else was awaited: the decision closed, adopted by the two who answered.
    assert left["phase"] == "action"
    view = await project.view()
    assert view["decisions"][-1]["tally"]["voters"] == 2
    gone = await http.get(f"/projects/{project.id}", headers=bearer(project.tokens["p3"]))
    assert gone.status_code == 401
    events = (await project.ok("GET", "/events", "coordinator-credential"))["events"]
    (removal,) = [e for e in events if e["data"]["type"] == "participant_removed"]
    assert removal["actor"] == "p3" and removal["data"]["left"] is True
    assert removal["data"]["reason"] == "Notre association se dissout"
