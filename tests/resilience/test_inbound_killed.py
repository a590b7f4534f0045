"""The inbound mail service killed in the middle of a reply's delivery: the test, as the
partner's mail server, tries again on a dropped connection or a 451 as SMTP servers do, and
once more after its 250 (as a server that lost that answer would): one answer recorded."""

from __future__ import annotations

import asyncio
import time
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
import httpx

from tests.resilience.stack import PARTNERS, Alliance, Tally, act, events_of, launch
from tests.run.test_mail_worker_killed import _links


def reply_to(address: str, text: str) -> bytes:
    message = EmailMessage()
    message["From"] = "p1@example.org"
    message["To"] = address
    message["Subject"] = "Re: Décision"
    message["Message-ID"] = make_msgid(domain="example.org")
    message["Date"] = "Sat, 05 Dec 2026 10:00:00 +0100"
    message.set_content(text)
    return message.as_bytes()


async def delivered(port: int, address: str, raw: bytes, seconds: float = 90) -> list[str]:
    """As a sending server: again after a dropped connection or a 4xx, until a 250."""
    tries: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=20) as smtp:
                await smtp.sendmail("p1@example.org", [address], raw)
            tries.append("250")
            return tries
        except aiosmtplib.SMTPRecipientsRefused as e:
            code = e.recipients[0].code
            assert 400 <= code < 500, e
            tries.append(str(code))
        except aiosmtplib.SMTPResponseException as e:
            assert 400 <= e.code < 500, e
            tries.append(str(e.code))
        except (OSError, aiosmtplib.SMTPException) as e:
            tries.append(type(e).__name__)
        await asyncio.sleep(1)
    raise AssertionError(f"not delivered: {tries}")


async def test_the_inbound_service_killed_mid_delivery_records_one_answer(alliance: Alliance):
    tally = Tally()
    async with httpx.AsyncClient(base_url=alliance.url, timeout=30) as http:
        project = await launch(http, tally, "Réponses par courriel")
        for pid in PARTNERS:
            body = {"kind": "need", "text": f"besoin de {pid}"}
            await act(project, "POST", "/contributions", pid, body, tally)
        proposal = await act(
            project, "POST", "/proposals", "p1", {"title": "Bacs", "description": "x"}, tally
        )
        plan = {"proposal_ids": [proposal["item_id"]], "summary": "Plan"}
        await act(project, "POST", "/plan", "fac", plan, tally)
        address = None
        for _ in range(300):
            asking = [
                m
                for m in alliance.catcher.messages()
                if m["Reply-To"] is not None
                and str(m["X-Alliance-Envelope-To"]) == "p1@example.org"
                and project.id in _links(m)
            ]
            if asking:
                address = str(asking[-1]["Reply-To"])
                break
            await asyncio.sleep(0.1)
        assert address and address.startswith("reponse+"), address
        raw = reply_to(address, "OUI")

        # The session begun (the recipient accepted), then the service killed before DATA.
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=alliance.inbound_port, timeout=20)
        await smtp.connect()
        await smtp.ehlo()
        await smtp.mail("p1@example.org")
        await smtp.rcpt(address)
        await asyncio.to_thread(alliance.kill, "the inbound mail service")
        try:
            await smtp.data(raw)
            cut = False
        except (OSError, aiosmtplib.SMTPException):
            cut = True
        assert cut, "the delivery went through a killed service"
        tries = await delivered(alliance.inbound_port, address, raw)
        again = await delivered(alliance.inbound_port, address, raw)  # its 250 lost: sent again
        for _ in range(100):
            answers = [
                e
                for e in await events_of(project)
                if e["type"] == "answer_given" and e["participant_id"] == "p1"
            ]
            if answers:
                break
            await asyncio.sleep(0.1)
    assert [(a["kind"], a["mail"]) for a in answers] == [("consent", {"signed": False})]
    print(f"inbound service killed mid-delivery: tries {tries}, then {again}; one answer")
