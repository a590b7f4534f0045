"""Answering by replying to the e-mail, over real SMTP on loopback: the worker's decision mail
carries a reply address; a reply sent to the inbound service records the answer through the
workflow's update (once, however often it is delivered) and a confirmation comes back. Forged,
borrowed, expired or revoked addresses, other senders, a failing DMARC policy, machines' mail,
relaying, size and rate are refused in the SMTP session; with the worker stopped, 451, then the
answer recorded once when the sending side tries again."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import aiosmtplib
import httpx
import pytest

from activities.mail.catcher import MailCatcher
from api.app import create_app
from directory.store import LazyDirectory
from directory.tables import ReplyAddress
from inbound.auth import Authenticator
from inbound.server import serve
from inbound.tokens import ReplyTokens
from tests.api_helpers import COORD, ApiProject, project_body
from tests.conftest import MAIL_SITE, Harness, api_settings, make_harness_settings
from tests.helpers import free_port
from worker import build_worker

PARTNERS = ["p1", "p2", "p3"]
DOMAIN = "reponses.alliance.test"
DNS = {"_dmarc.strict.example": ["v=DMARC1; p=reject"]}


@dataclass
class Inbound:
    http: httpx.AsyncClient
    catcher: MailCatcher
    port: int
    harness: Harness
    directory: LazyDirectory

    async def wait_for(self, found, seconds: float = 20) -> list[EmailMessage]:
        for _ in range(int(seconds / 0.1)):
            messages = self.catcher.messages()
            if found(messages):
                return messages
            await asyncio.sleep(0.1)
        raise AssertionError(f"not received: {[m['Subject'] for m in self.catcher.messages()]}")

    async def send(self, sender: str, to: str, message: EmailMessage | bytes) -> None:
        raw = message.as_bytes() if isinstance(message, EmailMessage) else message
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=self.port, timeout=20) as smtp:
            errors, _ = await smtp.sendmail(sender, [to], raw)
            assert not errors, errors


def body_with_emails() -> dict:
    body = project_body(3)
    for p in body["participants"]:
        p["email"] = f"{p['id']}@example.org"
    return body


@pytest.fixture
async def inbound(dev_env, tmp_path: Path) -> AsyncIterator[Inbound]:
    port = free_port()
    async with MailCatcher(tmp_path / "mail", port=free_port()) as catcher:
        settings = make_harness_settings(
            tmp_path,
            notifications="email",
            smtp_port=catcher.port,
            api_url=MAIL_SITE,
            mail_from="Alliance <alliance@localhost>",
            reply_domain=DOMAIN,
            inbound_per_minute=50,
            inbound_rpc_timeout_seconds=2.0,
            inbound_port=port,
        )
        harness = Harness(
            dev_env.client, api_settings(Harness(dev_env.client, settings, None)), None
        )
        app = create_app(harness.settings, client=dev_env.client)
        directory = LazyDirectory(harness.settings.directory_address)
        server = await serve(
            harness.settings,
            dev_env.client,
            directory,
            authenticator=Authenticator(lambda name: DNS.get(name, [])),
            port=port,
        )
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=MAIL_SITE
            ) as http:
                yield Inbound(http, catcher, port, harness, directory)
        finally:
            server.close()
            await server.wait_closed()
            await directory.close()
            await app.state.gateway.close()


def reply(to: str, sender: str, text: str, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = headers.pop("Subject", "Re: [Jardins partagés] Décision")
    message["Message-ID"] = headers.pop("Message_ID", make_msgid(domain="example.org"))
    message["Date"] = "Tue, 01 Dec 2026 10:00:00 +0100"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message


async def decision_mails(inbound: Inbound, project: ApiProject) -> dict[str, EmailMessage]:
    """Each partner's mail asking its answer, by participant."""

    def asking(messages: list[EmailMessage]) -> dict[str, EmailMessage]:
        return {
            str(m["X-Alliance-Envelope-To"]).split("@")[0]: m
            for m in messages
            if m["Reply-To"] is not None
        }

    await inbound.wait_for(lambda ms: set(PARTNERS) <= set(asking(ms)))
    return asking(inbound.catcher.messages())


