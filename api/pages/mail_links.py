"""Links sent by e-mail from the sign-in page: a participant's personal link again, and the
console's sign-in link for the addresses an organisation lists in settings.

Both answer the same page, at once, whether or not the address is known: the look-up and the
sending happen after the answer, so neither the words nor the timing tell who takes part.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from activities.mail.compose import Sender, message_of, sign_in_letter
from activities.mail.smtp import MailAdapter, mail_adapter
from activities.notifications import (
    Address,
    Notification,
    PermanentDeliveryError,
    Recipient,
)
from api.errors import ApiError
from domain.fields import EMAIL_PATTERN
from settings import Settings
from texts.i18n import Texts, texts

from .console import SignInLimiter, nonce_matches, signed_in, with_nonce
from .routes import _gateway, _language, _render

router = APIRouter(include_in_schema=False)
log = logging.getLogger("alliance.links")

# In a quarter of an hour: a few requests per e-mail address asked for, more per browser's
# address (a town hall's staff may share one).
REQUESTS_PER_EMAIL = 3
REQUESTS_PER_ADDRESS = 20
WINDOW_SECONDS = 15 * 60.0
CONSOLE_LINK_MINUTES = 15
# A message the SMTP server did not take at once: tried again twice, a little later.
RETRY_DELAYS = (5.0, 60.0)


def _t(request: Request) -> Texts:
    return texts(_language(request, None), None)


def _limiters(request: Request) -> tuple[SignInLimiter, SignInLimiter]:
    state = request.app.state
    if not hasattr(state, "link_limiters"):
        state.link_limiters = (
            SignInLimiter(REQUESTS_PER_EMAIL, WINDOW_SECONDS),
            SignInLimiter(REQUESTS_PER_ADDRESS, WINDOW_SECONDS),
        )
    return state.link_limiters


def _mailer(request: Request) -> MailAdapter:
    state = request.app.state
    if not hasattr(state, "mailer"):
        state.mailer = mail_adapter(state.settings)
    return state.mailer


def _in_background(request: Request, work: Any) -> None:
    """After the answer: kept referenced until done (a task nobody holds may be collected)."""
    state = request.app.state
    if not hasattr(state, "mail_tasks"):
        state.mail_tasks = set()
    task = asyncio.create_task(work)
    state.mail_tasks.add(task)
    task.add_done_callback(state.mail_tasks.discard)


async def _asked(request: Request, field: str) -> tuple[Any, str, Response | None]:
    """The form's address, or the page that says what is wrong (the same for every address)."""
    t = _t(request)
    form = await request.form()
    email = str(form.get(field, "")).strip()
    if not nonce_matches(request, form):
        return form, email, _render(request, "refused.html", t, status=403, here="/connexion")
    if not re.match(EMAIL_PATTERN, email) or len(email) > 320:
        message = t.gettext("Write the e-mail address, such as name@example.org.")
        return form, email, _sign_in_again(request, t, field, message, email, 422)
    address = request.client.host if request.client else "unknown"
    by_email, by_address = _limiters(request)
    email_key, address_key = f"email:{email.casefold()}", f"address:{address}"
    wait = max(by_email.wait(email_key), by_address.wait(address_key))
    if wait:
        message = t.ngettext("Too many requests: try again in %(num)s minute.",
                             "Too many requests: try again in %(num)s minutes.",
                             max(1, round(wait / 60)))  # fmt: skip
        return form, email, _sign_in_again(request, t, field, message, email, 429)
    by_email.failed(email_key)  # every request counts
    by_address.failed(address_key)
    return form, email, None


def _sign_in_again(request: Request, t: Texts, field: str, error: str, email: str, status: int):
    return with_nonce(
        request,
        "sign_in.html",
        t,
        status=status,
        next_page="/console",
        organisation="",
        mail=True,
        mail_errors={field: error},
        mail_values={field: email},
    )


# -- a participant's personal link, again ---------------------------------------------------


@router.post("/connexion/lien-personnel")
async def send_my_link(request: Request) -> Response:
    _, email, refused = await _asked(request, "participant_email")
    if refused is not None:
        return refused
    _in_background(request, send_personal_links(request, email))
    return _render(request, "link_requested.html", _t(request), console=False)


