"""How much mail each participant chose: every message, a daily digest, or the essentials only
(time-skipped, a real SMTP server on loopback)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from activities.mail.catcher import MailCatcher, read_messages
from domain import commands as cmd
from tests.helpers import Driver, actor, free_port, make_spec
from tests.mail.test_mail_outage import EVERYONE, PARTNERS, mail_settings, with_addresses
from worker import build_worker


def to(message) -> str:
    return str(message["X-Alliance-Envelope-To"]).split("@")[0]


def new(messages: list, *earlier: list) -> list:
    seen = {m["Message-ID"] for batch in earlier for m in batch}
    return [m for m in messages if m["Message-ID"] not in seen]


async def settled(folder, seconds: float = 3) -> list:
    """The messages once no new one arrived for a moment."""
    count, still = -1, 0
    for _ in range(int(seconds / 0.1) * 10):
        messages = read_messages(folder)
        still = still + 1 if len(messages) == count else 0
        count = len(messages)
        if still >= 10:
            return messages
        await asyncio.sleep(0.1)
    return read_messages(folder)


async def test_every_message_a_daily_digest_or_the_essentials_only(timed, tmp_path):
    env, h = timed
    folder, port = tmp_path / "caught", free_port()
    settings = mail_settings(h, port, "digests")
    spec = make_spec(3)
    await with_addresses(settings, spec.id)
    async with (
        MailCatcher(folder, port=port),
        build_worker(h.client, settings, workflow_failure_exception_types=[Exception]),
    ):
        d = await Driver.start(h.client, spec, "digests")
        # p1 keeps every message; p2 wants a digest at 8 (Paris); p3 the essentials only.
        await d.act(cmd.UpdateMyContact(actor=actor("p2"), notifications="digest", digest_hour=8))
        await d.act(cmd.UpdateMyContact(actor=actor("p3"), notifications="essentials"))
        launch = await settled(folder)
        # The invitation with the diagnosis, one message each, before the choice.
        assert sorted(to(m) for m in launch) == sorted(EVERYONE)

        # A day's work: the diagnosis closes, co-design opens, the plan goes to decision.
        await d.contribute_all(PARTNERS)
        await d.plan([await d.propose("p1")])
        day_one = new(await settled(folder), launch)
        told = {}
        for m in day_one:
            told.setdefault(to(m), []).append(str(m["Subject"]))
        # Every message: 2 early closings, 2 openings and the plan, in 4 messages (the plan
        # tells the co-design closed; each opening's calendar entry goes apart).
        assert len(told["p1"]) == 4
        assert sum("Le plan est soumis" in s and "Co-conception" not in s for s in told["p1"]) == 1
        assert "p2" not in told  # waiting for the digest
        assert "p3" not in told  # none of these is essential

        await env.sleep(timedelta(days=1))  # past 8 o'clock in Paris
        digests = new(await settled(folder), launch, day_one)
        assert [to(m) for m in digests] == ["p2"]
        digest = digests[0]
        assert "résumé du jour\u00a0: 5 nouvelles" in str(digest["Subject"])
        text = digest.get_body(("plain",)).get_content()
        for news in ("Le plan est soumis à la décision", "Co-conception : phase terminée avant l’échéance",
                     "Décision : votre réponse est attendue"):  # fmt: skip
            assert news.replace(" :", "\u00a0:") in text
        assert not [p for p in digest.walk() if p.get_content_type() == "text/calendar"]

        # The decision: essential, so p3 is told at once; p2 in tomorrow's digest.
        for pid in PARTNERS:
            await d.answer(pid)
        day_two = new(await settled(folder), launch, day_one, digests)
        decided = {to(m) for m in day_two if "Décision\u00a0: adopté" in str(m["Subject"])}
        assert decided == {"coord", "fac", "obs", "p1", "p3"}
        await env.sleep(timedelta(days=1))
        later = new(await settled(folder), launch, day_one, digests, day_two)
        assert [to(m) for m in later] == ["p2"] and "adopté" in later[0].get_body(
            ("plain",)
        ).get_content()


async def test_ten_digest_readers_cost_one_timer_per_digest_hour_with_news(timed, tmp_path):
    env, h = timed
    spec = make_spec(10)
    async with build_worker(
        h.client,
        h.settings.model_copy(update={"task_queue": "digest-timers"}),
        notifier=h.outbox,
        workflow_failure_exception_types=[Exception],
    ):
        d = await Driver.start(h.client, spec, "digest-timers")
        partners = [f"p{n}" for n in range(1, 11)]
        for pid in partners:
            await d.act(
                cmd.UpdateMyContact(actor=actor(pid), notifications="digest", digest_hour=8)
            )
        before = await timers(d)
        await d.contribute_all(partners)  # news for all ten: the diagnosis closes, co-design opens
        await env.sleep(timedelta(days=3))  # one digest hour with news, then two without
        after = await timers(d)
    assert after - before <= 1 + 1  # the digest's, and the co-design's deadline timer
    digests = [m for m in h.outbox.read(spec.id) if m["kind"] == "digest"]
    assert sorted(m["to"] for m in digests) == sorted(partners)


async def timers(d: Driver) -> int:
    history = await d.handle.fetch_history()
    return sum(1 for e in history.events if e.HasField("timer_started_event_attributes"))


async def test_a_digest_follows_a_change_of_mind(timed, tmp_path):
    """Unsubscribing drops the news waiting for a digest; every message sends it at once;
    a midnight digest is a choice like any other."""
    env, h = timed
    queue = "digest-changes"
    spec = make_spec(3)
    async with build_worker(
        h.client,
        h.settings.model_copy(update={"task_queue": queue}),
        notifier=h.outbox,
        workflow_failure_exception_types=[Exception],
    ):
        d = await Driver.start(h.client, spec, queue)
        for pid in ("p1", "p2"):
            await d.act(
                cmd.UpdateMyContact(actor=actor(pid), notifications="digest", digest_hour=0)
            )
        await d.contribute_all(PARTNERS)  # news for both digests
        await d.act(cmd.UpdateMyContact(actor=actor("p1"), notifications="essentials"))
        await d.act(cmd.UpdateMyContact(actor=actor("p2"), notifications="every"))
        await asyncio.sleep(1)
        sent_now = [m["to"] for m in h.outbox.read(spec.id) if m["kind"] == "digest"]
        assert sent_now == ["p2"]  # every message: what waited goes at once
        await env.sleep(timedelta(days=2))
        digests = [m["to"] for m in h.outbox.read(spec.id) if m["kind"] == "digest"]
        assert digests == ["p2"]  # p1 chose the essentials: its news was dropped
        view = await d.view()
        assert {p.id: p.digest_hour for p in view.participants}["p1"] == 0
