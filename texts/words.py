"""The project in words: labels for codes, the timeline's sentences, refusals by code.

Every text here is an English message id that the catalogs translate (`N_` only marks it for
extraction); the pages call `Texts.gettext` on it.
"""

from __future__ import annotations

from typing import Any

from domain import events as ev
from domain.models import Approvers, Participant, Role, Tally, Words
from domain.templates import named_apart
from domain.views import ProjectView
from texts.i18n import Texts


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    return message


PHASES = {
    "launched": N_("launch"),
    "diagnosis": N_("shared diagnosis"),
    "co_design": N_("co-design"),
    "decision": N_("decision"),
    "action": N_("implementation"),
    "evaluation": N_("evaluation"),
    "wait": N_("pause"),
    "charter": N_("partnership charter"),
    "review": N_("decision review"),
    "closed": N_("closed"),
    "cancelled": N_("cancelled"),
}
# A partner's answer to a review, and the review's result.
REVIEW_CHOICES = {
    "keep": N_("Keep the decision as it is"),
    "amend": N_("Amend the decision"),
    "end": N_("End the decision"),
}


# A review's result, said of the decision.
REVIEW_RESULTS = {
    "keep": N_("the decision is kept as it is"),
    "amend": N_("the decision is amended: back to co-design"),
    "end": N_("the decision is ended"),
}


def review_result(t: Texts, reviewed: ev.DecisionReviewed) -> str:
    """A review's result, with its count, in a sentence."""
    _ = t.gettext
    counted = _("keep: %(keep)s, amend: %(amend)s, end: %(end)s",
                **{c: reviewed.counts.get(c, 0) for c in ("keep", "amend", "end")})  # fmt: skip
    if not reviewed.quorum_met:
        return _("Review: too few answers, the decision stays as it is (%(counted)s).",
                 counted=counted)  # fmt: skip
    said = {
        "keep": _("Review: the partners kept the decision (%(counted)s).", counted=counted),
        "amend": _("Review: the partners amended the decision (%(counted)s).", counted=counted),
        "end": _("Review: the partners ended the decision (%(counted)s).", counted=counted),
    }
    return said[reviewed.outcome]


ROLES = {
    "coordinator": N_("coordinator"),
    "facilitator": N_("facilitator"),
    "partner": N_("partner"),
    "observer": N_("observer"),
}
KINDS = {
    "association": N_("association"),
    "local_authority": N_("local authority"),
    "inhabitants": N_("inhabitants' group"),
    "university": N_("university or laboratory"),
    "company": N_("company"),
    "public_body": N_("public body"),
    "other": N_("other organisation"),
}
CONTRIBUTIONS = {
    "need": N_("A need"),
    "resource": N_("A resource"),
    "observation": N_("An observation"),
    "constraint": N_("A constraint"),
}
ANSWERS = {
    "consent": N_("Consent"),
    "object": N_("Objection"),
    "abstain": N_("Abstention"),
}
ANSWER_HINTS = {
    "consent": N_("I can live with this plan"),
    "object": N_("I object: the plan must change (say why)"),
    "abstain": N_("I do not take a position"),
}
CHARTER_ANSWER_HINTS = {
    "consent": N_("I can live with this charter"),
    "object": N_("I object: the charter must change (say why)"),
    "abstain": N_("I do not take a position"),
}
# A decision's outcome, said of the decision ("Décision : adoptée").
OUTCOMES = {
    "adopted": N_("adopted"),
    "not_adopted": N_("not adopted"),
    "no_quorum": N_("not adopted: quorum not reached"),
    "cancelled": N_("not taken: the project was cancelled"),
}
# How a project ended, said of the project's end ("Le projet est clos : décision adoptée").
PROJECT_OUTCOMES = {
    "adopted": N_("decision adopted"),
    "not_adopted": N_("decision not adopted"),
    "no_quorum": N_("decision not adopted: quorum not reached"),
    "cancelled": N_("project cancelled"),
}
RULES = {
    "consent": N_("consent (adopted when no objection stands)"),
    "consensus": N_("consensus (adopted when every voter answered and none objected)"),
    "majority": N_("majority (adopted when consents are more than half of the answers)"),
}
# The rule's name alone (a spreadsheet's column), and how a decision was taken by it.
RULE_NAMES = {
    "consent": N_("consent"),
    "consensus": N_("consensus"),
    "majority": N_("majority"),
}
RULE_MANNERS = {
    "consent": N_("by consent"),
    "consensus": N_("by consensus"),
    "majority": N_("by majority"),
}
LANGUAGES = {"fr": "Français", "en": "English"}  # each in its own language, as menus show them
# A link to the report in the other language, written in that language.
REPORT_IN = {"fr": "Lire le rapport en français", "en": "Read the report in English"}
# The time zones of mainland France and of the overseas departments and territories, first in
# every time zone list; any other zoneinfo name is typed under "other".
TIME_ZONES = {
    "Europe/Paris": N_("Mainland France"),
    "America/Guadeloupe": N_("Guadeloupe"),
    "America/Martinique": N_("Martinique"),
    "America/Cayenne": N_("French Guiana"),
    "Indian/Reunion": N_("Réunion"),
    "Indian/Mayotte": N_("Mayotte"),
    "America/Miquelon": N_("Saint Pierre and Miquelon"),
    "America/St_Barthelemy": N_("Saint Barthélemy"),
    "America/Marigot": N_("Saint Martin"),
    "Pacific/Noumea": N_("New Caledonia"),
    "Pacific/Tahiti": N_("French Polynesia (Tahiti)"),
    "Pacific/Marquesas": N_("French Polynesia (Marquesas)"),
    "Pacific/Gambier": N_("French Polynesia (Gambier)"),
    "Pacific/Wallis": N_("Wallis and Futuna"),
    "Indian/Kerguelen": N_("French Southern and Antarctic Lands"),
}
OTHER_TIME_ZONE = "other"


def other_time_zones() -> list[str]:
    """Every other zoneinfo name, for the "other" of a time zone list."""
    from zoneinfo import available_timezones

    return sorted(available_timezones() - set(TIME_ZONES))


