"""Telling people: what the recorded events mean for whom (domain/notices.py), sent at once
as a local activity, the rest retried by the notification activity for a day; digests kept
for their readers' hour; a notification nobody could receive recorded as failed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError

from activities.notifications import (
    Delivery,
    DigestItem,
    Notification,
    NotificationActivities,
    NotificationBatch,
    Recipient,
)
from domain import events as ev
from domain.models import NotificationPreference
from domain.notices import next_digest, notice_for, routing
from domain.project import Project
from workflows.calls import AT_ONCE, MAIL_QUEUE, MAIL_WINDOW
from workflows.segments import position_after

# Sent at once even within a mail window: a new personal link (the old one stopped working).
AT_ONCE_KINDS = ("link_resent",)

# Retried until the activity itself gives up on what is still failing (after 24 hours, in
# activities/notifications.py), every 10 minutes at most: a mail server down for a while
# delays mail and loses none.
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
)

Failures = list[tuple[Notification, dict[str, str]]]


class Messenger:
    def __init__(
        self,
        project: Project,
        *,
        notified_through: int,
        digests: dict[str, list[DigestItem]],
        digest_due: dict[str, datetime],
        recorded: Callable[[list[ev.Event]], None],
        wake: Callable[[], None],
        window: timedelta = timedelta(0),
        mail_queue: str | None = None,
        retry_max: float | None = None,
    ) -> None:
        self.project = project
        self.notified_through = notified_through
        # News waiting for each digest reader, and when their digest goes.
        self.digests = digests
        self.digest_due = digest_due
        self.in_flight = 0
        self._recorded = recorded
        self._wake = wake
        # Since 1.3 (a project launched with a mail window): news held until the window that
        # its first piece opened ends, then told in one batch; the steps closed meanwhile.
        self.window = window
        self.mail_queue = mail_queue
        self.retry = (
            NOTIFY_RETRY
            if retry_max is None
            else replace(NOTIFY_RETRY, maximum_interval=timedelta(seconds=retry_max))
        )
        self.held: list[Notification] = []
        self.held_until: datetime | None = None
        self._closed_meanwhile: set[tuple[str, str, str]] = set()

    def dispatch(self) -> bool:
        """Tell whoever each event recorded since the last dispatch concerns. True when an
        author's texts were erased (the archive's segments then need rewriting)."""
        state = self.project.state
        batch: list[Notification] = []
        erased_texts = False
        events = self.project.events
        for event in events[position_after(events, self.notified_through) :]:
            data = event.data
            if isinstance(data, ev.ParticipantUpdated):
                self._replan_digest(data.participant_id)
            if isinstance(data, ev.PhaseClosed):
                self._closed_meanwhile.add((data.phase.value, str(data.round), data.step or ""))
            elif isinstance(data, ev.StepReopened):  # open again: its opening is news again
                self._closed_meanwhile.discard((data.phase.value, str(data.round), data.step or ""))
            elif isinstance(data, ev.ProjectCancelled) and data.open_phase is not None:
                round_ = str(data.open_round or state.round)
                self._closed_meanwhile.add((data.open_phase.value, round_, data.open_step or ""))
            elif isinstance(data, ev.ParticipantRemoved | ev.ParticipantErased) and self._holding(
                batch
            ):
                # What was held goes now, as it would have without the window: to the one
                # leaving too, and never after an erasure that would have to redact it.
                self.held += batch
                batch = []
                self.send_held()
            if isinstance(data, ev.ParticipantErased) and data.texts_redacted:
                erased_texts = True
            notice = notice_for(state, event)
            self.notified_through = event.seq
            if notice is None or not notice.recipients:
                continue
            route = routing(state, notice)
            for pid in route.digest:
                self._keep_for_digest(pid, DigestItem(
                    kind=notice.kind, event_seq=event.seq, at=event.at, facts=notice.facts
                ))  # fmt: skip
            # Those not told by e-mail now still are through their webhook, if they have one.
            webhook_only = [pid for pid in notice.recipients if pid not in route.now]
            notification = Notification(
                key=f"{workflow.info().workflow_id}/{event.seq}/{notice.kind}",
                project_id=state.spec.id if state.spec else "",
                project_title=state.spec.title if state.spec else "",
                kind=notice.kind,
                event_seq=event.seq,
                at=event.at,
                to=list(route.now) + webhook_only,
                webhook_only=webhook_only,
                facts=notice.facts,
            )
            batch.append(notification)
        # A new personal link goes at once: the old one stopped working already.
        at_once = [n for n in batch if n.kind in AT_ONCE_KINDS]
        batch = [n for n in batch if n.kind not in AT_ONCE_KINDS]
        if self._holding(batch):
            self.held += batch
            if self.held_until is None:
                self.held_until = workflow.now() + self.window
                self._wake()  # a new moment for the timer
        else:
            at_once = batch + at_once
        self._send(at_once)
        if not self.held:
            self._closed_meanwhile.clear()
        return erased_texts

    def _holding(self, batch: list[Notification]) -> bool:
        """Whether news is held for a window (a project launched with one, since 1.3)."""
        return bool(batch or self.held) and (
            self.window > timedelta(0) and workflow.patched(MAIL_WINDOW)
        )

    def send_held(self) -> None:
        """The news held in the window, in one batch (the activity makes each reader's few
        messages of it). A step opened and closed within the window is not told: its opening
        asked nothing anyone can still give, and its calendar entry would only be withdrawn;
        what it decided, its own news says."""
        if not self.held:
            return
        told = told_of(self.held, self._closed_meanwhile)
        self.held, self.held_until = [], None
        self._closed_meanwhile.clear()
        self._send(told)

    def _send(self, batch: list[Notification]) -> None:
        if batch:
            self.in_flight += 1
            # Each person the batch tells, written once (not once per notification).
            named = dict.fromkeys(pid for n in batch for pid in n.to)
            people = [self._recipient(pid) for pid in named]
            asyncio.create_task(
                self._notify_all(NotificationBatch(notifications=batch, people=people))
            )

    # -- digests ------------------------------------------------------------------------------

    def next_digest_at(self) -> datetime | None:
        """The next moment something held goes: a digest, or the news of a mail window."""
        moments = list(self.digest_due.values())
        if self.held_until is not None:
            moments.append(self.held_until)
        return min(moments) if moments else None

    def _keep_for_digest(self, participant_id: str, item: DigestItem) -> None:
        self.digests.setdefault(participant_id, []).append(item)
        if participant_id not in self.digest_due:
            p = self.project.state.participants[participant_id]
            self.digest_due[participant_id] = next_digest(item.at, p.digest_hour, p.time_zone)
            self._wake()  # a new moment for the timer

    def _replan_digest(self, participant_id: str) -> None:
        """A reader with news waiting changed their settings: the essentials drop it, every
        message sends it now, a digest moves to the new hour or time zone."""
        if participant_id not in self.digest_due:
            return
        p = self.project.state.participants[participant_id]
        if p.notifications == NotificationPreference.essentials:
            del self.digest_due[participant_id]
            self.digests.pop(participant_id, None)
        elif p.notifications == NotificationPreference.every:
            self.digest_due[participant_id] = workflow.now()
        else:
            self.digest_due[participant_id] = next_digest(
                workflow.now(), p.digest_hour, p.time_zone
            )
        self._wake()

    def send_due_digests(self, everything: bool = False) -> None:
        """One e-mail per reader whose digest hour came, with all the news kept for it; the
        news of a mail window whose end came."""
        now = workflow.now()
        if self.held_until is not None and (self.held_until <= now or everything):
            self.send_held()
        state = self.project.state
        batch: list[Notification] = []
        for pid, due in sorted(self.digest_due.items()):
            if due > now and not everything:
                continue
            items = self.digests.pop(pid, [])
            del self.digest_due[pid]
            who = state.participants.get(pid)
            if not items or who is None or not who.active:
                continue
            batch.append(
                Notification(
                    key=f"{workflow.info().workflow_id}/digest/{pid}/{due.isoformat()}",
                    project_id=state.spec.id if state.spec else "",
                    project_title=state.spec.title if state.spec else "",
                    kind="digest",
                    event_seq=items[-1].event_seq,
                    at=due,
                    to=[pid],
                    items=items,
                )
            )
        self._send(batch)

    # -- delivery -----------------------------------------------------------------------------

    def _recipient(self, participant_id: str) -> Recipient:
        p = self.project.state.participants[participant_id]
        return Recipient(
            participant_id=p.id,
            organisation_name=p.organisation_name,
            role=p.role,
            language=p.language,
            time_zone=p.time_zone,
            token_version=p.token_version,
        )

    async def _notify_all(self, batch: NotificationBatch) -> None:
        try:
            if self.mail_queue and workflow.patched(MAIL_QUEUE):
                # A mail worker composes and sends: the project's worker keeps its time for
                # the partners' actions.
                failures = await self._notified_by_activity(batch, self.mail_queue)
            elif workflow.patched(AT_ONCE):
                failures = await self._notified_at_once(batch)
            else:
                failures = await self._notified_by_activity(batch)
        finally:
            self.in_flight -= 1
        # One event per notification that someone did not get, each reason once.
        merged: dict[str, tuple[Notification, dict[str, str]]] = {}
        for notification, failed in failures:
            merged.setdefault(notification.key, (notification, {}))[1].update(failed)
        for notification, failed in merged.values():
            failed_event = ev.NotificationFailed(
                about_seq=notification.event_seq,
                recipients=list(failed),
                error="; ".join(dict.fromkeys(why for why in failed.values() if why)),
            )
            # Recorded as any event: counted, and the search attribute ops filter on updated.
            self._recorded(self.project.record([failed_event], ev.SYSTEM, workflow.now()))

    async def _notified_at_once(self, batch: NotificationBatch) -> Failures:
        """Since 1.1: the batch as a local activity, recorded in one marker event instead of an
        activity's three and the workflow task it wakes (six in all); what it could not
        deliver at once goes to the activity that retries for a day."""
        try:
            deliveries: list[Delivery] = await workflow.execute_local_activity_method(
                NotificationActivities.notify_now,
                batch,
                # The activity gives up what is under way 1.5 s in (NOW_FOR_SECONDS and a
                # message's grace) and returns it as pending; this is a last resort.
                start_to_close_timeout=timedelta(seconds=10),
                # A worker busy with many projects' mail at once (mail windows ending together)
                # may leave it queued: past 2 s the batch goes to the activity that retries,
                # and the project's workflow task does not wait on (see bench/README.md: a
                # task that timed out while windows ended together).
                schedule_to_start_timeout=timedelta(seconds=2),
                retry_policy=RetryPolicy(maximum_attempts=1),
                summary=f"notify {kinds(batch)}",
            )
        except FailureError:  # a local activity's failure comes unwrapped, as it was raised
            # Not at once (a crash, a message stuck): all of it through the activity that
            # retries; a message sent twice keeps its Message-ID, and receivers drop repeats.
            return await self._notified_by_activity(batch)
        failures = [
            (n, d.failed) for n, d in zip(batch.notifications, deliveries, strict=True) if d.failed
        ]
        rest = [
            (n.model_copy(update={"to": d.pending, "webhook_only": [
                pid for pid in n.webhook_only if pid in d.pending
            ], "recipients": []}), d.sent)
            for n, d in zip(batch.notifications, deliveries, strict=True)
            if d.pending
        ]  # fmt: skip
        if rest:
            pending = {pid for n, _ in rest for pid in n.to}
            retried = NotificationBatch(
                notifications=[n for n, _ in rest],
                people=[p for p in batch.people if p.participant_id in pending],
                already_sent=[key for _, sent in rest for key in sent],
            )
            failures += await self._notified_by_activity(retried)
        return failures

    async def _notified_by_activity(
        self, batch: NotificationBatch, task_queue: str | None = None
    ) -> Failures:
        try:
            deliveries: list[Delivery] = await workflow.execute_activity_method(
                NotificationActivities.notify_all,
                batch,
                task_queue=task_queue,
                # Time for every message of the batch; the heartbeat tells a stuck delivery
                # from a long batch.
                start_to_close_timeout=timedelta(
                    seconds=60 + 5 * sum(len(n.participant_ids()) for n in batch.notifications)
                ),
                heartbeat_timeout=timedelta(seconds=60),
                # The activity gives up on what still fails after 24 hours; past this, the
                # batch is recorded as failed (a bug, a directory down) and the project goes on.
                schedule_to_close_timeout=timedelta(hours=25),
                retry_policy=self.retry,
                summary=f"notify {kinds(batch)}",
            )
        except ActivityError as e:
            return [
                (n, dict.fromkeys(n.participant_ids(), str(e.cause or e)))
                for n in batch.notifications
            ]
        return [
            (n, d.failed) for n, d in zip(batch.notifications, deliveries, strict=True) if d.failed
        ]


def told_of(held: list[Notification], closed: set[tuple[str, str, str]]) -> list[Notification]:
    """A window's news as it goes: a step opened and closed within it (`closed`: the steps
    closed meanwhile, as (phase, round, step)) is told by webhook only, not by e-mail, unless
    other news put it in the calendar meanwhile (its text to answer, an extension): then its
    opening and its closing's CANCEL go too."""
    opened = {_step_of(n) for n in held if n.kind == "phase_opened"}
    passed = opened & closed
    passed -= {
        _step_of(n)
        for n in held
        if n.kind not in ("phase_opened", "phase_closed") and n.facts.get("deadline")
    }
    return [
        n.model_copy(update={"webhook_only": list(n.to)}) if _step_of(n) in passed else n
        for n in held
    ]


def _step_of(notification: Notification) -> tuple[str, str, str]:
    """The step a notification is about, as (phase, round, step), when its facts say it."""
    facts = notification.facts
    return (facts.get("phase", ""), facts.get("round", ""), facts.get("step", ""))


def kinds(batch: NotificationBatch) -> str:
    return ", ".join(dict.fromkeys(n.kind for n in batch.notifications))
