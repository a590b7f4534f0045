"""The project's own log: small, immutable events named in the past tense.

Each event carries everything needed to rebuild the state and nothing derived from it,
except the decision's tally, which the engine records so an audit reads it as it was. Events
are plain records (no limits, unknown fields ignored): an event once recorded always folds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.models import (
    AnswerKind,
    ApprovalResult,
    CharterNote,
    CharterVersion,
    Contribution,
    DecisionRule,
    Delegation,
    MailOrigin,
    ObjectionJudgement,
    Outcome,
    Participant,
    Phase,
    Plan,
    ProjectSpec,
    Proposal,
    ReviewAnswer,
    ReviewChoice,
    Tally,
)

SYSTEM = "system"  # the actor of what the engine does by itself (deadlines, rules)


class EventData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ProjectLaunched(EventData):
    type: Literal["project_launched"] = "project_launched"
    project: ProjectSpec
    # The version of the rules the project runs under, for its whole life (rules.RULES):
    # projects launched before 1.2 run under version 1, as they were recorded.
    rules: int = 1


class ParticipantInvited(EventData):
    type: Literal["participant_invited"] = "participant_invited"
    participant: Participant
    # Set when the invitation replaces someone (the coordinator's "replace").
    replaces: str | None = None


class ParticipantRemoved(EventData):
    type: Literal["participant_removed"] = "participant_removed"
    participant_id: str
    reason: str = ""
    # The partner left by itself (from its page), rather than the coordinator removing it.
    left: bool = False


class ParticipantUpdated(EventData):
    """A participant's own contact settings (email, webhook, language, time zone)."""

    type: Literal["participant_updated"] = "participant_updated"
    participant_id: str
    changes: dict[str, str | int | None]


class ParticipantErased(EventData):
    """A person's data erased at their request (the RGPD's right to erasure): their contact
    details are gone from the directory; with texts_redacted, every view, export and report
    shows REDACTED for what they wrote."""

    type: Literal["participant_erased"] = "participant_erased"
    participant_id: str
    texts_redacted: bool = False


# What an erased participant's texts read as, everywhere they are shown.
REDACTED = "[retiré]"


class LinkResent(EventData):
    type: Literal["link_resent"] = "link_resent"
    participant_id: str
    token_version: int


class PhaseOpened(EventData):
    type: Literal["phase_opened"] = "phase_opened"
    phase: Phase
    round: int
    deadline: datetime
    # The template's step, where its id is not its kind's (absent before templates).
    step: str | None = None


class PhaseClosed(EventData):
    type: Literal["phase_closed"] = "phase_closed"
    phase: Phase
    round: int
    # "complete" (everyone expected acted), "deadline", "facilitator", "plan_submitted"
    cause: str
    # The deadline the phase had (absent in logs recorded before): closed before it or after.
    deadline: datetime | None = None
    # The template's step, where its id is not its kind's (absent before templates).
    step: str | None = None


class ContributionAdded(EventData):
    type: Literal["contribution_added"] = "contribution_added"
    contribution: Contribution


class ProposalSubmitted(EventData):
    type: Literal["proposal_submitted"] = "proposal_submitted"
    proposal: Proposal


class ProposalAmended(EventData):
    type: Literal["proposal_amended"] = "proposal_amended"
    proposal_id: str
    participant_id: str
    text: str


class ProposalEndorsed(EventData):
    type: Literal["proposal_endorsed"] = "proposal_endorsed"
    proposal_id: str
    participant_id: str


class PlanSubmitted(EventData):
    type: Literal["plan_submitted"] = "plan_submitted"
    plan: Plan
    # The text of a decision step (no co-design before it): its approvers answer from now.
    answers_open: bool = False
    # Written at or after the step's deadline: the answers get the step's whole duration.
    deadline: datetime | None = None


class AnswerGiven(EventData):
    type: Literal["answer_given"] = "answer_given"
    participant_id: str
    kind: AnswerKind
    reason: str | None = None
    # The approval answered (absent when the step had one approval, and before templates).
    approval: str | None = None
    # The delegate who answered for this participant (absent: the participant itself).
    by: str | None = None
    # Given by replying to its e-mail, signed or not (absent: the page or the API).
    mail: MailOrigin | None = None


