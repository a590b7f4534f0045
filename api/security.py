"""Who is calling: a coordinator (or ops) credential, or a participant's personal token.

A personal token is a signature over {project, participant, role, token version}: no database.
The workflow's state says who is active and at which version, so removing a participant or
re-sending its link (version + 1) revokes the old token.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from api.errors import ApiError
from domain.models import Role


@dataclass(frozen=True)
class Coordinator:
    """A coordinating organisation's credential; `ops` sees every organisation's projects."""

    organisation_id: str | None
    ops: bool = False


@dataclass(frozen=True)
class ParticipantToken:
    project_id: str
    participant_id: str
    role: Role
    version: int


Caller = Coordinator | ParticipantToken


class TokenSigner:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt="alliance-participant-token")

    def sign(self, project_id: str, participant_id: str, role: Role | str, version: int) -> str:
        return self._serializer.dumps([project_id, participant_id, Role(role).value, version])

    def read(self, token: str) -> ParticipantToken | None:
        try:
            project_id, participant_id, role, version = self._serializer.loads(token)
            return ParticipantToken(project_id, participant_id, Role(role), int(version))
        except (BadSignature, ValueError, TypeError):
            return None


class UnsubscribeSigner:
    """The one-click unsubscribe link of a participant's messages (RFC 8058): it names the
    project and the participant, and only switches them to the essentials."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt="alliance-unsubscribe")

    def sign(self, project_id: str, participant_id: str) -> str:
        return self._serializer.dumps([project_id, participant_id])

    def read(self, token: str) -> tuple[str, str] | None:
        try:
            project_id, participant_id = self._serializer.loads(token)
            return str(project_id), str(participant_id)
        except (BadSignature, ValueError, TypeError):
            return None


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