async def answers_of(project: ApiProject) -> list[dict]:
    events = (await project.ok("GET", "/events?limit=1000", "coordinator-credential"))["events"]
    return [e["data"] for e in events if e["data"]["type"] == "answer_given"]


@pytest.fixture
async def running(inbound) -> AsyncIterator[tuple[Inbound, ApiProject, dict[str, EmailMessage]]]:
    async with build_worker(inbound.harness.client, inbound.harness.settings):
        project = await ApiProject.launch(inbound.http, body_with_emails())
        await project.to_decision(PARTNERS)
        yield inbound, project, await decision_mails(inbound, project)


async def test_a_reply_non_with_its_reason_is_an_objection_recorded_once(running):
    inbound, project, mails = running
    address = str(mails["p1"]["Reply-To"])
    assert address.startswith("reponse+") and address.endswith("@" + DOMAIN)
    assert len(address.split("@")[0]) <= 64
    assert "répondre à ce courriel" in mails["p1"].get_body(("plain",)).get_content()
    message = reply(
        address, "P1@Example.org",
        "NON, le budget ne couvre pas l'animation\n\nLe mar. 1 déc. 2026 à 10:00, Alliance "
        f"<{address}> a écrit :\n> Votre réponse est attendue",
    )  # fmt: skip
    await inbound.send("p1@example.org", address, message)
    await inbound.send("p1@example.org", address, message)  # delivered twice
    (given,) = [a for a in await answers_of(project) if a["participant_id"] == "p1"]
    assert (given["kind"], given["reason"]) == ("object", "le budget ne couvre pas l'animation")
    assert given["mail"] == {"signed": False}
    confirmed = await inbound.wait_for(
        lambda ms: any("Votre réponse est enregistrée" in str(m["Subject"]) for m in ms)
    )
    confirmation = next(
        m for m in confirmed if "Votre réponse est enregistrée" in str(m["Subject"])
    )
    assert str(confirmation["X-Alliance-Envelope-To"]) == "p1@example.org"
    assert confirmation["Auto-Submitted"] == "auto-replied"
    text = confirmation.get_body(("plain",)).get_content()
    assert "vous objectez" in text and "le budget ne couvre pas l'animation" in text
    assert f"{MAIL_SITE}/p/" in text


async def test_replies_that_are_not_the_owners_or_not_valid_are_refused_in_the_session(running):
    inbound, project, mails = running
    address = str(mails["p1"]["Reply-To"])
    tokens = ReplyTokens("test-secret")

    async def refused_at_rcpt(sender: str, to: str) -> str:
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            await inbound.send(sender, to, reply(to, sender, "OUI"))
        (refusal,) = refused.value.recipients
        assert refusal.code in (550, 452), refusal
        return refusal.message

    forged = f"reponse+{'a' * 24}@{DOMAIN}"
    assert "No such reply address" in await refused_at_rcpt("p1@example.org", forged)
    # Another participant's address, or the owner's address borrowed by someone else: refused
    # once From: is read (the envelope sender may be rewritten by a gateway), never saying whose.
    with pytest.raises(aiosmtplib.SMTPDataError) as borrowed:
        await inbound.send("p2@example.org", address, reply(address, "p2@example.org", "OUI"))
    assert borrowed.value.code == 550 and "another sender" in borrowed.value.message
    assert "p1@example.org" not in borrowed.value.message
    assert "Relaying denied" in await refused_at_rcpt("p1@example.org", "ami@gmail.com")
    assert "receives no mail" in await refused_at_rcpt("p1@example.org", "alliance@localhost")
    # Expired: the row's expiry passed.
    row_id = tokens.from_address(str(mails["p2"]["Reply-To"]), DOMAIN)
    directory = await inbound.directory.get()
    async with directory._writes.begin() as session:
        row = await session.get(ReplyAddress, row_id.hex())
        row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    assert "expired" in await refused_at_rcpt("p2@example.org", str(mails["p2"]["Reply-To"]))
    # Revoked: the coordinator sent p3 a new link.
    await project.ok("POST", "/participants/p3/link", "coordinator-credential")
    assert "revoked" in await refused_at_rcpt("p3@example.org", str(mails["p3"]["Reply-To"]))
    assert await answers_of(project) == []


