"""Durable deadlines on the time-skipping server: reminders, escalation, extension, closes."""

from __future__ import annotations

from datetime import timedelta

from domain import commands as cmd
from domain.models import PhaseSettings
from tests.helpers import Driver, actor, make_spec, short_process


async def test_reminders_go_only_to_silent_partners_and_the_deadline_escalates(timed):
    env, h = timed
    spec = make_spec(3, short_process())
    d = await Driver.start(h.client, spec, h.task_queue)
    await d.contribute_all(["p1"])

    await env.sleep(timedelta(days=9, hours=12))  # past both reminders (D-3, D-1)
    events = await d.events()
    reminders = [e.data for e in events if e.type == "reminder_sent"]
    assert [r.offset for r in reminders] == [timedelta(days=3), timedelta(days=1)]
    assert all(r.recipients == ["p2", "p3"] for r in reminders)
    assert (await d.view()).phase == "diagnosis"

    await env.sleep(timedelta(days=1))  # past the deadline
    events = await d.events()
    escalation = next(e.data for e in events if e.type == "deadline_escalated")
    assert escalation.missing == ["p2", "p3"]
    closed = next(e.data for e in events if e.type == "phase_closed")
    assert closed.phase == "diagnosis" and closed.cause == "deadline"
    assert (await d.view()).phase == "co_design"

    outbox = h.outbox.read(spec.id)
    reminded = {m["to"] for m in outbox if m["kind"] == "reminder_sent"}
    assert reminded == {"p2", "p3"}
    told = {m["to"] for m in outbox if m["kind"] == "deadline_escalated"}
    assert told == {"fac"}


async def test_an_extension_moves_the_deadline_and_its_reminders(timed):
    env, h = timed
    spec = make_spec(2, short_process())
    d = await Driver.start(h.client, spec, h.task_queue)
    first = (await d.view()).deadline

    await env.sleep(timedelta(days=8))  # the D-3 reminder went out
    new_deadline = first + timedelta(days=5)
    refusal = await d.refused(
        cmd.ExtendDeadline(actor=actor("fac"), deadline=first - timedelta(days=1), reason="tôt"),
    )
    assert refusal.code == "deadline_not_later"
    await d.act(
        cmd.ExtendDeadline(actor=actor("fac"), deadline=new_deadline, reason="vacances scolaires"),
    )
    assert (await d.view()).deadline == new_deadline

    await env.sleep(timedelta(days=3))  # the old deadline passes: nothing closes
    view = await d.view()
    assert view.phase == "diagnosis"
    assert "deadline_escalated" not in await d.types()

    await env.sleep(timedelta(days=4))  # the new deadline passes
    events = await d.events()
    reminders = [e for e in events if e.type == "reminder_sent"]
    # D-3 before the extension, then D-3 and D-1 again relative to the new deadline.
    assert [r.at for r in reminders] == sorted(r.at for r in reminders)
    assert [r.data.offset.days for r in reminders] == [3, 3, 1]
    # Timers fire within milliseconds of their moment.
    assert abs(reminders[-1].at - (new_deadline - timedelta(days=1))) < timedelta(seconds=1)
    assert (await d.view()).phase == "co_design"


async def test_co_design_deadline_without_plan_alerts_the_facilitator_and_stays_open(timed):
    env, h = timed
    spec = make_spec(2, short_process())
    d = await Driver.start(h.client, spec, h.task_queue)
    await d.contribute_all(["p1", "p2"])
    await env.sleep(timedelta(days=11))
    view = await d.view()
    assert view.phase == "co_design" and view.phase_open
    escalation = [e.data for e in await d.events() if e.type == "deadline_escalated"]
    assert [(x.phase, x.missing) for x in escalation] == [("co_design", ["fac"])]
    # Still open: the plan opens the decision whenever it comes.
    proposal = await d.propose("p1")
    result = await d.plan([proposal])
    assert result.phase == "decision"


async def test_decision_deadline_applies_the_rule_to_the_answers_given(timed):
    env, h = timed
    spec = make_spec(3, short_process(decision=PhaseSettings(duration=timedelta(days=7))))
    d = await Driver.start(h.client, spec, h.task_queue)
    await d.contribute_all(["p1", "p2", "p3"])
    await d.plan([await d.propose("p1")])
    await d.answer("p1")
    await d.answer("p2", "abstain")  # p3 stays silent, which is not an objection
    await env.sleep(timedelta(days=8))
    decision = next(e.data for e in await d.events() if e.type == "decision_reached")
    assert decision.outcome == "adopted"  # quorum 2 of 3 >= 0.5
    assert (decision.tally.consents, decision.tally.silent) == (1, 1)
    # action lasts 0 in short_process: skipped, straight to evaluation.
    assert (await d.view()).phase == "evaluation"


async def test_a_decision_without_quorum_goes_back_to_co_design_at_its_deadline(timed):
    env, h = timed
    d = await Driver.start(h.client, make_spec(3, short_process()), h.task_queue)
    await d.contribute_all(["p1", "p2", "p3"])
    await d.plan([await d.propose("p1")])
    await d.answer("p1")  # 1 of 3 voters: below the default quorum of 0.5
    await env.sleep(timedelta(days=8))
    decision = next(e.data for e in await d.events() if e.type == "decision_reached")
    assert decision.outcome == "no_quorum"
    view = await d.view()
    assert (view.phase, view.round) == ("co_design", 2)


async def test_evaluation_deadline_publishes_the_report_with_the_scores_given(timed):
    env, h = timed
    spec = make_spec(2, short_process())
    d = await Driver.start(h.client, spec, h.task_queue)
    await d.contribute_all(["p1", "p2"])
    await d.plan([await d.propose("p1", indicators=1)])
    await d.answer("p1")
    await d.answer("p2")
    view = await d.view()
    assert view.phase == "evaluation"
    await d.assess_all(["p1"], [view.adopted_plan.indicators[0].id], score=5)
    await env.sleep(timedelta(days=8))
    summary = await d.handle.result()
    assert summary.phase == "closed" and summary.outcome == "adopted"
    view = await d.view()
    assert view.results[0].mean_score == 5 and view.results[0].count == 1
    published = next(e.data for e in await d.events() if e.type == "report_published")
    report = open(published.location, encoding="utf-8").read()
    assert report.startswith("# Jardins partagés")
    assert view.report.digest == published.digest  # the view names no file
