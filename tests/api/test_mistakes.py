"""Mistakes undone over HTTP: a step closed by mistake is reopened with a reason, and the
project goes on; the record shows both the close and the reopening."""

from __future__ import annotations

from tests.api_helpers import ApiProject

PARTNERS = ["p1", "p2", "p3"]


async def test_a_mistaken_close_is_reopened_and_the_project_goes_on(http):
    project = await ApiProject.launch(http)
    await project.to_decision(PARTNERS)
    await project.ok("PUT", "/answer", "p1", {"kind": "consent"})
    nothing = await project.call("POST", "/reopening", "fac", {"reason": "Rien à rouvrir"})
    assert nothing.status_code == 409 and nothing.json()["code"] == "nothing_to_reopen"
    await project.ok("POST", "/close-phase", "fac", {"reason": "fini"})
    assert (await project.view())["phase"] == "co_design"
    reopened = await project.ok("POST", "/reopening", "fac",
                                {"reason": "Clos par erreur : deux partenaires n'avaient pas répondu"})  # fmt: skip
    assert (reopened["phase"], reopened["round"]) == ("decision", 1)
    view = await project.view()
    assert view["decisions"][0]["voided"] and len(view["answers"]) == 1
    for pid in ("p2", "p3"):
        await project.ok("PUT", "/answer", pid, {"kind": "consent"})
    view = await project.view()
    assert view["phase"] == "action" and view["decisions"][-1]["outcome"] == "adopted"
    events = await project.ok("GET", "/events", "coordinator-credential")
    types = [e["data"]["type"] for e in events["events"]]
    assert "phase_closed" in types and "step_reopened" in types
