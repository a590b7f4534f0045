"""What the final report says: its facts, taken from the project's state, with every name
resolved to the organisation's (the report goes to funders: it names no person). The words
are written elsewhere (texts/report.py), in any language, from these facts alone.

The facts are also what `ReportPublished.digest` covers (`facts_digest`): the SHA-256 of their
canonical JSON, the same in every language and for every corrected translation, and the same
again when the archive folds the project's events.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from pydantic import BaseModel

from domain import events as ev
from domain import rules
from domain.cooperation import CooperationFigures
from domain.models import (
    AgreedCharter,
    Approval,
    ApprovalResult,
    Approvers,
    Charter,
    DecisionRule,
    GlossaryEntry,
    Governance,
    IndicatorResult,
    Language,
    ObjectionJudgement,
    OrganisationKind,
    Outcome,
    Phase,
    PhasePeriod,
    ReviewChoice,
    Role,
    Statement,
    Step,
    Tally,
    Words,
)
from domain.state import ProjectState, rule_for, step_id
from domain.views import first_approval
from domain.views import results as indicator_results


class Member(BaseModel):
    organisation: str
    kind: OrganisationKind
    role: Role
    active: bool


class Objection(BaseModel):
    organisation: str
    reason: str
    # How the next round's plan answered it ("" when no plan followed).
    answer: str = ""
    # The facilitator's judgement under consent ("valid" or "concern"; None: not judged)
    # and its reason.
    judgement: str | None = None
    judged_because: str = ""


class ApprovalFact(BaseModel):
    """One approval's result within a decision: who answered it, by which rule, how."""

    id: str
    name: Words | None
    approvers: Approvers
    rule: DecisionRule
    quorum: float
    tally: Tally
    outcome: Outcome
    # None of its approvers was left to answer.
    void: bool = False


class CollegePart(BaseModel):
    college: str
    name: Words | None = None
    weight: str
    tally: Tally
    contributes: float
    # The approval's weighted share of consents (on its last college's line, for the total).
    total: float | None = None


class ReviewFact(BaseModel):
    """A review of the adopted decision: when it closed, its result and each answer."""

    round: int
    at: datetime | None
    outcome: ReviewChoice
    quorum_met: bool
    counts: dict[str, int]
    # (organisation, choice, reason)
    answers: list[tuple[str, ReviewChoice, str]] = []


class Round(BaseModel):
    round: int
    decided_at: datetime | None
    rule: DecisionRule
    quorum: float
    tally: Tally
    outcome: Outcome
    objections: list[Objection]
    statements: list[Statement]
    # The decision step, where the template has more than one (appel-a-projets' budget, then
    # the partners'); its approvals, where the template is not co-construction's one.
    step: str | None = None
    step_name: Words | None = None
    approvals: list[ApprovalFact] = []
    # Weighted colleges: each college's part (its name, weight, tally, what it gives), and
    # the weighted share of consents, per approval that has them.
    colleges: list[CollegePart] = []
    # Who answered for whom: (the organisation, its delegate's).
    delegated: list[tuple[str, str]] = []
    # Its step was reopened: this decision does not stand.
    voided: bool = False


class StepFact(BaseModel):
    id: str
    name: Words
    kind: Phase
    approvals: list[ApprovalFact] = []


class TemplateFact(BaseModel):
    id: str
    version: int
    name: Words


class Signature(BaseModel):
    organisation: str
    at: datetime


class CharterVersionFact(BaseModel):
    number: int
    sections: dict[str, str]
    governance: Governance
    changes: list[str] = []
    # The objections that sent this version back, each with how the next version answered it.
    objections: list[Objection] = []
    # An amendment of the charter in force, later in the project.
    amendment: bool = False