async def test_dmarc_failures_and_machines_mail_record_nothing_and_get_no_reply(running):
    inbound, project, mails = running
    address = str(mails["p1"]["Reply-To"])
    before = len(inbound.catcher.messages())
    # An out-of-office reply from the owner: taken, dropped, never answered.
    await inbound.send("p1@example.org", address,
                       reply(address, "p1@example.org", "Je suis absente jusqu'au 15",
                             Subject="Réponse automatique : [Jardins partagés] Décision",
                             Auto_Submitted="auto-replied"))  # fmt: skip
    # A From: that is not the owner's, the envelope being.
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await inbound.send("p1@example.org", address, reply(address, "autre@example.org", "OUI"))
    assert refused.value.code == 550
    await asyncio.sleep(0.5)
    assert len(inbound.catcher.messages()) == before
    assert await answers_of(project) == []


async def test_a_domain_whose_policy_rejects_an_unsigned_reply_is_refused_after_data(inbound):
    async with build_worker(inbound.harness.client, inbound.harness.settings):
        body = body_with_emails()
        for p in body["participants"]:
            if p["id"] == "p1":
                p["email"] = "p1@strict.example"
        project = await ApiProject.launch(inbound.http, body)
        await project.to_decision(PARTNERS)
        mails = await decision_mails(inbound, project)
        address = str(mails["p1"]["Reply-To"])
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await inbound.send("p1@strict.example", address,
                               reply(address, "p1@strict.example", "OUI"))  # fmt: skip
        assert refused.value.code == 550 and "DMARC" in refused.value.message
        assert await answers_of(project) == []


async def test_a_reply_not_understood_records_nothing_and_its_sender_is_told_how(running):
    inbound, project, mails = running
    address = str(mails["p2"]["Reply-To"])
    await inbound.send("p2@example.org", address, reply(address, "p2@example.org", "NON"))
    told = await inbound.wait_for(
        lambda ms: any("pas été comprise" in str(m["Subject"]) for m in ms)
    )
    letter = next(m for m in told if "pas été comprise" in str(m["Subject"]))
    assert "besoin de sa raison" in letter.get_body(("plain",)).get_content()
    assert await answers_of(project) == []
    await inbound.send("p2@example.org", address,
                       reply(address, "p2@example.org", "Abstention"))  # fmt: skip
    assert [a["kind"] for a in await answers_of(project)] == ["abstain"]


async def test_size_and_rate_are_limited(running):
    inbound, _, mails = running
    address = str(mails["p1"]["Reply-To"])
    big = reply(address, "p1@example.org", "OUI\n" + "x" * (300 * 1024))
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await inbound.send("p1@example.org", address, big)
    assert refused.value.code == 552
    with pytest.raises(aiosmtplib.SMTPResponseException) as limited:
        for _ in range(60):
            async with aiosmtplib.SMTP(hostname="127.0.0.1", port=inbound.port) as smtp:
                await smtp.mail("p1@example.org")
    assert limited.value.code == 451


async def test_with_the_worker_stopped_a_reply_gets_451_and_is_recorded_once_on_retry(inbound):
    async with build_worker(inbound.harness.client, inbound.harness.settings):
        project = await ApiProject.launch(inbound.http, body_with_emails())
        await project.to_decision(PARTNERS)
        mails = await decision_mails(inbound, project)
    address = str(mails["p1"]["Reply-To"])
    message = reply(address, "p1@example.org", "OUI, d'accord")
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as later:
        await inbound.send("p1@example.org", address, message)
    assert later.value.recipients[0].code == 451
    async with build_worker(inbound.harness.client, inbound.harness.settings):
        await inbound.send("p1@example.org", address, message)  # the sending side retries
        await inbound.send("p1@example.org", address, message)
        given = [a for a in await answers_of(project) if a["participant_id"] == "p1"]
        assert [(a["kind"], a["reason"]) for a in given] == [("consent", "d'accord")]


