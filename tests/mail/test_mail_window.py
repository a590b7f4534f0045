"""The mail window (issue 29): a project holds its news for the window its first piece opened,
then tells each reader all of it in as few messages as it may; a step opened and closed within
the window is not told; a project that ends sends what it held at once (time-skipped, a real
SMTP server on loopback)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from icalendar import Calendar

from activities.mail.catcher import MailCatcher, read_messages
from domain import commands as cmd
from tests.helpers import Driver, actor, free_port, make_spec
from tests.mail.test_digests import new, settled, to
from tests.mail.test_mail_outage import EVERYONE, PARTNERS, mail_settings, with_addresses
from worker import build_worker

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
