"""The vocabulary of a co-construction project (see shared/DESIGN.md): the records that
events and the state are made of.

Records are plain: no limits, unknown fields ignored, so an event once recorded always folds,
even after a limit is tightened or a field removed. Limits live on commands (commands.py).
Pure: no Temporal, no I/O, no clock. Models never default to "now" or a random id, since
they are built inside workflow code where both are forbidden.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


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


class NotificationPreference(StrEnum):
    """How much e-mail a participant wants: every message, one digest a day per project (its
    own deadlines and what concerns it alone still at once), or the essentials only."""

    every = "every"
    digest = "digest"
    essentials = "essentials"


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
    # Too few voters answered: not adopted, whatever the answers given.
    no_quorum = "no_quorum"
    cancelled = "cancelled"


class Participant(Record):
    """A participant as recorded: an organisation and the person who represents it."""

    id: str
    organisation_name: str
    person_name: str = ""
    organisation_id: str
    organisation_kind: OrganisationKind = OrganisationKind.other
    role: Role
    language: Language = Language.fr
    time_zone: str = "Europe/Paris"
    email: str | None = None
    webhook_url: str | None = None
    # Joined from the contact directory for the participant's own page: the webhook answered
    # 410 Gone, so deliveries stopped (never recorded by the workflow).
    webhook_disabled: bool = False
    # A personal token signs {project, participant, role, version}; bumping it revokes the old one.
    token_version: int = 1
    notifications: NotificationPreference = NotificationPreference.every
    # The local hour (in time_zone) of the daily digest.
    digest_hour: int = 8
    active: bool = True

    @model_validator(mode="before")
    @classmethod
    def _one_name_before_the_split(cls, data: Any) -> Any:
        # Recorded before organisation and person were two fields: `name` was the organisation.
        if isinstance(data, dict) and "organisation_name" not in data and "name" in data:
            data = {**data, "organisation_name": data["name"]}
        return data

    @property
    def display_name(self) -> str:
        """How others name this participant: the organisation, and the person when known."""
        if self.person_name:
            return f"{self.organisation_name} ({self.person_name})"
        return self.organisation_name


# How long each phase lasts unless the process says otherwise.
DEFAULT_DURATIONS: dict[Phase, timedelta] = {
    Phase.diagnosis: timedelta(days=21),
    Phase.co_design: timedelta(days=28),
    Phase.decision: timedelta(days=14),
    Phase.action: timedelta(days=90),
    Phase.evaluation: timedelta(days=21),
}


class PhaseSettings(Record):
    duration: timedelta = timedelta(days=14)
    # Offsets before the deadline.
    reminders: list[timedelta] = Field(default_factory=list)
    close_when_complete: bool = True


class Process(Record):
    rule: DecisionRule = DecisionRule.consent
    # Share of voting partners who must answer, for every rule; 0: silence is consent.
    quorum: float = 0.5
    max_rounds: int = 3
    facilitator_votes: bool = False
    diagnosis: PhaseSettings = PhaseSettings(duration=DEFAULT_DURATIONS[Phase.diagnosis])
    co_design: PhaseSettings = PhaseSettings(duration=DEFAULT_DURATIONS[Phase.co_design])
    decision: PhaseSettings = PhaseSettings(duration=DEFAULT_DURATIONS[Phase.decision])
    action: PhaseSettings = PhaseSettings(duration=DEFAULT_DURATIONS[Phase.action])
    evaluation: PhaseSettings = PhaseSettings(duration=DEFAULT_DURATIONS[Phase.evaluation])

    def settings_for(self, phase: Phase) -> PhaseSettings:
        return getattr(self, phase.value)

    def voting_roles(self) -> frozenset[Role]:
        return voting_roles(self.facilitator_votes)


def voting_roles(facilitator_votes: bool) -> frozenset[Role]:
    """Partners vote; the facilitator too when the process says so."""
    return frozenset({Role.partner, Role.facilitator} if facilitator_votes else {Role.partner})


class ProjectSpec(Record):
    """A project as launched: the launch command's content, with its id and organisation."""

    id: str
    title: str
    territory: str
    description: str = ""
    language: Language = Language.fr
    # Where the project's dates are read: the report, the register (a participant reads its own).
    time_zone: str = "Europe/Paris"
    # The coordinating organisation: the only organisation id that reaches search attributes.
    coordinator_organisation: str
    participants: list[Participant]
    process: Process = Process()


class Indicator(Record):
    id: str
    name: str
    target: str = ""


class Contribution(Record):
    id: str
    participant_id: str
    kind: ContributionKind
    text: str


class Amendment(Record):
    participant_id: str
    text: str


class Proposal(Record):
    id: str
    author_id: str
    round: int
    title: str
    description: str
    indicators: list[Indicator] = Field(default_factory=list)
    amendments: list[Amendment] = Field(default_factory=list)
    endorsements: list[str] = Field(default_factory=list)


class Plan(Record):
    """The facilitator's consolidation put to decision; indicators are frozen copies."""

    round: int
    proposal_ids: list[str]
    summary: str
    indicators: list[Indicator]
    # From round 2 on: objector's participant id -> the plan's answer to that objection.
    objection_answers: dict[str, str] = Field(default_factory=dict)


class Answer(Record):
    participant_id: str
    kind: AnswerKind
    reason: str | None = None


class Assessment(Record):
    participant_id: str
    indicator_id: str
    score: int
    comment: str = ""


class ProgressNote(Record):
    participant_id: str
    text: str
    # When it was noted (absent in states carried across continue-as-new before 1.2).
    at: datetime | None = None


class PhasePeriod(Record):
    """One opening of a phase, for the record: when it opened and closed, and why it closed."""

    phase: Phase
    round: int
    opened_at: datetime
    deadline: datetime
    closed_at: datetime | None = None
    # PhaseClosed's cause: "complete", "deadline", "facilitator", "plan_submitted".
    cause: str | None = None


class Statement(Record):
    """The facilitator's outcome in words, for the round of the decision it speaks of."""

    round: int
    at: datetime
    text: str
    # Written while the evaluation was open: the conclusion of the project.
    conclusion: bool = False


class Tally(Record):
    voters: int
    consents: int
    objections: int
    abstentions: int
    silent: int

    @property
    def answers(self) -> int:
        return self.consents + self.objections + self.abstentions


class IndicatorResult(Record):
    indicator_id: str
    name: str
    target: str = ""
    mean_score: float | None
    count: int
    comments: list[str]
