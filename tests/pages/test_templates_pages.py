"""Process templates on the coordinator's console, in a real browser: the launch form offers
them (a project launched from appel-a-projets, refused first when nobody can approve the
budget), a YAML file imported and imported again as a new version, a built-in template
duplicated and changed with the form (a new version), an invalid change said beside its step;
with and without JavaScript where a button is involved; axe-core on every page, 375 px."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.pages.helpers import api
from tests.pages.test_console import Coordinator, fill_row
from tests.texts.readable import unreadable
from texts import words

NBSP = "\u00a0"
BUDGET = "#step-appel-a-projets-3"  # version 2: the charter first

IMPORTED = """\
id: budget-participatif
version: 1
name: {fr: Budget participatif, en: Participatory budget}
description: {fr: "Des idées, puis le vote des partenaires."}
steps:
  - id: idees
    name: {fr: Dépôt des idées}
    kind: diagnosis
    duration: P21D
    reminders: [P7D, P2D]
  - id: vote
    name: {fr: Vote des partenaires}
    kind: decision
    duration: P14D
    approvals:
      - id: partenaires
        name: {fr: Les partenaires}
        approvers: {roles: [partner]}
        rule: majority
        quorum: 0.5
    if_not_adopted: {to: vote, max_rounds: 2}
"""
BROKEN = """\
id: budget-participatif
name: {fr: Budget participatif}
steps:
  - id: idees
    name: {fr: Dépôt des idées}
    kind: diagnosis
    duration: P0D
  - id: vote
    name: {fr: Vote}
    kind: decision
    duration: P14D
    approvals:
      - id: partenaires
        approvers: {roles: [partner]}
    if_not_adopted: {to: suite, max_rounds: 2}
