"""The deciders: one per action, each returns the events its command records (or refuses).

Who may act and in which phase is checked before, from the action table (actions.py); a
decider checks the content. Pure: time comes in as `now`, ids derive from sequence numbers.
An action that would change nothing returns no event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import commands as cmd
from domain import events as ev
from domain import rules, steps, templates
from domain.errors import Rejected
from domain.fields import MAX_PHASE
from domain.models import (
    CHARTER_SECTIONS,
    AnswerKind,
    Approval,
    CharterNote,
    CharterVersion,
    Contribution,
    DecisionRule,
    Delegation,
    Governance,
    Indicator,
    Joining,
    ObjectionJudgement,
    Participant,
    Phase,
    Plan,
    Proposal,
    ReviewChoice,
    Role,
    Step,
    Term,
)
from domain.state import ProjectState, answer_key, rule_for
from domain.steps import charter as charter_step
from domain.steps import review, walk
from domain.steps.co_design import close_after_plan
from domain.steps.decision import approvals_of
from domain.templates import approvals_of_step, approvers_in_words

# -- what deciders look up --------------------------------------------------------------------


def phase_words(state: ProjectState) -> str:
    if state.is_over or state.phase_open:
        return state.phase.value
    return f"{state.phase.value} (closed, moving on)"


def active_participant(state: ProjectState, participant_id: str) -> Participant:
    p = state.participants.get(participant_id)
    if p is None or not p.active:
        raise Rejected(
            "unknown_participant", f"no active participant {participant_id!r} in this project"
        )
    return p


def proposal(state: ProjectState, proposal_id: str) -> Proposal:
    p = state.proposals.get(proposal_id)
    if p is None:
        known = ", ".join(state.proposals) or "none yet"
        raise Rejected(
            "unknown_proposal", f"no proposal {proposal_id!r} in this project (known: {known})"
        )
    return p


def next_seq(state: ProjectState) -> int:
    return state.last_seq + 1


def no_personal_data(**fields: object) -> None:
    """People's own details live in the contact directory: the project's history, which
    cannot forget, never records them (the API writes them to the directory first)."""
    given = sorted(name for name, value in fields.items() if value)
    if given:
        raise Rejected(
            "personal_data",
            f"{', '.join(given)}: contact details go to the contact directory, never into "
            "the project's history",
        )


def new_participant(
    state: ProjectState, draft: cmd.ParticipantDraft, replacing: str | None = None
) -> Participant:
    no_personal_data(
        person_name=draft.person_name, email=draft.email, webhook_url=draft.webhook_url
    )
    pid = draft.id or f"part-{next_seq(state)}"
    if pid in state.participants:
        raise Rejected("already_exists", f"a participant {pid!r} already exists in this project")
    # One e-mail per project is the directory's to keep: the workflow never sees addresses.
    return Participant(**draft.model_dump(exclude={"id"}), id=pid)


def keeps_roles(state: ProjectState, leaving: Participant) -> None:
    if leaving.role not in (Role.coordinator, Role.facilitator):
        return
    others = [p for p in state.active() if p.role == leaving.role and p.id != leaving.id]
    if not others:
        raise Rejected(
            "last_of_role",
            f"{leaving.display_name} is the project's only {leaving.role.value}; "
            "replace them instead of removing them",
        )


# -- one decider per action -------------------------------------------------------------------


def add_contribution(
    state: ProjectState, c: cmd.AddContribution, actor: Participant, now: datetime
) -> list[ev.EventData]:
    contribution = Contribution(
        id=f"contrib-{next_seq(state)}",
        participant_id=actor.id,
        kind=c.kind,
        text=c.text,
        round=state.round,
    )
    return [ev.ContributionAdded(contribution=contribution)]


def submit_proposal(
    state: ProjectState, c: cmd.SubmitProposal, actor: Participant, now: datetime
) -> list[ev.EventData]:
    pid = f"prop-{next_seq(state)}"
    indicators = [
        Indicator(id=f"{pid}.i{n}", name=d.name, target=d.target)
        for n, d in enumerate(c.indicators, start=1)
    ]
    submitted = Proposal(
        id=pid,
        author_id=actor.id,
        round=state.round,
        title=c.title,
        description=c.description,
        indicators=indicators,
    )
    return [ev.ProposalSubmitted(proposal=submitted)]


def amend_proposal(
    state: ProjectState, c: cmd.AmendProposal, actor: Participant, now: datetime
) -> list[ev.EventData]:
    proposal(state, c.proposal_id)
    return [ev.ProposalAmended(proposal_id=c.proposal_id, participant_id=actor.id, text=c.text)]


def endorse_proposal(
    state: ProjectState, c: cmd.EndorseProposal, actor: Participant, now: datetime
) -> list[ev.EventData]:
    endorsed = proposal(state, c.proposal_id)
    if endorsed.author_id == actor.id:
        raise Rejected("own_proposal", "you cannot endorse your own proposal")
    if actor.id in endorsed.endorsements:
        return []  # endorsed already: nothing changes
    return [ev.ProposalEndorsed(proposal_id=c.proposal_id, participant_id=actor.id)]


def submit_plan(
    state: ProjectState, c: cmd.SubmitPlan, actor: Participant, now: datetime
) -> list[ev.EventData]:
    """In co-design, the plan consolidates proposals (or is the facilitator's own, when none
    came) and closes the step; in a decision step with no co-design before it, the
    facilitator writes the text put to decision."""
    in_decision = state.phase == Phase.decision
    if in_decision and state.plan is not None:
        raise Rejected(
            "plan_already_set",
            f"the text put to this decision was written (round {state.plan.round}); a new "
            "text comes with the next round",
        )
    chosen = [proposal(state, pid) for pid in dict.fromkeys(c.proposal_ids)]
    for p in chosen:
        if p.withdrawn:
            raise Rejected(
                "proposal_withdrawn",
                f"the proposal {p.id!r} ({p.title}) was withdrawn by its author",
                field="proposal_ids",
            )
    to_answer = state.objections_to_answer
    for objector, reason in to_answer.items():
        if not c.objection_answers.get(objector, "").strip():
            who = state.participants.get(objector)
            name = who.display_name if who else objector
            raise Rejected(
                "objection_unanswered",
                f"the plan must answer the objection of {name} ({objector}): {reason!r}",
                field=f"objection_answers.{objector}",
            )
    unknown = sorted(set(c.objection_answers) - set(to_answer))
    if unknown:
        raise Rejected(
            "unknown_objection",
            f"there is no objection to answer from {', '.join(unknown)} "
            f"(objections to answer: {', '.join(to_answer) or 'none'})",
            field="objection_answers",
        )
    review_on_refusal(state, c.review_on, now)
    seq = next_seq(state)
    written = [
        Indicator(id=f"plan-{seq}.i{n}", name=d.name, target=d.target)
        for n, d in enumerate(c.indicators, start=1)
    ]
    plan = Plan(
        round=state.round,
        proposal_ids=[pr.id for pr in chosen],
        summary=c.summary,
        # Copied and frozen: later amendments to a proposal do not change what was decided.
        indicators=[i for pr in chosen for i in pr.indicators] + written,
        objection_answers=c.objection_answers,
        review_on=c.review_on,
    )
    if in_decision:
        step = state.current_step()
        assert step is not None and step.duration is not None
        late = state.deadline is None or state.deadline <= now
        return [
            ev.PlanSubmitted(
                plan=plan, answers_open=True, deadline=now + step.duration if late else None
            )
        ]
    return [ev.PlanSubmitted(plan=plan), *close_after_plan(state, now)]


def approval_answered(state: ProjectState, c: cmd.GiveAnswer, actor: Participant) -> Approval:
    """The approval this answer is for: the one named, or the only one this participant
    answers in the open step."""
    step = state.current_step()
    assert step is not None
    mine = approvals_of(state, actor)
    if c.approval is not None:
        named = next((a for a in approvals_of_step(step) if a.id == c.approval), None)
        if named is None:
            known = ", ".join(a.id for a in approvals_of_step(step))
            raise Rejected(
                "unknown_approval",
                f"no approval {c.approval!r} in this decision (approvals: {known})",
                field="approval",
            )
        if named not in mine:
            raise Rejected(
                "not_an_approver",
                f"only the {approvers_in_words(named.approvers)} answer the approval "
                f"{named.id!r} ({names_of(steps.decision.approvers(state, named))}); "
                f"{actor.organisation_name} is not among them",
            )
        return named
    if not mine:
        said = "; ".join(
            f"{a.id!r}: the {approvers_in_words(a.approvers)} "
            f"({names_of(steps.decision.approvers(state, a))})"
            for a in approvals_of_step(step)
        )
        raise Rejected(
            "not_an_approver",
            f"{actor.organisation_name} does not answer this decision; who answers {said}",
        )
    if len(mine) > 1:
        raise Rejected(
            "approval_required",
            f"you answer {len(mine)} approvals at once ({', '.join(a.id for a in mine)}): "
            "say which one this answer is for",
            field="approval",
        )
    return mine[0]


def names_of(people: list[Participant]) -> str:
    return ", ".join(p.organisation_name for p in people) or "nobody left"


def mail_asked_refusal(state: ProjectState, asked: cmd.MailAsked | None) -> None:
    """A reply by e-mail answers the step, round and version its mail asked about, or none."""
    if asked is None:
        return
    moved_on = state.step != asked.step or (asked.round and state.round != asked.round)
    if asked.version and (
        state.charter_awaiting
        or not state.charter.versions
        or state.charter.versions[-1].number != asked.version
    ):
        moved_on = True
    if moved_on:
        raise Rejected(
            "reply_too_late",
            "the e-mail this reply answers asked about a step, round or version that is over; "
            "answer what the project asks now, on your page",
        )


def give_answer(
    state: ProjectState, c: cmd.GiveAnswer, actor: Participant, now: datetime
) -> list[ev.EventData]:
    mail_asked_refusal(state, c.asked)
    held = delegations_held(state, actor.id, now) if state.phase == Phase.decision else []
    try:
        approval: Approval | None = approval_answered(state, c, actor)
    except Rejected as refused:
        # Not an approver, but answering for partners who are: their answers only.
        if refused.code != "not_an_approver" or not held or c.approval is not None:
            raise
        approval = None
    if state.phase == Phase.charter:
        if state.charter_awaiting:
            raise Rejected(
                "charter_not_published",
                "the facilitator has not yet published the version of the charter to answer; "
                "you will be told when it is",
            )
    elif state.plan is None:
        raise Rejected(
            "text_not_written",
            "the facilitator has not yet written the text put to this decision; you will be "
            "told when it is",
        )
    reason = c.reason or None
    if c.kind == AnswerKind.object and reason is None:
        raise Rejected(
            "reason_required",
            "an objection needs a reason, so that the next round can answer it",
            field="reason",
        )
    step = state.current_step()
    assert step is not None
    several = len(step.approvals) > 1
    own: list[ev.EventData] = []
    if approval is not None:
        given = state.answers.get(answer_key(approval.id, actor.id))
        if given is None or (given.kind, given.reason, given.by) != (c.kind, reason, None):
            # Named when the step has several approvals; one alone needs no name.
            named = approval.id if several else None
            own = [ev.AnswerGiven(participant_id=actor.id, kind=c.kind, reason=reason,
                                  approval=named, mail=c.mail)]  # fmt: skip
    answered = approval.id if approval is not None else None
    return own + answers_for(state, step, held, actor.id, c.kind, reason, answered)


def reopen_step(
    state: ProjectState, c: cmd.ReopenStep, actor: Participant, now: datetime
) -> list[ev.EventData]:
    """The facilitator reopens a step it closed by hand before its deadline, within the
    window, as long as nobody has acted in the step that followed."""
    point = state.reopenable
    if point is None:
        raise Rejected(
            "nothing_to_reopen",
            "only a step you closed by hand before its deadline can be reopened, as long as "
            "nobody has acted in the step that followed",
        )
    if point.phase == Phase.charter:
        raise Rejected(
            "charter_not_reopened",
            "a charter step is not reopened: its adoption stands; amend the charter instead",
        )
    if point.phase == Phase.review:
        raise Rejected(
            "review_not_reopened",
            "a review is not reopened: its result stands; set the next review date with the "
            "outcome instead",
        )
    window = state.spec.reopen_within if state.spec is not None else timedelta(days=7)
    if now - point.closed_at > window:
        raise Rejected(
            "reopen_window_passed",
            f"the step was closed on {point.closed_at.isoformat()}: a step is reopened within "
            f"{window.days} days of its close",
        )
    left = point.deadline - point.closed_at
    step = state.template.step(point.step)
    return [
        ev.StepReopened(
            phase=point.phase,
            round=point.round,
            step=walk.named(step),
            deadline=now + left,
            reason=c.reason,
            voided=len(state.decisions) > point.decisions,
        )
    ]


def edit_project(
    state: ProjectState, c: cmd.EditProject, actor: Participant, now: datetime
) -> list[ev.EventData]:
    """The coordinator changes the title, the description, or the durations of steps not
    opened yet; every change is an event with its reason."""
    assert state.spec is not None
    opened = {p.step or p.phase.value for p in state.periods}
    if not state.review_waiting:  # a review waiting for its date has not opened
        opened |= {state.step}
    ids = {s.id for s in state.template.steps}
    for step_id, length in c.durations.items():
        if step_id not in ids:
            raise Rejected("unknown_step", f"the template has no step {step_id!r} (steps: "
                           f"{', '.join(s.id for s in state.template.steps)})",
                           field=f"durations.{step_id}")  # fmt: skip
        if step_id in opened:
            raise Rejected(
                "step_already_opened",
                f"the step {step_id!r} has opened already: extend its deadline instead",
                field=f"durations.{step_id}",
            )
        kind = state.template.step(step_id).kind
        if kind == Phase.wait and state.template.step(step_id).until is not None:
            raise Rejected(
                "step_has_a_date",
                f"the pause {step_id!r} lasts until a date, not for a duration",
                field=f"durations.{step_id}",
            )
        if length <= timedelta(0) and kind != Phase.action:
            raise Rejected("phase_too_short", "a step lasts some time (only an implementation "
                           "may last 0, to skip it)", field=f"durations.{step_id}")  # fmt: skip
    title = c.title if c.title is not None and c.title != state.spec.title else None
    description = (
        c.description
        if c.description is not None and c.description != state.spec.description
        else None
    )
    durations = {k: v for k, v in c.durations.items() if state.template.step(k).duration != v}
    if title is None and description is None and not durations:
        return []  # nothing changes
    return [ev.ProjectEdited(title=title, description=description, durations=durations,
                             reason=c.reason)]  # fmt: skip


def withdraw_proposal(
    state: ProjectState, c: cmd.WithdrawProposal, actor: Participant, now: datetime
) -> list[ev.EventData]:
    """Its author withdraws a proposal before the plan: it stays in the record, withdrawn."""
    found = proposal(state, c.proposal_id)
    if found.author_id != actor.id:
        raise Rejected("not_the_author", "only its author withdraws a proposal")
    if found.withdrawn:
        return []
    return [ev.ProposalWithdrawn(proposal_id=found.id, participant_id=actor.id, reason=c.reason)]


def delegations_held(state: ProjectState, delegate: str, now: datetime) -> list[Delegation]:
    """The delegations this partner holds for the decision open now, from active partners."""
    return [
        d
        for d in state.delegations.values()
        if d.delegate == delegate
        and in_force(state, d, now)
        and (who := state.participants.get(d.delegator)) is not None
        and who.active
    ]


def answers_for(
    state: ProjectState,
    step: Step,
    held: list[Delegation],
    delegate: str,
    kind: AnswerKind,
    reason: str | None,
    answered: str | None = None,
) -> list[ev.EventData]:
    """The delegate's answer, given for each partner who delegated to it, unless that
    partner answered itself (its own answer always wins): in the approval the delegate
    answered when the partner is one of its approvers, else in each of the partner's."""
    out: list[ev.EventData] = []
    several = len(step.approvals) > 1
    for d in held:
        who = state.participants[d.delegator]
        theirs = [a for a in step.approvals if a.approvers.includes(who)]
        if answered is not None and any(a.id == answered for a in theirs):
            theirs = [a for a in theirs if a.id == answered]
        for a in theirs:
            given = state.answers.get(answer_key(a.id, who.id))
            if given is not None and given.by is None:
                continue  # it answered itself
            if given is not None and (given.kind, given.reason, given.by) == (kind, reason,
                                                                               delegate):  # fmt: skip
                continue
            out.append(ev.AnswerGiven(participant_id=who.id, kind=kind, reason=reason,
                                      approval=a.id if several else None, by=delegate))  # fmt: skip
    return out


