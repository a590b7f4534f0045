"""The partnership charter: the facilitator writes a version (from the French model, in
sections), partners comment on a section or propose a new wording, then answer the version as
they answer a decision. All consent: the charter is adopted, each consent dated (its
signatures). An objection stands: the facilitator writes the next version, answering it, up to
the step's bound on versions; past it, the project ends not adopted."""

from __future__ import annotations

from datetime import datetime

from domain import events as ev
from domain.models import AnswerKind, Outcome, Participant, Phase, Step
from domain.state import ProjectState, answer_key
from domain.steps.base import Runner, facilitators
from domain.steps.decision import result, step_outcome
from domain.steps.walk import enter_next
from domain.templates import approvals_of_step

# Versions a charter step allows unless its template says (if_not_adopted.max_rounds).
CHARTER_VERSIONS = 3


def versions_allowed(step: Step) -> int:
    return step.if_not_adopted.max_rounds if step.if_not_adopted else CHARTER_VERSIONS


class CharterStep(Runner):
    kind = Phase.charter
    closes_when_everyone_acted = True

    def expected(self, state: ProjectState, step: Step) -> list[Participant]:
        if state.charter_awaiting:
            return facilitators(state)  # the next version comes first
        approvals = approvals_of_step(step)
        return [p for p in state.active() if any(a.approvers.includes(p) for a in approvals)]

    def has_acted(self, state: ProjectState, step: Step, participant_id: str) -> bool:
        if state.charter_awaiting:
            return False
        who = state.participants.get(participant_id)
        return who is not None and all(
            answer_key(a.id, participant_id) in state.answers
            for a in approvals_of_step(step)
            if a.approvers.includes(who)
        )

    def has_something_to_close_on(self, state: ProjectState, step: Step) -> bool:
        return not state.charter_awaiting

    def closing(
        self, state: ProjectState, step: Step, now: datetime, closed: ev.PhaseClosed
    ) -> list[ev.EventData]:
        version = state.charter.versions[-1].number
        results = [result(state, a) for a in approvals_of_step(step)]
        if step_outcome(step, results) == Outcome.adopted:
            signatures = {
                a.participant_id: a.at
                for a in state.answers.values()
                if a.kind == AnswerKind.consent and a.at is not None
            }
            adopted = ev.CharterAdopted(version=version, approvals=results, signatures=signatures)
            return [closed, adopted, *enter_next(state, step, now)]
        objections: dict[str, str] = {}
        for r in results:
            objections |= r.objections
        reviewed = ev.CharterReviewed(version=version, approvals=results, objections=objections)
        if len(state.charter.versions) < versions_allowed(step):
            # The step stays open: the facilitator writes the next version.
            return [reviewed]
        return [closed, reviewed, ev.ProjectClosed(outcome=Outcome.not_adopted)]


RUNNER = CharterStep()


# -- amending the charter in force, later in the project -------------------------------------


def amendment_expected(state: ProjectState) -> list[Participant]:
    """Who answers the amendment: every partner asked when it was proposed and still active
    (the same consent as the charter's)."""
    asked = state.amendment.expected if state.amendment is not None else []
    return [p for p in state.active() if p.role == "partner" and (not asked or p.id in asked)]


def amendment_complete(state: ProjectState) -> bool:
    found = state.amendment
    return found is not None and all(p.id in found.answers for p in amendment_expected(state))


def amendment_closed(state: ProjectState, now: datetime, cause: str) -> ev.CharterAmendmentClosed:
    """The amendment's end: adopted when every partner consented; otherwise not (an
    objection, or a partner silent at its day). The suspended step's deadline moves by the
    time the amendment took."""
    found = state.amendment
    assert found is not None
    expected = [p.id for p in amendment_expected(state)]
    missing = [pid for pid in expected if pid not in found.answers]
    objections = {
        pid: found.reasons.get(pid, "")
        for pid in expected
        if found.answers.get(pid) == AnswerKind.object
    }
    adopted = bool(expected) and not missing and not objections
    signatures = {pid: found.answered_at.get(pid, now) for pid in expected} if adopted else {}
    # The step's deadline moves by the time taken: not a pause's date (it was not suspended),
    # nor a deadline already passed (the step was told then), nor at a cancellation.
    moved = None
    if (
        cause != "cancelled"
        and state.deadline is not None
        and state.phase_open
        and not state.keeps_its_date
        and not state.escalated
        and state.deadline > found.opened_at
    ):
        moved = state.deadline + (now - found.opened_at)
    return ev.CharterAmendmentClosed(
        version=found.version,
        adopted=adopted,
        cause=cause,
        signatures=signatures,
        objections=objections,
        missing=missing,
        deadline=moved,
    )
