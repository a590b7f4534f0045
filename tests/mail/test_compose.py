"""Every message, in both languages, with hostile names and texts: escaped in HTML, no control
character anywhere, one-line headers, and the right calendar method."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar

from activities.mail.compose import WIRE, Sender, compose, wire_bytes
from activities.mail.smtp import reply_code
from activities.notifications import Notification, Recipient
from domain.models import Language, Role
from tests.texts.readable import unreadable
from texts.i18n import translations

HOSTILE = '<script>alert("x")</script>\x07\x1b[31m<img src=x onerror=alert(1)>'
SENDER = Sender("Alliance <alliance@example.org>", "https://alliance.example.org")
LINK = "https://alliance.example.org/p/TOKEN"
DEADLINE = "2026-12-12T17:00:00+00:00"
FACTS = {
    "project_launched": {"territory": HOSTILE},
    "participant_invited": {"role": "partner", "replaces": HOSTILE},
    "link_resent": {},
    "link_requested": {},
    "participant_removed": {"reason": HOSTILE},
    "participant_left": {"who": HOSTILE, "reason": HOSTILE},
    "phase_opened": {"phase": "decision", "round": "2", "deadline": DEADLINE, "expected": "p1"},
    "phase_closed": {"phase": "diagnosis", "round": "1", "cause": "complete"},
    "reminder_sent": {"phase": "decision", "deadline": DEADLINE},
    "deadline_escalated": {"phase": "decision", "missing": HOSTILE},
    "deadline_extended": {
        "phase": "decision",
        "round": "1",
        "deadline": DEADLINE,
        "reason": HOSTILE,
    },
    "plan_submitted": {"round": "1", "summary": HOSTILE},
    "decision_reached": {
        "round": "1",
        "rule": "consent",
        "outcome": "adopted",
        "consents": "3",
        "objections": "0",
        "abstentions": "1",
        "silent": "0",
    },  # fmt: skip
    "outcome_stated": {"text": HOSTILE},
    "report_published": {"outcome": "adopted"},
    "project_closed": {"outcome": "not_adopted"},
    "project_cancelled": {"reason": HOSTILE, "phase": "co_design", "round": "1"},
}
CALENDAR = {
    "phase_opened": "REQUEST",
    "deadline_extended": "REQUEST",
    "phase_closed": "CANCEL",
    "project_cancelled": "CANCEL",
}
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def message(kind: str, language: str):
    recipient = Recipient(
        participant_id="p1",
        organisation_name=f"Jardins {HOSTILE}",
        role=Role.partner,
        language=Language(language),
        time_zone="America/Montreal",
        token_version=1,
    )
    notification = Notification(
        key=f"project-x/7/{kind}",
        project_id="x",
        project_title=f"Jardins partagés\r\nBcc: victim@example.org {HOSTILE}",
        kind=kind,
        event_seq=7,
        at=datetime(2026, 12, 1, tzinfo=UTC),
        recipients=[recipient],
        facts=FACTS[kind],
    )
    link = None if kind == "participant_removed" else LINK
    built = compose(
        notification, recipient, "zoe@example.org", f"Zoé\r\nBcc: x@y {HOSTILE}", link, SENDER
    )
    # As the receiver reads it: the bytes sent, parsed.
    raw = wire_bytes(built)
    assert b"Bcc:" not in raw.split(b"\r\n\r\n")[0].replace(b"\r\n ", b" ").split(b"Subject:")[0]
    return message_from_bytes(raw, policy=policy.default)


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("kind", sorted(FACTS))
def test_every_message_in_both_languages_is_safe_and_complete(kind, language):
    m = message(kind, language)
    assert m["Bcc"] is None and "\n" not in str(m["Subject"]) and "\n" not in str(m["To"])
    assert m["Content-Language"] == language and m["Message-ID"].endswith("@example.org>")
    html = m.get_body(("html",)).get_content()
    text = m.get_body(("plain",)).get_content()
    for part in (html, text, str(m["Subject"])):
        assert not CONTROL.search(part)
    # Names and texts are text in HTML, never markup.
    assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in html
    assert f'<html lang="{language}">' in html
    # A link for those who still have one, in both parts.
    if kind == "participant_removed":
        assert LINK not in text and LINK not in html
    else:
        assert LINK in text and f'href="{LINK}' in html
    # Says why the reader receives it, in the reader's language.
    why = "Vous recevez ce message" if language == "fr" else "You receive this message"
    assert why in text and why in html
    if language == "fr":  # no code, no English word (what people typed aside)
        assert not unreadable(text.replace(HOSTILE, "")), kind
    calendar = [p for p in m.walk() if p.get_content_type() == "text/calendar"]
    if kind in CALENDAR:
        cal = Calendar.from_ical(calendar[0].get_content())
        assert str(cal["METHOD"]) == CALENDAR[kind] == calendar[0].get_param("method")
        entry = cal.walk("VEVENT")[0]
        assert str(entry["ORGANIZER"]) == "mailto:alliance@example.org"
        assert str(entry["ATTENDEE"]) == "mailto:zoe@example.org"
        assert entry["SEQUENCE"] == 7 and str(entry["UID"]).startswith("x.")
    else:
        assert not calendar


def test_the_french_messages_are_all_translated():
    """Every text of a French message comes from the catalog: none falls back to English."""
    french = translations("fr")
    for kind in FACTS:
        subject = str(message(kind, "fr")["Subject"])
        english = str(message(kind, "en")["Subject"])
        assert subject != english, kind
    assert all(french.gettext(m) != m for m in ("Hello,", "Open my project page"))


def test_the_same_message_has_the_same_id_at_every_attempt():
    first, again = message("phase_opened", "fr"), message("phase_opened", "fr")
    assert first["Message-ID"] == again["Message-ID"]
    assert message("phase_closed", "fr")["Message-ID"] != first["Message-ID"]


def test_dates_are_in_the_readers_time_zone():
    text = message("phase_opened", "fr").get_body(("plain",)).get_content()
    # 17:00 UTC is noon in Montréal.
    assert "samedi 12 décembre 2026 à 12 h" in text
    assert "au plus tard le samedi 12 décembre" in str(message("phase_opened", "fr")["Subject"])


def test_what_a_mail_server_said_is_kept_as_codes_only():
    """A refusal is recorded in the history: the server's words may name the person."""
    assert reply_code(550, "5.1.1 user camille.martin unknown") == "550 5.1.1"
    assert reply_code(451, "try later, camille") == "451"


