"""The coordinator's console in a real browser: sign-in, the launch form, links shown once,
the project list by phase, another organisation kept out, refusals beside their fields, the
sign-in rate limit; axe-core on every console page, screenshots at 375 and 1280 px."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from tests.conftest import COORDINATOR_CREDENTIAL, OTHER_ORG_CREDENTIAL
from tests.pages.helpers import AXE, Person, api


class Coordinator(Person):
    @classmethod
    async def sign_in(
        cls,
        browser: Any,
        base: str,
        organisation: str = "mda-lyon8",
        credential: str = COORDINATOR_CREDENTIAL,
        *,
        js: bool = True,
        width: int = 1280,
    ) -> Coordinator:
        context = await browser.new_context(
            viewport={"width": width, "height": 900},
            bypass_csp=True,
            java_script_enabled=js,
            locale="fr-FR",
        )
        context.set_default_timeout(30_000)
        page = await context.new_page()
        person = cls(f"coordinator of {organisation}", context, page, base, credential)
        person.javascript = js
        await page.goto(f"{base}/")
        async with page.expect_navigation():
            await page.get_by_role(
                "link", name="Coordinateurs : se connecter".replace(" :", "\u00a0:")
            ).click()
        await person.fill("Identifiant de l’organisation", organisation)
        await person.fill("Clé d’accès", credential)
        await person.click("Se connecter")
        return person


async def fill_row(c: Coordinator, n: int, organisation: str, role: str, email: str) -> None:
    await c.page.locator(f"#p{n}-organisation_name").fill(organisation)
    await c.page.locator(f"#p{n}-role").select_option(role)
    await c.page.locator(f"#p{n}-email").fill(email)


async def choose_the_settings(c: Coordinator) -> None:
    """Co-construction as 1.x ran it, tuned by the form's settings (the form offers version 2,
    with its charter, first)."""
    await c.page.get_by_label("Co-construction sans charte (version 1)").check()
    if not c.javascript:  # the form comes back with the settings
        await c.click("Choisir cette démarche")


async def launch_from_the_form(c: Coordinator, title: str) -> str:
    async with c.page.expect_navigation():
        await c.page.get_by_role("link", name="Lancer un projet").first.click()
    await c.check_accessibility("the launch form")
    assert await c.page.get_by_label("Co-construction", exact=True).is_checked()
    await choose_the_settings(c)
    await c.fill("Titre", title)
    await c.fill("Territoire", territory_of(title))
    await c.click("Ajouter un participant")  # JavaScript or not: the form comes back longer
    await c.click("Ajouter un participant")
    rows = [
        ("Maison des Associations du 8e", "coordinator", "mda@example.org"),
        ("Coopérative Facil", "facilitator", "facil@example.org"),
        ("Mairie du 8e", "partner", "mairie@example.org"),
        ("Habitants des États-Unis", "partner", "habitants@example.org"),
        ("Métropole de Lyon", "observer", "metropole@example.org"),
    ]
    for n, row in enumerate(rows):
        await fill_row(c, n, *row)
    await c.page.locator("#action-days").fill("0")
    await c.click("Lancer le projet")
    assert "/console/projets/" in c.page.url, await c.text()
    return c.page.url.rsplit("/", 1)[1].split("?")[0]


def territory_of(title: str) -> str:
    """A territory of the test's own: the list, filtered by it, holds only its project."""
    return f"Quartier {abs(hash(title)) % 10**8}"


