"""The partnership charter in the browser: the facilitator writes the first version from the
model on the charter's page; a partner proposes a wording and objects, from the answer link of
its message; the facilitator's second version must answer the objection; once every partner
consents, the page lists the signatures and offers the charter to print. axe on the page."""

from __future__ import annotations

import re

from tests.pages.helpers import Person, api, tokens
from tests.pages.test_steps_pages import as_participant, launch_from


async def test_a_charter_written_objected_to_and_adopted_on_its_page(site, browser):
    launched = await launch_from(site, {"id": "co-construction"})
    project_id, keys = launched["project_id"], tokens(launched)
    fac = await Person.arrive(browser, site, "the facilitator", keys["fac"])
    assert "La première version de la charte est attendue de vous" in await fac.text()
    async with fac.page.expect_navigation():
        await fac.page.get_by_role("link", name="Ouvrir la charte de partenariat").click()
    # The form starts from the model, in the project's words.
    purpose = fac.page.get_by_label("Objet du partenariat", exact=True)
    assert "« Jardins partagés »" in (await purpose.input_value()).replace("\u00a0", " ")
    await fac.page.get_by_label("Règle de décision").select_option("majority")
    await fac.fill("Quorum : le pourcentage des votants qui doivent répondre", "60")
    await fac.check_accessibility("the charter's first version, to write")
    await fac.click("Publier la première version")
    assert "La version 1 est ouverte aux réponses" in await fac.text()

    # A partner comes from its message's answer link: the charter's page, its objection ticked.
    p1 = await Person.arrive(browser, site, "partner 1", keys["p1"])
    await p1.page.goto(f"{site}/p/{keys['p1']}?answer=object")
    assert re.search(r"/projets/[^/]+/charte\?reponse=object", p1.page.url)
    assert await p1.page.get_by_role("radio", name="Objection").is_checked()
    governance = p1.page.locator("#note-governance")
    await p1.page.get_by_text("Commenter « Gouvernance", exact=False).click()
    await governance.get_by_label("Votre commentaire, ou la rédaction que vous proposez").fill(
        "Les décisions se prennent par consentement."
    )
    await governance.get_by_label("C’est une nouvelle rédaction de la section").check()
    async with p1.page.expect_navigation():
        await governance.get_by_role("button", name="Envoyer").click()
    assert "Ville de Lyon propose cette rédaction" in await p1.text()
    await p1.page.get_by_role("radio", name="Objection").check()
    await p1.fill("Votre motif", "La majorité écrase les petites structures.")
    await p1.click("Envoyer ma réponse")
    base = f"/projects/{project_id}"
    for pid in ("p2", "p3"):
        await as_participant(site, keys[pid], "PUT", f"{base}/answer", {"kind": "consent"})

    # Version 2 must answer the objection: refused until it does, beside its box.
    await fac.reload()
    text = await fac.text()
    assert "La version 1 a été renvoyée par une objection" in text
    await fac.fill("Ce qui change par rapport à la version 1", "Le consentement")
    await fac.click("Publier la version 2")
    assert "Il y a un problème" in await fac.text()
    # Said beside the objection's box.
    error = fac.page.locator("#publish_charter-objections-error")
    assert "Ce champ est vide" in await error.inner_text()
    await fac.check_accessibility("the charter's second version, refused")
    await fac.fill(
        "Votre réponse à l’objection de Ville de Lyon", "Nous décidons par consentement."
    )
    await fac.page.get_by_label("Règle de décision").select_option("consent")
    await fac.click("Publier la version 2")
    for pid in ("p1", "p2", "p3"):
        await as_participant(site, keys[pid], "PUT", f"{base}/answer", {"kind": "consent"})

    await p1.page.goto(f"{site}/projets/{project_id}/charte")
    text = await p1.text()
    assert "Version 2, adoptée le" in text
    assert "Ville de Lyon a consenti le" in text and "Partenaire 3 a consenti le" in text
    assert "Objection de Ville de Lyon" in text and "Nous décidons par consentement." in text
    await p1.check_accessibility("the adopted charter")
    await p1.screenshot("charter")
    printable = await p1.context.request.get(f"{site}/projets/{project_id}/charte.html")
    assert printable.ok and "Charte de partenariat – Jardins partagés" in await printable.text()
    view = await api(site, "GET", base)
    assert view["phase"] == "diagnosis"
    await p1.leave()
    await fac.leave()


