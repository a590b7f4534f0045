"""Is a reply from whom it says? DMARC, as far as a reply needs it: a DKIM signature that
verifies (dkimpy) from a domain aligned with the From: domain passes; otherwise the From:
domain's DMARC policy decides (p=reject or p=quarantine: refused; p=none or no policy: taken as
unsigned, when the settings allow it). Behind a relay that checks for itself, its
Authentication-Results header (RFC 8601) is trusted from its authserv-id only.

DNS is a function given in (TXT records of a name): the real resolver in service, a table in
tests."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message

import dkim

# A TXT look-up: the records' strings (each record's strings joined), [] when there is none.
TxtLookup = Callable[[str], list[str]]


@dataclass(frozen=True)
class Verdict:
    """signed: a DKIM signature aligned with From: verified (or the relay said DMARC passed);
    refused: why the reply is not taken (None: taken)."""

    signed: bool
    refused: str | None = None


def resolver_txt(name: str) -> list[str]:
    """The real DNS (dnspython, which dkimpy brings)."""
    import dns.exception
    import dns.resolver

    try:
        answer = dns.resolver.resolve(name, "TXT", lifetime=5)
    except (dns.exception.DNSException, OSError):
        return []
    return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]


def aligned(signing: str, from_domain: str) -> bool:
    """Relaxed alignment: the same organisational domain (approximated by the last two
    labels, or three under a two-letter second level such as co.uk)."""
    return _organisational(signing) == _organisational(from_domain)


def _organisational(domain: str) -> str:
    labels = domain.lower().rstrip(".").split(".")
    if len(labels) >= 3 and len(labels[-2]) <= 3 and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def dmarc_policy(txt: TxtLookup, from_domain: str) -> str | None:
    """The From: domain's DMARC policy ("none", "quarantine", "reject"), or its organisational
    domain's; None without one."""
    for name in dict.fromkeys([from_domain.lower(), _organisational(from_domain)]):
        for record in txt(f"_dmarc.{name}"):
            if record.strip().lower().startswith("v=dmarc1"):
                tags = dict(
                    (k.strip().lower(), v.strip().lower())
                    for k, _, v in (part.partition("=") for part in record.split(";"))
                    if k.strip()
                )
                return tags.get("p", "none")
    return None


def _signing_domains(raw: bytes, message: Message, txt: TxtLookup) -> list[str]:
    """The d= of each DKIM signature that verifies."""

    def dnsfunc(name: bytes | str, timeout: int = 5) -> bytes | None:
        key = name.decode() if isinstance(name, bytes) else name
        records = txt(key.rstrip("."))
        return records[0].encode() if records else None

    found = []
    signatures = message.get_all("DKIM-Signature") or []
    for index, header in enumerate(signatures[:5]):  # a reply has one or two
        domain = re.search(r"(?:^|;)\s*d\s*=\s*([^;\s]+)", str(header))
        if domain is None:
            continue
        try:
            if dkim.DKIM(raw).verify(idx=index, dnsfunc=dnsfunc):
                found.append(domain.group(1).lower())
        except Exception:  # noqa: BLE001 - a malformed signature verifies nothing
            continue
    return found


def _relay_says(message: Message, authserv_id: str, from_domain: str) -> Verdict | None:
    for header in message.get_all("Authentication-Results") or []:
        text = " ".join(str(header).split())
        server, _, results = text.partition(";")
        names = server.split()
        if not names or names[0].lower() != authserv_id.lower():
            continue  # another server's say: anyone may write such a header
        dmarc = re.search(r"\bdmarc\s*=\s*(\w+)", results, re.IGNORECASE)
        if dmarc is not None:
            outcome = dmarc.group(1).lower()
            if outcome == "pass":
                return Verdict(signed=True)
            if outcome == "fail":
                return Verdict(signed=False, refused="dmarc")
        for passed in re.finditer(
            r"\bdkim\s*=\s*pass\b[^;]*?header\.d\s*=\s*([^\s;]+)", results, re.IGNORECASE
        ):
            if aligned(passed.group(1), from_domain):
                return Verdict(signed=True)
        return Verdict(signed=False)
    return None


class Authenticator:
    def __init__(
        self,
        txt: TxtLookup = resolver_txt,
        *,
        accept_unsigned: bool = True,
        authserv_id: str | None = None,
    ) -> None:
        self.txt = txt
        self.accept_unsigned = accept_unsigned
        self.authserv_id = authserv_id

    async def check(self, raw: bytes, message: Message, from_domain: str) -> Verdict:
        # DNS and RSA: off the event loop.
        return await asyncio.to_thread(self.check_now, raw, message, from_domain)

    def check_now(self, raw: bytes, message: Message, from_domain: str) -> Verdict:
        if self.authserv_id is not None:
            said = _relay_says(message, self.authserv_id, from_domain)
            if said is not None and (said.signed or said.refused):
                return said
            verdict = Verdict(signed=False)
        else:
            if any(aligned(d, from_domain) for d in _signing_domains(raw, message, self.txt)):
                return Verdict(signed=True)
            policy = dmarc_policy(self.txt, from_domain)
            if policy in ("reject", "quarantine"):
                return Verdict(signed=False, refused="dmarc")
            verdict = Verdict(signed=False)
        if not self.accept_unsigned:
            return Verdict(signed=False, refused="unsigned")
        return verdict
