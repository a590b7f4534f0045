"""The same protective headers on every response, whoever wrote it: pages, JSON, files,
errors, the API's documentation. Pages set their own policy (api/pages/routes.py), the local
mail viewer its sandbox (api/pages/mail.py); what has none gets the strictest that works for
it. No policy here allows 'unsafe-inline': an HTML response with inline scripts or styles of
its own gets nothing more than the page policy: only the API's documentation (its own
inline script, written by FastAPI) gets that script's hash."""

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


def page_policy(html: bytes = b"") -> bytes:
    """For an HTML response with no policy of its own; `html`'s inline blocks by hash."""
    hashes: dict[bytes, list[bytes]] = {b"script": [], b"style": []}
    for tag, content in _INLINE.findall(html):
        if content.strip():
            digest = base64.b64encode(hashlib.sha256(content).digest())
            hashes[tag.lower()].append(b"'sha256-" + digest + b"'")
    return b"; ".join(
        [
            b"default-src 'self'",
            b"img-src 'self' data:",
            b" ".join([b"script-src 'self'", *hashes[b"script"]]),
            b" ".join([b"style-src 'self'", *hashes[b"style"]]),
            b"form-action 'self'",
            b"frame-ancestors 'none'",
            b"base-uri 'none'",
        ]
    )


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
                    message["headers"] = headers + [(b"content-security-policy", page_policy())]
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
            held["headers"] = held["headers"] + [(b"content-security-policy", page_policy(html))]
            await send(held)
            await send({"type": "http.response.body", "body": html})

        await self.app(scope, receive, sending)
