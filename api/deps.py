"""What a route needs, named in plain words: the caller, the gateway, the acting participant."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError

from api.errors import ApiError
from api.gateway import ProjectGateway
from api.security import Authenticator, Caller, Coordinator, ParticipantToken, TokenSigner
from domain import commands as cmd
from domain.models import Role
from domain.project import who_may
from domain.views import ActionResult, ProjectView
from settings import Settings


async def _gateway(request: Request) -> ProjectGateway:
    return request.app.state.gateway


async def _signer(request: Request) -> TokenSigner:
    return request.app.state.authenticator.signer


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


# Declared as the OpenAPI bearer scheme, so /docs has an "Authorize" button.
_bearer = HTTPBearer(
    auto_error=False,
    description="A coordinator or ops credential, or a participant's personal token",
)


async def _caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
) -> Caller:
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator.caller(f"Bearer {credentials.credentials}" if credentials else None)


Gateway = Annotated[ProjectGateway, Depends(_gateway)]
Signer = Annotated[TokenSigner, Depends(_signer)]
AppSettings = Annotated[Settings, Depends(_settings)]
CurrentCaller = Annotated[Caller, Depends(_caller)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Makes a retried request safe: the same key and body record one event and "
        "return the same result; the same key with another body gets 422.",
    ),
]


def _not_found(project_id: str) -> ApiError:
    # The same answer whether the project does not exist or is not the caller's: no leak.
    return ApiError(404, "project_not_found", f"no project {project_id!r}")


async def readable_view(gateway: ProjectGateway, caller: Caller, project_id: str) -> ProjectView:
    """The project's view, if this caller may read it."""
    if isinstance(caller, ParticipantToken) and caller.project_id != project_id:
        raise _not_found(project_id)
    view = await gateway.view(project_id)
    if isinstance(caller, Coordinator):
        if not caller.ops and view.coordinator_organisation != caller.organisation_id:
            raise _not_found(project_id)
        return view
    me = next((p for p in view.participants if p.id == caller.participant_id), None)
    if me is None or not me.active or me.token_version != caller.version:
        raise ApiError(
            401,
            "stale_token" if me is not None and me.active else "not_a_participant",
            "this personal link no longer works (it was replaced, or you were removed); "
            "ask the coordinator for a new one",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return view


def _roles_in_words(roles: frozenset[Role]) -> str:
    return " or ".join(sorted(r.value for r in roles))


async def acting_participant(
    gateway: ProjectGateway, caller: Caller, project_id: str, command_type: type[cmd.Command]
) -> cmd.Actor:
    """Who acts: the token's own participant, or the coordinator behind a credential.

    The role is checked here first (403 names who may act); the workflow's validator keeps the
    last word (token version, phase, content).
    """
    roles, action = who_may(command_type)
    if command_type is cmd.GiveAnswer:
        roles = roles | {Role.facilitator}  # when the process says `facilitator_votes`
    if isinstance(caller, ParticipantToken):
        if caller.project_id != project_id:
            raise _not_found(project_id)
        if caller.role not in roles:
            raise ApiError(
                403,
                "not_allowed",
                f"only a {_roles_in_words(roles)} may {action}; you take part as {caller.role.value}",
            )
        return cmd.Actor(participant_id=caller.participant_id, token_version=caller.version)
    # Not its organisation's project: 404 before anything else, so nothing leaks.
    view = await readable_view(gateway, caller, project_id)
    if caller.ops:
        raise ApiError(
            403,
            "not_allowed",
            f"only a {_roles_in_words(roles)} may {action}; an ops credential reads projects",
        )
    if Role.coordinator not in roles:
        raise ApiError(
            403,
            "not_allowed",
            f"only a {_roles_in_words(roles)} may {action}; a coordinator credential acts as "
            "the coordinator",
        )
    coordinators = [p for p in view.participants if p.active and p.role == Role.coordinator]
    own = [p for p in coordinators if p.organisation_id == caller.organisation_id]
    chosen = (own or coordinators or [None])[0]
    if chosen is None:
        raise ApiError(409, "no_coordinator", "this project has no active coordinator to act as")
    return cmd.Actor(participant_id=chosen.id, token_version=chosen.token_version)


def update_id(actor: cmd.Actor, key: str | None) -> str:
    """The Temporal update id: the client's key, scoped to who acts (two partners may well
    pick the same key); a fresh one when the client gave none."""
    if key is None:
        return uuid.uuid4().hex
    return hashlib.sha256(f"{actor.participant_id}\x00{key}".encode()).hexdigest()[:40]


async def perform(
    gateway: ProjectGateway,
    caller: Caller,
    project_id: str,
    update: Any,
    command_type: type[cmd.Command],
    key: str | None,
    **fields: Any,
) -> ActionResult:
    """One partner action, one straight line: token → update (validator) → events → result."""
    actor = await acting_participant(gateway, caller, project_id, command_type)
    try:
        command = command_type(actor=actor, **fields)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ApiError(422, "invalid_request", f"{where}: {first['msg']}") from None
    return await gateway.act(project_id, update, command, update_id(actor, key))
