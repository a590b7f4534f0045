"""A mail worker (issue 29): a project launched with a mail task queue sends all its mail from
there, as a regular activity, never from its own workflow task; with the mail worker stopped,
the project goes on and its mail waits for it."""

from __future__ import annotations

import asyncio

from activities.notifications import OutboxAdapter
from tests.helpers import Driver, make_spec
from worker import build_mail_worker, build_worker, roles

PARTNERS = ["p1", "p2", "p3"]


async def sent_kinds(outbox: OutboxAdapter, project_id: str, at_least: int) -> list[str]:
    for _ in range(200):
        lines = outbox.read(project_id)
        if len(lines) >= at_least:
            return [line["kind"] for line in lines]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{len(outbox.read(project_id))} messages, not {at_least}")


async def test_a_project_s_mail_goes_through_the_mail_worker(dev_env, tmp_path):
    from tests.conftest import make_harness_settings

    settings = make_harness_settings(tmp_path, mail_worker=True)
    outbox = OutboxAdapter(settings.outbox_dir)
    spec = make_spec(3)
    projects = build_worker(dev_env.client, settings, notifier=OutboxAdapter(tmp_path / "unused"))
    async with projects:
        d = await Driver.start(
            dev_env.client,
            spec,
            settings.task_queue,
            mail_task_queue=settings.mail_task_queue,
            notify_retry_max_seconds=7,
        )
        # No mail worker yet: the project goes on, its mail waits.
        await d.contribute_all(PARTNERS)
        assert (await d.view()).phase == "co_design"
        await asyncio.sleep(0.5)
        assert outbox.read(spec.id) == []
        async with build_mail_worker(dev_env.client, settings, notifier=outbox):
            kinds = await sent_kinds(outbox, spec.id, 4 * 6)
        history = await d.handle.fetch_history()
    assert kinds.count("project_launched") == 6 and kinds.count("phase_opened") == 12
    # Each batch a regular activity on the mail task queue; none sent from the workflow task.
    scheduled = [
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert scheduled and all(
        a.task_queue.name == settings.mail_task_queue and a.activity_type.name == "notify_all"
        for a in scheduled
    )
    # ALLIANCE_NOTIFY_RETRY_MAX_SECONDS, as launched: a delivery that failed is tried again
    # at most 7 s later (ten minutes by default).
    assert {a.retry_policy.maximum_interval.seconds for a in scheduled} == {7}
    assert not [
        e
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
        and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
    ]


def test_what_a_worker_process_serves(tmp_path):
    from tests.conftest import make_harness_settings

    plain = make_harness_settings(tmp_path)
    with_mail = make_harness_settings(tmp_path, mail_worker=True)
    assert plain.mail_task_queue == f"{plain.task_queue}-mail"
    # The smallest setup, one process for both; and projects launched with a mail worker are
    # still served once it is turned off.
    assert roles([], plain) == (True, True)
    assert roles([], with_mail) == (True, False)  # the mail worker sends
    assert roles(["--projects"], plain) == (True, False)
    assert roles(["--mail"], with_mail) == (False, True)
    assert roles(["--mail"], plain) == (False, True)
