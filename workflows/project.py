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

from pydantic import ValidationError
from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.archive import ArchiveActivities, ClosingActivities, ProjectClosing
    from activities.notifications import DigestItem
    from activities.reports import ReportActivities, ReportRequest
    from activities.retention import Closing, RetentionActivities
    from domain import commands as cmd
    from domain import events as ev
    from domain.actions import ACTIONS, action_for
    from domain.models import Participant
    from domain.notices import notice_for
    from domain.project import Alarm, Project, Rejected
    from domain.report import ReportFacts
    from domain.report import report_facts as facts_of
    from domain.state import redacted_event
    from domain.views import ActionResult, PageData, ProjectView, action_result, page_data, view
    from texts.report import reader_of, report_markdown
    from workflows.calls import (
        AT_ONCE,
        ONE_CLOSING_ACTIVITY,
        PATCHES,
        REPORT_RETRY,
        RULES_2,
        RULES_3,
        STEP_ATTRIBUTE,
        at_once_or_retried,
    )
    from workflows.inputs import (
        ACTIONS_BY_UPDATE,
        BATCH_UPDATE,
        RECENT_UPDATES_KEPT,
        ActionBatch,
        BatchedAction,
        CarriedState,
        EventsQuery,
        ProjectInput,
        ProjectSummary,
        RecentUpdate,
    )
    from workflows.messages import NOTIFY_RETRY, Messenger
    from workflows.observed import Observed
    from workflows.ops_view import OpsView
    from workflows.segments import Segments, position_after