class StepReopened(EventData):
    """The facilitator reopened a step it closed by mistake, with a reason: the step is as it
    was, its deadline set anew; a decision its close reached is void."""

    type: Literal["step_reopened"] = "step_reopened"
    phase: Phase
    round: int
    step: str | None = None
    deadline: datetime
    reason: str
    voided: bool = False


class ProjectEdited(EventData):
    """The coordinator changed the project's title or description, or the durations of steps
    not opened yet (layered on its copy of the template), with a reason."""

    type: Literal["project_edited"] = "project_edited"
    title: str | None = None
    description: str | None = None
    durations: dict[str, timedelta] = Field(default_factory=dict)
    reason: str


class ProposalWithdrawn(EventData):
    type: Literal["proposal_withdrawn"] = "proposal_withdrawn"
    proposal_id: str
    participant_id: str
    reason: str = ""


class AnswerDelegated(EventData):
    """A partner delegated its answer to another partner (one decision, or a period)."""

    type: Literal["answer_delegated"] = "answer_delegated"
    delegation: Delegation


class DelegationEnded(EventData):
    """A delegation revoked by its delegator, or dropped when one of the two left."""

    type: Literal["delegation_ended"] = "delegation_ended"
    delegation_id: str
    # "revoked", or "left" (by whom: participant_id).
    why: str
    participant_id: str


class DecisionReached(EventData):
    type: Literal["decision_reached"] = "decision_reached"
    round: int
    rule: DecisionRule
    tally: Tally
    outcome: Outcome
    # The objections standing at close, which the next round's plan must answer.
    objections: dict[str, str] = Field(default_factory=dict)
    # The template's step, where its id is not its kind's (absent before templates).
    step: str | None = None
    # One result per approval (absent before templates: the one above is the partners').
    # rule, tally and objections above are the first approval's; outcome is the step's.
    approvals: list[ApprovalResult] = Field(default_factory=list)
    # Objections judged concerns: recorded, not blocking, not for the next plan to answer.
    concerns: dict[str, str] = Field(default_factory=dict)
    # Set by the fold when its step was reopened: the decision is void, not erased.
    voided: bool = False


class CollegeEmptied(EventData):
    """A college of a weighted majority lost its last member: its weight goes to the others
    in proportion (each weight an exact fraction, "1/2")."""

    type: Literal["college_emptied"] = "college_emptied"
    approval: str
    college: str
    weights: dict[str, str]


class ObjectionJudged(EventData):
    """The facilitator judged an objection under consent: valid (it blocks) or a concern
    (it does not), with its reason and its answers to the judgement's questions."""

    type: Literal["objection_judged"] = "objection_judged"
    participant_id: str
    # Named when the step has several approvals.
    approval: str | None = None
    judgement: ObjectionJudgement


class OutcomeStated(EventData):
    type: Literal["outcome_stated"] = "outcome_stated"
    text: str
    # The adopted decision's review date, set or moved with the outcome.
    review_on: datetime | None = None


class ReviewScheduled(EventData):
    """The project reached its review step before the review date: it waits for it, as in a
    pause (a project with a review to come is not closed)."""

    type: Literal["review_scheduled"] = "review_scheduled"
    round: int
    step: str | None = None
    opens_at: datetime


class ReviewNoticeSent(EventData):
    """Every participant told, a week before, that the decision's review opens."""

    type: Literal["review_notice_sent"] = "review_notice_sent"
    opens_at: datetime
    recipients: list[str] = Field(default_factory=list)


class ReviewAnswered(EventData):
    type: Literal["review_answered"] = "review_answered"
    participant_id: str
    choice: ReviewChoice
    reason: str | None = None
    # Given by replying to its e-mail, signed or not (absent: the page or the API).
    mail: MailOrigin | None = None


class AmendmentDropped(EventData):
    """The amendment a review asked for was not adopted in the rounds allowed: the decision in
    force stays, and the project goes on as after a review that kept it."""

    type: Literal["amendment_dropped"] = "amendment_dropped"
    round: int


class DecisionReviewed(EventData):
    """The review's result by its rule: keep (the project goes on), amend (back to co-design,
    the adopted plan as the first draft) or end; each choice counted."""

    type: Literal["decision_reviewed"] = "decision_reviewed"
    round: int
    step: str | None = None
    rule: DecisionRule
    quorum: float
    outcome: ReviewChoice
    voters: int
    counts: dict[str, int] = Field(default_factory=dict)
    # Too few answered: the decision stays as it is.
    quorum_met: bool = True
    # Where "amend" goes: the co-design step, in a new round.
    amend_to: str | None = None
    # Each answer counted, with its reason (absent in a review recorded before).
    answers: list[ReviewAnswer] = Field(default_factory=list)


