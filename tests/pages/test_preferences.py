"""How much e-mail: chosen on one's own page, seen by the facilitator."""

from __future__ import annotations

from tests.pages.helpers import Person, api, launch, tokens


async def test_a_participant_chooses_a_daily_digest_and_the_facilitator_sees_it(site, browser):
    launched = await launch(site, partners=2)
    project = launched["project_id"]
    p1 = await Person.arrive(browser, site, "partner 1", tokens(launched)["p1"])
    await p1.page.get_by_label("Un résumé par jour").check()
    await p1.page.get_by_label("Heure du résumé quotidien (heure locale)").select_option("7")
    await p1.click("Enregistrer mes réglages")
    assert await p1.page.get_by_label("Un résumé par jour").is_checked()
    await p1.check_accessibility("settings with the e-mail choice")
    view = await api(site, "GET", f"/projects/{project}")
    me = next(p for p in view["participants"] if p["id"] == "p1")
    assert (me["notifications"], me["digest_hour"]) == ("digest", 7)
    await p1.leave()

    facilitator = await Person.arrive(browser, site, "facilitator", tokens(launched)["fac"])
    text = await facilitator.text()
    assert "courriel\u00a0: un résumé par jour (à 7 h)" in text
    assert "courriel\u00a0: tous les messages" in text
    await facilitator.leave()


async def test_a_webhook_to_this_machine_is_refused_beside_its_field(site, browser):
    launched = await launch(site, partners=2)
    p1 = await Person.arrive(browser, site, "partner 1", tokens(launched)["p1"])
    await p1.page.get_by_text("Avancé\u00a0: envoyer les nouvelles du projet").click()
    await p1.page.get_by_label("Adresse de notification automatique (webhook, facultative)").fill(
        "https://127.0.0.1:8000/hook"
    )
    await p1.click("Enregistrer mes réglages")
    assert "Cette adresse de notification automatique ne peut pas être utilisée" in await p1.text()
    field = p1.page.get_by_label("Adresse de notification automatique (webhook, facultative)")
    assert await field.get_attribute("aria-invalid") == "true"
    assert await field.input_value() == "https://127.0.0.1:8000/hook"  # what was typed, kept
    await p1.leave()
