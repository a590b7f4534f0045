"""Personal links and sessions: safe against mail scanners, isolated, revoked with the link;
a GET never changes a project; a POST without its CSRF token records nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.pages.helpers import Person, api, event_count, launch, tokens


async def test_a_session_reads_and_acts_only_on_its_own_project_as_itself(site, browser):
    first = await launch(site, partners=2)
    other = await launch(site, partners=2)
    p1 = await Person.arrive(browser, site, "partner 1", tokens(first)["p1"])
    before = await event_count(site, other["project_id"])

    # Another project's page: this browser has no session for it.
    response = await p1.page.goto(f"{site}/projets/{other['project_id']}")
    assert response.status == 403 and "Ouvrez votre lien personnel" in await p1.text()
    # Acting there, even with this session's CSRF token: refused, nothing recorded.
    await p1.page.goto(f"{site}/projets/{first['project_id']}")
    csrf = await p1.page.locator("input[name=csrf_token]").first.get_attribute("value")
    posted = await p1.page.request.post(
        f"{site}/projets/{other['project_id']}/add_contribution",
        form={"csrf_token": csrf, "kind": "need", "text": "intrusion"},
    )
    assert posted.status == 403
    assert await event_count(site, other["project_id"]) == before
    # On its own project: an action its role never takes, and one that does not exist.
    posted = await p1.page.request.post(
        f"{site}/projets/{first['project_id']}/submit_plan",
        form={"csrf_token": csrf, "summary": "un plan", "proposal_ids[]": "prop-1"},
    )
    assert posted.status == 403 and "Votre rôle dans ce projet" in await posted.text()
    posted = await p1.page.request.post(
        f"{site}/projets/{first['project_id']}/delete_everything", form={"csrf_token": csrf}
    )
    assert posted.status == 404
    # No form names who acts: the session does. p1's contribution is p1's.
    await p1.page.get_by_label("Votre contribution").fill("Un local associatif")
    await p1.click("Ajouter ma contribution")
    view = await api(site, "GET", f"/projects/{first['project_id']}")
    assert [c["participant_id"] for c in view["contributions"]] == ["p1"]
    await p1.leave()


async def test_a_removed_participant_or_a_resent_link_ends_the_session(site, browser):
    launched = await launch(site, partners=3)
    project_id = launched["project_id"]
    p2 = await Person.arrive(browser, site, "partner 2", tokens(launched)["p2"])
    p3 = await Person.arrive(browser, site, "partner 3", tokens(launched)["p3"])
    assert "Ce qui est attendu de vous" in await p2.text()

    await api(site, "DELETE", f"/projects/{project_id}/participants/p2")
    await p2.reload()
    assert "Ce lien ne fonctionne plus" in await p2.text()
    resent = await api(site, "POST", f"/projects/{project_id}/participants/p3/link")
    await p3.reload()
    assert "This link no longer works" in await p3.text()  # p3 reads English
    # The old link is dead too; the new one works.
    await p3.page.goto(f"{site}/p/{tokens(launched)['p3']}")
    assert "This link no longer works" in await p3.text()
    await p3.page.goto(f"{site}/p/{resent['participant']['token']}")
    assert "What is expected of you" in await p3.text()
    await p2.leave()
    await p3.leave()


async def test_opening_every_page_changes_nothing(site, browser):
    launched = await launch(site, partners=2)
    project_id = launched["project_id"]
    before = await event_count(site, project_id)
    for pid, token in tokens(launched).items():
        person = await Person.arrive(browser, site, pid, token)
        for path in (
            f"/projets/{project_id}",
            f"/projets/{project_id}?reponse=object",
            f"/projets/{project_id}/rapport",
            "/accessibilite",
            f"/langue?vers=en&retour=/projets/{project_id}",
            f"/p/{token}?answer=consent",
        ):
            response = await person.page.goto(f"{site}{path}")
            assert response.status == 200, (pid, path)
            assert response.headers["cache-control"] == "no-store"
            assert response.headers["referrer-policy"] == "no-referrer"
        await person.leave()
    assert await event_count(site, project_id) == before


async def test_a_post_without_its_csrf_token_is_refused_and_records_nothing(site, browser):
    launched = await launch(site, partners=2)
    project_id = launched["project_id"]
    p1 = await Person.arrive(browser, site, "partner 1", tokens(launched)["p1"])
    before = await event_count(site, project_id)
    for form in (
        {"kind": "need", "text": "x"},
        {"csrf_token": "forged", "kind": "need", "text": "x"},
    ):
        posted = await p1.page.request.post(
            f"{site}/projets/{project_id}/add_contribution", form=form
        )
        assert posted.status == 403
    assert await event_count(site, project_id) == before
    await p1.leave()


async def test_a_link_that_preselects_an_answer_still_needs_the_click(site, browser):
    launched = await launch(site, partners=2)
    project_id = launched["project_id"]
    p1 = await Person.arrive(browser, site, "partner 1", tokens(launched)["p1"])
    p2 = await Person.arrive(browser, site, "partner 2", tokens(launched)["p2"])
    fac = await Person.arrive(browser, site, "facilitator", tokens(launched)["fac"])
    await p1.page.get_by_label("Votre contribution").fill("Un besoin de bancs")
    await p1.click("Ajouter ma contribution")
    await p2.page.get_by_label("Your contribution").fill("Benches are needed")  # reads English
    await p2.click("Add my contribution")
    await p1.reload()
    await p1.fill("Titre de votre proposition", "Des bancs")
    await p1.fill("Ce que vous proposez", "Dix bancs sur la place.")
    await p1.click("Envoyer ma proposition")
    await fac.reload()
    await fac.page.get_by_role("checkbox").first.check()
    await fac.fill("Résumé du plan", "Dix bancs.")
    await fac.click("Soumettre le plan à décision")
    before = await event_count(site, project_id)

    # As from an e-mail: the link ticks "Objection"; opening it records nothing.
    await p2.page.goto(f"{site}/p/{tokens(launched)['p2']}?answer=object")
    assert p2.page.url.endswith(f"/projets/{project_id}?reponse=object#repondre")
    assert await p2.page.get_by_label("Objection", exact=True).is_checked()
    assert await event_count(site, project_id) == before
    await p2.fill("Your reason", "Too close to the houses")
    await p2.click("Send my answer")
    assert await event_count(site, project_id) > before
    for person in (p1, p2, fac):
        await person.leave()


async def test_the_language_switch_and_the_accessibility_statement(site, browser):
    launched = await launch(site, partners=2)
    p1 = await Person.arrive(browser, site, "partner 1", tokens(launched)["p1"])
    async with p1.page.expect_navigation():
        await p1.page.get_by_role("link", name="English").click()
    assert await p1.page.locator("html").get_attribute("lang") == "en"
    assert "What is expected of you" in await p1.text()
    async with p1.page.expect_navigation():
        await p1.page.get_by_role("link", name="Accessibility: partially compliant").click()
    assert await p1.page.locator("h1").inner_text() == "Accessibility statement"
    await p1.check_accessibility("the accessibility statement")
    async with p1.page.expect_navigation():
        await p1.page.get_by_role("link", name="Français").click()
    assert await p1.page.locator("h1").inner_text() == "Déclaration d’accessibilité"
    # A link cut short when copied is not called "replaced"; a path cut shorter still, and a
    # form's address opened again, get pages too, never the API's JSON.
    cut = await p1.page.goto(f"{site}/p/not-a-token")
    assert cut.status == 404 and "Ce lien n’est pas complet" in await p1.text()
    await p1.check_accessibility("a link cut short")
    nothing = await p1.page.goto(f"{site}/p/")
    assert nothing.status == 404 and "Cette page n’existe pas" in await p1.text()
    await p1.page.goto(f"{site}/p/{tokens(launched)['p1']}")
    project_page = p1.page.url
    await p1.page.goto(f"{project_page}/add_contribution")
    assert p1.page.url == project_page and "Ce qui est attendu de vous" in await p1.text()
    await p1.leave()


async def test_a_participant_changes_its_own_settings_on_its_page(site, browser):
    launched = await launch(site, partners=2)
    assert all(p["link"].endswith(f"/p/{p['token']}") for p in launched["participants"])
    p1 = await Person.arrive(browser, site, "partner 1", tokens(launched)["p1"])
    # A time zone elsewhere, typed: refused with the form kept when it is not a real one.
    await p1.page.get_by_label("Fuseau horaire", exact=True).select_option(
        label="Ailleurs\u00a0: indiquez le fuseau ci-dessous"
    )
    elsewhere = p1.page.get_by_label("Autre fuseau horaire", exact=False)
    await elsewhere.fill("Mars/Olympus")
    await p1.click("Enregistrer mes réglages")
    assert "Il y a un problème" in await p1.text()
    assert "Fuseau horaire inconnu" in await p1.text()
    assert await elsewhere.input_value() == "Mars/Olympus"  # kept
    # The overseas departments are in the list, in words.
    await p1.page.get_by_label("Fuseau horaire", exact=True).select_option(label="Guyane")
    await p1.page.get_by_label("Langue des messages").select_option("en")
    await p1.click("Enregistrer mes réglages")
    text = await p1.text()
    assert "Done: your action is recorded." in text  # now in English, its new language
    zone = p1.page.get_by_label("Time zone", exact=True)
    assert await zone.input_value() == "America/Cayenne"
    assert (await zone.locator("option:checked").inner_text()) == "French Guiana"
    # Everything Alliance holds about me, in one download.
    async with p1.page.expect_download() as downloading:
        await p1.page.get_by_role(
            "link", name="Download everything Alliance holds about me"
        ).click()
    download = await downloading.value
    mine = json.loads(Path(await download.path()).read_text("utf-8"))
    assert mine["participant_id"] == "p1" and mine["participant"]["time_zone"] == "America/Cayenne"
    assert download.suggested_filename.endswith("mes-donnees.json")
    await p1.leave()
