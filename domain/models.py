"""The vocabulary of a co-construction project (see shared/DESIGN.md): the records that
events and the state are made of.

Records are plain: no limits, unknown fields ignored, so an event once recorded always folds,
even after a limit is tightened or a field removed. Limits live on commands (commands.py).
Pure: no Temporal, no I/O, no clock. Models never default to "now" or a random id, since
they are built inside workflow code where both are forbidden.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from fractions import Fraction
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
    # A template's pause (a board meeting, a summer break): nobody is expected to act.
    wait = "wait"
    # The partnership charter, adopted by every partner's consent (before the project).
    charter = "charter"
    # The adopted decision looked at again on its review date: keep, amend or end it.
    review = "review"
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


class Judgement(StrEnum):
    """The facilitator's judgement of an objection under consent (sociocratic practice)."""

    valid = "valid"  # the proposal must change: it blocks
    concern = "concern"  # recorded and shown, does not block; checked at the evaluation


class ReviewChoice(StrEnum):
    """A partner's answer to a decision's review, and the review's result."""

    keep = "keep"  # the decision stays as it is
    amend = "amend"  # back to co-design, the adopted plan as the first draft
    end = "end"  # the decision ends (the project closes)


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


# -- process templates (domain/templates.py checks them) -----------------------------------------


class Words(Record):
    """A name people read, in French and optionally in English (French stands in)."""

    fr: str
    en: str = ""

    def said_in(self, language: Language | str) -> str:
        return self.en if str(language) == Language.en.value and self.en else self.fr


class Approvers(Record):
    """Who answers an approval: participants with one of these roles, narrowed to these kinds
    of organisation when kinds are given (kinds alone mean partners of those kinds), and
    participants named by their id in the project."""

    roles: list[Role] = []
    organisation_kinds: list[OrganisationKind] = []
    participants: list[str] = []

    def includes(self, p: Participant) -> bool:
        if p.role not in (Role.partner, Role.facilitator):
            return False  # observers read, the coordinator runs the project: neither approves
        if p.id in self.participants:
            return True
        roles = self.roles or ([Role.partner] if self.organisation_kinds else [])
        if p.role not in roles:
            return False
        return not self.organisation_kinds or p.organisation_kind in self.organisation_kinds

    def roles_that_may(self) -> set[Role]:
        """The roles some approver may have (the named participants' aside)."""
        return set(self.roles or ([Role.partner] if self.organisation_kinds else []))

    @property
    def is_empty(self) -> bool:
        return not (self.roles or self.organisation_kinds or self.participants)


class College(Record):
    """A college of a weighted majority: its members among the approval's approvers, and its
    weight, a whole percentage (40) or an exact fraction ("1/3"); none under the SCIC
    preset means equal weights."""

    id: str
    name: Words | None = None
    members: Approvers
    weight: int | str | None = None


def weight_of(value: int | str | None) -> Fraction | None:
    """A college's weight as an exact fraction of the votes (None when unreadable)."""
    if value is None:
        return None
    try:
        share = Fraction(value) / 100 if isinstance(value, int) else Fraction(value.strip())
    except (ValueError, ZeroDivisionError):
        return None
    return share


class Approval(Record):
    id: str
    name: Words | None = None
    approvers: Approvers = Approvers(roles=[Role.partner])
    # Not set: the rule and quorum of the adopted partnership charter (consent, and half of
    # the approvers, without one), fixed when the decision opens.
    rule: DecisionRule | None = None
    # Share of the approvers who must answer; 0: silence is consent.
    quorum: float | None = None
    # A majority by weighted colleges (cooperatives' proportional count), and its preset:
    # "scic", no college above half nor below a tenth of the votes.
    colleges: list[College] = []
    preset: str | None = None

    def weights(self) -> dict[str, Fraction]:
        """Each college's weight: as written, or equal under the SCIC preset."""
        if self.preset == "scic" and all(c.weight is None for c in self.colleges):
            return {c.id: Fraction(1, len(self.colleges)) for c in self.colleges}
        return {c.id: weight_of(c.weight) or Fraction(0) for c in self.colleges}

    def college_of(self, p: Participant) -> str | None:
        return next((c.id for c in self.colleges if c.members.includes(p)), None)


class Completion(StrEnum):
    """How a decision step's approvals make its result: every one adopted, or any."""

    all = "all"
    any = "any"


