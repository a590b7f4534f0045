"""The project's state: a fold of its events.

`apply` never fails and never does I/O, so replaying an old log always works. It updates the
state in place and returns it (a project folds thousands of events; copying each time would
cost more than the fold itself); `fold` always starts from a fresh state.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, Field, PrivateAttr, model_validator

from domain import events as ev
from domain import templates
from domain.models import (
    Amendment,
    Answer,
    Approval,
    Assessment,
    Charter,
    CharterAmendment,
    ConcernToCheck,
    Contribution,
    DecisionRule,
    Definition,
    Delegation,
    Judgement,
    Newcomer,
    ObjectionJudgement,
    Outcome,
    Participant,
    Phase,
    PhasePeriod,
    Plan,
    ProgressNote,
    ProjectSpec,
    Proposal,
    ReopenPoint,
    ReviewAnswer,
    RuleInForce,
    Statement,
    Step,
    Template,
    Term,
    TermComment,
)


class ProjectState(BaseModel):
    spec: ProjectSpec | None = None
    # The rules the project runs under (ProjectLaunched.rules; rules.RULES is the latest).
    rules_version: int = 1
    launched_at: datetime | None = None
    participants: dict[str, Participant] = Field(default_factory=dict)
    phase: Phase = Phase.launched
    # The template's step now (its id); the phase is its kind.
    step: str = ""
    phase_open: bool = False
    round: int = 0
    deadline: datetime | None = None
    # The facilitator was already told about the current deadline; do not fire it again.
    escalated: bool = False
    # Reminder offsets still to send before the current deadline, largest (earliest) first.
    reminders_pending: list[timedelta] = Field(default_factory=list)
    contributions: list[Contribution] = Field(default_factory=list)
    proposals: dict[str, Proposal] = Field(default_factory=dict)
    plan: Plan | None = None
    # Keyed "approval/participant_id": a partner may approve in two approvals at once.
    answers: dict[str, Answer] = Field(default_factory=dict)
    # Objections that sent the previous round back: the next plan answers each of them.
    objections_to_answer: dict[str, str] = Field(default_factory=dict)
    # The facilitator's judgements of the open decision's objections, keyed as answers.
    judgements: dict[str, ObjectionJudgement] = Field(default_factory=dict)
    # Objections judged concerns in adopted decisions: points for the evaluation to check.
    concerns_to_check: list[ConcernToCheck] = Field(default_factory=list)
    # A step closed by hand before its deadline, as it stood: the facilitator may reopen it.
    reopenable: ReopenPoint | None = None
    # Steps' durations the coordinator changed after the launch (steps not opened yet), layered
    # on the project's copy of its template.
    duration_overrides: dict[str, timedelta] = Field(default_factory=dict)
    # Answers delegated, in force or ended (kept for the record).
    delegations: dict[str, Delegation] = Field(default_factory=dict)
    # Weighted colleges' weights once one was emptied (approval -> college -> "1/2").
    college_weights: dict[str, dict[str, str]] = Field(default_factory=dict)
    decisions: list[ev.DecisionReached] = Field(default_factory=list)
    adopted_plan: Plan | None = None
    # The adopted decision's review date (set with its plan or its outcome), if any.
    review_on: datetime | None = None
    # The project reached its review step and waits for the review date (its deadline).
    review_waiting: bool = False
    # Every participant was told the review is coming.
    review_noticed: bool = False
    # The open review's answers, by participant.
    review_answers: dict[str, ReviewAnswer] = Field(default_factory=dict)
    reviews: list[ev.DecisionReviewed] = Field(default_factory=list)
    # A review sent the decision back to co-design: the adopted plan stays in force until a
    # new one is adopted; the rounds of this new cycle count from `cycle_from`; the plan in
    # force is the first draft.
    amending: bool = False
    cycle_from: int = 1
    draft_plan: Plan | None = None
    # The plan in force while it is amended (a template may adopt the amended plan in two
    # decisions: until the last, the one in force stands).
    plan_in_force: Plan | None = None
    # Rounds whose amendment was not adopted (the decision in force stayed).
    amendments_dropped: list[int] = Field(default_factory=list)
    outcome: Outcome | None = None
    # Notifications some reader did not get (each notification_failed event): ops look.
    notifications_failed: int = 0
    outcome_statements: list[str] = Field(default_factory=list)
    # The same statements, each with its round and date (the report shows them per round).
    statements: list[Statement] = Field(default_factory=list)
    # The facilitator concluded the evaluation now open (rules version 2).
    concluded: bool = False
    conclusion_requested: bool = False
    # For the record: every opening of a phase, every plan submitted, when each round decided.
    periods: list[PhasePeriod] = Field(default_factory=list)
    plans: list[Plan] = Field(default_factory=list)
    decided_at: dict[int, datetime] = Field(default_factory=dict)
    progress: list[ProgressNote] = Field(default_factory=list)
    # Who answered the cooperation questionnaire (not what: that is kept apart).
    cooperation_answered: list[str] = Field(default_factory=list)
    # The project's common language, by term id.
    glossary: dict[str, Term] = Field(default_factory=dict)
    # The partnership charter: its versions, notes, the one adopted and its signatures.
    charter: Charter = Field(default_factory=Charter)
    # The open charter step waits for the facilitator's next version.
    charter_awaiting: bool = False
    # The objections that sent a charter version back: the next version answers each.
    charter_objections: dict[str, str] = Field(default_factory=dict)
    # Organisations proposed to join while the charter says the partners consent first.
    newcomers: dict[str, Newcomer] = Field(default_factory=dict)
    # Partners who joined after the charter's adoption and have not consented to it yet.
    charter_to_sign: list[str] = Field(default_factory=list)
    # An amendment of the charter being answered: the step under way is suspended.
    amendment: CharterAmendment | None = None
    # By approval id: the rule and quorum an open decision's approvals decide by (fixed when
    # it opened: amending the charter never changes a decision already open).
    rules_in_force: dict[str, RuleInForce] = Field(default_factory=dict)
    # Keyed "participant_id/indicator_id": a later score replaces an earlier one.
    assessments: dict[str, Assessment] = Field(default_factory=dict)
    report: ev.ReportPublished | None = None
    cancel_reason: str | None = None
    # Participants whose data was erased, and those of them whose texts read "[retiré]".
    erased: list[str] = Field(default_factory=list)
    redacted: list[str] = Field(default_factory=list)
    last_seq: int = 0
    _template: Template | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _carried_before_templates(self) -> ProjectState:
        # Carried across continue-as-new before templates: no step (its id was its phase's,
        # every 1.x step being co-construction's), answers keyed by participant (every one
        # the partners' approval's).
        if not self.step and self.phase not in (Phase.launched, Phase.closed, Phase.cancelled):
            self.step = self.phase.value
        if any("/" not in key for key in self.answers):
            self.answers = {
                answer_key(
                    a.approval or templates.PARTNERS_APPROVAL, a.participant_id
                ): a.model_copy(update={"approval": a.approval or templates.PARTNERS_APPROVAL})
                for a in self.answers.values()
            }
        return self

    @property
    def template(self) -> Template:
        """The template the project runs: its own copy, or (launched before templates)
        co-construction v1 with its process's settings."""
        if self._template is None:
            assert self.spec is not None, "a project has a template once launched"
            launched = self.spec.template
            self._template = templates.with_durations(
                launched.content if launched else templates.co_construction(self.spec.process),
                self.duration_overrides,
            )
        return self._template

    def current_step(self) -> Step | None:
        if not self.step:
            return None
        return self.template.step(self.step)

    @property
    def keeps_its_date(self) -> bool:
        """A pause, or a review waiting for its date: a date, not a step at work (an amendment
        of the charter does not suspend it nor move it)."""
        return self.phase == Phase.wait or self.review_waiting

    @property
    def is_over(self) -> bool:
        return self.phase in (Phase.closed, Phase.cancelled)

    def active(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.active]


