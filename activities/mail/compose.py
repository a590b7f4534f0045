"""What one notification says to one person, in their language and time zone: the subject,
the text and HTML parts, their personal link, and the calendar entry it opens, moves or
withdraws. Pure: no I/O, so every message can be checked without a mail server.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from typing import Any

from icalendar import Calendar, vCalAddress, vText
from icalendar import Event as CalendarEvent
from jinja2 import Environment, PackageLoader, select_autoescape

from activities.notifications import Notification, Recipient
from domain.models import Approvers, Tally
from texts import words
from texts.i18n import Texts, texts

N_ = words.N_

TEMPLATES = Environment(
    loader=PackageLoader("activities.mail", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    # Templates ship with the code: checking their files' dates before every render was a
    # quarter of composing a message (py-spy).
    auto_reload=False,
)

# Control characters other than newline and tab never reach a message (nor a header).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A calendar entry marks the deadline: half an hour ending at it, shown free (not busy).
DEADLINE_SLOT = timedelta(minutes=30)
ANSWER_KINDS = ("consent", "object", "abstain")


def clean(text: str) -> str:
    return _CONTROL.sub("", text)


_BREAKS = re.compile(r"[ \t\r\n\f\v\u2028\u2029]+")


def one_line(text: str) -> str:
    # Line breaks and runs of spaces become one space; no-break spaces (« : ») stay.
    return _BREAKS.sub(" ", clean(text)).strip()


@dataclass(frozen=True)
class Sender:
    """Who the messages come from and where links point (settings)."""

    address: str  # "Alliance <alliance@example.org>"
    public_url: str  # the pages' base URL, e.g. https://alliance.example.org

    @property
    def email(self) -> str:
        return parseaddr(self.address)[1]

    @property
    def name(self) -> str:
        return parseaddr(self.address)[0] or "Alliance"

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2] or "alliance.invalid"


@dataclass
class Letter:
    """A message's content in the reader's words, before it is rendered."""

    subject: str
    paragraphs: list[str]
    why: str
    quote: str = ""
    button: tuple[str, str] | None = None  # (label, address)
    answers: list[tuple[str, str, str]] = field(default_factory=list)  # (label, hint, address)
    # The one-click way to fewer messages (RFC 8058), for a project's messages.
    unsubscribe: str | None = None
    # A digest's news: (title, what it says), oldest first.
    items: list[tuple[str, str]] = field(default_factory=list)
    calendar: str | None = None  # REQUEST or CANCEL
    calendar_title: str = ""
    deadline: datetime | None = None
    # The address a reply goes to when the mail asks one answer (inbound/): "reponse+…@…".
    reply_to: str | None = None
    # Further news told in the same message (since 1.3): each as its own section, under its
    # heading (its subject without the project's tag).
    also: list[Letter] = field(default_factory=list)
    heading: str = ""


def message_id(key: str, sender: Sender) -> str:
    """The same for every attempt of one message, so a receiver can drop a repeat (a crash
    between sending and recording it); opaque, so it names no one."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"<{digest}@{sender.domain}>"


def _phase(t: Texts, phase: str, facts: dict[str, str] | None = None) -> str:
    """A step's name for a subject or a heading: the template's own when it names the step
    (appel-a-projets' "Approbation du budget"), or its kind's words."""
    named = _step_name(t, facts or {})
    if named:
        return named[:1].upper() + named[1:]
    name = t.gettext(words.PHASES.get(phase, phase))
    return name[:1].upper() + name[1:]


def _step_name(t: Texts, facts: dict[str, str]) -> str:
    if not facts.get("step_fr"):
        return ""
    return (facts.get("step_en") if t.language == "en" else "") or facts["step_fr"]


def _in_sentence(t: Texts, phase: str, facts: dict[str, str]) -> str:
    """A step's name inside a sentence ("la phase « Approbation du budget »"), or its kind's
    words ("la phase de décision")."""
    named = _step_name(t, facts)
    if named:
        return t.gettext("“%(name)s”", name=named)
    return t.gettext(words.PHASES.get(phase, phase))


def _when(value: str) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


ASKS = {
    # What a phase asks of those it waits for, by when: for subjects and reminders.
    "diagnosis": N_("your contributions are expected before %(day)s"),
    "co_design": N_("the plan is expected from you before %(day)s"),
    "decision": N_("your answer is expected before %(day)s"),
    "evaluation": N_("your assessment is expected before %(day)s"),
    # The facilitator's, in an evaluation with nothing to score (rules 2).
    "conclusion": N_("your conclusion is expected before %(day)s"),
    # The facilitator's, in a decision with no co-design before it.
    "text": N_("the text put to decision is expected from you before %(day)s"),
    "charter": N_("your answer to the charter is expected before %(day)s"),
    "review": N_("your answer to the review is expected before %(day)s"),
    # The facilitator's, while the charter step waits for its next version.
    "charter_version": N_("the charter's next version is expected from you before %(day)s"),
}
ASKS_IN_FULL = {
    "diagnosis": N_(
        "Share what your organisation knows of the territory: needs, resources, observations and constraints."
    ),
    "co_design": N_(
        "Gather the partners' proposals into one plan and submit it to decision: the decision phase opens then."
    ),
    "decision": N_(
        "Read the plan and give your answer: consent, objection (with your reason) or abstention. You can change it until the decision closes."
    ),
    "evaluation": N_("Assess the results of the adopted plan against its indicators."),
    "conclusion": N_(
        "Write the conclusion of the project on your page: the evaluation closes when you publish it, and the final report carries it."
    ),
    "text": N_(
        "Write on your page the text the partners will decide on: its approvers answer it once you publish it."
    ),
    "charter": N_(
        "Read the charter on its page, comment on a section or propose a new wording if you wish, then give your answer: consent, objection (with your reason) or abstention. It is adopted by the consent of every partner."
    ),
    "charter_version": N_(
        "Write the partnership charter on its page, section by section, from the model it offers (or the previous version, answering each objection): the partners answer it once you publish it."
    ),
    "review": N_(
        "The decision adopted comes up for review: say on your page whether to keep it as it is, amend it (the project goes back to co-design, the plan in force as the first draft) or end it, with your reason to amend or end."
    ),
}
OTHERS_DO = {
    # What a phase is about, for those it does not wait for.
    "diagnosis": N_("The partners share needs, resources, observations and constraints."),
    "co_design": N_(
        "Propose actions or endorse the proposals of others on your page; the facilitator then submits a plan to decision."
    ),
    "decision": N_("The partners answer the plan: consent, objection or abstention."),
    "review": N_("The partners say whether to keep, amend or end the decision adopted."),
    "action": N_("The partners carry out the adopted plan and note its progress on their pages."),
    "evaluation": N_("The partners assess the results against the plan's indicators."),
    "charter": N_(
        "The facilitator writes the partnership charter; everyone taking part comments on it on its page, and the partners answer it."
    ),
}


