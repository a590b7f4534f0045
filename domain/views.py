"""What a project shows: the state view, the compact result of an action, the results of the
evaluation and the final report. Derived from the state, never stored in events."""

from __future__ import annotations

from datetime import datetime
from statistics import fmean

from pydantic import BaseModel

from domain import events as ev
from domain import rules
from domain.models import (
    Answer,
    Contribution,
    DecisionRule,
    IndicatorResult,
    Language,
    OrganisationKind,
    Outcome,
    Phase,
    Plan,
    ProgressNote,
    Proposal,
    Role,
    Tally,
)
from domain.state import ProjectState


class ParticipantPublic(BaseModel):
    """A participant as others see it: no contact details, no token (its version is no secret:
    the signature is)."""

    id: str
    name: str
    organisation_id: str
    organisation_kind: OrganisationKind
    role: Role
    language: Language
    active: bool
    token_version: int


class ProjectView(BaseModel):
    id: str
    title: str
    territory: str
    description: str
    language: Language
    coordinator_organisation: str
    rule: DecisionRule
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
    progress: list[ProgressNote]
    results: list[IndicatorResult]
    report: ev.ReportPublished | None
    cancel_reason: str | None
    last_seq: int


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
    # For an invitation or a re-sent link: the token version to sign.
    token_version: int | None = None
    # Of the request that produced this result: a retry with the same key must match it.
    fingerprint: str = ""


def action_result(state: ProjectState, recorded: list[ev.Event], fingerprint: str) -> ActionResult:
    """The compact answer to an accepted action, from the state it left."""
    item_id, token_version = item_of(recorded)
    return ActionResult(
        seqs=[e.seq for e in recorded],
        phase=state.phase,
        phase_open=state.phase_open,
        round=state.round,
        deadline=state.deadline,
        pending=len(rules.pending(state)),
        item_id=item_id,
        token_version=token_version,
        fingerprint=fingerprint,
    )


def item_of(recorded: list[ev.Event]) -> tuple[str | None, int | None]:
    """The id (and token version) of what an action created or touched, for its result."""
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
    removed = [e.data.participant_id for e in recorded if isinstance(e.data, ev.ParticipantRemoved)]
    return (removed[0], None) if removed else (None, None)


def view(state: ProjectState) -> ProjectView:
    spec = state.spec
    assert spec is not None, "a project is viewed only after its launch"
    return ProjectView(
        id=spec.id,
        title=spec.title,
        territory=spec.territory,
        description=spec.description,
        language=spec.language,
        coordinator_organisation=spec.coordinator_organisation,
        rule=spec.process.rule,
        max_rounds=spec.process.max_rounds,
        phase=state.phase,
        phase_open=state.phase_open,
        round=state.round,
        deadline=state.deadline,
        expected=[p.id for p in rules.expected(state)],
        pending=[p.id for p in rules.pending(state)],
        participants=[ParticipantPublic(**p.model_dump()) for p in state.participants.values()],
        contributions=state.contributions,
        proposals=list(state.proposals.values()),
        plan=state.plan,
        objections_to_answer=state.objections_to_answer,
        answers=list(state.answers.values()),
        tally=rules.tally(state) if state.phase == Phase.decision else None,
        decisions=state.decisions,
        adopted_plan=state.adopted_plan,
        outcome=state.outcome,
        outcome_statements=state.outcome_statements,
        progress=state.progress,
        results=results(state),
        report=state.report,
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
                mean_score=round(fmean(a.score for a in given), 2) if given else None,
                count=len(given),
                comments=[a.comment for a in given if a.comment],
            )
        )
    return out


def report_markdown(state: ProjectState) -> str:
    """The final report, in Markdown; the same text whoever renders it."""
    v = view(state)
    names = {p.id: p.name for p in v.participants}
    indicator_names = {i.id: i.name for i in (v.adopted_plan.indicators if v.adopted_plan else [])}
    lines = [
        f"# {v.title}",
        "",
        f"- Territory: {v.territory}",
        f"- Decision rule: {v.rule.value}",
        f"- Rounds held: {len(v.decisions)}",
        f"- Outcome: {v.outcome.value if v.outcome else 'pending'}",
        "",
        "## Partners",
        "",
    ]
    lines += [
        f"- {p.name} ({p.organisation_kind.value}, {p.role.value})"
        for p in v.participants
        if p.active
    ]
    lines += ["", "## Decisions", ""]
    for d in v.decisions:
        t = d.tally
        lines.append(
            f"- Round {d.round}: {d.outcome.value} under {d.rule.value} "
            f"({t.consents} consent, {t.objections} objection, {t.abstentions} abstention, "
            f"{t.silent} silent, of {t.voters} voters)"
        )
        lines += [
            f"  - objection from {names.get(pid, pid)}: {r}" for pid, r in d.objections.items()
        ]
    if v.outcome_statements:
        lines += ["", "## Outcome as stated by the facilitator", ""]
        lines += [f"> {text}" for text in v.outcome_statements]
    if v.adopted_plan:
        lines += ["", "## Adopted plan", "", v.adopted_plan.summary]
    lines += ["", "## Results", ""]
    if v.results:
        lines += ["| indicator | mean score (1–5) | number of scores |", "|---|---|---|"]
        for r in v.results:
            mean = f"{r.mean_score:.2f}" if r.mean_score is not None else "-"
            lines.append(f"| {r.name} | {mean} | {r.count} |")
    else:
        lines.append("The adopted plan had no indicator to assess.")
    comments = [
        f"- {indicator_names.get(a.indicator_id, a.indicator_id)}, "
        f"{names.get(a.participant_id, a.participant_id)}: {a.comment}"
        for a in state.assessments.values()
        if a.comment
    ]
    if comments:
        lines += ["", "### Comments", "", *comments]
    if v.progress:
        lines += ["", "## Progress notes", ""]
        lines += [
            f"- {names.get(n.participant_id, n.participant_id)}: {n.text}" for n in v.progress
        ]
    return "\n".join(lines) + "\n"


def current_details(state: ProjectState) -> str:
    """One line for the Temporal UI, e.g. "decision, round 2: waiting for 2 of 5 partners"."""
    if state.is_over:
        outcome = state.outcome.value if state.outcome else state.phase.value
        return f"{state.phase.value}: {outcome}"
    if not state.phase_open:
        return f"{state.phase.value}, round {state.round}: closing"
    expected = rules.expected(state)
    waiting = rules.pending(state)
    head = f"{state.phase.value}, round {state.round}"
    if state.phase == Phase.co_design:
        return f"{head}: waiting for the facilitator's plan"
    if not expected:
        return f"{head}: in progress"
    who = "voters" if state.phase == Phase.decision else "partners"
    return f"{head}: waiting for {len(waiting)} of {len(expected)} {who}"
