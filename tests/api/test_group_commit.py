"""Group commit through the API: a burst of partner actions on one project goes to Temporal as
a few updates; each partner gets its own answer; a refused action among them is refused alone
and leaves nothing in history; every action keeps its key."""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from tests.api_helpers import ApiProject, bearer, project_body


async def accepted_updates(client: Client, project_id: str) -> list[str]:
    history = await client.get_workflow_handle(f"project-{project_id}").fetch_history()
    return [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]


async def test_a_burst_is_recorded_in_a_few_updates_each_answered_alone(http, dev):
    project = await ApiProject.launch(http, project_body(3))
    burst = 30

    async def contribute(n: int):
        return await http.post(
            f"/projects/{project.id}/contributions",
            json={"kind": "need", "text": f"besoin {n}"},
            headers={**bearer(project.tokens[("p1", "p2")[n % 2]]), "Idempotency-Key": f"c-{n}"},
        )

    async def propose_too_early():  # still the diagnosis: refused by the workflow
        return await http.post(
            f"/projects/{project.id}/proposals",
            json={"title": "Trop tôt", "description": "d"},
            headers=bearer(project.tokens["p1"]),
        )

    *answers, early = await asyncio.gather(
        *(contribute(n) for n in range(burst)), propose_too_early()
    )
    assert [a.status_code for a in answers] == [201] * burst, [a.text for a in answers]
    assert early.status_code == 409, early.text
    seqs = [seq for a in answers for seq in a.json()["seqs"]]
    assert len(set(seqs)) == burst

    updates = await accepted_updates(dev.client, project.id)
    assert "act_batch" in updates and len(updates) < burst, updates
    assert "submit_proposal" not in updates  # the refused action left nothing
    events = (await project.ok("GET", "/events?limit=500", "coordinator-credential"))["events"]
    texts = sorted(
        e["data"]["contribution"]["text"]
        for e in events
        if e["data"]["type"] == "contribution_added"
    )
    assert texts == sorted(f"besoin {n}" for n in range(burst))
    assert not [e for e in events if e["data"]["type"] == "proposal_submitted"]

    # An action that went in a batch keeps its key: retried, the same answer and no event;
    # followed at its URL, the same answer.
    batched = burst - 1  # the last to come: it waited, and went with others
    again = await contribute(batched)
    assert again.status_code == 201 and again.json() == answers[batched].json()
    followed = await http.get(
        f"/projects/{project.id}/actions/c-{batched}",
        headers=bearer(project.tokens[("p1", "p2")[batched % 2]]),
    )
    assert followed.status_code == 200, followed.text
    assert followed.json()["seqs"] == answers[batched].json()["seqs"]
    events_after = await project.ok("GET", "/events?limit=500", "coordinator-credential")
    assert len(events_after["events"]) == len(events)


async def test_a_partner_alone_sends_one_named_update(http, dev):
    project = await ApiProject.launch(http, project_body(3))
    await project.ok("POST", "/contributions", "p1", {"kind": "need", "text": "Un local"})
    assert await accepted_updates(dev.client, project.id) == ["add_contribution"]
