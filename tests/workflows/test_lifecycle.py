"""Whole projects on a real dev server, phases closing because everyone expected acted."""

from __future__ import annotations

from domain import commands as cmd
from domain.models import Process
from tests.helpers import Driver, actor, make_spec
from workflows.project import ProjectSummary

PARTNERS = ["p1", "p2", "p3"]


async def test_full_lifecycle_adopted_in_round_one(dev):
    spec = make_spec(3, Process(action={"duration": "P30D"}))
    d = await Driver.start(dev.client, spec, dev.task_queue)
    assert (await d.view()).phase == "diagnosis"

    await d.contribute_all(PARTNERS)
    assert (await d.view()).phase == "co_design"
    proposal = await d.propose("p1")
    await d.act(
        cmd.EndorseProposal(actor=actor("p2"), proposal_id=proposal),
    )
    result = await d.plan([proposal])
    assert result.phase == "decision"
    for pid in PARTNERS:
        result = await d.answer(pid)
    assert result.phase == "action"
    await d.act(cmd.NoteProgress(actor=actor("p3"), text="Bacs installés"))
    await d.act(
        cmd.StateOutcome(actor=actor("fac"), text="Adopté sans objection"),
    )
    result = await d.act(cmd.ClosePhase(actor=actor("fac")))
    assert result.phase == "evaluation"
    view = await d.view()
    indicators = [i.id for i in view.adopted_plan.indicators]
    await d.assess_all(PARTNERS, indicators)

    summary: ProjectSummary = await d.handle.result()
    assert summary.phase == "closed" and summary.outcome == "adopted"
    view = await d.view()
    assert view.report is not None and view.results[0].mean_score == 4.0
    types = await d.types()
    assert types[:2] == ["project_launched", "phase_opened"]
    assert types[-2:] == ["report_published", "project_closed"]
    assert "decision_reached" in types and "outcome_stated" in types
    # Since 1.1 the closing date and the archive are one activity at the end.
    history = await d.handle.fetch_history()
    activities = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert activities[-1] == "close_project"
    assert "record_closing" not in activities and "archive_project" not in activities
    # Everyone was told of the decision, through one notification per fan-out.
    decided = [m for m in dev.outbox.read(spec.id) if m["kind"] == "decision_reached"]
    assert {m["to"] for m in decided} == {"coord", "fac", "obs", *PARTNERS}