def answer_key(approval: str, participant_id: str) -> str:
    return f"{approval}/{participant_id}"


def step_id(phase: Phase, step: str | None) -> str:
    """A recorded step's id: named where it is not its kind's."""
    return step or phase.value


def redact_state(state: ProjectState, pid: str) -> None:
    """What an erased participant wrote, as every view, export and report shows it now.
    Copies, never the recorded events' own objects: the log stays as recorded."""
    gone = ev.REDACTED
    state.contributions = [
        c.model_copy(update={"text": gone}) if c.participant_id == pid else c
        for c in state.contributions
    ]
    state.proposals = {
        k: p.model_copy(update={"title": gone, "description": gone}) if p.author_id == pid else p
        for k, p in state.proposals.items()
    }
    for key, answer in list(state.answers.items()):
        # A delegated answer's reason is its delegate's words.
        if (answer.by or answer.participant_id) == pid and answer.reason:
            state.answers[key] = answer.model_copy(update={"reason": gone})
    state.concerns_to_check = [
        c.model_copy(update={"objection": gone}) if c.participant_id == pid else c
        for c in state.concerns_to_check
    ]
    state.proposals = {
        k: p.model_copy(update={"withdrawn_reason": gone})
        if p.author_id == pid and p.withdrawn_reason
        else p
        for k, p in state.proposals.items()
    }
    if state.reopenable is not None:
        state.reopenable = state.reopenable.model_copy(
            update={
                "answers": {
                    k: a.model_copy(update={"reason": gone})
                    if (a.by or a.participant_id) == pid and a.reason
                    else a
                    for k, a in state.reopenable.answers.items()
                },
                "objections_to_answer": {
                    k: gone if k == pid else v
                    for k, v in state.reopenable.objections_to_answer.items()
                },
            }
        )
    state.progress = [
        n.model_copy(update={"text": gone}) if n.participant_id == pid else n
        for n in state.progress
    ]
    state.reviews = [redacted_review(r, {pid}) for r in state.reviews]
    if pid in state.review_answers and state.review_answers[pid].reason:
        state.review_answers[pid] = state.review_answers[pid].model_copy(update={"reason": gone})
    state.assessments = {
        k: a.model_copy(update={"comment": gone}) if a.participant_id == pid and a.comment else a
        for k, a in state.assessments.items()
    }
    state.decisions = [redacted_decision(d, {pid}) for d in state.decisions]
    state.charter.notes = [
        n.model_copy(update={"text": gone}) if n.participant_id == pid else n
        for n in state.charter.notes
    ]
    for newcomer in state.newcomers.values():
        if pid in newcomer.reasons:
            newcomer.reasons = {**newcomer.reasons, pid: gone}
    if state.amendment is not None and pid in state.amendment.reasons:
        state.amendment.reasons = {**state.amendment.reasons, pid: gone}
    if pid in state.charter_objections:
        state.charter_objections = {**state.charter_objections, pid: gone}
    state.charter.versions = [
        v.model_copy(update={"objections": {**v.objections, pid: gone}})
        if pid in v.objections
        else v
        for v in state.charter.versions
    ]
    for term in state.glossary.values():
        term.definitions = [
            d.model_copy(update={"text": gone}) if d.participant_id == pid else d
            for d in term.definitions
        ]
        term.comments = [
            c.model_copy(update={"text": gone}) if c.participant_id == pid else c
            for c in term.comments
        ]
    if pid in state.objections_to_answer:
        state.objections_to_answer = {**state.objections_to_answer, pid: gone}


