"""The coordinator's guide (docs/guide-coordinateur.md), walked as it is written, in French, in
Chromium, against a real run with e-mail: every screenshot the guide shows is taken here, so
the guide never drifts from the pages.

    ./scripts/guide-screenshots     # takes them again, into docs/guide/

In the normal test run the screenshots go to artifacts/guide/ and the test checks that the
guide names exactly the pictures this walk takes.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from activities.mail.catcher import MailCatcher
from api.app import create_app
from tests.conftest import (
    COORDINATOR_CREDENTIAL,
    Harness,
    api_settings,
    make_harness_settings,
)
from tests.helpers import free_port
from tests.pages.helpers import ARTIFACTS, Person
from tests.pages.test_console import Coordinator
from worker import build_worker

ROOT = Path(__file__).parents[2]
GUIDE = ROOT / "docs" / "guide-coordinateur.md"
IMAGES = Path(os.environ.get("ALLIANCE_GUIDE_IMAGES", ARTIFACTS / "guide"))
PICTURE = re.compile(r"!\[[^\]]*\]\(guide/([\w-]+\.png)\)")

PEOPLE = [
    # organisation, kind, role, person, e-mail
    ("Maison des Associations du 8e", "association", "coordinator", "Inès Moreau", "contact@mda8.example"),
    ("Coopérative Facil", "company", "facilitator", "Camille Martin", "camille@facil.example"),
    ("Mairie du 8e arrondissement", "local_authority", "partner", "Jean Dupuis", "jean@mairie8.example"),
    ("Association des habitants des États-Unis", "inhabitants", "partner", "Nadia Benali", "bureau@habitants.example"),
    ("Laboratoire EVS, Université Lyon 2", "university", "partner", "", "evs@univ.example"),
]  # fmt: skip


@pytest.fixture
async def site_with_mail(dev_env: Any, tmp_path: Path) -> AsyncIterator[tuple[str, MailCatcher]]:
    """The whole app on loopback, sending its e-mail to a catcher, with a worker: as the
    README's run command serves it."""
    import uvicorn

    from run_local import EmbeddedApi

    port = free_port()
    base = f"http://localhost:{port}"
    async with MailCatcher(tmp_path / "mail", port=free_port()) as catcher:
        settings = make_harness_settings(
            tmp_path, notifications="email", smtp_port=catcher.port, api_url=base
        )
        settings = api_settings(Harness(dev_env.client, settings, None))
        app = create_app(settings, client=dev_env.client)
        server = EmbeddedApi(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
        )
        async with build_worker(dev_env.client, settings):
            serving = asyncio.create_task(server.serve())
            while not server.started:
                assert not serving.done(), "the site did not start"
                await asyncio.sleep(0.02)
            yield base, catcher
            server.should_exit = True
            await serving
        await app.state.gateway.close()


class Walk:
    """Who takes the guide's pictures, and which."""

    def __init__(self) -> None:
        self.taken: list[str] = []
        IMAGES.mkdir(parents=True, exist_ok=True)

    async def picture(self, person: Person, name: str, part: str | None = None) -> None:
        path = IMAGES / f"{name}.png"
        if part is None:
            await person.page.screenshot(path=str(path), full_page=False)
        else:
            await person.page.locator(part).first.screenshot(path=str(path))
        self.taken.append(path.name)


