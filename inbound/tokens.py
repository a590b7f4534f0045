"""Reply addresses: `reponse+<token>@<reply domain>`. The token names a row of the contact
directory (the project, the participant, the step and round the mail asked about, the
participant's token version, an expiry) by a random id, with a truncated HMAC so that a forged
token is refused before any look-up. Lowercase base32: 24 characters, safe from the case
changes mail systems make, well within RFC 5321's 64 octets for a local part."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ID_BYTES = 10
MAC_BYTES = 5
# The local part before the token: "reponse+<token>".
LOCAL_PREFIX = "reponse+"


def new_id() -> bytes:
    return secrets.token_bytes(ID_BYTES)


class ReplyTokens:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"alliance-reply-address\x00" + secret.encode()).digest()

    def _mac(self, row_id: bytes) -> bytes:
        return hmac.new(self._key, row_id, hashlib.sha256).digest()[:MAC_BYTES]

    def token(self, row_id: bytes) -> str:
        return base64.b32encode(row_id + self._mac(row_id)).decode().lower()

    def row_id(self, token: str) -> bytes | None:
        """The directory row a token names; None for anything forged or malformed."""
        if len(token) != 24 or not token.isascii():
            return None
        try:
            raw = base64.b32decode(token.upper())
        except (ValueError, base64.binascii.Error):
            return None
        row_id, mac = raw[:ID_BYTES], raw[ID_BYTES:]
        return row_id if hmac.compare_digest(mac, self._mac(row_id)) else None

    def address(self, row_id: bytes, domain: str) -> str:
        return f"{LOCAL_PREFIX}{self.token(row_id)}@{domain}"

    def from_address(self, address: str, domain: str) -> bytes | None:
        """The row a reply address names, when it is one of ours (domain compared without
        regard to case)."""
        local, _, at = address.strip().strip("<>").rpartition("@")
        if at.lower() != domain.lower() or not local.lower().startswith(LOCAL_PREFIX):
            return None
        return self.row_id(local[len(LOCAL_PREFIX) :].lower())
