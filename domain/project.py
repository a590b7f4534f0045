"""The project aggregate: checks a command against the action table, runs its decider,
applies the events, and closes a phase when the rules say so. The workflow is a thin durable
shell around it.

Everything here is pure: time comes in as `now`, ids are derived from sequence numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain import commands as cmd
from domain import events as ev
from domain import rules, steps, templates
from domain.actions import Action, action_for, over_refusal, phase_refusal, role_refusal
from domain.errors import Rejected
from domain.models import (
    AgreedCharter,
    CharterDocument,
    GlossaryEntry,
    Governance,
    LaunchedTemplate,
    Outcome,
    Participant,
    Phase,
    Process,
    ProjectSpec,
    Role,
    Template,
)
from domain.state import ProjectState, apply
from domain.steps import charter as charter_step
from domain.steps import review, walk
from domain.steps.decision import approving_roles, colleges_emptied
from domain.steps.walk import first_step

__all__ = ["Alarm", "Project", "Rejected", "spec_for"]


@dataclass(frozen=True)
class Alarm:
    at: datetime
    kind: str  # "reminder" or "deadline"


# The shortest phase a launch accepts (action may be 0: skipped); tests and the benchmark
# lower it through the API's setting.
MIN_PHASE = timedelta(hours=1)


def spec_for(
    launch: cmd.LaunchFields,
    project_id: str,
    organisation: str,
    min_phase: timedelta = MIN_PHASE,
    template: LaunchedTemplate | None = None,
    now: datetime | None = None,
    glossary: list[GlossaryEntry] | None = None,
    charter_document: CharterDocument | None = None,
    max_delegations: int = 2,
    reopen_within: timedelta | None = None,
) -> ProjectSpec:
    """The project a coordinator's launch describes: ids given where left out, and its own
    copy of its template (the one named, resolved by the caller; none named: co-construction
    v1 with the launch's process settings)."""
    if template is None:
        process = Process.model_validate(launch.process.model_dump())
        published = templates.co_construction()
        template = LaunchedTemplate(
            id=published.id,
            version=published.version,
            digest=templates.digest(published),
            content=templates.co_construction(process),
        )
    else:
        unknown = sorted(set(launch.durations) - {s.id for s in template.content.steps})
        if unknown:
            steps_known = ", ".join(s.id for s in template.content.steps)
            raise Rejected(
                "unknown_step",
                f"the template has no step {unknown[0]!r} (steps: {steps_known})",
                field=f"durations.{unknown[0]}",
            )
        template = template.model_copy(
            update={"content": templates.with_durations(template.content, launch.durations)}
        )
    refused = launch_problems(template.content, min_phase, now)
    if refused:
        raise refused[0]
    participants = [
        Participant(id=p.id or f"{p.role.value}-{n}", **p.model_dump(exclude={"id"}))
        for n, p in enumerate(launch.participants, start=1)
    ]
    ids = [p.id for p in participants]
    if len(ids) != len(set(ids)):
        raise Rejected(
            "invalid_request",
            "participant ids must be unique within a project",
            field="participants",
        )
    for problem in templates.participant_problems(template.content, participants):
        raise Rejected(
            problem.code
            if problem.code in ("approvers_empty", "college_empty", "approver_college")
            else "invalid_request",
            problem.said(),
            field="participants",
        )
    return ProjectSpec(
        id=project_id,
        coordinator_organisation=organisation,
        participants=participants,
        template=template,
        glossary=glossary or [],
        charter_agreed=agreed_charter(launch.charter_agreed, charter_document, now),
        max_delegations=max_delegations,
        **({"reopen_within": reopen_within} if reopen_within is not None else {}),
        **launch.model_dump(
            exclude={"participants", "template", "durations", "glossary_from", "charter_agreed"}
        ),
    )


def agreed_charter(
    agreed: cmd.AgreedCharterFields | None,
    document: CharterDocument | None,
    now: datetime | None,
) -> AgreedCharter | None:
    """The charter agreed before the project as the project records it: its file by name,
    size and digest only (the caller found it in the archive store)."""
    if agreed is None:
        return None
    if now is not None and agreed.agreed_on > (now + timedelta(days=1)).date():
        raise Rejected(
            "date_future",
            "a charter agreed before the project has a date that is not to come",
            field="charter_agreed.agreed_on",
        )
    if agreed.file is not None and (document is None or document.sha256 != agreed.file.id):
        raise Rejected(
            "unknown_file",
            "no charter file with this id: upload it first (POST /charter-files), then give "
            "the id it answered",
            field="charter_agreed.file.id",
        )
    governance = (
        Governance.model_validate(agreed.governance.model_dump())
        if agreed.governance is not None
        else None
    )
    return AgreedCharter(
        agreed_on=agreed.agreed_on,
        text=agreed.text or None,
        document=document if agreed.file is not None else None,
        governance=governance,
    )


def launch_problems(
    template: Template, min_phase: timedelta, now: datetime | None = None
) -> list[Rejected]:
    """Everything that keeps this template's steps from running, all at once (the launch form
    lists them together): a step too short, a pause whose date is past."""
    # A co-construction launch sets its durations through `process` (1.x), others through
    # `durations`: the refusal names the field the launch wrote.
    legacy = template.id == templates.DEFAULT_TEMPLATE and all(
        s.id == s.kind.value for s in template.steps
    )
    refused = short_phases(
        {
            s.id: s.duration
            for s in template.steps
            if s.duration is not None and not (s.kind == Phase.wait and s.until is not None)
        },
        min_phase,
        {s.id: s.kind for s in template.steps},
        "process.{}.duration" if legacy else "durations.{}",
    )
    for problem in templates.problems(template, now):
        if problem.code == "date_past":
            refused.append(Rejected("date_past", problem.said(), field=f"steps.{problem.step}"))
        if problem.code == "reminder_out_of_bounds" and not legacy:
            # A step made shorter at launch than one of its reminders.
            refused.append(
                Rejected("phase_too_short", problem.said(), field=f"durations.{problem.step}")
            )
    return refused


def short_phases(
    durations: dict[str, timedelta],
    min_phase: timedelta,
    kinds: dict[str, Phase] | None = None,
    field: str = "process.{}.duration",
) -> list[Rejected]:
    """Every step that would be too short, all at once (the launch form lists them together).
    Steps are named by id; `kinds` gives their kinds where the id is not one."""
    refused = []
    for step_id, duration in durations.items():
        kind = (kinds or {}).get(step_id) or Phase(step_id)
        if kind == Phase.action and duration == timedelta(0):
            continue  # implementation lasting 0 is skipped
        if duration <= timedelta(0) or duration < min_phase:
            what = f"the {step_id} phase" if field.startswith("process.") else f"step {step_id!r}"
            refused.append(
                Rejected(
                    "phase_too_short",
                    f"{what} lasts {duration}; a step lasts at least {min_phase} (only an "
                    "implementation may last 0, to skip it)",
                    field=field.format(step_id),
                )
            )
    return refused


class Project:
    def __init__(self, events: Iterable[ev.Event] = ()) -> None:
        self.state = ProjectState()
        self.events: list[ev.Event] = []
        for event in events:
            self.events.append(event)
            apply(self.state, event)

    @classmethod
    def resumed(cls, state: ProjectState, recent: Iterable[ev.Event]) -> Project:
        """A project carried across continue-as-new: its state as folded so far, and only its
        latest events (the earlier ones are in the archive's segments)."""
        project = cls()
        project.state = state
        project.events = list(recent)
        return project

    # -- recording ---------------------------------------------------------------------------

    def record(self, payloads: Iterable[ev.EventData], actor: str, now: datetime) -> list[ev.Event]:
        recorded = []
        for data in payloads:
            event = ev.Event(seq=self.state.last_seq + 1, at=now, actor=actor, data=data)
            apply(self.state, event)
            self.events.append(event)
            recorded.append(event)
        return recorded

    @classmethod
    def launch(cls, spec: ProjectSpec, now: datetime, rules_version: int = rules.RULES) -> Project:
        project = cls()
        coordinator = next(p.id for p in spec.participants if p.role == Role.coordinator)
        launched = ev.ProjectLaunched(project=spec, rules=rules_version)
        project.record([launched], coordinator, now)
        project.record([first_step(project.state, now)], coordinator, now)
        return project

    # -- commands ----------------------------------------------------------------------------

    def check(self, command: cmd.Command, now: datetime) -> list[ev.EventData]:
        """The events the command would record; raises Rejected and changes nothing."""
        action = action_for(type(command))
        over = over_refusal(self.state)
        if over:
            raise over
        actor = self._authorised_actor(action, command.actor)
        refused = phase_refusal(action, self.state)
        if refused:
            raise refused
        return action.decide(self.state, command, actor, now)

    def execute(self, command: cmd.Command, now: datetime) -> list[ev.Event]:
        payloads = self.check(command, now)
        recorded = self.record(payloads, command.actor.participant_id, now)
        return recorded + self.settle(now)

    def settle(self, now: datetime) -> list[ev.Event]:
        """Close the phase when everyone expected has acted and the process says so; again if
        the next phase opens already complete (an evaluation with no indicator to score).
        Under rules 2, once every partner has assessed, ask the facilitator for the conclusion
        (once per evaluation)."""
        state = self.state
        recorded: list[ev.Event] = []
        while state.spec is not None:
            emptied = colleges_emptied(state)
            if emptied:
                recorded += self.record(emptied, ev.SYSTEM, now)
            if state.amendment is not None:
                if not charter_step.amendment_complete(state):
                    break  # the step waits for the amendment
                closed = charter_step.amendment_closed(state, now, "complete")
                recorded += self.record([closed], ev.SYSTEM, now)
            if self._conclusion_due():
                recorded += self.record([ev.ConclusionRequested()], ev.SYSTEM, now)
            step = state.current_step()
            if step is None or not (steps.is_complete(state) and step.close_when_complete):
                break
            recorded += self.record(steps.close(state, now, "complete"), ev.SYSTEM, now)
        return recorded

    def _conclusion_due(self) -> bool:
        s = self.state
        return (
            rules.concludes_evaluation(s)
            and s.phase == Phase.evaluation
            and s.phase_open
            and not s.concluded
            and not s.conclusion_requested
            and rules.partners_assessed(s)
        )

    # -- time --------------------------------------------------------------------------------

    def next_alarm(self) -> Alarm | None:
        state = self.state
        amending = state.amendment is not None and state.phase not in (
            Phase.closed,
            Phase.cancelled,
        )
        if amending and not state.keeps_its_date:
            return Alarm(state.amendment.until, "amendment")  # the step's own wait with it
        if not state.phase_open or state.deadline is None:
            return Alarm(state.amendment.until, "amendment") if amending else None
        if state.review_waiting:
            notice = review.notice_due(state)
            alarms = [Alarm(state.deadline, "review")]
            alarms += [Alarm(notice, "review_notice")] if notice is not None else []
            if amending:  # the review's date holds while the partners answer
                alarms.append(Alarm(state.amendment.until, "amendment"))
            return min(alarms, key=lambda a: a.at)
        alarms = [Alarm(state.deadline - offset, "reminder") for offset in state.reminders_pending]
        if not state.escalated:
            alarms.append(Alarm(state.deadline, "deadline"))
        if amending:  # a pause goes on while the partners answer
            alarms.append(Alarm(state.amendment.until, "amendment"))
        return min(alarms, key=lambda a: a.at, default=None)

    def on_time(self, now: datetime) -> list[ev.Event]:
        """Record what is due at `now`: reminders, then the deadline's escalation and close."""
        state = self.state
        recorded: list[ev.Event] = []
        if state.amendment is not None and state.phase not in (Phase.closed, Phase.cancelled):
            if state.amendment.until <= now:
                closed = charter_step.amendment_closed(state, now, "deadline")
                recorded += self.record([closed], ev.SYSTEM, now) + self.settle(now)
            elif not state.keeps_its_date:
                return recorded  # the step is suspended: its own alarms wait
        if state.spec is None or state.is_over:
            return recorded
        if not state.phase_open or state.deadline is None:
            return recorded
        if state.review_waiting:
            return recorded + self._review_due(now)
        for offset in list(state.reminders_pending):
            # Past the deadline (a worker was down), a reminder would only confuse: the
            # escalation or the close below drops it.
            if state.deadline - offset <= now < state.deadline:
                silent = [p.id for p in steps.pending(state)]
                reminder = ev.ReminderSent(
                    phase=state.phase,
                    offset=offset,
                    recipients=silent,
                    deadline=state.deadline,
                    step=self._named_step(),
                )
                recorded += self.record([reminder], ev.SYSTEM, now)
        if state.deadline <= now and not state.escalated:
            missing = [p.id for p in steps.pending(state)]
            named = self._named_step()
            if missing:
                recorded += self.record(
                    [ev.DeadlineEscalated(phase=state.phase, missing=missing, step=named)],
                    ev.SYSTEM,
                    now,
                )
            if steps.stays_open_at_deadline(state):
                if not missing:  # no active facilitator: still tell the record it passed
                    recorded += self.record(
                        [ev.DeadlineEscalated(phase=state.phase, missing=[], step=named)],
                        ev.SYSTEM,
                        now,
                    )
                # With no plan (or no text) there is nothing to decide on: it stays open.
                return recorded
            recorded += self.record(steps.close(state, now, "deadline"), ev.SYSTEM, now)
            recorded += self.settle(now)
        return recorded

    def _review_due(self, now: datetime) -> list[ev.Event]:
        """A review waiting for its date: every participant told a week before, then the
        step opens for its answers."""
        state = self.state
        recorded: list[ev.Event] = []
        notice = review.notice_due(state)
        if notice is not None and notice <= now and state.deadline is not None:
            everyone = [p.id for p in state.active()]
            told = ev.ReviewNoticeSent(opens_at=state.deadline, recipients=everyone)
            recorded += self.record([told], ev.SYSTEM, now)
        step = state.current_step()
        if step is not None and state.deadline is not None and state.deadline <= now:
            opened = walk.step_opened(step, state.round, now)
            recorded += self.record([opened], ev.SYSTEM, now) + self.settle(now)
        return recorded

    def finish(self, report: ev.ReportPublished, now: datetime) -> list[ev.Event]:
        """After the evaluation closed and its report was published."""
        if not self.awaiting_report:
            return []
        outcome = self.state.outcome or Outcome.adopted
        return self.record([report, ev.ProjectClosed(outcome=outcome)], ev.SYSTEM, now)

    @property
    def awaiting_report(self) -> bool:
        """The template's last step closed (an evaluation, or a decision that ends it): the
        report is published, then the project closes."""
        return awaiting_report(self.state)

    def _named_step(self) -> str | None:
        step = self.state.current_step()
        return None if step is None else walk.named(step)

    def _authorised_actor(self, action: Action, actor: cmd.Actor) -> Participant:
        state = self.state
        who = state.participants.get(actor.participant_id)
        if who is None:
            raise Rejected("not_a_participant", "you are not a participant of this project")
        if not who.active:
            raise Rejected("not_a_participant", "you were removed from this project")
        if who.token_version != actor.token_version:
            raise Rejected(
                "stale_token",
                "this personal link was replaced by a newer one; use the latest link you received",
            )
        refused = role_refusal(action, who.role, approving_roles(state))
        if refused:
            raise refused
        return who


def awaiting_report(state: ProjectState) -> bool:
    return (
        state.phase not in (Phase.launched, Phase.closed, Phase.cancelled)
        and not state.phase_open
        and state.report is None
    )
