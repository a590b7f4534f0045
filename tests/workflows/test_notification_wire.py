"""What a notification batch costs on the wire and in heartbeats (issue 15), with what it
delivers unchanged: each person written once a batch, batches written by 1.0 still delivered,
and progress told to Temporal once a second and when an attempt ends, not after every
message."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from temporalio.testing import ActivityEnvironment

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


class DownFor(OutboxAdapter):
    """The real outbox, with one mailbox that cannot be reached for now."""

    def __init__(self, outbox_dir, unreachable: str) -> None:
        super().__init__(outbox_dir)
        self.unreachable = unreachable

    async def deliver(self, notification, recipient) -> None:
        if recipient.participant_id == self.unreachable:
            raise ConnectionError("mail server not answering")
        await super().deliver(notification, recipient)


async def test_progress_is_told_when_the_attempt_ends_not_after_every_message(tmp_path):
    ids = [f"p{n}" for n in range(1, 31)]
    batch = NotificationBatch(
        notifications=[notification(2, to=ids)], people=[person(pid) for pid in ids]
    )
    outbox = DownFor(tmp_path, unreachable="p30")
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


async def test_a_batch_in_history_names_each_person_once(dev):
    """The launch's batch (the invitation and the diagnosis' opening, to everyone): each
    person written once, each notification naming them by id."""
    spec = make_spec(3)
    d = await Driver.start(dev.client, spec, dev.task_queue)
    await d.view()
    history = await d.handle.fetch_history()
    scheduled = next(
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == "notify_all"
    )
    stored = scheduled.input.payloads[0]
    batch = CONVERTER.payload_converter.from_payloads(
        await CONVERTER.payload_codec.decode([stored]), [NotificationBatch]
    )[0]
    everyone = sorted(p.id for p in spec.participants)
    assert [n.kind for n in batch.notifications] == ["project_launched", "phase_opened"]
    assert sorted(p.participant_id for p in batch.people) == everyone
    for n in batch.notifications:
        assert n.recipients == [] and sorted(n.to) == everyone
    # What 1.0 wrote: every person again in every notification.
    as_1_0 = NotificationBatch(
        notifications=[
            n.model_copy(update={"recipients": batch.recipients_of(n), "to": []})
            for n in batch.notifications
        ]
    )
    (old,) = CONVERTER.payload_converter.to_payloads([as_1_0])
    (new,) = CONVERTER.payload_converter.to_payloads([batch])
    assert len(new.data) < 0.75 * len(old.data)


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
