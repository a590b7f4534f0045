"""The search attributes ops filter on in the Temporal UI. Never personal data: they are
not encrypted. The coordinator is an organisation id, never a person."""

from temporalio.common import SearchAttributeKey

PHASE = SearchAttributeKey.for_keyword("AlliancePhase")
TERRITORY = SearchAttributeKey.for_keyword("AllianceTerritory")
COORDINATOR = SearchAttributeKey.for_keyword("AllianceCoordinator")
ROUND = SearchAttributeKey.for_int("AllianceRound")
DEADLINE = SearchAttributeKey.for_datetime("AllianceDeadline")
PENDING = SearchAttributeKey.for_int("AlliancePending")
OUTCOME = SearchAttributeKey.for_keyword("AllianceOutcome")

ALL = (PHASE, TERRITORY, COORDINATOR, ROUND, DEADLINE, PENDING, OUTCOME)