def letter_for(
    notification: Notification, recipient: Recipient, link: str | None, t: Texts
) -> Letter:
    """What this notification says to this recipient."""
    _ = t.gettext
    facts = notification.facts
    title = one_line(notification.project_title)
    tag = f"[{title}]"
    me = recipient.participant_id
    organisation = one_line(recipient.organisation_name)
    role = _(words.ROLES.get(recipient.role.value, recipient.role.value))
    why = _(
        "You receive this message because you represent %(organisation)s as %(role)s in the project “%(title)s”.",
        organisation=organisation,
        role=role,
        title=title,
    )
    page = (_("Open my project page"), link) if link else None
    phase = facts.get("phase", "")
    deadline = _when(facts.get("deadline", ""))
    day = t.day(deadline)
    # How the project ended, said of the project ("décision adoptée", "projet annulé").
    ended = words.PROJECT_OUTCOMES.get(facts.get("outcome", ""))
    outcome = _(ended) if ended else ""
    kind = notification.kind
    if kind == "digest":
        return _digest(notification, recipient, link, t, why, page)
    match kind:
        case "project_launched" | "participant_invited":
            paragraphs = [
                _(
                    "The project “%(title)s” is built together by several organisations, with a facilitator who keeps the process fair. You take part in it as %(role)s for %(organisation)s.",
                    title=title,
                    role=role,
                    organisation=organisation,
                )
            ]
            if facts.get("territory"):
                paragraphs.append(
                    _("Territory: %(territory)s.", territory=one_line(facts["territory"]))
                )
            if facts.get("replaces"):
                paragraphs.append(_("You take over from %(who)s.", who=one_line(facts["replaces"])))
            paragraphs.append(
                _(
                    "Your page says what is expected of you and by when. The link below is personal: it lets you act for %(organisation)s without a password, so do not pass it on.",
                    organisation=organisation,
                )
            )
            return Letter(_("%(tag)s You are invited to take part in the project", tag=tag),
                          paragraphs, why, button=page)  # fmt: skip
        case "link_resent" | "link_requested":
            first = (
                _("You asked for your personal link to the project: here it is.")
                if kind == "link_requested"
                else _(
                    "Here is your new personal link to the project. The previous link no longer works."
                )
            )
            return Letter(
                _("%(tag)s Your personal link", tag=tag),
                [
                    first,
                    _(
                        "It lets you act for %(organisation)s without a password: do not pass it on.",
                        organisation=organisation,
                    ),
                ],  # fmt: skip
                why,
                button=page,
            )
        case "participant_left":
            return Letter(
                _("%(tag)s %(who)s left the project", tag=tag, who=one_line(facts.get("who", ""))),
                [
                    _(
                        "%(who)s left the project. Nothing more is expected of it: its answers in an open decision no longer count, and the quorum counts without it. Its reason:",
                        who=one_line(facts.get("who", "")),
                    )
                ],
                why,
                quote=clean(facts.get("reason", "")),
                button=page,
            )
        case "participant_removed":
            why = _(
                "You receive this message because you represented %(organisation)s in the project “%(title)s”.",
                organisation=organisation,
                title=title,
            )
            return Letter(
                _("%(tag)s You no longer take part in the project", tag=tag),
                [
                    _(
                        "%(organisation)s no longer takes part in the project, and your personal link no longer works.",
                        organisation=organisation,
                    )
                ],  # fmt: skip
                why,
                quote=clean(facts.get("reason", "")),
            )
        case "phase_opened":
            expected = me in facts.get("expected", "").split(",")
            round_ = int(facts.get("round", "1") or 1)
            opened = (
                _(
                    "The %(phase)s phase is open until %(moment)s.",
                    phase=_in_sentence(t, phase, facts),
                    moment=t.moment(deadline),
                )  # fmt: skip
                if round_ <= 1
                else _(
                    "The %(phase)s phase is open again for %(round)s, until %(moment)s.",
                    phase=_in_sentence(t, phase, facts),
                    round=words.round_name(t, round_),
                    moment=t.moment(deadline),
                )  # fmt: skip
            )
            asked = phase
            if phase == "evaluation" and recipient.role.value == "facilitator":
                asked = "conclusion"
            if (
                phase == "decision"
                and recipient.role.value == "facilitator"
                and not facts.get("summary")
            ):
                asked = "text"  # no co-design before it: the facilitator writes the text
            if phase == "charter" and recipient.role.value == "facilitator":
                asked = "charter_version"
            if expected and asked in ASKS:
                subject = _("%(tag)s %(phase)s: %(ask)s", tag=tag, phase=_phase(t, phase, facts),
                            ask=_(ASKS[asked], day=day))  # fmt: skip
                paragraphs = [opened, _(ASKS_IN_FULL[asked])]
            else:
                subject = _(
                    "%(tag)s %(phase)s: open until %(day)s",
                    tag=tag,
                    phase=_phase(t, phase, facts),
                    day=day,
                )
                paragraphs = (
                    [opened, _(OTHERS_DO.get(phase, ""))] if phase in OTHERS_DO else [opened]
                )
                if recipient.role.value == "observer":
                    paragraphs.append(
                        _(
                            "You follow the project as an observer: you read everything, without acting."
                        )
                    )
            answers = []
            if expected and asked == "decision" and link:
                answers = [
                    (_(words.ANSWERS[k]), _(words.ANSWER_HINTS[k]), f"{link}?answer={k}")
                    for k in ANSWER_KINDS
                ]
                paragraphs.append(
                    _(
                        "Each choice below opens your page with it ticked: nothing is recorded until you send it there."
                    )
                )
            summary = clean(facts.get("summary", ""))
            if phase == "decision" and summary:
                # What the partners decide on, in its summary; the whole plan on their page.
                paragraphs.append(_("The plan put to decision, in its summary:"))
                if link:
                    page = (_("Read the whole plan on my page"), f"{link}#plan")
            return Letter(subject, paragraphs, why, button=page, answers=answers,
                          quote=summary if phase == "decision" else "",
                          calendar="REQUEST", calendar_title=_calendar_title(t, tag, phase, facts),
                          deadline=deadline)  # fmt: skip
        case "phase_closed":
            cause = words.capitalised(words.closing(t, phase, facts.get("cause", "facilitator")))
            closed = _when(facts.get("closed", "")) or notification.at
            return Letter(
                _(
                    "%(tag)s %(phase)s: closed before its deadline",
                    tag=tag,
                    phase=_phase(t, phase, facts),
                ),
                [
                    _(
                        "%(cause)s: the %(phase)s phase closed on %(when)s, before its deadline.",
                        cause=cause,
                        phase=_in_sentence(t, phase, facts),
                        when=t.when(closed),
                    ),
                    _("Its entry is withdrawn from your calendar."),
                ],  # fmt: skip
                why,
                button=page,
                calendar="CANCEL",
                calendar_title=_calendar_title(t, tag, phase, facts),
            )
        case "reminder_sent":
            # A phase that asks nothing is never reminded of; the implementation's words if so.
            asked = phase
            if phase == "charter" and recipient.role.value == "facilitator":
                asked = "charter_version"
            ask = _(ASKS.get(asked, ASKS["evaluation"]), day=day)
            return Letter(
                _("%(tag)s Reminder: %(ask)s", tag=tag, ask=ask),
                [
                    _(
                        "Reminder: %(ask)s. The deadline is %(moment)s.",
                        ask=ask,
                        moment=t.moment(deadline),
                    ),
                    _(ASKS_IN_FULL.get(asked, "")),
                ],  # fmt: skip
                why,
                button=page,
            )
        case "conclusion_requested":
            return Letter(
                _(
                    "%(tag)s Evaluation: your conclusion is expected before %(day)s",
                    tag=tag,
                    day=day,
                ),
                [
                    _(
                        "Every partner has assessed the results. Write the conclusion of the project on your page: the evaluation closes when you publish it, and the final report carries it."
                    ),
                    _("The deadline is %(moment)s.", moment=t.moment(deadline)),
                ],
                why,
                button=page,
            )
        case "deadline_escalated":
            missing = one_line(facts.get("missing", ""))
            paragraphs = [
                _(
                    "The deadline of the %(phase)s phase has passed.",
                    phase=_in_sentence(t, phase, facts),
                )
            ]
            if missing:
                paragraphs.append(_("Still missing: %(missing)s.", missing=missing))
            paragraphs.append(_("From your page you can extend the deadline or close the phase."))
            return Letter(
                _("%(tag)s %(phase)s: the deadline passed", tag=tag, phase=_phase(t, phase, facts)),
                paragraphs,
                why,
                button=page,
            )
        case "deadline_extended":
            return Letter(
                _(
                    "%(tag)s %(phase)s: deadline moved to %(day)s",
                    tag=tag,
                    phase=_phase(t, phase, facts),
                    day=day,
                ),
                [
                    _(
                        "The deadline of the %(phase)s phase is now %(moment)s.",
                        phase=_in_sentence(t, phase, facts),
                        moment=t.moment(deadline),
                    ),
                    _("The entry in your calendar moves with it."),
                    *([_("The reason given:")] if facts.get("reason") else []),
                ],  # fmt: skip
                why,
                quote=clean(facts.get("reason", "")),
                button=page,
                calendar="REQUEST",
                calendar_title=_calendar_title(t, tag, phase, facts),
                deadline=deadline,
            )
        case "plan_submitted" if facts.get("answers_open"):
            # A decision's text, just written: its approvers are asked, the others told.
            asked_now = me in facts.get("expected", "").split(",")
            written = _(
                "The facilitator wrote the text put to decision (%(round)s): the answers are open until %(moment)s.",
                round=words.round_name(t, int(facts.get("round", "1") or 1)),
                moment=t.moment(deadline) if deadline else "–",
            )
            answers = []
            if asked_now and link:
                answers = [
                    (_(words.ANSWERS[k]), _(words.ANSWER_HINTS[k]), f"{link}?answer={k}")
                    for k in ANSWER_KINDS
                ]
            subject = (
                _("%(tag)s %(phase)s: %(ask)s", tag=tag, phase=_phase(t, phase, facts),
                  ask=_(ASKS["decision"], day=day))
                if asked_now
                else _("%(tag)s %(phase)s: the text put to decision", tag=tag,
                       phase=_phase(t, phase, facts))
            )  # fmt: skip
            paragraphs = [written, _(ASKS_IN_FULL["decision"])] if asked_now else [written]
            if answers:
                paragraphs.append(
                    _(
                        "Each choice below opens your page with it ticked: nothing is recorded until you send it there."
                    )
                )
            paragraphs.append(_("The text put to decision:"))
            return Letter(subject, paragraphs, why, button=page, answers=answers,
                          quote=clean(facts.get("summary", "")),
                          calendar="REQUEST" if deadline else None,
                          calendar_title=_calendar_title(t, tag, phase, facts),
                          deadline=deadline)  # fmt: skip
        case "charter_published":
            asked_now = me in facts.get("expected", "").split(",")
            number = int(facts.get("version", "1") or 1)
            written = _(
                "The facilitator published version %(number)s of the partnership charter: the answers are open until %(moment)s.",
                number=number,
                moment=t.moment(deadline) if deadline else "–",
            )
            answers = []
            if asked_now and link:
                answers = [
                    (_(words.ANSWERS[k]), _(words.CHARTER_ANSWER_HINTS[k]), f"{link}?answer={k}")
                    for k in ANSWER_KINDS
                ]
            subject = (
                _("%(tag)s %(phase)s: %(ask)s", tag=tag, phase=_phase(t, "charter", facts),
                  ask=_(ASKS["charter"], day=day))
                if asked_now
                else _("%(tag)s %(phase)s: version %(number)s published", tag=tag,
                       phase=_phase(t, "charter", facts), number=number)
            )  # fmt: skip
            paragraphs = [written]
            if asked_now:
                paragraphs.append(_(ASKS_IN_FULL["charter"]))
            if answers:
                paragraphs.append(
                    _(
                        "Each choice below opens the charter's page with it ticked: nothing is recorded until you send it there."
                    )
                )
            changes = clean(facts.get("changes", ""))
            if changes:
                paragraphs.append(_("What changes from the previous version:"))
            return Letter(subject, paragraphs, why, button=page, answers=answers, quote=changes,
                          calendar="REQUEST" if deadline else None,
                          calendar_title=_calendar_title(t, tag, "charter", facts),
                          deadline=deadline)  # fmt: skip
        case "charter_reviewed":
            number = int(facts.get("version", "1") or 1)
            objectors = one_line(facts.get("objectors", ""))
            paragraphs = [
                _(
                    "Version %(number)s of the charter is not adopted: %(who)s objected.",
                    number=number,
                    who=objectors or "–",
                )
            ]
            if facts.get("last"):
                paragraphs.append(
                    _(
                        "It was the last version the process allowed: the project ends without an adopted charter."
                    )
                )
                subject = _("%(tag)s The charter is not adopted", tag=tag)
            elif recipient.role.value == "facilitator":
                paragraphs.append(_(ASKS_IN_FULL["charter_version"]))
                subject = _("%(tag)s %(phase)s: %(ask)s", tag=tag,
                            phase=_phase(t, "charter", facts),
                            ask=_(ASKS["charter_version"], day=day))  # fmt: skip
            else:
                paragraphs.append(
                    _(
                        "The facilitator writes version %(next)s, answering each objection; you will then answer it.",
                        next=number + 1,
                    )
                )
                subject = _("%(tag)s The charter goes to a new version", tag=tag)
            return Letter(subject, paragraphs, why, button=page)
        case "charter_adopted":
            number = int(facts.get("version", "1") or 1)
            return Letter(
                _("%(tag)s The partnership charter is adopted", tag=tag),
                [
                    _(
                        "Version %(number)s of the partnership charter is adopted by the consent of every partner: its page lists each organisation's consent with its date, and offers it to print.",
                        number=number,
                    ),
                    _("The project itself begins now: its next step opens."),
                ],
                why,
                button=page,
            )
        case "newcomer_proposed":
            newcomer = one_line(facts.get("newcomer", ""))
            return Letter(
                _("%(tag)s Should %(newcomer)s join the partnership?", tag=tag, newcomer=newcomer),
                [
                    _(
                        "%(who)s proposes that %(newcomer)s (%(kind)s) join the partnership. The charter in force says an organisation joins once every partner consents: give your answer on your page, consent or objection with your reason.",
                        who=one_line(facts.get("proposed_by", "")),
                        newcomer=newcomer,
                        kind=_(words.KINDS.get(facts.get("kind", ""), words.KINDS["other"])),
                    )
                ],
                why,
                button=(_("Answer on my page"), f"{link}#nouveaux") if link else None,
            )
        case "charter_amendment_proposed":
            asked_now = me in facts.get("expected", "").split(",")
            number = int(facts.get("version", "1") or 1)
            until = _when(facts.get("until", ""))
            paragraphs = [
                _(
                    "The facilitator proposes an amendment of the partnership charter (version %(number)s). The step under way is suspended until every partner answered, by %(moment)s at the latest; it then resumes, its deadline moved by the time taken.",
                    number=number,
                    moment=t.moment(until) if until else "–",
                )
            ]
            if asked_now:
                paragraphs.append(
                    _(
                        "Read it on the charter's page, then answer there: consent, or object with your reason. It is adopted only if every partner consents."
                    )
                )
            paragraphs.append(_("What it changes:"))
            subject = (
                _("%(tag)s An amendment of the charter awaits your answer", tag=tag)
                if asked_now
                else _("%(tag)s An amendment of the charter is proposed", tag=tag)
            )
            return Letter(subject, paragraphs, why, quote=clean(facts.get("changes", "")),
                          button=page)  # fmt: skip
        case "charter_amendment_closed":
            number = int(facts.get("version", "1") or 1)
            if facts.get("adopted"):
                subject = _("%(tag)s The amendment of the charter is adopted", tag=tag)
                paragraphs = [
                    _(
                        "Every partner consented: version %(number)s of the charter is in force. Its page lists each organisation's consent with its date.",
                        number=number,
                    )
                ]
            else:
                subject = _("%(tag)s The amendment of the charter is not adopted", tag=tag)
                why_not = (
                    _("%(who)s objected.", who=one_line(facts["objectors"]))
                    if facts.get("objectors")
                    else _(
                        "%(who)s did not answer in time.", who=one_line(facts.get("missing", ""))
                    )
                )
                paragraphs = [
                    _(
                        "Version %(number)s of the charter is not adopted: the charter in force stays.",
                        number=number,
                    ),
                    why_not,
                ]
            if deadline is not None:
                paragraphs.append(
                    _(
                        "The step under way resumes; its deadline is now %(moment)s.",
                        moment=t.moment(deadline),
                    )  # fmt: skip
                )
            return Letter(subject, paragraphs, why, button=page)
        case "step_reopened":
            return Letter(
                _("%(tag)s %(phase)s: reopened until %(day)s", tag=tag,
                  phase=_phase(t, phase, facts), day=day),
                [
                    _("The facilitator reopened the %(phase)s phase, closed by mistake: it is as it was, until %(moment)s. A decision its close reached does not stand.",
                      phase=_in_sentence(t, phase, facts), moment=t.moment(deadline)),
                    _("The entry in your calendar moves with it."),
                    _("The reason given:"),
                ],
                why,
                quote=clean(facts.get("reason", "")),
                button=page,
                calendar="REQUEST",
                calendar_title=_calendar_title(t, tag, phase, facts),
                deadline=deadline,
            )  # fmt: skip
        case "answer_delegated":
            delegator = one_line(facts.get("delegator", ""))
            until = _when(facts.get("until", ""))
            said = (
                _(
                    "%(who)s asks you to answer for it until %(moment)s: in each decision until then, your answer counts for both, unless it answers itself.",
                    who=delegator,
                    moment=t.moment(until),
                )
                if until
                else _(
                    "%(who)s asks you to answer for it in the decision open now: your answer counts for both, unless it answers itself.",
                    who=delegator,
                )
            )
            return Letter(_("%(tag)s %(who)s delegates its answer to you", tag=tag, who=delegator),
                          [said], why, button=page)  # fmt: skip
        case "delegation_ended":
            who = one_line(facts.get("who", ""))
            said = (
                _("%(who)s revoked its delegation: you no longer answer for it.", who=who)
                if facts.get("why") == "revoked"
                else _(
                    "%(who)s left the project: the delegation between you ends, and each answers for itself again.",
                    who=who,
                )
            )
            return Letter(_("%(tag)s A delegation ends", tag=tag), [said], why, button=page)
        case "objection_judged":
            concern = facts.get("judgement") == "concern"
            subject = (
                _("%(tag)s Your objection is recorded as a concern", tag=tag)
                if concern
                else _("%(tag)s Your objection is judged valid", tag=tag)
            )
            said = (
                _(
                    "The facilitator judged your objection a concern: it is recorded and shown, does not block the decision, and the evaluation will check it. The reason given:"
                )
                if concern
                else _(
                    "The facilitator judged your objection valid: the proposal must change, and the next plan answers it. The reason given:"
                )
            )
            return Letter(subject, [said], why, quote=clean(facts.get("reason", "")), button=page)
        case "newcomer_refused":
            newcomer = one_line(facts.get("newcomer", ""))
            return Letter(
                _("%(tag)s %(newcomer)s will not join the partnership", tag=tag, newcomer=newcomer),
                [
                    _(
                        "%(objector)s objected to %(newcomer)s joining the partnership: it does not join. Its reason:",
                        objector=one_line(facts.get("objector", "")),
                        newcomer=newcomer,
                    )
                ],
                why,
                quote=clean(facts.get("reason", "")),
                button=page,
            )
        case "plan_submitted":
            return Letter(
                _("%(tag)s The plan is submitted to decision", tag=tag),
                [
                    _(
                        "The facilitator submitted the plan of %(round)s. Its summary:",
                        round=words.round_name(t, int(facts.get("round", "1") or 1)),
                    )
                ],
                why,
                quote=clean(facts.get("summary", "")),
                button=page,
            )
        case "decision_reached":
            round_ = int(facts.get("round", "1") or 1)
            decided = _(words.OUTCOMES.get(facts.get("outcome", ""), words.OUTCOMES["not_adopted"]))
            results = _approval_results(t, facts)
            paragraphs = [
                _(
                    "The decision of %(round)s is taken: %(outcome)s.",
                    round=words.round_name(t, round_),
                    outcome=decided,
                ),
                *(
                    [line for line, _void in results]
                    if len(results) > 1
                    else [
                        _(
                            "Rule: %(rule)s.",
                            rule=_(words.RULES.get(facts.get("rule", ""), words.RULES["consent"])),
                        ),
                        words.capitalised(words.tally_in_words(t, _tally(facts))) + ".",
                    ]
                ),
                *_what_follows(t, facts),
            ]
            if _step_name(t, facts):
                # appel-a-projets decides twice in a round: say which step this was.
                paragraphs.insert(0, _("Step: %(step)s.", step=_in_sentence(t, "decision", facts)))
            void = [name for name, is_void in _approval_names(t, facts) if is_void]
            if void and recipient.role.value == "facilitator":
                paragraphs.append(
                    _(
                        "Nobody was left to answer %(approvals)s: this did not count in the decision. Invite someone who can, if the next rounds need it.",
                        approvals=", ".join(void),
                    )
                )
            summary = clean(facts.get("summary", ""))
            if summary:
                paragraphs.append(
                    _("The plan adopted:") if facts.get("outcome") == "adopted" else _("The plan:")
                )
            return Letter(
                _("%(tag)s Decision: %(outcome)s", tag=tag, outcome=decided),
                paragraphs,
                why,
                quote=summary,
                button=(_("Read the plan and the answers on my page"), f"{link}#plan")
                if link
                else None,
            )
        case "outcome_stated":
            said = [_("The facilitator stated the outcome of the project:")]
            if facts.get("review_on"):
                review_on = _when(facts["review_on"])
                said.append(_("The decision will be reviewed on %(moment)s: everyone is told a week before.",
                              moment=t.moment(review_on)))  # fmt: skip
            return Letter(
                _("%(tag)s The outcome of the project", tag=tag),
                said,
                why,
                quote=clean(facts.get("text", "")),
                button=page,
            )
        case "review_notice_sent":
            opens = _when(facts.get("opens_at", ""))
            return Letter(
                _("%(tag)s The decision comes up for review on %(day)s", tag=tag, day=t.day(opens)),
                [
                    _("The decision adopted will be reviewed from %(moment)s.",
                      moment=t.moment(opens)),
                    _("The partners will then say whether to keep it as it is, amend it or end it. You will be told when the review opens; meanwhile your page shows the plan in force."),
                ],
                why,
                button=page,
            )  # fmt: skip
        case "decision_reviewed":
            result = facts.get("outcome", "keep")
            said = {
                "keep": _("The partners keep the decision as it is."),
                "amend": _("The partners amend the decision: the project goes back to co-design, the plan in force as the first draft. It stays in force until a new plan is adopted."),
                "end": _("The partners end the decision: the project closes, and its report is published."),
            }[result]  # fmt: skip
            if facts.get("quorum_met") == "no":
                said = _("Too few partners answered the review: the decision stays as it is.")
            return Letter(
                _("%(tag)s The result of the review", tag=tag),
                [said, _("Keep: %(keep)s; amend: %(amend)s; end: %(end)s.",
                         keep=facts.get("keep", "0"), amend=facts.get("amend", "0"),
                         end=facts.get("end", "0"))],
                why,
                button=page,
            )  # fmt: skip
        case "report_published":
            return Letter(
                _("%(tag)s The project is closed: its report is published", tag=tag),
                [
                    _(
                        "The project is closed: %(outcome)s. Your page keeps its story.",
                        outcome=outcome,
                    ),
                    _(
                        "The project is closed and its final report is published: the story of the project, its decisions and its results. Read it from your page."
                    ),
                ],
                why,
                button=page,
            )
        case "project_closed":
            return Letter(
                _("%(tag)s The project is closed: %(outcome)s", tag=tag, outcome=outcome),
                [
                    _(
                        "The project is closed: %(outcome)s. Your page keeps its story.",
                        outcome=outcome,
                    )
                ],
                why,
                button=page,
            )
        case "project_cancelled":
            letter = Letter(
                _("%(tag)s The project is cancelled", tag=tag),
                [
                    _("The project is cancelled. The reason given:")
                    if facts.get("reason")
                    else _("The project is cancelled.")
                ],
                why,
                quote=clean(facts.get("reason", "")),
                button=page,
            )
            if phase:
                letter.paragraphs.append(_("The deadline in your calendar is withdrawn."))
                letter.calendar = "CANCEL"
                letter.calendar_title = _calendar_title(t, tag, phase, facts)
            return letter
    return Letter(
        _("%(tag)s News of the project", tag=tag),
        [_("There is news of the project on your page.")],
        why,
        button=page,
    )


