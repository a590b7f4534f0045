"""A decision's review across continue-as-new: the project waits for its review date in one
run, and the next run opens it on time, every participant told once, a week before (here at
once: the date is seconds away)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from domain import commands as cmd
from domain.templates import parse
from process_templates.builtin import launched
from tests.helpers import REVIEWED, Driver, actor, make_spec
from tests.workflows.test_actions import wait_for_new_run

PARTNERS = ["p1", "p2", "p3"]


async def test_a_review_waited_for_across_continue_as_new_opens_on_its_date(dev):
    spec = make_spec(3, template=launched(parse(REVIEWED)))
    d = await Driver.start(dev.client, spec, dev.task_queue, continue_as_new_after_events=12)
    first_run = (await d.handle.describe()).run_id
    proposal = await d.propose("p1")
    review_on = datetime.now(UTC) + timedelta(seconds=4)
    await d.act(cmd.SubmitPlan(actor=actor("fac"), proposal_ids=[proposal],
                               summary="Des bacs", review_on=review_on))  # fmt: skip
    for pid in PARTNERS:
        await d.answer(pid)
    waiting = await d.view()
    assert waiting.review_waiting and waiting.deadline == review_on
    await wait_for_new_run(d, first_run)
    assert (await d.view()).review_waiting  # carried: still waiting for its date
    for _ in range(150):
        view = await d.view()
        if not view.review_waiting:
            break
        await asyncio.sleep(0.1)
    assert view.phase == "review" and sorted(view.pending) == PARTNERS
    assert datetime.now(UTC) >= review_on
    told: list = []
    for _ in range(100):
        told = [m for m in dev.outbox.read(spec.id) if m["kind"] == "review_notice_sent"]
        if len(told) >= 6:
            break
        await asyncio.sleep(0.1)
    assert sorted(m["to"] for m in told) == sorted(["coord", "fac", "obs", *PARTNERS])
    for pid in PARTNERS:
        await d.act(cmd.AnswerReview(actor=actor(pid), choice="end", reason="Le jardin ferme"))
    summary = await d.handle.result()
    assert summary.outcome == "adopted"
    assert [r.outcome for r in (await d.view()).reviews] == ["end"]
