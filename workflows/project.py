"""ProjectWorkflow: one co-construction project, from launch to closed, as a durable workflow.

Partner actions are updates with validators over the pure `Project` aggregate, one per action
of the action table (domain/actions.py); handlers only record events and return (the server
allows 10 updates in flight). The main loop owns time (reminders, deadlines), notifications,
the report, the ops view and continue-as-new.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.archive import (
        ArchiveActivities,
        ClosingActivities,
        ProjectClosing,
        RedactionRequest,
        SegmentRequest,
    )
    from activities.notifications import (
        Delivery,
        DigestItem,
        Notification,
        NotificationActivities,
        NotificationBatch,
        Recipient,
    )
    from activities.reports import ReportActivities, ReportRequest
    from activities.retention import Closing, RetentionActivities
    from domain import commands as cmd
    from domain import events as ev
    from domain.actions import ACTIONS, action_for
    from domain.models import NotificationPreference, Outcome, Participant, Phase, ProjectSpec
    from domain.notices import next_digest, notice_for, routing
    from domain.project import Alarm, Project, Rejected
    from domain.report import ReportFacts
    from domain.report import report_facts as facts_of
    from domain.state import ProjectState, redacted_event
    from domain.views import (
        ActionResult,
        PageData,
        ProjectView,
        action_result,
        current_details,
        page_data,
        view,
    )
    from texts.report import reader_of, report_markdown
    from workflows import search_attributes as sa
    from workflows.observed import Observed

# Keys of recent updates kept for idempotency across continue-as-new (Temporal's own
# de-duplication stops at the run boundary). Each costs ~300 bytes of the carried payload;
# a client retries within minutes, so the last 500 actions are plenty.
RECENT_UPDATES_KEPT = 500

# Retried until the activity itself gives up on what is still failing (after 24 hours, in
# activities/notifications.py), every 10 minutes at most: a mail server down for a while
# delays mail and loses none.
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
)

# A report or an archive that cannot be written is retried until ops fix the cause (a store
# down, a full disk); the project waits, and nothing is lost.
REPORT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=10)
)


class RecentUpdate(BaseModel):
    key: str
    fingerprint: str
    result: ActionResult


class CarriedState(BaseModel):
    """What a project carries across continue-as-new: its state, a pointer to its past (the
    archive's segments hold every event up to `archived_through`), the events recorded since,
    and what was done with them. Bounded by the live state, not by the project's age."""

    # Carried before segments (the whole log, folded again by the new run) when `state` is None.
    events: list[ev.Event]
    state: ProjectState | None = None
    archived_through: int = 0
    recent_updates: list[RecentUpdate] = Field(default_factory=list)
    notified_through: int = 0
    # News waiting for each digest reader, and when their digest goes.
    digests: dict[str, list[DigestItem]] = Field(default_factory=dict)
    digest_due: dict[str, datetime] = Field(default_factory=dict)


class ProjectInput(BaseModel):
    spec: ProjectSpec
    carried: CarriedState | None = None
    continue_as_new_after_events: int = 10_000
    # ... or once this many domain events were recorded since the last segment.
    segment_after_events: int = 1000
    # When the coordinator launched it: deadlines count from there, and the starter's view
    # and search attributes are then exactly the workflow's.
    launched_at: datetime | None = None


class BatchedAction(BaseModel):
    """One partner action inside a batch: its own key (the update id it would have had alone:
    a retry and the action's URL find it by that key) and its update's name and command."""

    key: str
    update: str
    command: dict[str, Any]


class ActionBatch(BaseModel):
    """Several actions for one project sent as one update (the API's group commit): recorded
    in order, all or none."""

    actions: list[BatchedAction]


class EventsQuery(BaseModel):
    after: int = 0
    limit: int = 500


class ProjectSummary(BaseModel):
    project_id: str
    phase: Phase
    outcome: Outcome | None
    last_seq: int


# Patches (workflow.patched): projects started on an earlier version replay as they ran.
ONE_CLOSING_ACTIVITY = "1.1-one-closing-activity"
# Messages, the report and the closing as local activities first (one marker event each).
AT_ONCE = "1.1-at-once"
# Projects launched from 1.2 run under rules 2 (domain/rules.py: the evaluation waits for the
# facilitator's conclusion); those launched before keep rules 1 for their whole life.
RULES_2 = "1.2-rules-2"
PATCHES = (ONE_CLOSING_ACTIVITY, AT_ONCE, RULES_2)

# The update that carries several actions at once (group commit), and how its actions' commands
# are read: as recorded, like each action's own update.
BATCH_UPDATE = "act_batch"
ACTIONS_BY_UPDATE = {action.update: cmd.as_recorded(action.command) for action in ACTIONS}


def _with_action_updates(cls: type) -> type:
    """One named update per action of the table (history shows those names), each guarded by a
    validator that runs the same domain check as its handler: a refused action leaves
    nothing in history."""
    for action in ACTIONS:

        def handler(self: ProjectWorkflow, command: cmd.Command) -> ActionResult:
            return self._act(command)

        def validator(self: ProjectWorkflow, command: cmd.Command) -> None:
            self._check(command)

        handler.__name__ = handler.__qualname__ = action.update
        validator.__name__ = validator.__qualname__ = f"_validate_{action.update}"
        # The SDK reads the argument's type from the annotations to decode the payload: the
        # command as recorded, without limits, so a replay never refuses what was accepted.
        recorded = cmd.as_recorded(action.command)
        handler.__annotations__ = {"command": recorded, "return": ActionResult}
        validator.__annotations__ = {"command": recorded, "return": None}
        update = workflow.update(name=action.update)(handler)
        update.validator(validator)  # type: ignore[attr-defined]
        setattr(cls, action.update, update)
    return cls


@workflow.defn(name="ProjectWorkflow")
@_with_action_updates
class ProjectWorkflow:
    @workflow.init
    def __init__(self, input: ProjectInput) -> None:
        self._input = input
        self._recent: OrderedDict[str, RecentUpdate] = OrderedDict()
        if input.carried is None:
            launched_at = workflow.now()
            if input.launched_at is not None:
                launched_at = min(input.launched_at, launched_at)  # never in the future
            rules_version = 2 if workflow.patched(RULES_2) else 1
            self.project = Project.launch(input.spec, launched_at, rules_version)
            self._notified_through = 0
            self._digests: dict[str, list[DigestItem]] = {}
            self._digest_due: dict[str, datetime] = {}
            self._archived_through = 0
        else:
            carried = input.carried
            if carried.state is not None:
                self.project = Project.resumed(carried.state, carried.events)
            else:
                self.project = Project(carried.events)
            self._archived_through = carried.archived_through
            self._notified_through = input.carried.notified_through
            self._digests = dict(input.carried.digests)
            self._digest_due = dict(input.carried.digest_due)
            for recent in input.carried.recent_updates:
                self._recent[recent.key] = recent
        # Bumped when the main loop must look again: a new deadline, a phase change, news.
        self._wake = 0
        self._observed = Observed()
        self._notifications_in_flight = 0
        # An author's texts were erased while earlier events sit in segments: rewrite them.
        self._segments_to_redact = False
        # Upserted once per workflow task by the main loop, and only what changed: what the
        # starter (or the previous run) set already needs no upsert.
        self._ops_view_stale = False
        self._search_attributes: dict[str, Any] = {
            pair.key.name: pair.value for pair in workflow.info().typed_search_attributes
        }
        # One durable timer for the next alarm, kept while its moment holds.
        self._timer: asyncio.Task[None] | None = None
        self._timer_at: datetime | None = None
        self._digest_timer: asyncio.Task[None] | None = None
        self._digest_timer_at: datetime | None = None

    # -- the main loop -----------------------------------------------------------------------

    @workflow.run
    async def run(self, input: ProjectInput) -> ProjectSummary:
        spec = self.project.state.spec
        if spec is not None and workflow.memo_value("title", None) is None:
            # Started without start_project (e.g. from the Temporal CLI): lists show a title.
            workflow.upsert_memo({"title": spec.title})
        self._sync_ops_view()
        while True:
            self._dispatch_notifications()
            if self._segments_to_redact:
                await self._redact_segments()
            if self._ops_view_stale:
                self._sync_ops_view()
            if self.project.state.is_over:
                break
            if self.project.awaiting_report:
                self._set_timer(None)
                await self._publish_report()
                continue
            # Not while notifications are in flight (a mail server down may keep them for a
            # day): the project goes on meanwhile, its deadlines with it.
            if self._continue_as_new_due() and self._notifications_in_flight == 0:
                self._set_timer(None)
                await self._continue_as_new()
                # Not continued (news to send first): updates taken meanwhile may have ended
                # a phase, so look at everything again.
                continue
            alarm = self.project.next_alarm()
            if alarm is not None and alarm.at <= workflow.now():
                self._recorded(self.project.on_time(workflow.now()))
                continue
            if self._digest_due and min(self._digest_due.values()) <= workflow.now():
                self._send_due_digests()
                continue
            self._set_timer(alarm)
            self._set_digest_timer()
            seen = self._wake
            await workflow.wait_condition(
                lambda seen=seen: (
                    self._wake != seen
                    or self._ops_view_stale
                    or (self._timer is not None and self._timer.done())
                    or (self._digest_timer is not None and self._digest_timer.done())
                    or (self._continue_as_new_due() and self._notifications_in_flight == 0)
                )
            )
            if self._timer is not None and self._timer.done():
                self._timer, self._timer_at = None, None
                self._recorded(self.project.on_time(workflow.now()))
            if self._digest_timer is not None and self._digest_timer.done():
                self._digest_timer, self._digest_timer_at = None, None
                self._send_due_digests()
        # No digest comes after the end: what waited goes now.
        self._send_due_digests(everything=True)
        # Outside Temporal, whose visibility forgets closed projects: the retention of people's
        # details counts from this date.
        closing = Closing(project_id=input.spec.id, closed_at=self.project.events[-1].at)
        if workflow.patched(ONE_CLOSING_ACTIVITY):
            # Since 1.1: once nothing more can be recorded, the closing date and the record
            # that outlives Temporal, in one activity.
            await self._settled()
            await self._at_once_or_retried(
                ClosingActivities.close_project,
                ProjectClosing(closing=closing, archive=self._archive_request()),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=REPORT_RETRY,
                summary="record the closing date and write the project's archive",
            )
        else:
            # Projects that reached their end on 1.0.0 go on as they began.
            await workflow.execute_activity_method(
                RetentionActivities.record_closing,
                closing,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=REPORT_RETRY,
                summary="record the closing date in the contact directory",
            )
            await self._settled()
            await workflow.execute_activity_method(
                ArchiveActivities.archive_project,
                self._archive_request(),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=REPORT_RETRY,
                summary="write the project's archive",
            )
        state = self.project.state
        return ProjectSummary(
            project_id=input.spec.id,
            phase=state.phase,
            outcome=state.outcome,
            last_seq=state.last_seq,
        )

    async def _settled(self) -> None:
        """Nothing more can be recorded: every update handled, every message handed over."""
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and self._notifications_in_flight == 0
        )

    def _archive_request(self) -> SegmentRequest:
        state = self.project.state
        assert state.spec is not None
        return SegmentRequest(
            project_id=state.spec.id, events=self._unarchived(), redacted=state.redacted
        )

    def _set_digest_timer(self) -> None:
        """A timer of its own for the next digest, beside the project's (which it never moves):
        none while no news waits for a digest, one per digest hour with news."""
        at = min(self._digest_due.values()) if self._digest_due else None
        if at == self._digest_timer_at and (
            self._digest_timer is None or not self._digest_timer.done()
        ):
            return
        if self._digest_timer is not None:
            self._digest_timer.cancel()
        self._digest_timer, self._digest_timer_at = None, at
        if at is not None:
            delay = (at - workflow.now()).total_seconds()
            self._digest_timer = asyncio.create_task(workflow.sleep(delay, summary="digest"))

    def _set_timer(self, alarm: Alarm | None) -> None:
        """One durable timer for the next alarm, kept while its moment stays the same (a
        new timer at every wake would add two events each time)."""
        at = alarm.at if alarm else None
        if at == self._timer_at and (self._timer is None or not self._timer.done()):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = None, at
        if alarm is not None:
            delay = (alarm.at - workflow.now()).total_seconds()
            summary = f"{alarm.kind} {self.project.state.phase.value}"
            self._timer = asyncio.create_task(workflow.sleep(delay, summary=summary))

    def _recorded(self, events: list[ev.Event]) -> None:
        self._observed.events(events)
        if events:
            self._wake += 1
            self._ops_view_stale = True

    # -- notifications and the report (activities) -------------------------------------------

    def _dispatch_notifications(self) -> None:
        state = self.project.state
        batch: list[Notification] = []
        for event in self.project.events[self._position_after(self._notified_through) :]:
            if isinstance(event.data, ev.ParticipantUpdated):
                self._replan_digest(event.data.participant_id)
            erased = event.data
            if isinstance(erased, ev.ParticipantErased) and erased.texts_redacted:
                self._segments_to_redact = self._archived_through > 0
            notice = notice_for(state, event)
            self._notified_through = event.seq
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
        self._send(batch)

    def _send(self, batch: list[Notification]) -> None:
        if batch:
            self._notifications_in_flight += 1
            # Each person the batch tells, written once (not once per notification).
            named = dict.fromkeys(pid for n in batch for pid in n.to)
            people = [self._recipient(pid) for pid in named]
            asyncio.create_task(
                self._notify_all(NotificationBatch(notifications=batch, people=people))
            )

    def _keep_for_digest(self, participant_id: str, item: DigestItem) -> None:
        self._digests.setdefault(participant_id, []).append(item)
        if participant_id not in self._digest_due:
            p = self.project.state.participants[participant_id]
            self._digest_due[participant_id] = next_digest(item.at, p.digest_hour, p.time_zone)
            self._wake += 1  # a new moment for the timer

    def _replan_digest(self, participant_id: str) -> None:
        """A reader with news waiting changed their settings: the essentials drop it, every
        message sends it now, a digest moves to the new hour or time zone."""
        if participant_id not in self._digest_due:
            return
        p = self.project.state.participants[participant_id]
        if p.notifications == NotificationPreference.essentials:
            del self._digest_due[participant_id]
            self._digests.pop(participant_id, None)
        elif p.notifications == NotificationPreference.every:
            self._digest_due[participant_id] = workflow.now()
        else:
            self._digest_due[participant_id] = next_digest(
                workflow.now(), p.digest_hour, p.time_zone
            )
        self._wake += 1

    def _send_due_digests(self, everything: bool = False) -> None:
        """One e-mail per reader whose digest hour came, with all the news kept for it."""
        now = workflow.now()
        state = self.project.state
        batch: list[Notification] = []
        for pid, due in sorted(self._digest_due.items()):
            if due > now and not everything:
                continue
            items = self._digests.pop(pid, [])
            del self._digest_due[pid]
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

    def _position_after(self, seq: int) -> int:
        events = self.project.events
        # Events are numbered from 1 without gaps, but a carried log need not start at 1.
        first = events[0].seq if events else 1
        return max(0, seq - first + 1)

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
            if workflow.patched(AT_ONCE):
                failures = await self._notified_at_once(batch)
            else:
                failures = await self._notified_by_activity(batch)
        finally:
            self._notifications_in_flight -= 1
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

    async def _notified_at_once(
        self, batch: NotificationBatch
    ) -> list[tuple[Notification, dict[str, str]]]:
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
                retry_policy=RetryPolicy(maximum_attempts=1),
                summary=f"notify {self._kinds(batch)}",
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
        self, batch: NotificationBatch
    ) -> list[tuple[Notification, dict[str, str]]]:
        try:
            deliveries: list[Delivery] = await workflow.execute_activity_method(
                NotificationActivities.notify_all,
                batch,
                # Time for every message of the batch; the heartbeat tells a stuck delivery
                # from a long batch.
                start_to_close_timeout=timedelta(
                    seconds=60 + 5 * sum(len(n.participant_ids()) for n in batch.notifications)
                ),
                heartbeat_timeout=timedelta(seconds=60),
                # The activity gives up on what still fails after 24 hours; past this, the
                # batch is recorded as failed (a bug, a directory down) and the project goes on.
                schedule_to_close_timeout=timedelta(hours=25),
                retry_policy=NOTIFY_RETRY,
                summary=f"notify {self._kinds(batch)}",
            )
        except ActivityError as e:
            return [
                (n, dict.fromkeys(n.participant_ids(), str(e.cause or e)))
                for n in batch.notifications
            ]
        return [
            (n, d.failed) for n, d in zip(batch.notifications, deliveries, strict=True) if d.failed
        ]

    async def _at_once_or_retried(
        self,
        activity: Any,
        arg: Any,
        *,
        start_to_close_timeout: timedelta,
        retry_policy: RetryPolicy,
        summary: str,
    ) -> Any:
        """Since 1.1, an activity that nearly always succeeds at its first try (the report, the
        closing and archive) runs first as a local activity, recorded in one marker event
        instead of its three and the workflow task it wakes; failing that, as the activity
        Temporal retries. Both are idempotent, so a first try that half happened is harmless."""
        if workflow.patched(AT_ONCE):
            try:
                return await workflow.execute_local_activity_method(
                    activity,
                    arg,
                    start_to_close_timeout=start_to_close_timeout,
                    retry_policy=RetryPolicy(maximum_attempts=1),
                    summary=summary,
                )
            except FailureError:  # a local activity's failure comes unwrapped, as it was raised
                pass
        return await workflow.execute_activity_method(
            activity,
            arg,
            start_to_close_timeout=start_to_close_timeout,
            retry_policy=retry_policy,
            summary=summary,
        )

    @staticmethod
    def _kinds(batch: NotificationBatch) -> str:
        return ", ".join(dict.fromkeys(n.kind for n in batch.notifications))

    async def _publish_report(self) -> None:
        state = self.project.state
        assert state.spec is not None
        report = await self._at_once_or_retried(
            ReportActivities.publish_report,
            # The facts only: the activity writes them in words (a translation is no history).
            ReportRequest(project_id=state.spec.id, facts=facts_of(state)),
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=REPORT_RETRY,
            summary="publish the final report",
        )
        self._recorded(self.project.finish(report, workflow.now()))

    # -- continue-as-new ---------------------------------------------------------------------

    def _continue_as_new_due(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._input.continue_as_new_after_events
            or self.project.state.last_seq - self._archived_through
            >= self._input.segment_after_events
        )

    def _unarchived(self) -> list[ev.Event]:
        return self.project.events[self._position_after(self._archived_through) :]

    async def _write_segment(self) -> None:
        """The events not yet in the archive, as one segment."""
        events = self._unarchived()
        if not events:
            return
        state = self.project.state
        await workflow.execute_activity_method(
            ArchiveActivities.write_segment,
            SegmentRequest(project_id=self._input.spec.id, events=events, redacted=state.redacted),
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=REPORT_RETRY,
            summary=f"archive events {events[0].seq}-{events[-1].seq}",
        )
        self._archived_through = events[-1].seq

    async def _redact_segments(self) -> None:
        self._segments_to_redact = False
        await workflow.execute_activity_method(
            ArchiveActivities.redact_segments,
            RedactionRequest(project_id=self._input.spec.id, redacted=self.project.state.redacted),
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=REPORT_RETRY,
            summary="redact erased texts in the archived events",
        )

    async def _continue_as_new(self) -> None:
        # The past goes to the archive; the next run carries the state and the latest events.
        await self._write_segment()
        # Let every accepted update finish and every notification settle, so nothing is lost
        # or sent twice by the next run.
        while True:
            await workflow.wait_condition(
                lambda: (
                    (workflow.all_handlers_finished() and self._notifications_in_flight == 0)
                    or self._ops_view_stale
                )
            )
            if not self._ops_view_stale:
                break
            # Updates accepted meanwhile still reach ops' search attributes.
            self._sync_ops_view()
        self._dispatch_notifications()
        if self._notifications_in_flight:
            return  # news arrived while waiting: send it first, continue on the next turn
        # Only the events recorded since the segment (usually none): the rest is in the store.
        carried = CarriedState(
            events=self._unarchived(),
            state=self.project.state,
            archived_through=self._archived_through,
            recent_updates=list(self._recent.values()),
            notified_through=self._notified_through,
            digests=self._digests,
            digest_due=self._digest_due,
        )
        workflow.continue_as_new(
            ProjectInput(
                spec=self._input.spec,
                carried=carried,
                continue_as_new_after_events=self._input.continue_as_new_after_events,
                segment_after_events=self._input.segment_after_events,
            )
        )

    # -- ops view: search attributes and current details -------------------------------------

    def _sync_ops_view(self) -> None:
        state = self.project.state
        assert state.spec is not None
        updates = []
        for key, value in sa.values(state).items():
            if self._search_attributes.get(key.name) == value:  # absent means unset
                continue
            self._search_attributes[key.name] = value
            updates.append(key.value_unset() if value is None else key.value_set(value))
        if updates:
            workflow.upsert_search_attributes(updates)
        workflow.set_current_details(current_details(state))
        self._ops_view_stale = False

    # -- updates: one per action, each guarded by a validator --------------------------------

    def _check(self, command: cmd.Command, key: str | None = None) -> None:
        checked = self._checked(command, key or self._update_key())
        if checked is None:
            return  # a replay of an action already recorded: the handler returns its result
        try:
            self.project.check(checked, workflow.now())
        except Rejected as r:
            raise ApplicationError(r.message, type=r.code, non_retryable=True) from None

    def _checked(self, command: cmd.Command, key: str) -> cmd.Command | None:
        """The command within its limits, or None when this key already recorded it."""
        seen = self._recent.get(key)
        if seen is not None:
            if seen.fingerprint != cmd.fingerprint(command):
                raise ApplicationError(
                    "this idempotency key was already used for a different request; "
                    "use a new key for a new action",
                    type="idempotency_conflict",
                    non_retryable=True,
                )
            return None
        # The limits, checked here once: the handler reads the payload as recorded.
        command_type = action_for(type(command)).command
        try:
            checked = command_type.model_validate(command.model_dump())
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ApplicationError(
                f"{where}: {first['msg']}", type="invalid_request", non_retryable=True
            ) from None
        if checked.model_dump() != command.model_dump():
            raise ApplicationError(
                "texts must come cleaned: no control characters other than newline and tab, "
                "no surrounding spaces",
                type="invalid_request",
                non_retryable=True,
            )
        return checked

    def _act(self, command: cmd.Command, key: str | None = None) -> ActionResult:
        key = key or self._update_key()
        if key in self._recent:
            return self._recent[key].result
        before = self.project.state.phase, self.project.state.round, self.project.state.deadline
        try:
            recorded = self.project.execute(command, workflow.now())
        except Rejected as r:
            raise ApplicationError(r.message, type=r.code, non_retryable=True) from None
        state = self.project.state
        self._observed.action(action_for(type(command)).update)
        self._observed.events(recorded)
        result = action_result(state, recorded, cmd.fingerprint(command))
        self._recent[key] = RecentUpdate(key=key, fingerprint=result.fingerprint, result=result)
        while len(self._recent) > RECENT_UPDATES_KEPT:
            self._recent.popitem(last=False)
        # Wake the main loop only when it has something to do: a new schedule or someone to tell.
        after = state.phase, state.round, state.deadline
        if after != before or any(notice_for(state, e) for e in recorded):
            self._wake += 1
        # The main loop upserts once for every update of this workflow task.
        self._ops_view_stale = True
        return result

    @staticmethod
    def _update_key() -> str:
        info = workflow.current_update_info()
        assert info is not None
        return info.id

    # -- group commit: several actions as one update ------------------------------------------

    @workflow.update(name=BATCH_UPDATE)
    def act_batch(self, batch: ActionBatch) -> list[ActionResult]:
        # The validator ran these same actions, in this order, on a copy of this same state:
        # each one passes here too.
        return [self._act(command, key) for key, command in self._batched(batch)]

    @act_batch.validator
    def _validate_act_batch(self, batch: ActionBatch) -> None:
        """All or none: each action checked as if alone, then applied to a copy of the
        project, so the next one is checked against what the previous ones did. A refused
        batch leaves nothing in history (the API then sends its actions one by one)."""
        commands = self._batched(batch)
        keys = [key for key, _ in commands]
        if len(set(keys)) != len(keys) or not commands:
            raise ApplicationError(
                "a batch holds distinct actions", type="invalid_request", non_retryable=True
            )
        now = workflow.now()
        trial: Project | None = None
        for key, command in commands:
            checked = self._checked(command, key)
            if checked is None:
                continue  # recorded before under this key: the handler returns that result
            if trial is None:
                trial = Project.resumed(self.project.state.model_copy(deep=True), [])
            try:
                trial.execute(checked, now)
            except Rejected as r:
                raise ApplicationError(r.message, type=r.code, non_retryable=True) from None

    @staticmethod
    def _batched(batch: ActionBatch) -> list[tuple[str, cmd.Command]]:
        commands = []
        for action in batch.actions:
            try:
                command_type = ACTIONS_BY_UPDATE[action.update]
            except KeyError:
                raise ApplicationError(
                    f"no action {action.update!r}", type="invalid_request", non_retryable=True
                ) from None
            try:
                commands.append((action.key, command_type.model_validate(action.command)))
            except ValidationError as e:
                raise ApplicationError(
                    str(e.errors()[0]["msg"]), type="invalid_request", non_retryable=True
                ) from None
        return commands

    # -- queries -----------------------------------------------------------------------------

    @workflow.query
    def view(self) -> ProjectView:
        return view(self.project.state)

    @workflow.query
    def events(self, q: EventsQuery) -> list[ev.Event]:
        start = self._position_after(q.after)
        erased = self.project.state.redacted
        return [
            redacted_event(e, erased)
            for e in self.project.events[start : start + max(0, min(q.limit, 1000))]
        ]

    @workflow.query
    def report(self) -> str | None:
        """The final report once published, in Markdown, in the project's language."""
        state = self.project.state
        if not state.report:
            return None
        facts = facts_of(state)
        return report_markdown(facts, reader_of(facts))

    @workflow.query
    def report_facts(self) -> ReportFacts:
        """What the report and the people's register say so far, for the API to write in
        its reader's language."""
        return facts_of(self.project.state)

    @workflow.query
    def page(self, participant_id: str) -> PageData | None:
        """What one participant's page shows: the view, itself, what it may do now, the
        latest events."""
        return page_data(self.project.state, self.project.events, participant_id)

    @workflow.query
    def participants(self) -> list[Participant]:
        """Everyone with their contact details: for the coordinator alone."""
        return list(self.project.state.participants.values())

    @workflow.query
    def recent_action(self, key: str) -> ActionResult | None:
        """The result of a recent action by its update id, also one recorded before a
        continue-as-new (Temporal's own look-up stops at the run boundary)."""
        recent = self._recent.get(key)
        return recent.result if recent else None
