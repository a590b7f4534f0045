"""A project's archive files: deterministic, complete, hashed, and holding no contact detail."""

from __future__ import annotations

import csv
import io
import json

from archive.record import MANIFEST, archive_files, intact
from domain import commands as cmd
from tests.domain.test_domain import NOW, decision_project
from tests.helpers import actor, judged


def objection_round():
    project = decision_project(3)
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)
    project.execute(
        cmd.GiveAnswer(actor=actor("p2"), kind="object", reason="Terrain inondable, <b>"), NOW
    )
    project.execute(cmd.GiveAnswer(actor=actor("p3"), kind="abstain"), NOW)
    project.execute(judged("p2"), NOW)
    assert project.state.phase == "co_design" and project.state.round == 2
    proposal = next(iter(project.state.proposals))
    project.execute(
        cmd.SubmitPlan(
            actor=actor("fac"),
            proposal_ids=[proposal],
            summary="Plan 2",
            objection_answers={"p2": "Bacs surélevés"},
        ),  # fmt: skip
        NOW,
    )
    for pid in ("p1", "p2", "p3"):
        project.execute(cmd.GiveAnswer(actor=actor(pid), kind="consent"), NOW)
    project.execute(cmd.StateOutcome(actor=actor("fac"), text="Adopté au deuxième tour"), NOW)
    return project


def test_the_archive_is_the_same_bytes_every_time_and_its_manifest_holds():
    project = objection_round()
    first, again = archive_files(project.events), archive_files(list(project.events))
    assert first == again  # a retried activity writes the same archive
    assert set(first) == {"events.jsonl", "state.json", "rapport.md", "rapport.html",
                          "report.md", "report.html", "decisions.csv", "registre.csv",
                          MANIFEST}  # fmt: skip
    assert intact(first)
    tampered = {**first, "report.md": first["report.md"] + b"!"}
    assert not intact(tampered)
    assert not intact({k: v for k, v in first.items() if k != MANIFEST})
    lines = first["events.jsonl"].decode().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [e.seq for e in project.events]


def test_the_decision_register_names_each_objection_and_the_answer_it_got():
    rows = list(
        csv.DictReader(
            io.StringIO(archive_files(objection_round().events)["decisions.csv"].decode())
        )
    )
    decisions = [r for r in rows if not r["objector"] and r["outcome"] != "outcome_stated"]
    assert [(r["round"], r["outcome"], r["consents"], r["objections"]) for r in decisions] == [
        ("1", "not_adopted", "1", "1"),
        ("2", "adopted", "3", "0"),
    ]
    objection = next(r for r in rows if r["objector"])
    assert (objection["round"], objection["objector"], objection["answer_next_round"]) == (
        "1", "Partner 2", "Bacs surélevés",
    )  # fmt: skip
    assert objection["objection"] == "Terrain inondable, <b>" and objection["quorum"] == "0.5"
    assert (
        rows[-1]["outcome"] == "outcome_stated"
        and rows[-1]["objection"] == "Adopté au deuxième tour"
    )


def test_the_printable_report_escapes_what_people_typed():
    for name in ("rapport.html", "report.html"):
        page = archive_files(objection_round().events)[name].decode()
        body = page.split("<body>")[1]
        assert "Terrain inondable, &lt;b&gt;" in body and "<b>" not in body