class CharterFact(BaseModel):
    """The partnership charter as the record tells it: every version, the one adopted, when,
    and each organisation's consent with its date (its signatures)."""

    versions: list[CharterVersionFact]
    adopted: int | None = None
    adopted_at: datetime | None = None
    signatures: list[Signature] = []
    # Agreed by the partners before the project: its date, its text or its file.
    agreed: AgreedCharter | None = None

    @property
    def in_force(self) -> CharterVersionFact | None:
        return next((v for v in self.versions if v.number == self.adopted), None)

    @property
    def shown(self) -> CharterVersionFact | None:
        """The version a document shows: the one in force, else the latest."""
        # An amendment never adopted is not the charter: the version before it is shown.
        drafts = [v for v in self.versions if not v.amendment]
        return self.in_force or (drafts[-1] if drafts else None)


def college_parts(step: Step, decision: ev.DecisionReached) -> list[CollegePart]:
    parts = []
    for r in decision.approvals:
        if not r.colleges:
            continue
        approval = step.approval_by_id(r.approval)
        names = {c.id: c.name for c in approval.colleges}
        for n, c in enumerate(r.colleges):
            parts.append(
                CollegePart(
                    college=c.college,
                    name=names.get(c.college),
                    weight=c.weight,
                    tally=c.tally,
                    contributes=c.contributes,
                    total=r.weighted if n == len(r.colleges) - 1 else None,
                )
            )
    return parts


def judgement_of(decision: ev.DecisionReached, pid: str) -> ObjectionJudgement | None:
    """The facilitator's judgement of a partner's objection in a decision, if any."""
    return next((r.judgements[pid] for r in decision.approvals if pid in r.judgements), None)


def charter_fact(charter: Charter, names: dict[str, str]) -> CharterFact | None:
    """The charter with every participant id resolved to its organisation's name (None
    while no version is published)."""
    if not charter.versions and charter.agreed is None:
        return None
    following = {v.number: v.objection_answers for v in charter.versions}
    return CharterFact(
        versions=[
            CharterVersionFact(
                number=v.number,
                sections=v.sections,
                governance=v.governance,
                changes=v.changes,
                amendment=v.amendment,
                objections=[
                    Objection(
                        organisation=names.get(pid, pid),
                        reason=reason,
                        answer=following.get(v.number + 1, {}).get(pid, ""),
                    )
                    for pid, reason in v.objections.items()
                ],
            )
            for v in charter.versions
        ],
        adopted=charter.adopted,
        adopted_at=charter.adopted_at,
        signatures=[
            Signature(organisation=names.get(pid, pid), at=at)
            for pid, at in sorted(charter.signatures.items(), key=lambda s: s[1])
        ],
        agreed=charter.agreed,
    )


class Note(BaseModel):
    organisation: str
    at: datetime | None
    text: str


class Comment(BaseModel):
    indicator: str
    organisation: str
    text: str


class ReportFacts(BaseModel):
    project_id: str
    title: str
    territory: str
    description: str
    language: Language
    time_zone: str
    launched_at: datetime | None
    periods: list[PhasePeriod]
    # The template the project ran, and its steps (their names, and each decision's approvals).
    template: TemplateFact | None = None
    steps: list[StepFact] = []
    # True when the template holds one approval only (co-construction): the report then says
    # the rule and quorum at its head, as it always did.
    one_approval: bool = True
    members: list[Member]
    rule: DecisionRule
    quorum: float
    max_rounds: int
    facilitator_votes: bool
    rounds: list[Round]
    adopted_round: int | None
    adopted_summary: str | None
    # The facilitator's conclusion (rules 2: written while the evaluation was open; rules 1:
    # what they stated after the adoption).
    conclusion: list[Statement]
    # The evaluation closed without one (rules 2 only: rules 1 never asked for it).
    conclusion_missing: bool
    results: list[IndicatorResult]
    comments: list[Comment]
    progress: list[Note]
    outcome: Outcome | None
    phase: Phase
    # How many partners answered the cooperation questionnaire, and (filled by whoever writes
    # the report from the directory, where the answers are kept apart) what may be shown of
    # them. Not in the digest: they are not the project's history's facts.
    cooperation_answered: int = 0
    cooperation: CooperationFigures | None = None
    # The common language: each validated term and its definition (merged ones in theirs).
    glossary: list[GlossaryEntry] = []
    # The partnership charter (None in a project without one).
    charter: CharterFact | None = None
    # The reviews of the adopted decision (none in a project without a review step).
    reviews: list[ReviewFact] = []
    # The review the project waits for (not closed yet), if any.
    review_due: datetime | None = None


