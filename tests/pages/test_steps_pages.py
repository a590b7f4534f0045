"""A template's steps on the participants' pages: the project's own steps, who decides an
approval (a partner who does not approve sees who does, and no form), one form per approval
for a partner who answers two at once, and the facilitator writing a decision's text."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from tests.api_helpers import COORD, bearer, project_body
from tests.pages.helpers import Person, api, tokens


async def launch_from(site: str, template: dict[str, Any], partners: int = 3) -> dict[str, Any]:
    body = project_body(partners, template=template)
    for p in body["participants"]:
        if p["id"] == "p1":
            p["organisation_kind"] = "local_authority"
            p["organisation_name"] = "Ville de Lyon"
    async with httpx.AsyncClient(base_url=site, timeout=10) as http:
        response = await http.post("/projects", json=body, headers=COORD)
        assert response.status_code == 201, response.text
        return response.json()


async def as_participant(site: str, token: str, method: str, path: str, body: Any) -> None:
    async with httpx.AsyncClient(base_url=site, timeout=10) as http:
        response = await http.request(method, path, json=body, headers=bearer(token))
        assert response.status_code in (200, 201), response.text


async def to_the_decision(site: str, keys: dict[str, str], base: str) -> None:
    """Every partner contributes, then the facilitator's plan opens the decision."""
    for pid in ("p1", "p2", "p3"):
        await as_participant(
            site, keys[pid], "POST", f"{base}/contributions", {"kind": "need", "text": "Un besoin"}
        )
    await as_participant(site, keys["fac"], "POST", f"{base}/plan", {"summary": "Le plan"})


async def test_a_partner_who_does_not_approve_sees_who_decides_and_no_form(site, browser):
    launched = await launch_from(site, {"id": "appel-a-projets", "version": 1})
    project_id, keys = launched["project_id"], tokens(launched)
    base = f"/projects/{project_id}"
    await to_the_decision(site, keys, base)
    p2 = await Person.arrive(browser, site, "partner 2 (not a local authority)", keys["p2"])
    text = await p2.text()
    assert "Les étapes du projet" in text and "Approbation du budget (en cours)" in text
    assert "Diagnostic partagé (faite)" in text
    assert (
        "Cette décision revient à Ville de Lyon, au plus tard le" in text
        and "vous n’y répondez pas" in text
    )
    assert await p2.page.get_by_role("button", name="Envoyer ma réponse").count() == 0
    await p2.check_accessibility("a decision someone else answers")
    p1 = await Person.arrive(browser, site, "partner 1 (the local authority)", keys["p1"])
    assert "Les collectivités\u00a0: répondent les partenaires de type collectivité" in (
        await p1.text()
    )
    await p1.page.get_by_label("Consentement").check()
    await p1.click("Envoyer ma réponse")
    view = await api(site, "GET", base)
    assert (view["step"], view["decisions"][0]["outcome"]) == ("decision", "adopted")
    # The partners' decision is everyone's: p2 now has the form.
    await p2.reload()
    assert await p2.page.get_by_role("button", name="Envoyer ma réponse").count() == 1
    await p1.leave()
    await p2.leave()