def delegate_answer(
    state: ProjectState, c: cmd.DelegateAnswer, actor: Participant, now: datetime
) -> list[ev.EventData]:
    """A partner delegates its answer to another partner: for the decision open now, or
    until a moment. A delegate never passes a delegation on; nobody holds more than the set
    number at once."""
    to = state.participants.get(c.to)
    if to is None or not to.active or to.role != Role.partner or to.id == actor.id:
        partners = ", ".join(p.id for p in state.active() if p.role == Role.partner
                             and p.id != actor.id)  # fmt: skip
        raise Rejected("unknown_delegate", f"{c.to!r} is not another partner of this project "
                       f"(partners: {partners or 'none'})", field="to")  # fmt: skip
    if c.until is None and (state.phase != Phase.decision or not state.phase_open):
        raise Rejected(
            "no_decision_open",
            "no decision is open: delegate for a period instead (until a date)",
            field="until",
        )
    if c.until is not None and c.until <= now:
        raise Rejected("deadline_not_later", "a delegation lasts until a moment to come",
                       field="until")  # fmt: skip
    live = [d for d in state.delegations.values() if in_force(state, d, now)]
    if any(d.delegate == actor.id for d in live):
        raise Rejected(
            "delegation_chain",
            "you answer for another partner: a delegate never passes a delegation on",
        )
    if any(d.delegator == to.id for d in live):
        raise Rejected(
            "delegation_chain",
            f"{to.organisation_name} has delegated its own answer: a delegation is never passed on",
            field="to",
        )
    if any(d.delegator == actor.id for d in live):
        raise Rejected(
            "already_delegated",
            "you delegated your answer already: revoke that delegation first",
        )
    held = [d for d in live if d.delegate == to.id]
    limit = state.spec.max_delegations if state.spec is not None else 2
    if len(held) >= limit:
        raise Rejected(
            "too_many_delegations",
            f"{to.organisation_name} answers for {len(held)} partners already, the most one "
            "partner may",
            field="to",
        )
    delegation = Delegation(
        id=f"delegation-{next_seq(state)}",
        delegator=actor.id,
        delegate=to.id,
        step=state.step if c.until is None else None,
        round=state.round if c.until is None else None,
        until=c.until,
    )
    given: list[ev.EventData] = [ev.AnswerDelegated(delegation=delegation)]
    # The delegate answered already in the decision open now: that answer counts at once.
    step = state.current_step()
    if state.phase == Phase.decision and state.phase_open and step is not None:
        answered = next(
            (a for a in state.answers.values() if a.participant_id == to.id and a.by is None),
            None,
        )
        if answered is not None and in_force(state, delegation, now):
            given += answers_for(state, step, [delegation], to.id, answered.kind, answered.reason)
    return given


