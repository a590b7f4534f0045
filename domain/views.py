"""What a project shows: the state view, the compact result of an action, the results of the
evaluation and the final report. Derived from the state, never stored in events."""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import fmean

from pydantic import BaseModel, Field

from domain import events as ev
from domain import steps as step_rules
from domain import templates
from domain.actions import available
from domain.models import (
    Answer,
    Approval,
    Approvers,
    Assessment,
    Charter,
    CharterAmendment,
    College,
    Completion,
    ConcernToCheck,
    Contribution,
    DecisionRule,
    Delegation,
    IndicatorResult,
    Language,
    LoopBack,
    Newcomer,
    NotificationPreference,
    ObjectionJudgement,
    OrganisationKind,
    Outcome,
    Participant,
    Phase,
    PhasePeriod,
    Plan,
    ProgressNote,
    Proposal,
    ReviewAnswer,
    Role,
    Statement,
    Tally,
    TemplateRef,
    Term,
    Words,
)
from domain.state import ProjectState, redacted_event, rule_for
from domain.steps.charter import amendment_expected
from domain.steps.decision import approvers as approvers_of
from domain.steps.decision import tally as tally_of
from domain.templates import digest


class ApprovalView(BaseModel):
    """One approval of a decision step: who answers it (the rule and, in this project, who),
    by which rule and quorum, and its tally while its step is open."""

    id: str
    name: Words | None = None
    approvers: Approvers
    # The participants who answer it now.
    approver_ids: list[str]
    rule: DecisionRule
    quorum: float
    # A weighted majority's colleges, as the template defines them.
    colleges: list[College] = Field(default_factory=list)
    # Where the rule and quorum come from: "template", "charter" (the adopted charter's
    # governance) or "default" (consent, half, with no charter).
    rule_source: str = "template"
    tally: Tally | None = None


class StepView(BaseModel):
    id: str
    name: Words
    kind: Phase
    duration: timedelta | None = None
    until: datetime | None = None
    close_when_complete: bool = True
    current: bool = False
    approvals: list[ApprovalView] = Field(default_factory=list)
    completion: Completion = Completion.all
    if_not_adopted: LoopBack | None = None
    # A review step: how long after the adoption it opens, and where "amend" goes.
    after: timedelta | None = None
    amend_to: str | None = None


class ParticipantPublic(BaseModel):
    """A participant as others see it: no contact details, no token (its version is no secret:
    the signature is)."""

    id: str
    organisation_name: str
    person_name: str
    organisation_id: str
    organisation_kind: OrganisationKind
    role: Role
    language: Language
    active: bool
    token_version: int
    # How much e-mail they chose: the facilitator sees it.
    notifications: NotificationPreference = NotificationPreference.every
    digest_hour: int = 8


