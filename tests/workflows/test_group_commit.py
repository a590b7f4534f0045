"""Group commit in the workflow: several partner actions as one update, all or none, each
kept under its own key (a retry or the action's URL finds it as for a single action)."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain import commands as cmd
from domain.actions import action_for
from domain.views import ActionResult
from tests.helpers import Driver, actor, make_spec
from workflows.project import ActionBatch, BatchedAction, ProjectWorkflow

PARTNERS = ["p1", "p2", "p3"]


def batched(*pairs: tuple[str, cmd.Command]) -> ActionBatch:
    return ActionBatch(
        actions=[
            BatchedAction(
                key=key, update=action_for(type(c)).update, command=c.model_dump(mode="json")
            )
            for key, c in pairs
        ]
    )


async def send(d: Driver, batch: ActionBatch) -> list[ActionResult]:
    return await d.handle.execute_update(
        ProjectWorkflow.act_batch, batch, id=uuid.uuid4().hex, result_type=list[ActionResult]
    )


def contribution(pid: str, text: str) -> cmd.AddContribution:
    return cmd.AddContribution(actor=actor(pid), kind="need", text=text)


async def history_updates(d: Driver) -> list[str]:
    history = await d.handle.fetch_history()
    return [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]


async def test_a_batch_records_each_action_in_order_under_its_own_key(dev):
    d = await Driver.start(dev.client, make_spec(3), dev.task_queue)
    # p3's contribution closes the diagnosis; the proposal after it in the same batch is
    # checked against what the contributions did (co-design open).
    proposal = cmd.SubmitProposal(actor=actor("p1"), title="Jardin", description="Des bacs")
    results = await send(
        d,
        batched(
            ("k1", contribution("p1", "Un local")),
            ("k2", contribution("p2", "Des bancs")),
            ("k3", contribution("p3", "Un composteur")),
            ("k4", proposal),
        ),
    )
    assert [r.phase for r in results] == ["diagnosis", "diagnosis", "co_design", "co_design"]
    seqs = [seq for r in results for seq in r.seqs]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert results[3].item_id
    # One update in history for the four actions.
    assert await history_updates(d) == ["act_batch"]

    # Each key is an action's, as if sent alone: a retry returns the same result, no event.
    events_before = len(await d.events())
    again = await d.act(contribution("p2", "Des bancs"), key="k2")
    assert again == results[1]
    assert len(await d.events()) == events_before
    assert await d.handle.query(ProjectWorkflow.recent_action, "k4") == results[3]
    # The same key with another request is refused as for a single action.
    refused = await d.refused(contribution("p2", "Autre chose"), key="k2")
    assert refused.code == "idempotency_conflict"


async def test_a_batch_with_one_refused_action_leaves_nothing_in_history(dev):
    d = await Driver.start(dev.client, make_spec(3), dev.task_queue)
    proposal = cmd.SubmitProposal(actor=actor("p1"), title="Trop tôt", description="d")
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await send(
            d,
            batched(("a", contribution("p1", "Un local")), ("b", proposal)),  # still diagnosis
        )
    assert failed.value.cause.type == "wrong_phase"
    # Nothing recorded, and no update in history: a refused update leaves no trace.
    assert [e.type for e in await d.events()] == ["project_launched", "phase_opened"]
    assert await history_updates(d) == []
    # Two actions with one key are refused too.
    with pytest.raises(WorkflowUpdateFailedError):
        await send(d, batched(("x", contribution("p1", "a")), ("x", contribution("p2", "b"))))
