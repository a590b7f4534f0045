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

from domain import rules
from domain.models import (
    DecisionRule,
    IndicatorResult,
    Language,
    OrganisationKind,
    Outcome,
    Phase,
    PhasePeriod,
    Role,
    Statement,
    Tally,
)
from domain.state import ProjectState
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


class Round(BaseModel):
    round: int
    decided_at: datetime | None
    rule: DecisionRule
    quorum: float
    tally: Tally
    outcome: Outcome
    objections: list[Objection]
    statements: list[Statement]


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


def report_facts(state: ProjectState) -> ReportFacts:
    spec = state.spec
    assert spec is not None, "a report is written only after its project's launch"

    def organisation(pid: str) -> str:
        who = state.participants.get(pid)
        return who.organisation_name if who else pid

    # The plan of round n + 1 answers the objections that sent round n back.
    answers = {plan.round: plan.objection_answers for plan in state.plans}
    rounds = [
        Round(
            round=d.round,
            decided_at=state.decided_at.get(d.round),
            rule=d.rule,
            quorum=spec.process.quorum,
            tally=d.tally,
            outcome=d.outcome,
            objections=[
                Objection(
                    organisation=organisation(pid),
                    reason=reason,
                    answer=answers.get(d.round + 1, {}).get(pid, ""),
                )
                for pid, reason in d.objections.items()
            ],
            statements=[s for s in state.statements if s.round == d.round and not s.conclusion],
        )
        for d in state.decisions
    ]
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
        rule=spec.process.rule,
        quorum=spec.process.quorum,
        max_rounds=spec.process.max_rounds,
        facilitator_votes=spec.process.facilitator_votes,
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
    )


def facts_digest(facts: ReportFacts) -> str:
    """What ReportPublished.digest covers: the report's facts, not its words."""
    canonical = json.dumps(
        facts.model_dump(mode="json", exclude={"phase"}), sort_keys=True, ensure_ascii=False
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