class ProjectView(BaseModel):
    id: str
    title: str
    territory: str
    description: str
    language: Language
    # Where the project's own dates are read (its report, its register).
    time_zone: str = "Europe/Paris"
    # The rules it runs under (domain/rules.py): from 2, the evaluation waits for a conclusion.
    rules_version: int = 1
    coordinator_organisation: str
    # The template the project runs (its id, version and that version's digest) and its
    # steps, the current one marked.
    template: TemplateRef | None = None
    steps: list[StepView] = Field(default_factory=list)
    # The current step's id (its kind is `phase`).
    step: str = ""
    # The first decision's rule and quorum, and its rounds at most (every 1.x client reads them).
    rule: DecisionRule
    quorum: float = 0.5
    max_rounds: int
    phase: Phase
    phase_open: bool
    round: int
    deadline: datetime | None
    expected: list[str]
    pending: list[str]
    participants: list[ParticipantPublic]
    contributions: list[Contribution]
    proposals: list[Proposal]
    plan: Plan | None
    objections_to_answer: dict[str, str]
    answers: list[Answer]
    tally: Tally | None
    decisions: list[ev.DecisionReached]
    adopted_plan: Plan | None
    outcome: Outcome | None
    outcome_statements: list[str]
    # The same, each with the round it speaks of, its date, and whether it concludes.
    statements: list[Statement] = Field(default_factory=list)
    # Every opening of a phase: when it opened and closed, and why.
    periods: list[PhasePeriod] = Field(default_factory=list)
    progress: list[ProgressNote]
    # Who answered the cooperation questionnaire (its answers are anonymous, kept apart).
    cooperation_answered: list[str] = Field(default_factory=list)
    # The project's common language: every term proposed, its definitions and comments, the
    # one validated (merged terms point to the term they went into).
    glossary: list[Term] = Field(default_factory=list)
    # The partnership charter: its versions, notes, the version adopted and its signatures;
    # whether the open charter step waits for the facilitator's next version, and the
    # objections that version answers.
    charter: Charter = Field(default_factory=Charter)
    charter_awaiting: bool = False
    charter_objections: dict[str, str] = Field(default_factory=dict)
    # Organisations proposed to join, the partners' answers, and how each ended.
    newcomers: list[Newcomer] = Field(default_factory=list)
    # Partners who joined after the charter's adoption, asked to consent to it.
    charter_to_sign: list[str] = Field(default_factory=list)
    # An amendment of the charter being answered (the step under way suspended meanwhile),
    # and the partners whose answer it waits for.
    amendment: CharterAmendment | None = None
    amendment_pending: list[str] = Field(default_factory=list)
    # The facilitator's judgements of the open decision's objections ("approval/participant"),
    # and the concerns of adopted decisions the evaluation checks.
    judgements: dict[str, ObjectionJudgement] = Field(default_factory=dict)
    concerns_to_check: list[ConcernToCheck] = Field(default_factory=list)
    # Every plan put to decision, round after round (their versions, side by side on pages).
    plans: list[Plan] = Field(default_factory=list)
    # Steps' durations changed after the launch, over the template's (by step id).
    duration_overrides: dict[str, timedelta] = Field(default_factory=dict)
    # Answers delegated, in force or ended.
    delegations: list[Delegation] = Field(default_factory=list)
    # The adopted decision's review: its date, whether the project waits for it (then
    # `deadline` is the review's opening), the open review's answers, every review's result,
    # and the plan in force as the first draft of an amendment.
    review_on: datetime | None = None
    review_waiting: bool = False
    review_answers: list[ReviewAnswer] = Field(default_factory=list)
    reviews: list[ev.DecisionReviewed] = Field(default_factory=list)
    draft_plan: Plan | None = None
    results: list[IndicatorResult]
    report: ReportSummary | None
    cancel_reason: str | None
    last_seq: int


class ReportSummary(BaseModel):
    """That the report is out, and its digest: the text itself is served by the API."""

    digest: str


class Warning(BaseModel):
    """Accepted, but worth a look: a stable code and a message."""

    code: str
    message: str


class ActionResult(BaseModel):
    """What an accepted action returns: kept small, since Temporal stores it in history."""

    seqs: list[int]
    phase: Phase
    phase_open: bool
    round: int
    deadline: datetime | None
    pending: int
    # The item the action created or touched: a contribution, proposal or participant id.
    item_id: str | None = None
    # For an invitation or a re-sent link: the role and token version to sign.
    role: Role | None = None
    token_version: int | None = None
    # Of the request that produced this result: a retry with the same key must match it.
    fingerprint: str = ""
    # The action changed nothing (the same answer again): no event was recorded.
    unchanged: bool = False
    warnings: list[Warning] = Field(default_factory=list)
    # A webhook address just set: its signing secret, shown this once. Added by the API from
    # the contact directory, never by the workflow (nothing secret enters history).
    webhook_secret: str | None = None


def action_result(state: ProjectState, recorded: list[ev.Event], fingerprint: str) -> ActionResult:
    """The compact answer to an accepted action, from the state it left."""
    item_id, token_version = item_of(recorded)
    role = state.participants[item_id].role if token_version and item_id else None
    return ActionResult(
        unchanged=not recorded,
        warnings=warnings_for(state, recorded),
        seqs=[e.seq for e in recorded],
        phase=state.phase,
        phase_open=state.phase_open,
        round=state.round,
        deadline=state.deadline,
        pending=len(step_rules.pending(state)),
        item_id=item_id,
        role=role,
        token_version=token_version,
        fingerprint=fingerprint,
    )


