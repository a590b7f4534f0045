"""Who is calling: a coordinator (or ops) credential, or a participant's personal token (signed
and read by texts.links, which the mail uses too)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from api.errors import ApiError
from texts.links import ParticipantToken, TokenSigner


@dataclass(frozen=True)
class Coordinator:
    """A coordinating organisation's credential; `ops` sees every organisation's projects."""

    organisation_id: str | None
    ops: bool = False


Caller = Coordinator | ParticipantToken


class Authenticator:
    def __init__(self, signer: TokenSigner, coordinators: dict[str, str], ops: list[str]) -> None:
        self.signer = signer
        self._coordinators = coordinators
        self._ops = ops

    def caller(self, authorization: str | None) -> Caller:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise ApiError(
                401,
                "unauthenticated",
                "send your credential or personal token as 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        token = authorization[7:].strip()
        # Constant-time comparisons: a credential must not leak through response timing.
        for credential, organisation in self._coordinators.items():
            if hmac.compare_digest(credential.encode(), token.encode()):
                return Coordinator(organisation)
        for credential in self._ops:
            if hmac.compare_digest(credential.encode(), token.encode()):
                return Coordinator(None, ops=True)
        participant = self.signer.read(token)
        if participant is None:
            raise ApiError(
                401,
                "bad_token",
                "this token is not valid; use the personal link or credential you were given",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return participant