# Why a phase closed (PhaseClosed.cause), for the phase it closed.
CLOSINGS = {
    ("diagnosis", "complete"): N_("every partner contributed"),
    ("decision", "complete"): N_("every voter answered"),
    ("evaluation", "complete"): N_("every partner assessed the results"),
    ("co_design", "plan_submitted"): N_("the plan was put to decision"),
}
EARLY_CLOSINGS = {
    "complete": N_("everyone expected has acted"),
    "plan_submitted": N_("the plan was put to decision"),
    "facilitator": N_("the facilitator closed it"),
    "deadline": N_("at its deadline"),
    "concluded": N_("the partners assessed the results and the facilitator concluded"),
}


def closed_early(t: Texts, view: ProjectView) -> str | None:
    """The phase that closed before its deadline, while the next one runs: "Tous les
    partenaires ont contribué : la phase « diagnostic partagé » s’est close le 3 mars 2026 à
    14 h." None when the last phase closed at its deadline."""
    closed = [p for p in view.periods if p.closed_at is not None]
    if not closed:
        return None
    last = closed[-1]
    if last.cause in (None, "deadline") or last.closed_at >= last.deadline:
        return None
    return t.gettext(
        "%(cause)s: the %(phase)s phase closed on %(when)s, before its deadline.",
        cause=capitalised(closing(t, last.phase.value, last.cause)),
        phase=t.gettext(PHASES[last.phase.value]),
        when=t.when(last.closed_at),
    )


def closing(t: Texts, phase: str, cause: str) -> str:
    """Why a phase closed, in words: "tous les partenaires ont contribué"."""
    words = CLOSINGS.get((phase, cause)) or EARLY_CLOSINGS.get(cause, EARLY_CLOSINGS["facilitator"])
    return t.gettext(words)


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def phase_name(t: Texts, phase: str) -> str:
    """A phase's name at the start of a line or a cell: "Diagnostic partagé"."""
    return capitalised(t.gettext(PHASES.get(phase, N_("phase"))))


# Who approves, said of a group ("les partenaires", "le facilitateur").
APPROVER_ROLES = {
    "partner": N_("the partners"),
    "facilitator": N_("the facilitator"),
}


def approvers_in_words(t: Texts, approvers: Approvers, named: list[str] | None = None) -> str:
    """Who answers an approval: "les partenaires de type collectivité", "le facilitateur",
    or the organisations named."""
    _ = t.gettext
    roles = approvers.roles or ([Role.partner] if approvers.organisation_kinds else [])
    groups = [_(APPROVER_ROLES.get(r.value, N_("the partners"))) for r in roles]
    said = _(" and ").join(groups)
    if approvers.organisation_kinds:
        kinds = _(" or ").join(_(KINDS[k.value]) for k in approvers.organisation_kinds)
        said = _("%(who)s of the kind %(kinds)s", who=said, kinds=kinds)
    if named:
        names = ", ".join(named)
        said = _("%(who)s and %(names)s", who=said, names=names) if said else names
    return said


def approval_name(t: Texts, name: Words | None, approvers: Approvers) -> str:
    """An approval as people read it: its template's name, or who approves it in words."""
    if name is not None and name.fr:
        return capitalised(name.said_in(t.language))
    return capitalised(approvers_in_words(t, approvers))


def step_name(t: Texts, name: Words | None, phase: str) -> str:
    """A step's name as its template says it in the reader's language (French where no
    English was written), or its kind's words."""
    if name is not None and name.fr:
        return capitalised(name.said_in(t.language))
    return phase_name(t, phase)


def round_name(t: Texts, n: int) -> str:
    """A round as people say it: "1er tour", "2e tour"; "round 1". French writes the ordinal
    by the number's plural category (one: "1er", other: "2e")."""
    return t.ngettext("round %(num)s", "round %(num)s", n)


def tally_in_words(t: Texts, tally: Tally) -> str:
    """ "3 consentements, 1 objection, 1 abstention, 0 sans réponse, sur 5 votants"."""
    parts = [
        t.ngettext("%(num)s consent", "%(num)s consents", tally.consents),
        t.ngettext("%(num)s objection", "%(num)s objections", tally.objections),
        t.ngettext("%(num)s abstention", "%(num)s abstentions", tally.abstentions),
        t.ngettext("%(num)s without an answer", "%(num)s without an answer", tally.silent),
    ]
    return t.ngettext(
        "%(answers)s, of %(num)s voter", "%(answers)s, of %(num)s voters", tally.voters,
        answers=", ".join(parts),
    )  # fmt: skip


# How much e-mail a participant chose.
PREFERENCES = {
    "every": N_("Every message"),
    "digest": N_("One digest a day"),
    "essentials": N_("The essentials only"),
}
PREFERENCE_HINTS = {
    "every": N_("Each piece of news as it happens, with the deadlines in your calendar."),
    "digest": N_(
        "One e-mail a day with everything new, at the hour you choose; your own reminders still come at once."
    ),
    "essentials": N_("Invitations, your own reminders, decisions and the end of the project."),
}