def warnings_for(state: ProjectState, recorded: list[ev.Event]) -> list[Warning]:
    out = []
    for event in recorded:
        if isinstance(event.data, ev.ParticipantInvited):
            newcomer = event.data.participant
            same = [
                p.id
                for p in state.active()
                if p.organisation_id == newcomer.organisation_id and p.id != newcomer.id
            ]
            if same:
                out.append(
                    Warning(
                        code="same_organisation",
                        message=f"{newcomer.organisation_name} already takes part through "
                        f"{', '.join(same)}; both stand for it now",
                    )
                )
    return out


def item_of(recorded: list[ev.Event]) -> tuple[str | None, int | None]:
    """The id (and token version) of what an action created or touched, for its result."""
    joined = [e for e in recorded if isinstance(e.data, ev.ParticipantInvited)]
    if joined:  # a newcomer the partners' last consent let in, too
        newcomer = joined[0].data.participant
        return newcomer.id, newcomer.token_version
    for event in recorded:
        match event.data:
            case ev.ContributionAdded(contribution=c):
                return c.id, None
            case ev.ProposalSubmitted(proposal=p):
                return p.id, None
            case ev.ProposalAmended(proposal_id=pid) | ev.ProposalEndorsed(proposal_id=pid):
                return pid, None
            case ev.ParticipantInvited(participant=p):  # also the newcomer of a replacement
                return p.id, p.token_version
            case ev.LinkResent(participant_id=pid, token_version=version):
                return pid, version
            case ev.TermProposed(term_id=tid) | ev.DefinitionProposed(term_id=tid):
                return tid, None
            case ev.NewcomerProposed(newcomer=who):
                return who.id, None
            case ev.NewcomerAnswered(newcomer_id=nid):
                return nid, None
    removed = [e.data.participant_id for e in recorded if isinstance(e.data, ev.ParticipantRemoved)]
    return (removed[0], None) if removed else (None, None)


class Undelivered(BaseModel):
    at: datetime
    # The event that was being told (its type), and to whom it did not go.
    about: str
    recipients: list[str]
    error: str


class PageData(BaseModel):
    """Everything one participant's page shows, from one query."""

    view: ProjectView
    # The participant itself, with its own contact settings (shown to it alone).
    me: Participant
    # The updates the action table allows this participant now: the page's forms.
    actions: list[str]
    facilitator_votes: bool
    quorum: float
    # The latest events, for the timeline in words.
    events: list[ev.Event]
    # Messages that could not be delivered, for the facilitator and the coordinator to act on
    # (a wrong address, a mailbox gone): the latest ones.
    undelivered: list[Undelivered] = Field(default_factory=list)
    # The run holds only the latest events of a long project: the earlier ones of the timeline
    # are in the archive's segments (joined by the API).
    earlier_in_archive: bool = False
    # This participant's own scores, by indicator: its evaluation form shows them again.
    my_scores: dict[str, Assessment] = Field(default_factory=dict)


TIMELINE_LENGTH = 200


def timeline(events: list[ev.Event], redacted: list[str]) -> list[ev.Event]:
    """The latest events as any participant's timeline shows them."""
    return [
        e
        for e in (_for_everyone(redacted_event(x, redacted)) for x in events[-TIMELINE_LENGTH:])
        if e is not None
    ]


def page_data(state: ProjectState, events: list[ev.Event], participant_id: str) -> PageData | None:
    me = state.participants.get(participant_id)
    if me is None or state.spec is None:
        return None
    return PageData(
        view=view(state),
        me=me,
        actions=[a.update for a in available(state, me)],
        facilitator_votes=Role.facilitator in step_rules.decision.approving_roles(state),
        quorum=rule_for(state, first_approval(state)[0]).quorum,
        events=timeline(events, state.redacted),
        undelivered=undelivered(events) if me.role in (Role.facilitator, Role.coordinator) else [],
        earlier_in_archive=len(events) < TIMELINE_LENGTH
        and (events[0].seq > 1 if events else state.last_seq > 0),
        my_scores={
            a.indicator_id: a for a in state.assessments.values() if a.participant_id == me.id
        },
    )


