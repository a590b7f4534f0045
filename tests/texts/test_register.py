"""The decision register as a French association's spreadsheet opens it: its own columns in
words, ";" between cells, a BOM, dates Excel reads as dates, and nothing people typed ever
becoming a formula; the same rows as a workbook."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime

from openpyxl import load_workbook

from domain.report import report_facts
from tests.texts.test_report import a_whole_project
from texts.i18n import texts
from texts.register import register_csv, register_xlsx

FRENCH = texts("fr", "Europe/Paris")


def hostile_project():
    """Objections whose reasons a spreadsheet would take for formulas."""
    project = a_whole_project()
    state = project.state
    state.decisions[0] = state.decisions[0].model_copy(
        update={
            "objections": {
                "p1": '=HYPERLINK("http://x";"clic")',
                "p2": "+33 6 12",
                "p3": "@SUM(A1)",
            }
        }
    )
    return report_facts(state)


def test_the_french_csv_opens_in_french_excel():
    data = register_csv(report_facts(a_whole_project().state), FRENCH)
    assert data.startswith("\ufeff".encode())  # UTF-8 with a BOM: Excel reads the accents
    assert b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Tour", "Date", "Règle", "Quorum", "Votants", "Consentements",
                       "Objections", "Abstentions", "Sans réponse", "Issue",
                       "Auteur de l’objection", "Objection", "Réponse au tour suivant",
                       "Issue exprimée par le facilitateur", "Étape", "Approbation",
                       "Jugement de l’objection", "Réponses par délégation"]  # fmt: skip
    first, objection, second = rows[1], rows[2], rows[3]
    # Each row names its step and its approval (a template's decision may have several).
    assert first[14:16] == ["Décision", "Les partenaires"] == objection[14:16]
    assert first[0] == "1" and first[2] == "consentement" and first[9] == "non adoptée"
    assert datetime.strptime(first[1], "%d/%m/%Y %H:%M")  # "03/03/2026 14:00", local time
    assert first[3] == "50\u00a0%" and first[4:9] == ["3", "1", "1", "1", "0"]
    assert first[13] == "Revoir la parcelle."
    assert objection[10:13] == [
        "Ville de Lyon",
        "La parcelle est inondable",
        "Bacs surélevés de 60 cm",
    ]
    # The facilitator's judgement of the objection, with its reason.
    assert objection[16] == (
        "Jugée valable (la proposition doit changer)\u00a0: Un risque avéré pour les familles"
    )
    assert first[16] == ""
    assert second[9] == "adoptée" and "Les jardins vivent" in second[13]


def test_the_dates_are_in_the_readers_time_zone():
    facts = report_facts(a_whole_project().state)
    decided = facts.rounds[0].decided_at
    paris = list(
        csv.reader(io.StringIO(register_csv(facts, FRENCH).decode("utf-8-sig")), delimiter=";")
    )
    cayenne = texts("fr", "America/Cayenne")
    there = list(
        csv.reader(io.StringIO(register_csv(facts, cayenne).decode("utf-8-sig")), delimiter=";")
    )
    assert paris[1][1] == FRENCH.spreadsheet_moment(decided) != there[1][1]


def test_a_cell_people_typed_never_becomes_a_formula():
    data = register_csv(hostile_project(), FRENCH).decode("utf-8-sig")
    reasons = [row[11] for row in list(csv.reader(io.StringIO(data), delimiter=";"))[1:] if row[10]]
    assert reasons == ['\'=HYPERLINK("http://x";"clic")', "'+33 6 12", "'@SUM(A1)"]


def test_the_english_csv_for_an_english_spreadsheet():
    data = register_csv(report_facts(a_whole_project().state), texts("en", "Europe/London"))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Round", "Date", "Rule"] and rows[1][9] == "not adopted"


def test_the_workbook_holds_dates_numbers_and_texts_never_formulas():
    data = register_xlsx(hostile_project(), FRENCH)
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet["A1"].value == "Tour" and sheet["L1"].value == "Objection"
    assert isinstance(sheet["B2"].value, datetime) and sheet["B2"].value.tzinfo is None
    assert sheet["A2"].value == 1 and sheet["D2"].value == 0.5 and sheet["D2"].number_format == "0%"
    typed = [sheet.cell(row=r, column=12) for r in range(3, 6)]
    assert [c.value for c in typed] == ['=HYPERLINK("http://x";"clic")', "+33 6 12", "@SUM(A1)"]
    assert all(c.data_type == "s" for c in typed)
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in xml  # not one formula in the file
