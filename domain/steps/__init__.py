"""The steps a project walks through: one runner per kind of step (a module each: what the
step waits for, when it closes, what closing records), and the questions every layer asks of
the open step: who is expected, who is still pending, whether it may close now.

Pure, like the rest of the domain; the workflow only keeps time and calls the aggregate."""

from __future__ import annotations

from datetime import datetime

from domain import events as ev
from domain.models import Participant, Phase, Step
from domain.state import ProjectState
from domain.steps import (
    action,
    charter,
    co_design,
    decision,
    diagnosis,
    evaluation,
    review,
    wait,
)
from domain.steps.base import Runner
from domain.steps.walk import closed_event

RUNNERS: dict[Phase, Runner] = {
    r.kind: r
    for r in (
        charter.RUNNER,
        diagnosis.RUNNER,
        co_design.RUNNER,
        decision.RUNNER,
        action.RUNNER,
        evaluation.RUNNER,
        wait.RUNNER,
        review.RUNNER,
    )
}


def runner_of(step: Step) -> Runner:
    return RUNNERS[step.kind]


def expected(state: ProjectState) -> list[Participant]:
    """Everyone the open step waits for, acted or not."""
    step = state.current_step()
    if not state.phase_open or step is None:
        return []
    return runner_of(step).expected(state, step)


def expected_in(state: ProjectState, step: Step) -> list[Participant]:
    """Everyone a step waits for, with the participants as they are now."""
    return runner_of(step).expected(state, step)


def has_acted(state: ProjectState, participant_id: str) -> bool:
    step = state.current_step()
    if step is None:
        return True
    return runner_of(step).has_acted(state, step, participant_id)


def pending(state: ProjectState) -> list[Participant]:
    """Those expected who have not acted yet: reminders and escalations go to them."""
    return [p for p in expected(state) if not has_acted(state, p.id)]


def is_complete(state: ProjectState) -> bool:
    """Everyone expected has acted, so a step that closes when complete may close now
    (co-design closes by its plan, and implementation and pauses wait for nobody)."""
    step = state.current_step()
    if not state.phase_open or step is None:
        return False
    runner = runner_of(step)
    return (
        runner.closes_when_everyone_acted
        and runner.has_something_to_close_on(state, step)
        and not pending(state)
    )


def stays_open_at_deadline(state: ProjectState) -> bool:
    step = state.current_step()
    return step is not None and runner_of(step).stays_open_at_deadline(state, step)


def close(state: ProjectState, now: datetime, cause: str) -> list[ev.EventData]:
    """Close the open step for this cause ("complete", "deadline", "facilitator"): the
    close, what it decides, and the next step or the end."""
    step = state.current_step()
    assert step is not None, "only an open step closes"
    return runner_of(step).closing(state, step, now, closed_event(state, step, cause))