# A notification, by the event it told: for the list of messages not delivered.
MESSAGES = {
    "project_launched": N_("the invitation"),
    "participant_invited": N_("the invitation"),
    "link_resent": N_("the new personal link"),
    "participant_removed": N_("the notice of removal"),
    "participant_left": N_("the notice that a partner left"),
    "charter_published": N_("the charter to answer"),
    "charter_reviewed": N_("the charter sent back"),
    "charter_adopted": N_("the charter adopted"),
    "newcomer_proposed": N_("the organisation proposed to join"),
    "newcomer_refused": N_("the organisation refused"),
    "charter_amendment_proposed": N_("the amendment of the charter to answer"),
    "charter_amendment_closed": N_("the end of the amendment of the charter"),
    "phase_opened": N_("the opening of a phase"),
    "phase_closed": N_("the early closing of a phase"),
    "reminder_sent": N_("the reminder"),
    "deadline_escalated": N_("the missed deadline"),
    "conclusion_requested": N_("the request for the conclusion"),
    "deadline_extended": N_("the extension"),
    "plan_submitted": N_("the plan"),
    "decision_reached": N_("the decision"),
    "objection_judged": N_("the judgement of your objection"),
    "answer_delegated": N_("the delegation of an answer"),
    "step_reopened": N_("the reopening of a step"),
    "delegation_ended": N_("the end of a delegation"),
    "outcome_stated": N_("the outcome"),
    "review_scheduled": N_("the date of the review"),
    "review_notice_sent": N_("the review to come"),
    "decision_reviewed": N_("the result of the review"),
    "report_published": N_("the report"),
    "project_closed": N_("the closing"),
    "project_cancelled": N_("the cancellation"),
}
UNKNOWN_MESSAGE = N_("a message")
# The messages that carry a personal link: when one fails, the coordinator sends a new one.
INVITATIONS = frozenset({"project_launched", "participant_invited", "link_resent"})
# Why a message was not delivered, as notifications.py and smtp.py record it (English, in the
# history), by its words before the codes.
DELIVERY_ERRORS = {
    "the mail server refused the address": N_("the mail server refused the address"),
    "the mail server refused the message": N_("the mail server refused the message"),
    "gave up after": N_("not delivered after a day of tries"),
    "webhook: answered": N_("their webhook answered"),
    "webhook: the address was refused": N_("their webhook address was refused"),
}


def delivery_error(t: Texts, error: str) -> str:
    for words_recorded, message in DELIVERY_ERRORS.items():
        if error.startswith(words_recorded):
            rest = error[len(words_recorded) :].lstrip(" :")
            codes = rest if words_recorded != "gave up after" else ""
            return t.gettext(message) + (f" ({codes})" if codes else "")
    return error


# A refusal's message, by its stable code, in the reader's language.
REFUSALS = {
    "wrong_phase": N_("This cannot be done in the project's current phase."),
    "not_allowed": N_("Your role in this project does not allow this action."),
    "not_a_participant": N_("You no longer take part in this project."),
    "stale_token": N_("This link was replaced by a newer one: use the latest link you received."),
    "project_over": N_("The project is over: nothing more can be recorded."),
    "unknown_proposal": N_("This proposal does not exist in the project."),
    "own_proposal": N_("You cannot endorse your own proposal."),
    "objection_unanswered": N_("The plan must answer every objection that sent it back."),
    "unknown_objection": N_("There is no such objection to answer."),
    "reason_required": N_("Say why: a reason is needed."),
    "deadline_not_later": N_("The new deadline must be later than the current one."),
    "deadline_too_far": N_("A deadline can be set at most 5 years ahead."),
    "plan_required": N_("Co-design closes when you submit the plan."),
    "last_of_role": N_("The project needs this role: replace the person instead."),
    "unknown_participant": N_("This participant does not take part in the project."),
    "personal_data": N_("Contact details are kept apart from the project's history."),
    "already_exists": N_("Someone with this identifier already takes part in the project."),
    "phase_too_short": N_("A phase lasts at least an hour (0.05 day)."),
    "same_email": N_("Someone in the project already uses this e-mail address."),
    "webhook_refused": N_(
        "This webhook address cannot be used: it must start with https:// and lead to a public server."
    ),
    "nothing_to_change": N_("Nothing to change: fill in at least one setting."),
    "unknown_indicator": N_("This indicator is not in the adopted plan."),
    "invalid_request": N_("Some of what you typed cannot be accepted: see below."),
    "idempotency_conflict": N_("This form was already sent with other content: reload the page."),
    "temporal_unavailable": N_("Alliance cannot be reached right now: try again in a minute."),
    "no_worker": N_("Alliance cannot record anything right now: try again in a minute."),
    "worker_slow": N_("Alliance is slow to answer right now: try again in a minute."),
    "not_an_approver": N_("This decision is answered by other partners: see who decides above."),
    "approval_required": N_("You answer several approvals at once: choose the one you answer."),
    "unknown_approval": N_("This approval is not part of the current decision."),
    "text_not_written": N_(
        "The facilitator has not yet written the text put to decision: you will be told when it is."
    ),
    "text_required": N_("Write the text put to decision first: the approvers then answer it."),
    "plan_already_set": N_(
        "The text put to this decision is written: a new one comes with the next round."
    ),
    "approvers_empty": N_(
        "Nobody in this project can answer one of the template's approvals: invite someone who can, or choose another template."
    ),
    "unknown_step": N_("This step is not part of the chosen template."),
    "date_past": N_("A pause of the template ends on a date already past: choose a later date."),
    "approver_college": N_(
        "A participant who approves belongs to no college of the process, or to several: each approver is in exactly one."
    ),
    "college_empty": N_(
        "A college of the process has nobody among the participants: invite one of its members, or choose another process."
    ),
    "date_future": N_("The charter was agreed on a day to come: give the day it was agreed."),
    "unknown_file": N_("This charter file was not found: send the file again, then launch."),
    "charter_file_refused": N_(
        "The charter's file must be a PDF, an OpenDocument text or a Word document, up to 10 MB."
    ),
    "charter_file_unavailable": N_(
        "The charter's file cannot be read just now: try again in a few minutes."
    ),
    "already_answered": N_(
        "You have answered the questionnaire already: each partner answers it once."
    ),
    "unknown_term": N_("This term is not in the project's glossary."),
    "term_merged": N_("This term was merged into another: act on that one."),
    "term_exists": N_("The glossary has this term already: propose another definition of it."),
    "unknown_definition": N_("This definition is not one of the term's."),
    "same_term": N_("Choose another term to merge it into."),
    "charter_being_answered": N_(
        "This version of the charter is being answered: a new version follows an objection."
    ),
    "charter_not_published": N_(
        "The facilitator has not yet published the version of the charter to answer."
    ),
    "charter_objection_unanswered": N_(
        "The new version must answer every objection that sent the previous one back."
    ),
    "no_charter_yet": N_("No version of the charter is published yet."),
    "joining_by_consent": N_(
        "The charter in force says an organisation joins once the partners consent: propose it to them below."
    ),
    "joining_by_invitation": N_(
        "No charter in force asks the partners' consent: the coordinator invites a new organisation."
    ),
    "newcomer_is_a_partner": N_(
        "An organisation proposed to the partners joins as a partner; the coordinator invites a facilitator or an observer."
    ),
    "unknown_newcomer": N_("This organisation is no longer waiting for the partners' answer."),
    "already_signed": N_("You already consented to the charter in force."),
    "no_charter_in_force": N_("No charter is in force in this project yet."),
    "step_suspended": N_(
        "The step under way is suspended while the partners answer an amendment of the charter: it resumes once they all have."
    ),
    "amendment_open": N_(
        "An amendment of the charter is being answered: propose the next one once it is closed."
    ),
    "no_amendment_open": N_("No amendment of the charter is waiting for answers."),
    "charter_not_reopened": N_(
        "A charter step is not reopened: its adoption stands. Amend the charter instead."
    ),
    "review_not_reopened": N_(
        "A review is not reopened: its result stands. Set the next review date with the outcome instead."
    ),
    "review_not_open": N_(
        "The review has not opened yet: everyone is told a week before. To open it sooner, bring its date forward with the outcome."
    ),
    "review_open": N_("The review is open: the partners answer it now (keep, amend or end)."),
    "reply_too_late": N_(
        "The e-mail you replied to asked about a step, a round or a version that is over: answer what the project asks now, on your page."
    ),
    "review_with_the_plan": N_(
        "The decision is being amended: the amended plan's review date comes with it."
    ),
    "nothing_to_review": N_(
        "No decision is adopted yet: its review date comes with the plan, or with the outcome once adopted."
    ),
    "no_review_step": N_(
        "This project's process has no review step after this one: a review date would never be used."
    ),
    "review_date_past": N_("This review date is already past: choose a later one."),
    "review_date_too_far": N_("A review date is at most 5 years ahead."),
    "judgements_not_in_these_rules": N_(
        "This project was launched before objections were judged: under its rules every objection blocks."
    ),
    "nothing_to_reopen": N_(
        "Only a step you closed by hand before its deadline can be reopened, as long as nobody has acted in the step that followed."
    ),
    "reopen_window_passed": N_("This step was closed too long ago to be reopened."),
    "step_has_a_date": N_("This pause lasts until a date, not for a duration."),
    "step_already_opened": N_(
        "This step has opened already: extend its deadline instead of changing its duration."
    ),
    "not_the_author": N_("Only its author withdraws a proposal."),
    "proposal_withdrawn": N_("This proposal was withdrawn by its author: choose others."),
    "unknown_delegate": N_("Choose another partner of the project to answer for you."),
    "no_decision_open": N_("No decision is open: delegate for a period, until a date."),
    "delegation_chain": N_(
        "A delegation is never passed on: a partner who answers for another does not delegate, and one who delegated does not answer for others."
    ),
    "already_delegated": N_("You delegated your answer already: revoke that delegation first."),
    "too_many_delegations": N_(
        "This partner answers for as many partners as one may already: choose another."
    ),
    "unknown_delegation": N_("You have no delegation in force with this identifier."),
    "delegation_used": N_(
        "Your delegate has answered for you in this decision: the delegation stays; answer yourself to change it."
    ),
    "not_under_consent": N_(
        "Objections are judged under consent only: under this rule every answer counts as given."
    ),
    "no_such_objection": N_("This partner has no objection standing in this decision."),
    "charter_step_open": N_(
        "The charter step is open: its next version is written there, not as an amendment."
    ),
    "changes_required": N_("Say what changes from the previous version, one line each."),
    "unknown_section": N_("This section is not one of the charter's."),
}
UNKNOWN_REFUSAL = N_("This action was refused.")