async def test_a_newcomer_proposed_on_the_page_joins_and_consents_to_the_charter(site, browser):
    launched = await launch_from(site, {"id": "co-construction"})
    project_id, keys = launched["project_id"], tokens(launched)
    base = f"/projects/{project_id}"
    model = (await api(site, "GET", f"{base}/charter"))["model"]
    governance = {"rule": "consent", "quorum": 0.5, "joining": "consent"}
    await as_participant(
        site, keys["fac"], "POST", f"{base}/charter", {"sections": model, "governance": governance}
    )
    for pid in ("p1", "p2", "p3"):
        await as_participant(site, keys[pid], "PUT", f"{base}/answer", {"kind": "consent"})

    p1 = await Person.arrive(browser, site, "partner 1", keys["p1"])
    await p1.page.get_by_text("Proposer une organisation comme nouveau partenaire").click()
    form = p1.page.locator("#form-propose_newcomer")
    await form.get_by_label("Organisation", exact=True).fill("Centre social Garon")
    await form.get_by_label("Adresse e-mail (facultatif)").fill("accueil@cs-garon.example")
    async with p1.page.expect_navigation():
        await form.get_by_role("button", name="La proposer aux partenaires").click()
    assert "Proposée par Ville de Lyon" in await p1.text()
    await p1.check_accessibility("an organisation proposed to join")

    p2 = await Person.arrive(browser, site, "partner 2", keys["p2"])
    text = await p2.text()
    assert "Une organisation proposée pour entrer dans le partenariat attend votre réponse" in text
    await p2.page.get_by_role("radio", name="Consentement").check()
    await p2.click("Envoyer ma réponse pour Centre social Garon")
    assert "Consentements à ce jour" in await p2.text()
    await as_participant(
        site, keys["p3"], "PUT",
        f"{base}/newcomers/{(await api(site, 'GET', base))['newcomers'][0]['participant']['id']}/answer",
        {"kind": "consent"},
    )  # fmt: skip
    view = await api(site, "GET", base)
    newcomer = next(
        p for p in view["participants"] if p["organisation_name"] == "Centre social Garon"
    )
    link = await api(site, "POST", f"{base}/participants/{newcomer['id']}/link")
    arrived = await Person.arrive(browser, site, "the newcomer", link["participant"]["token"])
    assert "La charte en vigueur attend votre consentement" in await arrived.text()
    await arrived.page.goto(f"{site}/projets/{project_id}/charte")
    await arrived.check_accessibility("the charter, to consent to")
    await arrived.click("Je consens à la charte en vigueur")
    assert "Centre social Garon a consenti le" in await arrived.text()
    for person in (p1, p2, arrived):
        await person.leave()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


async def test_a_charter_agreed_before_is_given_at_launch_and_kept_with_the_project(site, browser):
    from tests.pages.test_console import Coordinator, fill_row, territory_of

    c = await Coordinator.sign_in(browser, site)
    async with c.page.expect_navigation():
        await c.page.get_by_role("link", name="Lancer un projet").first.click()
    assert await c.page.get_by_label("Co-construction", exact=True).is_checked()
    title = "Jardins partagés (charte signée en 2025)"
    await c.fill("Titre", title)
    await c.fill("Territoire", territory_of(title))
    rows = [
        ("Maison des Associations du 8e", "coordinator", "mda@example.org"),
        ("Coopérative Facil", "facilitator", "facil@example.org"),
        ("Mairie du 8e", "partner", "mairie@example.org"),
    ]
    for n, row in enumerate(rows):
        await fill_row(c, n, *row)
    # Ticked, but neither its file nor its text, nor its day: each said beside its field.
    await c.page.get_by_label("Les partenaires ont adopté leur charte avant le projet").check()
    await c.click("Lancer le projet")
    text = await c.text()
    assert "Indiquez une date." in text
    assert "Joignez le fichier de la charte adoptée ou donnez son texte" in text
    await c.check_accessibility("the launch form, an agreed charter incomplete")
    # A file that is no document is refused; the form keeps the rest.
    await c.page.set_input_files(
        "#charter_file", files=[{"name": "charte.pdf", "mimeType": "application/pdf",
                                 "buffer": b"not a pdf"}],
    )  # fmt: skip
    await c.page.locator("#charter_agreed_on").fill("2025-03-01")
    await c.click("Lancer le projet")
    assert "Le fichier de la charte doit être un PDF" in await c.text()
    assert await c.page.locator("#p2-organisation_name").input_value() == "Mairie du 8e"
    await c.page.set_input_files(
        "#charter_file", files=[{"name": "Charte 2025.pdf", "mimeType": "application/pdf",
                                 "buffer": PDF}],
    )  # fmt: skip
    await c.page.get_by_label("La règle de décision qu’elle fixe, le cas échéant").select_option(
        "majority"
    )
    await c.click("Lancer le projet")
    assert "/console/projets/" in c.page.url, await c.text()
    project_id = c.page.url.rsplit("/", 1)[1].split("?")[0]
    view = await api(site, "GET", f"/projects/{project_id}")
    assert view["phase"] == "diagnosis"  # the charter step skipped
    await c.page.goto(f"{site}/console/projets/{project_id}/charte")
    text = await c.text()
    assert "Adoptée par les partenaires avant le projet, le 1er mars 2025." in text
    assert "majorité" in text.lower()
    async with c.page.expect_download() as downloading:
        await c.page.get_by_role("link", name=re.compile("Télécharger la charte")).click()
    download = await downloading.value
    assert download.suggested_filename == "Charte 2025.pdf"
    with open(await download.path(), "rb") as saved:
        assert saved.read() == PDF
    await c.check_accessibility("the charter agreed before the project")
    await c.page.goto(f"{site}/console/projets/{project_id}")
    assert "adoptée avant le projet, le 1er mars 2025" in await c.text()
    await c.leave()


