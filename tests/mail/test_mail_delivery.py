"""A whole project's mail, sent by the worker to a real SMTP server on loopback (aiosmtpd),
read back as its recipients would: who gets what, in which language, the links, the calendar."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from email.message import EmailMessage

import httpx
from icalendar import Calendar

from tests.api_helpers import ApiProject, project_body
from tests.conftest import MAIL_SITE as SITE
from tests.conftest import Mailing

PARTNERS = ["p1", "p2", "p3"]


def everyone_with_an_address() -> dict:
    body = project_body(3, process={"decision": {"duration": "PT2H", "reminders": ["PT1H59M54S"]}})
    for p in body["participants"]:
        p["email"] = f"{p['id']}@example.org"
        p["person_name"] = {"fac": "Camille Martin", "p1": "Zoé Durand"}.get(p["id"], "")
    # The facilitator reads English; everyone else French (the default).
    next(p for p in body["participants"] if p["id"] == "fac")["language"] = "en"
    return body


def to(message: EmailMessage) -> str:
    return str(message["X-Alliance-Envelope-To"]).split("@")[0]


def spaced(text: str) -> str:
    """French keeps its no-break spaces (« Décision : »); written here as spaces."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def of_kind(messages: list[EmailMessage], subject_part: str) -> dict[str, EmailMessage]:
    return {to(m): m for m in messages if subject_part in spaced(str(m["Subject"]))}


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def calendar_of(message: EmailMessage) -> tuple[str, dict]:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") in ("REQUEST", "CANCEL")
    cal = Calendar.from_ical(part.get_content())
    entry = cal.walk("VEVENT")[0]
    return str(cal["METHOD"]), entry


def links_in(message: EmailMessage) -> list[str]:
    return re.findall(rf"{re.escape(SITE)}/p/[^\s\"<]+", text_of(message))


async def open_link(http: httpx.AsyncClient, link: str) -> httpx.Response:
    http.cookies.clear()
    return await http.get(link, follow_redirects=True)