def _tally(facts: dict[str, str]) -> Tally:
    counts = {
        k: int(facts.get(k, "0") or 0) for k in ("consents", "objections", "abstentions", "silent")
    }
    voters = int(facts.get("voters", "0") or 0) or sum(counts.values())
    return Tally(voters=voters, **counts)


def _what_follows(t: Texts, facts: dict[str, str]) -> list[str]:
    """After a decision: the next round's co-design and its dates, the implementation, or the
    end of the project."""
    _ = t.gettext
    following = facts.get("next_phase", "")
    until = t.moment(_when(facts.get("next_deadline", "")))
    if following == "co_design":
        return [
            _(
                "The project goes back to co-design for %(round)s, until %(until)s: the facilitator prepares a new plan that answers each objection, then it is put to decision again.",
                round=words.round_name(t, int(facts.get("next_round", "2") or 2)),
                until=until,
            )
        ]
    if following == "kept":
        return [
            _(
                "It was the last round the process allowed for the amendment: the decision in force stays as it was, and the project goes on."
            )
        ]
    if following == "closed":
        return [
            _(
                "It was the last round the process allowed: the project ends without an adopted plan."
            )
        ]
    if following == "action":
        return [_("The implementation begins now, until %(until)s.", until=until)]
    if following == "evaluation":
        return [_("The evaluation of the results begins now, until %(until)s.", until=until)]
    return []


