"""A project's record, as the files of its archive: the events (JSON Lines), the final state,
the final report in French and in English (`rapport.md` and `report.md`, each with its
printable page), the partnership charter when the project has one (`charte.md` and
`charter.md`, likewise; the file of a charter agreed before the project as `charte-signee.pdf`,
`.odt` or `.docx`), the decision register for machines (`decisions.csv`, as 1.0 wrote it) and
for people (`registre.csv`, French, as spreadsheets open it), and a manifest with each file's
SHA-256.

Pure and deterministic: the same events give the same bytes, so a retried activity writes the
same archive again. Only what the events hold goes in (no contact details: the directory stays
the only place for them).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from typing import Any

from domain import events as ev
from domain.cooperation import CooperationFigures
from domain.models import CHARTER_FILE_TYPES, ApprovalResult, CharterDocument, Phase
from domain.report import ReportFacts, report_facts
from domain.state import ProjectState, fold, redact_state, redacted_event, step_id
from texts.charter import charter_markdown, charter_printable
from texts.register import register_csv
from texts.report import printable, reader_of, report_markdown

MANIFEST = "manifest.json"
# The report's file names, by language: French first, as its readers name it.
REPORTS = {"fr": "rapport", "en": "report"}
CHARTERS = {"fr": "charte", "en": "charter"}


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2).encode() + b"\n"


def event_line(event: ev.Event) -> str:
    return json.dumps(event.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)


def events_jsonl(events: list[ev.Event]) -> bytes:
    return "".join(event_line(e) + "\n" for e in events).encode()


def read_events(jsonl: bytes) -> list[ev.Event]:
    return [ev.Event.model_validate_json(line) for line in jsonl.splitlines() if line.strip()]


def decision_register(state: ProjectState, events: list[ev.Event]) -> bytes:
    """One row per decision (per approval, where a decision step had several), one more per
    objection (with the next round's answer to it), and the outcome stated. The columns of
    1.0 first, then (since templates) the step and the approval."""
    assert state.spec is not None
    names = {pid: p.organisation_name for pid, p in state.participants.items()}
    template = state.template
    answers: dict[int, dict[str, str]] = {}
    for e in events:
        if isinstance(e.data, ev.PlanSubmitted):
            answers[e.data.plan.round] = dict(e.data.plan.objection_answers)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            "round",
            "date",
            "rule",
            "quorum",
            "voters",
            "consents",
            "objections",
            "abstentions",
            "silent",
            "outcome",
            "objector",
            "objection",
            "answer_next_round",
            "step",
            "approval",
        ]  # fmt: skip
    )
    for e in events:
        data = e.data
        if isinstance(data, ev.DecisionReached):
            step = template.step(step_id(Phase.decision, data.step))
            results = data.approvals or [
                ApprovalResult(
                    approval=step.approvals[0].id,
                    rule=data.rule,
                    quorum=step.approvals[0].quorum,
                    tally=data.tally,
                    outcome=data.outcome,
                    objections=data.objections,
                )
            ]
            following = answers.get(data.round + 1, {})
            for r in results:
                t = r.tally
                row = [data.round, e.at.isoformat(), r.rule.value, r.quorum, t.voters,
                       t.consents, t.objections, t.abstentions, t.silent, r.outcome.value]  # fmt: skip
                where = [step.id, r.approval]
                writer.writerow([*row, "", "", "", *where])
                for pid, reason in r.objections.items():
                    who = names.get(pid, pid)
                    writer.writerow([*row, who, reason, following.get(pid, ""), *where])
        elif isinstance(data, ev.OutcomeStated):
            writer.writerow(["", e.at.isoformat(), "", "", "", "", "", "", "", "outcome_stated",
                             "", data.text, "", "", ""])  # fmt: skip
    return out.getvalue().encode()


def register_from_events(events: list[ev.Event]) -> bytes:
    """The decision register of a project not archived yet, as its archive will hold it."""
    state = fold(events)
    return decision_register(state, [redacted_event(e, state.redacted) for e in events])


def report_files(facts: ReportFacts) -> dict[str, bytes]:
    """The report in each language, as Markdown and as its printable page."""
    files = {}
    for language, name in REPORTS.items():
        t = reader_of(facts, language)
        files[f"{name}.md"] = report_markdown(facts, t).encode()
        files[f"{name}.html"] = printable(facts, t).encode()
    return files


def charter_files(facts: ReportFacts) -> dict[str, bytes]:
    """The partnership charter in each language (`charte.md` and `charter.md`, each with its
    printable page), with its versions and signatures; none in a project without one."""
    if facts.charter is None:
        return {}
    files = {}
    for language, name in CHARTERS.items():
        t = reader_of(facts, language)
        files[f"{name}.md"] = charter_markdown(t, facts.title, facts.charter).encode()
        files[f"{name}.html"] = charter_printable(t, facts.title, facts.charter).encode()
    return files


def charter_document_name(document: CharterDocument) -> str:
    """The agreed charter's file in the archive: `charte-signee` with its own extension."""
    extension = CHARTER_FILE_TYPES.get(document.media_type, "")
    return f"charte-signee{extension}"


def final_state(events: list[ev.Event], erased_later: list[str] = ()) -> ProjectState:
    """The state the events fold to, with the texts of those erased after the project closed
    read "[retiré]" as well."""
    state = fold(events)
    for pid in erased_later:
        if pid not in state.redacted:
            state.redacted.append(pid)
            redact_state(state, pid)
    return state


def archive_files(
    events: list[ev.Event],
    *,
    provisional: bool = False,
    redactions: list[dict[str, str]] = (),
    cooperation: CooperationFigures | None = None,
    charter_document: bytes | None = None,
) -> dict[str, bytes]:
    """Every file of the archive, the manifest last. `redactions` are erasures asked after the
    project closed ({participant_id, at, reason}): their texts are gone from every file, and
    the manifest says why. `charter_document`: the file of a charter agreed before the
    project, as the archive store keeps it."""
    state = final_state(events, [r["participant_id"] for r in redactions])
    assert state.spec is not None
    shown = [redacted_event(e, state.redacted) for e in events]
    facts = report_facts(state).model_copy(update={"cooperation": cooperation})
    files = {
        "events.jsonl": events_jsonl(shown),
        "state.json": _json(state.model_dump(mode="json")),
        **report_files(facts),
        **charter_files(facts),
        "decisions.csv": decision_register(state, shown),
        # The register as a French spreadsheet opens it, dates in the project's time zone.
        "registre.csv": register_csv(facts, reader_of(facts, "fr")),
    }
    agreed = state.charter.agreed
    if agreed is not None and agreed.document is not None and charter_document is not None:
        files[charter_document_name(agreed.document)] = charter_document
    manifest = {
        "project_id": state.spec.id,
        "title": state.spec.title,
        "coordinator_organisation": state.spec.coordinator_organisation,
        "provisional": provisional,
        "phase": state.phase.value,
        "outcome": state.outcome.value if state.outcome else None,
        "last_seq": state.last_seq,
        "closed_at": events[-1].at.isoformat() if state.is_over else None,
        "redactions": list(redactions),
        "files": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            for name, data in files.items()
        },
    }
    return {**files, MANIFEST: _json(manifest)}


def intact(files: dict[str, bytes]) -> bool:
    """The manifest is there and every file matches its hash."""
    raw = files.get(MANIFEST)
    if raw is None:
        return False
    listed = json.loads(raw)["files"]
    return all(
        name in files and hashlib.sha256(files[name]).hexdigest() == entry["sha256"]
        for name, entry in listed.items()
    )
