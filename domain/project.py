"""The project aggregate: checks a command, emits its events, applies them, and closes a
phase when the rules say so. The workflow is a thin durable shell around it.

Everything here is pure: time comes in as `now`, ids are derived from sequence numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain import commands as cmd
from domain import events as ev
from domain import rules
from domain.models import (
    AnswerKind,
    Contribution,
    Indicator,
    Outcome,
    Participant,
    Phase,
    Plan,
    ProjectSpec,
    Proposal,
    Role,
)
from domain.state import ProjectState, apply


class Rejected(Exception):
    """A refused action: a stable code and a message a person can act on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Alarm:
    at: datetime
    kind: str  # "reminder" or "deadline"


# Who may do what (DESIGN.md, roles), and how to say the action in a refusal.
_ACTIONS: dict[type[cmd.Command], tuple[frozenset[Role], str]] = {
    cmd.AddContribution: (frozenset({Role.partner}), "add a contribution"),
    cmd.SubmitProposal: (frozenset({Role.partner}), "submit a proposal"),
    cmd.AmendProposal: (frozenset({Role.partner}), "amend a proposal"),
    cmd.EndorseProposal: (frozenset({Role.partner}), "endorse a proposal"),
    cmd.SubmitPlan: (frozenset({Role.facilitator}), "submit the plan"),
    cmd.GiveAnswer: (frozenset({Role.partner}), "answer a decision"),
    cmd.StateOutcome: (frozenset({Role.facilitator}), "state the outcome"),
    cmd.ExtendDeadline: (frozenset({Role.facilitator}), "extend a deadline"),
    cmd.ClosePhase: (frozenset({Role.facilitator}), "close a phase"),
    cmd.InviteParticipant: (frozenset({Role.coordinator}), "invite a participant"),
    cmd.RemoveParticipant: (frozenset({Role.coordinator}), "remove a participant"),
    cmd.ReplaceParticipant: (frozenset({Role.coordinator}), "replace a participant"),
    cmd.ResendLink: (frozenset({Role.coordinator}), "re-send a personal link"),
    cmd.UpdateMyContact: (frozenset(Role), "change your contact settings"),
    cmd.NoteProgress: (frozenset({Role.partner}), "note progress"),
    cmd.Assess: (frozenset({Role.partner}), "assess results"),
    cmd.Cancel: (frozenset({Role.coordinator}), "cancel the project"),
}

# Phases in which an action is accepted; actions absent here are accepted in any open project.
_PHASES: dict[type[cmd.Command], tuple[Phase, str]] = {
    cmd.AddContribution: (Phase.diagnosis, "contributions"),
    cmd.SubmitProposal: (Phase.co_design, "proposals"),
    cmd.AmendProposal: (Phase.co_design, "amendments"),
    cmd.EndorseProposal: (Phase.co_design, "endorsements"),
    cmd.SubmitPlan: (Phase.co_design, "plans"),
    cmd.GiveAnswer: (Phase.decision, "answers"),
    cmd.NoteProgress: (Phase.action, "progress notes"),
    cmd.Assess: (Phase.evaluation, "assessments"),
}


def who_may(command_type: type[cmd.Command]) -> tuple[frozenset[Role], str]:
    """The roles that may send this command, and the action in words (for refusals)."""
    return _ACTIONS[command_type]


