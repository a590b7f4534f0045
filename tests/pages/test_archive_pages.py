"""An archived project in the browser, after Temporal has forgotten it: the console lists it
with its record, its page still opens for the coordinator and for a partner by their link, and
the decision register and the archive download; axe-core on each page."""

from __future__ import annotations

import asyncio
import io
import zipfile

import httpx

from archive.record import MANIFEST, intact
from tests.api_helpers import ApiProject
from tests.archive.test_archive_flow import Archiving, closed_project
from tests.pages.helpers import Person
from tests.pages.test_console import Coordinator


async def test_an_archived_project_is_listed_opened_and_downloaded_in_the_browser(
    site, browser, dev
):
    async with httpx.AsyncClient(base_url=site, timeout=20) as http:
        project: ApiProject = await closed_project(http)
        for _ in range(200):
            listing = (
                await http.get(
                    "/projects?archived=true", headers=project.auth("coordinator-credential")
                )
            ).json()
            if any(p["id"] == project.id for p in listing["projects"]):
                break
            await asyncio.sleep(0.1)
    await Archiving(dev, http, None).forget(project.id)  # as Temporal's retention would

    coordinator = await Coordinator.sign_in(browser, site)
    try:
        text = await coordinator.text()
        assert "Projets archivés" in text and "Jardins partagés" in text
        await coordinator.check_accessibility("the console with archived projects")
        archived = coordinator.page.get_by_role(
            "region", name="Projets terminés, les plus récents d’abord"
        )
        async with coordinator.page.expect_navigation():
            await archived.get_by_role("link", name="Jardins partagés").click()
        text = await coordinator.text()
        assert "Le dossier du projet" in text and "clos" in text
        await coordinator.check_accessibility("an archived project in the console")
        async with coordinator.page.expect_download() as downloading:
            await coordinator.page.get_by_role(
                "link", name="L’archive du projet (zip)", exact=False
            ).click()
        download = await downloading.value
        with zipfile.ZipFile(io.BytesIO((await download.path()).read_bytes())) as zipped:
            files = {n: zipped.read(n) for n in zipped.namelist()}
        assert intact(files) and MANIFEST in files and b"Terrain inondable" in files["events.jsonl"]
    finally:
        await coordinator.leave()

    partner = await Person.arrive(browser, site, "Partenaire 2", project.tokens["p2"], width=375)
    try:
        text = await partner.text()
        assert "Le dossier du projet" in text and "Terrain inondable" in text
        await partner.check_accessibility("an archived project's page, for a partner, on a phone")
        async with partner.page.expect_download() as downloading:
            await partner.page.get_by_role(
                "link", name="pour un tableur (CSV)", exact=False
            ).click()
        register = (await (await downloading.value).path()).read_text()
        # For the partner's spreadsheet: French, ";" between cells, a BOM for Excel.
        assert register.startswith("\ufeffTour;Date;Règle;Quorum;Votants")
        assert "Terrain inondable" in register
        async with partner.page.expect_download() as downloading:
            await partner.page.get_by_role("link", name="Excel", exact=False).click()
        download = await downloading.value
        assert download.suggested_filename.endswith(".xlsx")
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO((await download.path()).read_bytes())).active
        assert sheet["A1"].value == "Tour" and any(
            "Terrain inondable" in str(c.value) for row in sheet.iter_rows() for c in row
        )
        await partner.screenshot("archived-project-375")
    finally:
        await partner.leave()
