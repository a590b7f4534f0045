"""Decision: one or more approvals run at once on the round's plan (or, with no co-design
before it, on the text the facilitator writes when the step opens). Each approval's approvers
answer by its rule and quorum; the step's completion rule (all adopted, or any) makes the
result; not adopted, the project goes back to the step the template names, for one more round,
or ends not adopted."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction

from domain import events as ev
from domain import rules, templates
from domain.models import (
    AnswerKind,
    Approval,
    ApprovalResult,
    CollegeResult,
    Completion,
    DecisionRule,
    Judgement,
    ObjectionJudgement,
    Outcome,
    Participant,
    Phase,
    Role,
    Step,
    Tally,
)
from domain.state import ProjectState, answer_key, rule_for, step_id
from domain.steps.base import Runner, facilitators
from domain.steps.walk import enter_next, named, open_step, reopened


def approvers(state: ProjectState, approval: Approval) -> list[Participant]:
    return [p for p in state.active() if approval.approvers.includes(p)]


def approving_roles(state: ProjectState) -> frozenset[Role]:
    """The roles some approval of the project's template lets answer."""
    return frozenset(
        templates.roles_that_approve(state.template, list(state.participants.values()))
    )


def approvals_of(state: ProjectState, participant: Participant) -> list[Approval]:
    """The approvals of the open decision (or charter) step this participant answers."""
    step = state.current_step()
    if step is None or step.kind not in templates.DECIDING:
        return []
    return [a for a in templates.approvals_of_step(step) if a.approvers.includes(participant)]


def tally(state: ProjectState, approval: Approval) -> Tally:
    counted = tally_of(state, approval, approvers(state, approval))
    return counted.model_copy(update={"concerns": len(judged(state, approval, Judgement.concern))})


def tally_of(state: ProjectState, approval: Approval, voting: list[Participant]) -> Tally:
    """These approvers' answers to this approval, counted (all of them, or a college's)."""
    given = [state.answers.get(answer_key(approval.id, p.id)) for p in voting]
    kinds = [a.kind for a in given if a is not None]
    return Tally(
        voters=len(voting),
        consents=kinds.count(AnswerKind.consent),
        objections=kinds.count(AnswerKind.object),
        abstentions=kinds.count(AnswerKind.abstain),
        silent=len(voting) - len(kinds),
    )


def judged(
    state: ProjectState, approval: Approval, kind: Judgement | None = None
) -> dict[str, ObjectionJudgement]:
    """The standing objections of this approval the facilitator judged (of one kind)."""
    found = {}
    for pid in standing_objections(state, approval):
        judgement = state.judgements.get(answer_key(approval.id, pid))
        if judgement is not None and (kind is None or judgement.judgement == kind):
            found[pid] = judgement
    return found


def unjudged(state: ProjectState, step: Step) -> list[str]:
    """Objections under consent the facilitator has yet to judge (rules version 3)."""
    if not rules.judges_objections(state):
        return []
    return [
        answer_key(a.id, pid)
        for a in step.approvals
        if rule_for(state, a).rule == DecisionRule.consent
        for pid in standing_objections(state, a)
        if answer_key(a.id, pid) not in state.judgements
    ]


def standing_objections(state: ProjectState, approval: Approval) -> dict[str, str]:
    voting = {p.id for p in approvers(state, approval)}
    return {
        a.participant_id: a.reason or ""
        for a in state.answers.values()
        if a.approval == approval.id and a.kind == AnswerKind.object and a.participant_id in voting
    }


def college_weights(state: ProjectState, approval: Approval) -> dict[str, Fraction]:
    """The colleges' weights now: as the template says, or as redistributed when one was
    emptied."""
    moved = state.college_weights.get(approval.id)
    if moved is not None:
        return {c: Fraction(w) for c, w in moved.items()}
    return approval.weights()


def college_results(state: ProjectState, approval: Approval) -> list[CollegeResult]:
    weights = college_weights(state, approval)
    voting = approvers(state, approval)
    out = []
    for college in approval.colleges:
        members = [p for p in voting if approval.college_of(p) == college.id]
        counted = tally_of(state, approval, members)
        weight = weights.get(college.id, Fraction(0))
        # Abstentions count as answers, as in a plain majority.
        share = Fraction(counted.consents, counted.answers) if counted.answers else Fraction(0)
        out.append(CollegeResult(college=college.id, weight=str(weight), tally=counted,
                                 contributes=float(weight * share)))  # fmt: skip
    return out


def weighted_outcome(results: list[CollegeResult], quorum: float) -> tuple[Outcome, Fraction]:
    """Cooperatives' proportional count: each college gives its weight times its share of
    consents among its answers; adopted above one half (exactly half is not); the quorum is
    met college by college (an emptied college, of weight 0, asks none)."""
    counted = [r for r in results if Fraction(r.weight) > 0]
    if not counted or any(r.tally.voters == 0 for r in counted):
        return Outcome.no_quorum, Fraction(0)
    for r in counted:
        if quorum > 0 and r.tally.answers / r.tally.voters < quorum:
            return Outcome.no_quorum, Fraction(0)
    total = sum(
        (Fraction(r.weight) * Fraction(r.tally.consents, r.tally.answers) for r in counted
         if r.tally.answers),
        Fraction(0),
    )  # fmt: skip
    return (Outcome.adopted if total > Fraction(1, 2) else Outcome.not_adopted), total


