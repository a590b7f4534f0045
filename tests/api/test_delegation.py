"""Answers delegated, over HTTP: a delegated answer counts once for each partner in the tally;
A→B→A and A→B→C are refused with 409; a revoked delegation no longer counts; the register
says who answered for whom."""

from __future__ import annotations

from tests.api_helpers import ApiProject, project_body

PARTNERS = ["p1", "p2", "p3", "p4"]


async def test_a_delegated_answer_counts_once_for_each_partner(http):
    project = await ApiProject.launch(http, project_body(4))
    await project.to_decision(PARTNERS)
    await project.ok("POST", "/delegations", "p1", {"to": "p2"})
    for who, body in (("p2", {"to": "p3"}), ("p2", {"to": "p1"}), ("p3", {"to": "p1"})):
        chain = await project.call("POST", "/delegations", who, body)
        assert chain.status_code == 409 and chain.json()["code"] == "delegation_chain", body
    # p3 delegates, then revokes: its answer is no longer given by p2.
    await project.ok("POST", "/delegations", "p3", {"to": "p2"})
    view = await project.view()
    revoked = next(d for d in view["delegations"] if d["delegator"] == "p3")
    await project.ok("DELETE", f"/delegations/{revoked['id']}", "p3")
    await project.ok("PUT", "/answer", "p2", {"kind": "consent"})
    view = await project.view()
    by = {a["participant_id"]: a["by"] for a in view["answers"]}
    assert by == {"p2": None, "p1": "p2"}
    assert view["tally"]["consents"] == 2 and view["tally"]["silent"] == 2
    used = next(d for d in view["delegations"] if d["delegator"] == "p1")
    refused = await project.call("DELETE", f"/delegations/{used['id']}", "p1")
    assert refused.status_code == 409 and refused.json()["code"] == "delegation_used"
    await project.ok("PUT", "/answer", "p3", {"kind": "consent"})
    await project.ok("PUT", "/answer", "p4", {"kind": "abstain"})
    view = await project.view()
    (decided,) = view["decisions"]
    assert decided["approvals"][0]["delegated"] == {"p1": "p2"}
    assert (decided["tally"]["consents"], decided["tally"]["abstentions"]) == (3, 1)
    register = await project.call("GET", "/decisions?format=excel", "coordinator-credential")
    assert "Partenaire 2 pour Partenaire 1" in register.content.decode("utf-8-sig")


async def test_a_proposal_withdrawn_by_its_author_stays_in_the_record_and_is_not_chosen(http):
    project = await ApiProject.launch(http)
    for pid in ("p1", "p2", "p3"):
        await project.ok("POST", "/contributions", pid, {"kind": "need", "text": "Un besoin"})
    first = await project.ok("POST", "/proposals", "p1",
                             {"title": "Jardin", "description": "En bacs"})  # fmt: skip
    second = await project.ok("POST", "/proposals", "p2",
                              {"title": "Verger", "description": "Des arbres"})  # fmt: skip
    not_mine = await project.call("POST", f"/proposals/{first['item_id']}/withdrawal", "p2")
    assert not_mine.status_code == 409 and not_mine.json()["code"] == "not_the_author"
    await project.ok("POST", f"/proposals/{first['item_id']}/withdrawal", "p1",
                     {"reason": "Le verger suffit"})  # fmt: skip
    (withdrawn,) = [p for p in (await project.view())["proposals"] if p["withdrawn"]]
    assert (withdrawn["id"], withdrawn["withdrawn_reason"]) == (first["item_id"],
                                                                 "Le verger suffit")  # fmt: skip
    refused = await project.call("POST", "/plan", "fac",
                                 {"proposal_ids": [first["item_id"]], "summary": "Le jardin"})  # fmt: skip
    assert refused.status_code == 409 and refused.json()["code"] == "proposal_withdrawn"
    await project.ok("POST", "/plan", "fac",
                     {"proposal_ids": [second["item_id"]], "summary": "Le verger"})  # fmt: skip


async def test_the_coordinator_changes_the_title_and_a_step_not_opened_yet(http):
    project = await ApiProject.launch(http)
    before = await project.view()
    changed = await project.ok(
        "PATCH", "", "coordinator-credential",
        {"title": "Jardins partagés du 8e", "durations": {"decision": "P21D"},
         "reason": "Les élus se réunissent le 20"},
    )  # fmt: skip
    assert changed["seqs"]
    view = await project.view()
    assert view["title"] == "Jardins partagés du 8e"
    assert view["duration_overrides"] == {"decision": "P21D"}
    assert view["template"] == before["template"]  # its version and digest, unchanged
    decision = next(s for s in view["steps"] if s["id"] == "decision")
    assert decision["duration"] == "P21D"
    opened = await project.call("PATCH", "", "coordinator-credential",
                                {"durations": {"diagnosis": "P3D"}, "reason": "Plus court"})  # fmt: skip
    assert opened.status_code == 409 and opened.json()["code"] == "step_already_opened"
    by_partner = await project.call("PATCH", "", "p1", {"title": "X", "reason": "y"})
    assert by_partner.status_code == 403
    events = await project.ok("GET", "/events", "coordinator-credential")
    edited = [e for e in events["events"] if e["data"]["type"] == "project_edited"]
    assert edited[0]["data"]["reason"] == "Les élus se réunissent le 20"
