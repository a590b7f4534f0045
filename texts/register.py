"""The decision register for people, as spreadsheets open it: one row per decision, one more per
objection (with the answer the next round's plan gave it), in the reader's language and time
zone. As CSV (French: ";" between cells, UTF-8 with a BOM so Excel reads the accents, dates
Excel reads as dates) and as .xlsx (openpyxl: real dates and numbers, people's texts as text
cells).

What people typed can never become a formula: in the CSV a cell starting with "=", "+", "-",
"@", a tab or a carriage return is neutralised with a leading apostrophe (OWASP's advice); in
the .xlsx every text is a text cell. The machine register (archive/record.decision_register,
`decisions.csv`) stays as 1.0 wrote it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from domain.models import Approvers
from domain.report import ApprovalFact, ReportFacts
from texts import words
from texts.i18n import Texts
from texts.report import approval_name, judgement_said

N_ = words.N_

COLUMNS = (
    N_("Round"),
    N_("Date"),
    N_("Rule"),
    N_("Quorum"),
    N_("Voters"),
    N_("Consents"),
    N_("Objections"),
    N_("Abstentions"),
    N_("Without an answer"),
    N_("Outcome"),
    N_("Author of the objection"),
    N_("Objection"),
    N_("Answer in the next round"),
    N_("Outcome as the facilitator stated it"),
    N_("Step"),
    N_("Approval"),
    N_("Judgement of the objection"),
    N_("Answers by delegation"),
)
# Columns that hold what people typed: always text, never a number, a date or a formula.
TEXT_COLUMNS = frozenset({10, 11, 12, 13, 14, 15, 16, 17})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Row:
    round: int
    at: datetime | None
    rule: str
    quorum: float
    voters: int
    consents: int
    objections: int
    abstentions: int
    silent: int
    outcome: str
    objector: str = ""
    objection: str = ""
    answer: str = ""
    statements: str = ""
    step: str = ""
    approval: str = ""
    judgement: str = ""
    delegated: str = ""


def rows(facts: ReportFacts, t: Texts) -> list[Row]:
    """One row per decision (per approval, where a decision had several), one more per
    objection, each naming its step and approval."""
    out = []
    names = {s.id: s for s in facts.steps}
    last_of_round = {r.round: n for n, r in enumerate(facts.rounds)}
    for index, r in enumerate(facts.rounds):
        step = names.get(r.step or "decision")
        step_said = words.step_name(t, step.name if step else None, "decision")
        approvals = r.approvals or [
            ApprovalFact(
                id="",
                name=step.approvals[0].name if step and step.approvals else None,
                approvers=step.approvals[0].approvers if step and step.approvals else Approvers(),
                rule=r.rule,
                quorum=r.quorum,
                tally=r.tally,
                outcome=r.outcome,
            )
        ]
        said = [s.text for s in r.statements]
        if facts.adopted_round == r.round and last_of_round[r.round] == index:
            said += [s.text for s in facts.conclusion]
        decision = None
        for n, a in enumerate(approvals):
            decision = Row(
                round=r.round,
                at=r.decided_at,
                rule=t.gettext(words.RULE_NAMES[a.rule.value]),
                quorum=a.quorum,
                voters=a.tally.voters,
                consents=a.tally.consents,
                objections=a.tally.objections,
                abstentions=a.tally.abstentions,
                silent=a.tally.silent,
                outcome=t.gettext(words.OUTCOMES[a.outcome.value])
                + (" – " + t.gettext("void: its step was reopened") if r.voided else ""),
                step=step_said,
                approval=approval_name(t, a),
            )
            if n == 0 and r.delegated:
                decision = _replace(decision, delegated="; ".join(
                    t.gettext("%(delegate)s for %(who)s", delegate=by, who=who)
                    for who, by in r.delegated
                ))  # fmt: skip
            out.append(_replace(decision, statements="\n\n".join(said)) if n == 0 else decision)
        assert decision is not None
        out += [
            _replace(
                decision,
                objector=o.organisation,
                objection=o.reason,
                answer=o.answer,
                judgement=judgement_said(o, t),
            )  # fmt: skip
            for o in r.objections
        ]
    return out


def _replace(row: Row, **changes: object) -> Row:
    return Row(**{**row.__dict__, **changes})


def header(t: Texts) -> list[str]:
    return [t.gettext(column) for column in COLUMNS]


def neutralised(cell: str) -> str:
    """A cell a spreadsheet shows as typed, never as a formula."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def register_csv(facts: ReportFacts, t: Texts) -> bytes:
    """The register as CSV for the reader's spreadsheet: ";" and a decimal comma in French,
    "," in English; a BOM, so Excel reads UTF-8; CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if t.language == "fr" else ",", lineterminator="\r\n")
    writer.writerow(header(t))
    for row in rows(facts, t):
        cells = [
            t.number(row.round),
            t.spreadsheet_moment(row.at),
            row.rule,
            t.percent(row.quorum),
            t.number(row.voters),
            t.number(row.consents),
            t.number(row.objections),
            t.number(row.abstentions),
            t.number(row.silent),
            row.outcome,
            row.objector,
            row.objection,
            row.answer,
            row.statements,
            row.step,
            row.approval,
            row.judgement,
            row.delegated,
        ]
        writer.writerow([neutralised(cell) for cell in cells])
    return "\ufeff".encode() + out.getvalue().encode()


def register_xlsx(facts: ReportFacts, t: Texts) -> bytes:
    """The register as an .xlsx workbook, built when it is downloaded (openpyxl stamps the
    current time into the file: it is never archived). Dates are the reader's local time
    without a zone, as spreadsheets hold them."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = t.gettext("Decisions")[:31]
    sheet.append(header(t))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows(facts, t):
        values = [
            row.round,
            t.local(row.at) if row.at else None,
            row.rule,
            row.quorum,
            row.voters,
            row.consents,
            row.objections,
            row.abstentions,
            row.silent,
            row.outcome,
            row.objector,
            row.objection,
            row.answer,
            row.statements,
            row.step,
            row.approval,
            row.judgement,
            row.delegated,
        ]
        sheet.append([None] * len(values))
        line = sheet.max_row
        for n, value in enumerate(values):
            cell = sheet.cell(row=line, column=n + 1)
            if n in TEXT_COLUMNS or isinstance(value, str):
                # Set as a text cell: openpyxl would take "=..." for a formula.
                cell.value = value or ""
                cell.data_type = "s"
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            else:
                cell.value = value
        sheet.cell(row=line, column=2).number_format = (
            "dd/mm/yyyy hh:mm" if t.language == "fr" else "yyyy-mm-dd hh:mm"
        )
        sheet.cell(row=line, column=4).number_format = "0%"
    widths = (6, 17, 16, 9, 8, 14, 11, 12, 13, 26, 28, 48, 48, 48, 26, 26)
    for n, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + n)].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
