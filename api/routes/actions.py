"""What partners and the facilitator do in a project: each route is one workflow update."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentCaller, Gateway, IdempotencyKey, perform
from api.routes.projects import ERRORS
from api.schemas import (
    AmendmentCreate,
    AnswerPut,
    AssessmentsCreate,
    ContributionCreate,
    DeadlineExtension,
    OutcomeCreate,
    PlanCreate,
    ProgressCreate,
    ProposalCreate,
    ReasonBody,
)
from domain import commands as cmd
from domain.views import ActionResult
from workflows.project import ProjectWorkflow as W

router = APIRouter(prefix="/projects/{project_id}", tags=["actions"], responses=ERRORS)


@router.post(
    "/contributions",
    status_code=201,
    response_model=ActionResult,
    summary="Add a diagnosis contribution (partner)",
)
async def add_contribution(
    project_id: str,
    body: ContributionCreate,
    caller: CurrentCaller,
    gateway: Gateway,
    idempotency_key: IdempotencyKey = None,
) -> ActionResult:
    return await perform(
        gateway,
        caller,
        project_id,
        W.add_contribution,
        cmd.AddContribution,
        idempotency_key,
        **body.model_dump(),
    )


@router.post(
    "/proposals",
    status_code=201,
    response_model=ActionResult,
    summary="Submit a proposal during co-design (partner)",
)
async def submit_proposal(
    project_id: str,
    body: ProposalCreate,
    caller: CurrentCaller,
    gateway: Gateway,
    idempotency_key: IdempotencyKey = None,
) -> ActionResult:
    return await perform(
        gateway,
        caller,
        project_id,
        W.submit_proposal,
        cmd.SubmitProposal,
        idempotency_key,
        **body.model_dump(),
    )


@router.post(
    "/proposals/{proposal_id}/amendments",
    status_code=201,
    response_model=ActionResult,
    summary="Amend a proposal (partner)",
)
async def amend_proposal(
    project_id: str,
    proposal_id: str,
    body: AmendmentCreate,
    caller: CurrentCaller,
    gateway: Gateway,
    idempotency_key: IdempotencyKey = None,
) -> ActionResult:
    return await perform(
        gateway,
        caller,
        project_id,
        W.amend_proposal,
        cmd.AmendProposal,
        idempotency_key,
        proposal_id=proposal_id,
        text=body.text,
    )


@router.post(
    "/proposals/{proposal_id}/endorsements",
    status_code=201,
    response_model=ActionResult,
    summary="Endorse a proposal (partner)",
)
async def endorse_proposal(
    project_id: str,
    proposal_id: str,
    caller: CurrentCaller,
    gateway: Gateway,
    idempotency_key: IdempotencyKey = None,
) -> ActionResult:
    return await perform(
        gateway,
        caller,
        project_id,
        W.endorse_proposal,
        cmd.EndorseProposal,
        idempotency_key,
        proposal_id=proposal_id,
    )


@router.post(
    "/plan",
    status_code=201,
    response_model=ActionResult,
    summary="Submit the consolidated plan: closes co-design, opens the decision (facilitator)",
)
async def submit_plan(
    project_id: str,
    body: PlanCreate,
    caller: CurrentCaller,
    gateway: Gateway,
    idempotency_key: IdempotencyKey = None,
) -> ActionResult:
    return await perform(
        gateway,
        caller,
        project_id,
        W.submit_plan,
        cmd.SubmitPlan,
        idempotency_key,
        **body.model_dump(),
    )


@router.post(
    "/outcome",
    status_code=201,
    response_model=ActionResult,
    summary="State the outcome in words after a decision (facilitator)",
)
async def state_outcome(
    project_id: str,
    body: OutcomeCreate,
    caller: CurrentCaller,
    gateway: Gateway,
    idempotency_key: IdempotencyKey = None,
) -> ActionResult:
    return await perform(
        gateway,
        caller,
        project_id,
        W.state_outcome,
        cmd.StateOutcome,
        idempotency_key,
        text=body.text,
    )


@router.put(
    "/answer",
    response_model=ActionResult,
    summary="Answer the decision as yourself: consent, object (with a reason) or abstain",
)
async def answer(
    project_id: str,
    body: AnswerPut,
    caller: CurrentCaller,
    gateway: Gateway,
    idempotency_key: IdempotencyKey = None,
) -> ActionResult:
    return await perform(
        gateway, caller, project_id, W.answer, cmd.GiveAnswer, idempotency_key, **body.model_dump()
    )


@router.post(
    "/deadline",
    response_model=ActionResult,
    summary="Extend the current phase's deadline, with a reason (facilitator)",
)
async def extend_deadline(
    project_id: str,
    body: DeadlineExtension,
    caller: CurrentCaller,
    gateway: Gateway,
    idempotency_key: IdempotencyKey = None,
) -> ActionResult:
    return await perform(
        gateway,
        caller,
        project_id,
        W.extend_deadline,
        cmd.ExtendDeadline,
        idempotency_key,
        **body.model_dump(),
    )


@router.post(
    "/close-phase", response_model=ActionResult, summary="Close the current phase now (facilitator)"
)
async def close_phase(
    project_id: str,
    caller: CurrentCaller,
    gateway: Gateway,
    body: ReasonBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> ActionResult:
    return await perform(
        gateway,
        caller,
        project_id,
        W.close_phase,
        cmd.ClosePhase,
        idempotency_key,
        reason=body.reason if body else "",
    )


@router.post(
    "/progress",
    status_code=201,
    response_model=ActionResult,
    summary="Note progress during implementation (partner)",
)
async def note_progress(
    project_id: str,
    body: ProgressCreate,
    caller: CurrentCaller,
    gateway: Gateway,
    idempotency_key: IdempotencyKey = None,
) -> ActionResult:
    return await perform(
        gateway,
        caller,
        project_id,
        W.note_progress,
        cmd.NoteProgress,
        idempotency_key,
        text=body.text,
    )


@router.post(
    "/assessments",
    status_code=201,
    response_model=ActionResult,
    summary="Score the adopted plan's indicators 1–5 (partner)",
)
async def assess(
    project_id: str,
    body: AssessmentsCreate,
    caller: CurrentCaller,
    gateway: Gateway,
    idempotency_key: IdempotencyKey = None,
) -> ActionResult:
    return await perform(
        gateway, caller, project_id, W.assess, cmd.Assess, idempotency_key, scores=body.scores
    )