def revoke_delegation(
    state: ProjectState, c: cmd.RevokeDelegation, actor: Participant, now: datetime
) -> list[ev.EventData]:
    found = state.delegations.get(c.delegation_id)
    if found is None or found.delegator != actor.id or found.ended is not None:
        raise Rejected("unknown_delegation", "you have no delegation in force with this id",
                       field="delegation_id")  # fmt: skip
    if any(a.participant_id == actor.id and a.by == found.delegate for a in state.answers.values()):
        raise Rejected(
            "delegation_used",
            "your delegate has answered for you in this decision: the delegation stays in the "
            "record; answer yourself to change it (your own answer always wins)",
        )
    return [ev.DelegationEnded(delegation_id=found.id, why="revoked", participant_id=actor.id)]


def in_force(state: ProjectState, d: Delegation, now: datetime | None) -> bool:
    """Not ended, and not run out: its decision still open, or its period not over (without
    a moment, a period counts as in force)."""
    if d.ended is not None:
        return False
    if d.step is not None:
        return (d.step, d.round) == (state.step, state.round) and state.phase_open
    return now is None or (d.until is not None and now < d.until)


def delegations_dropped(state: ProjectState, gone: str) -> list[ev.EventData]:
    """A partner leaving drops the delegations it gave and those it held."""
    return [
        ev.DelegationEnded(delegation_id=d.id, why="left", participant_id=gone)
        for d in state.delegations.values()
        if d.ended is None and gone in (d.delegator, d.delegate)
    ]


