"""DMARC as a reply needs it: an aligned DKIM signature that verifies (dkimpy, real RSA keys,
DNS from a table) passes; a domain whose policy rejects refuses anything else; an unsigned reply
from a domain without a policy is taken as unsigned unless the settings refuse it; a relay's
Authentication-Results counts only from its authserv-id."""

from __future__ import annotations

import base64
from email import policy
from email.message import EmailMessage

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from inbound.auth import Authenticator, DnsUnavailable, aligned

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)
PUBLIC = base64.b64encode(
    KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()
DNS = {
    "mail._domainkey.asso-quartier.fr": [f"v=DKIM1; k=rsa; p={PUBLIC}"],
    "_dmarc.asso-quartier.fr": ["v=DMARC1; p=reject; rua=mailto:dmarc@asso-quartier.fr"],
    "_dmarc.mairie.fr": ["v=DMARC1; p=none"],
}


def txt(name: str) -> list[str]:
    return DNS.get(name.lower(), [])


def raw_reply(sender: str, signed_by: str | None = None, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "reponse+abc@alliance.test"
    message["Subject"] = "Re: Décision"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("NON, trop cher")
    raw = message.as_bytes(policy=policy.SMTP)
    if signed_by is not None:
        signature = dkim.sign(raw, b"mail", signed_by.encode(), PRIVATE,
                              include_headers=[b"from", b"to", b"subject"])  # fmt: skip
        raw = signature + raw
    return raw


def verdict(raw: bytes, from_domain: str, from_relay: bool = False, **kw):
    return Authenticator(txt, **kw).check_now(raw, from_domain, from_relay)


def test_a_signature_aligned_with_from_passes_and_a_failing_one_is_refused_by_the_policy():
    signed = raw_reply("tresoriere@asso-quartier.fr", "asso-quartier.fr")
    assert verdict(signed, "asso-quartier.fr").signed
    tampered = signed.replace(b"NON, trop cher", b"OUI")
    assert verdict(tampered, "asso-quartier.fr").refused == "dmarc"
    unsigned = raw_reply("tresoriere@asso-quartier.fr")
    assert verdict(unsigned, "asso-quartier.fr").refused == "dmarc"
    # Signed by another domain than From:'s: not aligned.
    assert verdict(raw_reply("x@asso-quartier.fr", "autre.org"), "asso-quartier.fr").refused


def test_a_domain_without_a_rejecting_policy_is_taken_unsigned_unless_refused():
    unsigned = raw_reply("maire@mairie.fr")
    assert verdict(unsigned, "mairie.fr") == verdict(unsigned, "mairie.fr")
    assert (
        not verdict(unsigned, "mairie.fr").signed and verdict(unsigned, "mairie.fr").refused is None
    )
    assert verdict(unsigned, "mairie.fr", accept_unsigned=False).refused == "unsigned"
    assert verdict(raw_reply("x@sans-politique.org"), "sans-politique.org").refused is None


def test_a_relays_results_count_from_its_authserv_id_only_and_only_through_it():
    relay = {"authserv_id": "mx.alliance.test", "from_relay": True}
    forged = raw_reply("x@mairie.fr",
                       Authentication_Results="mx.ailleurs.net; dmarc=pass header.from=mairie.fr")  # fmt: skip
    assert verdict(forged, "mairie.fr", **relay).signed is False
    said = "mx.alliance.test; dkim=pass header.d=mairie.fr; dmarc=pass"
    relayed = raw_reply("x@mairie.fr", Authentication_Results=said)
    assert verdict(relayed, "mairie.fr", **relay).signed
    # The same header, from a connection that did not come through the relay: not believed.
    assert not verdict(relayed, "mairie.fr", authserv_id="mx.alliance.test").signed
    failed = raw_reply("x@asso-quartier.fr",
                       Authentication_Results="mx.alliance.test; dmarc=fail header.from=asso-quartier.fr")  # fmt: skip
    assert verdict(failed, "asso-quartier.fr", **relay).refused == "dmarc"
    # Only the topmost (the relay's own) counts: one the sender wrote below it does not.
    below = raw_reply("x@asso-quartier.fr", Authentication_Results="mx.alliance.test; dmarc=pass")
    on_top = b"Authentication-Results: mx.alliance.test; dkim=none; dmarc=none\r\n" + below
    assert verdict(on_top, "asso-quartier.fr", **relay).refused == "dmarc"


def test_alignment_is_by_organisational_domain_from_the_public_suffix_list():
    assert aligned("mail.asso-quartier.fr", "asso-quartier.fr")
    assert aligned("mail.abc.fr", "abc.fr")
    assert not aligned("asso-quartier.fr.evil.net", "asso-quartier.fr")
    # asso.fr is a public suffix: one association does not sign for another.
    assert not aligned("attaquant.asso.fr", "victime.asso.fr")


def test_a_dns_failure_puts_the_reply_off_rather_than_taking_it_unsigned():
    def down(name: str) -> list[str]:
        raise DnsUnavailable("SERVFAIL")

    with pytest.raises(DnsUnavailable):
        Authenticator(down).check_now(raw_reply("x@mairie.fr"), "mairie.fr")


def test_the_rate_limit_forgets_idle_peers_and_counts_an_ipv6_host_by_its_64():
    from inbound.server import RateLimit

    limit = RateLimit(2)
    assert limit.allows("2001:db8::1") and limit.allows("2001:db8::2")
    assert not limit.allows("2001:db8::ffff")  # the same /64
    limit.MAX_PEERS = 100
    for n in range(500):
        limit.allows(f"10.0.{n // 250}.{n % 250}")
    assert len(limit._seen) <= 100