async def test_two_approvals_at_once_make_two_forms_and_a_text_written_on_the_page(site, browser):
    template = {
        "id": "double-approbation",
        "name": {"fr": "Double approbation"},
        "steps": [
            {
                "id": "vote",
                "name": {"fr": "Vote"},
                "kind": "decision",
                "duration": "P7D",
                "approvals": [
                    {"id": "partners", "name": {"fr": "Les partenaires"}},
                    {
                        "id": "elus",
                        "name": {"fr": "Les élus"},
                        "approvers": {"organisation_kinds": ["local_authority"]},
                    },
                ],
            }
        ],
    }
    await api(site, "POST", "/templates", template)
    launched = await launch_from(site, {"id": "double-approbation"}, partners=2)
    keys = tokens(launched)
    fac = await Person.arrive(browser, site, "the facilitator", keys["fac"])
    assert "Le texte soumis à cette décision est attendu de votre part" in await fac.text()
    await fac.fill("Le texte soumis à décision", "Ouvrir le jardin le samedi")
    await fac.fill("Indicateur 1", "Samedis ouverts")
    await fac.click("Soumettre le texte à décision")
    p1 = await Person.arrive(browser, site, "partner 1 (in both approvals)", keys["p1"])
    forms = p1.page.locator("form[id^=form-answer-]")
    assert await forms.count() == 2
    await p1.check_accessibility("two approvals at once")
    elus = p1.page.locator("#form-answer-elus")
    await elus.get_by_label("Objection").check()
    await elus.get_by_label("Votre motif").fill("Le samedi, la mairie est fermée")
    async with p1.page.expect_navigation():
        await elus.get_by_role("button").click()
    view = await api(site, "GET", f"/projects/{launched['project_id']}")
    (answer,) = view["answers"]
    assert (answer["approval"], answer["kind"]) == ("elus", "object")
    assert view["plan"]["indicators"][0]["name"] == "Samedis ouverts"
    # Its other form is still there, unanswered.
    assert await p1.page.locator("#form-answer-partners").count() == 1
    await fac.leave()
    await p1.leave()


async def test_a_partner_leaves_from_its_page_and_the_facilitator_reads_why(site, browser):
    from tests.pages.helpers import launch

    launched = await launch(site, partners=2)
    keys = tokens(launched)
    p1 = await Person.arrive(browser, site, "partner 1", keys["p1"])
    await p1.fill("Pourquoi Partenaire 1 quitte le projet", "Nous fusionnons avec une autre")
    await p1.click("Quitter le projet")
    # Not confirmed: nothing recorded, the reason kept.
    assert "Cochez la case pour confirmer" in await p1.text()
    await p1.page.get_by_label("Je confirme que Partenaire 1 quitte le projet").check()
    await p1.click("Quitter le projet")
    assert "Ce lien ne fonctionne plus" in await p1.text()
    fac = await Person.arrive(browser, site, "the facilitator", keys["fac"])
    assert "Partenaire 1 a quitté le projet\u00a0: Nous fusionnons avec une autre" in (
        await fac.text()
    )
    await fac.check_accessibility("the timeline after a partner left")
    await p1.leave()
    await fac.leave()


async def test_partners_answer_the_cooperation_questionnaire_on_their_page(site, browser):
    from tests.pages.helpers import launch

    launched = await launch(site, partners=3)
    keys = tokens(launched)
    base = f"/projects/{launched['project_id']}"
    await to_the_decision(site, keys, base)
    # An objection the facilitator judges a concern: adopted, and a point for the evaluation.
    objection = {"kind": "object", "reason": "L'arrosage en été"}
    await as_participant(site, keys["p1"], "PUT", f"{base}/answer", objection)
    for pid in ("p2", "p3"):
        await as_participant(site, keys[pid], "PUT", f"{base}/answer", {"kind": "consent"})
    judgement = {"judgement": "concern", "harm": False, "known": False, "safe_to_try": True,
                 "reason": "Un risque à suivre"}  # fmt: skip
    await as_participant(site, keys["fac"], "PUT", f"{base}/objections/p1/judgement", judgement)
    # The plan has no indicator: the evaluation waits for the facilitator's conclusion.
    p1 = await Person.arrive(browser, site, "partner 1", keys["p1"])
    text = await p1.text()
    assert "Vos réponses sont anonymes" in text
    assert "Points à vérifier : les préoccupations exprimées" in text
    assert "L’arrosage en été" in text or "L'arrosage en été" in text
    await p1.check_accessibility("the cooperation questionnaire")
    for question in ("roles", "constraints", "language", "decisions", "neutrality", "again"):
        await p1.page.locator(f"#cooperation-{question}-4").check()
    await p1.fill("Un commentaire sur la coopération (facultatif, anonyme)", "Bien mené")
    await p1.click("Envoyer mes réponses, anonymement")
    assert "Merci\u00a0: vos réponses sont enregistrées, anonymement" in await p1.text()
    answer = {"roles": 2, "constraints": 2, "language": 2, "decisions": 2, "neutrality": 2,
              "again": 2}  # fmt: skip
    for pid in ("p2", "p3"):
        await as_participant(site, keys[pid], "POST", f"{base}/cooperation", answer)
    await as_participant(site, keys["fac"], "POST", f"{base}/outcome", {"text": "Conclusion"})
    for _ in range(100):
        if (await api(site, "GET", base))["phase"] == "closed":
            break
    await p1.reload()
    text = await p1.text()
    assert "3 partenaires ont répondu, anonymement" in text
    assert "Le facilitateur est resté neutre" in text and "2,67" in text
    assert "Bien mené" in text
    await p1.check_accessibility("the cooperation's figures")
    await p1.leave()


