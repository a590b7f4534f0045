"""The mail window (issue 29): a project holds its news for the window its first piece opened,
then tells each reader all of it in as few messages as it may; a step opened and closed within
the window is not told; a project that ends sends what it held at once (time-skipped, a real
SMTP server on loopback)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from icalendar import Calendar

from activities.mail.catcher import MailCatcher, read_messages
from activities.notifications import Notification
from domain import commands as cmd
from tests.helpers import Driver, actor, free_port, make_spec
from tests.mail.test_digests import new, settled, to
from tests.mail.test_mail_outage import EVERYONE, PARTNERS, mail_settings, with_addresses
from worker import build_worker
from workflows.messages import told_of

WINDOW = 120


def calendar_uids(message) -> list[tuple[str, str]]:
    found = []
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            cal = Calendar.from_ical(part.get_content())
            found += [(str(cal["METHOD"]), str(e["UID"])) for e in cal.walk("VEVENT")]
    return found


def text(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\u00a0", " ")


async def test_news_told_together_once_the_window_ends(timed, tmp_path):
    env, h = timed
    folder, port = tmp_path / "caught", free_port()
    settings = mail_settings(h, port, "mail-window")
    spec = make_spec(3)
    await with_addresses(settings, spec.id)
    async with (
        MailCatcher(folder, port=port),
        build_worker(h.client, settings, workflow_failure_exception_types=[Exception]),
    ):
        d = await Driver.start(h.client, spec, "mail-window", mail_window_seconds=WINDOW)
        # Within the window: the launch, the diagnosis opened and closed, the co-design opened.
        await d.contribute_all(PARTNERS)
        assert (await d.view()).phase == "co_design"
        await asyncio.sleep(1)
        assert read_messages(folder) == []  # held
        await env.sleep(timedelta(seconds=WINDOW + 10))
        first = await settled(folder)
        # One message each: the invitation, and the co-design open in the calendar. Of the
        # diagnosis, opened and closed within the window, nothing (nor its calendar entry).
        assert sorted(to(m) for m in first) == sorted(EVERYONE)
        p1 = next(m for m in first if to(m) == "p1")
        assert str(p1["Subject"]) == "[Jardins partagés du 8e] Invitation à participer au projet"
        assert [(method, uid.split(".")[1]) for method, uid in calendar_uids(p1)] == [
            ("REQUEST", "co_design")
        ]
        assert "Co-conception" in text(p1) and "Diagnostic" not in text(p1)
        assert "Diagnostic partagé" not in " ".join(str(m["Subject"]) for m in first)

        # A new personal link goes at once, window or not: the old one stopped working.
        await d.act(cmd.ResendLink(actor=actor("coord"), participant_id="p2"))
        resent = new(await settled(folder), first)
        assert [to(m) for m in resent] == ["p2"] and "lien personnel" in str(resent[0]["Subject"])
        first += resent

        # The plan, in a later window: the co-design's entry, told before, is withdrawn apart
        # from the decision's.
        await d.plan([await d.propose("p1")])
        await env.sleep(timedelta(seconds=WINDOW + 10))
        second = new(await settled(folder), first)
        mine = [m for m in second if to(m) == "p1"]
        assert sorted(m for mm in mine for m, _ in calendar_uids(mm)) == ["CANCEL", "REQUEST"]
        assert len(second) == 2 * len(EVERYONE)

        # A project that ends sends what it held at once, without waiting for the window.
        await d.act(cmd.Cancel(actor=actor("coord"), reason="Financement retiré"))
        await d.handle.result()
        third = new(await settled(folder), first, second)
    assert sorted(to(m) for m in third) == sorted(EVERYONE)
    assert all("Financement retiré" in text(m) for m in third)


def held(seq: int, kind: str, **facts: str) -> Notification:
    return Notification(key=f"project-x/{seq}/{kind}", project_id="x", project_title="J",
                        kind=kind, event_seq=seq, to=["p1", "p2"], facts=facts)  # fmt: skip


OPENED = held(2, "phase_opened", phase="decision", round="1", deadline="2026-12-12T17:00:00+00:00")
CLOSED = held(5, "phase_closed", phase="decision", round="1", cause="complete")
DECIDED = held(6, "decision_reached", round="1", outcome="adopted")


def test_a_step_opened_and_closed_within_the_window_goes_by_webhook_only():
    told = told_of([OPENED, DECIDED, CLOSED], {("decision", "1", "")})
    # Not by e-mail (nothing to answer any more, no calendar entry to withdraw); its webhook
    # readers still get both events; the decision is told.
    assert [(n.kind, n.webhook_only) for n in told] == [
        ("phase_opened", ["p1", "p2"]),
        ("decision_reached", []),
        ("phase_closed", ["p1", "p2"]),
    ]
    assert all(n.to == ["p1", "p2"] for n in told)


def test_a_step_still_open_or_put_in_the_calendar_meanwhile_is_told_in_full():
    # Reopened within the window: not among the steps closed meanwhile.
    assert told_of([OPENED, CLOSED], set()) == [OPENED, CLOSED]
    # Its text to answer put it in the calendar (a REQUEST, a Reply-To): its opening and its
    # closing's CANCEL go with it.
    text = held(3, "plan_submitted", phase="decision", round="1", answers_open="yes",
                deadline="2026-12-12T17:00:00+00:00")  # fmt: skip
    told = told_of([OPENED, text, CLOSED], {("decision", "1", "")})
    assert all(n.webhook_only == [] for n in told)
    # Another step's closing changes nothing of this one.
    assert told_of([OPENED], {("co_design", "1", "")}) == [OPENED]