async def test_a_whole_project_by_mail(mailing: Mailing):
    http = mailing.http
    project = await ApiProject.launch(http, everyone_with_an_address())
    everyone = {"coord", "fac", "obs", *PARTNERS}

    # Launch: one message each (since 1.3), the invitation with the personal link, then the
    # diagnosis open, in the calendar.
    messages = await mailing.wait_for(lambda ms: len(ms) >= len(everyone))
    await asyncio.sleep(0.3)
    assert sorted(to(m) for m in mailing.messages()) == sorted(everyone)
    invited = of_kind(messages, "Invitation à participer")
    assert set(invited) == everyone - {"fac"}
    assert set(of_kind(messages, "You are invited")) == {"fac"}
    p1 = invited["p1"]
    assert p1["Subject"] == "[Jardins partagés] Invitation à participer au projet"
    assert "Bonjour Zoé Durand," in text_of(p1) and "Partenaire 1" in text_of(p1)
    assert "Zoé Durand" in str(p1["To"]) and p1["Content-Language"] == "fr"
    assert p1.get_body(("html",)) is not None
    # The link opens that participant's own page.
    page = await open_link(http, links_in(p1)[0])
    assert page.status_code == 200 and f"/projets/{project.id}" in str(page.url)
    assert "Partenaire 1" in page.text
    fac_page = await open_link(http, links_in(of_kind(messages, "You are invited")["fac"])[0])
    assert "Camille Martin" in fac_page.text and 'lang="en"' in fac_page.text

    # The diagnosis, in the invitation under its own heading.
    assert "Diagnostic partagé : vos contributions sont attendues au plus tard le" in spaced(
        text_of(p1)
    )
    heading = re.search(r"<h2[^>]*>([^<]*)</h2>", p1.get_body(("html",)).get_content())
    assert heading and "vos contributions sont attendues" in heading.group(1)
    assert "ouverte jusqu’au" in text_of(invited["obs"])  # observers are not asked
    assert "The shared diagnosis phase is open until" in text_of(
        of_kind(messages, "You are invited")["fac"]
    )
    method, diagnosis = calendar_of(p1)
    assert method == "REQUEST"
    assert str(diagnosis["ATTENDEE"]) == "mailto:p1@example.org"
    assert str(diagnosis["ORGANIZER"]) == "mailto:alliance@localhost"
    assert str(diagnosis["URL"]) == links_in(p1)[0]
    assert links_in(p1)[0] in str(diagnosis["DESCRIPTION"])
    view = await project.view()
    # Calendars count in whole seconds.
    deadline = datetime.fromisoformat(view["deadline"]).replace(microsecond=0)
    assert diagnosis.decoded("DTEND") == deadline

    # Everyone contributed: the diagnosis closes early, its calendar entry is withdrawn.
    for pid in PARTNERS:
        await project.ok("POST", "/contributions", pid, {"kind": "need", "text": f"besoin {pid}"})
    messages = await mailing.wait_for(lambda ms: len(of_kind(ms, "terminée avant")) == 5)
    method, withdrawn = calendar_of(of_kind(messages, "terminée avant")["p1"])
    assert method == "CANCEL" and withdrawn["UID"] == diagnosis["UID"]
    assert withdrawn["SEQUENCE"] > diagnosis["SEQUENCE"]

    # The plan: its own message, then the decision with one link per answer.
    proposal = (
        await project.ok(
            "POST",
            "/proposals",
            "p1",
            {
                "title": "Jardin rue Garon",
                "description": "Des bacs",
                "indicators": [{"name": "Familles", "target": "40"}],
            },
        )  # fmt: skip
    )["item_id"]
    await project.ok(
        "POST", "/plan", "fac", {"proposal_ids": [proposal], "summary": "Plan <b>un</b>"}
    )
    messages = await mailing.wait_for(lambda ms: len(of_kind(ms, "Décision : ")) == 5)
    assert len(of_kind(messages, "Le plan est soumis")) == 5
    asked = of_kind(messages, "Décision : ")
    assert asked["p2"]["Subject"].startswith(
        "[Jardins partagés] Décision\u00a0: votre réponse est attendue au plus tard le "
    )
    assert "ouverte jusqu’au" in asked["coord"]["Subject"]  # the coordinator does not vote
    # The plan decided on, in its summary, and the way to the whole of it.
    assert "Le plan soumis à décision, en résumé\u00a0:" in text_of(asked["p2"])
    assert "Plan <b>un</b>" in text_of(asked["p2"])
    assert "Plan &lt;b&gt;un&lt;/b&gt;" in asked["p2"].get_body(("html",)).get_content()
    assert any(link.endswith("#plan") for link in links_in(asked["p2"]))
    answer_links = [link for link in links_in(asked["p2"]) if "?answer=" in link]
    assert [link.rsplit("=", 1)[1] for link in answer_links] == ["consent", "object", "abstain"]
    assert not [link for link in links_in(asked["coord"]) if "?answer=" in link]
    _, decision = calendar_of(asked["p2"])

    # An answer link ticks that choice and records nothing (a mail scanner follows links too).
    before = await project.ok("GET", "/events?after=0&limit=1000", "coordinator-credential")
    page = await open_link(http, answer_links[1])
    assert re.search(r'id="answer-object"[^>]*checked', page.text)
    assert not re.search(r'id="answer-consent"[^>]*checked', page.text)
    after = await project.ok("GET", "/events?after=0&limit=1000", "coordinator-credential")
    assert after["events"] == before["events"]

    # p1 and p3 answer; the reminder goes to p2 alone.
    await project.ok("PUT", "/answer", "p1", {"kind": "consent"})
    await project.ok("PUT", "/answer", "p3", {"kind": "consent"})
    messages = await mailing.wait_for(lambda ms: of_kind(ms, "Relance"), seconds=30)
    reminded = of_kind(messages, "Relance")
    assert set(reminded) == {"p2"}
    assert "votre réponse est attendue" in text_of(reminded["p2"])

    # An extension moves the same calendar entry.
    new_deadline = datetime.fromisoformat((await project.view())["deadline"]) + timedelta(days=2)
    await project.ok(
        "POST", "/deadline", "fac", {"deadline": new_deadline.isoformat(), "reason": "Vacances"}
    )
    messages = await mailing.wait_for(lambda ms: len(of_kind(ms, "échéance reportée")) == 5)
    method, moved = calendar_of(of_kind(messages, "échéance reportée")["p2"])
    assert method == "REQUEST" and moved["UID"] == decision["UID"]
    assert moved["SEQUENCE"] > decision["SEQUENCE"]
    assert moved.decoded("DTEND") == new_deadline.replace(microsecond=0)
    fac_moved = of_kind(messages, "deadline moved to")["fac"]
    assert calendar_of(fac_moved)[1]["UID"] == decision["UID"]

    # The last answer: the decision, with its rule and tally.
    await project.ok("PUT", "/answer", "p2", {"kind": "consent"})
    messages = await mailing.wait_for(lambda ms: len(of_kind(ms, "Décision : adopté")) == 5)
    decided = text_of(of_kind(messages, "Décision : adopté")["p3"])
    assert "3 consentements, 0 objection, 0 abstention, 0 sans réponse, sur 3 votants" in decided
    assert "Le plan adopté\u00a0:" in decided and "Plan <b>un</b>" in decided
    assert (
        "La mise en œuvre commence maintenant et dure jusqu’au" in decided
    )  # what happens next, and until when
    assert "3 consents" in text_of(of_kind(messages, "Decision: adopted")["fac"])

    # Implementation, then the evaluation; the report closes the project in one message.
    await project.ok("POST", "/close-phase", "fac", {"reason": "travaux finis"})
    indicator = (await project.view())["adopted_plan"]["indicators"][0]["id"]
    for pid in PARTNERS:
        await project.ok(
            "POST", "/assessments", pid, {"scores": [{"indicator_id": indicator, "score": 4}]}
        )
    await project.ok("POST", "/outcome", "fac", {"text": "Les jardins vivent."})
    messages = await mailing.wait_for(lambda ms: len(of_kind(ms, "rapport est publié")) == 5)
    assert len(of_kind(messages, "its report is published")) == 1
    assert not of_kind(messages, "Le projet est terminé")

    # Each message once, each with its own Message-ID.
    ids = [m["Message-ID"] for m in messages]
    assert len(ids) == len(set(ids)) and all(ids)
    # Every message says why its reader receives it.
    assert all(
        "Vous recevez ce message parce que" in text_of(m)
        or "You receive this message because" in text_of(m)
        for m in messages
    )


