"""Invite, remove, re-send a link (coordinator); a participant's own contact settings."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentCaller, Gateway, IdempotencyKey, Signer, perform, readable_view
from api.errors import ApiError
from api.routes.projects import ERRORS
from api.schemas import (
    ContactPatch,
    InvitationResponse,
    ParticipantCreate,
    ParticipantToken,
    RemovalBody,
    ReplacementCreate,
)
from api.security import ParticipantToken as Token
from api.security import TokenSigner
from domain import commands as cmd
from domain.models import Role
from domain.views import ActionResult
from workflows.project import ProjectWorkflow


def _with_token(
    signer: TokenSigner, project_id: str, result: ActionResult, pid: str, name: str, role: Role
) -> InvitationResponse:
    """The participant's new personal token, shown this once to the coordinator."""
    assert result.token_version is not None
    token = signer.sign(project_id, pid, role, result.token_version)
    return InvitationResponse(
        participant=ParticipantToken(id=pid, name=name, role=role, token=token), result=result
    )


router = APIRouter(prefix="/projects/{project_id}/participants", tags=["participants"])


@router.post(
    "",
    status_code=201,
    response_model=InvitationResponse,
    responses=ERRORS,
    summary="Invite a participant (coordinator); returns its personal token, once",
)
async def invite(
    project_id: str,
    body: ParticipantCreate,
    caller: CurrentCaller,
    gateway: Gateway,
    signer: Signer,
    idempotency_key: IdempotencyKey = None,
) -> InvitationResponse:
    result = await perform(
        gateway,
        caller,
        project_id,
        ProjectWorkflow.invite_participant,
        cmd.InviteParticipant,
        idempotency_key,
        participant=body.model_dump(),
    )
    assert result.item_id is not None
    return _with_token(signer, project_id, result, result.item_id, body.name, body.role)


@router.delete(
    "/{participant_id}",
    response_model=ActionResult,
    responses=ERRORS,
    summary="Remove a participant (coordinator): its token stops working",
)
async def remove(
    project_id: str,
    participant_id: str,
    caller: CurrentCaller,
    gateway: Gateway,
    body: RemovalBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> ActionResult:
    return await perform(
        gateway,
        caller,
        project_id,
        ProjectWorkflow.remove_participant,
        cmd.RemoveParticipant,
        idempotency_key,
        participant_id=participant_id,
        reason=body.reason if body else "",
    )


@router.post(
    "/{participant_id}/link",
    response_model=InvitationResponse,
    responses=ERRORS,
    summary="Re-send a personal link (coordinator): a new token, the old one revoked",
)
async def resend_link(
    project_id: str,
    participant_id: str,
    caller: CurrentCaller,
    gateway: Gateway,
    signer: Signer,
    idempotency_key: IdempotencyKey = None,
) -> InvitationResponse:
    result = await perform(
        gateway,
        caller,
        project_id,
        ProjectWorkflow.resend_link,
        cmd.ResendLink,
        idempotency_key,
        participant_id=participant_id,
    )
    view = await gateway.view(project_id)
    who = next(p for p in view.participants if p.id == participant_id)
    return _with_token(signer, project_id, result, who.id, who.name, who.role)


@router.post(
    "/{participant_id}/replacement",
    status_code=201,
    response_model=InvitationResponse,
    responses=ERRORS,
    summary="Replace a participant by another (coordinator): the newcomer's token, once",
)
async def replace(
    project_id: str,
    participant_id: str,
    body: ReplacementCreate,
    caller: CurrentCaller,
    gateway: Gateway,
    signer: Signer,
    idempotency_key: IdempotencyKey = None,
) -> InvitationResponse:
    result = await perform(
        gateway,
        caller,
        project_id,
        ProjectWorkflow.replace_participant,
        cmd.ReplaceParticipant,
        idempotency_key,
        participant_id=participant_id,
        replacement=body.replacement.model_dump(),
        reason=body.reason,
    )
    assert result.item_id is not None
    newcomer = body.replacement
    return _with_token(signer, project_id, result, result.item_id, newcomer.name, newcomer.role)


@router.patch(
    "/me",
    response_model=ActionResult,
    responses=ERRORS,
    summary="Change your own email, webhook, language or time zone (any participant)",
)
async def update_me(
    project_id: str,
    body: ContactPatch,
    caller: CurrentCaller,
    gateway: Gateway,
    idempotency_key: IdempotencyKey = None,
) -> ActionResult:
    if not isinstance(caller, Token):
        await readable_view(gateway, caller, project_id)  # 404 if not the caller's project
        raise ApiError(
            403,
            "not_allowed",
            "only a participant, with its personal token, may change its own contact settings",
        )
    return await perform(
        gateway,
        caller,
        project_id,
        ProjectWorkflow.update_my_contact,
        cmd.UpdateMyContact,
        idempotency_key,
        **body.model_dump(exclude_unset=True),
    )