__all__ = [
    "ACTIONS_BY_UPDATE",
    "AT_ONCE",
    "BATCH_UPDATE",
    "ActionBatch",
    "BatchedAction",
    "CarriedState",
    "EventsQuery",
    "ProjectInput",
    "ProjectSummary",
    "RecentUpdate",
    "NOTIFY_RETRY",
    "ONE_CLOSING_ACTIVITY",
    "PATCHES",
    "REPORT_RETRY",
    "RULES_2",
    "STEP_ATTRIBUTE",
    "ProjectWorkflow",
]


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
            rules_version = 1
            if workflow.patched(RULES_2):
                rules_version = 3 if workflow.patched(RULES_3) else 2
            self.project = Project.launch(input.spec, launched_at, rules_version)
            notified_through, archived_through = 0, 0
            digests: dict[str, list[DigestItem]] = {}
            digest_due: dict[str, datetime] = {}
        else:
            carried = input.carried
            if carried.state is not None:
                self.project = Project.resumed(carried.state, carried.events)
            else:
                self.project = Project(carried.events)
            archived_through = carried.archived_through
            notified_through = carried.notified_through
            digests = dict(carried.digests)
            digest_due = dict(carried.digest_due)
            for recent in carried.recent_updates:
                self._recent[recent.key] = recent
        # Bumped when the main loop must look again: a new deadline, a phase change, news.
        self._wake = 0
        self._observed = Observed()
        # Who is told what (workflows/messages.py), the past in the archive (segments.py),
        # what ops see (ops_view.py).
        self._messenger = Messenger(
            self.project,
            notified_through=notified_through,
            digests=digests,
            digest_due=digest_due,
            recorded=self._recorded,
            wake=self._woken,
            window=timedelta(seconds=input.mail_window_seconds),
            mail_queue=input.mail_task_queue,
            retry_max=input.notify_retry_max_seconds,
        )
        self._segments = Segments(self.project, input.spec.id, archived_through)
        self._ops_view = OpsView()
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
        self._ops_view.sync(self.project.state)
        while True:
            self._dispatch()
            if self._segments.to_redact:
                await self._segments.redact()
            if self._ops_view.stale:
                self._ops_view.sync(self.project.state)
            if self.project.state.is_over:
                break
            if self.project.awaiting_report:
                self._set_timer(None)
                await self._publish_report()
                continue
            # Not while notifications are in flight (a mail server down may keep them for a
            # day): the project goes on meanwhile, its deadlines with it.
            if self._continue_as_new_due() and self._messenger.in_flight == 0:
                self._set_timer(None)
                await self._continue_as_new()
                # Not continued (news to send first): updates taken meanwhile may have ended
                # a phase, so look at everything again.
                continue
            alarm = self.project.next_alarm()
            if alarm is not None and alarm.at <= workflow.now():
                self._recorded(self.project.on_time(workflow.now()))
                continue
            digest_at = self._messenger.next_digest_at()
            if digest_at is not None and digest_at <= workflow.now():
                self._messenger.send_due_digests()
                continue
            self._set_timer(alarm)
            self._set_digest_timer()
            seen = self._wake
            await workflow.wait_condition(
                lambda seen=seen: (
                    self._wake != seen
                    or self._ops_view.stale
                    or (self._timer is not None and self._timer.done())
                    or (self._digest_timer is not None and self._digest_timer.done())
                    or (self._continue_as_new_due() and self._messenger.in_flight == 0)
                )
            )
            if self._timer is not None and self._timer.done():
                self._timer, self._timer_at = None, None
                self._recorded(self.project.on_time(workflow.now()))
            if self._digest_timer is not None and self._digest_timer.done():
                self._digest_timer, self._digest_timer_at = None, None
                self._messenger.send_due_digests()
        # No digest comes after the end: what waited goes now.
        self._messenger.send_due_digests(everything=True)
        # Outside Temporal, whose visibility forgets closed projects: the retention of people's
        # details counts from this date.
        closing = Closing(project_id=input.spec.id, closed_at=self.project.events[-1].at)
        if workflow.patched(ONE_CLOSING_ACTIVITY):
            # Since 1.1: once nothing more can be recorded, the closing date and the record
            # that outlives Temporal, in one activity.
            await self._settled()
            await at_once_or_retried(
                ClosingActivities.close_project,
                ProjectClosing(closing=closing, archive=self._segments.request()),
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
                self._segments.request(),
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
            lambda: workflow.all_handlers_finished() and self._messenger.in_flight == 0
        )

    def _set_digest_timer(self) -> None:
        """A timer of its own for the next digest, beside the project's (which it never moves):
        none while no news waits for a digest, one per digest hour with news."""
        at = self._messenger.next_digest_at()
        if at == self._digest_timer_at and (
            self._digest_timer is None or not self._digest_timer.done()
        ):
            return
        if self._digest_timer is not None:
            self._digest_timer.cancel()
        self._digest_timer, self._digest_timer_at = None, at
        if at is not None:
            delay = (at - workflow.now()).total_seconds()
            summary = "news window" if at == self._messenger.held_until else "digest"
            self._digest_timer = asyncio.create_task(workflow.sleep(delay, summary=summary))

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
            self._ops_view.stale = True

    def _woken(self) -> None:
        self._wake += 1

    # -- telling people, and the report ------------------------------------------------------

    def _dispatch(self) -> None:
        if self._messenger.dispatch():
            # Texts erased while earlier events sit in segments: rewrite those too.
            self._segments.to_redact = self._segments.archived_through > 0

    async def _publish_report(self) -> None:
        state = self.project.state
        assert state.spec is not None
        report = await at_once_or_retried(
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
            or self.project.state.last_seq - self._segments.archived_through
            >= self._input.segment_after_events
        )

    async def _continue_as_new(self) -> None:
        # The past goes to the archive; the next run carries the state and the latest events.
        await self._segments.write()
        # Let every accepted update finish and every notification settle, so nothing is lost
        # or sent twice by the next run.
        while True:
            await workflow.wait_condition(
                lambda: (
                    (workflow.all_handlers_finished() and self._messenger.in_flight == 0)
                    or self._ops_view.stale
                )
            )
            if not self._ops_view.stale:
                break
            # Updates accepted meanwhile still reach ops' search attributes.
            self._ops_view.sync(self.project.state)
        self._dispatch()
        self._messenger.send_held()  # the next run holds nothing over
        if self._messenger.in_flight:
            return  # news arrived while waiting: send it first, continue on the next turn
        # Only the events recorded since the segment (usually none): the rest is in the store.
        carried = CarriedState(
            events=self._segments.unarchived(),
            state=self.project.state,
            archived_through=self._segments.archived_through,
            recent_updates=list(self._recent.values()),
            notified_through=self._messenger.notified_through,
            digests=self._messenger.digests,
            digest_due=self._messenger.digest_due,
        )
        workflow.continue_as_new(
            ProjectInput(
                spec=self._input.spec,
                carried=carried,
                continue_as_new_after_events=self._input.continue_as_new_after_events,
                segment_after_events=self._input.segment_after_events,
                mail_window_seconds=self._input.mail_window_seconds,
                mail_task_queue=self._input.mail_task_queue,
                notify_retry_max_seconds=self._input.notify_retry_max_seconds,
            )
        )

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
        self._ops_view.stale = True
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
        start = position_after(self.project.events, q.after)
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