async def listed(c: Coordinator, title: str, *expected: str) -> str:
    """The project's row in the console's list, once it says what is expected (visibility
    catches up within moments)."""
    # The running and recent projects' table (an ended one is also under « Projets archivés »).
    table = c.page.get_by_role("region", name="Vos projets, les plus récents d’abord")
    row = table.get_by_role("row", name=re.compile(re.escape(title)))
    text = ""
    for _ in range(100):
        await c.page.goto(f"{c.base}/console?territoire={territory_of(title)}")
        text = await row.inner_text() if await row.count() else ""
        if text and all(e in text for e in expected):
            return text
        await asyncio.sleep(0.1)
    raise AssertionError(f"{title} is not listed with {expected}: {text!r}")


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
async def test_a_coordinator_launches_from_the_form_and_hands_out_links(site, browser, js):
    c = await Coordinator.sign_in(browser, site, js=js)
    assert "Vos projets" in await c.text() and "mda-lyon8" not in await c.text()
    await c.check_accessibility("the project list")
    title = f"Jardins partagés ({'avec' if js else 'sans'} JavaScript)"
    project_id = await launch_from_the_form(c, title)
    text = await c.text()
    # This site sends no e-mail (the tests' outbox): the links, shown once, are to pass on.
    assert (
        "Alliance n’envoie aucun courriel\u00a0: transmettez vous-même chaque lien personnel"
        in text
    )
    assert await c.page.locator("input.link-value").first.is_visible()
    links = [await f.input_value() for f in await c.page.locator("input.link-value").all()]
    assert len(links) == 5 and all(
        f"{site.split(':')[0]}" in link or "/p/" in link for link in links
    )
    await c.check_accessibility("the project, links shown once")
    await c.screenshot(f"console-links-1280-{'js' if js else 'nojs'}")
    copy = c.page.get_by_role("button", name="Copier").first
    if js:
        await copy.click()  # the copy button works where a script runs
    else:
        assert not await copy.is_visible()  # without JavaScript, the link is there to select
    await c.reload()
    assert "affichés une seule fois" not in await c.text()  # never shown again
    assert "transmettez vous-même" not in await c.text()
    assert "mairie@example.org" in await c.text()  # the coordinator sees contact details

    # The lifecycle then runs on the partners' pages, from the links handed out.
    tokens = {link.rsplit("/p/", 1)[1] for link in links}
    people = [await Person.arrive(browser, site, "participant", token) for token in tokens]
    by_role: dict[str, Person] = {}
    for person in people:
        who = await person.page.locator(".who-am-i").inner_text()
        role = re.search(r"comme (\w+)", who).group(1)
        by_role.setdefault(role, person) if role != "partenaire" else None
        if role == "partenaire":
            by_role[f"partenaire-{len([k for k in by_role if k.startswith('partenaire')])}"] = (
                person
            )
    fac, p1, p2 = by_role["facilitateur"], by_role["partenaire-0"], by_role["partenaire-1"]
    await listed(c, title, "diagnostic")
    for person in (p1, p2):
        await person.fill("Votre contribution", "Un besoin de jardins")
        await person.click("Ajouter ma contribution")
    await listed(c, title, "co-conception")
    await p1.reload()
    await p1.fill("Titre de votre proposition", "Jardins en bacs")
    await p1.fill("Ce que vous proposez", "Des bacs hors-sol.")
    await p1.fill("Indicateur 1", "Familles inscrites")
    await p1.click("Envoyer ma proposition")
    await fac.reload()
    await fac.page.get_by_role("checkbox").first.check()
    await fac.fill("Résumé du plan", "Des bacs.")
    await fac.click("Soumettre le plan à décision")
    await listed(c, title, "décision", "En attente d’une décision")
    await c.check_accessibility("the project list, a decision waiting")
    await c.screenshot("console-projects-1280")
    for person in (p1, p2):
        await person.reload()
        await person.page.get_by_label("Consentement", exact=True).check()
        await person.click("Envoyer ma réponse")
    await listed(c, title, "évaluation")
    for person in (p1, p2):
        await person.reload()
        await (
            person.page.get_by_role("group", name=re.compile("Familles inscrites"))
            .get_by_label("5", exact=True)
            .check()
        )
        await person.click("Envoyer mon évaluation")
    await fac.reload()
    await fac.fill(
        "Votre conclusion, pour les partenaires et le rapport final", "Les jardins vivent."
    )
    await fac.click("Publier la conclusion")
    await listed(c, title, "terminé", "décision adoptée")
    await c.page.goto(f"{site}/console/projets/{project_id}")
    async with c.page.expect_navigation():
        await c.page.get_by_role("link", name="Lire le rapport final").click()
    assert await c.page.locator("h1").inner_text() == title
    for person in [*people, c]:
        await person.leave()