class Project:
    def __init__(self, events: Iterable[ev.Event] = ()) -> None:
        self.state = ProjectState()
        self.events: list[ev.Event] = []
        for event in events:
            self.events.append(event)
            apply(self.state, event)

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
    def launch(cls, spec: ProjectSpec, now: datetime) -> Project:
        project = cls()
        coordinator = next(p.id for p in spec.participants if p.role == Role.coordinator)
        project.record(
            [
                ev.ProjectLaunched(project=spec),
                ev.PhaseOpened(
                    phase=Phase.diagnosis,
                    round=1,
                    deadline=now + spec.process.diagnosis.duration,
                ),
            ],
            coordinator,
            now,
        )
        return project

    # -- commands ----------------------------------------------------------------------------

    def check(self, command: cmd.Command, now: datetime) -> list[ev.EventData]:
        """The events the command would record; raises Rejected and changes nothing."""
        state = self.state
        actor = self._authorised_actor(command)
        if type(command) in _PHASES:
            phase, what = _PHASES[type(command)]
            if state.phase != phase or not state.phase_open:
                raise Rejected(
                    "wrong_phase",
                    f"{what} are accepted only during the {phase.value} phase; "
                    f"the project is in {self._phase_words()}",
                )
        decide = _DECIDERS[type(command)]
        return decide(self, command, actor, now)

    def execute(self, command: cmd.Command, now: datetime) -> list[ev.Event]:
        payloads = self.check(command, now)
        recorded = self.record(payloads, command.actor.participant_id, now)
        return recorded + self.settle(now)

    def settle(self, now: datetime) -> list[ev.Event]:
        """Close the phase when everyone expected has acted and the process says so; again if
        the next phase opens already complete (an evaluation with no indicator to score)."""
        state = self.state
        recorded: list[ev.Event] = []
        while (
            state.spec is not None
            and rules.is_complete(state)
            and state.spec.process.settings_for(state.phase).close_when_complete
        ):
            recorded += self.record(close_phase(state, now, "complete"), ev.SYSTEM, now)
        return recorded

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

    # -- helpers for deciders ----------------------------------------------------------------

    def _phase_words(self) -> str:
        s = self.state
        if s.is_over or s.phase_open:
            return s.phase.value
        return f"{s.phase.value} (closed, moving on)"

    def _authorised_actor(self, command: cmd.Command) -> Participant:
        state = self.state
        if state.is_over:
            raise Rejected(
                "project_over",
                f"the project is {state.phase.value}; nothing more can be recorded",
            )
        if self.awaiting_report:
            raise Rejected(
                "project_over",
                "the evaluation is closed and the final report is being published; "
                "nothing more can be recorded",
            )
        who = state.participants.get(command.actor.participant_id)
        if who is None:
            raise Rejected("not_a_participant", "you are not a participant of this project")
        if not who.active:
            raise Rejected("not_a_participant", "you were removed from this project")
        if who.token_version != command.actor.token_version:
            raise Rejected(
                "stale_token",
                "this personal link was replaced by a newer one; use the latest link you received",
            )
        roles, action = _ACTIONS[type(command)]
        if (
            isinstance(command, cmd.GiveAnswer)
            and state.spec
            and state.spec.process.facilitator_votes
        ):
            roles = roles | {Role.facilitator}
        if who.role not in roles:
            names = " or ".join(sorted(r.value for r in roles))
            raise Rejected(
                "not_allowed", f"only a {names} may {action}; you take part as {who.role.value}"
            )
        return who

    def _participant(self, participant_id: str) -> Participant:
        p = self.state.participants.get(participant_id)
        if p is None or not p.active:
            raise Rejected(
                "unknown_participant", f"no active participant {participant_id!r} in this project"
            )
        return p

    def _proposal(self, proposal_id: str) -> Proposal:
        p = self.state.proposals.get(proposal_id)
        if p is None:
            known = ", ".join(self.state.proposals) or "none yet"
            raise Rejected(
                "unknown_proposal", f"no proposal {proposal_id!r} in this project (known: {known})"
            )
        return p

    def _next_seq(self) -> int:
        return self.state.last_seq + 1

    def _new_participant(self, draft: cmd.ParticipantDraft) -> Participant:
        pid = draft.id or f"part-{self._next_seq()}"
        if pid in self.state.participants:
            raise Rejected(
                "already_exists", f"a participant {pid!r} already exists in this project"
            )
        return Participant(**draft.model_dump(exclude={"id"}), id=pid)

    def _keeps_roles(self, leaving: Participant) -> None:
        if leaving.role not in (Role.coordinator, Role.facilitator):
            return
        others = [p for p in self.state.active() if p.role == leaving.role and p.id != leaving.id]
        if not others:
            raise Rejected(
                "last_of_role",
                f"{leaving.name} is the project's only {leaving.role.value}; "
                "replace them instead of removing them",
            )


