"""What people ask of a project: the launch, and one command per action of DESIGN.md.

Every limit lives here (fields.py gives the types). Each command's content is a base class of
its own (`AnswerFields`, ...) that the API uses as its request body, as FastAPI's full-stack
template does with `ItemBase` / `ItemCreate`: the workflow, the API and the OpenAPI schema say
the same thing. A command names its actor (participant id and token version): the API fills it
from the verified token, never from the request body, so a partner can act only as itself.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from domain.fields import (
    ClearableEmail,
    ClearableWebhookUrl,
    Description,
    DocumentText,
    Duration,
    Email,
    Identifier,
    Line,
    LongText,
    Moment,
    Note,
    OptionalLine,
    Reason,
    ShortNote,
    TimeZone,
    WebhookUrl,
)
from domain.models import (
    CHARTER_SECTIONS,
    DEFAULT_DURATIONS,
    AnswerKind,
    ContributionKind,
    DecisionRule,
    Joining,
    Judgement,
    Language,
    MailOrigin,
    NotificationPreference,
    OrganisationKind,
    Phase,
    ReviewChoice,
    Role,
    voting_roles,
)


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Actor(Model):
    participant_id: Identifier
    token_version: int


class Command(Model):
    actor: Actor


# -- who takes part ---------------------------------------------------------------------------


class ParticipantFields(Model):
    """Who a participant is and how to reach it: what a coordinator gives at an invitation."""

    organisation_name: Line = Field(examples=["Mairie du 8e"])
    # The person who represents the organisation; may be left out.
    person_name: OptionalLine = Field(default="", examples=["Camille Martin"])
    organisation_id: Identifier
    organisation_kind: OrganisationKind = OrganisationKind.other
    role: Role
    language: Language = Language.fr
    time_zone: TimeZone = "Europe/Paris"
    email: Email | None = None
    webhook_url: WebhookUrl | None = None


class ParticipantDraft(ParticipantFields):
    """A participant as invited: the engine sets the token version and activity, and an id
    when none is given."""

    id: Identifier | None = None


# -- the process ------------------------------------------------------------------------------


class PhaseSettingsFields(Model):
    duration: Duration
    # Offsets before the deadline, ISO 8601 durations such as "P3D".
    reminders: list[Duration] = Field(default_factory=list, max_length=10)
    close_when_complete: bool = True

    @model_validator(mode="after")
    def _offsets_before_the_deadline(self) -> PhaseSettingsFields:
        if any(offset <= timedelta(0) for offset in self.reminders):
            raise ValueError("reminder offsets are durations before the deadline and must be > 0")
        return self


def _phase(phase: Phase) -> PhaseSettingsFields:
    return PhaseSettingsFields(duration=DEFAULT_DURATIONS[phase])


class ProcessSettings(Model):
    rule: DecisionRule = DecisionRule.consent
    # Share of the voting partners who must answer, for every rule; 0: silence is consent.
    quorum: float = Field(default=0.5, ge=0, le=1)
    max_rounds: int = Field(default=3, ge=1, le=20)
    facilitator_votes: bool = False
    diagnosis: PhaseSettingsFields = _phase(Phase.diagnosis)
    co_design: PhaseSettingsFields = _phase(Phase.co_design)
    decision: PhaseSettingsFields = _phase(Phase.decision)
    # 0 skips implementation: evaluation follows the decision.
    action: PhaseSettingsFields = _phase(Phase.action)
    evaluation: PhaseSettingsFields = _phase(Phase.evaluation)


class TemplateChoice(Model):
    """A template to launch from: its id, and a version (none: its latest)."""

    id: Identifier = Field(examples=["appel-a-projets"])
    version: int | None = Field(default=None, ge=1)


class CharterFileRef(Model):
    """A charter's file uploaded before the launch (POST /charter-files): its SHA-256."""

    id: str = Field(pattern=r"^[0-9a-f]{64}$", examples=["9f86d081884c7d65..."])


