"""What a notification batch costs in history and in heartbeats (issue 15), with what it
delivers unchanged: told at once as a local activity (one marker), what failed retried by the
activity that retries for a day, each person written once a batch, batches written by 1.0
still delivered, and progress told to Temporal only when an attempt fails."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import Counter
from datetime import UTC, datetime

import pytest
from temporalio.testing import ActivityEnvironment

from activities import notifications
from activities.mail import compose as mail_compose
from activities.notifications import (
    Notification,
    NotificationActivities,
    NotificationBatch,
    OutboxAdapter,
    Recipient,
    TransientDeliveryError,
)
from domain.models import Language, Role
from tests.helpers import CONVERTER, Driver, make_spec
from tests.workflows.test_notifications import FlakyFor
from worker import build_worker

AT = datetime(2026, 12, 1, 9, tzinfo=UTC)


def person(pid: str) -> Recipient:
    return Recipient(
        participant_id=pid,
        organisation_name=f"Organisation {pid}",
        role=Role.partner,
        language=Language.fr,
        time_zone="Europe/Paris",
        token_version=1,
    )


def notification(seq: int, **kw) -> Notification:
    return Notification(
        key=f"project-wire/{seq}/phase_opened",
        project_id="wire",
        project_title="Jardins",
        kind="phase_opened",
        event_seq=seq,
        at=AT,
        facts={"phase": "diagnosis", "round": "1", "deadline": AT.isoformat(), "expected": "p1"},
        **kw,
    )


async def test_progress_is_told_when_the_attempt_ends_not_after_every_message(tmp_path):
    ids = [f"p{n}" for n in range(1, 31)]
    batch = NotificationBatch(
        notifications=[notification(2, to=ids)], people=[person(pid) for pid in ids]
    )
    outbox = FlakyFor(tmp_path, unreachable="p30")
    env = ActivityEnvironment()
    beats: list[list[str]] = []
    env.on_heartbeat = lambda *details: beats.append(list(details[0]))
    with pytest.raises(TransientDeliveryError):
        await env.run(NotificationActivities(outbox).notify_all, batch)
    # 29 messages went out in well under a second: one heartbeat, as the attempt ended,
    # carrying all 29 (the retry skips them), where there was one per message.
    assert len(beats) == 1
    assert sorted(beats[-1]) == sorted(f"project-wire/2/phase_opened/{pid}" for pid in ids[:29])
    assert len(outbox.read("wire")) == 29

    # The retry, told what went out, sends only the message that failed.
    outbox.unreachable = ""
    env.info = env.info.__class__(**{**env.info.__dict__, "heartbeat_details": [beats[-1]]})
    await env.run(NotificationActivities(outbox).notify_all, batch)
    sent = [m["to"] for m in outbox.read("wire")]
    assert sorted(sent) == sorted(ids) and len(sent) == 30
    # A batch delivered whole tells its completion, no heartbeat.
    assert len(beats) == 1


async def test_a_batch_written_by_1_0_is_still_delivered(tmp_path):
    """Batches 1.0 scheduled (recipients in full in each notification) may still be waiting
    for a retry when the worker is upgraded."""
    outbox = OutboxAdapter(tmp_path)
    old = NotificationBatch.model_validate(
        {
            "notifications": [
                notification(1, recipients=[person("p1"), person("p2")]).model_dump(
                    mode="json", exclude={"to", "webhook_only"}
                )
            ]
        }
    )
    assert old.people == [] and old.notifications[0].to == []
    deliveries = await ActivityEnvironment().run(NotificationActivities(outbox).notify_all, old)
    assert deliveries[0].delivered == ["p1", "p2"]
    assert [m["to"] for m in outbox.read("wire")] == ["p1", "p2"]


async def test_a_webhook_only_reader_is_not_sent_an_email(tmp_path):
    outbox = OutboxAdapter(tmp_path)
    batch = NotificationBatch(
        notifications=[notification(3, to=["p1", "p2"], webhook_only=["p2"])],
        people=[person("p1"), person("p2")],
    )
    await ActivityEnvironment().run(NotificationActivities(outbox).notify_all, batch)
    assert [m["to"] for m in outbox.read("wire")] == ["p1"]


async def the_one_retried_batch(history) -> NotificationBatch:
    """The project's only activity: the batch handed to notify_all, as it was sent."""
    scheduled = [
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert [a.activity_type.name for a in scheduled] == ["notify_all"]
    return CONVERTER.payload_converter.from_payloads(
        await CONVERTER.payload_codec.decode(list(scheduled[0].input.payloads)),
        [NotificationBatch],
    )[0]


class DownOnceFor(OutboxAdapter):
    """The real outbox, with one mailbox down at the first try of each message."""

    def __init__(self, outbox_dir, unreachable: str) -> None:
        super().__init__(outbox_dir)
        self.unreachable = unreachable
        self.handed: Counter[tuple[int, str]] = Counter()

    async def deliver(self, notification, recipient) -> None:
        self.handed[notification.event_seq, recipient.participant_id] += 1
        first = self.handed[notification.event_seq, recipient.participant_id] == 1
        if recipient.participant_id == self.unreachable and first:
            raise ConnectionError("mail server not answering")
        await super().deliver(notification, recipient)


async def test_a_batch_is_told_at_once_and_what_failed_is_retried_naming_each_person_once(dev):
    """The launch's batch (the invitation and the diagnosis' opening, to everyone) goes out
    as a local activity: one marker in history, no activity. The one mailbox down is
    retried by the activity that retries, whose batch names only that person, once."""
    spec = make_spec(3)
    adapter = DownOnceFor(dev.settings.outbox_dir, "p2")
    async with build_worker(
        dev.client,
        dev.settings,
        notifier=adapter,
        task_queue="down-once",
        workflow_failure_exception_types=[Exception],
    ):
        d = await Driver.start(dev.client, spec, "down-once")
        for _ in range(100):
            told = {(m["event_seq"], m["to"]) for m in adapter.read(spec.id)}
            if {(1, "p2"), (2, "p2")} <= told:
                break
            await asyncio.sleep(0.1)
        events = await d.events()
        history = await d.handle.fetch_history()
    everyone = sorted(p.id for p in spec.participants)
    for seq in (1, 2):
        assert sorted(to for s, to in told if s == seq) == everyone
        for pid in everyone:  # once each; p2 at the retry too
            assert adapter.handed[seq, pid] == (2 if pid == "p2" else 1)
    assert "notification_failed" not in [e.type for e in events]
    markers = [
        e.marker_recorded_event_attributes.marker_name
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    ]
    assert markers.count("core_local_activity") == 1
    batch = await the_one_retried_batch(history)
    assert [n.kind for n in batch.notifications] == ["project_launched", "phase_opened"]
    assert [p.participant_id for p in batch.people] == ["p2"]
    for n in batch.notifications:
        assert n.recipients == [] and n.to == ["p2"]


async def test_told_at_once_stops_after_its_moment_and_leaves_the_rest_pending(
    tmp_path, monkeypatch
):
    """A batch too long to go out at once (the workflow task waits meanwhile): past its
    moment, the notifications not begun are left, whole, to the activity that retries."""
    monkeypatch.setattr(notifications, "NOW_FOR_SECONDS", 0.0)
    outbox = OutboxAdapter(tmp_path)
    batch = NotificationBatch(
        notifications=[notification(5, to=["p1", "p2"]), notification(6, to=["p1"])],
        people=[person("p1"), person("p2")],
    )
    deliveries = await ActivityEnvironment().run(NotificationActivities(outbox).notify_now, batch)
    assert [d.pending for d in deliveries] == [["p1", "p2"], ["p1"]]
    assert outbox.read("wire") == []


async def test_told_at_once_returns_what_a_retry_may_still_deliver(tmp_path):
    outbox = FlakyFor(tmp_path, unreachable="p2")
    batch = NotificationBatch(
        notifications=[notification(7, to=["p1", "p2", "p3"])],
        people=[person(pid) for pid in ("p1", "p2", "p3")],
    )
    (delivery,) = await ActivityEnvironment().run(NotificationActivities(outbox).notify_now, batch)
    assert delivery.delivered == ["p1", "p3"] and delivery.pending == ["p2"]
    assert delivery.failed == {} and delivery.sent == []


def test_composing_reads_no_template_file_again(monkeypatch):
    """Templates ship with the code: once loaded, rendering checks no file's date."""
    recipient = person("p1")
    message = notification(4, recipients=[recipient])
    sender = mail_compose.Sender("Alliance <alliance@example.org>", "https://alliance.example")
    mail_compose.compose(message, recipient, "p1@example.org", "Jeanne", None, sender)
    looked: list[str] = []
    real_getmtime = os.path.getmtime
    monkeypatch.setattr(
        os.path, "getmtime", lambda path: looked.append(str(path)) or real_getmtime(path)
    )
    for _ in range(3):
        mail_compose.compose(message, recipient, "p1@example.org", "Jeanne", None, sender)
    assert looked == []


class FirstConnectionRefused(OutboxAdapter):
    """The real outbox behind a connection that cannot be opened the first time."""

    def __init__(self, outbox_dir) -> None:
        super().__init__(outbox_dir)
        self.connections = 0

    @contextlib.asynccontextmanager
    async def batch(self):
        self.connections += 1
        if self.connections == 1:
            raise ConnectionRefusedError("mail server not there yet")
        yield


async def test_a_batch_that_cannot_go_at_once_goes_whole_through_the_activity(dev):
    spec = make_spec(2)
    adapter = FirstConnectionRefused(dev.settings.outbox_dir)
    async with build_worker(
        dev.client,
        dev.settings,
        notifier=adapter,
        task_queue="first-refused",
        workflow_failure_exception_types=[Exception],
    ):
        d = await Driver.start(dev.client, spec, "first-refused")
        for _ in range(100):
            if len(adapter.read(spec.id)) == 2 * len(spec.participants):
                break
            await asyncio.sleep(0.1)
        history = await d.handle.fetch_history()
    told = sorted((m["event_seq"], m["to"]) for m in adapter.read(spec.id))
    assert told == sorted((seq, p.id) for seq in (1, 2) for p in spec.participants)
    batch = await the_one_retried_batch(history)
    assert len(batch.people) == len(spec.participants) and batch.already_sent == []


class Hook(OutboxAdapter):
    """A second channel (as the webhooks are), down for one participant until told."""

    name = "webhook"

    def __init__(self, outbox_dir, down_for: str = "") -> None:
        super().__init__(outbox_dir)
        self.down_for = down_for
        self.handed: Counter[str] = Counter()

    async def deliver(self, notification, recipient) -> None:
        self.handed[recipient.participant_id] += 1
        if recipient.participant_id == self.down_for:
            raise ConnectionError("tool not answering")
        await super().deliver(notification, recipient)


async def test_an_email_sent_at_once_is_not_sent_again_when_its_webhook_is_retried(tmp_path):
    mail, hook = OutboxAdapter(tmp_path / "mail"), Hook(tmp_path / "hooks", down_for="p1")
    activities = NotificationActivities([mail, hook])
    batch = NotificationBatch(
        notifications=[notification(8, to=["p1", "p2"])], people=[person("p1"), person("p2")]
    )
    (delivery,) = await ActivityEnvironment().run(activities.notify_now, batch)
    assert delivery.delivered == ["p2"] and delivery.pending == ["p1"]
    assert delivery.sent == ["project-wire/8/phase_opened/p1"]  # its e-mail
    # What the workflow then hands to notify_all: p1 alone, its e-mail already sent.
    hook.down_for = ""
    retried = NotificationBatch(
        notifications=[notification(8, to=delivery.pending)],
        people=[person("p1")],
        already_sent=delivery.sent,
    )
    (again,) = await ActivityEnvironment().run(activities.notify_all, retried)
    assert again.delivered == ["p1"]
    assert sorted(m["to"] for m in mail.read("wire")) == ["p1", "p2"]  # once each
    assert sorted(m["to"] for m in hook.read("wire")) == ["p1", "p2"]
    assert hook.handed["p1"] == 2


class Stuck(OutboxAdapter):
    """A mail server that takes the first message and then stops answering."""

    async def deliver(self, notification, recipient) -> None:
        if self.read("wire"):
            await asyncio.sleep(30)
        await super().deliver(notification, recipient)


async def test_told_at_once_gives_up_a_stuck_message_in_time_and_leaves_it_pending(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(notifications, "NOW_FOR_SECONDS", 0.2)
    monkeypatch.setattr(notifications, "DELIVERY_GRACE_SECONDS", 0.1)
    outbox = Stuck(tmp_path)
    batch = NotificationBatch(
        notifications=[notification(9, to=["p1", "p2", "p3"])],
        people=[person(pid) for pid in ("p1", "p2", "p3")],
    )
    started = asyncio.get_running_loop().time()
    (delivery,) = await ActivityEnvironment().run(NotificationActivities(outbox).notify_now, batch)
    assert asyncio.get_running_loop().time() - started < 2
    assert delivery.delivered == ["p1"] and delivery.pending == ["p2", "p3"]
