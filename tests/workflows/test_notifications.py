"""Notification failures: a recipient that cannot be reached holds back nobody else, and the
log names exactly who was not told."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

from google.protobuf import json_format
from temporalio.api.common.v1 import Payload

from activities.notifications import (
    Notification,
    OutboxAdapter,
    PermanentDeliveryError,
    Recipient,
)
from directory.store import ContactDetails, Directory
from tests.helpers import CONVERTER, Driver, make_spec, payloads_in
from worker import build_worker


class FlakyFor(OutboxAdapter):
    """The real outbox, except that one recipient's mailbox is down (or gone)."""

    def __init__(self, outbox_dir: Path, unreachable: str, permanent: bool = False) -> None:
        super().__init__(outbox_dir)
        self.unreachable = unreachable
        self.permanent = permanent
        self.attempts = 0
        # How often each message was handed to the adapter: a retry resends only what failed.
        self.handed: Counter[tuple[int, str]] = Counter()

    async def deliver(self, notification: Notification, recipient: Recipient) -> None:
        self.handed[notification.event_seq, recipient.participant_id] += 1
        if recipient.participant_id == self.unreachable:
            self.attempts += 1
            if self.permanent:
                raise PermanentDeliveryError("no such mailbox")
            raise ConnectionError("mail server not answering")
        await super().deliver(notification, recipient)


async def run_with(timed, adapter_factory, wait=timedelta(minutes=10)):
    env, h = timed
    adapter = adapter_factory(h.settings.outbox_dir)
    spec = make_spec(2)
    async with build_worker(
        h.client,
        h.settings,
        notifier=adapter,
        task_queue="flaky",
        workflow_failure_exception_types=[Exception],
    ):
        d = await Driver.start(h.client, spec, "flaky")
        await env.sleep(wait)  # past every retry's backoff
        events = await d.events()
    return adapter, spec, events


async def test_a_transient_failure_is_retried_then_named_for_its_recipient_only(timed):
    # Retried for a day (time-skipped): a mail server down for hours loses nothing.
    adapter, spec, events = await run_with(
        timed, lambda outbox: FlakyFor(outbox, "p2"), wait=timedelta(hours=25)
    )
    failed = {e.data.about_seq: e.data for e in events if e.type == "notification_failed"}
    # project_launched (1) and phase_opened (2) went to everyone else at the first attempt,
    # and were never handed over again: the heartbeat told the retries they were sent.
    told = {(m["event_seq"], m["to"]) for m in adapter.read(spec.id)}
    for seq in (1, 2):
        assert {to for s, to in told if s == seq} == {"coord", "fac", "obs", "p1"}
        assert failed[seq].recipients == ["p2"]
        assert "gave up after 1 day" in failed[seq].error
        for to in ("coord", "fac", "obs", "p1"):
            assert adapter.handed[seq, to] == 1
    # Every 10 minutes at most, for 24 hours: well over a hundred attempts.
    assert adapter.attempts > 2 * 100


async def test_a_permanent_failure_is_recorded_at_once(timed):
    adapter, spec, events = await run_with(
        timed, lambda outbox: FlakyFor(outbox, "p1", permanent=True)
    )
    failed = [e.data for e in events if e.type == "notification_failed"]
    assert [(f.about_seq, f.recipients) for f in failed] == [(1, ["p1"]), (2, ["p1"])]
    assert "no such mailbox" in failed[0].error and adapter.attempts == 2


class RefusedMailbox(OutboxAdapter):
    """A mail server that refuses one address, quoting it, as servers do."""

    async def deliver(self, notification: Notification, recipient: Recipient) -> None:
        if recipient.address and recipient.address.email:
            raise PermanentDeliveryError(f"550 5.1.1 <{recipient.address.email}>: no such user")
        await super().deliver(notification, recipient)


async def test_a_refusal_quoting_the_address_records_no_address(timed):
    """The activity finds the address in the directory; the refusal it records says why
    without the address (the history cannot forget)."""
    env, h = timed
    spec = make_spec(2)
    directory = await Directory.open(h.settings.directory_address)
    await directory.add(
        spec.id,
        [ContactDetails(participant_id="p1", email="Jean.Dupuis@example.org")],
        write_key="launch",
    )
    await directory.close()
    async with build_worker(
        h.client,
        h.settings,
        notifier=RefusedMailbox(h.settings.outbox_dir),
        task_queue="refused",
        workflow_failure_exception_types=[Exception],
    ):
        d = await Driver.start(h.client, spec, "refused")
        await env.sleep(timedelta(minutes=1))
        events = await d.events()
        history = await d.handle.fetch_history()
    failed = [e.data for e in events if e.type == "notification_failed"]
    assert failed and all(f.recipients == ["p1"] for f in failed)
    assert "550 5.1.1 <<address>>: no such user" in failed[0].error
    # Decoded, as ops read it through the codec server: no address anywhere.
    stored = json.loads(history.to_json())
    payloads = [json_format.ParseDict(p, Payload()) for _, p in payloads_in(stored)]
    decoded = await CONVERTER.payload_codec.decode(payloads)
    readable = b"".join(p.data for p in decoded).decode("utf-8", "replace")
    assert "no such user" in readable and "example.org" not in readable.lower()


class MailServerDown(OutboxAdapter):
    """Nobody can be reached: every batch keeps retrying (for up to a day)."""

    async def deliver(self, notification: Notification, recipient: Recipient) -> None:
        raise ConnectionError("mail server not answering")


async def test_deadlines_go_on_while_mail_waits_even_when_the_run_should_continue_as_new(timed):
    """Continue-as-new waits for notifications in flight; the project must not wait with it."""
    from domain import commands as cmd
    from domain.models import PhaseSettings
    from tests.helpers import actor, short_process

    env, h = timed
    spec = make_spec(3, short_process(diagnosis=PhaseSettings(duration=timedelta(hours=12))))
    async with build_worker(
        h.client,
        h.settings,
        notifier=MailServerDown(h.settings.outbox_dir),
        task_queue="mail-down-long",
        workflow_failure_exception_types=[Exception],
    ):
        d = await Driver.start(h.client, spec, "mail-down-long", continue_as_new_after_events=20)
        for n in range(6):  # enough history for a continue-as-new to be due
            await d.act(cmd.AddContribution(actor=actor("p1"), kind="need", text=f"besoin {n}"))
        await env.sleep(timedelta(hours=13))  # past the diagnosis deadline, mail still down
        view = await d.view()
    assert view.phase == "co_design"  # the deadline closed the diagnosis all the same
