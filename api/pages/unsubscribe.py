"""One-click unsubscribe (RFC 8058): the address in every project message's List-Unsubscribe.

A POST (the mail client's one click, or the page's button) switches that participant of that
project to the essentials only, recorded in the project's history as their own settings
change. A GET shows the page with the button and changes nothing (mail scanners open links).
No CSRF token: a mail client posts without one, and the signed address is the credential."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import update_id
from api.errors import ApiError
from api.security import UnsubscribeSigner
from domain import commands as cmd
from domain.models import NotificationPreference

from .i18n import texts
from .routes import Unavailable, _gateway, _language, _page, _render, _unavailable

router = APIRouter(include_in_schema=False)


def _signer(request: Request) -> UnsubscribeSigner:
    return UnsubscribeSigner(request.app.state.settings.token_secret.get_secret_value())


async def _whom(request: Request, token: str):
    claims = _signer(request).read(token)
    if claims is None:
        return None, None
    project_id, participant_id = claims
    data = await _page(request, project_id, participant_id)
    if data is None or not data.me.active:
        return None, None
    return project_id, data


def _gone(request: Request) -> Response:
    return _render(request, "link_invalid.html", texts(_language(request, None), None), status=404)


@router.get("/desabonnement/{token}")
async def unsubscribe_page(request: Request, token: str) -> Response:
    try:
        project_id, data = await _whom(request, token)
    except Unavailable as e:
        return _unavailable(request, e.error)
    if data is None:
        return _gone(request)
    t = texts(_language(request, data.me.language), data.me.time_zone)
    return _render(
        request, "unsubscribe.html", t, title=data.view.title, me=data.me, done=False, token=token
    )


@router.post("/desabonnement/{token}")
async def unsubscribe(request: Request, token: str) -> Response:
    try:
        project_id, data = await _whom(request, token)
    except Unavailable as e:
        return _unavailable(request, e.error)
    if data is None:
        return _gone(request)
    t = texts(_language(request, data.me.language), data.me.time_zone)
    if data.me.notifications != NotificationPreference.essentials:
        actor = cmd.Actor(participant_id=data.me.id, token_version=data.me.token_version)
        command = cmd.UpdateMyContact(actor=actor, notifications=NotificationPreference.essentials)
        key = uuid.uuid4().hex
        try:
            await _gateway(request).act(project_id, command, update_id(actor, key), key)
        except ApiError as e:
            if e.status != 202:  # 202: recorded as soon as a worker is back
                return _unavailable(request, e)
    return _render(
        request, "unsubscribe.html", t, title=data.view.title, me=data.me, done=True, token=token
    )
