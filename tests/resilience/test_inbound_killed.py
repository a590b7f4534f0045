"""The inbound mail service killed in the middle of a reply's delivery (the message sent, the
service waiting on Temporal to record it): the test, as the partner's mail server, tries again
on a dropped connection or a 4xx as SMTP servers do, and once more after its 250 (as a server
that lost that answer would): one answer recorded. Delivered again after the partner changed
their answer on the page, the same mail does not turn it back."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
import httpx

from tests.helpers import projects_named_in
from tests.resilience.stack import Alliance, Tally, act, events_of, launch, the_diagnosis, the_plan


def reply_to(address: str, text: str) -> bytes:
    message = EmailMessage()
    message["From"] = "p1@example.org"
    message["To"] = address
    message["Subject"] = "Re: Décision"
    message["Message-ID"] = make_msgid(domain="example.org")
    message["Date"] = "Sat, 05 Dec 2026 10:00:00 +0100"
    message.set_content(text)
    return message.as_bytes()


async def attempt(port: int, address: str, raw: bytes) -> str:
    """One delivery: "250", the 4xx code, or how the connection ended."""
    try:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30) as smtp:
            await smtp.sendmail("p1@example.org", [address], raw)
        return "250"
    except aiosmtplib.SMTPRecipientsRefused as e:
        return str(e.recipients[0].code)
    except aiosmtplib.SMTPResponseException as e:
        return str(e.code)
    except (OSError, aiosmtplib.SMTPException) as e:
        return type(e).__name__


async def answers_of(project, at_least: int) -> list[dict]:
    for _ in range(100):
        answers = [
            e
            for e in await events_of(project)
            if e["type"] == "answer_given" and e["participant_id"] == "p1"
        ]
        if len(answers) >= at_least:
            return answers
        await asyncio.sleep(0.1)
    return answers


async def delivered(port: int, address: str, raw: bytes, seconds: float = 90) -> list[str]:
    """As a sending server: again after a dropped connection or a 4xx, until a 250."""
    tries: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        tries.append(await attempt(port, address, raw))
        if tries[-1] == "250":
            return tries
        assert not tries[-1].startswith("5"), tries  # never refused for good
        await asyncio.sleep(1)
    raise AssertionError(f"not delivered: {tries}")


async def test_the_inbound_service_killed_mid_delivery_records_one_answer(alliance: Alliance):
    tally = Tally()
    async with httpx.AsyncClient(base_url=alliance.url, timeout=30) as http:
        project = await launch(http, tally, "Réponses par courriel")
        await the_diagnosis(project, tally)
        await the_plan(project, tally)
        address = None
        for _ in range(300):
            asking = [
                m
                for m in alliance.catcher.messages()
                if m["Reply-To"] is not None
                and str(m["X-Alliance-Envelope-To"]) == "p1@example.org"
                and project.id in projects_named_in(m)
            ]
            if asking:
                address = str(asking[-1]["Reply-To"])
                break
            await asyncio.sleep(0.1)
        assert address and address.startswith("reponse+"), address
        raw = reply_to(address, "OUI")

        # Mid-delivery: the message sent whole, the service waiting on Temporal (stopped for
        # the moment) to record it, then killed before it answers.
        server = alliance.pids("the Temporal dev server")[-1]
        os.kill(server, signal.SIGSTOP)
        try:
            first = asyncio.create_task(attempt(alliance.inbound_port, address, raw))
            await asyncio.sleep(1.5)
            assert not first.done(), "the service answered without Temporal"
            await asyncio.to_thread(alliance.kill, "the inbound mail service")
        finally:
            os.kill(server, signal.SIGCONT)
        cut = await first
        assert cut != "250", cut
        tries = await delivered(alliance.inbound_port, address, raw)
        again = await delivered(alliance.inbound_port, address, raw)  # its 250 lost: sent again
        answers = await answers_of(project, at_least=1)
        assert [(a["kind"], a["mail"]) for a in answers] == [("consent", {"signed": False})]

        # The partner changes their mind on the page; the same mail delivered once more (a
        # server that never saw the 250) does not turn the answer back.
        changed = {"kind": "object", "reason": "Le terrain est inondable"}
        await act(project, "PUT", "/answer", "p1", changed, tally)
        late = await delivered(alliance.inbound_port, address, raw)
        await asyncio.sleep(1)
        answers = await answers_of(project, at_least=2)
    assert [(a["kind"], a["mail"] is not None) for a in answers] == [
        ("consent", True),
        ("object", False),
    ], answers
    print(
        f"inbound service killed mid-delivery ({cut}): tries {tries}, then {again}, {late}; "
        "one answer"
    )
