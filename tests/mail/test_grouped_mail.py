"""Fewer messages for the same information (issue 29): one batch's notifications for one reader
go as few messages as they may, never two calendar entries nor two questions a reply answers in
one message, digests and personal links alone; what each notification says is all there."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

from icalendar import Calendar

from activities.mail.compose import Sender, wire_bytes
from activities.mail.smtp import MailAdapter, SmtpServer
from activities.notifications import Address, Notification, Recipient
from domain.models import Language, Role
from texts.links import TokenSigner, UnsubscribeSigner

SENDER = Sender("Alliance <alliance@example.org>", "https://alliance.example.org")
DEADLINE = "2026-12-12T17:00:00+00:00"


class Sent(MailAdapter):
    """The adapter as the worker builds it, keeping what it would send."""

    def __init__(self) -> None:
        super().__init__(
            SmtpServer("127.0.0.1", 1), SENDER, TokenSigner("s"), UnsubscribeSigner("s")
        )
        self.sent: list = []

    async def send(self, message, to: str) -> None:
        self.sent.append(message_from_bytes(wire_bytes(message), policy=policy.default))


def reader(pid: str = "p1", language: str = "fr", by_email: bool = True) -> Recipient:
    return Recipient(
        participant_id=pid,
        organisation_name="Jardins",
        role=Role.partner,
        language=Language(language),
        time_zone="Europe/Paris",
        token_version=1,
        by_email=by_email,
        address=Address(email=f"{pid}@example.org", person_name="Zoé"),
    )


def notice(seq: int, kind: str, **facts: str) -> Notification:
    return Notification(
        key=f"project-x/{seq}/{kind}",
        project_id="x",
        project_title="Jardins partagés",
        kind=kind,
        event_seq=seq,
        at=datetime(2026, 12, 1, 9, tzinfo=UTC),
        facts=facts,
    )


LAUNCHED = notice(1, "project_launched", territory="Lyon 8e")
DIAGNOSIS = notice(2, "phase_opened", phase="diagnosis", round="1", deadline=DEADLINE,
                   expected="p1")  # fmt: skip
PLAN = notice(9, "plan_submitted", round="1", summary="Des bacs rue Garon")
CO_DESIGN_CLOSED = notice(10, "phase_closed", phase="co_design", round="1", cause="plan_submitted",
                          closed="2026-12-01T09:00:00+00:00")  # fmt: skip
DECISION = notice(11, "phase_opened", phase="decision", round="1", deadline=DEADLINE,
                  expected="p1", summary="Des bacs rue Garon")  # fmt: skip


def calendars(message) -> list[Calendar]:
    return [
        Calendar.from_ical(p.get_content())
        for p in message.walk()
        if p.get_content_type() == "text/calendar"
    ]


def text(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\u202f", " ").replace("\u00a0", " ")


async def sent_for(adapter: Sent, notifications: list[Notification], who: Recipient) -> list:
    items = [(n, who) for n in notifications]
    for group in adapter.groups(items):
        await adapter.deliver_group(group, items)
    return adapter.sent


async def test_the_invitation_and_the_diagnosis_go_as_one_message():
    adapter = Sent()
    [message] = await sent_for(adapter, [LAUNCHED, DIAGNOSIS], reader())
    assert str(message["Subject"]) == "[Jardins partagés] Invitation à participer au projet"
    body = text(message)
    # The invitation first, then the diagnosis under its own heading, with what it asks.
    assert body.index("Territoire : Lyon 8e") < body.index("Diagnostic partagé : vos contributions")
    assert "La phase « diagnostic partagé » est ouverte jusqu’au" in body
    html = message.get_body(("html",)).get_content()
    assert "<h2" in html and "vos contributions sont attendues" in html
    # The diagnosis's calendar entry, the message's only one.
    [calendar] = calendars(message)
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(calendar.walk("VEVENT")[0]["UID"]).startswith("x.diagnosis.1@")
    # The Message-ID of the first notification's message: a retry of the batch sends the same.
    again = await sent_for(Sent(), [LAUNCHED, DIAGNOSIS], reader())
    assert again[0]["Message-ID"] == message["Message-ID"]


async def test_a_cancel_and_the_next_request_never_share_a_message():
    adapter = Sent()
    plan_and_closing, decision = await sent_for(
        adapter, [PLAN, CO_DESIGN_CLOSED, DECISION], reader()
    )
    # The plan with the co-design's withdrawn entry; the decision with its own, and its answers.
    assert "Le plan est soumis" in str(plan_and_closing["Subject"])
    assert "Co-conception : phase terminée avant l’échéance" in text(plan_and_closing)
    assert [str(c["METHOD"]) for c in calendars(plan_and_closing)] == ["CANCEL"]
    assert "Décision" in str(decision["Subject"])
    assert [str(c["METHOD"]) for c in calendars(decision)] == ["REQUEST"]
    assert "?answer=object" in text(decision)
    assert plan_and_closing["Message-ID"] != decision["Message-ID"]


async def test_two_questions_a_reply_answers_go_apart_and_alone_kinds_alone():
    adapter = Sent()
    reminder = notice(12, "reminder_sent", phase="decision", deadline=DEADLINE, round="1")
    link = notice(13, "link_resent")
    digest = notice(14, "digest")
    groups = adapter.groups([(n, reader()) for n in (DECISION, reminder, link, digest)])
    assert [g.members for g in groups] == [[0], [1], [2], [3]]
    # Nothing by e-mail for a reader told through their webhook only: no message at all.
    quiet = adapter.groups([(LAUNCHED, reader(by_email=False)), (DIAGNOSIS, reader())])
    assert [g.members for g in quiet] == [[0], [1]] and quiet[0].letters is None


async def test_each_reader_in_their_own_language():
    adapter = Sent()
    [message] = await sent_for(adapter, [LAUNCHED, DIAGNOSIS], reader("fac", "en"))
    assert "You are invited" in str(message["Subject"])
    assert "The shared diagnosis phase is open until" in text(message)


async def test_a_retry_never_tells_again_what_went_nor_reuses_its_message_id():
    """The plan and the co-design's closing went as one message, the decision's did not, and the
    reader's webhook refused the plan: the retry sends the decision alone, under an ID of its
    own (a receiver drops a repeated Message-ID, so a reused one would lose the decision)."""
    from temporalio.testing import ActivityEnvironment

    from activities.notifications import NotificationActivities, NotificationBatch

    class DecisionPutOff(Sent):
        put_off = True

        async def send(self, message, to: str) -> None:
            if self.put_off and "Décision" in str(message["Subject"]):
                raise ConnectionError("451 4.3.0 try later")
            await super().send(message, to)

    class Hook:
        name = "webhook"
        refused = {PLAN.key}

        async def deliver(self, notification: Notification, recipient: Recipient) -> None:
            if notification.key in self.refused:
                raise ConnectionError("503")

    async def book(project_id: str) -> dict[str, Address]:
        return {"p1": Address(email="p1@example.org", person_name="Zoé", webhook_url="https://h")}

    mail, hook = DecisionPutOff(), Hook()
    activities = NotificationActivities([mail, hook], book)
    told = [n.model_copy(update={"to": ["p1"]}) for n in (PLAN, CO_DESIGN_CLOSED, DECISION)]
    person = reader().model_copy(update={"address": None})
    batch = NotificationBatch(notifications=told, people=[person])
    deliveries = await ActivityEnvironment().run(activities.notify_now, batch)
    # As the workflow hands the rest to the activity that retries (workflows/messages.py).
    rest = [
        (n.model_copy(update={"to": d.pending, "webhook_only": [], "recipients": []}), d.sent)
        for n, d in zip(told, deliveries, strict=True)
        if d.pending
    ]
    retried = NotificationBatch(
        notifications=[n for n, _ in rest],
        people=[person],
        already_sent=[key for _, sent in rest for key in sent],
    )
    mail.put_off, hook.refused = False, set()
    await ActivityEnvironment().run(activities.notify_all, retried)
    subjects = [str(m["Subject"]) for m in mail.sent]
    assert len(subjects) == 2 and "Le plan est soumis" in subjects[0]
    assert "Décision" in subjects[1] and "Le plan est soumis" not in text(mail.sent[1])
    assert len({m["Message-ID"] for m in mail.sent}) == 2


def test_headers_in_encoded_words_fit_their_lines_and_read_back_whole():
    from email.mime.text import MIMEText

    from activities.mail.compose import _address, encoded_words

    subject = "[Jardins partagés du 8e] " + "Décision sur le budget participatif " * 6
    name = "Жанна Иванова-Петрова " * 10
    m = MIMEText("x")
    m["Subject"] = encoded_words(subject)
    m["To"] = _address(name.strip(), "p1@example.org")
    raw = wire_bytes(m)
    head = raw.split(b"\r\n\r\n")[0]
    # RFC 2047: a line holding encoded words is 76 characters at most (RFC 5322's limit is 998).
    assert max(len(line) for line in head.split(b"\r\n")) <= 76
    read = message_from_bytes(raw, policy=policy.default)
    assert str(read["Subject"]) == subject
    assert read["To"].addresses[0].addr_spec == "p1@example.org"
    assert read["To"].addresses[0].display_name.startswith("Жанна")


def test_the_reply_hint_never_comes_between_a_quote_and_its_introduction():
    from activities.mail.compose import compose_group, letter_for
    from texts.i18n import texts

    who = reader()
    t = texts("fr", "Europe/Paris")
    letter = letter_for(DECISION, who, "https://alliance.example.org/p/T", t)
    built = compose_group(
        [(DECISION, letter)], who, "p1@example.org", "Zoé", "https://alliance.example.org/p/T",
        SENDER, t, reply_to="reponse+abc@example.org", asking=0,
    )  # fmt: skip
    body = text(message_from_bytes(wire_bytes(built), policy=policy.default))
    hint = body.index("Vous pouvez aussi répondre à ce courriel")
    introduction = body.index("Le plan soumis à décision, en résumé :")
    assert hint < introduction < body.index("Des bacs rue Garon")
    assert body[introduction:].split("\n\n")[1].strip() == "Des bacs rue Garon"
