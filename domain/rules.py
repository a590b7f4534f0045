"""Decision rules and what the evaluation asks: pure functions over the state. Who each step
waits for is the step's runner's (domain/steps/).

The rules have versions, recorded at launch (ProjectLaunched.rules) so a project keeps the
rules it began under, and its recorded history replays as it ran:
1. (1.0, 1.1) the evaluation closes once every partner has assessed;
2. (1.2) once every partner has assessed, the facilitator is asked for the conclusion, and
   the evaluation closes when it is written (or at the deadline); an outcome is written for
   the latest decision until the next decision opens.
"""

from __future__ import annotations

from domain.models import DecisionRule, Outcome, Participant, Role, Tally
from domain.state import ProjectState

# The rules a project launched now runs under.
RULES = 3


def partners(state: ProjectState) -> list[Participant]:
    return [p for p in state.active() if p.role == Role.partner]


def indicator_ids(state: ProjectState) -> list[str]:
    plan = state.adopted_plan
    return [i.id for i in plan.indicators] if plan else []


def assessed(state: ProjectState, participant_id: str) -> bool:
    return all(f"{participant_id}/{i}" in state.assessments for i in indicator_ids(state))


def is_facilitator(state: ProjectState, participant_id: str) -> bool:
    who = state.participants.get(participant_id)
    return who is not None and who.role == Role.facilitator


def concludes_evaluation(state: ProjectState) -> bool:
    """The facilitator's conclusion closes the evaluation (rules version 2)."""
    return state.rules_version >= 2


def judges_objections(state: ProjectState) -> bool:
    """Under consent, the facilitator judges each objection before the decision closes
    (rules version 3): valid, it blocks; a concern, it does not."""
    return state.rules_version >= 3


def partners_assessed(state: ProjectState) -> bool:
    return all(assessed(state, p.id) for p in partners(state))


def outcome_of(rule: DecisionRule, tally: Tally, quorum: float) -> Outcome:
    """A rule applied to a tally. The quorum comes first, for every rule: a decision few
    took part in is no decision. A quorum of 0 makes silence consent."""
    if tally.voters == 0:
        return Outcome.no_quorum  # nobody left to decide, whatever the quorum
    if quorum == 0:
        tally = tally.model_copy(update={"consents": tally.consents + tally.silent, "silent": 0})
    elif tally.answers / tally.voters < quorum:
        return Outcome.no_quorum
    match rule:
        case DecisionRule.consent:
            # Silence is not an objection; an objection judged a concern does not block.
            adopted = tally.objections - tally.concerns == 0
        case DecisionRule.consensus:
            adopted = tally.silent == 0 and tally.objections == 0
        case DecisionRule.majority:
            # Abstentions count as answers, so they weigh against adoption.
            adopted = tally.answers > 0 and tally.consents > tally.answers / 2
        case _:
            raise ValueError(f"unknown decision rule {rule!r}")
    return Outcome.adopted if adopted else Outcome.not_adopted