def judge_objection(
    state: ProjectState, c: cmd.JudgeObjection, actor: Participant, now: datetime
) -> list[ev.EventData]:
    """The facilitator judges a standing objection under consent: valid (it blocks) or a
    concern (recorded, it does not), with a reason everyone reads."""
    if not rules.judges_objections(state):
        raise Rejected(
            "judgements_not_in_these_rules",
            "this project was launched before objections were judged: under its rules every "
            "objection blocks",
        )
    step = state.current_step()
    assert step is not None
    approvals = approvals_of_step(step)
    if c.approval is None and len(approvals) > 1:
        raise Rejected(
            "approval_required",
            f"this decision has {len(approvals)} approvals ({', '.join(a.id for a in approvals)})"
            ": say in which the objection was given",
            field="approval",
        )
    approval = next((a for a in approvals if a.id == (c.approval or approvals[0].id)), None)
    if approval is None:
        raise Rejected("unknown_approval", f"this decision has no approval {c.approval!r}",
                       field="approval")  # fmt: skip
    if rule_for(state, approval).rule != DecisionRule.consent:
        raise Rejected(
            "not_under_consent",
            f"objections are judged under consent; this decision is taken by "
            f"{rule_for(state, approval).rule.value}, where every answer counts as given",
        )
    given = state.answers.get(answer_key(approval.id, c.participant_id))
    if given is None or given.kind != AnswerKind.object:
        standing = ", ".join(steps.decision.standing_objections(state, approval)) or "none"
        raise Rejected(
            "no_such_objection",
            f"{c.participant_id!r} has no objection standing in this decision "
            f"(objections: {standing})",
            field="participant_id",
        )
    judgement = ObjectionJudgement(
        judgement=c.judgement, reason=c.reason, harm=c.harm, known=c.known,
        safe_to_try=c.safe_to_try,
    )  # fmt: skip
    named = approval.id if len(approvals) > 1 else None
    return [ev.ObjectionJudged(participant_id=c.participant_id, approval=named,
                               judgement=judgement)]  # fmt: skip