class DeadlineExtended(EventData):
    type: Literal["deadline_extended"] = "deadline_extended"
    phase: Phase
    deadline: datetime
    reason: str
    # The phase's round, naming its calendar entry (absent in logs recorded before).
    round: int | None = None
    # The template's step, where its id is not its kind's (absent before templates).
    step: str | None = None


class ReminderSent(EventData):
    type: Literal["reminder_sent"] = "reminder_sent"
    phase: Phase
    offset: timedelta
    recipients: list[str]
    # The deadline reminded of (absent in logs recorded before it was added).
    deadline: datetime | None = None
    # The template's step, where its id is not its kind's (absent before templates).
    step: str | None = None


class ConclusionRequested(EventData):
    """Every partner assessed the results: the facilitator is asked for the conclusion, which
    closes the evaluation (rules version 2)."""

    type: Literal["conclusion_requested"] = "conclusion_requested"


class DeadlineEscalated(EventData):
    type: Literal["deadline_escalated"] = "deadline_escalated"
    phase: Phase
    missing: list[str]
    # The template's step, where its id is not its kind's (absent before templates).
    step: str | None = None


class CooperationAnswered(EventData):
    """A partner answered the cooperation questionnaire (so it answers once). Its answer is
    not here: it is kept apart, with no one's id (domain/cooperation.py)."""

    type: Literal["cooperation_answered"] = "cooperation_answered"
    participant_id: str


class CharterPublished(EventData):
    """The facilitator published a version of the partnership charter: its partners answer
    it (earlier answers no longer count). Published at or after the step's deadline, the
    answers get the step's whole duration."""

    type: Literal["charter_published"] = "charter_published"
    version: CharterVersion
    deadline: datetime | None = None


class CharterNoted(EventData):
    type: Literal["charter_noted"] = "charter_noted"
    note: CharterNote


class CharterReviewed(EventData):
    """A version was not adopted (an objection stood): the facilitator writes the next one,
    answering each objection; the step stays open."""

    type: Literal["charter_reviewed"] = "charter_reviewed"
    version: int
    approvals: list[ApprovalResult]
    objections: dict[str, str] = Field(default_factory=dict)


class CharterAdopted(EventData):
    """The charter adopted by consent: each organisation's consent and when (its
    signatures)."""

    type: Literal["charter_adopted"] = "charter_adopted"
    version: int
    approvals: list[ApprovalResult] = Field(default_factory=list)
    signatures: dict[str, datetime] = Field(default_factory=dict)


class NewcomerProposed(EventData):
    """A partner or the coordinator proposed an organisation to join the partnership: the
    charter in force says the partners consent first (its details are in the directory)."""

    type: Literal["newcomer_proposed"] = "newcomer_proposed"
    newcomer: Participant
    proposed_by: str


class NewcomerAnswered(EventData):
    """A partner's answer to a newcomer: consent, or an objection with its reason."""

    type: Literal["newcomer_answered"] = "newcomer_answered"
    newcomer_id: str
    participant_id: str
    kind: AnswerKind
    reason: str | None = None


class NewcomerRefused(EventData):
    """An objection stands: the newcomer does not join (it may be proposed again)."""

    type: Literal["newcomer_refused"] = "newcomer_refused"
    newcomer_id: str


class CharterAmendmentProposed(EventData):
    """The facilitator proposed an amendment of the charter in force: the partners answer it
    until `until`; the step under way is suspended meanwhile."""

    type: Literal["charter_amendment_proposed"] = "charter_amendment_proposed"
    version: CharterVersion
    until: datetime
    # The partners asked (a partner joining meanwhile is not: it never saw the proposal).
    expected: list[str] = []


class CharterAmendmentAnswered(EventData):
    type: Literal["charter_amendment_answered"] = "charter_amendment_answered"
    participant_id: str
    kind: AnswerKind
    reason: str | None = None