class LoopBack(Record):
    """Where a decision not adopted sends the project: back to this step, for one more round,
    while the rounds held stay under max_rounds; then the project ends not adopted."""

    to: str
    max_rounds: int = 3


class Step(Record):
    id: str
    name: Words
    kind: Phase
    # How long the step lasts (a wait step may give `until` instead); action may be 0: skipped.
    duration: timedelta | None = None
    # A wait step's end: a date and time with its time zone.
    until: datetime | None = None
    # Offsets before the deadline.
    reminders: list[timedelta] = []
    close_when_complete: bool = True
    # A decision step's approvals, running at once.
    approvals: list[Approval] = []
    completion: Completion = Completion.all
    # A decision step's way back; none: the project ends not adopted.
    if_not_adopted: LoopBack | None = None
    # A review step: how long after the adoption it opens, unless the plan or the outcome set
    # the decision's review date (review_on); and the co-design an "amend" goes back to (none:
    # the last co-design before the decision it reviews).
    after: timedelta | None = None
    amend_to: str | None = None

    def approval_by_id(self, approval_id: str) -> Approval:
        return next(a for a in self.approvals if a.id == approval_id)


class Template(Record):
    id: str
    version: int = 1
    name: Words
    description: Words = Words(fr="")
    steps: list[Step]

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)

    def index(self, step_id: str) -> int:
        return next(n for n, s in enumerate(self.steps) if s.id == step_id)


class TemplateRef(Record):
    """Which template a project runs: its id, version and the digest of that version."""

    id: str
    version: int
    digest: str


class LaunchedTemplate(Record):
    """A project's own copy of its template (in its start input): a later version, or a
    deleted template, never changes a project launched. `digest` is the version's as
    published; `content` is what the project runs (with the launch's durations)."""

    id: str
    version: int
    digest: str
    content: Template

    def ref(self) -> TemplateRef:
        return TemplateRef(id=self.id, version=self.version, digest=self.digest)


# -- the partnership charter -------------------------------------------------------------------

# Its sections, in order (their titles and the French model's text: texts/charter.py).
CHARTER_SECTIONS: tuple[str, ...] = (
    "purpose",
    "partners",
    "commitments",
    "governance",
    "confidentiality",
    "communication",
    "membership",
    "amendment",
)


class Joining(StrEnum):
    """How an organisation joins the project once the charter is adopted."""

    # The partners consent to the newcomer the coordinator or a partner proposes.
    consent = "consent"
    # The coordinator invites it.
    invitation = "invitation"


class Governance(Record):
    """The charter's structured governance: the rule and quorum of every later decision
    whose template sets none, and how an organisation joins."""

    rule: DecisionRule = DecisionRule.consent
    quorum: float = 0.5
    joining: Joining = Joining.invitation


class CharterVersion(Record):
    number: int
    # Section id -> its text (CHARTER_SECTIONS).
    sections: dict[str, str]
    governance: Governance = Governance()
    # Each change from the previous version, in words.
    changes: list[str] = []
    # From version 2 on: the objector's participant id -> how this version answers it.
    objection_answers: dict[str, str] = {}
    # The objections that sent this version back (filled by the fold, not published).
    objections: dict[str, str] = {}
    # An amendment of the charter in force, proposed later in the project.
    amendment: bool = False


class RuleInForce(Record):
    """The rule and quorum an approval decides by, fixed when its decision opened, and where
    they come from: its template, the adopted charter, or the default (consent, half)."""

    rule: DecisionRule
    quorum: float
    source: str  # "template", "charter" or "default"


class CharterNote(Record):
    """A participant's comment on a section, or a new wording it proposes for it."""

    section: str
    participant_id: str
    text: str
    wording: bool = False
    # The version it speaks of.
    version: int