def outcome_refusal(state: ProjectState) -> Rejected | None:
    """Why the facilitator cannot state an outcome now; None when it can."""
    if not state.decisions:
        return Rejected(
            "wrong_phase",
            f"the outcome can be stated only after a decision; the project is in "
            f"{phase_words(state)}",
        )
    if rules.concludes_evaluation(state) and state.phase == Phase.decision:
        # Rules 2: the outcome speaks of the latest decision, until the next one opens.
        return Rejected(
            "wrong_phase",
            f"the outcome of round {state.decisions[-1].round} could be stated until the "
            "next decision opened; state this round's once it is decided",
        )
    return None


def state_outcome(
    state: ProjectState, c: cmd.StateOutcome, actor: Participant, now: datetime
) -> list[ev.EventData]:
    refused = outcome_refusal(state)
    if refused is not None:
        raise refused
    review_on = c.review_on
    if review_on is not None and state.review_on is not None:
        same = review_on.replace(second=0, microsecond=0) == state.review_on.replace(
            second=0, microsecond=0
        )
        if same:  # the form shows the date in force: a statement alone does not move it
            review_on = None
    if review_on is not None:
        if state.amending:
            raise Rejected(
                "review_with_the_plan",
                "the decision is being amended: the amended plan's review date comes with it",
                field="review_on",
            )
        if state.phase == Phase.review and not state.review_waiting:
            raise Rejected(
                "review_open",
                "the review is open: the partners answer it now (keep, amend or end)",
                field="review_on",
            )
        if state.adopted_plan is None:
            raise Rejected(
                "nothing_to_review",
                "no decision is adopted yet: its review date comes with its outcome once "
                "adopted, or with the plan",
                field="review_on",
            )
        review_on_refusal(state, review_on, now)
    return [ev.OutcomeStated(text=c.text, review_on=review_on)]


def review_on_refusal(state: ProjectState, review_on: datetime | None, now: datetime) -> None:
    """A review date is later than now, and kept only where the template reviews decisions."""
    if review_on is None:
        return
    if not (state.phase == Phase.review or templates.reviews_after(state.template, state.step)):
        raise Rejected(
            "no_review_step",
            "this project's process has no review step after this one: a review date would "
            "never be used (choose a template with a review step)",
            field="review_on",
        )
    if review_on <= now:
        raise Rejected(
            "review_date_past",
            f"{review_on.isoformat()} is already past: a review date is later",
            field="review_on",
        )
    if review_on - now > MAX_PHASE:
        raise Rejected(
            "review_date_too_far", "a review date is at most 5 years ahead", field="review_on"
        )


def answer_review(
    state: ProjectState, c: cmd.AnswerReview, actor: Participant, now: datetime
) -> list[ev.EventData]:
    """A reviewer answers keep, amend or end (a later answer replaces its earlier one)."""
    mail_asked_refusal(state, c.asked)
    step = state.current_step()
    assert step is not None
    if state.review_waiting and state.deadline is not None:
        raise Rejected(
            "review_not_open",
            f"the review opens on {state.deadline.isoformat()}; everyone is told a week before",
        )
    if actor.id not in {p.id for p in review.reviewers(state, step)}:
        raise Rejected(
            "not_an_approver",
            f"this review is answered by {approvers_in_words(templates.review_approval(step).approvers)}",
        )
    reason = c.reason or None
    if c.choice != ReviewChoice.keep and reason is None:
        raise Rejected(
            "reason_required",
            "say why the decision should change or end: the partners read it, and the next "
            "co-design starts from it",
            field="reason",
        )
    given = state.review_answers.get(actor.id)
    if given is not None and (given.choice, given.reason) == (c.choice, reason):
        return []  # the same answer again: nothing new to record
    return [ev.ReviewAnswered(participant_id=actor.id, choice=c.choice, reason=reason, mail=c.mail)]


def extend_deadline(
    state: ProjectState, c: cmd.ExtendDeadline, actor: Participant, now: datetime
) -> list[ev.EventData]:
    if state.review_waiting:
        raise Rejected(
            "review_not_open",
            "the review has not opened yet: move its date with the outcome (review_on)",
        )
    if not state.phase_open or state.deadline is None:
        raise Rejected(
            "wrong_phase",
            f"no open phase has a deadline to extend; the project is in {phase_words(state)}",
        )
    if c.deadline <= state.deadline or c.deadline <= now:
        raise Rejected(
            "deadline_not_later",
            f"the new deadline must be later than the current one ({state.deadline.isoformat()})",
            field="deadline",
        )
    if c.deadline - now > MAX_PHASE:
        raise Rejected(
            "deadline_too_far", "a deadline can be set at most 5 years ahead", field="deadline"
        )
    step = state.current_step()
    named = None if step is None else walk.named(step)
    return [
        ev.DeadlineExtended(
            phase=state.phase, deadline=c.deadline, reason=c.reason, round=state.round, step=named
        )
    ]


def close_phase_now(
    state: ProjectState, c: cmd.ClosePhase, actor: Participant, now: datetime
) -> list[ev.EventData]:
    if not state.phase_open:
        raise Rejected("wrong_phase", f"no phase is open; the project is in {phase_words(state)}")
    if state.review_waiting:
        raise Rejected(
            "review_not_open",
            "the review has not opened yet: bring its date forward with the outcome "
            "(review_on) to open it sooner",
        )
    if state.phase == Phase.co_design:
        raise Rejected(
            "plan_required",
            "co_design closes when the facilitator submits the plan; submit the plan to open "
            "the decision",
        )
    if state.phase == Phase.decision and state.plan is None:
        raise Rejected(
            "text_required",
            "write the text put to this decision first; the approvers then answer it",
        )
    if state.phase == Phase.charter and state.charter_awaiting:
        raise Rejected(
            "text_required",
            "publish the version of the charter first; the partners then answer it",
        )
    return steps.close(state, now, "facilitator")


def joins_by_consent(state: ProjectState) -> bool:
    """The charter in force says an organisation joins once the partners consent."""
    governance = state.charter.governance
    return governance is not None and governance.joining == Joining.consent