def redacted_decision(data: ev.DecisionReached, erased: set[str]) -> ev.DecisionReached:
    """A decision as it reads once these participants' texts were erased (the same object
    when it quotes none of them)."""

    # A delegated objection's words are its delegate's.
    authors = {k: v for r in data.approvals for k, v in r.delegated.items()}

    def hidden(objections: dict[str, str]) -> dict[str, str]:
        return {k: ev.REDACTED if authors.get(k, k) in erased else v for k, v in objections.items()}

    quoted = set(data.objections) | set(data.concerns)
    quoted |= {pid for r in data.approvals for pid in r.objections}
    if not erased & {authors.get(k, k) for k in quoted}:
        return data
    return data.model_copy(
        update={
            "objections": hidden(data.objections),
            "concerns": hidden(data.concerns),
            "approvals": [
                r.model_copy(update={"objections": hidden(r.objections)}) for r in data.approvals
            ],
        }
    )


def redacted_review(data: ev.DecisionReviewed, erased: set[str]) -> ev.DecisionReviewed:
    """A review's result as it reads once these participants' reasons were erased."""
    if not any(a.participant_id in erased and a.reason for a in data.answers):
        return data
    answers = [
        a.model_copy(update={"reason": ev.REDACTED})
        if a.participant_id in erased and a.reason
        else a
        for a in data.answers
    ]
    return data.model_copy(update={"answers": answers})


