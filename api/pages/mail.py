"""The local mail catcher's page (/courrier): the messages the local run's SMTP catcher kept,
newest first, each shown as its reader would see it, links clickable. Served only with the
catcher, and only to this machine (loopback): the messages carry personal links."""

from __future__ import annotations

import re
import secrets
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parsedate_to_datetime
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlencode

import aiosmtplib
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from activities.mail.catcher import message_files, read_message
from texts.i18n import Texts, texts
from texts.words import N_

from .routes import _language, _render, not_found_page

router = APIRouter(include_in_schema=False)

_NAME = re.compile(r"^[0-9T]+-[0-9]+$")
# A message's HTML is shown in a frame of its own, sandboxed: no script, no form, its inline
# styles allowed; a link opens in the whole window, as from a mail client.
MESSAGE_HEADERS = {
    "Content-Security-Policy": "sandbox allow-popups allow-top-navigation-by-user-activation; "
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    "Cache-Control": "no-store",
}


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def _local(request: Request) -> bool:
    """Asked from this machine, by this machine's name: a proxy or a tunnel forwards from
    loopback too, but under another name; so does a page that rebinds its own name here."""
    if request.url.hostname not in LOOPBACK_NAMES or request.client is None:
        return False
    try:
        return ip_address(request.client.host).is_loopback
    except ValueError:
        return False


def _folder(request: Request) -> Path:
    return request.app.state.settings.mail_dir


def _file(request: Request, name: str) -> Path | None:
    if not _NAME.match(name):
        return None
    path = _folder(request) / f"{name}.eml"
    return path if path.is_file() else None


CALENDAR_WORDS = {"REQUEST": N_("entry added or moved"), "CANCEL": N_("entry withdrawn")}


def _summary(name: str, message: EmailMessage, t: Texts) -> dict[str, str]:
    try:
        sent = t.moment(parsedate_to_datetime(str(message.get("Date"))))
    except (TypeError, ValueError):
        sent = str(message.get("Date") or "")
    return {
        "name": name,
        "to": str(message.get("X-Alliance-Envelope-To") or message.get("To") or ""),
        "subject": str(message.get("Subject") or ""),
        "date": sent,
        "calendar": next(
            (
                str(p.get_param("method") or "")
                for p in message.walk()
                if p.get_content_type() == "text/calendar"
            ),
            "",
        ),
    }


@router.get("/courrier")
async def mailbox(request: Request) -> Response:
    if not _local(request):
        return not_found_page(request)
    t = texts(_language(request, None), None)
    files = message_files(_folder(request))[::-1][:500]
    messages = [_summary(path.stem, read_message(path), t) for path in files]
    return _render(
        request,
        "mailbox.html",
        t,
        messages=messages,
        folder=str(_folder(request)),
        calendar_words=CALENDAR_WORDS,
    )


def _reply_key(request: Request) -> str:
    """The mail page's form key: a cross-site page cannot read it (same origin), so it cannot
    post a reply in the reader's name."""
    state = request.app.state
    if getattr(state, "mail_reply_key", None) is None:
        state.mail_reply_key = secrets.token_urlsafe(24)
    return state.mail_reply_key


@router.get("/courrier/{name}")
async def mail_message(
    request: Request, name: str, said: str | None = None, code: int | None = None
) -> Response:
    path = _file(request, name) if _local(request) else None
    if path is None:
        return not_found_page(request)
    t = texts(_language(request, None), None)
    message = read_message(path)
    text = message.get_body(("plain",))
    settings = request.app.state.settings
    return _render(
        request,
        "mail_message.html",
        t,
        message=_summary(name, message, t),
        text=text.get_content() if text else "",
        has_html=message.get_body(("html",)) is not None,
        calendar_words=CALENDAR_WORDS,
        # A mail that asks an answer: this page replies to it as its reader would.
        reply_to=str(message.get("Reply-To") or "") if settings.reply_domain else "",
        reply_key=_reply_key(request),
        replied=(code, said) if code is not None else None,
    )


@router.post("/courrier/{name}/reponse")
async def mail_reply(request: Request, name: str) -> Response:
    """Reply to a kept message through the local inbound service, from its reader's address
    (the envelope's recipient), quoting it as a mail client would; the page then says what
    the service answered."""
    path = _file(request, name) if _local(request) else None
    form = await request.form()
    if path is None or not secrets.compare_digest(
        str(form.get("reply_key", "")), _reply_key(request)
    ):
        return not_found_page(request)
    settings = request.app.state.settings
    original = read_message(path)
    to = str(original.get("Reply-To") or "")
    sender = str(original.get("X-Alliance-Envelope-To") or "")
    if not to or not sender or not settings.reply_domain:
        return not_found_page(request)
    quoted = original.get_body(("plain",))
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = to
    reply["Subject"] = f"Re: {original.get('Subject', '')}"
    reply["Message-ID"] = make_msgid(domain="localhost")
    reply["Date"] = formatdate(localtime=True)
    if original.get("Message-ID"):
        reply["In-Reply-To"] = str(original["Message-ID"])
    body = str(form.get("text", ""))[:10_000]
    quote = "\n".join(f"> {line}" for line in (quoted.get_content() if quoted else "").splitlines())
    reply.set_content(f"{body}\n\n{quote}\n")
    try:
        async with aiosmtplib.SMTP(
            hostname=settings.inbound_host, port=settings.inbound_port, timeout=30
        ) as smtp:
            _, said = await smtp.sendmail(sender, [to], reply.as_bytes())
            code = 250
    except aiosmtplib.SMTPRecipientsRefused as e:
        code, said = (e.recipients[0].code, e.recipients[0].message) if e.recipients else (550, "")
    except aiosmtplib.SMTPResponseException as e:
        code, said = e.code, e.message
    except (OSError, aiosmtplib.SMTPException):
        code, said = 421, "the inbound mail service does not answer"
    return RedirectResponse(
        f"/courrier/{name}?{urlencode({'code': code, 'said': said[:300]})}#reponse",
        status_code=303,
    )


@router.get("/courrier/{name}/agenda.ics")
async def mail_calendar(request: Request, name: str) -> Response:
    """The message's calendar entry, for the calendar application of this machine to open."""
    path = _file(request, name) if _local(request) else None
    parts = [
        p
        for p in (read_message(path).walk() if path else [])
        if p.get_content_type() == "text/calendar"
    ]
    if not parts:
        return not_found_page(request)
    return Response(
        parts[0].get_content(),
        media_type=f"text/calendar; charset=utf-8; method={parts[0].get_param('method') or 'REQUEST'}",
        headers={**MESSAGE_HEADERS, "Content-Disposition": f'inline; filename="{name}.ics"'},
    )


@router.get("/courrier/{name}/html")
async def mail_html(request: Request, name: str) -> Response:
    path = _file(request, name) if _local(request) else None
    html = read_message(path).get_body(("html",)) if path else None
    if html is None:
        return not_found_page(request)
    body = html.get_content()
    # Links leave the frame for the whole window, as they would from a mail client.
    body = body.replace("<head>", '<head><base target="_top">', 1)
    return HTMLResponse(body, headers=MESSAGE_HEADERS)
