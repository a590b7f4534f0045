"""Review: an adopted decision looked at again. The project reaches the step before the
decision's review date and waits for it (every participant told a week before); the step then
opens, and its approvers answer keep, amend or end. "keep" and "end" each carry by the step's
rule (as a decision on that choice would); neither carrying, the decision is amended: back to
co-design, the adopted plan as the first draft. Too few answers: the decision stays as it is."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import events as ev
from domain import rules, templates
from domain.models import Outcome, Participant, Phase, ReviewChoice, Step, Tally
from domain.state import ProjectState, rule_for
from domain.steps.base import Runner
from domain.steps.walk import enter_next, named, open_step, reopened

# Every participant hears of a review this long before it opens.
REVIEW_NOTICE = timedelta(days=7)


def reviewers(state: ProjectState, step: Step) -> list[Participant]:
    approval = templates.review_approval(step)
    return [p for p in state.active() if approval.approvers.includes(p)]


def counts(state: ProjectState, step: Step) -> dict[ReviewChoice, int]:
    voting = {p.id for p in reviewers(state, step)}
    given = [a.choice for pid, a in state.review_answers.items() if pid in voting]
    return {choice: given.count(choice) for choice in ReviewChoice}


def carries(state: ProjectState, step: Step, choice: ReviewChoice) -> Outcome:
    """Whether this choice carries by the step's rule: the others count as objections."""
    rule = rule_for(state, templates.review_approval(step))
    counted = counts(state, step)
    voters = len(reviewers(state, step))
    answers = sum(counted.values())
    tally = Tally(
        voters=voters,
        consents=counted[choice],
        objections=answers - counted[choice],
        abstentions=0,
        silent=voters - answers,
    )
    return rules.outcome_of(rule.rule, tally, rule.quorum)


def reviewed(state: ProjectState, step: Step) -> ev.DecisionReviewed:
    rule = rule_for(state, templates.review_approval(step))
    keep = carries(state, step, ReviewChoice.keep)
    if keep == Outcome.no_quorum:
        outcome, quorum_met = ReviewChoice.keep, False  # too few answered: nothing changes
    elif keep == Outcome.adopted:
        outcome, quorum_met = ReviewChoice.keep, True
    elif carries(state, step, ReviewChoice.end) == Outcome.adopted:
        outcome, quorum_met = ReviewChoice.end, True
    else:
        outcome, quorum_met = ReviewChoice.amend, True
    target = templates.amended_in(state.template, step)
    return ev.DecisionReviewed(
        round=state.round,
        step=named(step),
        rule=rule.rule,
        quorum=rule.quorum,
        outcome=outcome,
        voters=len(reviewers(state, step)),
        counts={c.value: n for c, n in counts(state, step).items()},
        quorum_met=quorum_met,
        amend_to=target.id if target is not None and outcome == ReviewChoice.amend else None,
        answers=[a for pid, a in state.review_answers.items()
                 if pid in {p.id for p in reviewers(state, step)}],
    )  # fmt: skip


def notice_due(state: ProjectState) -> datetime | None:
    """When the waiting review's notice goes to every participant (at once when the review is
    less than a week away); None once sent."""
    if not state.review_waiting or state.review_noticed or state.deadline is None:
        return None
    return state.deadline - REVIEW_NOTICE


class Review(Runner):
    kind = Phase.review
    closes_when_everyone_acted = True

    def expected(self, state: ProjectState, step: Step) -> list[Participant]:
        if state.review_waiting:
            return []  # nobody acts before the review date
        return reviewers(state, step)

    def has_acted(self, state: ProjectState, step: Step, participant_id: str) -> bool:
        return participant_id in state.review_answers

    def has_something_to_close_on(self, state: ProjectState, step: Step) -> bool:
        return not state.review_waiting

    def closing(
        self, state: ProjectState, step: Step, now: datetime, closed: ev.PhaseClosed
    ) -> list[ev.EventData]:
        result = reviewed(state, step)
        if result.outcome == ReviewChoice.keep:
            return [closed, result, *enter_next(state, step, now)]
        if result.outcome == ReviewChoice.end:
            return [closed, result]  # the report, then the project closes
        back = templates.amended_in(state.template, step)
        assert back is not None, "a review's template names where to amend (checked)"
        return [closed, result, open_step(state, reopened(state, back), state.round + 1, now)]


RUNNER = Review()