def result(state: ProjectState, approval: Approval) -> ApprovalResult:
    counted = tally(state, approval)
    rule = rule_for(state, approval)
    outcome = rules.outcome_of(rule.rule, counted, rule.quorum)
    colleges: list[CollegeResult] = []
    weighted = None
    if approval.colleges and rule.rule == DecisionRule.majority and counted.voters:
        colleges = college_results(state, approval)
        outcome, total = weighted_outcome(colleges, rule.quorum)
        weighted = float(total)
    return ApprovalResult(
        approval=approval.id,
        rule=rule.rule,
        quorum=rule.quorum,
        tally=counted,
        outcome=outcome,
        objections=standing_objections(state, approval),
        void=counted.voters == 0,
        judgements=judged(state, approval),
        colleges=colleges,
        weighted=weighted,
        delegated={
            a.participant_id: a.by
            for p in approvers(state, approval)
            if (a := state.answers.get(answer_key(approval.id, p.id))) is not None and a.by
        },
    )


def colleges_emptied(state: ProjectState) -> list[ev.CollegeEmptied]:
    """A college that lost its last member gives its weight to the others, in proportion
    (recorded once, the other colleges keeping at least one member)."""
    found = []
    for step in state.template.steps:
        for approval in step.approvals:
            if not approval.colleges:
                continue
            weights = college_weights(state, approval)
            voting = approvers(state, approval)
            alive = {approval.college_of(p) for p in voting}
            for college in approval.colleges:
                if college.id in alive or weights.get(college.id, Fraction(0)) == 0:
                    continue
                rest = sum((w for c, w in weights.items() if c != college.id), Fraction(0))
                if rest == 0:
                    continue  # nobody left to give it to
                weights = {
                    c: Fraction(0) if c == college.id else w / rest for c, w in weights.items()
                }
                found.append(ev.CollegeEmptied(approval=approval.id, college=college.id,
                                               weights={c: str(w) for c, w in weights.items()}))  # fmt: skip
    return found


def step_outcome(step: Step, results: list[ApprovalResult]) -> Outcome:
    """The step's result from its approvals' by its completion rule; a void approval (no
    approver left) counts for neither side."""
    counted = [r for r in results if not r.void]
    if not counted:
        return Outcome.no_quorum  # nobody left to decide
    adopted = [r.outcome == Outcome.adopted for r in counted]
    if all(adopted) if step.completion == Completion.all else any(adopted):
        return Outcome.adopted
    if all(r.outcome == Outcome.no_quorum for r in counted):
        return Outcome.no_quorum
    return Outcome.not_adopted


def decided(state: ProjectState, step: Step) -> ev.DecisionReached:
    results = [result(state, a) for a in step.approvals]
    first = results[0]
    objections: dict[str, str] = {}
    concerns: dict[str, str] = {}
    for r in results:
        for pid, reason in r.objections.items():
            judgement = r.judgements.get(pid)
            if judgement is not None and judgement.judgement == Judgement.concern:
                concerns[pid] = reason  # recorded; the next plan need not answer it
                continue
            # One objector in two approvals at once: the next plan answers both reasons.
            objections[pid] = f"{objections[pid]}\n{reason}" if pid in objections else reason
    for pid in list(concerns):
        if pid in objections:  # valid in another approval: it is answered there
            del concerns[pid]
    return ev.DecisionReached(
        round=state.round,
        rule=first.rule,
        tally=first.tally,
        outcome=step_outcome(step, results),
        objections=objections,
        step=named(step),
        approvals=results,
        concerns=concerns,
    )


class Decision(Runner):
    kind = Phase.decision
    closes_when_everyone_acted = True

    def expected(self, state: ProjectState, step: Step) -> list[Participant]:
        if state.plan is None:
            return facilitators(state)  # the text put to decision comes first
        voters = [p for p in state.active() if any(a.approvers.includes(p) for a in step.approvals)]
        if unjudged(state, step):  # the facilitator judges each objection before the close
            voters += [f for f in facilitators(state) if f not in voters]
        return voters

    def has_acted(self, state: ProjectState, step: Step, participant_id: str) -> bool:
        if state.plan is None:
            return False
        who = state.participants.get(participant_id)
        if who is None:
            return False
        if who.role == Role.facilitator and unjudged(state, step):
            return False
        return all(
            answer_key(a.id, participant_id) in state.answers
            for a in step.approvals
            if a.approvers.includes(who)
        )

    def has_something_to_close_on(self, state: ProjectState, step: Step) -> bool:
        # No text yet: nothing to decide on, even with nobody left to write it.
        return state.plan is not None

    def closing(
        self, state: ProjectState, step: Step, now: datetime, closed: ev.PhaseClosed
    ) -> list[ev.EventData]:
        decision = decided(state, step)
        if decision.outcome == Outcome.adopted:
            return [closed, decision, *enter_next(state, step, now)]
        loop = step.if_not_adopted
        # Rounds count from the cycle's first: a review's amendment starts a new cycle.
        if loop is not None and state.round - state.cycle_from + 1 < loop.max_rounds:
            back = reopened(state, state.template.step(loop.to))
            return [closed, decision, open_step(state, back, state.round + 1, now)]
        review = state.reviews[-1] if state.amending and state.reviews else None
        if review is not None:
            kept = state.template.step(step_id(Phase.review, review.step))
            target = templates.amended_in(state.template, kept)
            index = state.template.index
            if target is not None and index(target.id) <= index(step.id) < index(kept.id):
                # The amendment was not adopted: the decision in force stays, and the project
                # goes on as after a review that kept it.
                dropped = ev.AmendmentDropped(round=state.round)
                return [closed, decision, dropped, *enter_next(state, kept, now)]
        return [closed, decision, ev.ProjectClosed(outcome=Outcome.not_adopted)]


RUNNER = Decision()
