"""Hostile text stored as data comes out escaped everywhere people read it: the e-mails
(HTML part, subject), the report (HTML and Markdown), the register for people's
spreadsheets (a cell never starts a formula), while the machine's CSV keeps it raw."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings

from tests.api_helpers import ApiProject
from tests.conftest import Mailing
from tests.hostile.conftest import PRINTABLE, RAW_MARKUP, TRIED, hostile_text
from tests.mail.test_mail_delivery import everyone_with_an_address
from texts.register import neutralised

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


async def test_markup_typed_by_partners_is_text_in_mail_and_report(mailing: Mailing):
    body = everyone_with_an_address()
    body["title"] = "<script>alert('x')</script> Jardins"
    project = await ApiProject.launch(mailing.http, body)
    for pid in ("p1", "p2", "p3"):
        await project.ok("POST", "/contributions", pid, {"kind": "need", "text": PRINTABLE})
    proposal = await project.ok(
        "POST",
        "/proposals",
        "p1",
        {
            "title": PRINTABLE[:150],
            "description": PRINTABLE,
            "indicators": [{"name": PRINTABLE[:80], "target": "=1+1"}],
        },
    )
    plan = {"proposal_ids": [proposal["item_id"]], "summary": PRINTABLE}
    await project.ok("POST", "/plan", "fac", plan)
    messages = await mailing.wait_for(
        lambda ms: any("alert(1)" in (m.get_body(("plain",)).get_content()) for m in ms)
    )
    for message in messages:
        subject = str(message["Subject"])
        assert "\n" not in subject and "\r" not in subject
        html = message.get_body(("html",))
        if html is not None:
            for markup in RAW_MARKUP:
                assert markup not in html.get_content(), (subject, markup)
        TRIED["output: e-mail"] += 1
    # The plan's summary as typed in the text part: stored as data, not mangled.
    plain = [m.get_body(("plain",)).get_content() for m in messages]
    assert any('"><img src=x onerror=alert(1)>' in text for text in plain)
    # To its end, so that its report is published.
    for pid in ("p1", "p2", "p3"):
        await project.ok("PUT", "/answer", pid, {"kind": "consent", "reason": PRINTABLE})
    await project.ok("POST", "/outcome", "fac", {"text": PRINTABLE})
    await project.ok("POST", "/close-phase", "fac", {"reason": PRINTABLE})
    indicator = (await project.view())["adopted_plan"]["indicators"][0]["id"]
    for pid in ("p1", "p2", "p3"):
        scores = {"scores": [{"indicator_id": indicator, "score": 4}]}
        await project.ok("POST", "/assessments", pid, scores)
    await project.ok("POST", "/outcome", "fac", {"text": PRINTABLE})
    await project.wait_for_report(20)
    for format in ("html", "md"):
        report = await project.call("GET", f"/report?format={format}", "coordinator-credential")
        assert report.status_code == 200, report.text
        for markup in RAW_MARKUP:
            assert markup not in report.text, (format, markup)
        TRIED[f"output: report ({format})"] += 1


@settings(max_examples=300, deadline=None, database=None)
@given(hostile_text)
def test_a_spreadsheet_cell_never_starts_a_formula(text):
    cell = neutralised(text)
    assert not cell.startswith(FORMULA_START)
    assert cell == text or cell == "'" + text  # nothing else changed
    # Written and read back through CSV, as a spreadsheet would.
    written = io.StringIO()
    csv.writer(written, delimiter=";").writerow([cell])
    (read,) = next(csv.reader(io.StringIO(written.getvalue(), newline=""), delimiter=";"))
    assert read == cell
    TRIED["output: spreadsheet cell"] += 1