class AgreedCharterFields(Model):
    """A partnership charter the partners agreed before the project: the date, and its text
    or its uploaded file; its governance if the launch gives it (rule, quorum, joining)."""

    agreed_on: date
    text: DocumentText | None = None
    file: CharterFileRef | None = None
    governance: GovernanceFields | None = None

    @model_validator(mode="after")
    def _text_or_file(self) -> AgreedCharterFields:
        if bool(self.text) == (self.file is not None):
            raise PydanticCustomError(
                "charter_text_or_file",
                "an agreed charter comes with its text or its file (uploaded first to "
                "POST /charter-files), one of the two",
            )
        return self


class LaunchFields(Model):
    """What a coordinator launches (its organisation and the project id come from the API)."""

    title: Line
    territory: Line
    description: Description = ""
    language: Language = Language.fr
    # Where the project's own dates are read (its report and register): a zoneinfo name.
    time_zone: TimeZone = "Europe/Paris"
    participants: list[ParticipantDraft] = Field(min_length=1, max_length=500)
    # The process template the project runs (none: co-construction version 1, set by
    # `process`, as every 1.x launch).
    template: TemplateChoice | None = None
    # co-construction's settings, as in 1.x; with a template, its steps' durations go here.
    process: ProcessSettings = ProcessSettings()
    # With a template: some steps' durations changed for this project, by step id.
    durations: dict[Identifier, Duration] = Field(default_factory=dict, max_length=30)
    # Start from the common language of an earlier project of the same organisation (its id):
    # its validated terms, validated here too.
    glossary_from: Identifier | None = None
    # The partners agreed their charter before the project: its charter step is skipped.
    charter_agreed: AgreedCharterFields | None = None

    @model_validator(mode="after")
    def _participants_make_an_alliance(self) -> LaunchFields:
        if self.template is not None and "process" in self.model_fields_set:
            raise PydanticCustomError(
                "template_and_process",
                "give either a template or a process, not both: a template's steps carry "
                "their own settings (change their durations with durations)",
            )
        if self.template is None and self.durations:
            raise PydanticCustomError(
                "durations_without_template",
                "durations change a template's steps; without a template, set the phases' "
                "durations in process",
            )
        # With a template, who approves is checked against it at launch.
        votes = self.process.facilitator_votes if self.template is None else True
        problems = alliance_problems(
            [(p.role, p.email) for p in self.participants],
            votes,
            decides=self.template is None,
        )
        if problems:
            raise problems[0]
        return self


def alliance_problems(
    participants: list[tuple[Role, str | None]], facilitator_votes: bool, decides: bool = True
) -> list[PydanticCustomError]:
    """Everything that keeps these participants (role, e-mail) from making a project, all at
    once (the launch form lists them together). Each has a code of its own (the error's type)
    for the pages to say it in the reader's language; the English message is the JSON API's."""
    problems = []
    roles = {role for role, _ in participants}
    for needed in (Role.coordinator, Role.facilitator):
        if needed not in roles:
            problems.append(
                PydanticCustomError(
                    f"no_{needed.value}",
                    "a project needs at least one {role}",
                    {"role": needed.value},
                )
            )
    if decides and not roles & voting_roles(facilitator_votes):
        problems.append(
            PydanticCustomError(
                "no_voter",
                "a project needs at least one partner to decide (or facilitator_votes: true)",
            )
        )
    seen: dict[str, int] = {}
    for n, (_, email) in enumerate(participants):
        if email is None:
            continue
        key = email.casefold()
        if key in seen:
            problems.append(
                PydanticCustomError(
                    "same_email",
                    "participants {first} and {second} have the same e-mail {email!r}: "
                    "one person takes part once",
                    {"first": seen[key] + 1, "second": n + 1, "email": email},
                )
            )
        else:
            seen[key] = n
    return problems


# -- actions: each command's content, then the command ----------------------------------------


class ContributionFields(Model):
    kind: ContributionKind
    text: LongText


class AddContribution(Command, ContributionFields):
    pass


class IndicatorDraft(Model):
    name: Line
    target: OptionalLine = ""


