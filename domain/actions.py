"""The one action table: for every action people take, its command, the workflow update that
carries it (history shows that name), who may take it, in which phase, how it is said in a
refusal, and the decider that runs it.

Every layer reads it: the aggregate checks commands from it, the workflow defines its updates
from it, the API finds the update for a command and checks roles with it, and the pages list
what a participant may do now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain import commands as cmd
from domain import deciders, rules
from domain import events as ev
from domain.errors import Rejected
from domain.models import Participant, Phase, Role
from domain.state import ProjectState
from domain.steps import review
from domain.steps.decision import approvals_of, approving_roles

Decider = Callable[[ProjectState, Any, Participant, datetime], list[ev.EventData]]

PARTNER = frozenset({Role.partner})
# Whoever takes part in the project's work (observers read).
CONTRIBUTORS = frozenset({Role.partner, Role.facilitator, Role.coordinator})
FACILITATOR = frozenset({Role.facilitator})
COORDINATOR = frozenset({Role.coordinator})
EVERYONE = frozenset(Role)


@dataclass(frozen=True)
class Action:
    command: type[cmd.Command]
    # The workflow update's name.
    update: str
    roles: frozenset[Role]
    # The action in words, for refusals: "only a partner may <words>".
    words: str
    decide: Decider
    # Accepted only while a step of this kind is open; None: in any step of a running project.
    phase: Phase | None = None
    # What the step accepts, for refusals: "<accepts> are accepted only during ...".
    accepts: str = ""
    # An approval's answer: who may give it is the open decision's approvers (a template's
    # approvals say which roles may ever answer, the facilitator's among them or not).
    vote: bool = False
    # Other kinds of step that accept it too (the facilitator writes a decision's text).
    also_in: frozenset[Phase] = frozenset()

    def roles_under(self, approving: frozenset[Role] | None) -> frozenset[Role]:
        """Who may take this action, given the roles the project's approvals let answer
        (None: under any template, whoever some template lets answer)."""
        if not self.vote:
            return self.roles
        if approving is None:
            return frozenset({Role.partner, Role.facilitator})
        return approving


ACTIONS: tuple[Action, ...] = (
    Action(
        cmd.AddContribution,
        "add_contribution",
        PARTNER,
        "add a contribution",
        deciders.add_contribution,
        Phase.diagnosis,
        "contributions",
    ),
    Action(
        cmd.SubmitProposal,
        "submit_proposal",
        PARTNER,
        "submit a proposal",
        deciders.submit_proposal,
        Phase.co_design,
        "proposals",
    ),
    Action(
        cmd.AmendProposal,
        "amend_proposal",
        PARTNER,
        "amend a proposal",
        deciders.amend_proposal,
        Phase.co_design,
        "amendments",
    ),
    Action(
        cmd.ReopenStep,
        "reopen_step",
        FACILITATOR,
        "reopen a step closed by mistake",
        deciders.reopen_step,
    ),
    Action(
        cmd.EditProject,
        "edit_project",
        COORDINATOR,
        "change the project",
        deciders.edit_project,
    ),
    Action(
        cmd.WithdrawProposal,
        "withdraw_proposal",
        PARTNER,
        "withdraw your proposal",
        deciders.withdraw_proposal,
        Phase.co_design,
        "withdrawals of proposals",
    ),
    Action(
        cmd.EndorseProposal,
        "endorse_proposal",
        PARTNER,
        "endorse a proposal",
        deciders.endorse_proposal,
        Phase.co_design,
        "endorsements",
    ),
    Action(
        cmd.SubmitPlan,
        "submit_plan",
        FACILITATOR,
        "submit the plan",
        deciders.submit_plan,
        Phase.co_design,
        "plans",
        also_in=frozenset({Phase.decision}),
    ),
    Action(
        cmd.GiveAnswer,
        "answer",
        PARTNER,
        "answer a decision",
        deciders.give_answer,
        Phase.decision,
        "answers",
        vote=True,
        also_in=frozenset({Phase.charter}),
    ),
    Action(
        cmd.AnswerReview,
        "answer_review",
        frozenset({Role.partner, Role.facilitator}),
        "answer the review of a decision",
        deciders.answer_review,
        Phase.review,
        "answers to a review",
    ),
    Action(
        cmd.DelegateAnswer,
        "delegate_answer",
        PARTNER,
        "delegate your answer",
        deciders.delegate_answer,
    ),
    Action(
        cmd.RevokeDelegation,
        "revoke_delegation",
        PARTNER,
        "revoke a delegation",
        deciders.revoke_delegation,
    ),
    Action(
        cmd.JudgeObjection,
        "judge_objection",
        FACILITATOR,
        "judge an objection",
        deciders.judge_objection,
        Phase.decision,
        "judgements of objections",
    ),
    Action(
        cmd.PublishCharter,
        "publish_charter",
        FACILITATOR,
        "publish a version of the charter",
        deciders.publish_charter,
        Phase.charter,
        "versions of the charter",
    ),
    Action(
        cmd.NoteCharter,
        "note_charter",
        CONTRIBUTORS,
        "comment on the charter",
        deciders.note_charter,
        Phase.charter,
        "comments on the charter",
    ),
    Action(
        cmd.AmendCharter,
        "amend_charter",
        FACILITATOR,
        "propose an amendment of the charter",
        deciders.amend_charter,
    ),
    Action(
        cmd.AnswerAmendment,
        "answer_amendment",
        PARTNER,
        "answer an amendment of the charter",
        deciders.answer_amendment,
    ),
    Action(
        cmd.ProposeNewcomer,
        "propose_newcomer",
        PARTNER | COORDINATOR,
        "propose an organisation to join",
        deciders.propose_newcomer,
    ),
    Action(
        cmd.AnswerNewcomer,
        "answer_newcomer",
        PARTNER,
        "answer a proposed newcomer",
        deciders.answer_newcomer,
    ),
    Action(
        cmd.ConsentToCharter,
        "consent_to_charter",
        PARTNER,
        "consent to the charter in force",
        deciders.consent_to_charter,
    ),
    Action(
        cmd.StateOutcome, "state_outcome", FACILITATOR, "state the outcome", deciders.state_outcome
    ),
    Action(
        cmd.ExtendDeadline,
        "extend_deadline",
        FACILITATOR,
        "extend a deadline",
        deciders.extend_deadline,
    ),
    Action(cmd.ClosePhase, "close_phase", FACILITATOR, "close a phase", deciders.close_phase_now),
    Action(
        cmd.InviteParticipant,
        "invite_participant",
        COORDINATOR,
        "invite a participant",
        deciders.invite,
    ),
    Action(
        cmd.RemoveParticipant,
        "remove_participant",
        COORDINATOR,
        "remove a participant",
        deciders.remove,
    ),
    Action(
        cmd.ReplaceParticipant,
        "replace_participant",
        COORDINATOR,
        "replace a participant",
        deciders.replace,
    ),
    Action(
        cmd.ResendLink, "resend_link", COORDINATOR, "re-send a personal link", deciders.resend_link
    ),
    Action(
        cmd.UpdateMyContact,
        "update_my_contact",
        EVERYONE,
        "change your contact settings",
        deciders.update_contact,
    ),
    Action(
        cmd.NoteProgress,
        "note_progress",
        PARTNER,
        "note progress",
        deciders.note_progress,
        Phase.action,
        "progress notes",
    ),
    Action(
        cmd.Assess,
        "assess",
        PARTNER,
        "assess results",
        deciders.assess,
        Phase.evaluation,
        "assessments",
    ),
    Action(
        cmd.AnswerCooperation,
        "answer_cooperation",
        PARTNER,
        "answer the cooperation questionnaire",
        deciders.answer_cooperation,
        Phase.evaluation,
        "answers to the cooperation questionnaire",
    ),
    Action(
        cmd.ProposeTerm,
        "propose_term",
        CONTRIBUTORS,
        "propose a term for the glossary",
        deciders.propose_term,
    ),
    Action(
        cmd.ProposeDefinition,
        "propose_definition",
        CONTRIBUTORS,
        "propose a definition",
        deciders.propose_definition,
    ),
    Action(
        cmd.CommentTerm, "comment_term", CONTRIBUTORS, "comment on a term", deciders.comment_term
    ),
    Action(
        cmd.ValidateTerm,
        "validate_term",
        FACILITATOR,
        "validate a term's definition",
        deciders.validate_term,
    ),
    Action(cmd.MergeTerms, "merge_terms", FACILITATOR, "merge two terms", deciders.merge_terms),
    Action(cmd.Cancel, "cancel", COORDINATOR, "cancel the project", deciders.cancel),
    Action(cmd.LeaveProject, "leave_project", PARTNER, "leave the project", deciders.leave),
    Action(
        cmd.EraseParticipant,
        "erase_participant",
        COORDINATOR,
        "erase a participant's data",
        deciders.erase_participant,
    ),
)

# Commands, and commands as the workflow reads them back (cmd.as_recorded).
_BY_COMMAND: dict[type, Action] = {a.command: a for a in ACTIONS} | {
    cmd.as_recorded(a.command): a for a in ACTIONS
}


def action_for(command_type: type) -> Action:
    return _BY_COMMAND[command_type]


def _roles_in_words(roles: frozenset[Role]) -> str:
    return " or ".join(sorted(r.value for r in roles))


def who_may(action: Action, approving: frozenset[Role] | None) -> str:
    """ "only a partner may answer a decision", given the roles the project's approvals let
    answer (None: under any template)."""
    names = _roles_in_words(action.roles_under(approving) if approving else action.roles)
    if action.vote and approving is None:
        names += " (and the facilitator, when the process lets it vote)"
    return f"only a {names} may {action.words}"


def role_refusal(action: Action, role: Role, approving: frozenset[Role] | None) -> Rejected | None:
    """Why this role may not take this action, in words it can act on; None if it may."""
    if role in action.roles_under(approving):
        return None
    if role == Role.observer:
        return Rejected(
            "not_allowed",
            f"observers follow the project and read everything, but do not act: "
            f"only a {_roles_in_words(action.roles)} may {action.words}",
        )
    return Rejected("not_allowed", f"{who_may(action, approving)}; you take part as {role.value}")


def over_refusal(state: ProjectState) -> Rejected | None:
    """Why the project takes no action any more; None while it runs."""
    if state.phase == Phase.cancelled:
        reason = f" ({state.cancel_reason})" if state.cancel_reason else ""
        return Rejected(
            "project_over", f"the project was cancelled{reason}; nothing more can be recorded"
        )
    if state.is_over:
        return Rejected("project_over", "the project is closed; nothing more can be recorded")
    if not state.phase_open and state.phase != Phase.launched and state.report is None:
        return Rejected(
            "project_over",
            f"the {state.phase.value} is closed and the final report is being published; "
            "nothing more can be recorded",
        )
    return None


def phase_refusal(action: Action, state: ProjectState) -> Rejected | None:
    """Why the project does not take this action now; None if it does."""
    over = over_refusal(state)
    if over is not None:
        return over
    suspended = suspension_refusal(action, state)
    if suspended is not None:
        return suspended
    accepted_in = {action.phase, *action.also_in}
    if action.phase is not None and (state.phase not in accepted_in or not state.phase_open):
        return Rejected(
            "wrong_phase",
            f"{action.accepts} are accepted only during the {action.phase.value} phase; "
            f"the project is in {deciders.phase_words(state)}",
        )
    return None


# The step's own actions besides those bound to a kind of step: they wait with it.
STEP_ACTIONS = frozenset({"state_outcome", "extend_deadline", "close_phase", "reopen_step"})


def suspension_refusal(action: Action, state: ProjectState) -> Rejected | None:
    """While the partners answer an amendment of the charter, the step under way waits: its
    own actions are refused (the rest of the project goes on)."""
    if state.amendment is None or state.keeps_its_date:
        return None  # a pause has its date: it is not suspended
    if action.phase is None and action.update not in STEP_ACTIONS:
        return None
    return Rejected(
        "step_suspended",
        f"{deciders.phase_words(state)} is suspended while the partners answer the amendment "
        f"of the charter (until {state.amendment.until.isoformat()}); it resumes after, its "
        "deadline moved by the time taken",
    )


def available(state: ProjectState, who: Participant) -> list[Action]:
    """The actions the rules allow this participant now (the pages build their forms from it)."""
    if state.spec is None or not who.active:
        return []
    approving = approving_roles(state)
    return [
        a
        for a in ACTIONS
        if role_refusal(a, who.role, approving) is None
        and phase_refusal(a, state) is None
        and takes_now(a, state, who)
    ]


def takes_now(action: Action, state: ProjectState, who: Participant) -> bool:
    """What the open step itself lets this participant do (its forms): answer an approval
    it is an approver of, once the text is written; write the decision's text while none is."""
    if action.vote:
        if state.phase == Phase.charter:
            return not state.charter_awaiting and bool(approvals_of(state, who))
        holds = any(
            d.delegate == who.id and deciders.in_force(state, d, None)
            for d in state.delegations.values()
        )
        return state.plan is not None and (bool(approvals_of(state, who)) or holds)
    if action.update == "reopen_step":
        point = state.reopenable
        return point is not None and point.phase not in (Phase.charter, Phase.review)
    if action.update in ("close_phase", "extend_deadline") and state.review_waiting:
        return False  # the review's date is moved with the outcome (review_on)
    if action.update == "answer_review":
        step = state.current_step()
        return (
            not state.review_waiting
            and step is not None
            and who.id in {p.id for p in review.reviewers(state, step)}
        )
    if action.update == "delegate_answer":
        return not any(
            deciders.in_force(state, d, None) and who.id in (d.delegator, d.delegate)
            for d in state.delegations.values()
        )
    if action.update == "revoke_delegation":
        return any(
            deciders.in_force(state, d, None) and d.delegator == who.id
            for d in state.delegations.values()
        )

    if action.update == "publish_charter":
        return state.charter_awaiting
    if action.update == "judge_objection":
        return (
            rules.judges_objections(state)
            and state.plan is not None
            and any(a.kind == "object" for a in state.answers.values())
        )
    if action.update == "submit_plan" and state.phase == Phase.decision:
        return state.plan is None
    if action.update == "state_outcome":
        return deciders.outcome_refusal(state) is None
    if action.update == "answer_cooperation":
        return who.id not in state.cooperation_answered
    if action.update == "propose_newcomer":
        return deciders.joins_by_consent(state)
    if action.update == "answer_newcomer":
        return any(
            n.status == "proposed" and who.id not in n.answers for n in state.newcomers.values()
        )
    if action.update == "consent_to_charter":
        return who.id in state.charter_to_sign and state.amendment is None
    if action.update == "amend_charter":
        return (
            state.charter.number_in_force is not None
            and state.amendment is None
            and state.phase != Phase.charter
        )
    if action.update == "answer_amendment":
        return state.amendment is not None
    return True
