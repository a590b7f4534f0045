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
from datetime import UTC, datetime
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


class Unresolved(Exception):
    """The name does not resolve now: at delivery, worth another try."""


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A global unicast address, also when it wraps an IPv4 one (mapped, NAT64, 6to4)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in ipaddress.IPv6Network("64:ff9b::/96"):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not _public(embedded):
            return False
    return ip.is_global and not ip.is_multicast


async def checked_address(url: str, allow_loopback_http: bool = False) -> str:
    """The IP address to connect to for this webhook, checked once (connecting to it, not to
    the name again, so a name that changes its answer cannot lead inside). Raises ValueError
    with the reason when the address cannot be used, Unresolved when the name does not
    resolve."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise ValueError("the address has no host")
    if parts.scheme not in ("https", "http"):
        raise ValueError("the address must start with https://")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = await asyncio.get_running_loop().getaddrinfo(host, port)
    except (OSError, ValueError):
        raise Unresolved("no server answers to this name") from None
    addresses = [ipaddress.ip_address(a[0].split("%")[0]) for *_, a in found]
    if allow_loopback_http and all(ip.is_loopback for ip in addresses):
        return str(addresses[0])  # a receiver on this machine, allowed by a setting
    if parts.scheme != "https":
        raise ValueError("the address must start with https://")
    if not addresses or not all(_public(ip) for ip in addresses):
        raise ValueError("the address leads to a private or internal network")
    return str(addresses[0])


async def refused_address(url: str, allow_loopback_http: bool = False) -> str | None:
    """Why this webhook address cannot be used when a participant sets it (None: it can)."""
    try:
        await checked_address(url, allow_loopback_http)
    except (ValueError, Unresolved) as e:
        return str(e)
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
        try:
            ip = await checked_address(address.webhook_url, self.allow_loopback_http)
        except Unresolved as e:
            raise ConnectionError(f"webhook: {e}") from None
        except ValueError as e:
            raise PermanentDeliveryError(f"webhook: the address was refused: {e}") from None
        body = json.dumps(payload(notification, recipient), ensure_ascii=False)
        message_id = f"{notification.key}/{recipient.participant_id}"
        moment = datetime.now(UTC)  # the library signs it as UTC
        signature = Webhook(address.webhook_secret).sign(message_id, moment, body)
        parts = urlsplit(address.webhook_url)
        host = parts.hostname or ""
        literal = f"[{ip}]" if ":" in ip else ip
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        headers = {
            "content-type": "application/json",
            "host": parts.netloc.rpartition("@")[2],
            "webhook-id": message_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": signature,
        }
        if self._client is None:
            # No proxy from the environment, no redirect: the checked address, and only it.
            self._client = httpx.AsyncClient(
                timeout=self.timeout, follow_redirects=False, trust_env=False
            )
        try:
            # To the address checked, with the name for the Host header and the certificate.
            async with self._client.stream(
                "POST",
                parts._replace(netloc=netloc).geturl(),
                content=body.encode(),
                headers=headers,
                extensions={"sni_hostname": host},
            ) as response:
                status = response.status_code  # the body is never read
        except httpx.HTTPError as e:
            # The kind of failure only: a transport error's text may name the host.
            raise ConnectionError(f"webhook: not reached ({type(e).__name__})") from None
        if 200 <= status < 300:
            return
        if status == 410:
            # Gone for good: no more deliveries there (from this batch on: the address is the
            # batch's), and the participant's page says so.
            address.webhook_disabled = True
            if self.disable is not None:
                await self.disable(notification.project_id, recipient.participant_id)
            return
        if status >= 500 or status in RETRIED:
            raise ConnectionError(f"webhook: answered {status}")
        raise PermanentDeliveryError(f"webhook: answered {status}")

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
