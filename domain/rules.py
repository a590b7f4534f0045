"""Decision rules and who is expected to act: pure functions over the state.

The rules have versions, recorded at launch (ProjectLaunched.rules) so a project keeps the
rules it began under, and its recorded history replays as it ran:
1. (1.0, 1.1) the evaluation closes once every partner has assessed;
2. (1.2) once every partner has assessed, the facilitator is asked for the conclusion, and
   the evaluation closes when it is written (or at the deadline); an outcome is written for
   the latest decision until the next decision opens.
"""

from __future__ import annotations

from domain.models import AnswerKind, DecisionRule, Outcome, Participant, Phase, Role, Tally
from domain.state import ProjectState

# The rules a project launched now runs under.
RULES = 2


def voters(state: ProjectState) -> list[Participant]:
    assert state.spec is not None
    voting_roles = state.spec.process.voting_roles()
    return [p for p in state.active() if p.role in voting_roles]


def partners(state: ProjectState) -> list[Participant]:
    return [p for p in state.active() if p.role == Role.partner]


def indicator_ids(state: ProjectState) -> list[str]:
    plan = state.adopted_plan
    return [i.id for i in plan.indicators] if plan else []


def has_acted(state: ProjectState, participant_id: str) -> bool:
    """Whether this participant did what the current phase expects of it."""
    match state.phase:
        case Phase.diagnosis:
            return any(c.participant_id == participant_id for c in state.contributions)
        case Phase.co_design:
            return state.plan is not None
        case Phase.decision:
            return participant_id in state.answers
        case Phase.evaluation:
            if is_facilitator(state, participant_id):
                return state.concluded
            return assessed(state, participant_id)
        case _:
            return True


def assessed(state: ProjectState, participant_id: str) -> bool:
    return all(f"{participant_id}/{i}" in state.assessments for i in indicator_ids(state))


def is_facilitator(state: ProjectState, participant_id: str) -> bool:
    who = state.participants.get(participant_id)
    return who is not None and who.role == Role.facilitator


def concludes_evaluation(state: ProjectState) -> bool:
    """The facilitator's conclusion closes the evaluation (rules version 2)."""
    return state.rules_version >= 2


def partners_assessed(state: ProjectState) -> bool:
    return all(assessed(state, p.id) for p in partners(state))


def expected(state: ProjectState) -> list[Participant]:
    """Everyone the open phase waits for (DESIGN.md's phase table), acted or not."""
    if not state.phase_open:
        return []
    return expected_in(state, state.phase)


def expected_in(state: ProjectState, phase: Phase) -> list[Participant]:
    """Everyone the given phase waits for, with the participants as they are now."""
    match phase:
        case Phase.diagnosis:
            return partners(state)
        case Phase.evaluation:
            # Under rules 2, the facilitator's conclusion once every partner has assessed.
            if concludes_evaluation(state) and state.phase == Phase.evaluation:
                if partners_assessed(state):
                    return [p for p in state.active() if p.role == Role.facilitator]
            return partners(state)
        case Phase.co_design:
            return [p for p in state.active() if p.role == Role.facilitator]
        case Phase.decision:
            return voters(state)
        case _:
            return []


def pending(state: ProjectState) -> list[Participant]:
    """Those expected who have not acted yet: reminders and escalations go to them."""
    return [p for p in expected(state) if not has_acted(state, p.id)]


def is_complete(state: ProjectState) -> bool:
    """Everyone expected has acted, so a `close_when_complete` phase may close now.

    co_design closes by the plan itself, and action waits for nobody: neither completes.
    """
    if not state.phase_open or state.phase not in (
        Phase.diagnosis,
        Phase.decision,
        Phase.evaluation,
    ):
        return False
    return not pending(state)


def tally(state: ProjectState) -> Tally:
    voting = voters(state)
    kinds = [state.answers[p.id].kind for p in voting if p.id in state.answers]
    return Tally(
        voters=len(voting),
        consents=kinds.count(AnswerKind.consent),
        objections=kinds.count(AnswerKind.object),
        abstentions=kinds.count(AnswerKind.abstain),
        silent=len(voting) - len(kinds),
    )


def outcome_of(rule: DecisionRule, tally: Tally, quorum: float) -> Outcome:
    """The process's rule applied to a tally. The quorum comes first, for every rule: a
    decision few took part in is no decision. A quorum of 0 makes silence consent."""
    if tally.voters == 0:
        return Outcome.no_quorum  # nobody left to decide, whatever the quorum
    if quorum == 0:
        tally = tally.model_copy(update={"consents": tally.consents + tally.silent, "silent": 0})
    elif tally.answers / tally.voters < quorum:
        return Outcome.no_quorum
    match rule:
        case DecisionRule.consent:
            # Silence is not an objection.
            adopted = tally.objections == 0
        case DecisionRule.consensus:
            adopted = tally.silent == 0 and tally.objections == 0
        case DecisionRule.majority:
            # Abstentions count as answers, so they weigh against adoption.
            adopted = tally.answers > 0 and tally.consents > tally.answers / 2
        case _:
            raise ValueError(f"unknown decision rule {rule!r}")
    return Outcome.adopted if adopted else Outcome.not_adopted


def decision(state: ProjectState) -> tuple[Outcome, Tally]:
    """The process's rule applied to the answers given: the outcome and the tally behind it."""
    assert state.spec is not None
    process = state.spec.process
    counted = tally(state)
    return outcome_of(process.rule, counted, process.quorum), counted


def standing_objections(state: ProjectState) -> dict[str, str]:
    voting = {p.id for p in voters(state)}
    return {
        pid: a.reason or ""
        for pid, a in state.answers.items()
        if a.kind == AnswerKind.object and pid in voting
    }