def invite(
    state: ProjectState, c: cmd.InviteParticipant, actor: Participant, now: datetime
) -> list[ev.EventData]:
    if c.participant.role == Role.partner and joins_by_consent(state):
        raise Rejected(
            "joining_by_consent",
            "the charter in force says an organisation joins once the partners consent: "
            "propose it (POST /projects/{id}/newcomers)",
        )
    return [ev.ParticipantInvited(participant=new_participant(state, c.participant))]


def propose_newcomer(
    state: ProjectState, c: cmd.ProposeNewcomer, actor: Participant, now: datetime
) -> list[ev.EventData]:
    """An organisation proposed to join: the partners consent first (the proposing partner's
    consent is its proposal). Consented by every partner already: it joins at once."""
    if not joins_by_consent(state):
        raise Rejected(
            "joining_by_invitation",
            "no charter in force says the partners consent to a newcomer: the coordinator "
            "invites it (POST /projects/{id}/participants)",
        )
    if c.participant.role != Role.partner:
        raise Rejected(
            "newcomer_is_a_partner",
            "an organisation proposed to join comes as a partner; the coordinator invites a "
            "facilitator or an observer",
            field="participant.role",
        )
    newcomer = new_participant(state, c.participant)
    if newcomer.id in state.newcomers:
        raise Rejected("already_exists", f"a newcomer {newcomer.id!r} was already proposed")
    events: list[ev.EventData] = [ev.NewcomerProposed(newcomer=newcomer, proposed_by=actor.id)]
    if actor.role == Role.partner:
        events.append(ev.NewcomerAnswered(newcomer_id=newcomer.id, participant_id=actor.id,
                                          kind=AnswerKind.consent))  # fmt: skip
    consented = {actor.id} if actor.role == Role.partner else set()
    return events + _newcomer_joins(state, newcomer, consented)


def _newcomer_joins(
    state: ProjectState, newcomer: Participant, consented: set[str]
) -> list[ev.EventData]:
    """The newcomer's invitation once every active partner consented."""
    partners = {p.id for p in state.active() if p.role == Role.partner}
    if partners <= consented:
        return [ev.ParticipantInvited(participant=newcomer)]
    return []


def answer_newcomer(
    state: ProjectState, c: cmd.AnswerNewcomer, actor: Participant, now: datetime
) -> list[ev.EventData]:
    found = state.newcomers.get(c.newcomer_id)
    if found is None or found.status != "proposed":
        pending = ", ".join(n for n, f in state.newcomers.items() if f.status == "proposed")
        raise Rejected(
            "unknown_newcomer",
            f"no organisation {c.newcomer_id!r} is waiting for the partners' consent "
            f"(waiting: {pending or 'none'})",
        )
    if c.kind == AnswerKind.object and not (c.reason or "").strip():
        raise Rejected("reason_required", "an objection needs its reason", field="reason")
    if found.answers.get(actor.id) == c.kind and not c.reason:
        return []
    answered = ev.NewcomerAnswered(newcomer_id=found.participant.id, participant_id=actor.id,
                                   kind=c.kind, reason=c.reason)  # fmt: skip
    if c.kind == AnswerKind.object:
        return [answered, ev.NewcomerRefused(newcomer_id=found.participant.id)]
    consented = {pid for pid, kind in found.answers.items() if kind == AnswerKind.consent}
    return [answered, *_newcomer_joins(state, found.participant, consented | {actor.id})]


def consent_to_charter(
    state: ProjectState, c: cmd.ConsentToCharter, actor: Participant, now: datetime
) -> list[ev.EventData]:
    """A partner who joined after the adoption consents to the charter in force."""
    number = state.charter.number_in_force
    if number is None:
        raise Rejected("no_charter_in_force", "no charter is in force in this project yet")
    if actor.id not in state.charter_to_sign:
        raise Rejected(
            "already_signed",
            "you already consented to the charter in force, or answered it at its adoption",
        )
    return [ev.CharterSigned(participant_id=actor.id, version=number)]


def remove(
    state: ProjectState, c: cmd.RemoveParticipant, actor: Participant, now: datetime
) -> list[ev.EventData]:
    leaving = active_participant(state, c.participant_id)
    keeps_roles(state, leaving)
    return [
        *delegations_dropped(state, leaving.id),
        ev.ParticipantRemoved(participant_id=leaving.id, reason=c.reason),
        *newcomers_consented_without(state, leaving.id),
    ]


def newcomers_consented_without(state: ProjectState, gone: str) -> list[ev.EventData]:
    """Newcomers every partner but the one going had consented to: they join now."""
    joining: list[ev.EventData] = []
    partners = {p.id for p in state.active() if p.role == Role.partner} - {gone}
    for newcomer in state.newcomers.values():
        consented = {pid for pid, kind in newcomer.answers.items() if kind == AnswerKind.consent}
        if newcomer.status == "proposed" and partners and partners <= consented:
            joining.append(ev.ParticipantInvited(participant=newcomer.participant))
    return joining


def replace(
    state: ProjectState, c: cmd.ReplaceParticipant, actor: Participant, now: datetime
) -> list[ev.EventData]:
    leaving = active_participant(state, c.participant_id)
    if c.replacement.role != leaving.role:
        keeps_roles(state, leaving)
    newcomer = new_participant(state, c.replacement, replacing=leaving.id)
    return [
        *delegations_dropped(state, leaving.id),
        ev.ParticipantRemoved(participant_id=leaving.id, reason=c.reason or "replaced"),
        ev.ParticipantInvited(participant=newcomer, replaces=leaving.id),
    ]


