"""The vocabulary of a co-construction project (see shared/DESIGN.md), as pydantic models.

Pure: no Temporal, no I/O, no clock. Models never default to "now" or a random id, since
they are built inside workflow code where both are forbidden.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=5000)]
# Shapes, not deliverability: a notification that cannot be delivered is recorded as failed.
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
WEBHOOK_URL = r"^https?://[^\s/]+\S*$"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Role(StrEnum):
    coordinator = "coordinator"
    facilitator = "facilitator"
    partner = "partner"
    observer = "observer"


class OrganisationKind(StrEnum):
    association = "association"
    local_authority = "local_authority"
    inhabitants = "inhabitants"
    university = "university"
    company = "company"
    public_body = "public_body"
    other = "other"


class Language(StrEnum):
    fr = "fr"
    en = "en"


class Phase(StrEnum):
    launched = "launched"
    diagnosis = "diagnosis"
    co_design = "co_design"
    decision = "decision"
    action = "action"
    evaluation = "evaluation"
    closed = "closed"
    cancelled = "cancelled"


# The phases that have a duration, reminders and a deadline, in lifecycle order.
TIMED_PHASES: tuple[Phase, ...] = (
    Phase.diagnosis,
    Phase.co_design,
    Phase.decision,
    Phase.action,
    Phase.evaluation,
)


class DecisionRule(StrEnum):
    consent = "consent"
    consensus = "consensus"
    majority = "majority"


class AnswerKind(StrEnum):
    consent = "consent"
    object = "object"
    abstain = "abstain"


class ContributionKind(StrEnum):
    need = "need"
    resource = "resource"
    observation = "observation"
    constraint = "constraint"


class Outcome(StrEnum):
    adopted = "adopted"
    not_adopted = "not_adopted"
    cancelled = "cancelled"


class ParticipantDetails(Model):
    """Who a participant is and how to reach it: what a coordinator gives at an invitation."""

    name: ShortText
    organisation_id: Identifier
    organisation_kind: OrganisationKind = OrganisationKind.other
    role: Role
    language: Language = Language.fr
    time_zone: str = Field(default="Europe/Paris", min_length=1, max_length=64)
    email: str | None = Field(default=None, max_length=320, pattern=EMAIL)
    webhook_url: str | None = Field(default=None, max_length=2000, pattern=WEBHOOK_URL)


class Participant(ParticipantDetails):
    id: Identifier
    # A personal token signs {project, participant, role, version}; bumping it revokes the old one.
    token_version: int = 1
    active: bool = True


# Beyond this a deadline is no plan; it would also overflow dates far enough out.
MAX_PHASE = timedelta(days=5 * 365)


class PhaseSettings(Model):
    duration: timedelta = timedelta(days=14)
    # Offsets before the deadline (ISO 8601 durations such as "P3D" are accepted).
    reminders: list[timedelta] = Field(default_factory=list)
    close_when_complete: bool = True

    @model_validator(mode="after")
    def _positive(self) -> PhaseSettings:
        if self.duration < timedelta(0):
            raise ValueError("a phase duration cannot be negative")
        if self.duration > MAX_PHASE or any(offset > MAX_PHASE for offset in self.reminders):
            raise ValueError("a phase lasts at most 5 years (P1825D), and so do reminder offsets")
        if len(self.reminders) > 10:
            raise ValueError("at most 10 reminders per phase")
        if any(offset <= timedelta(0) for offset in self.reminders):
            raise ValueError("reminder offsets are durations before the deadline and must be > 0")
        return self


class Process(Model):
    rule: DecisionRule = DecisionRule.consent
    # Share of voting partners who must answer, used by `majority`.
    quorum: float = Field(default=0.5, gt=0, le=1)
    max_rounds: int = Field(default=3, ge=1, le=20)
    facilitator_votes: bool = False
    diagnosis: PhaseSettings = PhaseSettings(duration=timedelta(days=21))
    co_design: PhaseSettings = PhaseSettings(duration=timedelta(days=28))
    decision: PhaseSettings = PhaseSettings(duration=timedelta(days=14))
    action: PhaseSettings = PhaseSettings(duration=timedelta(days=90))
    evaluation: PhaseSettings = PhaseSettings(duration=timedelta(days=21))

    def settings_for(self, phase: Phase) -> PhaseSettings:
        return getattr(self, phase.value)

    @model_validator(mode="after")
    def _phases_that_must_last(self) -> Process:
        for phase in (Phase.diagnosis, Phase.co_design, Phase.decision, Phase.evaluation):
            if self.settings_for(phase).duration <= timedelta(0):
                raise ValueError(
                    f"the {phase.value} phase needs a duration > 0 (only action may be 0)"
                )
        return self


class ProjectSpec(Model):
    """What a coordinator launches."""

    id: Identifier
    title: ShortText
    territory: ShortText
    description: str = Field(default="", max_length=5000)
    language: Language = Language.fr
    # The coordinating organisation: the only organisation id that reaches search attributes.
    coordinator_organisation: Identifier
    participants: list[Participant] = Field(min_length=1)
    process: Process = Process()

    @model_validator(mode="after")
    def _participants_make_an_alliance(self) -> ProjectSpec:
        ids = [p.id for p in self.participants]
        if len(ids) != len(set(ids)):
            raise ValueError("participant ids must be unique within a project")
        roles = {p.role for p in self.participants}
        for needed in (Role.coordinator, Role.facilitator):
            if needed not in roles:
                raise ValueError(f"a project needs at least one {needed.value}")
        return self


class Indicator(Model):
    id: Identifier
    name: ShortText
    target: str = Field(default="", max_length=500)


class IndicatorDraft(Model):
    name: ShortText
    target: str = Field(default="", max_length=500)


class Contribution(Model):
    id: Identifier
    participant_id: Identifier
    kind: ContributionKind
    text: LongText


class Amendment(Model):
    participant_id: Identifier
    text: LongText


class Proposal(Model):
    id: Identifier
    author_id: Identifier
    round: int
    title: ShortText
    description: LongText
    indicators: list[Indicator] = Field(default_factory=list)
    amendments: list[Amendment] = Field(default_factory=list)
    endorsements: list[Identifier] = Field(default_factory=list)


class Plan(Model):
    """The facilitator's consolidation put to decision; indicators are frozen copies."""

    round: int
    proposal_ids: list[Identifier]
    summary: LongText
    indicators: list[Indicator]
    # From round 2 on: objector's participant id -> the plan's answer to that objection.
    objection_answers: dict[Identifier, LongText] = Field(default_factory=dict)


class Answer(Model):
    participant_id: Identifier
    kind: AnswerKind
    reason: str | None = None


class Assessment(Model):
    participant_id: Identifier
    indicator_id: Identifier
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


class ProgressNote(Model):
    participant_id: Identifier
    text: LongText


class Tally(Model):
    voters: int
    consents: int
    objections: int
    abstentions: int
    silent: int

    @property
    def answers(self) -> int:
        return self.consents + self.objections + self.abstentions


class IndicatorResult(Model):
    indicator_id: Identifier
    name: str
    mean_score: float | None
    count: int
    comments: list[str]