async def test_another_organisation_sees_none_of_it(site, browser):
    ours = await Coordinator.sign_in(browser, site)
    project_id = await launch_from_the_form(ours, "Un projet de la MDA")
    theirs = await Coordinator.sign_in(browser, site, "other-org", OTHER_ORG_CREDENTIAL)
    assert "Un projet de la MDA" not in await theirs.text()
    csrf = await theirs.page.locator("input[name=csrf_token]").first.get_attribute("value")
    response = await theirs.page.goto(f"{site}/console/projets/{project_id}")
    assert response.status == 404
    posted = await theirs.page.request.post(
        f"{site}/console/projets/{project_id}/cancel",
        form={"csrf_token": csrf or "", "reason": "intrusion", "confirm": "yes"},
    )
    assert posted.status == 404
    view = await api(site, "GET", f"/projects/{project_id}")
    assert view["phase"] == "diagnosis"
    # Our coordinator, signed out, opens the project's address: after signing in, there it is.
    await ours.context.clear_cookies()
    await ours.page.goto(f"{site}/console/projets/{project_id}")
    assert "/connexion" in ours.page.url
    await ours.fill("Identifiant de l’organisation", "mda-lyon8")
    await ours.fill("Clé d’accès", COORDINATOR_CREDENTIAL)
    await ours.click("Se connecter")
    assert ours.page.url.endswith(f"/console/projets/{project_id}")
    assert await ours.page.locator("h1").inner_text() == "Un projet de la MDA"
    await ours.leave()
    await theirs.leave()


async def test_careless_set_ups_are_refused_beside_their_field_with_the_form_kept(site, browser):
    c = await Coordinator.sign_in(browser, site, width=375)
    await c.page.goto(f"{site}/console/lancer")
    await choose_the_settings(c)
    await c.fill("Titre", "Un projet mal réglé")
    await c.fill("Territoire", "Lyon 8e")
    await fill_row(c, 0, "MDA", "coordinator", "meme@example.org")
    await fill_row(c, 1, "Coopérative Facil", "facilitator", "MEME@example.org")  # same e-mail
    await fill_row(c, 2, "Mairie", "partner", "mairie@example.org")
    await c.click("Lancer le projet")
    text = await c.text()
    assert "Il y a un problème" in text
    assert "Les lignes 1 et 2 ont la même adresse e-mail" in text
    assert await c.page.locator("#p1-email").input_value() == "MEME@example.org"  # kept
    await c.check_accessibility("the launch form, refused")
    await c.screenshot("console-launch-refused-375")
    await c.page.locator("#p1-email").fill("facil@example.org")
    await c.page.locator("#decision-days").fill("deux")
    await c.click("Lancer le projet")
    assert "Donnez un nombre, par exemple 14 ou 0,5." in await c.text()
    await c.page.locator("#decision-days").fill("0,007")  # ten minutes, written the French way
    await c.click("Lancer le projet")
    assert "Une phase dure au moins une heure (0,05 jour)." in await c.text()
    assert await c.page.locator("#decision-days").get_attribute("aria-invalid") == "true"
    await fill_row(c, 1, "Habitants", "partner", "hab@example.org")  # no facilitator left
    await c.page.locator("#decision-days").fill("14")
    await c.click("Lancer le projet")
    assert "Le projet a besoin d’un facilitateur" in await c.text()

    # Several mistakes at once: every one of them is said, in the summary with a link to its
    # field and beside the field.
    await c.page.locator("#title").fill("")
    await c.page.locator("#quorum").fill("cent")
    await c.page.locator("#diagnosis-days").fill("0,01")
    await c.page.locator("#p2-email").fill("meme@example.org")  # row 1's address
    await c.click("Lancer le projet")
    summary = c.page.locator(".error-summary")
    links = {await a.get_attribute("href") for a in await summary.locator("a").all()}
    assert {"#title", "#quorum", "#diagnosis-days", "#participants", "#p2-email"} <= links
    for field in ("title", "quorum", "diagnosis-days", "p2-email"):
        assert await c.page.locator(f"#{field}-error").count() == 1, field
    said = await summary.inner_text()
    assert "Le projet a besoin d’un facilitateur" in said and "Les lignes 1 et 3" in said
    await c.check_accessibility("the launch form, many mistakes")
    await c.leave()