# -- the deciders: one per command, each returns the events to record ---------------------

Decider = Callable[[Project, Any, Participant, datetime], list[ev.EventData]]


def _add_contribution(
    p: Project, c: cmd.AddContribution, actor: Participant, now: datetime
) -> list[ev.EventData]:
    contribution = Contribution(
        id=f"contrib-{p._next_seq()}", participant_id=actor.id, kind=c.kind, text=c.text
    )
    return [ev.ContributionAdded(contribution=contribution)]


def _submit_proposal(
    p: Project, c: cmd.SubmitProposal, actor: Participant, now: datetime
) -> list[ev.EventData]:
    pid = f"prop-{p._next_seq()}"
    indicators = [
        Indicator(id=f"{pid}.i{n}", name=d.name, target=d.target)
        for n, d in enumerate(c.indicators, start=1)
    ]
    proposal = Proposal(
        id=pid,
        author_id=actor.id,
        round=p.state.round,
        title=c.title,
        description=c.description,
        indicators=indicators,
    )
    return [ev.ProposalSubmitted(proposal=proposal)]


def _amend_proposal(
    p: Project, c: cmd.AmendProposal, actor: Participant, now: datetime
) -> list[ev.EventData]:
    p._proposal(c.proposal_id)
    return [ev.ProposalAmended(proposal_id=c.proposal_id, participant_id=actor.id, text=c.text)]


def _endorse_proposal(
    p: Project, c: cmd.EndorseProposal, actor: Participant, now: datetime
) -> list[ev.EventData]:
    proposal = p._proposal(c.proposal_id)
    if proposal.author_id == actor.id:
        raise Rejected("own_proposal", "you cannot endorse your own proposal")
    if actor.id in proposal.endorsements:
        raise Rejected("already_done", "you already endorsed this proposal")
    return [ev.ProposalEndorsed(proposal_id=c.proposal_id, participant_id=actor.id)]


def _submit_plan(
    p: Project, c: cmd.SubmitPlan, actor: Participant, now: datetime
) -> list[ev.EventData]:
    state = p.state
    proposals = [p._proposal(pid) for pid in dict.fromkeys(c.proposal_ids)]
    to_answer = state.objections_to_answer
    for objector, reason in to_answer.items():
        if not c.objection_answers.get(objector, "").strip():
            who = state.participants[objector].name if objector in state.participants else objector
            raise Rejected(
                "objection_unanswered",
                f"the plan must answer the objection of {who} ({objector}): {reason!r}",
            )
    unknown = sorted(set(c.objection_answers) - set(to_answer))
    if unknown:
        raise Rejected(
            "unknown_objection",
            f"there is no objection to answer from {', '.join(unknown)} "
            f"(objections to answer: {', '.join(to_answer) or 'none'})",
        )
    plan = Plan(
        round=state.round,
        proposal_ids=[pr.id for pr in proposals],
        summary=c.summary,
        # Copied and frozen: later amendments to a proposal do not change what was decided.
        indicators=[i for pr in proposals for i in pr.indicators],
        objection_answers=c.objection_answers,
    )
    return [ev.PlanSubmitted(plan=plan), *close_phase_after_plan(state, now)]


def _give_answer(
    p: Project, c: cmd.GiveAnswer, actor: Participant, now: datetime
) -> list[ev.EventData]:
    reason = (c.reason or "").strip() or None
    if c.kind == AnswerKind.object and reason is None:
        raise Rejected(
            "reason_required", "an objection needs a reason, so that the next round can answer it"
        )
    return [ev.AnswerGiven(participant_id=actor.id, kind=c.kind, reason=reason)]


