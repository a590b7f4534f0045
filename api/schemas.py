"""The wire format: request bodies and responses, separate from the domain models so the API
can change without touching the rules. A request never names its actor: the token does."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain import commands as cmd
from domain.models import (
    EMAIL,
    WEBHOOK_URL,
    AnswerKind,
    ContributionKind,
    IndicatorDraft,
    Language,
    LongText,
    Outcome,
    Phase,
    Process,
    Role,
)
from domain.views import ActionResult, ProjectView


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def known_time_zone(value: str | None) -> str | None:
    if value is None:
        return value
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name such as Europe/Paris"
        ) from None
    return value


class ParticipantCreate(cmd.ParticipantDraft):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Association des habitants des États-Unis",
                    "organisation_id": "assoc-etats-unis",
                    "organisation_kind": "inhabitants",
                    "role": "partner",
                    "language": "fr",
                    "email": "bureau@habitants.example",
                }
            ]
        },
    )

    _time_zone = field_validator("time_zone")(known_time_zone)


class ProjectCreate(Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Jardins partagés du quartier des États-Unis",
                    "territory": "Lyon 8e",
                    "description": "Transformer deux friches en jardins partagés.",
                    "participants": [
                        {
                            "name": "Maison des Associations du 8e",
                            "organisation_id": "mda-lyon8",
                            "organisation_kind": "association",
                            "role": "coordinator",
                        },
                        {
                            "name": "Camille Martin",
                            "organisation_id": "coop-facil",
                            "role": "facilitator",
                        },
                        {
                            "name": "Mairie du 8e",
                            "organisation_id": "mairie-lyon8",
                            "organisation_kind": "local_authority",
                            "role": "partner",
                        },
                    ],
                    "process": {
                        "rule": "consent",
                        "decision": {"duration": "P14D", "reminders": ["P3D"]},
                    },
                }
            ]
        },
    )

    title: str = Field(min_length=1, max_length=200)
    territory: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    language: Language = Language.fr
    participants: list[ParticipantCreate] = Field(min_length=1, max_length=500)
    process: Process = Process()


class ParticipantToken(BaseModel):
    id: str
    name: str
    role: Role
    # Shown only here: the coordinator passes it on as the participant's personal link.
    token: str


class Links(BaseModel):
    api: str
    ui: str


class LaunchResponse(BaseModel):
    project_id: str
    view: ProjectView
    participants: list[ParticipantToken]
    links: Links


class InvitationResponse(BaseModel):
    participant: ParticipantToken
    result: ActionResult


class ProjectListItem(BaseModel):
    id: str
    title: str | None
    status: str
    phase: Phase | None
    territory: str | None
    round: int | None
    deadline: datetime | None
    pending: int | None
    outcome: Outcome | None


class ProjectPage(BaseModel):
    projects: list[ProjectListItem]
    next_page_token: str | None


class EventsPage(BaseModel):
    events: list[dict]
    next_after: int


class ContributionCreate(Body):
    kind: ContributionKind
    text: LongText


class ProposalCreate(Body):
    title: str = Field(min_length=1, max_length=200)
    description: LongText
    indicators: list[IndicatorDraft] = Field(default_factory=list, max_length=20)


class AmendmentCreate(Body):
    text: LongText


class PlanCreate(Body):
    proposal_ids: list[str] = Field(min_length=1, max_length=50)
    summary: LongText
    objection_answers: dict[str, LongText] = Field(default_factory=dict)


class OutcomeCreate(Body):
    text: LongText


class AnswerPut(Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "object", "reason": "La parcelle est inondable"}]},
    )
    kind: AnswerKind
    reason: str | None = Field(default=None, max_length=2000)


class DeadlineExtension(Body):
    deadline: datetime
    reason: str = Field(min_length=1, max_length=1000)


class ReasonBody(Body):
    reason: str = Field(default="", max_length=1000)


class ProgressCreate(Body):
    text: LongText


class AssessmentsCreate(Body):
    scores: list[cmd.Score] = Field(min_length=1, max_length=50)


class CancelBody(Body):
    reason: str = Field(min_length=1, max_length=1000)


class ContactPatch(Body):
    # An empty string clears the setting.
    email: str | None = Field(default=None, max_length=320, pattern=f"^$|{EMAIL}")
    webhook_url: str | None = Field(default=None, max_length=2000, pattern=f"^$|{WEBHOOK_URL}")
    language: Language | None = None
    time_zone: str | None = Field(default=None, max_length=64)

    _time_zone = field_validator("time_zone")(known_time_zone)


class ReplacementCreate(Body):
    replacement: ParticipantCreate
    reason: str = Field(default="", max_length=1000)


class RemovalBody(Body):
    reason: str = Field(default="", max_length=1000)