def _digest(
    notification: Notification,
    recipient: Recipient,
    link: str | None,
    t: Texts,
    why: str,
    page: tuple[str, str] | None,
) -> Letter:
    """Everything since the last digest, each piece as its own message would have said it
    (without its calendar entry: a digest reader chose fewer messages)."""
    _ = t.gettext
    tag = f"[{one_line(notification.project_title)}] "
    items = []
    for item in notification.items:
        single = notification.model_copy(
            update={
                "kind": item.kind,
                "event_seq": item.event_seq,
                "at": item.at,
                "facts": item.facts,
                "items": [],
            }  # fmt: skip
        )
        letter = letter_for(single, recipient, link, t)
        title = letter.subject.removeprefix(tag)
        text = " ".join(p for p in letter.paragraphs[:1] if p)
        if letter.quote:
            # French quotes hold their no-break spaces inside (« … »).
            text += f" «\u00a0{letter.quote}\u00a0»" if t.language == "fr" else f" “{letter.quote}”"
        items.append((title, text))
    return Letter(
        t.ngettext(
            "%(tag)s Your daily digest: %(num)s piece of news",
            "%(tag)s Your daily digest: %(num)s pieces of news",
            len(items),
            tag=tag.strip(),
        ),
        [
            _(
                "What happened in the project since your last digest. You chose one message a day; your own reminders still come at once."
            )
        ],
        why,
        button=page,
        items=items,
    )