async def test_a_validated_term_is_linked_from_its_first_use_on_the_pages(site, browser):
    from tests.pages.helpers import launch

    launched = await launch(site, partners=3)
    keys = tokens(launched)
    base = f"/projects/{launched['project_id']}"
    await as_participant(
        site, keys["p1"], "POST", f"{base}/contributions",
        {"kind": "need", "text": "Un tiers-lieu pour le quartier, et des tiers-lieux ailleurs"},
    )  # fmt: skip
    p1 = await Person.arrive(browser, site, "partner 1", keys["p1"])
    async with p1.page.expect_navigation():
        await p1.page.get_by_role("link", name="Le glossaire du projet").click()
    await p1.fill("Le terme", "Tiers-lieu")
    await p1.fill("Ce qu’il veut dire dans ce projet", "Un lieu ouvert, géré ensemble")
    await p1.click("Proposer ce terme")
    assert "Tiers-lieu" in await p1.text() and "proposé" in await p1.text()
    fac = await Person.arrive(browser, site, "the facilitator", keys["fac"])
    await fac.page.goto(f"{site}/projets/{launched['project_id']}/glossaire")
    # Not validated yet: its definitions are shown open, each with the facilitator's button.
    await fac.click("Valider cette définition")
    await fac.check_accessibility("the glossary")
    # The project page: the term's first use links to its entry, the definition describing it.
    await p1.page.goto(f"{site}/projets/{launched['project_id']}")
    links = p1.page.locator("a.term")
    assert await links.count() == 1  # its first use only
    assert (await links.first.inner_text()).lower() == "tiers-lieu"
    described_by = await links.first.get_attribute("aria-describedby")
    definition = await p1.page.locator(f"#{described_by}").text_content()
    assert definition == "Un lieu ouvert, géré ensemble"
    await p1.check_accessibility("a page with a glossary link")
    async with p1.page.expect_navigation():
        await links.first.click()
    assert p1.page.url.endswith("/glossaire#" + described_by.removeprefix("gloss-"))
    await p1.leave()
    await fac.leave()