def redacted_event(event: ev.Event, redacted: Iterable[str]) -> ev.Event:
    """An event as it reads once its author's texts were erased."""
    erased = set(redacted)
    if not erased:
        return event
    gone = ev.REDACTED
    data = event.data
    match data:
        case ev.ContributionAdded(contribution=c) if c.participant_id in erased:
            data = data.model_copy(update={"contribution": c.model_copy(update={"text": gone})})
        case ev.ProposalSubmitted(proposal=p) if p.author_id in erased:
            data = data.model_copy(
                update={"proposal": p.model_copy(update={"title": gone, "description": gone})}
            )
        case ev.ProposalAmended(participant_id=pid) if pid in erased:
            data = data.model_copy(update={"text": gone})
        case ev.AnswerGiven(participant_id=pid, reason=reason, by=by) if (
            by or pid
        ) in erased and reason:
            data = data.model_copy(update={"reason": gone})
        case ev.ProposalWithdrawn(participant_id=pid, reason=reason) if pid in erased and reason:
            data = data.model_copy(update={"reason": gone})
        case ev.ReviewAnswered(participant_id=pid, reason=reason) if pid in erased and reason:
            data = data.model_copy(update={"reason": gone})
        case ev.DecisionReviewed():
            reviewed = redacted_review(data, erased)
            if reviewed is data:
                return event
            data = reviewed
        case ev.ProgressNoted(participant_id=pid) if pid in erased:
            data = data.model_copy(update={"text": gone})
        case ev.TermProposed(participant_id=pid) | ev.DefinitionProposed(participant_id=pid) if (
            pid in erased
        ):
            data = data.model_copy(update={"definition": gone})
        case ev.TermCommented(participant_id=pid) if pid in erased:
            data = data.model_copy(update={"text": gone})
        case ev.NewcomerAnswered(participant_id=pid, reason=reason) if pid in erased and reason:
            data = data.model_copy(update={"reason": gone})
        case ev.CharterAmendmentAnswered(participant_id=pid, reason=reason) if (
            pid in erased and reason
        ):
            data = data.model_copy(update={"reason": gone})
        case ev.CharterAmendmentClosed(objections=objections) if erased & set(objections):
            hide = {k: gone if k in erased else v for k, v in objections.items()}
            data = data.model_copy(update={"objections": hide})
        case ev.CharterNoted(note=note) if note.participant_id in erased:
            data = data.model_copy(update={"note": note.model_copy(update={"text": gone})})
        case ev.CharterReviewed(objections=objections) if erased & set(objections):
            hide = {k: gone if k in erased else v for k, v in objections.items()}
            approvals = [
                r.model_copy(
                    update={
                        "objections": {
                            k: gone if k in erased else v for k, v in r.objections.items()
                        }
                    }
                )
                for r in data.approvals
            ]
            data = data.model_copy(update={"objections": hide, "approvals": approvals})
        case ev.AssessmentGiven(participant_id=pid, comment=comment) if pid in erased and comment:
            data = data.model_copy(update={"comment": gone})
        case ev.DecisionReached():
            redacted = redacted_decision(data, erased)
            if redacted is data:
                return event
            data = redacted
        case _:
            return event
    return event.model_copy(update={"data": data})


def _pending_reminders(
    offsets: Iterable[timedelta], deadline: datetime, now: datetime
) -> list[timedelta]:
    # A reminder whose moment has already passed is not sent late: it would arrive out of turn.
    return sorted((o for o in offsets if deadline - o > now), reverse=True)


# Someone acting in a step: the step closed before it can no longer be reopened.
ACTED = frozenset({
    "contribution_added", "proposal_submitted", "proposal_amended", "proposal_endorsed",
    "proposal_withdrawn", "plan_submitted", "answer_given", "progress_noted",
    "assessment_given", "outcome_stated", "objection_judged", "cooperation_answered",
    "charter_published", "charter_noted", "review_answered",
})  # fmt: skip