async def test_a_sixth_wrong_credential_in_a_minute_waits_and_so_does_a_right_one(site, browser):
    context = await browser.new_context(bypass_csp=True)
    page = await context.new_page()
    for attempt in range(6):
        await page.goto(f"{site}/connexion")
        await page.get_by_label("Identifiant de l’organisation").fill("mda-lyon8")
        await page.get_by_label("Clé d’accès").fill(f"wrong-{attempt}")
        async with page.expect_navigation():
            response = None
            await page.get_by_role("button", name="Se connecter").click()
        text = await page.inner_text("main")
        if attempt < 5:
            assert "ne correspondent pas" in text
    assert re.search(r"Trop de tentatives\u00a0: réessayez dans \d+ secondes", text)
    await page.get_by_label("Clé d’accès").fill(COORDINATOR_CREDENTIAL)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Se connecter").click()
    assert "Trop de tentatives" in await page.inner_text("main")
    assert "/console" not in page.url
    results = await AXE.run(page)
    assert not [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    del response
    await context.close()


async def shown_links(c: Coordinator) -> dict[str, str]:
    """The personal links the page shows once, by organisation."""
    links = {}
    for field in await c.page.locator("input.link-value").all():
        label = await c.page.locator(f"label[for='{await field.get_attribute('id')}']").inner_text()
        links[label.split(" (")[0].split(" – ")[0]] = await field.input_value()
    return links


async def works(browser: Any, site: str, link: str, organisation: str) -> bool:
    """Whether a personal link opens its participant's page (and not "link gone")."""
    person = await Person.arrive(browser, site, organisation, link.rsplit("/p/", 1)[1])
    text = await person.text()
    await person.leave()
    if "Ce lien ne fonctionne plus" in text:
        return False
    assert organisation in text, text
    return True


async def test_the_coordinator_invites_re_sends_replaces_removes_and_cancels(site, browser):
    c = await Coordinator.sign_in(browser, site, width=375)
    title = "Fresque du quartier"
    project_id = await launch_from_the_form(c, title)
    first = await shown_links(c)
    assert set(first) == {
        "Maison des Associations du 8e",
        "Coopérative Facil",
        "Mairie du 8e",
        "Habitants des États-Unis",
        "Métropole de Lyon",
    }

    # Invite: the newcomer's link is shown once, and works.
    await c.page.locator("#invite_participant-organisation_name").fill("Université Lyon 2")
    await c.page.locator("#invite_participant-organisation_kind").select_option("university")
    await c.page.locator("#invite_participant-email").fill("univ@example.org")
    await c.click("Inviter")
    invited = await shown_links(c)
    assert list(invited) == ["Université Lyon 2"]
    await c.check_accessibility("the project, an invitation's link shown once")
    await c.screenshot("console-project-375")
    assert await works(browser, site, invited["Université Lyon 2"], "Université Lyon 2")

    # Re-send: a new link for the Mairie; the one handed out at launch stops working.
    await c.click("Envoyer un nouveau lien personnel à Mairie du 8e")
    resent = await shown_links(c)
    assert list(resent) == ["Mairie du 8e"]
    assert resent["Mairie du 8e"] != first["Mairie du 8e"]
    assert not await works(browser, site, first["Mairie du 8e"], "Mairie du 8e")
    assert await works(browser, site, resent["Mairie du 8e"], "Mairie du 8e")

    # Replace: someone else takes the inhabitants' seat, with a link of their own. An e-mail
    # already in the project is refused, with what was typed kept.
    replace = c.page.locator("details", has_text="Remplacer Habitants des États-Unis")
    await replace.locator("summary").click()
    await replace.get_by_label("Personne qui la représente (facultatif)").fill("Hugo Martin")
    await replace.get_by_label("Adresse e-mail (facultatif)").fill("univ@example.org")
    async with c.page.expect_navigation():
        await replace.get_by_role("button", name="Remplacer").click()
    assert "Quelqu’un utilise déjà cette adresse e-mail" in await c.text()
    replace = c.page.locator("details", has_text="Remplacer Habitants des États-Unis")
    assert await replace.get_by_label("Personne qui la représente (facultatif)").input_value() == (
        "Hugo Martin"
    )
    await replace.get_by_label("Adresse e-mail (facultatif)").fill("")
    await replace.get_by_label("Organisation").fill("Collectif des habitants")
    await replace.get_by_label("Motif (facultatif)").fill("Nouvelle présidence")
    async with c.page.expect_navigation():
        await replace.get_by_role("button", name="Remplacer").click()
    replaced = await shown_links(c)
    assert list(replaced) == ["Collectif des habitants"]
    assert not await works(browser, site, first["Habitants des États-Unis"], "Habitants")
    assert await works(
        browser, site, replaced["Collectif des habitants"], "Collectif des habitants"
    )

    # Remove: nothing happens until the box is ticked; then the link stops working.
    people = c.page.locator("#participants")
    remove = c.page.locator("details", has_text="Retirer Métropole de Lyon du projet")
    await remove.locator("summary").click()
    await remove.get_by_label("Motif (communiqué à la personne concernée)").fill(
        "Hors du périmètre"
    )
    async with c.page.expect_navigation():
        await remove.get_by_role("button", name="Retirer Métropole de Lyon du projet").click()
    assert "Cochez la case pour confirmer." in await c.text()
    assert "Métropole de Lyon" in await people.inner_text()
    assert await remove.get_by_label(
        "Motif (communiqué à la personne concernée)"
    ).input_value() == ("Hors du périmètre")  # what was typed is kept
    assert await works(browser, site, first["Métropole de Lyon"], "Métropole de Lyon")
    remove = c.page.locator("details", has_text="Retirer Métropole de Lyon du projet")
    await remove.get_by_label("Motif (communiqué à la personne concernée)").fill(
        "Hors du périmètre"
    )
    await remove.get_by_role("checkbox").check()
    async with c.page.expect_navigation():
        await remove.get_by_role("button", name="Retirer Métropole de Lyon du projet").click()
    assert "Métropole de Lyon" not in await people.inner_text()
    assert not await works(browser, site, first["Métropole de Lyon"], "Métropole de Lyon")

    # Erase, at the person's request: confirmed by a box; their details and link are gone.
    erase = c.page.locator(
        "details", has_text="Effacer les données de la personne qui représente Université Lyon 2"
    )
    await erase.locator("summary").click()
    await erase.get_by_label(
        "Remplacer aussi ce qu’elle a écrit par « [retiré] »".replace("« ", "«\u00a0").replace(
            " »", "\u00a0»"
        )
    ).check()
    await erase.get_by_label("Je confirme\u00a0: cet effacement est définitif").check()
    async with c.page.expect_navigation():
        await erase.get_by_role(
            "button", name="Effacer les données personnelles (Université Lyon 2)"
        ).click()
    assert "univ@example.org" not in await c.text()
    assert "Université Lyon 2" not in await people.inner_text()
    assert not await works(browser, site, invited["Université Lyon 2"], "Université Lyon 2")

    # Cancel: confirmed by a box too; the partners then read why.
    await c.fill("Motif de l’annulation (les partenaires le liront)", "Budget retiré")
    await c.click("Annuler le projet")
    assert "Cochez la case pour confirmer." in await c.text()
    await listed(c, title, "diagnostic")
    await c.page.goto(f"{site}/console/projets/{project_id}")
    await c.fill("Motif de l’annulation (les partenaires le liront)", "Budget retiré")
    await c.page.get_by_label("Je confirme l’annulation\u00a0: elle est définitive").check()
    await c.click("Annuler le projet")
    await listed(c, title, "annulé")
    mairie = await Person.arrive(browser, site, "Mairie", resent["Mairie du 8e"].rsplit("/p/")[1])
    assert "Le projet a été annulé\u00a0: Budget retiré" in await mairie.text()
    await mairie.leave()
    await c.leave()
