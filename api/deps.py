"""What a route needs, named in plain words: the caller, the gateway, the acting participant."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError

from api.errors import ApiError
from api.gateway import ProjectGateway
from api.observability import note_actor
from api.security import Authenticator, Caller, Coordinator
from domain import commands as cmd
from domain.actions import Action, action_for, role_refusal, who_may
from domain.models import Role
from domain.views import ActionResult, ParticipantPublic, ProjectView
from settings import Settings
from texts.links import ParticipantToken, TokenSigner


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
    caller = authenticator.caller(f"Bearer {credentials.credentials}" if credentials else None)
    if isinstance(caller, ParticipantToken):
        request.app.state.link_limiter.use(caller)
    note_actor(actor_label(caller))
    return caller


def actor_label(caller: Caller) -> str:
    """Who acts, for log lines: a role and an id, never a name or an address."""
    if isinstance(caller, ParticipantToken):
        return f"{caller.role.value}:{caller.participant_id}"
    if caller.ops:
        return "ops"
    return f"coordinator:{caller.organisation_id}"


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
        "return the same result; the same key with another body gets 422. Without one, the "
        "API makes one (given in the Location of a 202).",
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


def sees_contacts(caller: Caller) -> bool:
    """Participants' contact details are for the project's coordinator: its organisation's
    credential or its coordinator's own link (ops read projects, not people's details)."""
    if isinstance(caller, Coordinator):
        return not caller.ops
    return isinstance(caller, ParticipantToken) and caller.role == Role.coordinator


async def acting_participant(
    gateway: ProjectGateway, caller: Caller, project_id: str, action: Action
) -> cmd.Actor:
    """Who acts: the token's own participant, or the coordinator behind a credential.

    The role is checked here first (403 says who may act); the workflow's validator keeps the
    last word (token version, phase, content).
    """
    if isinstance(caller, ParticipantToken):
        if caller.project_id != project_id:
            raise _not_found(project_id)
        refused = role_refusal(action, caller.role, None)
        if refused:
            raise ApiError(403, refused.code, refused.message)
        return cmd.Actor(participant_id=caller.participant_id, token_version=caller.version)
    # Not its organisation's project: 404 before anything else, so nothing leaks.
    view = await readable_view(gateway, caller, project_id)
    if caller.ops:
        raise ApiError(
            403,
            "not_allowed",
            f"{who_may(action, None)}; an ops credential reads every project but does not act",
        )
    refused = role_refusal(action, Role.coordinator, None)
    if refused:
        raise ApiError(
            403,
            refused.code,
            f"{refused.message}; a coordinator credential acts as the project's coordinator",
        )
    return _coordinator_actor(view, caller)


def coordinator_of(view: ProjectView, organisation_id: str | None) -> ParticipantPublic | None:
    """The participant a coordinating organisation acts as: its own coordinator, else the
    project's first active one (the API's credentials and the console alike)."""
    coordinators = [p for p in view.participants if p.active and p.role == Role.coordinator]
    own = [p for p in coordinators if p.organisation_id == organisation_id]
    return (own or coordinators or [None])[0]


def _coordinator_actor(view: ProjectView, caller: Coordinator) -> cmd.Actor:
    """The participant a coordinator credential acts as: its organisation's coordinator."""
    chosen = coordinator_of(view, caller.organisation_id)
    if chosen is None:
        raise ApiError(409, "no_coordinator", "this project has no active coordinator to act as")
    return cmd.Actor(participant_id=chosen.id, token_version=chosen.token_version)


async def caller_as_actor(gateway: ProjectGateway, caller: Caller, project_id: str) -> cmd.Actor:
    """Who this caller acts as in this project, whatever the action."""
    if isinstance(caller, ParticipantToken):
        if caller.project_id != project_id:
            raise _not_found(project_id)
        return cmd.Actor(participant_id=caller.participant_id, token_version=caller.version)
    view = await readable_view(gateway, caller, project_id)
    if caller.ops:
        raise _not_found(project_id)  # ops send no action, so have none to follow
    return _coordinator_actor(view, caller)


def update_id(actor: cmd.Actor, key: str) -> str:
    """The Temporal update id: the client's key, scoped to who acts (two partners may well
    pick the same key, and an action's URL answers only the one who sent it)."""
    return hashlib.sha256(f"{actor.participant_id}\x00{key}".encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Acting:
    """A caller allowed to take one action on one project, and the key the action goes by."""

    gateway: ProjectGateway
    project_id: str
    command_type: type[cmd.Command]
    actor: cmd.Actor
    # The client's Idempotency-Key, or one made here: every write carries an update id, so
    # an action that is not confirmed at once can be followed (and re-sent safely).
    key: str

    async def cooperate(self, answer: cmd.CooperationFields) -> ActionResult:
        """The cooperation questionnaire: the answer to the directory, anonymously, and to the
        project only that this partner answered."""
        return await self.gateway.cooperate(
            self.project_id, self.actor, answer, update_id(self.actor, self.key), self.key
        )

    async def perform(self, **fields: Any) -> ActionResult:
        """One action, one straight line: update (validator) → events → fold → result."""
        try:
            command = self.command_type(actor=self.actor, **fields)
        except ValidationError as e:
            raise invalid_request(e) from None
        return await self.gateway.act(
            self.project_id, command, update_id(self.actor, self.key), self.key
        )


def acting_as(command_type: type[cmd.Command]) -> Any:
    """The dependency of a route that takes this action: the caller, checked against the
    action table, as the actor of the command."""
    action = action_for(command_type)

    async def acting(
        project_id: str, caller: CurrentCaller, gateway: Gateway, key: IdempotencyKey = None
    ) -> Acting:
        actor = await acting_participant(gateway, caller, project_id, action)
        return Acting(gateway, project_id, command_type, actor, key or uuid.uuid4().hex)

    return Depends(acting)


def invalid_request(error: ValidationError) -> ApiError:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    return ApiError(422, "invalid_request", f"{where}: {message}" if where else message)