class ProposalFields(Model):
    title: Line
    description: LongText
    indicators: list[IndicatorDraft] = Field(default_factory=list, max_length=20)


class SubmitProposal(Command, ProposalFields):
    pass


class TextFields(Model):
    text: LongText


class AmendProposal(Command, TextFields):
    proposal_id: Identifier


class EndorseProposal(Command):
    proposal_id: Identifier


class PlanFields(Model):
    # In co-design, at least one; a decision's text written by the facilitator may have none.
    proposal_ids: list[Identifier] = Field(default_factory=list, max_length=50)
    summary: LongText
    # Indicators the plan adds to its proposals' (a decision's text has only these).
    indicators: list[IndicatorDraft] = Field(default_factory=list, max_length=20)
    # From round 2 on: the objector's participant id -> how the plan answers its objection.
    objection_answers: dict[Identifier, LongText] = Field(default_factory=dict)
    # When the decision, adopted, is looked at again (a template with a review step).
    review_on: Moment | None = None


class SubmitPlan(Command, PlanFields):
    pass


class AnswerFields(Model):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"kind": "object", "reason": "La parcelle est inondable"}]}
    )

    kind: AnswerKind
    # Required with an objection, so that the next round can answer it.
    reason: Note | None = None
    # The approval answered: needed only by a participant who answers two at once.
    approval: Identifier | None = None


class MailAsked(Model):
    """What the e-mail a reply answers asked about: its step, round and (a charter's) version.
    The decider refuses the reply when the project has moved on (a late reply to round 1
    never answers round 2)."""

    step: Identifier
    round: int = 0
    version: int = 0


class GiveAnswer(Command, AnswerFields):
    # Set by the inbound mail service only (no route's body carries them).
    mail: MailOrigin | None = None
    asked: MailAsked | None = None


class DelegationFields(Model):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"to": "p2"}, {"to": "p2", "until": "2027-01-15T18:00:00+01:00"}]
        }
    )

    # The partner who will answer for you.
    to: Identifier
    # Until this moment (a period); absent: for the decision open now only.
    until: Moment | None = None


class DelegateAnswer(Command, DelegationFields):
    pass


class ReasonFieldsRequired(Model):
    reason: Reason


class ReopenStep(Command, ReasonFieldsRequired):
    """The facilitator reopens a step it closed by mistake."""


class EditFields(Model):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"durations": {"decision": "P21D"},
                          "reason": "Les élus se réunissent le 20"}]
        }
    )  # fmt: skip

    title: Line | None = None
    description: Description | None = None
    # New durations of steps not opened yet, by step id.
    durations: dict[Identifier, Duration] = Field(default_factory=dict, max_length=30)
    reason: Reason


class EditProject(Command, EditFields):
    pass


class ReasonOptional(Model):
    reason: ShortNote = ""


class WithdrawProposal(Command):
    proposal_id: Identifier
    reason: ShortNote = ""


class RevokeDelegation(Command):
    delegation_id: Identifier


class JudgementFields(Model):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"judgement": "concern", "harm": False, "known": False,
                 "safe_to_try": True, "reason": "Un risque à suivre, pas un tort : essayons."}
            ]
        }
    )  # fmt: skip

    # The approval the objection was given in (needed when the step has several).
    approval: Identifier | None = None
    judgement: Judgement
    # The questions sociocratic practice asks, answered with the judgement.
    harm: bool
    known: bool
    safe_to_try: bool
    # Shown to everyone.
    reason: Reason


class JudgeObjection(Command, JudgementFields):
    # The objector.
    participant_id: Identifier


class OutcomeFields(TextFields):
    # Sets or moves the adopted decision's review date (a template with a review step).
    review_on: Moment | None = None


class StateOutcome(Command, OutcomeFields):
    pass


class ReviewFields(Model):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"choice": "keep"},
                {"choice": "amend", "reason": "Le créneau du samedi ne convient plus"},
            ]
        }
    )

    choice: ReviewChoice
    # Required to amend or end: the next co-design (or the record) says why.
    reason: Note | None = None