def report_facts(state: ProjectState) -> ReportFacts:
    spec = state.spec
    assert spec is not None, "a report is written only after its project's launch"

    def organisation(pid: str) -> str:
        who = state.participants.get(pid)
        return who.organisation_name if who else pid

    # The plan of round n + 1 answers the objections that sent round n back.
    answers = {plan.round: plan.objection_answers for plan in state.plans}
    template = state.template
    decision_steps = [s for s in template.steps if s.kind == Phase.decision]
    approvals = [a for step in decision_steps for a in step.approvals]
    one_approval = len(approvals) == 1
    first, _ = first_approval(state)
    rounds = []
    when = decided_at(state)
    for n, d in enumerate(state.decisions):
        step = template.step(step_id(Phase.decision, d.step))
        # Objections answered by the next plan are the last decision of a round's.
        last_of_round = n + 1 == len(state.decisions) or state.decisions[n + 1].round != d.round
        rounds.append(
            Round(
                round=d.round,
                decided_at=when.get(n),
                rule=d.rule,
                quorum=d.approvals[0].quorum if d.approvals else first.quorum,
                tally=d.tally,
                outcome=d.outcome,
                objections=[
                    Objection(
                        organisation=organisation(pid),
                        reason=reason,
                        answer=answers.get(d.round + 1, {}).get(pid, "") if last_of_round else "",
                        judgement=judged.judgement.value if judged else None,
                        judged_because=judged.reason if judged else "",
                    )
                    for pid, reason in {**d.objections, **d.concerns}.items()
                    for judged in [judgement_of(d, pid)]
                ],
                statements=[
                    s
                    for s in state.statements
                    if s.round == d.round and not s.conclusion and last_of_round
                ],
                step=step.id if len(decision_steps) > 1 else None,
                step_name=step.name if len(decision_steps) > 1 else None,
                approvals=[]
                if one_approval
                else [approval_fact(step.approval_by_id(r.approval), r) for r in d.approvals],
                colleges=college_parts(step, d),
                voided=d.voided,
                delegated=[
                    (organisation(pid), organisation(by))
                    for r in d.approvals
                    for pid, by in r.delegated.items()
                ],
            )
        )
    adopted = state.adopted_plan
    if rules.concludes_evaluation(state):
        conclusion = [s for s in state.statements if s.conclusion]
    else:
        conclusion = [s for s in state.statements if adopted and s.round == adopted.round]
    if adopted is not None:  # shown as the conclusion, not again under its round
        for r in rounds:
            if r.round == adopted.round:
                r.statements = [s for s in r.statements if s not in conclusion]
    evaluated = any(p.phase == Phase.evaluation and p.closed_at for p in state.periods)
    indicators = {i.id: i.name for i in (adopted.indicators if adopted else [])}
    # When each review closed: its period's close, in order (two may close in one round).
    closed_at = [p.closed_at for p in state.periods if p.phase == Phase.review and p.closed_at]
    return ReportFacts(
        project_id=spec.id,
        title=spec.title,
        territory=spec.territory,
        description=spec.description,
        language=spec.language,
        time_zone=spec.time_zone,
        launched_at=state.launched_at,
        periods=state.periods,
        members=[
            Member(
                organisation=p.organisation_name,
                kind=p.organisation_kind,
                role=p.role,
                active=p.active,
            )  # fmt: skip
            for p in state.participants.values()
        ],
        template=TemplateFact(
            id=template.id,
            version=spec.template.version if spec.template else template.version,
            name=template.name,
        ),
        steps=[
            StepFact(
                id=s.id,
                name=s.name,
                kind=s.kind,
                approvals=[approval_fact(a, state=state) for a in s.approvals],
            )
            for s in template.steps
        ],
        one_approval=one_approval,
        rule=rule_for(state, first).rule,
        quorum=rule_for(state, first).quorum,
        max_rounds=max_rounds_of(state),
        facilitator_votes=Role.facilitator in first.approvers.roles,
        rounds=rounds,
        adopted_round=adopted.round if adopted else None,
        adopted_summary=adopted.summary if adopted else None,
        conclusion=conclusion,
        conclusion_missing=rules.concludes_evaluation(state) and evaluated and not conclusion,
        results=indicator_results(state),
        comments=[
            Comment(
                indicator=indicators.get(a.indicator_id, a.indicator_id),
                organisation=organisation(a.participant_id),
                text=a.comment,
            )
            for a in state.assessments.values()
            if a.comment
        ],
        progress=[
            Note(organisation=organisation(n.participant_id), at=n.at, text=n.text)
            for n in state.progress
        ],
        outcome=state.outcome,
        phase=state.phase,
        cooperation_answered=len(state.cooperation_answered),
        glossary=[
            GlossaryEntry(term=term.term, definition=chosen.text)
            for term in state.glossary.values()
            if term.merged_into is None and (chosen := term.definition()) is not None
        ],
        charter=charter_fact(
            state.charter, {pid: p.organisation_name for pid, p in state.participants.items()}
        ),
        reviews=[
            ReviewFact(
                round=r.round,
                at=closed_at[n] if n < len(closed_at) else None,
                outcome=r.outcome,
                quorum_met=r.quorum_met,
                counts=r.counts,
                answers=[
                    (organisation(a.participant_id), a.choice, a.reason or "") for a in r.answers
                ],
            )  # fmt: skip
            for n, r in enumerate(state.reviews)
        ],
        review_due=state.deadline if state.review_waiting else None,
    )