def _approval_names(t: Texts, facts: dict[str, str]) -> list[tuple[str, bool]]:
    """Each approval of a decision (when the notice gave them): its name in the reader's
    language, or who approves it in words, and whether nobody was left to answer it."""
    names = []
    for n in range(int(facts.get("approvals", "0") or 0)):
        name = facts.get(f"approval_{n}_name_fr", "")
        if t.language == "en":
            name = facts.get(f"approval_{n}_name_en", "") or name
        if not name:
            approvers = Approvers(
                roles=[r for r in facts.get(f"approval_{n}_roles", "").split(",") if r],
                organisation_kinds=[
                    k for k in facts.get(f"approval_{n}_kinds", "").split(",") if k
                ],
            )
            name = words.approvers_in_words(t, approvers)
        names.append((t.gettext("“%(name)s”", name=name), bool(facts.get(f"approval_{n}_void"))))
    return names


def _approval_results(t: Texts, facts: dict[str, str]) -> list[tuple[str, bool]]:
    """One line per approval: its name, rule, tally and outcome."""
    _ = t.gettext
    lines = []
    for n, (name, void) in enumerate(_approval_names(t, facts)):
        if void:
            lines.append((_("%(approval)s: nobody was left to answer it.", approval=name), True))
            continue
        tally = Tally(
            voters=int(facts.get(f"approval_{n}_voters", "0") or 0),
            consents=int(facts.get(f"approval_{n}_consents", "0") or 0),
            objections=int(facts.get(f"approval_{n}_objections", "0") or 0),
            abstentions=int(facts.get(f"approval_{n}_abstentions", "0") or 0),
            silent=int(facts.get(f"approval_{n}_silent", "0") or 0),
        )
        rule = words.RULE_NAMES.get(
            facts.get(f"approval_{n}_rule", ""), words.RULE_NAMES["consent"]
        )
        outcome = words.OUTCOMES.get(
            facts.get(f"approval_{n}_outcome", ""), words.OUTCOMES["not_adopted"]
        )
        lines.append(
            (
                _(
                    "%(approval)s, %(rule)s: %(tally)s; approval %(outcome)s.",
                    approval=name,
                    rule=_(rule),
                    tally=words.tally_in_words(t, tally),
                    outcome=_(outcome),
                ),
                False,
            )
        )
    return lines