"""


def french(text: str) -> str:
    """A sentence as the French catalogue writes it (no-break spaces, curly apostrophes)."""
    return (
        text.replace(" :", f"{NBSP}:")
        .replace("« ", f"«{NBSP}")
        .replace(" »", f"{NBSP}»")
        .replace("'", "’")
    )


async def fits(c: Coordinator) -> None:
    """Nothing wider than the window (read at 375 px without scrolling sideways)."""
    width = await c.page.evaluate("document.documentElement.scrollWidth")
    assert width <= await c.page.evaluate("window.innerWidth"), width


def test_every_problem_a_template_can_have_is_said_in_words():
    found = set()
    for module in ("domain/templates.py", "process_templates/yaml_io.py"):
        tree = ast.parse((Path(__file__).parents[2] / module).read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Problem":
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant):
                    found.add(first.value)
    assert len(found) > 30
    assert found <= set(words.TEMPLATE_PROBLEMS), found - set(words.TEMPLATE_PROBLEMS)


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
async def test_a_project_is_launched_from_appel_a_projets_through_the_form(site, browser, js):
    c = await Coordinator.sign_in(browser, site, js=js, width=375)
    await c.page.goto(f"{site}/console/lancer")
    choices = c.page.get_by_role("group", name="Démarche")
    assert (
        "Diagnostic partagé → Co-conception → Approbation du budget → Décision des partenaires"
        in (await choices.inner_text())
    )
    assert await c.page.get_by_label("Co-construction", exact=True).is_checked()
    title = f"Appel à projets du 8e ({'avec' if js else 'sans'} JavaScript)"
    await c.fill("Titre", title)
    await c.fill("Territoire", "Lyon 8e")
    await c.page.get_by_label("Appel à projets").check()
    if js:  # the template's steps show at once
        assert not await c.page.get_by_role("button", name="Choisir cette démarche").is_visible()
    else:  # the form comes back with them, and what was typed
        await c.click("Choisir cette démarche")
        assert await c.page.locator("#title").input_value() == title
    assert not await c.page.locator("#process").is_visible()
    steps = c.page.locator("#steps-appel-a-projets")
    said = await steps.inner_text()
    assert (
        french(
            "Qui décide : les partenaires de type collectivité, par consentement, avec un quorum de 50 %"
        ).replace("50 %", f"50{NBSP}%")
        in said
    )
    assert (
        french("Si la décision n'est pas adoptée : retour à « Co-conception », 3 tours au plus")
        in said
    )
    assert await c.page.locator(f"{BUDGET} input").input_value() == "14"
    await c.check_accessibility("the launch form, appel-a-projets chosen")
    assert not unreadable(said)
    await fits(c)
    await c.screenshot(f"console-launch-template-375-{'js' if js else 'nojs'}")

    # Nobody among the participants can approve the budget: said at the top and beside it.
    await fill_row(c, 0, "Maison des Associations du 8e", "coordinator", "")
    await fill_row(c, 1, "Coopérative Facil", "facilitator", "")
    await fill_row(c, 2, "Habitants du 8e", "partner", "")
    await c.page.locator(f"{BUDGET} input").fill("10")
    await c.click("Lancer le projet")
    summary = await c.page.locator(".error-summary").inner_text()
    nobody = french("Personne parmi les participants ne peut répondre à « Les collectivités »")
    assert nobody in summary
    assert await c.page.locator(".error-summary a", has_text=nobody).get_attribute("href") == (
        f"{BUDGET}-a0"
    )
    assert nobody in await c.page.locator(f"{BUDGET}-a0-error").inner_text()
    assert await c.page.get_by_label("Appel à projets").is_checked()  # the form is kept
    assert await c.page.locator(f"{BUDGET} input").input_value() == "10"
    await c.check_accessibility("the launch form, nobody to approve the budget")

    # A local authority among the partners: launched, the project runs appel-a-projets.
    await c.click("Ajouter un participant")
    await fill_row(c, 3, "Mairie du 8e", "partner", "")
    await c.page.locator("#p3-organisation_kind").select_option("local_authority")
    await c.click("Lancer le projet")
    assert "/console/projets/" in c.page.url, await c.text()
    project_id = c.page.url.rsplit("/", 1)[1].split("?")[0]
    view = await api(site, "GET", f"/projects/{project_id}")
    assert view["template"]["id"] == "appel-a-projets" and view["template"]["version"] == 2
    budget = next(s for s in view["steps"] if s["id"] == "budget")
    assert budget["duration"] == "P10D"
    assert {s["id"]: s["duration"] for s in view["steps"]}["diagnosis"] == "P21D"
    await c.leave()


async def test_a_template_file_is_imported_and_imported_again_as_a_new_version(
    site, browser, tmp_path
):
    c = await Coordinator.sign_in(browser, site, js=False)
    async with c.page.expect_navigation():
        await c.page.get_by_role("link", name="Modèles de démarche").first.click()
    assert "Co-construction" in await c.text() and "Consultation" in await c.text()
    (tmp_path / "broken.yaml").write_text(BROKEN, "utf-8")
    (tmp_path / "budget.yaml").write_text(IMPORTED, "utf-8")

    # An invalid file: every problem, with its step and field, in French.
    await c.page.get_by_label("Fichier du modèle (YAML)").set_input_files(tmp_path / "broken.yaml")
    await c.click("Importer ce fichier")
    summary = await c.page.locator(".error-summary").inner_text()
    assert french("Étape « idees », durée : Une étape dure plus de 0 jour") in summary
    assert (
        french("Étape « vote », étape où revenir : ") in summary and french("« suite »") in summary
    )
    assert "suite" in await c.page.locator("#file-problems").inner_text()
    # A kind nobody knows is said in words too (the models' check, before the rules').
    (tmp_path / "kind.yaml").write_text(BROKEN.replace("kind: diagnosis", "kind: atelier"))
    await c.page.get_by_label("Fichier du modèle (YAML)").set_input_files(tmp_path / "kind.yaml")
    await c.click("Importer ce fichier")
    summary = await c.page.locator(".error-summary").inner_text()
    assert french("Étape « idees », type : Type « atelier » inconnu") in summary
    await c.check_accessibility("the templates page, a file refused")

    # A valid one: version 1, listed.
    await c.page.get_by_label("Fichier du modèle (YAML)").set_input_files(tmp_path / "budget.yaml")
    await c.click("Importer ce fichier")
    assert c.page.url.endswith("/console/modeles/budget-participatif?enregistre=1")
    text = await c.text()
    assert "La version 1 est enregistrée" in text
    assert "Dépôt des idées" in text and "Relances 7 jours et 2 jours avant l’échéance" in text
    assert "Majorité" in text
    await c.check_accessibility("an imported template's page")
    assert not unreadable(text)
    download = await c.page.request.get(
        f"{site}/console/modeles/budget-participatif/versions/1.yaml"
    )
    assert download.ok and "id: budget-participatif" in await download.text()
    await c.page.goto(f"{site}/console/modeles")
    assert "Budget participatif" in await c.text()

    # The same id again: offered as a new version (the file kept meanwhile), or another id.
    await c.page.get_by_label("Fichier du modèle (YAML)").set_input_files(tmp_path / "budget.yaml")
    await c.click("Importer ce fichier")
    conflict = await c.page.locator("#conflict").inner_text()
    assert french("Un modèle « budget-participatif » existe déjà") in conflict
    await c.check_accessibility("the templates page, an id taken")
    await c.click(french("Enregistrer comme nouvelle version de « budget-participatif »"))
    assert c.page.url.endswith("?enregistre=2")
    versions = await c.page.locator("table").inner_text()
    assert "Version 2" in versions and "Version 1" in versions

    # The YAML itself, changed as text: a new version; a mistake said with its step and field.
    async with c.page.expect_navigation():
        await c.page.get_by_role("link", name="Modifier le YAML lui-même").click()
    yaml = c.page.get_by_label("Le modèle en YAML")
    written = await yaml.input_value()
    assert "P14D" in written
    await yaml.fill(written.replace("P14D", "P0D"))
    await c.click("Enregistrer une nouvelle version")
    assert (
        french("Étape « vote », durée : Une étape dure plus de 0 jour")
        in await c.page.locator("#yaml-problems").inner_text()
    )
    assert "P0D" in await yaml.input_value()  # kept
    await c.check_accessibility("the YAML page, a mistake")
    await yaml.fill(written.replace("P14D", "P10D"))
    await c.click("Enregistrer une nouvelle version")
    assert c.page.url.endswith("?enregistre=3")
    assert "Durée\u00a0: 10 jours" in await c.text()

    await c.page.goto(f"{site}/console/modeles")
    await c.page.get_by_label("Fichier du modèle (YAML)").set_input_files(tmp_path / "budget.yaml")
    await c.click("Importer ce fichier")
    await c.fill("Un autre identifiant", "budget-2027")
    await c.click("Enregistrer sous cet identifiant")
    assert c.page.url.endswith("/console/modeles/budget-2027?enregistre=1")

    # In English for an English reader.
    await c.page.goto(f"{site}/langue?vers=en&retour=/console/modeles")
    assert await c.page.locator("h1").inner_text() == "Process templates"
    await c.leave()


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
async def test_a_built_in_template_is_duplicated_and_changed_with_the_form(site, browser, js):
    c = await Coordinator.sign_in(browser, site, js=js, width=375)
    await c.page.goto(f"{site}/console/modeles/appel-a-projets")
    assert "Modifier les étapes" not in await c.text()  # built in: duplicated, not changed
    await c.fill("Identifiant de la copie", "appel-lyon")
    await c.fill("Nom de la copie", "Appel à projets de Lyon")
    await c.click("Dupliquer ce modèle")
    assert c.page.url.endswith("/console/modeles/appel-lyon?enregistre=1")
    assert await c.page.locator("h1").inner_text() == "Appel à projets de Lyon"
    async with c.page.expect_navigation():
        await c.page.get_by_role("link", name="Modifier les étapes").click()
    await c.check_accessibility("the edit form")
    assert not unreadable(await c.text())
    await fits(c)
    await c.screenshot(f"console-template-edit-375-{'js' if js else 'nojs'}")

    # Version 2 of appel-a-projets: the charter first, the budget the fourth step (s3).
    # Buttons that change the rows: a step added then removed, an approval added then
    # removed, each time the form coming back with what was typed.
    await c.page.locator("#s3-days").fill("10")
    await c.page.locator("#s3-a0-rule").select_option("majority")
    await c.click("Ajouter une étape")
    assert await c.page.locator("#s7-name_fr").count() == 1
    assert await c.page.locator("#s3-days").input_value() == "10"
    await c.click("Retirer l’étape 8")
    assert await c.page.locator("#s7-name_fr").count() == 0
    await c.click("Ajouter une approbation à l’étape 4")
    assert await c.page.locator("#s3-a1-rule").count() == 1
    await c.click("Retirer l’approbation 2 de l’étape 4")
    assert await c.page.locator("#s3-a1-rule").count() == 0
    await c.click("Descendre l’étape 2")
    assert await c.page.locator("#s1-id").input_value() == "co_design"
    await c.click("Monter l’étape 3")
    assert await c.page.locator("#s1-id").input_value() == "diagnosis"
    assert await c.page.locator("#s3-a0-rule").input_value() == "majority"
    await c.click("Enregistrer une nouvelle version")
    assert c.page.url.endswith("/console/modeles/appel-lyon?enregistre=2"), await c.text()
    text = await c.text()
    assert "Durée\u00a0: 10 jours" in text
    assert "Règle\u00a0: Majorité" in text
    versions = await c.page.locator("table").inner_text()
    assert "Version 2" in versions and "Version 1" in versions
    await c.check_accessibility("the changed template's page")
    assert not unreadable(text)

    # A loop to a later step: refused beside the step's field, the form kept.
    async with c.page.expect_navigation():
        await c.page.get_by_role("link", name="Modifier les étapes").click()
    await c.page.locator("#s3-loop_to").select_option("evaluation")
    await c.page.locator("#s4-days").fill("12")
    await c.click("Enregistrer une nouvelle version")
    beside = await c.page.locator("#s3-loop_to-error").inner_text()
    assert french("revient à « Évaluation », qui vient après") in beside
    link = c.page.locator(".error-summary a")
    assert await link.count() == 1 and await link.get_attribute("href") == "#s3-loop_to"
    assert await c.page.locator("#s4-days").input_value() == "12"
    await c.check_accessibility("the edit form, a loop forward refused")
    detail = await api(site, "GET", "/templates/appel-lyon")
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    assert detail["latest"]["template"]["steps"][3]["approvals"][0]["rule"] == "majority"
    await c.leave()
