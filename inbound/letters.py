"""What the inbound service writes back, only to a sender it authenticated (never to an
address that may be forged): the answer recorded, a reply not understood (and how to answer),
or a reply the project did not take (and why). In the reader's language."""

from __future__ import annotations

from datetime import datetime

from activities.mail.compose import Letter, one_line
from inbound.reading import MAX_REASON, Reading
from texts import words
from texts.i18n import Texts
from texts.words import N_

RECORDED = {
    "consent": N_("Your answer is recorded: you consent."),
    "object": N_("Your answer is recorded: you object."),
    "abstain": N_("Your answer is recorded: you abstain."),
    "keep": N_("Your answer to the review is recorded: keep the decision as it is."),
    "amend": N_("Your answer to the review is recorded: amend the decision."),
    "end": N_("Your answer to the review is recorded: end the decision."),
}
HOW_TO_ANSWER = N_(
    "To answer, reply to the decision's e-mail with, on the first line, OUI (or YES) to consent, NON (or NO) followed by your reason to object, or ABSTENTION."
)
HOW_TO_ANSWER_A_REVIEW = N_(
    "To answer, reply to the review's e-mail with, on the first line, MAINTENIR (or KEEP) to keep the decision, AMENDER (or AMEND) or FIN (or END) followed by your reason."
)
NOT_UNDERSTOOD = {
    "empty": N_("Your reply holds no answer above the message it quotes."),
    "unknown_word": N_("Your reply does not start with one of the answers."),
    "reason_required": N_(
        "This answer needs its reason, so that the partners can take it up: write it after the word, on the same line or the next ones. Nothing is recorded until then."
    ),
    "reason_too_long": N_(
        "Your reason is longer than the page takes: shorten it, or write it on your page."
    ),
}


def _why(t: Texts, organisation: str) -> str:
    return t.gettext(
        "You receive this message because you replied to an e-mail of Alliance for %(organisation)s.",
        organisation=one_line(organisation),
    )


def recorded(
    t: Texts,
    title: str,
    organisation: str,
    kind: str,
    reason: str,
    deadline: datetime | None,
    link: str | None,
) -> Letter:
    _ = t.gettext
    paragraphs = [_(RECORDED[kind])]
    if deadline is not None:
        paragraphs.append(
            _(
                "You can change it until %(moment)s, on your page or by replying again to the decision's e-mail.",
                moment=t.moment(deadline),
            )
        )
    if reason:
        paragraphs.append(_("Your reason, as recorded:"))
    return Letter(
        _("[%(title)s] Your answer is recorded", title=one_line(title)),
        paragraphs,
        _why(t, organisation),
        quote=reason,
        button=(_("Open my project page"), link) if link else None,
    )


def not_understood(
    t: Texts,
    title: str,
    organisation: str,
    reading: Reading,
    link: str | None,
    review: bool = False,
) -> Letter:
    _ = t.gettext
    paragraphs = []
    if reading.line:
        paragraphs.append(_("We read: “%(line)s”.", line=one_line(reading.line)))
    problem = reading.problem or "unknown_word"
    said = _(NOT_UNDERSTOOD.get(problem, NOT_UNDERSTOOD["unknown_word"]))
    if problem == "reason_too_long":
        limit = _("At most %(count)s characters.", count=t.number(MAX_REASON))
        said = f"{said} {limit}"
    how = HOW_TO_ANSWER_A_REVIEW if review else HOW_TO_ANSWER
    paragraphs += [said, _("Nothing was recorded."), _(how)]
    return Letter(
        _("[%(title)s] Your reply was not understood", title=one_line(title)),
        paragraphs,
        _why(t, organisation),
        button=(_("Open my project page"), link) if link else None,
    )


def not_taken(t: Texts, title: str, organisation: str, code: str, link: str | None) -> Letter:
    _ = t.gettext
    return Letter(
        _("[%(title)s] Your reply was not recorded", title=one_line(title)),
        [
            _("Your reply was read, but the project did not take it:"),
            words.refusal(t, code),
            _("Your page says what the project expects of you now."),
        ],
        _why(t, organisation),
        button=(_("Open my project page"), link) if link else None,
    )
