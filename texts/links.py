"""The signed links people receive: a participant's personal link and the one-click
unsubscribe of its messages. The pages read them, the mail writes them: no database.

A personal token is a signature over {project, participant, role, token version}. The
workflow's state says who is active and at which version, so removing a participant or
re-sending its link (version + 1) revokes the old token.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from domain.models import Role


@dataclass(frozen=True)
class ParticipantToken:
    project_id: str
    participant_id: str
    role: Role
    version: int


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