def test_a_moved_deadline_is_in_utc_and_says_why_in_the_calendar():
    """A deadline typed in a form carries a fixed offset: the entry gives it in UTC (no
    time zone left undefined), with the reason in its description."""
    global FACTS
    kept = FACTS
    FACTS = {**FACTS, "deadline_extended": {"phase": "decision", "round": "1",
             "deadline": "2026-12-12T18:00:00+01:00", "reason": "Vacances de Noël"}}  # fmt: skip
    try:
        part = next(p for p in message("deadline_extended", "fr").walk()
                    if p.get_content_type() == "text/calendar")  # fmt: skip
    finally:
        FACTS = kept
    raw = part.get_content()
    assert "DTEND:20261212T170000Z" in raw and "TZID" not in raw
    entry = Calendar.from_ical(raw).walk("VEVENT")[0]
    assert "Vacances de Noël" in str(entry["DESCRIPTION"])


@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=300))
def test_headers_go_on_the_wire_as_compat32_writes_them(value):
    """The wire's shortcut for plain headers writes what compat32 itself would."""
    from email import policy

    compat32 = policy.compat32.clone(linesep="\r\n", max_line_length=None)

    def written(how: policy.Compat32) -> bytes | type[Exception]:
        try:
            return how.fold_binary("Subject", value)
        except Exception as e:  # compat32 refuses an embedded header: so must the wire
            return type(e)

    assert written(WIRE) == written(compat32)


def _decision_mail(project, language: str = "fr") -> str:
    """The decision's message, written from the notice the engine gives its event."""
    from domain.notices import notice_for

    event = next(e for e in reversed(project.events) if e.type == "decision_reached")
    notice = notice_for(project.state, event)
    recipient = Recipient(
        participant_id="p1", organisation_name="Ville de Lyon", role=Role.partner,
        language=Language(language), time_zone="Europe/Paris", token_version=1,
    )  # fmt: skip
    notification = Notification(
        key="project-x/9/decision_reached", project_id="x", project_title="Jardins",
        kind="decision_reached", event_seq=event.seq, at=event.at, recipients=[recipient],
        facts=notice.facts,
    )  # fmt: skip
    built = compose(notification, recipient, "zoe@example.org", "Zoé", LINK, SENDER)
    return (
        message_from_bytes(wire_bytes(built), policy=policy.default)
        .get_body(("plain",))
        .get_content()
    )


def test_a_decision_not_adopted_says_what_happens_next():
    from domain import commands as cmd
    from domain.models import Process
    from tests.domain.test_domain import NOW, decision_project
    from tests.helpers import actor, judged

    project = decision_project(1, Process(max_rounds=2))
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="Trop cher"), NOW)
    project.execute(judged("p1"), NOW)
    text = _decision_mail(project)
    assert "Décision du 1er tour\u00a0: non adoptée." in text
    assert "0 consentement, 1 objection, 0 abstention, 0 sans réponse, sur 1 votant" in text
    assert "Le projet repart en co-conception pour le 2e tour, jusqu’au" in text
    assert "lundi 30 mars 2026" in text  # 28 days of co-design from 2 March, in Paris
    # The last round allowed: the end of the project, said as such.
    plan = cmd.SubmitPlan(actor=actor("fac"), proposal_ids=list(project.state.proposals),
                          summary="Plan 2", objection_answers={"p1": "Moins cher"})  # fmt: skip
    project.execute(plan, NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="Encore"), NOW)
    project.execute(judged("p1"), NOW)
    assert "C’était le dernier tour prévu par la démarche" in _decision_mail(project)
    assert "the project ends without an adopted plan" in _decision_mail(project, "en")
