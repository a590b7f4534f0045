"""Diagnosis: every partner contributes (a need, a resource, an observation, a constraint)."""

from __future__ import annotations

from domain.models import Participant, Phase, Step
from domain.state import ProjectState
from domain.steps.base import Runner, partners


class Diagnosis(Runner):
    kind = Phase.diagnosis
    closes_when_everyone_acted = True

    def expected(self, state: ProjectState, step: Step) -> list[Participant]:
        return partners(state)

    def has_acted(self, state: ProjectState, step: Step, participant_id: str) -> bool:
        # This round's contributions: a project sent back to its diagnosis asks again.
        return any(
            c.participant_id == participant_id and (c.round or 1) == state.round
            for c in state.contributions
        )


RUNNER = Diagnosis()
