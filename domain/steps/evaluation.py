"""Evaluation: every partner scores each indicator of the adopted plan; under rules 2 the
facilitator's conclusion then closes it (domain/rules.py)."""

from __future__ import annotations

from domain import rules
from domain.models import Participant, Phase, Step
from domain.state import ProjectState
from domain.steps.base import Runner, facilitators, partners


class Evaluation(Runner):
    kind = Phase.evaluation
    closes_when_everyone_acted = True

    def expected(self, state: ProjectState, step: Step) -> list[Participant]:
        if (
            rules.concludes_evaluation(state)
            and state.phase == Phase.evaluation
            and rules.partners_assessed(state)
        ):
            return facilitators(state)
        return partners(state)

    def has_acted(self, state: ProjectState, step: Step, participant_id: str) -> bool:
        if rules.is_facilitator(state, participant_id):
            return state.concluded
        return rules.assessed(state, participant_id)


RUNNER = Evaluation()