# The facilitator's judgement of an objection, and the questions it answers with it.
JUDGEMENTS = {
    "valid": N_("Valid: the proposal must change (it blocks)"),
    "concern": N_("A concern: recorded and checked at the evaluation (it does not block)"),
}
JUDGEMENT_QUESTIONS = {
    "harm": N_("Would the proposal cause harm, or move the group backwards?"),
    "known": N_("Is that harm known (rather than only anticipated)?"),
    "safe_to_try": N_("Is it safe enough to try, with a review?"),
}

# A field's error, by pydantic's error type.
FIELD_ERRORS = {
    "missing": N_("This field is required."),
    "value_error": N_("This field is empty: write something."),
    "string_too_long": N_("This text is too long: %(max_length)s characters at most."),
    "too_long": N_("Too many: %(max_length)s at most."),
    "greater_than_equal": N_("Give a number of at least %(ge)s."),
    "less_than_equal": N_("Give a number of at most %(le)s."),
    "float_parsing": N_("Give a number, such as 14 or 0,5."),
    "string_pattern_mismatch": N_("This is not in the expected form."),
    "enum": N_("Choose one of the options."),
    "timezone_aware": N_("Give a date and time."),
    "datetime_from_date_parsing": N_("Give a date and time."),
    "datetime_parsing": N_("Give a date and time."),
    "date_type": N_("Give a date."),
    "date_parsing": N_("Give a date."),
    "date_from_datetime_parsing": N_("Give a date."),
    "int_parsing": N_("Choose one of the options."),
    "time_zone": N_(
        "Unknown time zone: choose one in the list, or type a name such as Europe/Brussels."
    ),
    "proposal_ids_empty": N_("Choose at least one proposal."),
    "scores_empty": N_("Give a score to at least one indicator."),
}
# The launch form's own refusals, by the code of domain.commands.LaunchFields' errors.
LAUNCH_ERRORS = {
    "same_email": N_(
        "Rows %(first)s and %(second)s have the same e-mail address: one person takes part once."
    ),
    "no_facilitator": N_("The project needs a facilitator: give one row that role."),
    "charter_text_or_file": N_(
        "Give the agreed charter's file or its text, one of the two (or untick the box)."
    ),
    "no_coordinator": N_("The project needs a coordinator: give one row that role."),
    "no_voter": N_("The project needs at least one partner to decide."),
    "duration_too_long": N_("A phase lasts at most 5 years."),
    "quorum": N_("Give a share between 0 and 100 %."),
}
UNKNOWN_FIELD_ERROR = N_("This value cannot be accepted.")