async def test_a_cancelled_project_withdraws_its_calendar_entry(mailing: Mailing):
    # The observer's mailbox is gone: the facilitator's page says so.
    mailing.catcher.handler.refuse = lambda a: (
        "550 5.1.1 no such user" if a.startswith("obs@") else None
    )
    project = await ApiProject.launch(mailing.http, everyone_with_an_address())
    messages = await mailing.wait_for(lambda ms: len(of_kind(ms, "Invitation à participer")) == 4)
    link = links_in(of_kind(messages, "You are invited")["fac"])[0]
    for _ in range(50):  # the failure is recorded once the batch is done
        page = await open_link(mailing.http, link)
        if "Messages not delivered" in page.text:
            break
        await asyncio.sleep(0.1)
    assert "Messages not delivered" in page.text
    # Why, in the reader's words, with the server's codes and never its text.
    assert re.search(
        r"the invitation, to Métropole de Lyon \([^)]*\): the mail server refused the address "
        r"\(550 5\.1\.1\)\s*</li>",
        page.text,
    )
    assert "no such user" not in page.text
    _, diagnosis = calendar_of(of_kind(messages, "Invitation à participer")["p3"])  # its entry
    await project.ok("POST", "/cancel", "coordinator-credential", {"reason": "Financement retiré"})
    messages = await mailing.wait_for(lambda ms: len(of_kind(ms, "annulé")) == 4)
    cancelled = of_kind(messages, "annulé")["p3"]
    assert "Financement retiré" in text_of(cancelled)
    method, entry = calendar_of(cancelled)
    assert method == "CANCEL" and entry["UID"] == diagnosis["UID"]
    assert entry["SEQUENCE"] > diagnosis["SEQUENCE"] and str(entry["STATUS"]) == "CANCELLED"
