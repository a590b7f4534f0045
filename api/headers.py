"""The same protective headers on every response, whoever wrote it: pages, JSON, files,
errors, the API's documentation. A page gets the page policy (our scripts and styles, from
our files only), anything else a policy that lets nothing run; the local mail viewer sets its
own sandbox (api/pages/mail.py). No policy here allows 'unsafe-inline': only the API's
documentation (its own inline script, written by FastAPI) gets that script's hash."""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALWAYS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
}
# JSON, files, anything that is not a page: nothing may run or load from it.
NOT_A_PAGE = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
_INLINE = re.compile(rb"<(script|style)(?:\s[^>]*)?>(.*?)</\1>", re.S | re.I)


# The pages FastAPI writes for the documentation, with an inline script of its own: the only
# responses whose inline blocks are allowed, by hash (never a page's of ours: an injected
# script would be hashed and allowed with them).
DOCUMENTATION = {"/docs", "/docs/oauth2-redirect"}


# A page: its scripts, styles and images from our own files, its forms to us, in no frame.
PAGE_POLICY = (
    b"default-src 'self'; style-src 'self'; img-src 'self'; script-src 'self'; "
    b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def documentation_policy(html: bytes) -> bytes:
    """The page policy, with the documentation's own inline blocks by hash and its icons
    (data: images)."""
    policy = PAGE_POLICY.replace(b"img-src 'self'", b"img-src 'self' data:")
    for tag, content in _INLINE.findall(html):
        if content.strip():
            digest = base64.b64encode(hashlib.sha256(content).digest())
            source = tag.lower() + b"-src 'self'"
            policy = policy.replace(source, source + b" 'sha256-" + digest + b"'")
    return policy


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        body: list[bytes] = []

        async def sending(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in ALWAYS.items() if k not in names]
                message = {**message, "headers": headers}
                if b"content-security-policy" in names:
                    await send(message)
                    return
                kind = dict((k.lower(), v) for k, v in headers).get(b"content-type", b"")
                if not kind.startswith(b"text/html"):
                    message["headers"] = headers + [(b"content-security-policy", NOT_A_PAGE)]
                    await send(message)
                    return
                if scope.get("path") not in DOCUMENTATION:
                    message["headers"] = headers + [(b"content-security-policy", PAGE_POLICY)]
                    await send(message)
                    return
                held = message  # the documentation: its script's hash needs its body
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            html = b"".join(body)
            held["headers"] = held["headers"] + [(b"content-security-policy", documentation_policy(html))]
            await send(held)
            await send({"type": "http.response.body", "body": html})

        await self.app(scope, receive, sending)
