"""The final report, read as the coordinator hands it to the local authority and the funders:
in French, dates in the project's time zone, numbers in the French way, every code in words,
nothing people typed turned into markup; the same facts in English on request."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from archive.record import archive_files
from domain import commands as cmd
from domain.models import Process
from domain.project import Project
from domain.report import facts_digest, report_facts
from tests.helpers import actor, judged, make_spec
from tests.texts.readable import unreadable
from texts.report import md, printable, reader_of, report_markdown

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10 h in Paris


def a_whole_project() -> Project:
    """An objection, a second round, adopted, implemented, evaluated and concluded: each step a
    day after the last."""
    clock = iter(START + timedelta(days=n, hours=n % 3) for n in range(100))
    spec = make_spec(3, Process(quorum=0.5), description="Deux friches, des jardins.")
    spec.participants[3].organisation_name = "Ville de Lyon"
    project = Project.launch(spec, next(clock))

    def do(command: cmd.Command) -> None:
        project.execute(command, next(clock))

    for pid in ("p1", "p2", "p3"):
        do(cmd.AddContribution(actor=actor(pid), kind="need", text="Un lieu"))
    do(cmd.SubmitProposal(
        actor=actor("p1"), title="Jardins en bacs", description="Des bacs",
        indicators=[{"name": "Familles inscrites", "target": "5000 visiteurs"}],
    ))  # fmt: skip
    proposal = next(iter(project.state.proposals))
    do(cmd.SubmitPlan(actor=actor("fac"), proposal_ids=[proposal], summary="Deux jardins."))
    do(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="La parcelle est inondable"))
    do(cmd.GiveAnswer(actor=actor("p2"), kind="consent"))
    do(cmd.GiveAnswer(actor=actor("p3"), kind="abstain"))
    do(judged("p1", reason="Un risque avéré pour les familles"))
    do(cmd.StateOutcome(actor=actor("fac"), text="Revoir la parcelle."))
    do(cmd.SubmitPlan(
        actor=actor("fac"), proposal_ids=[proposal], summary="Deux jardins en bacs surélevés.",
        objection_answers={"p1": "Bacs surélevés de 60 cm"},
    ))  # fmt: skip
    for pid in ("p1", "p2", "p3"):
        do(cmd.GiveAnswer(actor=actor(pid), kind="consent"))
    do(cmd.NoteProgress(actor=actor("p2"), text="Premiers bacs posés"))
    do(cmd.ClosePhase(actor=actor("fac")))
    indicator = project.state.adopted_plan.indicators[0].id
    for pid, score in (("p1", 4), ("p2", 3), ("p3", 3)):
        do(cmd.Assess(actor=actor(pid), scores=[
            {"indicator_id": indicator, "score": score, "comment": f"Vu par {pid}"}
        ]))  # fmt: skip
    do(cmd.StateOutcome(actor=actor("fac"), text="Les jardins vivent ; on continue !"))
    assert project.awaiting_report
    return project


def french_report() -> str:
    facts = report_facts(a_whole_project().state)
    return report_markdown(facts, reader_of(facts))


def section(report: str, title: str) -> str:
    return report.split(f"## {title}\n")[1].split("\n## ")[0]


def test_the_french_report_of_a_whole_project_says_what_funders_read():
    report = french_report()
    assert report.startswith("# Jardins partagés du 8e\n")
    assert "- **Territoire\u00a0:** Lyon 8e" in report
    assert "- **Lancement\u00a0:** 2 mars 2026 à 10 h" in report  # Paris time
    assert "- **Issue\u00a0:** décision adoptée au 2e tour" in report
    assert "consentement (la décision est adoptée si aucune objection ne subsiste)" in report
    assert "50\u00a0% des partenaires votants doivent répondre" in report
    assert "Deux friches, des jardins." in report

    partners = section(report, "Les partenaires")
    assert "| Ville de Lyon | collectivité | partenaire |" in partners
    assert "| Coop Facil | autre structure | facilitateur |" in partners

    course = section(report, "Le déroulement du projet")
    assert "| Diagnostic partagé | 1 | 2 mars 2026 à 10 h |" in course
    assert "tous les partenaires ont contribué" in course
    assert "| Décision | 2 |" in course and "| Évaluation | 2 |" in course
    assert "les partenaires ont évalué les résultats et le facilitateur a conclu" in course

    decisions = section(report, "Les décisions")
    assert "### 1er tour\u00a0: décision non adoptée" in decisions
    assert "### 2e tour\u00a0: décision adoptée" in decisions
    assert "1 consentement, 1 objection, 1 abstention, 0 sans réponse, sur 3 votants" in decisions
    assert "3 consentements, 0 objection, 0 abstention" in decisions
    assert "Objection de Ville de Lyon\u00a0: La parcelle est inondable" in decisions
    assert "Réponse apportée par le plan du 2e tour\u00a0: Bacs surélevés de 60 cm" in decisions
    assert "> Revoir la parcelle." in decisions  # the outcome of round 1, under round 1
    assert re.search(r"Décision prise par consentement le \d+ mars 2026 à \d+ h", decisions)

    assert "Deux jardins en bacs surélevés." in section(report, "Le plan adopté")
    assert "> Les jardins vivent ; on continue \\!" in section(
        report, "La conclusion du facilitateur"
    ).replace("\u202f", " ")
    results = section(report, "Les résultats")
    assert "| Familles inscrites | 5000 visiteurs | 3,33 | 3 |" in results
    assert "- Familles inscrites, Ville de Lyon\u00a0: Vu par p1" in results
    progress = section(report, "L’avancement de la mise en œuvre")
    assert re.search(r"- \d+ mars 2026, Partner 2\u00a0: Premiers bacs posés", progress)


def test_no_code_and_no_english_word_in_the_french_report():
    report = french_report()
    assert not unreadable(report)
    assert "." not in re.sub(r"[^\d.,]", " ", report).replace(". ", " ").strip(". ")  # no 3.33


def test_the_same_facts_in_english_on_request():
    facts = report_facts(a_whole_project().state)
    english = report_markdown(facts, reader_of(facts, "en"))
    assert "- **Outcome:** decision adopted in round 2" in english
    assert "### Round 1: decision not adopted" in english
    assert "| Familles inscrites | 5000 visiteurs | 3.33 | 3 |" in english
    assert "1 consent, 1 objection, 1 abstention, 0 without an answer, of 3 voters" in english


def test_the_digest_covers_the_facts_in_every_language_and_the_archive_finds_it_again():
    project = a_whole_project()
    facts = report_facts(project.state)
    files = archive_files(project.events)
    assert files["rapport.md"].decode() == report_markdown(facts, reader_of(facts, "fr"))
    assert files["report.md"].decode() == report_markdown(facts, reader_of(facts, "en"))
    # The archive folds the same facts from the events: the same digest.
    from domain.state import fold

    assert facts_digest(report_facts(fold(project.events))) == facts_digest(facts)


def test_an_evaluation_closed_without_conclusion_says_so():
    project = a_whole_project()
    state = project.state
    state.statements = [s for s in state.statements if not s.conclusion]
    facts = report_facts(state)
    report = report_markdown(facts, reader_of(facts))
    assert "Le facilitateur n’a pas rédigé de conclusion avant la fin de l’évaluation." in report


def test_the_printable_page_keeps_its_layout_on_a4():
    facts = report_facts(a_whole_project().state)
    page = printable(facts, reader_of(facts))
    assert '<html lang="fr">' in page and "@page{size:A4" in page
    assert "break-inside:avoid" in page and "<table>" in page


def test_the_report_escapes_names_and_texts():
    assert md("[clic](http://x) <b>gras</b> & **moi**") == (
        "\\[clic\\]\\(http://x\\) &lt;b&gt;gras&lt;/b&gt; &amp; \\*\\*moi\\*\\*"
    )
    assert md("# titre\n1. un") == "\\# titre\n1\\. un"
    project = Project.launch(make_spec(1, title="<img src=x onerror=alert(1)>"), START)
    facts = report_facts(project.state)
    report = report_markdown(facts, reader_of(facts))
    assert "<img" not in report and "&lt;img src=x onerror=alert\\(1\\)&gt;" in report