def apply(state: ProjectState, event: ev.Event) -> ProjectState:
    data = event.data
    state.last_seq = event.seq
    if state.reopenable is not None and data.type in ACTED:
        state.reopenable = None
    match data:
        case ev.ProjectLaunched(project=spec, rules=version):
            state.spec = spec
            state.rules_version = version
            state.launched_at = event.at
            state.participants = {p.id: p.model_copy() for p in spec.participants}
            state.charter.agreed = spec.charter_agreed
            # The common language it starts from: validated already.
            for n, entry in enumerate(spec.glossary, start=1):
                tid = f"term-0.{n}"
                state.glossary[tid] = Term(
                    id=tid,
                    term=entry.term,
                    proposed_by="",
                    definitions=[
                        Definition(id=f"{tid}.d1", participant_id="", text=entry.definition)
                    ],
                    validated=f"{tid}.d1",
                )
        case ev.ParticipantInvited(participant=p):
            state.participants[p.id] = p.model_copy()
            if p.id in state.newcomers:  # the partners consented
                state.newcomers[p.id].status = "joined"
            if state.charter.number_in_force is not None and p.role == "partner":
                state.charter_to_sign.append(p.id)  # asked to consent to the charter in force
        case ev.ParticipantRemoved(participant_id=pid):
            if pid in state.participants:
                state.participants[pid].active = False
            # Removing a partner discards its answers (DESIGN: decision rules), and those it
            # gave for others as their delegate.
            for key in [k for k, a in state.answers.items() if pid in (a.participant_id, a.by)]:
                del state.answers[key]
            state.review_answers.pop(pid, None)
        case ev.ParticipantErased(participant_id=pid, texts_redacted=redact):
            if pid not in state.erased:
                state.erased.append(pid)
            if redact and pid not in state.redacted:
                state.redacted.append(pid)
                redact_state(state, pid)
        case ev.ParticipantUpdated(participant_id=pid, changes=changes):
            if pid in state.participants:
                current = state.participants[pid].model_dump()
                state.participants[pid] = Participant.model_validate({**current, **changes})
        case ev.LinkResent(participant_id=pid, token_version=version):
            if pid in state.participants:
                state.participants[pid].token_version = version
        case ev.PhaseOpened(phase=phase, round=round_, deadline=deadline, step=named):
            state.phase = phase
            state.step = step_id(phase, named)
            state.round = round_
            state.phase_open = True
            state.deadline = deadline
            state.escalated = False
            state.review_waiting = False
            offsets = state.template.step(state.step).reminders
            state.reminders_pending = _pending_reminders(offsets, deadline, event.at)
            if phase in (Phase.co_design, Phase.decision, Phase.charter):
                state.answers = {}
                state.judgements = {}
            if phase == Phase.charter:
                # Its first version (or the next, after one was sent back) is to be written.
                state.charter_awaiting = True
            if phase == Phase.decision:
                state.rules_in_force = rules_in_force(state, state.template.step(state.step))
            if phase == Phase.review:
                review = templates.review_approval(state.template.step(state.step))
                state.rules_in_force = {}
                state.rules_in_force = {review.id: rule_for(state, review)}
                state.review_answers = {}
            # A plan is put to the decisions of its round: co-design, or a new round, starts
            # without one.
            if phase == Phase.co_design or (state.plan is not None and state.plan.round != round_):
                state.plan = None
            state.concluded = state.conclusion_requested = False
            state.periods.append(
                PhasePeriod(
                    phase=phase, round=round_, opened_at=event.at, deadline=deadline, step=named
                )
            )
        case ev.PhaseClosed(cause=cause):
            state.reopenable = None
            if cause == "facilitator" and state.deadline is not None and event.at < state.deadline:
                state.reopenable = ReopenPoint(
                    step=state.step, phase=state.phase, round=state.round, closed_at=event.at,
                    deadline=state.deadline, answers=dict(state.answers),
                    judgements=dict(state.judgements), plan=state.plan,
                    objections_to_answer=dict(state.objections_to_answer),
                    adopted_plan=state.adopted_plan, outcome=state.outcome,
                    decisions=len(state.decisions), concerns=len(state.concerns_to_check),
                    rules_in_force=dict(state.rules_in_force),
                    amending=state.amending, cycle_from=state.cycle_from,
                    draft_plan=state.draft_plan, plan_in_force=state.plan_in_force,
                    review_on=state.review_on,
                )  # fmt: skip
            state.phase_open = False
            state.deadline = None
            state.reminders_pending = []
            if state.periods and state.periods[-1].closed_at is None:
                state.periods[-1].closed_at = event.at
                state.periods[-1].cause = cause
        case ev.ContributionAdded(contribution=c):
            state.contributions.append(c)
        case ev.ProposalSubmitted(proposal=p):
            # A deep copy: amendments and endorsements grow here, never in the logged event.
            state.proposals[p.id] = p.model_copy(deep=True)
        case ev.ProposalAmended(proposal_id=prop, participant_id=pid, text=text):
            if prop in state.proposals:
                state.proposals[prop].amendments.append(Amendment(participant_id=pid, text=text))
        case ev.StepReopened(deadline=deadline, voided=voided):
            point = state.reopenable
            if point is not None:
                if state.periods and state.periods[-1].closed_at is None:
                    state.periods[-1].closed_at = event.at
                    state.periods[-1].cause = "reopened"
                if voided:
                    state.decisions = [
                        d.model_copy(update={"voided": True}) if n >= point.decisions else d
                        for n, d in enumerate(state.decisions)
                    ]
                state.concerns_to_check = state.concerns_to_check[: point.concerns]
                state.phase, state.step, state.round = point.phase, point.step, point.round
                # Answers of partners removed since the close stay gone.
                state.answers = {
                    k: a
                    for k, a in point.answers.items()
                    if all(
                        (who := state.participants.get(pid)) is not None and who.active
                        for pid in (a.participant_id, a.by or a.participant_id)
                    )
                }
                state.judgements = dict(point.judgements)
                state.plan = point.plan
                state.objections_to_answer = dict(point.objections_to_answer)
                state.adopted_plan, state.outcome = point.adopted_plan, point.outcome
                state.rules_in_force = dict(point.rules_in_force)
                # A review the close led to is not waited for any more; an amendment under way
                # and the review date are as they were.
                state.review_waiting = state.review_noticed = False
                state.review_on = point.review_on
                state.amending, state.cycle_from = point.amending, point.cycle_from
                state.draft_plan, state.plan_in_force = point.draft_plan, point.plan_in_force
                state.phase_open = True
                state.periods.append(
                    PhasePeriod(phase=point.phase, round=point.round,
                                step=None if point.step == point.phase.value else point.step,
                                opened_at=event.at, deadline=deadline)
                )  # fmt: skip
                state.reopenable = None
                _moved(state, deadline, event.at)
        case ev.ProjectEdited(title=title, description=description, durations=durations):
            if state.spec is not None:
                changes = {k: v for k, v in (("title", title), ("description", description))
                           if v is not None}  # fmt: skip
                if changes:
                    state.spec = state.spec.model_copy(update=changes)
            if durations:
                state.duration_overrides = {**state.duration_overrides, **durations}
                state._template = None  # read again, with the new durations
        case ev.ProposalWithdrawn(proposal_id=prop, reason=why):
            if prop in state.proposals:
                state.proposals[prop] = state.proposals[prop].model_copy(
                    update={"withdrawn": True, "withdrawn_reason": why}
                )
        case ev.ProposalEndorsed(proposal_id=prop, participant_id=pid):
            endorsements = state.proposals[prop].endorsements if prop in state.proposals else None
            if endorsements is not None and pid not in endorsements:
                endorsements.append(pid)
        case ev.PlanSubmitted(plan=plan, deadline=deadline):
            state.plan = plan
            state.plans.append(plan)
            state.draft_plan = None
            if deadline is not None:
                _moved(state, deadline, event.at)
        case ev.AnswerGiven(participant_id=pid, kind=kind, reason=reason, approval=approval):
            approval = approval or _only_approval(state)
            state.answers[answer_key(approval, pid)] = Answer(
                participant_id=pid, kind=kind, reason=reason, approval=approval, at=event.at,
                by=data.by, mail=data.mail,
            )  # fmt: skip
            # A new answer is judged afresh, if it is still an objection.
            state.judgements.pop(answer_key(approval, pid), None)
        case ev.AnswerDelegated(delegation=given):
            state.delegations[given.id] = given.model_copy(update={"given_at": event.at})
        case ev.DelegationEnded(delegation_id=did, why=why):
            if did in state.delegations:
                state.delegations[did] = state.delegations[did].model_copy(
                    update={"ended": why, "ended_at": event.at}
                )
        case ev.CollegeEmptied(approval=approval, weights=weights):
            state.college_weights = {**state.college_weights, approval: dict(weights)}
        case ev.ObjectionJudged(participant_id=pid, approval=approval, judgement=judged):
            approval = approval or _only_approval(state)
            state.judgements[answer_key(approval, pid)] = judged.model_copy(update={"at": event.at})
        case ev.DecisionReached(outcome=outcome, objections=objections, round=round_):
            state.decisions.append(data)
            state.decided_at[round_] = event.at
            if outcome == Outcome.adopted:
                state.adopted_plan = state.plan
                state.review_on = state.plan.review_on if state.plan is not None else None
                state.objections_to_answer = {}
                for r in data.approvals:
                    for pid, reason in r.objections.items():
                        judged = r.judgements.get(pid)
                        if judged is not None and judged.judgement == Judgement.concern:
                            state.concerns_to_check.append(
                                ConcernToCheck(round=round_, participant_id=pid,
                                               objection=reason, reason=judged.reason)
                            )  # fmt: skip
                # Adopted for good once no decision on the same plan follows.
                if not templates.decided_again(state.template, state.step):
                    state.outcome = Outcome.adopted
                    if state.amending:  # the amended plan replaces the one in force
                        state.amending = False
                        state.plan_in_force = state.draft_plan = None
                        state.assessments = {}  # its own results are to be assessed
            else:
                if state.amending:  # the plan adopted before stays in force
                    state.adopted_plan = state.plan_in_force
                    state.outcome = Outcome.adopted
                else:
                    state.adopted_plan = None
                    state.outcome = None
                # Concerns are recorded, not answered: the next plan answers the others.
                state.objections_to_answer = {
                    pid: reason for pid, reason in objections.items() if pid not in data.concerns
                }
        case ev.OutcomeStated(text=text, review_on=review_on):
            if review_on is not None:
                state.review_on = review_on
                if state.review_waiting:  # the review waits for its new date
                    state.deadline = review_on
                    state.review_noticed = False
                    if state.periods and state.periods[-1].closed_at is None:
                        state.periods[-1].deadline = review_on
            state.outcome_statements.append(text)
            # It speaks of the latest decision (a round not adopted, or the adopted plan).
            round_ = state.decisions[-1].round if state.decisions else state.round
            concludes = state.phase == Phase.evaluation and state.phase_open
            state.statements.append(
                Statement(round=round_, at=event.at, text=text, conclusion=concludes)
            )
            state.concluded = state.concluded or concludes
        case ev.ConclusionRequested():
            state.conclusion_requested = True
        case ev.ReviewScheduled(round=round_, step=named, opens_at=opens_at):
            state.phase = Phase.review
            state.step = step_id(Phase.review, named)
            state.round = round_
            state.phase_open = True
            state.deadline = opens_at
            state.escalated = False
            state.reminders_pending = []
            state.review_waiting = True
            state.review_noticed = False
            state.review_answers = {}
        case ev.ReviewNoticeSent():
            state.review_noticed = True
        case ev.ReviewAnswered(participant_id=pid, choice=choice, reason=why, mail=mail):
            state.review_answers[pid] = ReviewAnswer(
                participant_id=pid, choice=choice, reason=why, at=event.at, mail=mail
            )
        case ev.DecisionReviewed(outcome=outcome, round=round_):
            state.reviews.append(data)
            state.review_on = None  # used: a later review counts from its own date
            if outcome == "amend":
                state.amending = True
                state.cycle_from = round_ + 1
                state.draft_plan = state.plan_in_force = state.adopted_plan
        case ev.AmendmentDropped(round=round_):
            state.amending = False
            state.draft_plan = state.plan_in_force = None
            state.amendments_dropped.append(round_)
        case ev.DeadlineExtended(deadline=deadline):
            _moved(state, deadline, event.at)
        case ev.ReminderSent(offset=offset):
            state.reminders_pending = [o for o in state.reminders_pending if o != offset]
        case ev.DeadlineEscalated():
            state.escalated = True
            # Reminders of a passed deadline are moot; an extension arms them again.
            state.reminders_pending = []
        case ev.CharterPublished(version=version, deadline=moved):
            state.charter.versions.append(version)
            state.charter_awaiting = False
            state.charter_objections = {}
            state.answers = {}  # a new version: every partner answers it
            if moved is not None:
                _moved(state, moved, event.at)
        case ev.CharterNoted(note=note):
            state.charter.notes.append(note)
        case ev.CharterReviewed(objections=objections):
            # Kept on the version, for the record: the next version answers each.
            last = state.charter.versions[-1]
            state.charter.versions[-1] = last.model_copy(update={"objections": dict(objections)})
            state.charter_awaiting = True
            state.charter_objections = dict(objections)
            state.answers = {}
        case ev.CharterAdopted(version=number, signatures=signatures):
            state.charter.adopted = number
            state.charter.adopted_at = event.at
            state.charter.signatures = dict(signatures)
            state.charter_awaiting = False
            state.charter_objections = {}
        case ev.CharterAmendmentProposed(version=version, until=until, expected=asked):
            state.charter.versions.append(version)
            state.amendment = CharterAmendment(
                version=version.number, opened_at=event.at, until=until, expected=list(asked)
            )
        case ev.CharterAmendmentAnswered(participant_id=pid, kind=kind, reason=why):
            if state.amendment is not None:
                found = state.amendment
                found.answers = {**found.answers, pid: kind}
                found.reasons = {k: v for k, v in found.reasons.items() if k != pid}
                if why:
                    found.reasons[pid] = why
                found.answered_at = {**found.answered_at, pid: event.at}
        case ev.CharterAmendmentClosed(version=number, adopted=adopted, deadline=moved) as closed:
            if adopted:
                state.charter.adopted = number
                state.charter.adopted_at = event.at
                state.charter.signatures = dict(closed.signatures)
                state.charter_to_sign = [
                    p for p in state.charter_to_sign if p not in closed.signatures
                ]
            else:
                version = state.charter.version(number)
                if version is not None:
                    index = state.charter.versions.index(version)
                    state.charter.versions[index] = version.model_copy(
                        update={"objections": dict(closed.objections)}
                    )
            state.amendment = None
            if moved is not None:
                _moved(state, moved, event.at)
        case ev.CharterSigned(participant_id=pid):
            state.charter.signatures = {**state.charter.signatures, pid: event.at}
            state.charter_to_sign = [p for p in state.charter_to_sign if p != pid]
        case ev.NewcomerProposed(newcomer=who, proposed_by=by):
            state.newcomers[who.id] = Newcomer(participant=who, proposed_by=by,
                                               proposed_at=event.at)  # fmt: skip
        case ev.NewcomerAnswered(newcomer_id=nid, participant_id=pid, kind=kind, reason=why):
            found = state.newcomers[nid]
            found.answers = {**found.answers, pid: kind}
            if why:
                found.reasons = {**found.reasons, pid: why}
        case ev.NewcomerRefused(newcomer_id=nid):
            state.newcomers[nid].status = "refused"
        case ev.TermProposed(
            term_id=tid, term=word, participant_id=pid, definition_id=did, definition=text
        ):
            state.glossary[tid] = Term(
                id=tid,
                term=word,
                proposed_by=pid,
                definitions=[Definition(id=did, participant_id=pid, text=text)],
            )
        case ev.DefinitionProposed(
            term_id=tid, participant_id=pid, definition_id=did, definition=text
        ):
            if tid in state.glossary:
                state.glossary[tid].definitions.append(
                    Definition(id=did, participant_id=pid, text=text)
                )
        case ev.TermCommented(term_id=tid, participant_id=pid, text=text):
            if tid in state.glossary:
                state.glossary[tid].comments.append(TermComment(participant_id=pid, text=text))
        case ev.TermValidated(term_id=tid, definition_id=did):
            if tid in state.glossary:
                state.glossary[tid].validated = did
        case ev.TermsMerged(term_id=tid, into_id=into):
            if tid in state.glossary and into in state.glossary:
                merged, kept = state.glossary[tid], state.glossary[into]
                merged.merged_into = into
                # The merged term's definitions and comments are the kept one's from now on.
                kept.definitions.extend(d for d in merged.definitions if d not in kept.definitions)
                kept.comments.extend(merged.comments)
        case ev.CooperationAnswered(participant_id=pid):
            if pid not in state.cooperation_answered:
                state.cooperation_answered.append(pid)
        case ev.ProgressNoted(participant_id=pid, text=text):
            state.progress.append(ProgressNote(participant_id=pid, text=text, at=event.at))
        case ev.AssessmentGiven(participant_id=pid, indicator_id=ind, score=score, comment=c):
            state.assessments[f"{pid}/{ind}"] = Assessment(
                participant_id=pid, indicator_id=ind, score=score, comment=c
            )
        case ev.ReportPublished():
            state.report = data
        case ev.ProjectClosed(outcome=outcome):
            state.reopenable = None
            state.phase = Phase.closed
            state.phase_open = False
            state.deadline = None
            state.outcome = outcome
        case ev.ProjectCancelled(reason=reason):
            state.reopenable = None
            state.review_waiting = False
            state.phase = Phase.cancelled
            state.phase_open = False
            state.deadline = None
            state.reminders_pending = []
            state.outcome = Outcome.cancelled
            state.cancel_reason = reason
        case ev.NotificationFailed():
            state.notifications_failed += 1
    return state