class AnswerReview(Command, ReviewFields):
    # Set by the inbound mail service only (no route's body carries them).
    mail: MailOrigin | None = None
    asked: MailAsked | None = None


class ExtensionFields(Model):
    # With its time zone: "2026-12-12T18:00:00+01:00".
    deadline: Moment
    reason: Reason


class ExtendDeadline(Command, ExtensionFields):
    pass


class ReasonFields(Model):
    reason: ShortNote = ""


class ClosePhase(Command, ReasonFields):
    pass


class InviteParticipant(Command):
    participant: ParticipantDraft


class ProposeNewcomer(Command):
    """An organisation proposed to join; the partners consent first (the charter says so)."""

    participant: ParticipantDraft


class NewcomerAnswerFields(Model):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"kind": "object", "reason": "Un concurrent direct"}]}
    )

    kind: Literal[AnswerKind.consent, AnswerKind.object]
    # Required with an objection: the proposer reads it.
    reason: Note | None = None


class AnswerNewcomer(Command, NewcomerAnswerFields):
    newcomer_id: Identifier


class ConsentToCharter(Command):
    """A partner who joined after the charter's adoption consents to the charter in force."""


class RemoveParticipant(Command, ReasonFields):
    participant_id: Identifier


class ReplacementFields(ReasonFields):
    replacement: ParticipantDraft


class ReplaceParticipant(Command, ReplacementFields):
    participant_id: Identifier


class ResendLink(Command):
    participant_id: Identifier


class ContactFields(Model):
    # Left out: unchanged. An empty string clears the email or webhook.
    email: ClearableEmail | None = None
    webhook_url: ClearableWebhookUrl | None = None
    language: Language | None = None
    time_zone: TimeZone | None = None
    notifications: NotificationPreference | None = None
    digest_hour: int | None = Field(default=None, ge=0, le=23)


class UpdateMyContact(Command, ContactFields):
    pass


class NoteProgress(Command, TextFields):
    pass


class Score(Model):
    indicator_id: Identifier
    score: int = Field(ge=1, le=5)
    comment: Note = ""


class AssessFields(Model):
    scores: list[Score] = Field(min_length=1, max_length=50)


class Assess(Command, AssessFields):
    pass


class CancelFields(Model):
    reason: Reason


class Cancel(Command, CancelFields):
    pass


Score5 = Annotated[int, Field(ge=1, le=5)]


class CooperationFields(Model):
    """The cooperation questionnaire (domain/cooperation.py), 1 (not at all) to 5 (fully):
    kept anonymously in the directory, never in the project's history."""

    roles: Score5
    constraints: Score5
    language: Score5
    decisions: Score5
    neutrality: Score5
    again: Score5
    comment: Note = ""


class AnswerCooperation(Command):
    """That this partner answered the questionnaire: all the project records (its answer is
    kept apart, anonymously)."""


class GovernanceFields(Model):
    """The charter's governance: the rule and quorum of later decisions whose template sets
    none, and how an organisation joins."""

    rule: DecisionRule = DecisionRule.consent
    quorum: float = Field(default=0.5, ge=0, le=1)
    joining: Joining = Joining.invitation


class CharterFields(Model):
    """A version of the partnership charter, section by section (CHARTER_SECTIONS)."""

    sections: dict[str, LongText]
    governance: GovernanceFields = GovernanceFields()
    # What changes from the previous version, one line each (required from version 2 on).
    changes: list[Line] = Field(default_factory=list, max_length=50)
    # From version 2 on: the objector's participant id -> how this version answers it.
    objection_answers: dict[Identifier, LongText] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _every_section(self) -> CharterFields:
        missing = [s for s in CHARTER_SECTIONS if not self.sections.get(s)]
        unknown = sorted(set(self.sections) - set(CHARTER_SECTIONS))
        if missing or unknown:
            raise PydanticCustomError(
                "charter_sections",
                "a charter has these sections, each written: {sections}"
                + (" (unknown: {unknown})" if unknown else ""),
                {"sections": ", ".join(CHARTER_SECTIONS), "unknown": ", ".join(unknown)},
            )
        return self


