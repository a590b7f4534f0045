"""What every kind of step has: who it waits for, whether it closes once they all acted, what
happens at its deadline, and what closing it records. A kind's module overrides what it does
differently (domain/steps/<kind>.py)."""

from __future__ import annotations

from datetime import datetime

from domain import events as ev
from domain.models import Participant, Phase, Role, Step
from domain.state import ProjectState
from domain.steps.walk import enter_next


class Runner:
    kind: Phase
    # May close as soon as everyone expected has acted (when its step says close_when_complete):
    # co-design closes by its plan, implementation and pauses wait for nobody.
    closes_when_everyone_acted: bool = False

    def expected(self, state: ProjectState, step: Step) -> list[Participant]:
        """Everyone the open step waits for, acted or not."""
        return []

    def has_acted(self, state: ProjectState, step: Step, participant_id: str) -> bool:
        return True

    def stays_open_at_deadline(self, state: ProjectState, step: Step) -> bool:
        """At the deadline, the step stays open (the facilitator is told) when it has nothing
        to close on: a co-design without a plan, a decision without its text."""
        return not self.has_something_to_close_on(state, step)

    def has_something_to_close_on(self, state: ProjectState, step: Step) -> bool:
        return True

    def closing(
        self, state: ProjectState, step: Step, now: datetime, closed: ev.PhaseClosed
    ) -> list[ev.EventData]:
        """What closing records: the close, then the next step (nothing at the end)."""
        return [closed, *enter_next(state, step, now)]


def facilitators(state: ProjectState) -> list[Participant]:
    return [p for p in state.active() if p.role == Role.facilitator]


def partners(state: ProjectState) -> list[Participant]:
    return [p for p in state.active() if p.role == Role.partner]
