"""Is a reply from whom it says? DMARC, as far as a reply needs it: a DKIM signature that
verifies (dkimpy) for a domain aligned with the From: domain passes; otherwise the From:
domain's DMARC policy decides (p=reject or p=quarantine: refused; p=none or no policy: taken as
unsigned, when the settings allow it). Behind a relay that checks for itself, its
Authentication-Results header (RFC 8601) counts only when the connection comes from that relay,
from its authserv-id, and only its topmost one (the one it added).

Headers are read as they came (raw), never decoded: an encoded word must not be able to pass
for a tag. Alignment compares organisational domains from the public suffix list (an offline
copy, publicsuffixlist). DNS is a function given in: the real resolver in service, a table in
tests; a temporary DNS failure is not "no policy" (the reply is put off: 451)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import compat32
from functools import lru_cache

import dkim

# A TXT look-up: the records' strings (each record's strings joined), [] when there is none;
# raises DnsUnavailable when the answer could not be had.
TxtLookup = Callable[[str], list[str]]


class DnsUnavailable(Exception):
    """DNS did not answer (timeout, SERVFAIL): try again later, never "no policy"."""


@dataclass(frozen=True)
class Verdict:
    """signed: a DKIM signature aligned with From: verified (or the trusted relay said DMARC
    passed); refused: why the reply is not taken (None: taken)."""

    signed: bool
    refused: str | None = None


def resolver_txt(name: str) -> list[str]:
    """The real DNS (dnspython, which dkimpy brings)."""
    import dns.exception
    import dns.resolver

    try:
        answer = dns.resolver.resolve(name, "TXT", lifetime=5)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.DNSException, OSError) as e:
        raise DnsUnavailable(str(e)) from None
    return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]


@lru_cache(maxsize=1)
def _suffixes():  # noqa: ANN202 - the library's own type
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def organisational(domain: str) -> str:
    domain = domain.lower().rstrip(".")
    return _suffixes().privatesuffix(domain) or domain


def aligned(signing: str, from_domain: str) -> bool:
    """Relaxed alignment (RFC 7489): the same organisational domain."""
    return organisational(signing) == organisational(from_domain)


def dmarc_policy(txt: TxtLookup, from_domain: str) -> str | None:
    """The From: domain's DMARC policy ("none", "quarantine", "reject"), or its organisational
    domain's (its sp= for a subdomain); None without one."""
    domain = from_domain.lower().rstrip(".")
    organisation = organisational(domain)
    for name in dict.fromkeys([domain, organisation]):
        for record in txt(f"_dmarc.{name}"):
            if record.strip().lower().startswith("v=dmarc1"):
                tags = {
                    k.strip().lower(): v.strip().lower()
                    for k, _, v in (part.partition("=") for part in record.split(";"))
                    if k.strip()
                }
                if name != domain and "sp" in tags:
                    return tags["sp"]
                return tags.get("p", "none")
    return None


def raw_headers(raw: bytes, name: str) -> list[str]:
    """A header's values as they came, not decoded (compat32 leaves encoded words alone)."""
    message = message_from_bytes(raw, policy=compat32)
    return [str(v) for v in message.get_all(name) or []]


def _signing_domains(raw: bytes, txt: TxtLookup) -> list[str]:
    """The domain (d=) of each DKIM signature that verifies, as dkimpy verified it."""

    def dnsfunc(name: bytes | str, timeout: int = 5) -> bytes | None:
        key = name.decode() if isinstance(name, bytes) else name
        records = txt(key.rstrip("."))
        return records[0].encode() if records else None

    found = []
    for index in range(min(len(raw_headers(raw, "DKIM-Signature")), 5)):
        checker = dkim.DKIM(raw)
        try:
            if checker.verify(idx=index, dnsfunc=dnsfunc) and checker.domain:
                found.append(checker.domain.decode("ascii", "replace").lower())
        except DnsUnavailable:
            raise
        except Exception:  # noqa: BLE001 - a malformed signature verifies nothing
            continue
    return found


def _relay_says(raw: bytes, authserv_id: str, from_domain: str) -> Verdict | None:
    """The topmost Authentication-Results, when the trusted relay wrote it."""
    headers = raw_headers(raw, "Authentication-Results")
    if not headers:
        return None
    text = " ".join(headers[0].split())
    server, _, results = text.partition(";")
    names = server.split()
    if not names or names[0].lower() != authserv_id.lower():
        return None  # not the relay's own: anyone may write such a header
    methods = [part.strip() for part in results.split(";")]
    for method in methods:
        if re.match(r"^dmarc\s*=\s*pass\b", method, re.IGNORECASE):
            return Verdict(signed=True)
        if re.match(r"^dmarc\s*=\s*fail\b", method, re.IGNORECASE):
            return Verdict(signed=False, refused="dmarc")
    for method in methods:
        if re.match(r"^dkim\s*=\s*pass\b", method, re.IGNORECASE):
            domain = re.search(r"\bheader\.d\s*=\s*([A-Za-z0-9.-]+)", method)
            if domain is not None and aligned(domain.group(1), from_domain):
                return Verdict(signed=True)
    return Verdict(signed=False)


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

    async def check(self, raw: bytes, from_domain: str, from_relay: bool = False) -> Verdict:
        # DNS and RSA: off the event loop.
        return await asyncio.to_thread(self.check_now, raw, from_domain, from_relay)

    def check_now(self, raw: bytes, from_domain: str, from_relay: bool = False) -> Verdict:
        """Raises DnsUnavailable when DNS did not answer."""
        if self.authserv_id is not None and from_relay:
            said = _relay_says(raw, self.authserv_id, from_domain)
            if said is not None and (said.signed or said.refused):
                return said
        if any(aligned(d, from_domain) for d in _signing_domains(raw, self.txt)):
            return Verdict(signed=True)
        if dmarc_policy(self.txt, from_domain) in ("reject", "quarantine"):
            return Verdict(signed=False, refused="dmarc")
        if not self.accept_unsigned:
            return Verdict(signed=False, refused="unsigned")
        return Verdict(signed=False)
