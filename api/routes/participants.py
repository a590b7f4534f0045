"""Invite, remove, replace, re-send a link (coordinator); a participant's own contact settings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body

from api.contacts import personal_data
from api.deps import (
    Acting,
    CurrentCaller,
    Gateway,
    Signer,
    acting_as,
    readable_view,
    sees_contacts,
)
from api.errors import ACTION_ERRORS, ApiError
from api.schemas import InvitationResponse, ParticipantCreate, ParticipantToken
from domain import commands as cmd
from domain.models import Participant, Phase
from domain.views import ActionResult, ParticipantPublic
from texts.links import ParticipantToken as Token
from texts.links import TokenSigner

router = APIRouter(
    prefix="/projects/{project_id}/participants", tags=["participants"], responses=ACTION_ERRORS
)


def _with_token(
    acting: Acting,
    signer: TokenSigner,
    result: ActionResult,
    who: cmd.ParticipantFields | ParticipantPublic,
) -> InvitationResponse:
    """The participant's new personal token, shown this once to the coordinator; signed from
    the recorded result, so a recorded action never looks unrecorded."""
    assert result.item_id and result.role and result.token_version
    token = signer.sign(acting.project_id, result.item_id, result.role, result.token_version)
    return InvitationResponse(
        participant=ParticipantToken(
            id=result.item_id,
            organisation_name=who.organisation_name,
            person_name=who.person_name,
            role=result.role,
            token=token,
            link=f"{acting.gateway.settings.api_url}/p/{token}",
        ),
        result=result,
    )


@router.get(
    "",
    summary="Every participant with its contact details, from the directory (the project's "
    "coordinator only)",
)
async def list_participants(
    project_id: str, caller: CurrentCaller, gateway: Gateway
) -> list[Participant]:
    await readable_view(gateway, caller, project_id)
    _coordinator_only(caller)
    return await gateway.participants(project_id)


@router.get(
    "/me/data",
    summary="Everything Alliance holds about you in this project (your right of access), as JSON",
)
async def my_data(project_id: str, caller: CurrentCaller, gateway: Gateway) -> dict[str, Any]:
    await readable_view(gateway, caller, project_id)
    if not isinstance(caller, Token):
        raise ApiError(403, "not_allowed", "a participant asks for its own data with its link")
    return await personal_data(gateway, project_id, caller.participant_id)


@router.get(
    "/{participant_id}/data",
    summary="Everything Alliance holds about one participant, for its access request "
    "(the project's coordinator)",
)
async def participant_data(
    project_id: str, participant_id: str, caller: CurrentCaller, gateway: Gateway
) -> dict[str, Any]:
    await readable_view(gateway, caller, project_id)
    _coordinator_only(caller)
    return await personal_data(gateway, project_id, participant_id)


def _coordinator_only(caller: Any) -> None:
    if not sees_contacts(caller):
        raise ApiError(
            403, "not_allowed", "participants' contact details are for the project's coordinator"
        )


@router.post(
    "", status_code=201, summary="Invite a participant (coordinator); its personal token, once"
)
async def invite(
    body: ParticipantCreate,
    acting: Annotated[Acting, acting_as(cmd.InviteParticipant)],
    signer: Signer,
) -> InvitationResponse:
    result = await acting.perform(participant=body.model_dump())
    return _with_token(acting, signer, result, body)


@router.delete(
    "/{participant_id}", summary="Remove a participant (coordinator): its token stops working"
)
async def remove(
    participant_id: str,
    acting: Annotated[Acting, acting_as(cmd.RemoveParticipant)],
    body: Annotated[cmd.ReasonFields | None, Body()] = None,
) -> ActionResult:
    reason = (body or cmd.ReasonFields()).reason
    return await acting.perform(participant_id=participant_id, reason=reason)


@router.post(
    "/{participant_id}/link",
    summary="Re-send a personal link (coordinator): a new token, the old one revoked",
)
async def resend_link(
    participant_id: str,
    acting: Annotated[Acting, acting_as(cmd.ResendLink)],
    signer: Signer,
) -> InvitationResponse:
    # Before acting: a 404 changes nothing. Named: the response says whose link it is.
    view = await acting.gateway.named_view(await acting.gateway.view(acting.project_id))
    who = next((p for p in view.participants if p.id == participant_id), None)
    result = await acting.perform(participant_id=participant_id)
    assert who is not None  # the workflow refuses an unknown participant
    return _with_token(acting, signer, result, who)


@router.post(
    "/{participant_id}/replacement",
    status_code=201,
    summary="Replace a participant by another (coordinator): the newcomer's token, once",
)
async def replace(
    participant_id: str,
    body: cmd.ReplacementFields,
    acting: Annotated[Acting, acting_as(cmd.ReplaceParticipant)],
    signer: Signer,
) -> InvitationResponse:
    result = await acting.perform(participant_id=participant_id, **body.model_dump())
    return _with_token(acting, signer, result, body.replacement)


@router.post(
    "/{participant_id}/erasure",
    summary="Erase a participant's data at their request (coordinator): their contact details, "
    "and with redact_texts what they wrote",
)
async def erase(
    participant_id: str,
    acting: Annotated[Acting, acting_as(cmd.EraseParticipant)],
    body: Annotated[cmd.ErasureFields | None, Body()] = None,
) -> dict[str, Any]:
    asked = body or cmd.ErasureFields()
    view = await acting.gateway.view(acting.project_id)
    if not any(p.id == participant_id for p in view.participants):
        raise ApiError(404, "not_a_participant", f"no participant {participant_id!r}")
    over = view.phase in (Phase.closed, Phase.cancelled)
    in_archive = False
    if over:
        # Its history is closed: the directory, and with redact_texts the project's archive
        # (Temporal's copy of the history goes when its retention ends).
        result = None
        await (await acting.gateway.contacts.directory()).erase(acting.project_id, participant_id)
        if asked.redact_texts:
            try:
                in_archive = await acting.gateway.archivist.erase_texts(
                    acting.project_id, participant_id, datetime.now(UTC)
                )
            except OSError:
                raise ApiError(
                    503,
                    "archive_unavailable",
                    "the contact details are erased, but the archive store could not be "
                    "reached to redact the texts; send the same request again",
                    headers={"Retry-After": "5"},
                ) from None
    else:
        # The project may refuse (the only coordinator): then nothing is erased.
        result = await acting.perform(participant_id=participant_id, **asked.model_dump())
    return {
        "participant_id": participant_id,
        "contact_details_erased": True,
        "texts_redacted": asked.redact_texts and (in_archive or not over),
        "removed_from_project": not over,
        "note": (
            "the project is over: its texts are redacted in its archive, and Temporal's copy "
            "of its history goes when its retention ends"
            if in_archive
            else "the project is over and its archive is not written yet: the archive will "
            "be written with these texts redacted"
            if over and asked.redact_texts
            else ""
        ),
        "result": result.model_dump(mode="json") if result else None,
    }


@router.patch(
    "/me", summary="Change your own email, webhook, language or time zone (any participant)"
)
async def update_me(
    project_id: str,
    body: cmd.ContactFields,
    caller: CurrentCaller,
    gateway: Gateway,
    acting: Annotated[Acting, acting_as(cmd.UpdateMyContact)],
) -> ActionResult:
    if not isinstance(caller, Token):
        await readable_view(gateway, caller, project_id)  # 404 if not the caller's project
        raise ApiError(
            403,
            "not_allowed",
            "only a participant, with its personal link, may change its own contact settings",
        )
    return await acting.perform(**body.model_dump(exclude_unset=True))