def leave(
    state: ProjectState, c: cmd.LeaveProject, actor: Participant, now: datetime
) -> list[ev.EventData]:
    """A partner leaves, with its reason: its link stops working, and nothing more is expected
    of it (its answers in an open decision are dropped, the quorum counts without it)."""
    return [
        *delegations_dropped(state, actor.id),
        ev.ParticipantRemoved(participant_id=actor.id, reason=c.reason, left=True),
        *newcomers_consented_without(state, actor.id),
    ]


def resend_link(
    state: ProjectState, c: cmd.ResendLink, actor: Participant, now: datetime
) -> list[ev.EventData]:
    who = active_participant(state, c.participant_id)
    return [ev.LinkResent(participant_id=who.id, token_version=who.token_version + 1)]


def update_contact(
    state: ProjectState, c: cmd.UpdateMyContact, actor: Participant, now: datetime
) -> list[ev.EventData]:
    no_personal_data(email=c.email, webhook_url=c.webhook_url)
    # Left out (None) keeps a setting.
    given = c.model_dump(exclude={"actor"}, exclude_none=True, mode="json")
    if not given:
        raise Rejected(
            "nothing_to_change",
            "say which of email, webhook_url, language, time_zone, notifications or digest_hour "
            "to change",
        )
    current = actor.model_dump(mode="json")
    # An empty text clears a setting; 0 (a midnight digest) is a value.
    changes = {
        k: (None if v == "" else v)
        for k, v in given.items()
        if (None if v == "" else v) != current.get(k)
    }
    if not changes:
        return []  # the same settings again: nothing changes
    return [ev.ParticipantUpdated(participant_id=actor.id, changes=changes)]


def note_progress(
    state: ProjectState, c: cmd.NoteProgress, actor: Participant, now: datetime
) -> list[ev.EventData]:
    return [ev.ProgressNoted(participant_id=actor.id, text=c.text)]


def assess(
    state: ProjectState, c: cmd.Assess, actor: Participant, now: datetime
) -> list[ev.EventData]:
    known = rules.indicator_ids(state)
    for n, score in enumerate(c.scores):
        if score.indicator_id not in known:
            raise Rejected(
                "unknown_indicator",
                f"no indicator {score.indicator_id!r} in the adopted plan "
                f"(indicators: {', '.join(known) or 'none'})",
                field=f"scores.{n}.indicator_id",
            )
    return [
        ev.AssessmentGiven(
            participant_id=actor.id,
            indicator_id=s.indicator_id,
            score=s.score,
            comment=s.comment,
        )
        for s in c.scores
        if (given := state.assessments.get(f"{actor.id}/{s.indicator_id}")) is None
        or (given.score, given.comment) != (s.score, s.comment)
    ]


def publish_charter(
    state: ProjectState, c: cmd.PublishCharter, actor: Participant, now: datetime
) -> list[ev.EventData]:
    """The facilitator's next version of the charter, while the step waits for one: the
    partners answer it (earlier answers no longer count)."""
    if not state.charter_awaiting:
        number = state.charter.versions[-1].number if state.charter.versions else 0
        raise Rejected(
            "charter_being_answered",
            f"version {number} of the charter is being answered; a new version follows an "
            "objection",
        )
    for objector, reason in state.charter_objections.items():
        if not c.objection_answers.get(objector, "").strip():
            who = state.participants.get(objector)
            name = who.display_name if who else objector
            raise Rejected(
                "charter_objection_unanswered",
                f"the new version must answer the objection of {name} ({objector}): {reason!r}",
                field=f"objection_answers.{objector}",
            )
    number = len(state.charter.versions) + 1
    if number > 1 and not c.changes:
        raise Rejected(
            "changes_required",
            "say what changes from the previous version, one line each",
            field="changes",
        )
    step = state.current_step()
    assert step is not None and step.duration is not None
    late = state.deadline is None or state.deadline <= now
    version = CharterVersion(
        number=number,
        sections=dict(c.sections),
        governance=Governance(**c.governance.model_dump()),
        changes=list(c.changes),
        objection_answers=dict(c.objection_answers),
    )
    return [ev.CharterPublished(version=version, deadline=now + step.duration if late else None)]


def amend_charter(
    state: ProjectState, c: cmd.AmendCharter, actor: Participant, now: datetime
) -> list[ev.EventData]:
    """An amendment of the charter in force, later in the project: the partners answer it by
    the same consent; the step under way waits meanwhile."""
    if state.charter.number_in_force is None:
        raise Rejected(
            "no_charter_in_force",
            "no charter is in force in this project to amend: a charter is adopted in its step, "
            "or agreed before the project at its launch",
        )
    if state.phase == Phase.charter:
        raise Rejected(
            "charter_step_open",
            "the charter step is open: its next version is written there, not as an amendment",
        )
    if state.amendment is not None:
        raise Rejected(
            "amendment_open",
            f"version {state.amendment.version} of the charter, an amendment, is being "
            "answered; propose the next one once it is closed",
        )
    if not c.changes:
        raise Rejected(
            "changes_required",
            "say what the amendment changes in the charter in force, one line each",
            field="changes",
        )
    if c.answer_within <= timedelta(0):
        raise Rejected(
            "phase_too_short",
            "the partners need time to answer the amendment: give them some days",
            field="answer_within",
        )
    version = CharterVersion(
        number=len(state.charter.versions) + 1,
        sections=dict(c.sections),
        governance=Governance(**c.governance.model_dump()),
        changes=list(c.changes),
        amendment=True,
    )
    asked = [p.id for p in state.active() if p.role == Role.partner]
    return [
        ev.CharterAmendmentProposed(version=version, until=now + c.answer_within, expected=asked)
    ]