UNDELIVERED_SHOWN = 20


def undelivered(events: list[ev.Event]) -> list[Undelivered]:
    """The latest messages that could not be delivered, newest first."""
    types = {e.seq: e.data.type for e in events}
    failed = [e for e in events if isinstance(e.data, ev.NotificationFailed)]
    return [
        Undelivered(
            at=e.at,
            about=types.get(e.data.about_seq, ""),
            recipients=e.data.recipients,
            error=e.data.error,
        )
        for e in failed[-UNDELIVERED_SHOWN:]
    ][::-1]


def _for_everyone(event: ev.Event) -> ev.Event | None:
    """An event as any participant's timeline may carry it: no one's contact details, and
    nothing of one participant's own settings or links."""
    match event.data:
        case (
            ev.ParticipantUpdated()
            | ev.LinkResent()
            | ev.NotificationFailed()
            | ev.ParticipantErased()
        ):
            return None
        case ev.ParticipantInvited(participant=p):
            data = event.data.model_copy(update={"participant": _no_contacts(p)})
        case ev.ProjectLaunched(project=spec):
            people = [_no_contacts(p) for p in spec.participants]
            data = event.data.model_copy(
                update={"project": spec.model_copy(update={"participants": people})}
            )
        case _:
            return event
    return event.model_copy(update={"data": data})


def _no_contacts(p: Participant) -> Participant:
    return p.model_copy(update={"email": None, "webhook_url": None})


def first_approval(state: ProjectState) -> tuple[Approval, int]:
    """The template's first decision's approval and the most rounds its step holds: what the
    view's rule, quorum and max_rounds say (one approval before templates); a charter's when
    the template decides nothing else."""
    deciding = [s for s in state.template.steps if s.kind in templates.DECIDING]
    for step in sorted(deciding, key=lambda s: s.kind != Phase.decision):
        approvals = templates.approvals_of_step(step)
        if approvals:
            rounds = step.if_not_adopted.max_rounds if step.if_not_adopted else 1
            return approvals[0], rounds
    raise ValueError("a template has a decision step")


def template_ref(state: ProjectState) -> TemplateRef:
    assert state.spec is not None
    if state.spec.template is not None:
        return state.spec.template.ref()
    # Launched before templates: co-construction v1, which its process's settings tune.
    published = templates.co_construction()
    return TemplateRef(id=published.id, version=published.version, digest=digest(published))


def step_views(state: ProjectState) -> list[StepView]:
    current = state.step if not state.is_over else ""
    out = []
    for step in state.template.steps:
        is_current = step.id == current
        out.append(
            StepView(
                id=step.id,
                name=step.name,
                kind=step.kind,
                duration=step.duration,
                until=step.until,
                close_when_complete=step.close_when_complete,
                current=is_current,
                completion=step.completion,
                if_not_adopted=step.if_not_adopted,
                after=step.after,
                amend_to=step.amend_to,
                approvals=[
                    ApprovalView(
                        id=a.id,
                        name=a.name,
                        approvers=a.approvers,
                        colleges=a.colleges,
                        approver_ids=[p.id for p in approvers_of(state, a)],
                        rule=(fixed := rule_for(state, a)).rule,
                        quorum=fixed.quorum,
                        rule_source=fixed.source,
                        tally=tally_of(state, a)
                        if is_current and state.phase_open and step.kind != Phase.review
                        else None,
                    )
                    for a in (
                        [templates.review_approval(step)]
                        if step.kind == Phase.review
                        else templates.approvals_of_step(step)
                    )
                ],
            )
        )
    return out


