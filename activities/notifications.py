"""Telling participants what happened: one activity call per dispatch of the workflow.

The input model is the boundary the workflow depends on; the adapter behind it changes (an
outbox file here, email and webhooks later) without touching workflow code or history.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field
from temporalio import activity

from domain.models import Language, Role


class Address(BaseModel):
    """Where a recipient is reached, looked up in the contact directory by the activity at
    delivery time (never passed through the workflow)."""

    email: str | None = None
    webhook_url: str | None = None
    person_name: str = ""
    webhook_secret: str | None = None
    webhook_disabled: bool = False


class Recipient(BaseModel):
    """Who to tell, as the workflow knows them: no address (the adapter looks it up in the
    contact directory by participant id, so no address enters history)."""

    participant_id: str
    organisation_name: str
    role: Role
    language: Language
    time_zone: str
    # Signs the personal link the message carries (absent before e-mail: no link).
    token_version: int | None = None
    # False: not by e-mail this time (a digest reader's news, what the essentials leave out);
    # their webhook, if any, still gets it.
    by_email: bool = True
    # Filled by the activity from the directory, just before delivery; never in history.
    address: Address | None = Field(default=None, exclude=True)


class DigestItem(BaseModel):
    """One piece of news kept for a digest: what a notification of its own would have said."""

    kind: str
    event_seq: int
    at: datetime
    facts: dict[str, str] = Field(default_factory=dict)


class Notification(BaseModel):
    # Idempotency key derived from the event that caused it: a retried activity (or a replayed
    # workflow) sends nothing twice.
    key: str
    project_id: str
    project_title: str
    kind: str  # the event type, e.g. "phase_opened", "reminder_sent"
    event_seq: int
    # When the event happened: a calendar entry's stamp, the same at every attempt.
    at: datetime | None = None
    # Who is told, in full: how 1.0 wrote every batch (batches it scheduled still arrive so),
    # and how the API writes a single message.
    recipients: list[Recipient] = Field(default_factory=list)
    # Who is told, by id in the batch's `people` (since 1.1: each person written once a batch,
    # not once a notification); of them, those told through their webhook only this time.
    to: list[str] = Field(default_factory=list)
    webhook_only: list[str] = Field(default_factory=list)
    facts: dict[str, str] = Field(default_factory=dict)
    # A digest ("digest" kind): the news it gathers, oldest first.
    items: list[DigestItem] = Field(default_factory=list)

    def participant_ids(self) -> list[str]:
        return list(self.to) or [r.participant_id for r in self.recipients]


class NotificationBatch(BaseModel):
    """Everything one dispatch of the workflow has to tell: one activity in history."""

    notifications: list[Notification]
    # Everyone the batch's notifications name in `to`, once.
    people: list[Recipient] = Field(default_factory=list)
    # Messages sent before (by notify_now) that no attempt sends again.
    already_sent: list[str] = Field(default_factory=list)

    def recipients_of(self, notification: Notification) -> list[Recipient]:
        if not notification.to:
            return notification.recipients
        people = {p.participant_id: p for p in self.people}
        webhook_only = set(notification.webhook_only)
        return [
            people[pid].model_copy(update={"by_email": False})
            if pid in webhook_only
            else people[pid]
            for pid in notification.to
        ]


class Delivery(BaseModel):
    delivered: list[str] = Field(default_factory=list)
    # participant id -> why it could not be delivered (no retry will help)
    failed: dict[str, str] = Field(default_factory=dict)
    # Told at once (notify_now): who is still to be told, by the activity that retries, and
    # the messages already sent to them (one channel of two, say), which it skips.
    pending: list[str] = Field(default_factory=list)
    sent: list[str] = Field(default_factory=list)


class NotificationAdapter(Protocol):
    async def deliver(self, notification: Notification, recipient: Recipient) -> None:
        """Deliver to one recipient; raise PermanentDeliveryError when retrying cannot help."""


class PermanentDeliveryError(Exception):
    pass


class OutboxAdapter:
    """Appends each message to a JSON-lines outbox (one file per project) and skips a message
    whose key it already holds, so retries are harmless. Ops and tests read the file."""

    name = "outbox"

    def __init__(self, outbox_dir: Path) -> None:
        self.outbox_dir = outbox_dir
        self._lock = asyncio.Lock()
        # Keys already written, for the projects seen last: read from the file once, not at
        # every message, and bounded so a worker's memory does not grow with every project.
        self._sent: OrderedDict[str, set[str]] = OrderedDict()

    def path_for(self, project_id: str) -> Path:
        return self.outbox_dir / f"{project_id}.jsonl"

    def read(self, project_id: str) -> list[dict]:
        path = self.path_for(project_id)
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]

    async def deliver(self, notification: Notification, recipient: Recipient) -> None:
        if not recipient.by_email:
            return
        message_key = f"{notification.key}/{recipient.participant_id}"
        async with self._lock:
            sent = self._sent.get(notification.project_id)
            if sent is None:
                sent = {m["key"] for m in self.read(notification.project_id)}
                self._sent[notification.project_id] = sent
                if len(self._sent) > 1000:
                    self._sent.popitem(last=False)
            self._sent.move_to_end(notification.project_id)
            if message_key in sent:
                return
            self.outbox_dir.mkdir(parents=True, exist_ok=True)
            line = {
                "key": message_key,
                "kind": notification.kind,
                "event_seq": notification.event_seq,
                "to": recipient.participant_id,
                # The channel the address found in the directory allows (the e-mail issue
                # sends there); the outbox never writes the address itself.
                "channel": "email" if recipient.address and recipient.address.email else "page",
                "language": recipient.language.value,
                "facts": notification.facts,
            }
            with self.path_for(notification.project_id).open("a", encoding="utf-8") as f:
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
            sent.add(message_key)


# Transient delivery errors (a mail server down, a 4xx) are retried by Temporal for at least
# this long; then the recipients still failing are reported as failed (the workflow records
# notification_failed for exactly them) instead of failing the whole activity.
RETRY_FOR = timedelta(hours=24)
# How often a batch's progress goes to Temporal at most (the heartbeat timeout is 60 s).
HEARTBEAT_EVERY_SECONDS = 1.0
# How long a batch told at once (notify_now) may go on before it leaves the rest to
# notify_all: the project's workflow task stays open meanwhile, so a partner whose action
# opened a phase waits for it (tens of milliseconds to a mail server nearby).
NOW_FOR_SECONDS = 1.0
# ... and how much longer one message under way may take past that moment.
DELIVERY_GRACE_SECONDS = 0.5


class Progress:
    """What one attempt of a batch delivered so far, told to Temporal for a retry (after a
    crash or a transient failure) to skip: once a second on a long batch, and when an attempt
    fails. Encoding it through the codec after every message was a twentieth of the worker's
    time (py-spy); Temporal itself sends a heartbeat on at most every 48 s."""

    def __init__(self, sent: list[str], *, heartbeats: bool = True) -> None:
        self.sent = list(dict.fromkeys(sent))
        self._keys = set(self.sent)
        self._told = len(self.sent)
        self._last = time.monotonic()
        # A local activity has no heartbeat: it is bounded in time instead.
        self.heartbeats = heartbeats

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def add(self, key: str) -> None:
        if key not in self._keys:
            self._keys.add(key)
            self.sent.append(key)

    def beat(self, *, now: bool = False) -> None:
        """`now`: the attempt ends, tell what it delivered. Otherwise once a second, delivered
        or not: the heartbeat also tells Temporal the batch is alive."""
        if not self.heartbeats:
            return
        moment = time.monotonic()
        if (now and len(self.sent) > self._told) or (
            not now and moment - self._last >= HEARTBEAT_EVERY_SECONDS
        ):
            self._told, self._last = len(self.sent), moment
            activity.heartbeat(self.sent)


class _Outcome:
    """How one notification went for one reader, over every channel."""

    __slots__ = ("failed", "not_begun", "permanent", "retry")

    def __init__(self) -> None:
        self.failed = False
        self.not_begun = False
        self.permanent: str | None = None  # no retry will help
        self.retry: str | None = None  # the first reason a retry may still deliver

    def failed_for(self, why: str) -> None:
        self.failed, self.permanent = True, why

    def retry_for(self, why: str) -> None:
        self.failed = True
        if self.retry is None:
            self.retry = why


class TransientDeliveryError(Exception):
    """Some recipients could not be reached this time; the retry resends only to them."""


AddressBook = Callable[[str], Awaitable[dict[str, Address]]]


async def _no_addresses(project_id: str) -> dict[str, Address]:
    return {}


def without_address(error: str, recipient: Recipient) -> str:
    """A delivery error as the project may record it: a mail server's refusal quotes the
    address, which must not enter the history (notification_failed) or a failure message."""
    address = recipient.address
    if address is None:
        return error
    for value in (address.email, address.webhook_url):
        if value:
            error = re.sub(re.escape(value), "<address>", error, flags=re.IGNORECASE)
    return error


def message_key(notification: Notification, recipient: Recipient) -> str:
    """One message: one event told to one participant. Its Message-ID derives from it."""
    return f"{notification.key}/{recipient.participant_id}"


class NotificationActivities:
    def __init__(
        self,
        adapter: NotificationAdapter | list[NotificationAdapter],
        addresses: AddressBook = _no_addresses,
        retry_for: timedelta = RETRY_FOR,
    ) -> None:
        # The channels, e-mail (or the outbox) first; each message of each is tracked apart,
        # so a retry resends only the channel that failed.
        self.channels = adapter if isinstance(adapter, list) else [adapter]
        # participant id -> address, for one project: the contact directory's.
        self.addresses = addresses
        self.retry_for = retry_for
        self._meters: tuple[Any, Any, Any] | None = None

    async def close(self) -> None:
        """Each channel's connections (SMTP kept between batches, the webhooks' client)."""
        for channel in self.channels:
            closing = getattr(channel, "close", None)
            if closing is not None:
                await closing()

    def _metrics(self) -> tuple[Any, Any, Any]:
        """Messages sent and failed, and how long after their event they went (on the
        worker's metrics endpoint, through the SDK's meter)."""
        if self._meters is None:
            meter = activity.metric_meter()
            self._meters = (
                meter.create_counter(
                    "alliance_messages_sent", "Messages delivered, by channel and path"
                ),
                meter.create_counter(
                    "alliance_message_failures",
                    "Deliveries that failed, by channel and kind (temporary: retried)",
                ),
                meter.create_histogram_float(
                    "alliance_message_delay",
                    "From the event to the delivery of its message, by path",
                    unit="seconds",
                ),
            )
        return self._meters

    async def _each(
        self,
        batch: NotificationBatch,
        sent: Progress,
        *,
        give_up: bool,
        until: float | None = None,
    ) -> tuple[list[Delivery], list[list[tuple[str, str]]]]:
        """Every channel, every reader in turn: one failing holds back no other. A channel
        that groups (e-mail, since 1.3) tells each reader the batch's notifications in as few
        messages as it may; the others deliver one per notification. For each notification,
        what happened and the (participant, reason) a retry may deliver; past `until` (a
        monotonic moment), nobody more is begun, and a message under way is given up."""
        notifications = batch.notifications
        # One look-up per project and batch (a batch is one project's), at delivery time.
        books: dict[str, dict[str, Address]] = {}
        for notification in notifications:
            if notification.project_id not in books:
                books[notification.project_id] = await self.addresses(notification.project_id)
        # Each reader's notifications, in the batch's order, and how each one went for them.
        readers: dict[str, list[tuple[Notification, Recipient]]] = {}
        outcomes: dict[str, dict[str, _Outcome]] = {}  # notification key -> reader -> outcome
        for notification in notifications:
            book = books[notification.project_id]
            outcomes[notification.key] = {}
            for recipient in batch.recipients_of(notification):
                pid = recipient.participant_id
                recipient = recipient.model_copy(update={"address": book.get(pid)})
                readers.setdefault(pid, []).append((notification, recipient))
                outcomes[notification.key][pid] = _Outcome()
        sent_count, failures, delay = self._metrics()
        path = "at_once" if until is not None else "retried"
        async with AsyncExitStack() as stack:
            for channel in self.channels:
                batch_context = getattr(channel, "batch", None)
                await stack.enter_async_context(batch_context() if batch_context else nullcontext())
            for c, channel in enumerate(self.channels):
                name = getattr(channel, "name", None) or type(channel).__name__.lower()
                grouping = getattr(channel, "groups", None)
                suffix = f"/{getattr(channel, 'name', c)}" if c else ""
                for pid, every in readers.items():
                    # What this channel already told this reader (an earlier attempt, or told
                    # at once before) is never told again, nor regrouped with the rest.
                    items = [(n, r) for n, r in every if message_key(n, r) + suffix not in sent]
                    groups: list[Any] = [[n] for n in range(len(items))]
                    if grouping and items:
                        try:
                            groups = grouping(items)
                        except Exception:  # noqa: BLE001 - each alone, each failing on its own
                            pass
                    for group in groups:
                        members = group if isinstance(group, list) else group.members
                        told = [items[n] for n in members]
                        keys = [message_key(n, r) + suffix for n, r in told]
                        if until is not None and time.monotonic() >= until:
                            for n, _ in told:
                                outcomes[n.key][pid].not_begun = True
                            continue
                        recipient = told[0][1]
                        try:
                            delivering = (
                                channel.deliver(*told[0])
                                if isinstance(group, list)
                                else channel.deliver_group(group, items)
                            )
                            if until is None:
                                await delivering
                            else:
                                left = max(0.0, until - time.monotonic())
                                async with asyncio.timeout(left + DELIVERY_GRACE_SECONDS):
                                    await delivering
                        except PermanentDeliveryError as e:
                            failures.add(1, {"channel": name, "kind": "permanent"})
                            for n, _ in told:
                                outcomes[n.key][pid].failed_for(without_address(str(e), recipient))
                        except Exception as e:  # noqa: BLE001 - any other may pass on a retry
                            why = without_address(str(e) or type(e).__name__, recipient)
                            failures.add(1, {"channel": name, "kind": "temporary"})
                            for n, _ in told:
                                outcome = outcomes[n.key][pid]
                                if give_up:
                                    outcome.failed_for(f"gave up after {self.retry_for}: {why}")
                                else:
                                    outcome.retry_for(why)
                        else:
                            for key in keys:
                                sent.add(key)
                            sent_count.add(1, {"channel": name, "path": path})
                            at = told[0][0].at
                            if at is not None:
                                waited = (datetime.now(UTC) - at).total_seconds()
                                delay.record(max(0.0, waited), {"path": path})
                        sent.beat()
        deliveries: list[Delivery] = []
        transient: list[list[tuple[str, str]]] = []
        for notification in notifications:
            result, again = Delivery(), []
            for pid, outcome in outcomes[notification.key].items():
                if outcome.permanent is not None:
                    result.failed[pid] = outcome.permanent
                if outcome.retry is not None:
                    again.append((pid, outcome.retry))
                elif outcome.not_begun:
                    again.append((pid, "not begun"))
                if not (outcome.failed or outcome.not_begun):
                    result.delivered.append(pid)
            activity.logger.info(
                "notified",
                extra={"kind": notification.kind, "key": notification.key,
                       "sent": len(result.delivered)},
            )  # fmt: skip
            deliveries.append(result)
            transient.append(again)
        return deliveries, transient

    @activity.defn(name="notify_all")
    async def notify_all(self, batch: NotificationBatch) -> list[Delivery]:
        """Every message of the batch; a transient failure is raised after all the rest went
        out, so the retry resends only what is missing (the heartbeat carries what was
        delivered), for a day at most."""
        info = activity.info()
        # Measured on the server's clock, as the retries' backoff is.
        give_up = info.current_attempt_scheduled_time - info.scheduled_time >= self.retry_for
        sent = Progress(
            list(batch.already_sent)
            + ([str(key) for key in info.heartbeat_details[0]] if info.heartbeat_details else [])
        )
        try:
            deliveries, transient = await self._each(batch, sent, give_up=give_up)
        except BaseException:
            # Whatever else ends this attempt (a crash of the code, a cancellation), the
            # next one knows what went out.
            sent.beat(now=True)
            raise
        if any(transient):
            sent.beat(now=True)
            raise TransientDeliveryError(
                "; ".join(
                    f"{notification.kind} to {pid}: {why}"
                    for notification, failed in zip(batch.notifications, transient, strict=True)
                    for pid, why in failed
                )
            )
        # A batch done needs no heartbeat: its completion says it all (one call less).
        return deliveries

    @activity.defn(name="notify_now")
    async def notify_now(self, batch: NotificationBatch) -> list[Delivery]:
        """The batch at once, as a local activity of the workflow (since 1.1): one attempt,
        for a few seconds at most; what a retry may still deliver comes back as pending, for
        notify_all to retry. Recorded in one event instead of six for the usual batch that
        goes out whole."""
        sent = Progress(list(batch.already_sent), heartbeats=False)
        until = time.monotonic() + NOW_FOR_SECONDS
        deliveries, transient = await self._each(batch, sent, give_up=False, until=until)
        for notification, delivery, failed in zip(
            batch.notifications, deliveries, transient, strict=True
        ):
            pending = [pid for pid, _ in failed]
            delivery.pending = pending
            delivery.sent = [
                key
                for key in sent.sent
                if key.startswith(f"{notification.key}/")
                and key.removeprefix(f"{notification.key}/").split("/")[0] in pending
            ]
        return deliveries