def answer_amendment(
    state: ProjectState, c: cmd.AnswerAmendment, actor: Participant, now: datetime
) -> list[ev.EventData]:
    found = state.amendment
    if found is None:
        raise Rejected(
            "no_amendment_open", "no amendment of the charter is waiting for the partners' answers"
        )
    if c.kind == AnswerKind.object and not (c.reason or "").strip():
        raise Rejected(
            "reason_required",
            "an objection needs its reason: the facilitator answers it in a next amendment",
            field="reason",
        )
    if found.answers.get(actor.id) == c.kind and found.reasons.get(actor.id) == (c.reason or None):
        return []  # the same answer again: nothing changes
    return [
        ev.CharterAmendmentAnswered(participant_id=actor.id, kind=c.kind, reason=c.reason or None)
    ]


def note_charter(
    state: ProjectState, c: cmd.NoteCharter, actor: Participant, now: datetime
) -> list[ev.EventData]:
    if c.section not in CHARTER_SECTIONS:
        raise Rejected(
            "unknown_section",
            f"no section {c.section!r} in the charter (sections: {', '.join(CHARTER_SECTIONS)})",
            field="section",
        )
    version = state.charter.versions[-1].number if state.charter.versions else 0
    note = CharterNote(
        section=c.section, participant_id=actor.id, text=c.text, wording=c.wording, version=version
    )
    return [ev.CharterNoted(note=note)]


def glossary_term(state: ProjectState, term_id: str) -> Term:
    term = state.glossary.get(term_id)
    if term is None:
        known = ", ".join(state.glossary) or "none yet"
        raise Rejected(
            "unknown_term", f"no term {term_id!r} in the project's glossary (terms: {known})"
        )
    if term.merged_into is not None:
        raise Rejected(
            "term_merged",
            f"{term.term!r} was merged into {state.glossary[term.merged_into].term!r}: "
            f"act on that term ({term.merged_into})",
        )
    return term


def propose_term(
    state: ProjectState, c: cmd.ProposeTerm, actor: Participant, now: datetime
) -> list[ev.EventData]:
    same = [
        t for t in state.glossary.values()
        if t.merged_into is None and t.term.casefold() == c.term.casefold()
    ]  # fmt: skip
    if same:
        raise Rejected(
            "term_exists",
            f"the glossary has {same[0].term!r} already ({same[0].id}): propose another "
            "definition of it instead",
            field="term",
        )
    tid = f"term-{next_seq(state)}"
    return [
        ev.TermProposed(
            term_id=tid,
            term=c.term,
            participant_id=actor.id,
            definition_id=f"{tid}.d1",
            definition=c.definition,
        )
    ]


def propose_definition(
    state: ProjectState, c: cmd.ProposeDefinition, actor: Participant, now: datetime
) -> list[ev.EventData]:
    term = glossary_term(state, c.term_id)
    return [
        ev.DefinitionProposed(
            term_id=term.id,
            participant_id=actor.id,
            definition_id=f"{term.id}.d{next_seq(state)}",
            definition=c.definition,
        )
    ]


def comment_term(
    state: ProjectState, c: cmd.CommentTerm, actor: Participant, now: datetime
) -> list[ev.EventData]:
    term = glossary_term(state, c.term_id)
    return [ev.TermCommented(term_id=term.id, participant_id=actor.id, text=c.text)]


def validate_term(
    state: ProjectState, c: cmd.ValidateTerm, actor: Participant, now: datetime
) -> list[ev.EventData]:
    term = glossary_term(state, c.term_id)
    if c.definition_id not in {d.id for d in term.definitions}:
        known = ", ".join(d.id for d in term.definitions)
        raise Rejected(
            "unknown_definition",
            f"no definition {c.definition_id!r} of {term.term!r} (definitions: {known})",
            field="definition_id",
        )
    if term.validated == c.definition_id:
        return []  # validated already
    return [ev.TermValidated(term_id=term.id, definition_id=c.definition_id)]


def merge_terms(
    state: ProjectState, c: cmd.MergeTerms, actor: Participant, now: datetime
) -> list[ev.EventData]:
    merged = glossary_term(state, c.term_id)
    kept = glossary_term(state, c.into)
    if merged.id == kept.id:
        raise Rejected("same_term", "a term is not merged into itself", field="into")
    return [ev.TermsMerged(term_id=merged.id, into_id=kept.id)]


def answer_cooperation(
    state: ProjectState, c: cmd.AnswerCooperation, actor: Participant, now: datetime
) -> list[ev.EventData]:
    if actor.id in state.cooperation_answered:
        raise Rejected(
            "already_answered",
            "you have answered the cooperation questionnaire already: each partner answers "
            "it once, anonymously",
        )
    return [ev.CooperationAnswered(participant_id=actor.id)]


def erase_participant(
    state: ProjectState, c: cmd.EraseParticipant, actor: Participant, now: datetime
) -> list[ev.EventData]:
    who = state.participants.get(c.participant_id)
    if who is None:
        raise Rejected("not_a_participant", f"no participant {c.participant_id!r} in this project")
    if who.id == actor.id:
        raise Rejected("not_allowed", "a coordinator cannot erase itself; ask another coordinator")
    if who.id in state.redacted or (who.id in state.erased and not c.redact_texts):
        return []  # erased already, as asked
    recorded: list[ev.EventData] = []
    if who.active:
        keeps_roles(state, who)
        recorded += delegations_dropped(state, who.id)
        recorded.append(ev.ParticipantRemoved(participant_id=who.id, reason="erased"))
    recorded.append(ev.ParticipantErased(participant_id=who.id, texts_redacted=c.redact_texts))
    return recorded


def cancel(
    state: ProjectState, c: cmd.Cancel, actor: Participant, now: datetime
) -> list[ev.EventData]:
    open_phase = state.phase if state.phase_open else None
    step = state.current_step() if open_phase else None
    # An amendment being answered ends with the project, not adopted.
    ended = [charter_step.amendment_closed(state, now, "cancelled")] if state.amendment else []
    return [
        *ended,
        ev.ProjectCancelled(
            reason=c.reason,
            open_phase=open_phase,
            open_round=state.round if open_phase else None,
            open_step=None if step is None else walk.named(step),
        ),
    ]
