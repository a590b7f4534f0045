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
from domain import rules
from domain.actions import Action, action_for, over_refusal, phase_refusal, role_refusal
from domain.errors import Rejected
from domain.models import TIMED_PHASES, Outcome, Participant, Phase, ProjectSpec, Role
from domain.phases import close_phase, open_phase
from domain.state import ProjectState, apply

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
) -> ProjectSpec:
    """The project a coordinator's launch describes: ids given where left out."""
    too_short = short_phases(
        {phase: getattr(launch.process, phase.value).duration for phase in TIMED_PHASES},
        min_phase,
    )
    if too_short:
        raise too_short[0]
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
    return ProjectSpec(
        id=project_id,
        coordinator_organisation=organisation,
        participants=participants,
        **launch.model_dump(exclude={"participants"}),
    )


def short_phases(durations: dict[Phase, timedelta], min_phase: timedelta) -> list[Rejected]:
    """Every phase that would be too short, all at once (the launch form lists them together)."""
    refused = []
    for phase, duration in durations.items():
        if phase == Phase.action and duration == timedelta(0):
            continue  # implementation lasting 0 is skipped
        if duration <= timedelta(0) or duration < min_phase:
            refused.append(
                Rejected(
                    "phase_too_short",
                    f"the {phase.value} phase lasts {duration}; a phase lasts at least "
                    f"{min_phase} (only action may be 0, to skip it)",
                    field=f"process.{phase.value}.duration",
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
        project.record([open_phase(project.state, Phase.diagnosis, 1, now)], coordinator, now)
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
            if self._conclusion_due():
                recorded += self.record([ev.ConclusionRequested()], ev.SYSTEM, now)
            if not (
                rules.is_complete(state)
                and state.spec.process.settings_for(state.phase).close_when_complete
            ):
                break
            recorded += self.record(close_phase(state, now, "complete"), ev.SYSTEM, now)
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
        if not state.phase_open or state.deadline is None:
            return None
        alarms = [Alarm(state.deadline - offset, "reminder") for offset in state.reminders_pending]
        if not state.escalated:
            alarms.append(Alarm(state.deadline, "deadline"))
        return min(alarms, key=lambda a: a.at, default=None)

    def on_time(self, now: datetime) -> list[ev.Event]:
        """Record what is due at `now`: reminders, then the deadline's escalation and close."""
        state = self.state
        recorded: list[ev.Event] = []
        if not state.phase_open or state.deadline is None:
            return recorded
        for offset in list(state.reminders_pending):
            # Past the deadline (a worker was down), a reminder would only confuse: the
            # escalation or the close below drops it.
            if state.deadline - offset <= now < state.deadline:
                silent = [p.id for p in rules.pending(state)]
                reminder = ev.ReminderSent(
                    phase=state.phase, offset=offset, recipients=silent, deadline=state.deadline
                )
                recorded += self.record([reminder], ev.SYSTEM, now)
        if state.deadline <= now and not state.escalated:
            missing = [p.id for p in rules.pending(state)]
            if missing:
                recorded += self.record(
                    [ev.DeadlineEscalated(phase=state.phase, missing=missing)], ev.SYSTEM, now
                )
            if state.phase == Phase.co_design:
                if not missing:  # no active facilitator: still tell the record it passed
                    recorded += self.record(
                        [ev.DeadlineEscalated(phase=state.phase, missing=[])], ev.SYSTEM, now
                    )
                # With no plan there is nothing to decide on: the phase stays open.
                return recorded
            recorded += self.record(close_phase(state, now, "deadline"), ev.SYSTEM, now)
            recorded += self.settle(now)
        return recorded

    def finish(self, report: ev.ReportPublished, now: datetime) -> list[ev.Event]:
        """After the evaluation closed and its report was published."""
        if not self.awaiting_report:
            return []
        outcome = self.state.outcome or Outcome.adopted
        return self.record([report, ev.ProjectClosed(outcome=outcome)], ev.SYSTEM, now)

    @property
    def awaiting_report(self) -> bool:
        s = self.state
        return s.phase == Phase.evaluation and not s.phase_open and s.report is None

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
        assert state.spec is not None
        refused = role_refusal(action, who.role, state.spec.process)
        if refused:
            raise refused
        return who