def refusal(t: Texts, code: str) -> str:
    return t.gettext(REFUSALS.get(code, UNKNOWN_REFUSAL))


def timeline(t: Texts, view: ProjectView, events: list[ev.Event]) -> list[tuple[str, str]]:
    """(when, what) for each event a participant cares about, newest first."""
    names = {p.id: p.organisation_name for p in view.participants}
    proposals = {p.id: p.title for p in view.proposals}
    steps = {s.id: s for s in view.steps}
    terms = {term.id: term.term for term in view.glossary}
    lines = []
    for event in events:
        text = sentence(t, event.data, names, proposals, event.actor, steps, terms)
        if text:
            lines.append((t.moment(event.at), text))
    return lines[::-1]


def sentence(
    t: Texts,
    data: ev.EventData,
    names: dict[str, str],
    proposals: dict[str, str],
    actor: str,
    steps: dict[str, Any] | None = None,
    terms: dict[str, str] | None = None,
) -> str | None:
    """One event in words; `steps` (the view's, by id) names a template's own steps."""
    _ = t.gettext

    def who(pid: str) -> str:
        return names.get(pid, pid)

    def phase_said(phase: str, named: str | None = None) -> str:
        step = (steps or {}).get(named or phase)
        if step is not None and named_apart(step):
            return _("“%(name)s”", name=step.name.said_in(t.language))
        return _(PHASES[phase])

    match data:
        case ev.ProjectLaunched():
            return _("%(who)s launched the project", who=who(actor))
        case ev.ParticipantInvited(participant=p):
            return _("%(who)s joined the project as %(role)s", who=p.organisation_name,
                     role=_(ROLES[p.role]))  # fmt: skip
        case ev.ParticipantRemoved(participant_id=pid, reason=reason, left=True):
            return _("%(who)s left the project: %(reason)s", who=who(pid), reason=reason)
        case ev.ParticipantRemoved(participant_id=pid):
            return _("%(who)s no longer takes part", who=who(pid))
        case ev.PhaseOpened(phase=phase, round=round_, deadline=deadline, step=named):
            if round_ <= 1:
                return _("The %(phase)s phase opened, until %(deadline)s",
                         phase=phase_said(phase, named), deadline=t.moment(deadline))  # fmt: skip
            return _("The %(phase)s phase opened for %(round)s, until %(deadline)s",
                     phase=phase_said(phase, named), round=round_name(t, round_),
                     deadline=t.moment(deadline))  # fmt: skip
        case ev.PhaseClosed(phase=phase, cause=cause, step=named):
            if cause == "deadline":
                return _("The %(phase)s phase closed at its deadline",
                         phase=phase_said(phase, named))  # fmt: skip
            return _("The %(phase)s phase closed: %(cause)s", phase=phase_said(phase, named),
                     cause=closing(t, phase, cause))  # fmt: skip
        case ev.ContributionAdded(contribution=c):
            return _("%(who)s contributed to the diagnosis", who=who(c.participant_id))
        case ev.ProposalSubmitted(proposal=p):
            return _("%(who)s proposed “%(title)s”", who=who(p.author_id), title=p.title)
        case ev.ProposalAmended(proposal_id=prop, participant_id=pid):
            return _("%(who)s amended “%(title)s”", who=who(pid), title=proposals.get(prop, prop))
        case ev.ProposalEndorsed(proposal_id=prop, participant_id=pid):
            return _("%(who)s endorsed “%(title)s”", who=who(pid), title=proposals.get(prop, prop))
        case ev.PlanSubmitted(plan=plan, answers_open=True):
            return _("The facilitator wrote the text put to decision (%(round)s)",
                     round=round_name(t, plan.round))  # fmt: skip
        case ev.PlanSubmitted(plan=plan):
            return _("The facilitator put the plan of %(round)s to decision",
                     round=round_name(t, plan.round))  # fmt: skip
        case ev.AnswerGiven(participant_id=pid, by=by) if by:
            return _("%(who)s answered for %(for)s, who had delegated its answer", who=who(by),
                     **{"for": who(pid)})  # fmt: skip
        case ev.AnswerGiven(participant_id=pid, kind=kind, mail=mail) if mail is not None:
            said = {
                "consent": _("%(who)s consented, replying to the e-mail", who=who(pid)),
                "object": _("%(who)s objected, replying to the e-mail", who=who(pid)),
                "abstain": _("%(who)s abstained, replying to the e-mail", who=who(pid)),
            }[kind]
            return (
                said if mail.signed else _("%(said)s (a reply its domain did not sign)", said=said)
            )
        case ev.AnswerGiven(participant_id=pid, kind=kind):
            return {
                "consent": _("%(who)s consented", who=who(pid)),
                "object": _("%(who)s objected", who=who(pid)),
                "abstain": _("%(who)s abstained", who=who(pid)),
            }[kind]
        case ev.DecisionReached(round=round_, outcome=outcome, step=named) if named:
            return _("Decision of %(round)s, %(step)s: %(outcome)s", round=round_name(t, round_),
                     step=phase_said("decision", named), outcome=_(OUTCOMES[outcome]))  # fmt: skip
        case ev.DecisionReached(round=round_, outcome=outcome):
            return _("Decision of %(round)s: %(outcome)s", round=round_name(t, round_),
                     outcome=_(OUTCOMES[outcome]))  # fmt: skip
        case ev.StepReopened(phase=phase, step=named, reason=reason):
            return _("The facilitator reopened the %(phase)s phase: %(reason)s",
                     phase=phase_said(phase, named), reason=reason)  # fmt: skip
        case ev.ProjectEdited(reason=reason):
            return _("The coordinator changed the project: %(reason)s", reason=reason)
        case ev.ProposalWithdrawn(proposal_id=prop, participant_id=pid):
            return _("%(who)s withdrew “%(title)s”", who=who(pid), title=proposals.get(prop, prop))
        case ev.AnswerDelegated(delegation=d):
            return _("%(who)s delegated its answer to %(delegate)s", who=who(d.delegator),
                     delegate=who(d.delegate))  # fmt: skip
        case ev.DelegationEnded(why="revoked", participant_id=pid):
            return _("%(who)s revoked its delegation", who=who(pid))
        case ev.DelegationEnded(participant_id=pid):
            return _("A delegation ended, %(who)s having left", who=who(pid))
        case ev.ObjectionJudged(participant_id=pid, judgement=j) if j.judgement == "concern":
            return _("The facilitator judged the objection of %(who)s a concern: it does not block",
                     who=who(pid))  # fmt: skip
        case ev.ObjectionJudged(participant_id=pid):
            return _("The facilitator judged the objection of %(who)s valid: it blocks",
                     who=who(pid))  # fmt: skip
        case ev.OutcomeStated(review_on=review_on) if review_on is not None:
            return _("The facilitator stated the outcome; the decision will be reviewed on %(date)s",
                     date=t.moment(review_on))  # fmt: skip
        case ev.OutcomeStated():
            return _("The facilitator stated the outcome")
        case ev.ReviewScheduled(opens_at=opens_at):
            return _("The decision will be reviewed on %(date)s: the project waits for it",
                     date=t.moment(opens_at))  # fmt: skip
        case ev.ReviewNoticeSent(opens_at=opens_at):
            return _("Everyone was told that the review opens on %(date)s",
                     date=t.moment(opens_at))  # fmt: skip
        case ev.ReviewAnswered(participant_id=pid, choice=choice):
            return {
                "keep": _("%(who)s would keep the decision", who=who(pid)),
                "amend": _("%(who)s would amend the decision", who=who(pid)),
                "end": _("%(who)s would end the decision", who=who(pid)),
            }[choice]
        case ev.AmendmentDropped():
            return _("The amendment was not adopted: the decision in force stays")
        case ev.DecisionReviewed(outcome=outcome, quorum_met=False):
            return _("Review: too few answers, the decision stays as it is")
        case ev.DecisionReviewed(outcome=outcome):
            return {
                "keep": _("Review: the partners keep the decision"),
                "amend": _("Review: the partners amend the decision, back to co-design"),
                "end": _("Review: the partners end the decision"),
            }[outcome]
        case ev.ConclusionRequested():
            return _(
                "Every partner assessed the results: the facilitator is asked for the conclusion"
            )
        case ev.DeadlineExtended(deadline=deadline, reason=reason):
            return _("The deadline was moved to %(deadline)s: %(reason)s",
                     deadline=t.moment(deadline), reason=reason)  # fmt: skip
        case ev.ReminderSent(recipients=recipients) if recipients:
            return _("A reminder went to those who had not acted")
        case ev.DeadlineEscalated():
            return _("The deadline passed; the facilitator was told who had not acted")
        case ev.ProgressNoted(participant_id=pid):
            return _("%(who)s noted progress", who=who(pid))
        case ev.CharterPublished(version=version):
            return _("The facilitator published version %(number)s of the charter",
                     number=version.number)  # fmt: skip
        case ev.CharterNoted(note=note) if note.wording:
            return _("%(who)s proposed a new wording of “%(section)s”", who=who(note.participant_id),
                     section=_(CHARTER_SECTION_TITLES.get(note.section, note.section)))  # fmt: skip
        case ev.CharterNoted(note=note):
            return _("%(who)s commented on “%(section)s”", who=who(note.participant_id),
                     section=_(CHARTER_SECTION_TITLES.get(note.section, note.section)))  # fmt: skip
        case ev.CharterReviewed(version=number):
            return _("Version %(number)s of the charter was sent back by an objection",
                     number=number)  # fmt: skip
        case ev.CharterAdopted(version=number):
            return _("The charter (version %(number)s) was adopted by the consent of every partner",
                     number=number)  # fmt: skip
        case ev.CharterSigned(participant_id=pid):
            return _("%(who)s consented to the charter in force", who=who(pid))
        case ev.CharterAmendmentProposed(version=version):
            return _("The facilitator proposed an amendment of the charter (version %(number)s); "
                     "the step under way is suspended meanwhile", number=version.number)  # fmt: skip
        case ev.CharterAmendmentAnswered(participant_id=pid, kind=kind):
            if kind == "object":
                return _("%(who)s objected to the amendment of the charter", who=who(pid))
            return _("%(who)s consented to the amendment of the charter", who=who(pid))
        case ev.CharterAmendmentClosed(version=number, adopted=True):
            return _("The amendment of the charter (version %(number)s) was adopted by the "
                     "consent of every partner; the step under way resumes", number=number)  # fmt: skip
        case ev.CharterAmendmentClosed(version=number):
            return _("The amendment of the charter (version %(number)s) was not adopted: the "
                     "charter in force stays; the step under way resumes", number=number)  # fmt: skip
        case ev.NewcomerProposed(newcomer=p, proposed_by=by):
            return _("%(who)s proposed that %(newcomer)s join the partnership", who=who(by),
                     newcomer=p.organisation_name)  # fmt: skip
        case ev.NewcomerAnswered(participant_id=pid, kind=kind) if kind == "object":
            return _("%(who)s objected to a newcomer", who=who(pid))
        case ev.NewcomerRefused():
            return _("An organisation proposed to join was refused")
        case ev.TermProposed(participant_id=pid, term=word):
            return _("%(who)s proposed the term “%(term)s” for the glossary", who=who(pid),
                     term=word)  # fmt: skip
        case ev.TermValidated(term_id=tid):
            return _("The facilitator validated the definition of “%(term)s”",
                     term=(terms or {}).get(tid, tid))  # fmt: skip
        case ev.AssessmentGiven(participant_id=pid):
            return _("%(who)s assessed the results", who=who(pid))
        case ev.ReportPublished():
            return _("The final report was published")
        case ev.ProjectClosed(outcome=outcome):
            return _("The project closed: %(outcome)s", outcome=_(PROJECT_OUTCOMES[outcome]))
        case ev.ProjectCancelled(reason=reason):
            return _("The project was cancelled: %(reason)s", reason=reason)
    return None