class PublishCharter(Command, CharterFields):
    pass


class AmendmentFields(CharterFields):
    # How long the partners have to answer (14 days unless said).
    answer_within: Duration = Field(default=timedelta(days=14), examples=["P14D"])


class AmendCharter(Command, AmendmentFields):
    """The facilitator proposes an amendment of the charter in force, later in the project:
    the partners answer it by the same consent, the step under way suspended meanwhile."""


class AnswerAmendment(Command, NewcomerAnswerFields):
    """A partner's answer to the amendment of the charter: consent, or an objection with its
    reason."""


class CharterNoteFields(Model):
    section: str = Field(examples=["governance"])
    text: LongText
    # A new wording of the section, rather than a comment on it.
    wording: bool = False


class NoteCharter(Command, CharterNoteFields):
    pass


class TermFields(Model):
    """A term of the project's common language and what it means here."""

    term: Line = Field(examples=["tiers-lieu"])
    definition: LongText = Field(
        examples=["Un lieu ouvert où habitants, associations et entreprises travaillent ensemble"]
    )


class ProposeTerm(Command, TermFields):
    pass


class DefinitionFields(Model):
    definition: LongText


class ProposeDefinition(Command, DefinitionFields):
    term_id: Identifier


class CommentTerm(Command, TextFields):
    term_id: Identifier


class ValidationFields(Model):
    # The definition the facilitator keeps for the term.
    definition_id: Identifier


class ValidateTerm(Command, ValidationFields):
    term_id: Identifier


class MergeFields(Model):
    # The term the other is merged into (it keeps its definitions and comments).
    into: Identifier


class MergeTerms(Command, MergeFields):
    term_id: Identifier


class LeaveFields(Model):
    # Said to the coordinator and the facilitator, and kept in the project's record.
    reason: Reason


class LeaveProject(Command, LeaveFields):
    pass


class ErasureFields(Model):
    # Also replace what they wrote (contributions, proposals, reasons, notes, comments) by
    # "[retiré]"; left false, their texts stay as their organisation's contribution.
    redact_texts: bool = False


class EraseParticipant(Command, ErasureFields):
    participant_id: Identifier


def fingerprint(command: Command) -> str:
    """Identifies a request's content, so a reused idempotency key with another body is caught."""
    return hashlib.sha256(command.model_dump_json().encode()).hexdigest()[:32]


# -- commands as recorded ----------------------------------------------------------------------


def as_recorded(command_type: type[Model]) -> type[BaseModel]:
    """The same command with no limits and no cleaning: how the workflow reads an update's
    payload. Temporal decodes an accepted update's payload again on every replay; read with
    today's limits, a limit tightened later (or a time zone gone from the tz database) would
    refuse what history says was accepted, and the project could not replay. Limits are
    checked once, by the validator, when the action is sent."""
    recorded = _RECORDED.get(command_type)
    if recorded is None:
        fields: dict[str, Any] = {
            name: (
                _loose(info.annotation),
                Field(default_factory=info.default_factory)
                if info.default_factory is not None
                else Field(default=info.default),
            )
            for name, info in command_type.model_fields.items()
        }
        recorded = create_model(
            f"Recorded{command_type.__name__}",
            __config__=ConfigDict(extra="ignore"),
            __module__=__name__,
            **fields,
        )
        _RECORDED[command_type] = recorded
    return recorded


_RECORDED: dict[type[BaseModel], type[BaseModel]] = {}


def _loose(annotation: Any) -> Any:
    """An annotation without its constraints and validators, nested models as recorded."""
    if annotation is AwareDatetime:
        return datetime
    origin = get_origin(annotation)
    if origin is Annotated:
        return _loose(get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, Model):
        return as_recorded(annotation)
    if origin in (Union, UnionType):
        return Union[tuple(_loose(arg) for arg in get_args(annotation))]  # noqa: UP007
    if origin in (list, dict):
        return origin[tuple(_loose(arg) for arg in get_args(annotation))]
    return annotation
