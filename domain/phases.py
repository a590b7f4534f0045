"""What closing a phase does (DESIGN.md's phase table): the events it records."""

from __future__ import annotations

from datetime import datetime

from domain import events as ev
from domain import rules
from domain.models import Outcome, Phase
from domain.state import ProjectState


def open_phase(state: ProjectState, phase: Phase, round_: int, now: datetime) -> ev.PhaseOpened:
    assert state.spec is not None
    duration = state.spec.process.settings_for(phase).duration
    return ev.PhaseOpened(phase=phase, round=round_, deadline=now + duration)


def close_after_plan(state: ProjectState, now: datetime) -> list[ev.EventData]:
    return [
        ev.PhaseClosed(
            phase=Phase.co_design,
            round=state.round,
            cause="plan_submitted",
            deadline=state.deadline,
        ),
        open_phase(state, Phase.decision, state.round, now),
    ]


def close_phase(state: ProjectState, now: datetime, cause: str) -> list[ev.EventData]:
    assert state.spec is not None
    process = state.spec.process
    closed = ev.PhaseClosed(
        phase=state.phase, round=state.round, cause=cause, deadline=state.deadline
    )
    match state.phase:
        case Phase.diagnosis:
            return [closed, open_phase(state, Phase.co_design, state.round, now)]
        case Phase.decision:
            outcome, tally = rules.decision(state)
            decision = ev.DecisionReached(
                round=state.round,
                rule=process.rule,
                tally=tally,
                outcome=outcome,
                objections=rules.standing_objections(state),
            )
            if outcome == Outcome.adopted:
                skip_action = process.action.duration.total_seconds() == 0
                after = Phase.evaluation if skip_action else Phase.action
                return [closed, decision, open_phase(state, after, state.round, now)]
            if state.round < process.max_rounds:
                return [
                    closed,
                    decision,
                    open_phase(state, Phase.co_design, state.round + 1, now),
                ]
            return [closed, decision, ev.ProjectClosed(outcome=Outcome.not_adopted)]
        case Phase.action:
            return [closed, open_phase(state, Phase.evaluation, state.round, now)]
        case Phase.evaluation:
            # The workflow publishes the report, then records report_published and the close.
            return [closed]
    raise ValueError(f"the {state.phase.value} phase does not close this way")