async def test_the_local_mail_page_replies_to_a_message_and_says_what_the_service_answered(
    running,
):
    inbound, project, mails = running
    name = next(
        path.stem
        for path in sorted((inbound.harness.settings.mail_dir).glob("*.eml"))
        if "reponse+" in path.read_text(errors="replace")
        and "p2@example.org" in path.read_text(errors="replace")
    )
    page = await inbound.http.get(f"/courrier/{name}")
    assert page.status_code == 200 and "Répondre à ce courriel" in page.text
    key = re.search(r'name="reply_key" value="([^"]+)"', page.text).group(1)
    forged = await inbound.http.post(
        f"/courrier/{name}/reponse", data={"reply_key": "x", "text": "OUI"}
    )
    assert forged.status_code == 404
    sent = await inbound.http.post(
        f"/courrier/{name}/reponse",
        data={"reply_key": key, "text": "NON, pas de budget pour l'animation"},
    )
    assert sent.status_code == 303
    shown = await inbound.http.get(sent.headers["location"])
    assert "250" in shown.text and "Your answer is recorded" in shown.text
    (given,) = await answers_of(project)
    assert (given["participant_id"], given["kind"]) == ("p2", "object")


async def test_a_reply_to_a_review_records_its_choice(inbound):
    from tests.helpers import REVIEWED

    async with build_worker(inbound.harness.client, inbound.harness.settings):
        created = await inbound.http.post("/templates", json=REVIEWED, headers=COORD)
        assert created.status_code == 201, created.text
        project = await ApiProject.launch(
            inbound.http, body_with_emails() | {"template": {"id": "jardins-revus"}}
        )
        proposal = (
            await project.ok("POST", "/proposals", "p1", {"title": "Bacs", "description": "d"})
        )["item_id"]
        soon = datetime.now(UTC) + timedelta(seconds=3)
        await project.ok("POST", "/plan", "fac", {"proposal_ids": [proposal],
                                                  "summary": "Des bacs",
                                                  "review_on": soon.isoformat()})  # fmt: skip
        for pid in PARTNERS:
            await project.ok("PUT", "/answer", pid, {"kind": "consent"})

        def review_mails(messages: list[EmailMessage]) -> list[EmailMessage]:
            return [
                m
                for m in messages
                if m["Reply-To"] and "revue" in m.get_body(("plain",)).get_content().lower()
            ]

        mails = await inbound.wait_for(lambda ms: len(review_mails(ms)) >= 3)
        mail = next(m for m in review_mails(mails) if "p2@" in str(m["X-Alliance-Envelope-To"]))
        assert "MAINTENIR" in mail.get_body(("plain",)).get_content()
        address = str(mail["Reply-To"])
        await inbound.send("p2@example.org", address,
                           reply(address, "p2@example.org", "AMENDER, arroser aussi le mercredi"))  # fmt: skip
        view = await project.view()
        (given,) = view["review_answers"]
        assert (given["participant_id"], given["choice"], given["reason"]) == (
            "p2",
            "amend",
            "arroser aussi le mercredi",
        )
        assert given["mail"] == {"signed": False}


async def test_a_late_reply_answers_nothing_and_malformed_mail_is_refused_not_crashed(running):
    inbound, project, mails = running
    address = str(mails["p1"]["Reply-To"])
    for pid in PARTNERS:  # the decision is taken on the pages meanwhile
        await project.ok("PUT", "/answer", pid, {"kind": "consent"})
    assert (await project.view())["phase"] != "decision"
    await inbound.send(
        "p1@example.org", address, reply(address, "p1@example.org", "NON, trop tard ?")
    )
    told = await inbound.wait_for(
        lambda ms: any("pas été enregistrée" in str(m["Subject"]) for m in ms)
    )
    assert any("p1@example.org" in str(m["X-Alliance-Envelope-To"]) for m in told
               if "pas été enregistrée" in str(m["Subject"]))  # fmt: skip
    assert [a.get("mail") for a in await answers_of(project)] == [None, None, None]
    for broken in (b'From: "\r\nSubject: x\r\n\r\nOUI\r\n',
                   b"From: <\r\nMessage-ID: <\r\n\r\nOUI\r\n",
                   b"From: a@[\r\n\r\nOUI\r\n"):  # fmt: skip
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await inbound.send("p1@example.org", address, broken)
        assert refused.value.code == 550, refused.value