def expected_of(t: Texts, view: ProjectView, me: Participant) -> str:
    """What is expected of this participant now, and by when."""
    _ = t.gettext
    if view.amendment is not None:
        by = t.moment(view.amendment.until)
        if me.id in view.amendment_pending:
            return _(
                "An amendment of the charter waits for your answer, by %(by)s, on the charter's page: the step under way is suspended until every partner answered.",
                by=by,
            )
        return _(
            "The partners answer an amendment of the charter until %(by)s: the step under way is suspended meanwhile.",
            by=by,
        )
    concluding = view.rules_version >= 2 and view.phase == "evaluation" and view.phase_open
    if concluding and me.role == "facilitator" and view.deadline is not None:
        by = t.moment(view.deadline)
        if me.id in view.pending:
            return _(
                "Every partner has assessed the results: your conclusion is expected by %(by)s. It closes the evaluation.",
                by=by,
            )
        if not any(s.conclusion for s in view.statements):
            return _(
                "The partners are assessing the results: once they all have, your conclusion is expected, by %(by)s at the latest.",
                by=by,
            )
    if me.id in view.charter_to_sign:
        return _(
            "The charter in force asks your consent: read it on its page, then say that you consent to it."
        )
    if me.role == "partner" and any(
        n.status == "proposed" and me.id not in n.answers for n in view.newcomers
    ):
        return _("An organisation proposed to join waits for your answer, below.")
    if view.review_waiting and view.deadline is not None:
        return _(
            "Nothing is expected of you until the review of the decision, on %(when)s: everyone is told a week before.",
            when=t.moment(view.deadline),
        )
    if me.id not in view.pending or view.deadline is None:
        return _("Nothing is expected of you right now.")
    by = t.moment(view.deadline)
    if view.phase == "charter":
        if view.charter_awaiting and view.charter.versions:
            return _(
                "The next version of the charter, answering each objection, is expected from you by %(by)s.",
                by=by,
            )
        if view.charter_awaiting:
            return _("The first version of the charter is expected from you by %(by)s.", by=by)
        return _("Your answer to the charter is expected by %(by)s.", by=by)
    if view.phase == "decision" and me.role == "facilitator" and view.plan is not None:
        return _(
            "Each objection waits for your judgement, by %(by)s: valid, it blocks; a concern, it does not. The decision closes once each is judged.",
            by=by,
        )
    if view.phase == "decision" and view.plan is None:
        # A decision with no co-design before it: its text comes first.
        return _("The text put to this decision is expected from you by %(by)s.", by=by)
    return {
        "diagnosis": _("Your contribution to the diagnosis is expected by %(by)s.", by=by),
        "co_design": _("The consolidated plan is expected from you by %(by)s.", by=by),
        "decision": _("Your answer is expected by %(by)s.", by=by),
        "evaluation": _("Your assessment of the results is expected by %(by)s.", by=by),
        "review": _(
            "Your answer to the review of the decision (keep, amend or end) is expected by %(by)s.",
            by=by,
        ),
    }.get(view.phase, _("Nothing is expected of you right now."))


