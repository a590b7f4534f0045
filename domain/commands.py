"""What participants ask of a project: one command per action of DESIGN.md.

A command names its actor (participant id and token version): the API fills it from the
verified token, never from the request body, so a partner can act only as itself.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from pydantic import Field

from domain.models import (
    EMAIL,
    WEBHOOK_URL,
    AnswerKind,
    ContributionKind,
    Identifier,
    IndicatorDraft,
    Language,
    LongText,
    Model,
    ParticipantDetails,
)


class Actor(Model):
    participant_id: Identifier
    token_version: int


class Command(Model):
    actor: Actor


class ParticipantDraft(ParticipantDetails):
    """A participant as invited: the engine sets the token version and activity, and an id
    when none is given."""

    id: Identifier | None = None


class AddContribution(Command):
    kind: ContributionKind
    text: LongText


class SubmitProposal(Command):
    title: str = Field(min_length=1, max_length=200)
    description: LongText
    indicators: list[IndicatorDraft] = Field(default_factory=list, max_length=20)


class AmendProposal(Command):
    proposal_id: Identifier
    text: LongText


class EndorseProposal(Command):
    proposal_id: Identifier


class SubmitPlan(Command):
    proposal_ids: list[Identifier] = Field(min_length=1)
    summary: LongText
    # From round 2 on: the objector's participant id -> how the plan answers its objection.
    objection_answers: dict[Identifier, LongText] = Field(default_factory=dict)


class GiveAnswer(Command):
    kind: AnswerKind
    reason: str | None = Field(default=None, max_length=2000)


class StateOutcome(Command):
    text: LongText


class ExtendDeadline(Command):
    deadline: datetime
    reason: str = Field(default="", max_length=1000)


class ClosePhase(Command):
    reason: str = Field(default="", max_length=1000)


class InviteParticipant(Command):
    participant: ParticipantDraft


class RemoveParticipant(Command):
    participant_id: Identifier
    reason: str = Field(default="", max_length=1000)


class ReplaceParticipant(Command):
    participant_id: Identifier
    replacement: ParticipantDraft
    reason: str = Field(default="", max_length=1000)


class ResendLink(Command):
    participant_id: Identifier


class UpdateMyContact(Command):
    # An empty string clears the setting.
    email: str | None = Field(default=None, max_length=320, pattern=f"^$|{EMAIL}")
    webhook_url: str | None = Field(default=None, max_length=2000, pattern=f"^$|{WEBHOOK_URL}")
    language: Language | None = None
    time_zone: str | None = None


class NoteProgress(Command):
    text: LongText


class Score(Model):
    indicator_id: Identifier
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


class Assess(Command):
    scores: list[Score] = Field(min_length=1, max_length=50)


class Cancel(Command):
    reason: str = Field(default="", max_length=1000)


# For the extension rule: how far a single extension may push a deadline.
MAX_EXTENSION = timedelta(days=365)


def fingerprint(command: Command) -> str:
    """Identifies a request's content, so a reused idempotency key with another body is caught."""
    return hashlib.sha256(command.model_dump_json().encode()).hexdigest()[:32]
