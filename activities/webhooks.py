"""Events in partners' own tools: each notification POSTed as JSON to the participant's
webhook, signed per the Standard Webhooks spec (`standardwebhooks`), so they can trust it.

An address must be https, and must not lead to a private, loopback or otherwise internal
address (no SSRF): checked when it is set and again before each delivery. Plain http to
loopback is allowed only when a setting says so (tests, a local receiver)."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook

from activities.notifications import Notification, PermanentDeliveryError, Recipient

# Answers worth another try (Standard Webhooks' advice): the receiver is busy or down.
RETRIED = {408, 429}


def new_secret() -> str:
    """A signing secret in the spec's form, shown to the participant once."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


async def refused_address(url: str, allow_loopback_http: bool = False) -> str | None:
    """Why this webhook address cannot be used (None: it can)."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        return "the address has no host"
    loopback_allowed = allow_loopback_http and parts.scheme in ("http", "https")
    if parts.scheme != "https" and not loopback_allowed:
        return "the address must start with https://"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = await asyncio.get_running_loop().getaddrinfo(host, port)
    except (OSError, ValueError):
        return "no server answers to this name"
    for *_, address in found:
        ip = ipaddress.ip_address(address[0])
        if ip.is_loopback and allow_loopback_http:
            continue
        if not ip.is_global or ip.is_multicast:
            return "the address leads to a private or internal network"
    if parts.scheme != "https" and not all(
        ipaddress.ip_address(a[0]).is_loopback for *_, a in found
    ):
        return "the address must start with https://"
    return None


def payload(notification: Notification, recipient: Recipient) -> dict[str, Any]:
    """What the receiver gets: the event as codes and the project's own texts, no one's
    contact details."""
    return {
        "type": f"alliance.{notification.kind}",
        "timestamp": (notification.at or datetime.now().astimezone()).isoformat(),
        "data": {
            "project_id": notification.project_id,
            "project_title": notification.project_title,
            "event_seq": notification.event_seq,
            "participant_id": recipient.participant_id,
            "facts": notification.facts,
        },
    }


class WebhookAdapter:
    """Delivers to each recipient's webhook, if they set one (and it was not gone)."""

    name = "webhook"

    def __init__(
        self,
        allow_loopback_http: bool = False,
        timeout: float = 10.0,
        disable: Any = None,
    ) -> None:
        self.allow_loopback_http = allow_loopback_http
        self.timeout = timeout
        # (project id, participant id) -> None: marks an endpoint gone (410), in the directory.
        self.disable = disable
        self._client: httpx.AsyncClient | None = None

    def wanted(self, notification: Notification, recipient: Recipient) -> bool:
        address = recipient.address
        return bool(
            address
            and address.webhook_url
            and address.webhook_secret
            and not address.webhook_disabled
            and notification.kind != "digest"  # the events came one by one already
        )

    async def deliver(self, notification: Notification, recipient: Recipient) -> None:
        if not self.wanted(notification, recipient):
            return
        address = recipient.address
        assert address is not None and address.webhook_url and address.webhook_secret
        refused = await refused_address(address.webhook_url, self.allow_loopback_http)
        if refused:
            raise PermanentDeliveryError(f"the webhook address was refused: {refused}")
        body = json.dumps(payload(notification, recipient), ensure_ascii=False)
        message_id = f"{notification.key}/{recipient.participant_id}"
        moment = datetime.now().astimezone()
        signature = Webhook(address.webhook_secret).sign(message_id, moment, body)
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": signature,
        }
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        response = await self._client.post(
            address.webhook_url, content=body.encode(), headers=headers
        )
        status = response.status_code
        if 200 <= status < 300:
            return
        if status == 410:
            # Gone for good: no more deliveries there, and the participant's page says so.
            if self.disable is not None:
                await self.disable(notification.project_id, recipient.participant_id)
            return
        if status >= 500 or status in RETRIED:
            raise ConnectionError(f"the webhook answered {status}")
        raise PermanentDeliveryError(f"the webhook answered {status}")

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