async def test_an_amendment_proposed_and_answered_on_the_charter_page(site, browser):
    launched = await launch_from(site, {"id": "co-construction"})
    project_id, keys = launched["project_id"], tokens(launched)
    base = f"/projects/{project_id}"
    model = (await api(site, "GET", f"{base}/charter"))["model"]
    await as_participant(site, keys["fac"], "POST", f"{base}/charter", {"sections": model})
    for pid in ("p1", "p2", "p3"):
        await as_participant(site, keys[pid], "PUT", f"{base}/answer", {"kind": "consent"})
    before = await api(site, "GET", base)
    assert before["phase"] == "diagnosis"

    fac = await Person.arrive(browser, site, "the facilitator", keys["fac"])
    await fac.page.goto(f"{site}/projets/{project_id}/charte")
    form = fac.page.locator("#form-amend_charter")
    # Without saying what changes: refused beside its box, the rest kept.
    await form.get_by_label("Nombre de jours laissés aux partenaires pour répondre").fill("10")
    await fac.click("Proposer la modification aux partenaires")
    assert "Il y a un problème" in await fac.text()
    await fac.check_accessibility("an amendment refused")
    await (
        fac.page.locator("#form-amend_charter")
        .get_by_label("Ce que la modification change")
        .fill("Communication : chaque partenaire relit les communiqués")
    )
    await fac.page.locator("#amend_charter-section_communication").fill(
        "Chaque partenaire relit les communiqués avant leur diffusion."
    )
    await fac.click("Proposer la modification aux partenaires")
    text = await fac.text()
    assert "La version 2, une modification, est ouverte aux réponses des partenaires" in text

    p1 = await Person.arrive(browser, site, "partner 1", keys["p1"])
    assert "Une modification de la charte attend votre réponse" in await p1.text()
    async with p1.page.expect_navigation():
        await p1.page.get_by_role("link", name="Répondre à la modification de la charte").click()
    await p1.check_accessibility("an amendment to answer")
    amended = await p1.page.locator("#modification").inner_text()
    assert "La modification proposée\u00a0: version 2" in amended
    assert "Chaque partenaire relit les communiqués avant leur diffusion." in amended
    answer = p1.page.locator("#form-answer_amendment")
    await answer.get_by_role("radio", name="Objection").check()
    await p1.click("Envoyer ma réponse à la modification")
    assert "Il y a un problème" in await p1.text()  # an objection needs its reason
    await (
        p1.page.locator("#form-answer_amendment").get_by_role("radio", name="Consentement").check()
    )
    await p1.click("Envoyer ma réponse à la modification")
    assert "Votre réponse pour l’instant\u00a0: Consentement" in await p1.text()
    for pid in ("p2", "p3"):
        await as_participant(
            site, keys[pid], "PUT", f"{base}/charter/amendment/answer", {"kind": "consent"}
        )
    await p1.reload()
    text = await p1.text()
    assert "Version 2, adoptée le" in text and "Version 2 (modification)" in text
    view = await api(site, "GET", base)
    assert view["amendment"] is None and view["deadline"] >= before["deadline"]
    await p1.leave()
    await fac.leave()