def view(state: ProjectState) -> ProjectView:
    spec = state.spec
    assert spec is not None, "a project is viewed only after its launch"
    approval, max_rounds = first_approval(state)
    current = state.current_step()
    return ProjectView(
        id=spec.id,
        title=spec.title,
        territory=spec.territory,
        description=spec.description,
        language=spec.language,
        time_zone=spec.time_zone,
        rules_version=state.rules_version,
        coordinator_organisation=spec.coordinator_organisation,
        template=template_ref(state),
        steps=step_views(state),
        step=state.step,
        rule=rule_for(state, approval).rule,
        quorum=rule_for(state, approval).quorum,
        max_rounds=max_rounds,
        phase=state.phase,
        phase_open=state.phase_open,
        round=state.round,
        deadline=state.deadline,
        expected=[p.id for p in step_rules.expected(state)],
        pending=[p.id for p in step_rules.pending(state)],
        participants=[ParticipantPublic(**p.model_dump()) for p in state.participants.values()],
        contributions=state.contributions,
        proposals=list(state.proposals.values()),
        plan=state.plan,
        objections_to_answer=state.objections_to_answer,
        answers=list(state.answers.values()),
        tally=tally_of(state, current.approvals[0])
        if current is not None and current.approvals and state.phase == Phase.decision
        else None,
        decisions=state.decisions,
        adopted_plan=state.adopted_plan,
        outcome=state.outcome,
        outcome_statements=state.outcome_statements,
        statements=state.statements,
        periods=state.periods,
        progress=state.progress,
        cooperation_answered=state.cooperation_answered,
        glossary=list(state.glossary.values()),
        charter=state.charter,
        charter_awaiting=state.charter_awaiting,
        charter_objections=state.charter_objections,
        newcomers=list(state.newcomers.values()),
        charter_to_sign=state.charter_to_sign,
        amendment=state.amendment,
        judgements=state.judgements,
        plans=state.plans,
        delegations=list(state.delegations.values()),
        review_on=state.review_on,
        review_waiting=state.review_waiting,
        review_answers=list(state.review_answers.values()),
        reviews=state.reviews,
        draft_plan=state.draft_plan,
        duration_overrides=state.duration_overrides,
        concerns_to_check=state.concerns_to_check,
        amendment_pending=[
            p.id
            for p in amendment_expected(state)
            if state.amendment is not None and p.id not in state.amendment.answers
        ],
        results=results(state),
        report=ReportSummary(digest=state.report.digest) if state.report else None,
        cancel_reason=state.cancel_reason,
        last_seq=state.last_seq,
    )


def results(state: ProjectState) -> list[IndicatorResult]:
    """Per indicator of the adopted plan: mean score, number of scores, comments."""
    plan = state.adopted_plan
    if plan is None:
        return []
    out = []
    for indicator in plan.indicators:
        given = [a for a in state.assessments.values() if a.indicator_id == indicator.id]
        out.append(
            IndicatorResult(
                indicator_id=indicator.id,
                name=indicator.name,
                target=indicator.target,
                mean_score=round(fmean(a.score for a in given), 2) if given else None,
                count=len(given),
                comments=[a.comment for a in given if a.comment],
            )
        )
    return out


def current_details(state: ProjectState) -> str:
    """One line for the Temporal UI, e.g. "decision, round 2: waiting for 2 of 5 partners"."""
    if state.is_over:
        outcome = state.outcome.value if state.outcome else state.phase.value
        return f"{state.phase.value}: {outcome}"
    if not state.phase_open:
        return f"{state.phase.value}, round {state.round}: closing"
    if state.amendment is not None:
        partners = amendment_expected(state)
        waiting_for = [p for p in partners if p.id not in state.amendment.answers]
        return (
            f"{state.phase.value}, round {state.round}: suspended, an amendment of the charter "
            f"waiting for {len(waiting_for)} of {len(partners)} partners"
        )
    expected = step_rules.expected(state)
    waiting = step_rules.pending(state)
    step = state.current_step()
    named = f" ({step.id})" if step is not None and step.id != step.kind.value else ""
    head = f"{state.phase.value}{named}, round {state.round}"
    if state.review_waiting and state.deadline is not None:
        return f"{head}: waiting for the review date, {state.deadline:%Y-%m-%d %H:%M} UTC"
    if state.phase == Phase.co_design:
        return f"{head}: waiting for the facilitator's plan"
    if state.phase == Phase.decision and state.plan is None:
        return f"{head}: waiting for the facilitator's text"
    if not expected:
        return f"{head}: in progress"
    who = "voters" if state.phase == Phase.decision else "partners"
    return f"{head}: waiting for {len(waiting)} of {len(expected)} {who}"
