"""The walk through a project's template: opening a step, and what follows one."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import events as ev
from domain import templates
from domain.models import Outcome, Phase, Step
from domain.state import ProjectState


def named(step: Step) -> str | None:
    """How events name a step: not at all where its id is its kind's (so a co-construction
    project records what every 1.x project recorded)."""
    return None if step.id == step.kind.value else step.id


def open_step(
    state: ProjectState, step: Step, round_: int, now: datetime
) -> ev.PhaseOpened | ev.ReviewScheduled:
    """A step opened now; a review before its date waits for it."""
    if step.kind == Phase.review:
        when = review_date(state, step, now)
        if when > now:
            return ev.ReviewScheduled(round=round_, step=named(step), opens_at=when)
    return step_opened(step, round_, now)


def review_date(state: ProjectState, step: Step, now: datetime) -> datetime:
    """A review's date: the decision's own (set with the plan or the outcome), else the
    step's period after the adoption."""
    if state.phase == Phase.decision and state.plan is not None:
        # Entered as the decision closes adopted (its event not folded yet): from now.
        return state.plan.review_on or now + (step.after or timedelta(0))
    if state.phase == Phase.review:
        # After a review that kept the decision: the next one counts from it.
        return now + (step.after or timedelta(0))
    if state.review_on is not None:
        return state.review_on
    adopted = [d for d in state.decisions if d.outcome == Outcome.adopted and not d.voided]
    since = state.decided_at.get(adopted[-1].round, now) if adopted else now
    return since + (step.after or timedelta(0))


def step_opened(step: Step, round_: int, now: datetime) -> ev.PhaseOpened:
    if step.kind == Phase.wait and step.until is not None:
        deadline = step.until
    else:
        assert step.duration is not None
        deadline = now + step.duration
    return ev.PhaseOpened(phase=step.kind, round=round_, deadline=deadline, step=named(step))


def skipped(state: ProjectState, step: Step) -> bool:
    """A charter step is skipped when the partners agreed their charter before the project."""
    return step.kind == Phase.charter and state.charter.agreed is not None


def first_step(state: ProjectState, now: datetime) -> ev.PhaseOpened | ev.ReviewScheduled:
    first = state.template.steps[0]
    if skipped(state, first):
        following = _following(state, first)
        first = following if following is not None else first
    return open_step(state, first, 1, now)


def _following(state: ProjectState, step: Step) -> Step | None:
    following = templates.next_step(state.template, step.id)
    while following is not None and skipped(state, following):
        following = templates.next_step(state.template, following.id)
    return following


def reopened(state: ProjectState, step: Step) -> Step:
    """The step a loop goes back to: past a charter step the partners agreed before."""
    if not skipped(state, step):
        return step
    return _following(state, step) or step


def enter_next(state: ProjectState, step: Step, now: datetime) -> list[ev.EventData]:
    """The step that follows, opened in the same round; none at the template's end (the
    project then publishes its report and closes)."""
    following = _following(state, step)
    if following is None:
        return []
    return [open_step(state, following, state.round, now)]


def closed_event(state: ProjectState, step: Step, cause: str) -> ev.PhaseClosed:
    return ev.PhaseClosed(
        phase=step.kind,
        round=state.round,
        cause=cause,
        deadline=state.deadline,
        step=named(step),
    )