async def send_personal_links(request: Request, email: str) -> None:
    """One message per project this address takes part in, with that participation's link."""
    gateway = _gateway(request)
    mailer = _mailer(request)
    try:
        directory = await gateway.contacts.directory()
        participations = await directory.participations(email)
    except Exception as e:  # noqa: BLE001 - logged; the person may ask again
        # The kind of error only: the database's message would quote the address asked for.
        log.warning(
            "personal links: the contact directory could not be read",
            extra={"error": type(e).__name__},
        )
        return
    for project_id, participant_id in participations:
        try:
            view = await gateway.view(project_id)
            people = {p.id: p for p in await gateway.participants(project_id)}
        except ApiError:
            continue  # a project Temporal no longer keeps, or unreachable now
        me = people.get(participant_id)
        if me is None or not me.active or not me.email:
            continue
        recipient = Recipient(
            participant_id=me.id,
            organisation_name=me.organisation_name,
            role=me.role,
            language=me.language,
            time_zone=me.time_zone,
            token_version=me.token_version,
            address=Address(email=me.email, person_name=me.person_name),
        )
        notification = Notification(
            key=f"link-request/{uuid.uuid4().hex}",
            project_id=project_id,
            project_title=view.title,
            kind="link_requested",
            event_seq=0,
            recipients=[recipient],
        )
        message = mailer.message_for(notification, recipient)
        if message is not None:
            await _send(mailer, message, me.email, project_id)


async def _send(mailer: MailAdapter, message: Any, email: str, about: str) -> None:
    for delay in (*RETRY_DELAYS, None):
        try:
            async with mailer.batch():
                await mailer.send(message, email)
            return
        except PermanentDeliveryError:
            break
        except Exception:  # noqa: BLE001 - a mail server down: a little later
            if delay is None:
                break
            await asyncio.sleep(delay)
    # Without the address: logs carry no personal data.
    log.warning("a link asked for by e-mail could not be sent", extra={"about": about})


# -- the console's sign-in by e-mailed link ---------------------------------------------------


def _console_links(settings: Settings) -> URLSafeTimedSerializer:
    assert settings.token_secret is not None
    return URLSafeTimedSerializer(
        settings.token_secret.get_secret_value(), salt="alliance-console-link"
    )


@router.post("/connexion/lien-console")
async def send_console_link(request: Request) -> Response:
    _, email, refused = await _asked(request, "coordinator_email")
    if refused is not None:
        return refused
    _in_background(request, send_console_link_to(request, email, _t(request)))
    return _render(request, "link_requested.html", _t(request), console=True)


async def send_console_link_to(request: Request, email: str, t: Texts) -> None:
    """After the answer, like the personal links: the answer's timing says nothing."""
    settings: Settings = request.app.state.settings
    organisation = settings.coordinator_emails.get(email.casefold())
    if organisation is None:
        return
    token = _console_links(settings).dumps({"o": organisation, "n": uuid.uuid4().hex})
    link = f"{settings.api_url.rstrip('/')}/connexion/lien-console/{token}"
    letter = sign_in_letter(t, organisation, link, CONSOLE_LINK_MINUTES)
    sender = Sender(settings.mail_from, settings.api_url)
    message = message_of(letter, t, email, "", f"console-link/{uuid.uuid4().hex}", sender)
    await _send(_mailer(request), message, email, "console")


def _console_claims(request: Request, token: str) -> dict[str, str] | None:
    settings: Settings = request.app.state.settings
    try:
        claims = _console_links(settings).loads(token, max_age=CONSOLE_LINK_MINUTES * 60)
    except (BadSignature, SignatureExpired):
        return None
    used: dict[str, float] = getattr(request.app.state, "used_console_links", {})
    if not isinstance(claims, dict) or claims.get("n") in used:
        return None
    if claims.get("o") not in settings.coordinator_emails.values():
        return None  # the address was taken off the list since
    return claims


def _expired(request: Request) -> Response:
    t = _t(request)
    message = t.gettext("This sign-in link has expired or was already used: ask for another one.")
    return _sign_in_again(request, t, "coordinator_email", message, "", 400)


@router.get("/connexion/lien-console/{token}")
async def console_link_page(request: Request, token: str) -> Response:
    """Shows a button: opening the link signs no one in (mail scanners open links too)."""
    claims = _console_claims(request, token)
    if claims is None:
        return _expired(request)
    return with_nonce(
        request, "console_link.html", _t(request), organisation=claims["o"], token=token
    )


@router.post("/connexion/lien-console/{token}")
async def console_link_sign_in(request: Request, token: str) -> Response:
    form = await request.form()
    if not nonce_matches(request, form):
        return _render(request, "refused.html", _t(request), status=403, here="/connexion")
    claims = _console_claims(request, token)
    if claims is None:
        return _expired(request)
    # Once only, in this process (the link lasts a quarter of an hour).
    state = request.app.state
    if not hasattr(state, "used_console_links"):
        state.used_console_links = {}
    now = time.monotonic()
    state.used_console_links = {
        n: at for n, at in state.used_console_links.items() if now - at < CONSOLE_LINK_MINUTES * 60
    }
    state.used_console_links[claims["n"]] = now
    return signed_in(request, claims["o"])