def _state_outcome(
    p: Project, c: cmd.StateOutcome, actor: Participant, now: datetime
) -> list[ev.EventData]:
    if not p.state.decisions:
        raise Rejected(
            "wrong_phase",
            f"the outcome can be stated only after a decision; the project is in "
            f"{p._phase_words()}",
        )
    return [ev.OutcomeStated(text=c.text)]


def _extend_deadline(
    p: Project, c: cmd.ExtendDeadline, actor: Participant, now: datetime
) -> list[ev.EventData]:
    state = p.state
    if not c.reason.strip():
        raise Rejected("reason_required", "a deadline extension needs a reason for the partners")
    if not state.phase_open or state.deadline is None:
        raise Rejected(
            "wrong_phase",
            f"no open phase has a deadline to extend; the project is in {p._phase_words()}",
        )
    deadline = c.deadline if c.deadline.tzinfo else c.deadline.replace(tzinfo=now.tzinfo)
    if deadline <= state.deadline or deadline <= now:
        raise Rejected(
            "deadline_not_later",
            f"the new deadline must be later than the current one ({state.deadline.isoformat()})",
        )
    if deadline - now > cmd.MAX_EXTENSION:
        raise Rejected("deadline_too_far", "a deadline can be set at most one year ahead")
    return [ev.DeadlineExtended(phase=state.phase, deadline=deadline, reason=c.reason.strip())]


def _close_phase(
    p: Project, c: cmd.ClosePhase, actor: Participant, now: datetime
) -> list[ev.EventData]:
    state = p.state
    if not state.phase_open:
        raise Rejected("wrong_phase", f"no phase is open; the project is in {p._phase_words()}")
    if state.phase == Phase.co_design:
        raise Rejected(
            "plan_required",
            "co_design closes when the facilitator submits the plan; submit the plan to open "
            "the decision",
        )
    return close_phase(state, now, "facilitator")


def _invite(
    p: Project, c: cmd.InviteParticipant, actor: Participant, now: datetime
) -> list[ev.EventData]:
    return [ev.ParticipantInvited(participant=p._new_participant(c.participant))]


def _remove(
    p: Project, c: cmd.RemoveParticipant, actor: Participant, now: datetime
) -> list[ev.EventData]:
    leaving = p._participant(c.participant_id)
    p._keeps_roles(leaving)
    return [ev.ParticipantRemoved(participant_id=leaving.id, reason=c.reason)]


def _replace(
    p: Project, c: cmd.ReplaceParticipant, actor: Participant, now: datetime
) -> list[ev.EventData]:
    leaving = p._participant(c.participant_id)
    if c.replacement.role != leaving.role:
        p._keeps_roles(leaving)
    newcomer = p._new_participant(c.replacement)
    return [
        ev.ParticipantRemoved(participant_id=leaving.id, reason=c.reason or "replaced"),
        ev.ParticipantInvited(participant=newcomer, replaces=leaving.id),
    ]


def _resend_link(
    p: Project, c: cmd.ResendLink, actor: Participant, now: datetime
) -> list[ev.EventData]:
    who = p._participant(c.participant_id)
    return [ev.LinkResent(participant_id=who.id, token_version=who.token_version + 1)]


def _update_contact(
    p: Project, c: cmd.UpdateMyContact, actor: Participant, now: datetime
) -> list[ev.EventData]:
    # None leaves a setting as it is; an empty email or webhook clears it.
    given = c.model_dump(exclude={"actor"}, mode="json")
    changes = {k: (v or None) for k, v in given.items() if v is not None}
    if not changes:
        raise Rejected(
            "nothing_to_change", "say which of email, webhook_url, language or time_zone to change"
        )
    if "time_zone" in changes and not changes["time_zone"]:
        raise Rejected("invalid_time_zone", "a time zone cannot be empty, e.g. Europe/Paris")
    return [ev.ParticipantUpdated(participant_id=actor.id, changes=changes)]


