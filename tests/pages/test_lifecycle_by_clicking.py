"""A whole project in a browser: the facilitator and three partners act only by clicking on
their pages (the project launched through the API), in French, one partner in English. Every
page is scanned by axe-core for each role and phase; the main pages are photographed."""

from __future__ import annotations

import asyncio
import re

from tests.pages.helpers import Person, api, launch, tokens
from tests.texts.readable import unreadable


async def test_a_project_from_invitation_to_report_by_clicking(site, browser):
    launched = await launch(site, partners=3)
    project_id = launched["project_id"]
    token = tokens(launched)
    fac = await Person.arrive(browser, site, "facilitator", token["fac"])
    p1 = await Person.arrive(browser, site, "partner 1", token["p1"])
    p2 = await Person.arrive(browser, site, "partner 2", token["p2"], width=375)
    p3 = await Person.arrive(browser, site, "partner 3 (English)", token["p3"])
    obs = await Person.arrive(browser, site, "observer", token["obs"])
    coord = await Person.arrive(browser, site, "coordinator", token["coord"])
    everyone = [fac, p1, p2, p3, obs, coord]

    async def scan(phase: str) -> None:
        for person in everyone:
            await person.reload()
            await person.check_accessibility(phase)
            if person is not p3:  # a French page: no code, no English word
                assert not unreadable(await person.text()), (phase, person.name)

    # -- the personal link leaves no token behind, and the page is in the reader's language
    for person in everyone:
        assert person.token not in person.page.url
        assert person.page.url.endswith(f"/projets/{project_id}")
    assert await p1.page.locator("html").get_attribute("lang") == "fr"
    assert "Votre contribution au diagnostic est attendue avant le" in await p1.text()
    assert "Your contribution to the diagnosis is expected by" in await p3.text()
    assert "Rien n’est attendu de vous pour l’instant." in await obs.text()
    await scan("diagnosis")
    await p1.screenshot("participant-diagnosis-1280")
    await p2.screenshot("participant-diagnosis-375")

    # -- diagnosis: each partner contributes
    for person, kind, text in (
        (p1, "Une ressource", "Deux parcelles municipales rue Garon"),
        (p2, "Un besoin", "Des familles veulent cultiver ensemble"),
    ):
        await person.page.get_by_label("Ce que vous apportez").select_option(label=kind)
        await person.fill("Votre contribution", text)
        await person.click("Ajouter ma contribution")
        assert "C’est fait : votre action est enregistrée." in await person.text()
    await p3.page.get_by_label("What you bring").select_option(label="An observation")
    await p3.fill("Your contribution", "Soils must be analysed first")
    await p3.click("Add my contribution")
    assert "Done: your action is recorded." in await p3.text()
    await scan("co-design")

    # -- co-design: a proposal, an endorsement, the facilitator's plan
    await p1.reload()
    await p1.fill("Titre de votre proposition", "Jardins partagés en bacs")
    await p1.fill("Ce que vous proposez", "Des bacs hors-sol et un composteur collectif.")
    await p1.fill("Indicateur 1", "Familles inscrites")
    await p1.fill("Cible de l’indicateur 1", "40")
    await p1.click("Envoyer ma proposition")
    await p2.reload()
    await p2.click("Soutenir cette proposition")
    assert "1 soutien" in await p2.text()
    await fac.reload()
    assert "Votre plan consolidé est attendu avant le" in await fac.text()
    await fac.page.get_by_role("checkbox", name=re.compile("Jardins partagés en bacs")).check()
    await fac.fill("Résumé du plan", "Deux jardins en bacs, un composteur.")
    await fac.click("Soumettre le plan à décision")
    await scan("decision")
    await fac.screenshot("facilitator-decision-1280")
    # Readable on a 360-pixel phone: nothing wider than the screen.
    await p2.page.set_viewport_size({"width": 360, "height": 800})
    for person in (p2, fac):
        await person.page.set_viewport_size({"width": 360, "height": 800})
        width = await person.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{person.name}'s page is {width} px wide on a 360 px phone"
    await fac.page.set_viewport_size({"width": 1280, "height": 900})

    # -- decision, round 1: an objection sends the plan back
    await p1.reload()
    await p1.page.get_by_label("Consentement", exact=True).check()
    await p1.click("Envoyer ma réponse")
    await p2.reload()
    await p2.page.get_by_label("Objection", exact=True).check()
    await p2.click("Envoyer ma réponse")  # no reason: refused, shown beside the form
    text = await p2.text()
    assert "Il y a un problème" in text and "Indiquez un motif : il est obligatoire." in text
    assert await p2.page.get_by_label("Objection", exact=True).is_checked()  # input kept
    await p2.check_accessibility("decision, with an error")
    await p2.screenshot("participant-error-375")
    # The language switch of a refused form's page leads back to the project page.
    switch = await p2.page.get_by_role("link", name="English").get_attribute("href")
    assert switch.endswith(f"retour=/projets/{project_id}")
    await p2.fill("Votre motif", "La parcelle rue Garon est inondable")
    await p2.click("Envoyer ma réponse")
    await p3.reload()
    await p3.page.get_by_label("Abstention", exact=True).check()
    await p3.click("Send my answer")
    # Under consent the facilitator weighs the objection, on its page: valid, it blocks.
    await fac.reload()
    assert "Chaque objection attend votre jugement" in await fac.text()
    await fac.page.get_by_text("Juger l’objection de Partenaire 2").click()
    judging = fac.page.locator("form[id^='judge-']")
    await (
        judging.get_by_role("group", name=re.compile("causerait-elle un tort"))
        .get_by_label("Oui")
        .check()
    )
    await judging.get_by_role("group", name=re.compile("avéré")).get_by_label("Oui").check()
    await judging.get_by_role("group", name=re.compile("assez sûr")).get_by_label("Non").check()
    await judging.get_by_label(re.compile("Valable")).check()
    await judging.get_by_label("Votre raison, que chacun lira").fill("Une parcelle inondable")
    await fac.check_accessibility("an objection to judge")
    await fac.page.set_viewport_size({"width": 375, "height": 800})
    await fac.screenshot("facilitator-judgement-375")
    await fac.page.set_viewport_size({"width": 1280, "height": 900})
    async with fac.page.expect_navigation():  # its page reloads with the result: wait for it
        await judging.get_by_role("button", name="Enregistrer le jugement").click()
    await scan("co-design, round 2")
    assert "Décision du 1er tour : non adoptée" in await p1.text()
    assert "Objection\u00a0: Partenaire 2" in await obs.text()

    # -- round 2: the plan answers the objection; everyone consents
    await fac.reload()
    await fac.page.get_by_role("checkbox", name=re.compile("Jardins partagés en bacs")).check()
    await fac.fill("Résumé du plan", "Deux jardins en bacs surélevés.")
    await fac.fill(re.compile("Réponse du plan à l’objection de"), "Bacs surélevés de 60 cm")
    await fac.click("Soumettre le plan à décision")
    # The two versions side by side, word by word, the objection's answer beside them.
    await p2.reload()
    versions = p2.page.get_by_role("group", name="Ce qui a changé depuis le plan du 1er tour")
    assert await versions.locator("del").all_inner_texts() == ["bacs,", "un composteur."]
    assert await versions.locator("ins").all_inner_texts() == ["bacs", "surélevés."]
    await p2.check_accessibility("the plan's two versions side by side")
    for person, button, label in (
        (p1, "Envoyer ma réponse", "Consentement"),
        (p2, "Envoyer ma réponse", "Consentement"),
        (p3, "Send my answer", "Consent"),
    ):
        await person.reload()
        await person.page.get_by_label(label, exact=True).check()
        await person.click(button)
    await scan("evaluation")
    assert "2e tour : décision adoptée" in await p1.text()

    # -- evaluation: every partner scores the indicator; the report follows
    for person, button in ((p1, "Envoyer mon évaluation"), (p2, "Envoyer mon évaluation"),
                           (p3, "Send my assessment")):  # fmt: skip
        await person.reload()
        if person is p1:
            assert "0 indicateur sur 1 noté" in await person.text()
        await (
            person.page.get_by_role("group", name=re.compile("Familles inscrites"))
            .get_by_label("4", exact=True)
            .check()
        )
        await person.click(button)
        if person is p1:  # the score is kept on the form, and counted
            assert "1 indicateur sur 1 noté" in await person.text()
            group = person.page.get_by_role("group", name=re.compile("Familles inscrites"))
            assert await group.get_by_label("4", exact=True).is_checked()
    # Every partner assessed: the facilitator is asked for the conclusion, which closes it.
    await fac.reload()
    await fac.fill(
        "Votre conclusion, pour les partenaires et le rapport final", "Les jardins vivent."
    )
    await fac.click("Publier la conclusion")
    for _ in range(100):
        await p1.reload()
        if "Lire le rapport final" in await p1.text():
            break
        await asyncio.sleep(0.1)
    await scan("closed")
    async with p1.page.expect_navigation():
        await p1.page.get_by_role("link", name="Lire le rapport final").click()
    assert await p1.page.locator("h1").inner_text() == launched["view"]["title"]
    await p1.check_accessibility("the report")
    await p1.screenshot("report-1280")

    view = await api(site, "GET", f"/projects/{project_id}")
    assert view["phase"] == "closed" and view["outcome"] == "adopted"
    assert [d["outcome"] for d in view["decisions"]] == ["not_adopted", "adopted"]
    assert [r["mean_score"] for r in view["results"]] == [4]
    # The token never reached a later URL, nor a Referer.
    for person in everyone:
        for request in person.requests:
            assert person.token not in request.url or "/p/" in request.url
            assert person.token not in (await request.all_headers()).get("referer", "")
    for person in everyone:
        await person.leave()
