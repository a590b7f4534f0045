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
from domain import commands as cmd
from domain.models import NotificationPreference
from domain.views import PageData
from texts.i18n import Texts, texts
from texts.links import UnsubscribeSigner

from .routes import Unavailable, _gateway, _language, _page, _render, _unavailable

router = APIRouter(include_in_schema=False)


def _signer(request: Request) -> UnsubscribeSigner:
    return UnsubscribeSigner(request.app.state.settings.token_secret.get_secret_value())


async def _reader(request: Request, token: str) -> tuple[str, PageData, Texts] | Response:
    """Whom the address names (an active participant), or the page that says why not."""
    claims = _signer(request).read(token)
    if claims is None:
        return _gone(request)
    project_id, participant_id = claims
    try:
        data = await _page(request, project_id, participant_id)
    except Unavailable as e:
        return _unavailable(request, e.error)
    if data is None or not data.me.active:
        return _gone(request)
    return project_id, data, texts(_language(request, data.me.language), data.me.time_zone)


def _gone(request: Request) -> Response:
    return _render(request, "link_invalid.html", texts(_language(request, None), None), status=404)


def _page_of(request: Request, data: PageData, t: Texts, token: str, done: bool) -> Response:
    return _render(
        request, "unsubscribe.html", t, title=data.view.title, me=data.me, done=done, token=token
    )


@router.get("/desabonnement/{token}")
async def unsubscribe_page(request: Request, token: str) -> Response:
    found = await _reader(request, token)
    if isinstance(found, Response):
        return found
    _, data, t = found
    return _page_of(request, data, t, token, done=False)


@router.post("/desabonnement/{token}")
async def unsubscribe(request: Request, token: str) -> Response:
    found = await _reader(request, token)
    if isinstance(found, Response):
        return found
    project_id, data, t = found
    if data.me.notifications != NotificationPreference.essentials:
        actor = cmd.Actor(participant_id=data.me.id, token_version=data.me.token_version)
        command = cmd.UpdateMyContact(actor=actor, notifications=NotificationPreference.essentials)
        key = uuid.uuid4().hex
        try:
            await _gateway(request).act(project_id, command, update_id(actor, key), key)
        except ApiError as e:
            if e.status != 202:  # 202: recorded as soon as a worker is back
                return _unavailable(request, e)
    return _page_of(request, data, t, token, done=True)