async def act(base: str, project_id: str, token: str, method: str, path: str, body: Any) -> Any:
    async with httpx.AsyncClient(base_url=base, timeout=20) as http:
        response = await http.request(
            method, f"/projects/{project_id}{path}", json=body,
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
        assert response.status_code in (200, 201), response.text
        return response.json()


async def test_the_coordinators_guide_walked_as_written(site_with_mail, browser):
    base, catcher = site_with_mail
    walk = Walk()
    c = await Coordinator.sign_in(browser, base, credential=COORDINATOR_CREDENTIAL)
    await c.page.set_viewport_size({"width": 1280, "height": 800})

    # -- Lancer un projet
    async with c.page.expect_navigation():
        await c.page.get_by_role("link", name="Lancer un projet").first.click()
    await c.fill("Titre", "Jardins partagés du quartier des États-Unis")
    await c.fill("Territoire", "Lyon 8e")
    for _ in range(len(PEOPLE) - 3):
        await c.click("Ajouter un participant")
    for n, (organisation, kind, role, person, email) in enumerate(PEOPLE):
        await c.page.locator(f"#p{n}-organisation_name").fill(organisation)
        await c.page.locator(f"#p{n}-organisation_kind").select_option(kind)
        await c.page.locator(f"#p{n}-role").select_option(role)
        await c.page.locator(f"#p{n}-person_name").fill(person)
        await c.page.locator(f"#p{n}-email").fill(email)
    await walk.picture(c, "lancer-participants", "#row-2")
    assert await c.page.get_by_label("Co-construction", exact=True).is_checked()
    await walk.picture(c, "lancer-demarche", "#steps-co-construction")
    await c.click("Lancer le projet")
    assert (
        "Les invitations, chacune avec son lien personnel, partent par courriel" in await c.text()
    )
    project_id = c.page.url.split("/console/projets/")[1].split("?")[0]
    await walk.picture(c, "invitations", ".links-once")

    # The partners find their link in their mail.
    invitations: dict[str, str] = {}
    for _ in range(200):
        for m in catcher.messages():
            if "Invitation à participer" in str(m["Subject"]) or "invited" in str(m["Subject"]):
                link = re.search(
                    rf"{re.escape(base)}/p/(\S+)", m.get_body(("plain",)).get_content()
                )
                invitations[str(m["To"]).split("<")[-1].rstrip(">")] = link.group(1)
        if len(invitations) == len(PEOPLE):
            break
        await asyncio.sleep(0.1)
    token = {role_key(p): invitations[p[4]] for p in PEOPLE}

    # -- La charte de partenariat: the facilitator writes it from the model, the partners consent
    facilitator = await Person.arrive(browser, base, "facilitator", token["facil"])
    async with facilitator.page.expect_navigation():
        await facilitator.page.get_by_role("link", name="Ouvrir la charte de partenariat").click()
    await facilitator.fill(
        "Les engagements de chacun (temps, moyens, données)",
        "La mairie prête deux parcelles rue Garon ; l’association anime les ateliers ; le "
        "laboratoire analyse les sols.",
    )
    await walk.picture(facilitator, "charte-redaction", "#charte")
    await facilitator.click("Publier la première version")
    for who in ("mairie", "habitants", "labo"):
        await act(base, project_id, token[who], "PUT", "/answer", {"kind": "consent"})
    await c.page.goto(f"{base}/console/projets/{project_id}/charte")
    assert "Version 1, adoptée le" in await c.text()
    await walk.picture(c, "charte-adoptee", "section[aria-labelledby='signatures-title']")

    # -- Suivre un projet: the diagnosis, by the partners on their pages
    for who, text in (("mairie", "Deux parcelles rue Garon"), ("habitants", "Des familles sans jardin"),
                      ("labo", "Sols à analyser")):  # fmt: skip
        await act(base, project_id, token[who], "POST", "/contributions",
                  {"kind": "need", "text": text})  # fmt: skip
    async with c.page.expect_navigation():
        await c.page.get_by_role("link", name="Mes projets").first.click()
    await walk.picture(c, "suivre-console", "main")

    # -- Agir comme facilitateur: the plan
    proposal = await act(base, project_id, token["habitants"], "POST", "/proposals", {
        "title": "Deux jardins partagés en bacs", "description": "Bacs hors-sol, un composteur.",
        "indicators": [{"name": "Familles inscrites", "target": "40"}],
    })  # fmt: skip
    await facilitator.page.goto(f"{base}/projets/{project_id}")
    await facilitator.page.get_by_role("checkbox", name=re.compile("Deux jardins")).check()
    await facilitator.fill("Résumé du plan", "Deux jardins en bacs rue Garon, ouverts le samedi.")
    await walk.picture(facilitator, "facilitateur-plan", "#plan")
    await facilitator.click("Soumettre le plan à décision")
    assert proposal["item_id"]
    for who in ("mairie", "habitants", "labo"):
        await act(base, project_id, token[who], "PUT", "/answer", {"kind": "consent"})
    await facilitator.reload()
    await walk.picture(facilitator, "facilitateur-decision", "#repondre")
    await facilitator.click("Clore la phase maintenant")  # the implementation, done
    view = await act(base, project_id, token["facil"], "GET", "", None)
    indicator = view["adopted_plan"]["indicators"][0]["id"]
    for who, score in (("mairie", 4), ("habitants", 5), ("labo", 3)):
        await act(base, project_id, token[who], "POST", "/assessments",
                  {"scores": [{"indicator_id": indicator, "score": score}]})  # fmt: skip
    await facilitator.reload()
    assert "votre conclusion est attendue" in await facilitator.text()
    await facilitator.fill(
        "Votre conclusion, pour les partenaires et le rapport final",
        "Le jardin vit : 38 familles inscrites, un atelier par mois.",
    )
    await walk.picture(facilitator, "facilitateur-conclusion", "#issue")
    await facilitator.click("Publier la conclusion")

    # -- Lire le rapport, exporter le registre
    for _ in range(100):
        await c.page.goto(f"{base}/console/projets/{project_id}")
        if "Lire le rapport final" in await c.text():
            break
        await asyncio.sleep(0.2)
    await walk.picture(c, "dossier", "section[aria-labelledby='record-title']")
    async with c.page.expect_navigation():
        await c.page.get_by_role("link", name="Lire le rapport final").click()
    await walk.picture(c, "rapport")
    await c.leave()
    await facilitator.leave()

    # The guide shows exactly the pictures this walk takes.
    shown = set(PICTURE.findall(GUIDE.read_text("utf-8")))
    assert shown == set(walk.taken), shown ^ set(walk.taken)


def role_key(person: tuple[str, ...]) -> str:
    """The short names the walk uses for each participant."""
    return {
        "Maison des Associations du 8e": "mda",
        "Coopérative Facil": "facil",
        "Mairie du 8e arrondissement": "mairie",
        "Association des habitants des États-Unis": "habitants",
        "Laboratoire EVS, Université Lyon 2": "labo",
    }[person[0]]
