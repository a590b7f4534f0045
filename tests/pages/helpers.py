"""People using Alliance in a browser: each one a Chromium context of its own, arriving by
its personal link and acting only by clicking."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
from axe_playwright_python.async_playwright import Axe

from tests.api_helpers import COORD, project_body

# The README names this folder: screenshots of the main pages, for a person to look at.
ARTIFACTS = Path(os.environ.get("ALLIANCE_ARTIFACTS", Path(__file__).parents[2] / "artifacts"))
AXE = Axe()


class Person:
    def __init__(self, name: str, context: Any, page: Any, base: str, token: str) -> None:
        self.name = name
        self.context = context
        self.page = page
        self.base = base
        self.token = token
        self.requests: list[Any] = []
        self.javascript = True
        page.on("request", lambda request: self.requests.append(request))

    @classmethod
    async def arrive(
        cls, browser: Any, base: str, name: str, token: str, *, width: int = 1280
    ) -> Person:
        context = await browser.new_context(
            viewport={"width": width, "height": 900}, bypass_csp=True, locale="fr-FR"
        )
        # A page that does not come fails the test (a slow, busy CI machine still gets there).
        context.set_default_timeout(30_000)
        page = await context.new_page()
        person = cls(name, context, page, base, token)
        await page.goto(f"{base}/p/{token}")
        return person

    async def leave(self) -> None:
        await self.context.close()

    async def reload(self) -> None:
        await self.page.reload()

    async def click(self, button: str) -> None:
        """Press a form's button and wait for the page it leads to."""
        async with self.page.expect_navigation():
            await self.page.get_by_role("button", name=button, exact=True).first.click()

    async def fill(self, label: str | re.Pattern, text: str) -> None:
        await self.page.get_by_label(label, exact=isinstance(label, str)).fill(text)

    async def text(self) -> str:
        return await self.page.inner_text("main")

    async def check_accessibility(self, what: str) -> None:
        """axe-core: no serious or critical violation."""
        if not self.javascript:
            # axe-core is a script: in a context with scripts off, its promise never settles
            # (Playwright's evaluate waits forever). The JavaScript run checks the same pages.
            return
        results = await AXE.run(self.page)
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not bad, f"{what}, as {self.name}: " + "; ".join(bad)

    async def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path


async def launch(base: str, **kw: Any) -> dict[str, Any]:
    """A project launched through the API, as a coordinator's program would."""
    body = project_body(**kw)
    body["participants"][-1]["language"] = "en"  # the last partner reads English
    body.setdefault("process", {})["action"] = {"duration": "PT0S"}
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        response = await http.post("/projects", json=body, headers=COORD)
        assert response.status_code == 201, response.text
        return response.json()


async def api(base: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        response = await http.request(method, path, json=body, headers=COORD)
        assert response.status_code in (200, 201), response.text
        return response.json()


async def event_count(base: str, project_id: str) -> int:
    events = await api(base, "GET", f"/projects/{project_id}/events?limit=1000")
    return len(events["events"])


def tokens(launched: dict[str, Any]) -> dict[str, str]:
    return {p["id"]: p["token"] for p in launched["participants"]}


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