async def test_a_partner_delegates_its_answer_on_its_page(site, browser):
    from tests.pages.helpers import launch

    launched = await launch(site, partners=3)
    keys = tokens(launched)
    base = f"/projects/{launched['project_id']}"
    await to_the_decision(site, keys, base)
    p1 = await Person.arrive(browser, site, "partner 1", keys["p1"])
    await p1.page.get_by_text("Demander à un autre partenaire de répondre à votre place").click()
    await p1.page.get_by_label("Le partenaire qui répond à votre place").select_option("p2")
    await p1.check_accessibility("the delegation form")
    await p1.click("Déléguer ma réponse")
    assert "Partenaire 2 répond à votre place dans cette décision" in await p1.text()
    p2 = await Person.arrive(browser, site, "partner 2", keys["p2"])
    assert (
        "Partenaire 1 vous a demandé de répondre à sa place dans cette décision" in await p2.text()
    )
    await p2.page.get_by_label("Consentement", exact=True).check()
    await p2.click("Envoyer ma réponse")
    view = await api(site, "GET", base)
    assert {a["participant_id"]: a["by"] for a in view["answers"]} == {"p2": None, "p1": "p2"}
    await p1.reload()
    assert "Révoquer cette délégation" in await p1.text()
    await p1.click("Révoquer cette délégation")  # refused: the delegate has answered
    assert "Votre délégué a répondu pour vous dans cette décision" in await p1.text()
    await p1.check_accessibility("a revocation refused")
    await p1.leave()
    await p2.leave()


async def test_a_decision_comes_up_for_review_and_is_amended_from_the_pages(site, browser):
    from datetime import UTC, datetime, timedelta

    from tests.helpers import REVIEWED

    template_id = f"revue-{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=site, timeout=10) as http:
        created = await http.post("/templates", json=REVIEWED | {"id": template_id}, headers=COORD)
        assert created.status_code == 201, created.text
    launched = await launch_from(site, {"id": template_id})
    keys = tokens(launched)
    base = f"/projects/{launched['project_id']}"
    await as_participant(site, keys["p1"], "POST", f"{base}/proposals",
                         {"title": "Jardin", "description": "Des bacs partagés"})  # fmt: skip
    proposal = (await api(site, "GET", base))["proposals"][0]["id"]
    review_on = datetime.now(UTC) + timedelta(seconds=4)
    await as_participant(site, keys["fac"], "POST", f"{base}/plan",
                         {"proposal_ids": [proposal], "summary": "Des bacs arrosés le samedi",
                          "review_on": review_on.isoformat()})  # fmt: skip
    for pid in ("p1", "p2", "p3"):
        await as_participant(site, keys[pid], "PUT", f"{base}/answer", {"kind": "consent"})
    p1 = await Person.arrive(browser, site, "partner 1, waiting for the review", keys["p1"])
    text = await p1.text()
    assert "La revue de la décision" in text and "le projet l’attend" in text
    assert await p1.page.get_by_role("button", name="Envoyer ma réponse").count() == 0
    await p1.check_accessibility("a review to come")
    await p1.screenshot("partner-review-waiting")
    for _ in range(100):
        if not (await api(site, "GET", base))["review_waiting"]:
            break
        await asyncio.sleep(0.1)
    await p1.reload()
    await p1.page.get_by_label("Amender la décision").check()
    await p1.click("Envoyer ma réponse")  # no reason: refused beside its box
    assert "Indiquez un motif" in await p1.text()
    await p1.check_accessibility("a review answer refused")
    await p1.screenshot("partner-review-refused")
    await p1.page.get_by_label("Pourquoi (nécessaire pour amender ou mettre fin)").fill(
        "Arroser aussi le mercredi"
    )
    await p1.click("Envoyer ma réponse")
    assert "Amender la décision – Arroser aussi le mercredi" in await p1.text()
    await as_participant(site, keys["p2"], "PUT", f"{base}/review/answer",
                         {"choice": "amend", "reason": "Le samedi ne va plus"})  # fmt: skip
    await as_participant(site, keys["p3"], "PUT", f"{base}/review/answer", {"choice": "keep"})
    fac = await Person.arrive(browser, site, "the facilitator, amending", keys["fac"])
    text = await fac.text()
    assert "Revue\u00a0: les partenaires ont amendé la décision" in text
    assert "le plan en vigueur est votre premier brouillon" in text
    summary = fac.page.get_by_label("Résumé du plan")
    assert await summary.input_value() == "Des bacs arrosés le samedi"
    await fac.check_accessibility("the plan's first draft after a review")
    await p1.leave()
    await fac.leave()