def _calendar_title(t: Texts, tag: str, phase: str, facts: dict[str, str]) -> str:
    return t.gettext("%(tag)s %(phase)s: deadline", tag=tag, phase=_phase(t, phase, facts))


def calendar_for(
    notification: Notification,
    recipient: Recipient,
    letter: Letter,
    email: str,
    person_name: str,
    link: str | None,
    sender: Sender,
) -> str | None:
    """The iTIP object (RFC 5546) that opens, moves or withdraws this phase's calendar entry:
    one UID per project, phase and round; SEQUENCE is the event's number, so every change is
    higher than the last."""
    if letter.calendar is None:
        return None
    facts = notification.facts
    cal = Calendar()
    cal.add("prodid", "-//Alliance//co-construction//FR")
    cal.add("version", "2.0")
    cal.add("method", letter.calendar)
    entry = CalendarEvent()
    entry.add(
        "uid",
        # A step the template names apart from its kind has an entry of its own (two decision
        # steps in one round); otherwise the phase's, as every 1.x message gave it.
        f"{notification.project_id}.{facts.get('step') or facts.get('phase')}."
        f"{facts.get('round', '1')}@{sender.domain}",
    )
    entry.add("sequence", notification.event_seq)
    entry.add("dtstamp", notification.at or datetime.fromtimestamp(0).astimezone())
    entry.add("summary", letter.calendar_title)
    organizer = vCalAddress(f"mailto:{sender.email}")
    organizer.params["cn"] = vText(sender.name)
    entry.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{email}")
    if person_name:
        attendee.params["cn"] = vText(one_line(person_name))
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("NEEDS-ACTION")
    attendee.params["rsvp"] = vText("FALSE")
    entry.add("attendee", attendee)
    if letter.calendar == "CANCEL":
        entry.add("status", "CANCELLED")
    else:
        assert letter.deadline is not None
        entry.add("status", "CONFIRMED")
        # In UTC: a fixed offset (as typed in a form) would need a VTIMEZONE of its own.
        deadline = letter.deadline.astimezone(UTC)
        entry.add("dtstart", deadline - DEADLINE_SLOT)
        entry.add("dtend", deadline)
        entry.add("transp", "TRANSPARENT")
        description = "\n\n".join(p for p in letter.paragraphs if p)
        if letter.quote:
            description += f"\n\n{letter.quote}"
        if link:
            description += f"\n\n{link}"
            entry.add("url", link)
        entry.add("description", description)
    cal.add_component(entry)
    return cal.to_ical().decode()


