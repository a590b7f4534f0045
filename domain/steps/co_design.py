"""Co-design: partners propose, amend and endorse; the facilitator's plan closes the step and
opens the next (a decision). Without a plan at the deadline it stays open: there is nothing to
decide on, and the facilitator is told."""

from __future__ import annotations

from datetime import datetime

from domain import events as ev
from domain.models import Participant, Phase, Step
from domain.state import ProjectState
from domain.steps.base import Runner, facilitators
from domain.steps.walk import closed_event, enter_next


class CoDesign(Runner):
    kind = Phase.co_design

    def expected(self, state: ProjectState, step: Step) -> list[Participant]:
        return facilitators(state)

    def has_acted(self, state: ProjectState, step: Step, participant_id: str) -> bool:
        return state.plan is not None

    def has_something_to_close_on(self, state: ProjectState, step: Step) -> bool:
        return False  # its plan closes it, never a deadline


def close_after_plan(state: ProjectState, now: datetime) -> list[ev.EventData]:
    step = state.current_step()
    assert step is not None
    return [closed_event(state, step, "plan_submitted"), *enter_next(state, step, now)]


RUNNER = CoDesign()
