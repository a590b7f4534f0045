"""Whole projects on a real dev server, phases closing because everyone expected acted."""

from __future__ import annotations

import asyncio
import json

from domain import commands as cmd
from domain.models import Process
from tests.helpers import Driver, actor, make_spec
from worker import build_worker
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
    # Every partner assessed: the evaluation waits for the facilitator's conclusion.
    view = await d.view()
    assert view.phase == "evaluation" and view.phase_open and view.pending == ["fac"]
    assert (await d.types())[-1] == "conclusion_requested"
    await d.conclude()

    summary: ProjectSummary = await d.handle.result()
    assert summary.phase == "closed" and summary.outcome == "adopted"
    view = await d.view()
    assert view.report is not None and view.results[0].mean_score == 4.0
    types = await d.types()
    assert types[:2] == ["project_launched", "phase_opened"]
    assert types[-2:] == ["report_published", "project_closed"]
    assert "decision_reached" in types and "outcome_stated" in types
    # Since 1.1 the closing date and the archive are one activity at the end; messages, the
    # report and the closing went out at their first try, as local activities: one marker
    # event each, and no activity task at all.
    history = await d.handle.fetch_history()
    activities = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert activities == []
    local = [
        json.loads(e.marker_recorded_event_attributes.details["data"].payloads[0].data)
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
        and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
    ]
    kinds = [m["activity_type"] for m in local]
    assert kinds[-1] == "close_project" and kinds.count("publish_report") == 1
    assert set(kinds) == {"notify_now", "publish_report", "close_project"}
    assert all(m["attempt"] == 1 for m in local)
    # Everyone was told of the decision, through one notification per fan-out.
    decided = [m for m in dev.outbox.read(spec.id) if m["kind"] == "decision_reached"]
    assert {m["to"] for m in decided} == {"coord", "fac", "obs", *PARTNERS}


async def test_a_report_not_written_at_first_try_is_retried_as_an_activity(dev, tmp_path):
    """The local activity tries once; when it fails (here the reports folder cannot be
    made), the activity Temporal retries takes over and the project still ends reported."""
    data = tmp_path / "data"
    data.mkdir()
    settings = dev.settings.model_copy(update={"data_dir": data})
    settings.reports_dir.parent.mkdir(parents=True, exist_ok=True)
    settings.reports_dir.write_text("not a folder")  # so the first try cannot write
    spec = make_spec(3, Process(action={"duration": "PT0S"}))
    async with build_worker(
        dev.client,
        settings,
        task_queue="report-retried",
        workflow_failure_exception_types=[Exception],
    ):
        d = await Driver.start(dev.client, spec, "report-retried")
        await d.contribute_all(PARTNERS)
        await d.plan([await d.propose("p1", indicators=1)])
        for pid in PARTNERS:
            await d.answer(pid)
        indicators = [i.id for i in (await d.view()).adopted_plan.indicators]
        await d.assess_all(PARTNERS, indicators)
        await d.conclude()
        for _ in range(100):  # the local activity failed: the activity is scheduled
            history = await d.handle.fetch_history()
            if any(e.HasField("activity_task_scheduled_event_attributes") for e in history.events):
                break
            await asyncio.sleep(0.1)
        settings.reports_dir.unlink()  # ops mend it: the retry (2 s later) writes the report
        summary: ProjectSummary = await d.handle.result()
        history = await d.handle.fetch_history()
    assert summary.phase == "closed" and summary.outcome == "adopted"
    assert (settings.reports_dir / f"{spec.id}.md").exists()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert scheduled == ["publish_report"]
    failed_at_once = [
        e
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
        and e.marker_recorded_event_attributes.HasField("failure")
    ]
    assert len(failed_at_once) == 1