def render(letter: Letter, t: Texts, greeting: str) -> tuple[str, str]:
    values = {"letter": letter, "greeting": greeting, "_": t.gettext, "language": t.language}
    text = TEMPLATES.get_template("message.txt").render(values)
    html = TEMPLATES.get_template("message.html").render(values)
    return text, html


def compose(
    notification: Notification,
    recipient: Recipient,
    email: str,
    person_name: str,
    link: str | None,
    sender: Sender,
    unsubscribe: str | None = None,
    reply_to: str | None = None,
) -> Message:
    """The whole message to one recipient, ready to send."""
    t = texts(recipient.language.value, recipient.time_zone)
    letter = letter_for(notification, recipient, link, t)
    return compose_group(
        [(notification, letter)], recipient, email, person_name, link, sender, t,
        unsubscribe=unsubscribe, reply_to=reply_to, asking=0 if reply_to else None,
    )  # fmt: skip


# Kinds told first when a message tells several things: the invitation (whoever opens the
# message meets the project), then what is asked of the reader; a phase closed early says least.
INVITATIONS = ("project_launched", "participant_invited")


def main_part(parts: list[tuple[Notification, Letter]], asking: int | None) -> int:
    """Which of a message's parts gives it its subject and comes first."""
    for n, (notification, _letter) in enumerate(parts):
        if notification.kind in INVITATIONS:
            return n
    if asking is not None:
        return asking
    for n, (notification, _letter) in enumerate(parts):
        if notification.kind != "phase_closed":
            return n
    return 0


def compose_group(
    parts: list[tuple[Notification, Letter]],
    recipient: Recipient,
    email: str,
    person_name: str,
    link: str | None,
    sender: Sender,
    t: Texts,
    *,
    unsubscribe: str | None = None,
    reply_to: str | None = None,
    asking: int | None = None,
) -> Message:
    """One message telling one reader one or several notifications of a batch (since 1.3):
    the main part's subject and text, the others after it, each under its heading; at most
    one calendar entry and one question a reply answers (the caller groups them so). Its
    Message-ID derives from every part, so a retry of the same news has the same one."""
    if reply_to is not None and asking is not None:
        notification, letter = parts[asking]
        letter.reply_to = reply_to
        if notification.facts.get("phase") == "review":
            hint = t.gettext(
                "You may also answer by replying to this e-mail: write MAINTENIR (or KEEP) to keep the decision, AMENDER (or AMEND) or FIN (or END) followed by your reason, on the first line. Your reply is recorded as your answer, from the address this message was sent to."
            )
        else:
            hint = t.gettext(
                "You may also answer by replying to this e-mail: write OUI (or YES) to consent, NON (or NO) followed by your reason to object, or ABSTENTION, on the first line. Your reply is recorded as your answer, from the address this message was sent to."
            )
        if letter.quote and letter.paragraphs:
            # Before the line that introduces the quoted text, not between the two.
            letter.paragraphs.insert(len(letter.paragraphs) - 1, hint)
        else:
            letter.paragraphs.append(hint)
    ics, method = None, None
    for notification, letter in parts:
        if letter.calendar is not None:
            assert ics is None, "one calendar entry per message"
            ics = calendar_for(notification, recipient, letter, email, person_name, link, sender)
            method = letter.calendar
    main = main_part(parts, asking)
    letter = parts[main][1]
    tag = f"[{one_line(parts[main][0].project_title)}] "
    for n, (_notification, other) in enumerate(parts):
        if n != main:
            other.heading = other.subject.removeprefix(tag)
            letter.also.append(other)
    letter.unsubscribe = unsubscribe
    letter.reply_to = reply_to
    letter.calendar = method
    # One news, the key 1.x gave it; several, all of theirs: a message that tells other news
    # never has the Message-ID of another (a receiver would drop it as a repeat).
    key = "+".join(n.key for n, _ in parts) + f"/{recipient.participant_id}"
    return message_of(letter, t, email, person_name, key, sender, ics)