def _note_progress(
    p: Project, c: cmd.NoteProgress, actor: Participant, now: datetime
) -> list[ev.EventData]:
    return [ev.ProgressNoted(participant_id=actor.id, text=c.text)]


def _assess(p: Project, c: cmd.Assess, actor: Participant, now: datetime) -> list[ev.EventData]:
    known = rules.indicator_ids(p.state)
    for score in c.scores:
        if score.indicator_id not in known:
            raise Rejected(
                "unknown_indicator",
                f"no indicator {score.indicator_id!r} in the adopted plan "
                f"(indicators: {', '.join(known) or 'none'})",
            )
    return [
        ev.AssessmentGiven(
            participant_id=actor.id,
            indicator_id=s.indicator_id,
            score=s.score,
            comment=s.comment,
        )
        for s in c.scores
    ]


def _cancel(p: Project, c: cmd.Cancel, actor: Participant, now: datetime) -> list[ev.EventData]:
    if not c.reason.strip():
        raise Rejected("reason_required", "say why the project is cancelled; partners will read it")
    return [ev.ProjectCancelled(reason=c.reason.strip())]


_DECIDERS: dict[type[cmd.Command], Decider] = {
    cmd.AddContribution: _add_contribution,
    cmd.SubmitProposal: _submit_proposal,
    cmd.AmendProposal: _amend_proposal,
    cmd.EndorseProposal: _endorse_proposal,
    cmd.SubmitPlan: _submit_plan,
    cmd.GiveAnswer: _give_answer,
    cmd.StateOutcome: _state_outcome,
    cmd.ExtendDeadline: _extend_deadline,
    cmd.ClosePhase: _close_phase,
    cmd.InviteParticipant: _invite,
    cmd.RemoveParticipant: _remove,
    cmd.ReplaceParticipant: _replace,
    cmd.ResendLink: _resend_link,
    cmd.UpdateMyContact: _update_contact,
    cmd.NoteProgress: _note_progress,
    cmd.Assess: _assess,
    cmd.Cancel: _cancel,
}


# -- what closing a phase does (DESIGN.md's phase table) ------------------------------------


def _open(state: ProjectState, phase: Phase, round_: int, now: datetime) -> ev.PhaseOpened:
    assert state.spec is not None
    duration = state.spec.process.settings_for(phase).duration
    return ev.PhaseOpened(phase=phase, round=round_, deadline=now + duration)


def close_phase_after_plan(state: ProjectState, now: datetime) -> list[ev.EventData]:
    return [
        ev.PhaseClosed(phase=Phase.co_design, round=state.round, cause="plan_submitted"),
        _open(state, Phase.decision, state.round, now),
    ]


def close_phase(state: ProjectState, now: datetime, cause: str) -> list[ev.EventData]:
    assert state.spec is not None
    process = state.spec.process
    closed = ev.PhaseClosed(phase=state.phase, round=state.round, cause=cause)
    match state.phase:
        case Phase.diagnosis:
            return [closed, _open(state, Phase.co_design, state.round, now)]
        case Phase.decision:
            outcome, tally = rules.decision(state)
            decision = ev.DecisionReached(
                round=state.round,
                rule=process.rule,
                tally=tally,
                outcome=outcome,
                objections=rules.standing_objections(state),
            )
            if outcome == Outcome.adopted:
                skip_action = process.action.duration.total_seconds() == 0
                after = Phase.evaluation if skip_action else Phase.action
                return [closed, decision, _open(state, after, state.round, now)]
            if state.round < process.max_rounds:
                return [closed, decision, _open(state, Phase.co_design, state.round + 1, now)]
            return [closed, decision, ev.ProjectClosed(outcome=Outcome.not_adopted)]
        case Phase.action:
            return [closed, _open(state, Phase.evaluation, state.round, now)]
        case Phase.evaluation:
            # The workflow publishes the report, then records report_published and the close.
            return [closed]
    raise ValueError(f"the {state.phase.value} phase does not close this way")