class CharterAmendmentClosed(EventData):
    """The amendment is adopted (every partner consented: their consents are the charter's
    signatures) or not (an objection, or a partner silent at its day); the suspended step
    resumes, its deadline moved by the time the amendment took."""

    type: Literal["charter_amendment_closed"] = "charter_amendment_closed"
    version: int
    adopted: bool
    cause: str  # "complete" or "deadline"
    signatures: dict[str, datetime] = {}
    objections: dict[str, str] = {}
    # Partners who had not answered by its day.
    missing: list[str] = []
    # The suspended step's new deadline.
    deadline: datetime | None = None


class CharterSigned(EventData):
    """A partner who joined after the charter's adoption consented to the charter in force:
    its signature, dated."""

    type: Literal["charter_signed"] = "charter_signed"
    participant_id: str
    version: int


class TermProposed(EventData):
    """A participant proposed a term of the project's common language, with a definition."""

    type: Literal["term_proposed"] = "term_proposed"
    term_id: str
    term: str
    participant_id: str
    definition_id: str
    definition: str


class DefinitionProposed(EventData):
    type: Literal["definition_proposed"] = "definition_proposed"
    term_id: str
    participant_id: str
    definition_id: str
    definition: str


class TermCommented(EventData):
    type: Literal["term_commented"] = "term_commented"
    term_id: str
    participant_id: str
    text: str


class TermValidated(EventData):
    """The facilitator validated one definition of a term: the term is now linked from its
    first use on each of the project's pages."""

    type: Literal["term_validated"] = "term_validated"
    term_id: str
    definition_id: str


class TermsMerged(EventData):
    """The facilitator merged a term into another (two words for one thing)."""

    type: Literal["terms_merged"] = "terms_merged"
    term_id: str
    into_id: str


class ProgressNoted(EventData):
    type: Literal["progress_noted"] = "progress_noted"
    participant_id: str
    text: str


class AssessmentGiven(EventData):
    type: Literal["assessment_given"] = "assessment_given"
    participant_id: str
    indicator_id: str
    score: int
    comment: str = ""


class NotificationFailed(EventData):
    type: Literal["notification_failed"] = "notification_failed"
    about_seq: int
    recipients: list[str]
    error: str


class ReportPublished(EventData):
    type: Literal["report_published"] = "report_published"
    location: str
    digest: str


class ProjectClosed(EventData):
    type: Literal["project_closed"] = "project_closed"
    outcome: Outcome


class ProjectCancelled(EventData):
    type: Literal["project_cancelled"] = "project_cancelled"
    reason: str
    # The phase still open when cancelled, whose calendar entry is withdrawn (absent in logs
    # recorded before, and when none was open).
    open_phase: Phase | None = None
    open_round: int | None = None
    open_step: str | None = None


AnyEventData = Annotated[
    ProjectLaunched
    | ParticipantInvited
    | ParticipantRemoved
    | ParticipantErased
    | ParticipantUpdated
    | LinkResent
    | PhaseOpened
    | PhaseClosed
    | ContributionAdded
    | ProposalSubmitted
    | ProposalAmended
    | ProposalEndorsed
    | PlanSubmitted
    | AnswerGiven
    | DecisionReached
    | ObjectionJudged
    | AnswerDelegated
    | ProposalWithdrawn
    | ProjectEdited
    | StepReopened
    | DelegationEnded
    | CollegeEmptied
    | OutcomeStated
    | ReviewScheduled
    | ReviewNoticeSent
    | ReviewAnswered
    | DecisionReviewed
    | AmendmentDropped
    | DeadlineExtended
    | ReminderSent
    | DeadlineEscalated
    | ConclusionRequested
    | CooperationAnswered
    | CharterPublished
    | CharterNoted
    | CharterReviewed
    | CharterAdopted
    | CharterSigned
    | CharterAmendmentProposed
    | CharterAmendmentAnswered
    | CharterAmendmentClosed
    | NewcomerProposed
    | NewcomerAnswered
    | NewcomerRefused
    | TermProposed
    | DefinitionProposed
    | TermCommented
    | TermValidated
    | TermsMerged
    | ProgressNoted
    | AssessmentGiven
    | NotificationFailed
    | ReportPublished
    | ProjectClosed
    | ProjectCancelled,
    Field(discriminator="type"),
]


class Event(BaseModel):
    """One entry of the project's log: sequence number, time, actor and data."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    seq: int
    at: datetime
    actor: str
    data: AnyEventData

    @property
    def type(self) -> str:
        return self.data.type
