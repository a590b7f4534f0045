"""The wire format. Request bodies are the commands' own field classes (domain/commands.py:
one definition per field, limits included); here are the launch and invitation with their
examples, and the responses. A request never names its actor: the token does."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from domain import commands as cmd
from domain.models import (
    AgreedCharter,
    CharterNote,
    CharterVersion,
    Governance,
    Outcome,
    Phase,
    Role,
)
from domain.views import ActionResult, ProjectView


class ParticipantCreate(cmd.ParticipantDraft):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "organisation_name": "Association des habitants des États-Unis",
                    "person_name": "Nadia Benali",
                    "organisation_id": "assoc-etats-unis",
                    "organisation_kind": "inhabitants",
                    "role": "partner",
                    "language": "fr",
                    "email": "bureau@habitants.example",
                }
            ]
        },
    )


class ProjectCreate(cmd.LaunchFields):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Jardins partagés du quartier des États-Unis",
                    "territory": "Lyon 8e",
                    "description": "Transformer deux friches en jardins partagés.",
                    "participants": [
                        {
                            "organisation_name": "Maison des Associations du 8e",
                            "organisation_id": "mda-lyon8",
                            "organisation_kind": "association",
                            "role": "coordinator",
                        },
                        {
                            "organisation_name": "Coopérative Facil",
                            "person_name": "Camille Martin",
                            "organisation_id": "coop-facil",
                            "role": "facilitator",
                        },
                        {
                            "organisation_name": "Mairie du 8e",
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


class ParticipantToken(BaseModel):
    id: str
    organisation_name: str
    person_name: str
    role: Role
    # Shown only here: the coordinator passes it on as the participant's personal link.
    token: str
    # That link, to open in a browser (until e-mails carry it).
    link: str


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
    # Archived projects: when they ended.
    closed_at: datetime | None = None


class CooperationOut(BaseModel):
    """The cooperation questionnaire's figures: how many answered, and (once the evaluation is
    closed, from three answers) each question's mean, 1 to 5, and the comments, in no telling
    order. No answer is ever tied to a partner."""

    answered: int
    shown: bool
    # Why nothing is shown yet: "evaluation_open" or "fewer_than_three".
    not_shown_because: str | None = None
    means: dict[str, float] = {}
    comments: list[str] = []


class SignatureOut(BaseModel):
    participant_id: str
    organisation: str
    at: datetime


class CharterOut(BaseModel):
    """The partnership charter: every version (numbered, each change listed, the objections
    that sent it back), the comments and wordings proposed, the version adopted and each
    organisation's consent with its date; while its step is open, whether it waits for the
    facilitator's next version and which objections that version answers; and the model in
    the project's language, to start the first version from."""

    project_id: str
    step_open: bool
    awaiting_version: bool
    objections_to_answer: dict[str, str]
    versions: list[CharterVersion]
    notes: list[CharterNote]
    adopted: int | None
    adopted_at: datetime | None
    signatures: list[SignatureOut]
    governance_in_force: Governance | None
    # Agreed by the partners before the project (its date, its text or its file's name,
    # size and SHA-256; the file at /projects/{id}/charter/document).
    agreed: AgreedCharter | None = None
    model: dict[str, str]


class ProjectPage(BaseModel):
    projects: list[ProjectListItem]
    next_page_token: str | None


class EventsPage(BaseModel):
    events: list[dict]
    next_after: int