# The files a charter agreed before the project may come as, and their extensions.
CHARTER_FILE_TYPES = {
    "application/pdf": ".pdf",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
CHARTER_FILE_LIMIT = 10 * 1024 * 1024


class CharterDocument(Record):
    """The file of a charter agreed before the project: it lies in the archive store; the
    project records only its name, size, kind and digest (the key it is found by)."""

    name: str
    sha256: str
    size: int
    media_type: str


class AgreedCharter(Record):
    """A charter the partners agreed before the project: when, and its text or its file;
    its governance where the launch structured it (else later decisions take the default)."""

    agreed_on: date
    text: str | None = None
    document: CharterDocument | None = None
    governance: Governance | None = None


class Charter(Record):
    versions: list[CharterVersion] = []
    notes: list[CharterNote] = []
    # The version adopted (by consent, or agreed before the project), when, and who
    # consented when (the charter's signatures).
    adopted: int | None = None
    adopted_at: datetime | None = None
    signatures: dict[str, datetime] = {}
    # Agreed before the project (its launch says so): its charter step is skipped.
    agreed: AgreedCharter | None = None

    def version(self, number: int | None) -> CharterVersion | None:
        return next((v for v in self.versions if v.number == number), None)

    @property
    def in_force(self) -> CharterVersion | None:
        return self.version(self.adopted)

    @property
    def number_in_force(self) -> int | None:
        """The version in force: adopted by consent, else 0 for the one agreed before."""
        if self.adopted is not None:
            return self.adopted
        return 0 if self.agreed is not None else None

    @property
    def governance(self) -> Governance | None:
        """The governance in force: the adopted version's, else the agreed charter's."""
        if self.in_force is not None:
            return self.in_force.governance
        return self.agreed.governance if self.agreed is not None else None


class CharterAmendment(Record):
    """An amendment of the charter in force being answered: the step under way is suspended
    until every partner answered or its day came, then resumes, its deadline extended by the
    time taken."""

    version: int
    opened_at: datetime
    until: datetime
    # The partners asked when it was proposed (empty: every active partner).
    expected: list[str] = []
    # Partner id -> consent, object or abstain; an objection's reason; when each answered.
    answers: dict[str, AnswerKind] = {}
    reasons: dict[str, str] = {}
    answered_at: dict[str, datetime] = {}


class Newcomer(Record):
    """An organisation proposed to join the partnership while the charter in force says the
    partners consent first: who proposed it, each partner's answer, and how it ended."""

    participant: Participant
    proposed_by: str
    proposed_at: datetime | None = None
    # Partner id -> consent or object; an objection's reason.
    answers: dict[str, AnswerKind] = {}
    reasons: dict[str, str] = {}
    # "proposed", "joined" or "refused".
    status: str = "proposed"


class GlossaryEntry(Record):
    """A term and its definition, as a project starts from an earlier project's glossary."""

    term: str
    definition: str


class ReopenPoint(Record):
    """A step the facilitator closed by hand before its deadline, as it stood then: reopened
    within the window, as long as nobody acted in the step that followed."""

    step: str
    phase: Phase
    round: int
    closed_at: datetime
    deadline: datetime
    answers: dict[str, Answer] = {}
    judgements: dict[str, ObjectionJudgement] = {}
    plan: Plan | None = None
    objections_to_answer: dict[str, str] = {}
    adopted_plan: Plan | None = None
    outcome: Outcome | None = None
    decisions: int = 0
    concerns: int = 0
    rules_in_force: dict[str, RuleInForce] = {}
    # A review's amendment under way, and the review date, as they stood.
    amending: bool = False
    cycle_from: int = 1
    draft_plan: Plan | None = None
    plan_in_force: Plan | None = None
    review_on: datetime | None = None


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
    # Launched before templates: co-construction v1 with these settings (templates.co_construction).
    process: Process = Process()
    # The project's own copy of the template it runs (absent before templates).
    template: LaunchedTemplate | None = None
    # The common language it starts from: an earlier project's validated terms.
    glossary: list[GlossaryEntry] = []
    # How many delegations one partner may hold at once (a setting, read at launch).
    max_delegations: int = 2
    # How long after a close by hand the facilitator may reopen the step (a setting).
    reopen_within: timedelta = timedelta(days=7)
    # A partnership charter agreed before the project (its charter step is then skipped).
    charter_agreed: AgreedCharter | None = None


class Definition(Record):
    id: str
    # Who proposed it ("" for a term taken from an earlier project's glossary).
    participant_id: str
    text: str


class TermComment(Record):
    participant_id: str
    text: str


class Term(Record):
    """A term of the project's common language: its definitions proposed, the comments on
    them, and the one the facilitator validated (a validated term is linked from the pages)."""

    id: str
    term: str
    proposed_by: str
    definitions: list[Definition] = []
    comments: list[TermComment] = []
    validated: str | None = None
    # Merged by the facilitator into another term: shown under that one.
    merged_into: str | None = None

    def definition(self) -> Definition | None:
        return next((d for d in self.definitions if d.id == self.validated), None)


class Indicator(Record):
    id: str
    name: str
    target: str = ""


class Contribution(Record):
    id: str
    participant_id: str
    kind: ContributionKind
    text: str
    # The round of the diagnosis it was made in (absent before templates: the first).
    round: int | None = None


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
    # Withdrawn by its author before the plan: kept in the record, no longer chosen.
    withdrawn: bool = False
    withdrawn_reason: str = ""


class Plan(Record):
    """The facilitator's consolidation put to decision; indicators are frozen copies."""

    round: int
    proposal_ids: list[str]
    summary: str
    indicators: list[Indicator]
    # From round 2 on: objector's participant id -> the plan's answer to that objection.
    objection_answers: dict[str, str] = Field(default_factory=dict)
    # When the decision, adopted, is looked at again (where the template has a review step).
    review_on: datetime | None = None


class MailOrigin(Record):
    """An answer that came as a reply to its e-mail: whether the sender's domain signed it
    (DKIM aligned with From:, or the relay's Authentication-Results said so)."""

    signed: bool


class ReviewAnswer(Record):
    """A partner's answer to a decision's review: keep, amend or end, with its reason."""

    participant_id: str
    choice: ReviewChoice
    reason: str | None = None
    at: datetime | None = None
    # Given by replying to its e-mail (None: on the page or through the API).
    mail: MailOrigin | None = None


class ObjectionJudgement(Record):
    """How the facilitator judged an objection, with its reason (shown to everyone) and its
    answers to the questions sociocratic practice asks."""

    judgement: Judgement
    reason: str
    # Would the proposal cause harm, or move the group backwards?
    harm: bool
    # Is that harm known, or only anticipated?
    known: bool
    # Is it safe enough to try, with a review?
    safe_to_try: bool
    at: datetime | None = None


class ConcernToCheck(Record):
    """An objection judged a concern in an adopted decision: a point for the evaluation."""

    round: int
    participant_id: str
    objection: str
    reason: str


class Delegation(Record):
    """A partner's answer delegated to another partner: for one decision (its step and
    round) or for a period (until). The delegate's answer counts for both."""

    id: str
    delegator: str
    delegate: str
    step: str | None = None
    round: int | None = None
    until: datetime | None = None
    given_at: datetime | None = None
    # Ended: revoked by the delegator, or dropped when one of them left.
    ended: str | None = None
    ended_at: datetime | None = None


class Answer(Record):
    participant_id: str
    kind: AnswerKind
    reason: str | None = None
    # The approval it answers (absent in states carried before templates: the partners').
    approval: str = ""
    # When it was given (a charter's signature is dated; absent in states carried before).
    at: datetime | None = None
    # The delegate who gave it for this participant (None: the participant itself).
    by: str | None = None
    # Given by replying to its e-mail (None: on the page or through the API).
    mail: MailOrigin | None = None


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
    """One opening of a step, for the record: when it opened and closed, and why it closed."""

    phase: Phase
    round: int
    # The template's step (absent before templates, and where it is named as its kind).
    step: str | None = None
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
    # Objections judged concerns (among the objections): they do not block under consent.
    concerns: int = 0

    @property
    def answers(self) -> int:
        return self.consents + self.objections + self.abstentions


class CollegeResult(Record):
    """One college's part of a weighted majority: its weight (an exact fraction, "2/5"), its
    tally, and what it gives the result: its weight times its share of consents."""

    college: str
    weight: str
    tally: Tally
    contributes: float


class ApprovalResult(Record):
    """One approval's result in a decision step: its rule, quorum, tally and outcome, and the
    objections standing at close. Void when none of its approvers was left to answer."""

    approval: str
    rule: DecisionRule
    quorum: float
    tally: Tally
    outcome: Outcome
    objections: dict[str, str] = Field(default_factory=dict)
    void: bool = False
    # The facilitator's judgement of each objection it judged (the others counted as valid).
    judgements: dict[str, ObjectionJudgement] = Field(default_factory=dict)
    # A weighted majority: each college's part, and the weighted share of consents.
    colleges: list[CollegeResult] = Field(default_factory=list)
    weighted: float | None = None
    # Answers a delegate gave: the approver's id -> its delegate's.
    delegated: dict[str, str] = Field(default_factory=dict)


class IndicatorResult(Record):
    indicator_id: str
    name: str
    target: str = ""
    mean_score: float | None
    count: int
    comments: list[str]