def rules_in_force(state: ProjectState, step: Step) -> dict[str, RuleInForce]:
    """The rule and quorum of each approval of a decision opening now."""
    state.rules_in_force = {}  # what a decision opening now decides by, fixed afresh
    return {a.id: rule_for(state, a) for a in step.approvals}


def rule_for(state: ProjectState, approval: Approval) -> RuleInForce:
    """An approval's rule and quorum: fixed when its decision opened; otherwise (a decision
    to come) its template's, else the charter in force's governance, else consent with half
    of the approvers."""
    fixed = state.rules_in_force.get(approval.id)
    if fixed is not None:
        return fixed
    if approval.rule is not None and approval.quorum is not None:
        return RuleInForce(rule=approval.rule, quorum=approval.quorum, source="template")
    governance = state.charter.governance
    if governance is not None:
        return RuleInForce(
            rule=approval.rule or governance.rule,
            quorum=governance.quorum if approval.quorum is None else approval.quorum,
            source="charter",
        )
    return RuleInForce(
        rule=approval.rule or DecisionRule.consent,
        quorum=0.5 if approval.quorum is None else approval.quorum,
        source="default" if approval.rule is None else "template",
    )


def _moved(state: ProjectState, deadline: datetime, at: datetime) -> None:
    """The open step's deadline moved: its reminders and escalation start again."""
    state.deadline = deadline
    if state.periods and state.periods[-1].closed_at is None:
        state.periods[-1].deadline = deadline
    state.escalated = False
    offsets = state.template.step(state.step).reminders
    state.reminders_pending = _pending_reminders(offsets, deadline, at)


def _only_approval(state: ProjectState) -> str:
    # Recorded without an approval: the step had one (every step before templates did).
    step = state.current_step()
    if step is not None and templates.approvals_of_step(step):
        return templates.approvals_of_step(step)[0].id
    return templates.PARTNERS_APPROVAL


def fold(events: Iterable[ev.Event]) -> ProjectState:
    state = ProjectState()
    for event in events:
        apply(state, event)
    return state
