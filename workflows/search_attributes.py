"""The search attributes ops filter on in the Temporal UI. Never personal data: they are
not encrypted. The coordinator is an organisation id, never a person."""

from typing import Any

from temporalio.common import SearchAttributeKey

from domain import steps
from domain.state import ProjectState

PHASE = SearchAttributeKey.for_keyword("AlliancePhase")
TERRITORY = SearchAttributeKey.for_keyword("AllianceTerritory")
COORDINATOR = SearchAttributeKey.for_keyword("AllianceCoordinator")
ROUND = SearchAttributeKey.for_int("AllianceRound")
DEADLINE = SearchAttributeKey.for_datetime("AllianceDeadline")
PENDING = SearchAttributeKey.for_int("AlliancePending")
OUTCOME = SearchAttributeKey.for_keyword("AllianceOutcome")
# How many notifications some reader did not get (unset while none failed).
UNDELIVERED = SearchAttributeKey.for_int("AllianceUndelivered")
# The template's step (its id; AlliancePhase is its kind): since 1.2.
STEP = SearchAttributeKey.for_keyword("AllianceStep")

ALL = (PHASE, TERRITORY, COORDINATOR, ROUND, DEADLINE, PENDING, OUTCOME, UNDELIVERED, STEP)


def values(state: ProjectState, with_step: bool = True) -> dict[SearchAttributeKey, Any]:
    """What ops see of a project. The deadline is kept to the minute: enough to filter on, and
    the same whether the starter or the workflow computes it, so nothing is upserted twice."""
    assert state.spec is not None
    deadline = state.deadline
    if deadline is not None:
        deadline = deadline.replace(second=0, microsecond=0)
    return {
        PHASE: state.phase.value,
        TERRITORY: state.spec.territory,
        COORDINATOR: state.spec.coordinator_organisation,
        ROUND: state.round,
        DEADLINE: deadline,
        PENDING: len(steps.pending(state)),
        OUTCOME: state.outcome.value if state.outcome else None,
        UNDELIVERED: state.notifications_failed or None,
    } | ({STEP: state.step or None} if with_step else {})