# The partnership charter's sections (domain.models.CHARTER_SECTIONS), as headings.
CHARTER_SECTION_TITLES = {
    "purpose": N_("Purpose of the partnership"),
    "partners": N_("The partners and the role of each"),
    "commitments": N_("Each one's commitments (time, resources, data)"),
    "governance": N_("Governance: what is decided together, how, who facilitates"),
    "confidentiality": N_("Confidentiality, use of names and logos"),
    "communication": N_("Communication"),
    "membership": N_("Joining and leaving the partnership"),
    "amendment": N_("Amending this charter"),
}


# -- process templates on the console's pages --------------------------------------------------

# What is wrong with a template, by the code of domain.templates.Problem (the English `message`
# is the JSON API's). Placeholders are the problem's params.
TEMPLATE_PROBLEMS = {
    "not_a_template": N_("This is not a template: a template has an identifier, a name and steps."),
    "unknown_kind": N_(
        "Unknown kind “%(kind)s”: a step is a shared diagnosis, a co-design, a decision, an implementation, an evaluation, a partnership charter, a pause or a decision review."
    ),
    "invalid_field": N_("This value is not in the expected form."),
    "unknown_field": N_("Unknown field “%(name)s”: check its spelling, or remove it."),
    "name_required": N_("Give a name in French."),
    "too_long": N_("This text is too long: %(limit)s characters at most."),
    "wait_needs_one_end": N_(
        "A pause lasts a number of days or until a date: give one of the two."
    ),
    "until_needs_time_zone": N_(
        "Give the date with its time zone, for example 2027-01-15T09:00:00+01:00."
    ),
    "duration_required": N_("Give the step's duration."),
    "duration_out_of_bounds": N_(
        "A step lasts more than 0 days and at most 5 years (only an implementation may last 0: it is then skipped)."
    ),
    "too_many_reminders": N_("At most 10 reminders in one step."),
    "reminder_out_of_bounds": N_(
        "A reminder comes before the deadline: more than 0 days before it, and less than the step lasts."
    ),
    "no_approval": N_(
        "A decision step needs at least one approval: say who approves, and by which rule."
    ),
    "too_many_approvals": N_("At most 5 approvals in one step."),
    "invalid_id": N_("An identifier is made of letters, digits and . _ : - (64 at most)."),
    "duplicate_approval": N_("Two approvals have the same identifier: give each its own."),
    "no_approvers": N_(
        "Say who approves: the partners, the facilitator, or the partners of some kinds of organisation."
    ),
    "role_cannot_approve": N_("Only the partners and the facilitator approve."),
    "quorum_out_of_bounds": N_("The quorum is a share between 0 and 1 (0.5: half the approvers)."),
    "invalid_template_id": N_(
        "A template's identifier is made of lower-case letters, digits and dashes (64 at most), for example budget-2027."
    ),
    "invalid_version": N_("Versions are numbered from 1."),
    "no_steps": N_("A template has at least one step."),
    "too_many_steps": N_("At most 30 steps in a template."),
    "no_decision": N_("A template has at least one decision step: the partners decide something."),
    "duplicate_step": N_("Two steps have the identifier “%(id)s”: give each its own."),
    "date_past": N_("This date is already past: a pause lasts until a later date."),
    "until_only_for_wait": N_("Only a pause lasts until a date."),
    "review_without_decision": N_(
        "A review looks at an adopted decision again: put a decision step before it."
    ),
    "review_needs_after": N_(
        "Say how many days after the adoption the review opens (the plan or the outcome may set another date)."
    ),
    "after_out_of_bounds": N_(
        "A review opens more than 0 days and at most 5 years after the adoption."
    ),
    "amend_to_not_before": N_(
        "To amend, the project goes back to “%(target)s”: name a co-design or decision step before the review."
    ),
    "one_review_approval": N_("A review has one approval at most: who answers it, by which rule."),
    "review_one_voice": N_("A review counts one voice per partner: remove the colleges."),
    "only_for_review": N_("Only a review step has this field (%(name)s)."),
    "loop_to_missing_step": N_(
        "When not adopted, the project goes back to “%(target)s”, which is no step of this template."
    ),
    "loop_forward": N_(
        "When not adopted, the project goes back to “%(target)s”, which comes later: choose an earlier step, or this one."
    ),
    "rounds_out_of_bounds": N_("Give a number of rounds between 1 and 20."),
    "approvals_only_for_decision": N_("Only a decision step has approvals."),
    "loop_only_for_decision": N_("Only a decision step goes back when not adopted."),
    "evaluation_without_plan": N_(
        "An evaluation scores an adopted plan: put a decision step before it."
    ),
    "plan_never_decided": N_(
        "The plan of a co-design is put to a decision: put a decision step after it."
    ),
    "colleges_need_majority": N_(
        "Colleges weigh a majority vote: under consent or consensus each partner is one voice. Set the rule to majority, or remove the colleges."
    ),
    "unknown_preset": N_("The only preset of colleges is scic."),
    "no_colleges": N_("The SCIC preset needs colleges."),
    "invalid_college": N_("Each college has an identifier of its own."),
    "no_college_members": N_(
        "This college names no members: give kinds of organisation, roles or participants."
    ),
    "invalid_weight": N_(
        "A college's weight is a whole percentage (40) or an exact fraction (1/3)."
    ),
    "weights_sum": N_("The colleges' weights sum to %(total)s %%: they must sum to 100 %%."),
    "scic_bounds": N_(
        "In a SCIC no college holds more than half of the votes, nor less than a tenth."
    ),
    "approver_college": N_(
        "An approver of this approval belongs to no college, or to several: each approver is in exactly one."
    ),
    "college_empty": N_(
        "A college of this approval has nobody among the participants: invite one of its members, or change the colleges."
    ),
    "unknown_approver": N_("This approval names participants who take no part in this project."),
    "approvers_empty": N_(
        "Nobody in this project can answer this approval: invite someone who can, or choose another process."
    ),
    "yaml_alias": N_(
        "Line %(line)s: aliases (*name) are not accepted in a template: write the value out."
    ),
    "document_too_large": N_("A template weighs at most %(limit)s KB."),
    "not_utf8": N_("The file is not UTF-8 text: save it as UTF-8."),
    "yaml_unreadable": N_(
        "Line %(line)s: this is not readable YAML (check the indentation and the colons)."
    ),
    "too_deep": N_("The document nests too deeply to be a template."),
    "charter_loops_to_itself": N_("A charter not adopted goes back to itself, for a new version."),
}
UNKNOWN_TEMPLATE_PROBLEM = N_("Something in this template cannot be accepted.")
# A template's fields, by their path in the document (a problem names the one to change).
TEMPLATE_FIELDS = {
    "id": N_("identifier"),
    "version": N_("version"),
    "name": N_("name"),
    "name.fr": N_("name in French"),
    "name.en": N_("name in English"),
    "description": N_("description"),
    "description.fr": N_("description in French"),
    "description.en": N_("description in English"),
    "steps": N_("steps"),
    "kind": N_("kind"),
    "duration": N_("duration"),
    "until": N_("end date"),
    "reminders": N_("reminders"),
    "close_when_complete": N_("early closing"),
    "approvals": N_("approvals"),
    "approvers": N_("who approves"),
    "rule": N_("rule"),
    "quorum": N_("quorum"),
    "completion": N_("how the approvals make the decision"),
    "if_not_adopted": N_("when not adopted"),
    "if_not_adopted.to": N_("step to go back to"),
    "if_not_adopted.max_rounds": N_("most rounds"),
}
# How a decision step's approvals make its result (Completion).
COMPLETIONS = {
    "all": N_("adopted when every approval is"),
    "any": N_("adopted as soon as one approval is"),
}
# When a step closes before its deadline (close_when_complete), by its kind.
EARLY_STEP_CLOSINGS = {
    "diagnosis": N_("Closes as soon as every partner has contributed"),
    "decision": N_("Closes as soon as everyone who decides has answered"),
    "evaluation": N_(
        "Closes as soon as every partner has assessed and the facilitator has concluded"
    ),
    "review": N_("Closes as soon as everyone who reviews has answered"),
}
# A launch refused for its template, by the JSON API's code.
LAUNCH_TEMPLATE_REFUSALS = {
    "unknown_template": N_("This process is no longer offered: choose another one."),
}


# The cooperation questionnaire (domain/cooperation.py): each question as a partner reads it,
# answered from 1 (not at all) to 5 (fully).
COOPERATION_QUESTIONS = {
    "roles": N_("The role of each partner was clear"),
    "constraints": N_("Each partner's constraints were respected"),
    "language": N_("We built a common language"),
    "decisions": N_("Decisions were really taken together"),
    "neutrality": N_("The facilitator stayed neutral"),
    "again": N_("I would work with these partners again"),
}
COOPERATION_SCALE = {
    1: N_("1: not at all"),
    2: N_("2: a little"),
    3: N_("3: partly"),
    4: N_("4: mostly"),
    5: N_("5: fully"),
}
