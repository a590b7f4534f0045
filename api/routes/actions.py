"""What partners and the facilitator do in a project: each route is one workflow update.

The action table (domain/actions.py) says who may act and which update carries the command;
`acting_as` checks the caller against it, so a route only passes its body on.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from api.deps import Acting, CurrentCaller, Gateway, acting_as, caller_as_actor, update_id
from api.errors import ACTION_ERRORS
from api.schemas import ParticipantCreate
from domain import commands as cmd
from domain.views import ActionResult

router = APIRouter(prefix="/projects/{project_id}", tags=["actions"], responses=ACTION_ERRORS)


@router.post(
    "/contributions",
    status_code=201,
    summary="Add a diagnosis contribution (partner)",
)
async def add_contribution(
    body: cmd.ContributionFields, acting: Annotated[Acting, acting_as(cmd.AddContribution)]
) -> ActionResult:
    return await acting.perform(**body.model_dump())


@router.post("/proposals", status_code=201, summary="Submit a proposal during co-design (partner)")
async def submit_proposal(
    body: cmd.ProposalFields, acting: Annotated[Acting, acting_as(cmd.SubmitProposal)]
) -> ActionResult:
    return await acting.perform(**body.model_dump())


@router.post(
    "/proposals/{proposal_id}/amendments", status_code=201, summary="Amend a proposal (partner)"
)
async def amend_proposal(
    proposal_id: str,
    body: cmd.TextFields,
    acting: Annotated[Acting, acting_as(cmd.AmendProposal)],
) -> ActionResult:
    return await acting.perform(proposal_id=proposal_id, **body.model_dump())


@router.post(
    "/proposals/{proposal_id}/endorsements",
    status_code=201,
    summary="Endorse a proposal (partner)",
)
async def endorse_proposal(
    proposal_id: str, acting: Annotated[Acting, acting_as(cmd.EndorseProposal)]
) -> ActionResult:
    return await acting.perform(proposal_id=proposal_id)


@router.post(
    "/plan",
    status_code=201,
    summary="Submit the consolidated plan: closes co-design, opens the decision (facilitator)",
)
async def submit_plan(
    body: cmd.PlanFields, acting: Annotated[Acting, acting_as(cmd.SubmitPlan)]
) -> ActionResult:
    return await acting.perform(**body.model_dump())


@router.post(
    "/outcome",
    status_code=201,
    summary="State the outcome in words after a decision (facilitator); review_on sets or "
    "moves the adopted decision's review date, where the process has a review step",
)
async def state_outcome(
    body: cmd.OutcomeFields, acting: Annotated[Acting, acting_as(cmd.StateOutcome)]
) -> ActionResult:
    return await acting.perform(**body.model_dump())


@router.put(
    "/answer",
    summary="Answer the decision as yourself: consent, object (with a reason) or abstain",
)
async def answer(
    body: cmd.AnswerFields, acting: Annotated[Acting, acting_as(cmd.GiveAnswer)]
) -> ActionResult:
    return await acting.perform(**body.model_dump())


@router.post(
    "/deadline", summary="Extend the current phase's deadline, with a reason (facilitator)"
)
async def extend_deadline(
    body: cmd.ExtensionFields, acting: Annotated[Acting, acting_as(cmd.ExtendDeadline)]
) -> ActionResult:
    return await acting.perform(**body.model_dump())


@router.post("/close-phase", summary="Close the current phase now (facilitator)")
async def close_phase(
    acting: Annotated[Acting, acting_as(cmd.ClosePhase)],
    body: Annotated[cmd.ReasonFields | None, Body()] = None,
) -> ActionResult:
    return await acting.perform(**(body or cmd.ReasonFields()).model_dump())


@router.post("/progress", status_code=201, summary="Note progress during implementation (partner)")
async def note_progress(
    body: cmd.TextFields, acting: Annotated[Acting, acting_as(cmd.NoteProgress)]
) -> ActionResult:
    return await acting.perform(**body.model_dump())


@router.post(
    "/assessments", status_code=201, summary="Score the adopted plan's indicators 1–5 (partner)"
)
async def assess(
    body: cmd.AssessFields, acting: Annotated[Acting, acting_as(cmd.Assess)]
) -> ActionResult:
    return await acting.perform(**body.model_dump())


@router.post(
    "/reopening",
    status_code=201,
    summary="Reopen the step you closed by hand before its deadline (facilitator), with a "
    "reason, within ALLIANCE_REOPEN_WITHIN (7 days) and as long as nobody has acted in the "
    "step that followed: the step is as it was, its deadline set anew (the time it had left); "
    "a decision its close reached is void, not erased",
)
async def reopen_step(
    body: cmd.ReasonFieldsRequired, acting: Annotated[Acting, acting_as(cmd.ReopenStep)]
) -> ActionResult:
    return await acting.perform(**body.model_dump())


@router.patch(
    "",
    summary="Change the project's title or description, or the durations of steps not opened yet "
    "(coordinator), with a reason: each change is an event, layered on the project's copy of "
    "its template (the view's duration_overrides)",
)
async def edit_project(
    body: cmd.EditFields, acting: Annotated[Acting, acting_as(cmd.EditProject)]
) -> ActionResult:
    return await acting.perform(**body.model_dump())


@router.post(
    "/proposals/{proposal_id}/withdrawal",
    status_code=201,
    summary="Withdraw your proposal during the co-design, before the plan (its author); it "
    "stays in the record, withdrawn, and no plan may choose it",
)
async def withdraw_proposal(
    proposal_id: str,
    acting: Annotated[Acting, acting_as(cmd.WithdrawProposal)],
    body: Annotated[cmd.ReasonOptional | None, Body()] = None,
) -> ActionResult:
    return await acting.perform(proposal_id=proposal_id, reason=body.reason if body else "")


@router.post(
    "/delegations",
    status_code=201,
    summary="Delegate your answer to another partner of the project (partner): for the decision "
    "open now, or until a moment (until). Its answer counts for both, once each; your own "
    "answer always wins. A delegate never passes a delegation on (409 delegation_chain); "
    "nobody holds more than the set number at once (409 too_many_delegations)",
)
async def delegate_answer(
    body: cmd.DelegationFields, acting: Annotated[Acting, acting_as(cmd.DelegateAnswer)]
) -> ActionResult:
    return await acting.perform(**body.model_dump())


@router.delete(
    "/delegations/{delegation_id}",
    summary="Revoke your delegation, until your delegate has answered for you (partner); it "
    "stays in the record",
)
async def revoke_delegation(
    delegation_id: str, acting: Annotated[Acting, acting_as(cmd.RevokeDelegation)]
) -> ActionResult:
    return await acting.perform(delegation_id=delegation_id)


@router.put(
    "/objections/{participant_id}/judgement",
    summary="Judge a partner's objection under consent (facilitator): valid (the proposal must "
    "change: it blocks) or concern (recorded, it does not block, and the evaluation checks it), "
    "with the answers to the judgement's questions and a reason everyone reads. An objection "
    "not judged by the close counts as valid; the decision waits for the judgements (rules 3)",
)
async def judge_objection(
    participant_id: str,
    body: cmd.JudgementFields,
    acting: Annotated[Acting, acting_as(cmd.JudgeObjection)],
) -> ActionResult:
    return await acting.perform(participant_id=participant_id, **body.model_dump())


@router.put(
    "/review/answer",
    summary="Answer the review of an adopted decision (its approvers, the partners unless the "
    "template says otherwise): keep, amend (back to co-design, the plan in force as the first "
    "draft) or end, with a reason to amend or end; a later answer replaces yours until the "
    "review closes. Before the review date: 409 review_not_open",
)
async def answer_review(
    body: cmd.ReviewFields, acting: Annotated[Acting, acting_as(cmd.AnswerReview)]
) -> ActionResult:
    return await acting.perform(**body.model_dump())


@router.post(
    "/charter",
    status_code=201,
    summary="Publish the next version of the partnership charter, section by section, with "
    "its governance, each change listed and each objection answered; the partners then answer "
    "it as a decision (facilitator)",
)
async def publish_charter(
    body: cmd.CharterFields, acting: Annotated[Acting, acting_as(cmd.PublishCharter)]
) -> ActionResult:
    return await acting.perform(**body.model_dump())


@router.post(
    "/charter/notes",
    status_code=201,
    summary="Comment on a section of the charter, or propose a new wording of it "
    "(partner, facilitator, coordinator)",
)
async def note_charter(
    body: cmd.CharterNoteFields, acting: Annotated[Acting, acting_as(cmd.NoteCharter)]
) -> ActionResult:
    return await acting.perform(**body.model_dump())


@router.post(
    "/charter/consent",
    status_code=201,
    summary="Consent to the charter in force, having joined after its adoption: your dated "
    "signature (partner)",
)
async def consent_to_charter(
    acting: Annotated[Acting, acting_as(cmd.ConsentToCharter)],
) -> ActionResult:
    return await acting.perform()


@router.post(
    "/charter/amendments",
    status_code=201,
    summary="Propose an amendment of the charter in force, later in the project: its sections "
    "and governance as amended, each change listed, and how long the partners have to answer "
    "(answer_within, 14 days unless said). The step under way is suspended until every "
    "partner answered or that day came, then resumes, its deadline moved by the time taken "
    "(facilitator)",
)
async def amend_charter(
    body: cmd.AmendmentFields, acting: Annotated[Acting, acting_as(cmd.AmendCharter)]
) -> ActionResult:
    return await acting.perform(**body.model_dump())


@router.put(
    "/charter/amendment/answer",
    summary="Answer the amendment of the charter: consent, or object with a reason. Adopted "
    "once every partner consents; one objection keeps the charter in force (partner)",
)
async def answer_amendment(
    body: cmd.NewcomerAnswerFields, acting: Annotated[Acting, acting_as(cmd.AnswerAmendment)]
) -> ActionResult:
    return await acting.perform(**body.model_dump())


@router.post(
    "/newcomers",
    status_code=201,
    summary="Propose an organisation to join as a partner, when the charter in force says the "
    "partners consent first (partner: its proposal is its consent; coordinator). It joins "
    "once every partner consents, and its invitation then goes by e-mail",
)
async def propose_newcomer(
    body: ParticipantCreate, acting: Annotated[Acting, acting_as(cmd.ProposeNewcomer)]
) -> ActionResult:
    return await acting.perform(participant=body.model_dump())


@router.put(
    "/newcomers/{newcomer_id}/answer",
    summary="Consent to a proposed newcomer, or object with a reason: an objection refuses it "
    "(partner)",
)
async def answer_newcomer(
    newcomer_id: str,
    body: cmd.NewcomerAnswerFields,
    acting: Annotated[Acting, acting_as(cmd.AnswerNewcomer)],
) -> ActionResult:
    return await acting.perform(newcomer_id=newcomer_id, **body.model_dump())


@router.post(
    "/glossary",
    status_code=201,
    summary="Propose a term of the project's common language, with its definition "
    "(partner, facilitator, coordinator)",
)
async def propose_term(
    body: cmd.TermFields, acting: Annotated[Acting, acting_as(cmd.ProposeTerm)]
) -> ActionResult:
    return await acting.perform(**body.model_dump())


@router.post(
    "/glossary/{term_id}/definitions",
    status_code=201,
    summary="Propose another definition of a term (partner, facilitator, coordinator)",
)
async def propose_definition(
    term_id: str,
    body: cmd.DefinitionFields,
    acting: Annotated[Acting, acting_as(cmd.ProposeDefinition)],
) -> ActionResult:
    return await acting.perform(term_id=term_id, **body.model_dump())


@router.post(
    "/glossary/{term_id}/comments",
    status_code=201,
    summary="Comment on a term (partner, facilitator, coordinator)",
)
async def comment_term(
    term_id: str, body: cmd.TextFields, acting: Annotated[Acting, acting_as(cmd.CommentTerm)]
) -> ActionResult:
    return await acting.perform(term_id=term_id, **body.model_dump())


@router.post(
    "/glossary/{term_id}/validation",
    summary="Validate one definition of a term: the term is then linked from its first use "
    "on each of the project's pages (facilitator)",
)
async def validate_term(
    term_id: str,
    body: cmd.ValidationFields,
    acting: Annotated[Acting, acting_as(cmd.ValidateTerm)],
) -> ActionResult:
    return await acting.perform(term_id=term_id, **body.model_dump())


@router.post(
    "/glossary/{term_id}/merge",
    summary="Merge a term into another: two words for one thing (facilitator)",
)
async def merge_terms(
    term_id: str, body: cmd.MergeFields, acting: Annotated[Acting, acting_as(cmd.MergeTerms)]
) -> ActionResult:
    return await acting.perform(term_id=term_id, **body.model_dump())


@router.post(
    "/cooperation",
    status_code=201,
    summary="Answer the cooperation questionnaire during the evaluation, once, anonymously: the "
    "project records only that this partner answered (partner)",
)
async def answer_cooperation(
    body: cmd.CooperationFields, acting: Annotated[Acting, acting_as(cmd.AnswerCooperation)]
) -> ActionResult:
    return await acting.cooperate(body)


@router.post(
    "/leave",
    summary="Leave the project, with a reason: the partner's link stops working and nothing "
    "more is expected of it (partner)",
)
async def leave_project(
    body: cmd.LeaveFields, acting: Annotated[Acting, acting_as(cmd.LeaveProject)]
) -> ActionResult:
    return await acting.perform(**body.model_dump())


@router.post("/cancel", summary="Cancel the project, with a reason (coordinator)")
async def cancel(
    body: cmd.CancelFields, acting: Annotated[Acting, acting_as(cmd.Cancel)]
) -> ActionResult:
    return await acting.perform(**body.model_dump())


@router.get(
    "/actions/{key}",
    summary="An action's result by its Idempotency-Key (the Location of a 202): 200 once "
    "recorded, 202 while waiting, 404 if Temporal does not have it (send it again)",
)
async def action_result(
    project_id: str, key: str, caller: CurrentCaller, gateway: Gateway
) -> ActionResult:
    # Scoped to who sent it: another caller's look-up names another update, so finds nothing.
    actor = await caller_as_actor(gateway, caller, project_id)
    return await gateway.action_result(project_id, update_id(actor, key), key)