def sign_in_letter(t: Texts, organisation: str, link: str, minutes: int) -> Letter:
    """The console's sign-in by e-mailed link."""
    _ = t.gettext
    return Letter(
        _("Alliance: your sign-in link to the console"),
        [
            _(
                "Someone (you, we hope) asked to sign in to the console of %(organisation)s.",
                organisation=one_line(organisation),
            ),  # fmt: skip
            _(
                "The link below works once, for %(minutes)s minutes. If you did not ask for it, ignore this message: nothing happens without it.",
                minutes=minutes,
            ),  # fmt: skip
        ],
        _(
            "You receive this message because this address may sign in for %(organisation)s.",
            organisation=one_line(organisation),
        ),  # fmt: skip
        button=(_("Sign in to the console"), link),
    )


def message_of(
    letter: Letter,
    t: Texts,
    email: str,
    person_name: str,
    key: str,
    sender: Sender,
    ics: str | None = None,
) -> Message:
    """The MIME message: text and HTML (and the calendar entry, inline and attached). Built
    with the classic MIME classes: several times cheaper than `EmailMessage`'s header
    parsing, for a worker that writes every notification to every reader."""
    name = one_line(person_name)
    greeting = t.gettext("Hello %(name)s,", name=name) if name else t.gettext("Hello,")
    text, html = render(letter, t, greeting)
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText(text, "plain", "utf-8"))
    alternative.attach(MIMEText(html, "html", "utf-8"))
    if ics is not None:
        calendar = MIMEText(ics, "calendar", "utf-8")
        calendar.set_param("method", letter.calendar or "REQUEST")
        alternative.attach(calendar)
        message: Message = MIMEMultipart("mixed")
        message.attach(alternative)
        attachment = MIMEApplication(ics.encode(), "ics")
        attachment.add_header("Content-Disposition", "attachment", filename="alliance.ics")
        message.attach(attachment)
    else:
        message = alternative
    message["Subject"] = encoded_words(one_line(letter.subject))
    message["From"] = _address(*parseaddr(sender.address))
    message["To"] = _address(name, email)
    message["Message-ID"] = message_id(key, sender)
    message["Date"] = formatdate(localtime=False)
    message["Content-Language"] = t.language
    # Not a person writing: out-of-office replies stay silent (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    if letter.reply_to:
        message["Reply-To"] = letter.reply_to
    if letter.unsubscribe:
        # One click in the mail client: a POST to this address (RFC 8058).
        message["List-Unsubscribe"] = f"<{letter.unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # Boundaries of our own: the generator would otherwise search every part for its random
    # one. "=_" never occurs in base64, the parts' encoding.
    stem = hashlib.sha256(key.encode()).hexdigest()[:24]
    for n, part in enumerate(message.walk()):
        if part.is_multipart():
            part.set_boundary(f"=_alliance_{n}_{stem}")
    return message


class _Wire(policy.Compat32):
    """Compat32 (CRLF, headers folded by their own encoding only) without its cost for the
    headers that are already what goes on the wire: compat32 builds and encodes a Header for
    every header of every part, even a plain ASCII one, which was the largest part of writing
    a message. Anything else (non-ASCII, a control character) takes compat32's own way."""

    def fold_binary(self, name: str, value: Any) -> bytes:
        if type(value) is str and all(
            line.isascii()
            and line.isprintable()  # no other line break of any kind, no control character
            and line == line.strip()
            and "  " not in line
            for line in value.split(FOLD)  # encoded words, folded already (encoded_words)
        ):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


# A header folded onto its next line (RFC 5322): the line break, then one space.
FOLD = "\r\n "


# The wire format: CRLF, headers folded by their own encoding only.
WIRE = _Wire(linesep="\r\n", max_line_length=None)


def wire_bytes(message: Message) -> bytes:
    return message.as_bytes(policy=WIRE)


def _address(name: str, email: str) -> str:
    if name and not name.isascii():
        return f"{encoded_words(name)}{FOLD}<{email}>"
    return formataddr((name, email)) if name else email


# A header's text in RFC 2047 encoded words: UTF-8 in base64, at most 39 bytes a word (64
# characters with its markers, so even the first line, "Subject: " and all, stays within the
# 76 RFC 2047 allows), never a character cut in two, and cut at a space where one is near (a
# reader that keeps the space between two words then shows it where the text had one). The
# standard library's Header weighed quoted-printable against base64 one character at a time: a
# fifth of composing a message (cProfile, bench/mail_drain.py).
_WORD_BYTES = 39


def encoded_words(text: str) -> str:
    if text.isascii() and text.isprintable():
        return text
    words: list[bytes] = []
    word = b""
    for char in text:
        encoded = char.encode()
        if len(word) + len(encoded) > _WORD_BYTES:
            cut = word.rfind(b" ")
            if cut > _WORD_BYTES // 2:  # the space begins the next word
                words.append(word[:cut])
                word = word[cut:]
            else:
                words.append(word)
                word = b""
        word += encoded
    words.append(word)
    # One word a line: a line holding encoded words stays within 76 characters (RFC 2047).
    return FOLD.join(f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words)