def approval_fact(
    approval: Approval, result: ApprovalResult | None = None, state: ProjectState | None = None
) -> ApprovalFact:
    # A decision's rule as it decided; one to come, as it stands (maybe from the charter).
    fixed = rule_for(state, approval) if state is not None else None
    return ApprovalFact(
        id=approval.id,
        name=approval.name,
        approvers=approval.approvers,
        rule=result.rule if result else (fixed.rule if fixed else approval.rule),
        quorum=result.quorum if result else (fixed.quorum if fixed else approval.quorum),
        tally=result.tally if result else Tally(voters=0, consents=0, objections=0,
                                                 abstentions=0, silent=0),
        outcome=result.outcome if result else Outcome.not_adopted,
        void=result.void if result else False,
    )  # fmt: skip


def decided_at(state: ProjectState) -> dict[int, datetime]:
    """When each decision (by its position) was reached: the close of its step's period."""
    closes = [
        p.closed_at for p in state.periods if p.phase == Phase.decision and p.closed_at is not None
    ]
    found = {n: at for n, at in enumerate(closes)}
    # Recorded before periods were kept: the round's date.
    for n, d in enumerate(state.decisions):
        if n not in found and d.round in state.decided_at:
            found[n] = state.decided_at[d.round]
    return found


def max_rounds_of(state: ProjectState) -> int:
    for step in state.template.steps:
        if step.if_not_adopted is not None and step.kind == Phase.decision:
            return step.if_not_adopted.max_rounds
    return 1


def facts_digest(facts: ReportFacts) -> str:
    """What ReportPublished.digest covers: the report's facts, not its words."""
    canonical = json.dumps(
        facts.model_dump(
            mode="json",
            # A project without a charter digests as before charters were recorded.
            exclude={"phase", "cooperation", "cooperation_answered"}
            | ({"charter"} if facts.charter is None else set())
            | ({"reviews"} if not facts.reviews else set())
            | ({"review_due"} if facts.review_due is None else set()),
        ),
        sort_keys=True,
        ensure_ascii=False,
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
