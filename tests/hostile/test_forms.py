"""Every page form, as a partner on the project's page and as the coordinator in the console,
posted with hostile text in every field (property-based: hypothesis), then whatever it
stored read back: the answer is a page that says what is wrong (4xx) or the action recorded
and the page again; never a server error, and nothing typed ever comes back as markup."""

from __future__ import annotations

import asyncio
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.pages.forms import FORMS
from tests.api_helpers import COORD, ApiProject, project_body
from tests.conftest import COORDINATOR_CREDENTIAL
from tests.helpers import csrf_of
from tests.hostile.conftest import EVERYTHING, HUGE, PRINTABLE, RAW_MARKUP, TRIED, hostile_text

# Fields every form may carry besides those its spec reads.
COMMON = ["text", "reason", "title", "description", "summary", "kind", "proposal_id"]
EXAMPLES = 3  # random cases per form and side, beyond the fixed ones


class _Recording(dict):
    """Notes which fields a form's spec reads."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return default

    def __getitem__(self, key: str) -> Any:
        self.asked.add(key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return False


def fields_of(update: str) -> list[str]:
    recording = _Recording()
    try:
        FORMS[update].fields(recording, None)
    except Exception:  # a spec that needs the visit: the fields read until then
        pass
    return sorted(recording.asked | set(COMMON))


def checked(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, response.text[:300])
    TRIED[f"{what}: {'taken' if response.status_code < 400 else response.status_code}"] += 1
    if "text/html" in response.headers.get("content-type", ""):
        for markup in RAW_MARKUP:
            assert markup not in response.text, (what, markup)
        assert "unsafe-inline" not in response.headers["content-security-policy"]


class _Forms(HTMLParser):
    """The forms of a page as a browser would post them untouched: hidden values, the first
    option of a list, the first of radio buttons; the text fields, by name."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, tuple[dict[str, str], list[str]]] = {}
        self._current: tuple[dict[str, str], list[str]] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            update = a.get("action", "").rstrip("/").rsplit("/", 1)[-1]
            self._current = self.forms.setdefault(update, ({}, []))
            return
        if self._current is None or not a.get("name") or a["name"] == "csrf_token":
            if tag == "option" and self._select and self._current is not None:
                self._current[0].setdefault(self._select, a.get("value", ""))
            return
        values, texts = self._current
        name, kind = a["name"], a.get("type", "text")
        if tag == "textarea" or (tag == "input" and kind in ("text", "email", "search")):
            texts.append(name)
            values.setdefault(name, "Texte ordinaire")
        elif tag == "select":
            self._select = name
        elif tag == "input" and kind in ("hidden", "radio", "checkbox", "number", "date"):
            values.setdefault(name, a.get("value", "") or "1")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None


def forms_on(html: str) -> dict[str, tuple[dict[str, str], list[str]]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


class Side:
    """A browser on one side of a project: a partner's page, or the coordinator's console."""

    def __init__(self, base: str, project_id: str, token: str | None) -> None:
        self.browser = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
        self.project_id = project_id
        if token is None:  # the coordinator, signed in to the console
            page = self.browser.get("/connexion")
            self.browser.post(
                "/connexion",
                data={
                    "csrf_token": csrf_of(page.text),
                    "organisation": "mda-lyon8",
                    "credential": COORDINATOR_CREDENTIAL,
                },
            )
            self.page = f"/console/projets/{quote(project_id)}"
        else:
            self.browser.get(f"/p/{token}")
            self.page = f"/projets/{quote(project_id)}"
        self.name = "console" if token is None else "page"
        self.csrf: str | None = None

    def post(self, update: str, values: dict[str, str], raw: bytes | None = None):
        if self.csrf is None:  # one per session, as the page's forms carry it
            page = self.browser.get(self.page)
            if page.status_code != 200:  # an earlier case ended this side (left, cancelled)
                return page
            self.csrf = csrf_of(page.text)
        csrf = self.csrf
        where = f"{self.page}/{update}"
        if raw is not None:
            body = b"csrf_token=" + csrf.encode() + b"&" + raw
            headers = {"content-type": "application/x-www-form-urlencoded"}
            return self.browser.post(where, content=body, headers=headers)
        return self.browser.post(where, data={"csrf_token": csrf, **values})


def examples(
    side: Side, update: str, names: list[str], what: str, base: dict[str, str] | None = None
) -> None:
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(st.fixed_dictionaries({name: hostile_text for name in names}))
    def any_text(values: dict[str, str]) -> None:
        checked(side.post(update, {**(base or {}), **values}), what)

    any_text()


def try_form(base: str, launched: dict[str, Any], update: str, who: str = "p1") -> list[str]:
    """Every case for one form, from both sides (`who`'s page and the console); the pages
    read back after."""
    names = fields_of(update)
    tokens = {p["id"]: p["token"] for p in launched["participants"]}
    sides = [
        Side(base, launched["project_id"], tokens[who]),
        Side(base, launched["project_id"], None),
    ]
    for side in sides:
        what = f"form {update} ({side.name})"
        shown = forms_on(side.browser.get(side.page).text).get(update)
        if shown is not None and shown[1]:
            # The form as the page shows it, each text field hostile in turn, then all.
            untouched, texts = shown
            for name in texts:
                checked(side.post(update, {**untouched, name: PRINTABLE}), what)
                checked(side.post(update, {**untouched, name: EVERYTHING}), what)
            examples(side, update, texts, what, untouched)
        checked(side.post(update, dict.fromkeys(names, EVERYTHING)), what)
        checked(side.post(update, {names[0]: HUGE}), what)
        checked(side.post(update, {}, raw=b"text=%FF%FEabc%C3%28&reason=%ED%A0%80"), what)
        if shown is None or not shown[1]:
            examples(side, update, names, what)
    # What was stored, on every page that shows it.
    partner, console = sides
    for label, browser, path in (
        ("the project's page", partner.browser, partner.page),
        ("the charter's page", partner.browser, f"{partner.page}/charte"),
        ("the glossary's page", partner.browser, f"{partner.page}/glossaire"),
        ("the console's project page", console.browser, console.page),
    ):
        checked(browser.get(path), f"read back: {label}")
    for side in sides:
        side.browser.close()
    return names


async def test_every_form_takes_hostile_text_as_data(site):
    async with httpx.AsyncClient(base_url=site, timeout=30) as http:
        launched = []
        for update in FORMS:
            body = project_body(3, title=f"{EVERYTHING[:80]} {update}")
            response = await http.post("/projects", json=body, headers=COORD)
            assert response.status_code == 201, response.text
            launched.append(response.json())
    for update, project in zip(FORMS, launched, strict=True):
        await asyncio.to_thread(try_form, site, project, update)
    assert len({w.split(":")[0] for w in TRIED if w.startswith("form ")}) == 2 * len(FORMS)
    # Hostile text was stored, not only refused: the read-back pages had it to show (in a
    # project's diagnosis: a contribution, a glossary term, a participant's details).
    taken = {w.removeprefix("form ").split(":")[0] for w in TRIED if w.endswith(": taken")}
    assert {"add_contribution (page)", "propose_term (page)", "update_my_contact (page)"} <= taken


# The forms of the later steps, tried where they are open: by whom, in which step.
LATER = {
    "co_design": [
        ("submit_proposal", "p1"),
        ("amend_proposal", "p2"),
        ("withdraw_proposal", "p1"),
        ("submit_plan", "fac"),
    ],
    "decision": [("answer", "p1"), ("judge_objection", "fac")],
}


async def test_the_forms_of_later_steps_take_hostile_text_as_data(site):
    """The same, in a co-design and in a decision open: proposals, plans, objections and
    their judgement, stored and shown back as text."""
    async with httpx.AsyncClient(base_url=site, timeout=30) as http:
        for step, forms in LATER.items():
            for update, who in forms:
                launched = (
                    await http.post("/projects", json=project_body(3), headers=COORD)
                ).json()
                project = ApiProject(http, launched)
                for pid in ("p1", "p2", "p3"):
                    body = {"kind": "need", "text": PRINTABLE}
                    await project.ok("POST", "/contributions", pid, body)
                proposal = await project.ok(
                    "POST", "/proposals", "p1", {"title": "Bacs", "description": PRINTABLE}
                )
                if step == "decision":
                    plan = {"proposal_ids": [proposal["item_id"]], "summary": PRINTABLE}
                    await project.ok("POST", "/plan", "fac", plan)
                    if update == "judge_objection":  # an objection to judge
                        objection = {"kind": "object", "reason": PRINTABLE}
                        await project.ok("PUT", "/answer", "p2", objection)
                assert (await project.view())["phase"] == step
                await asyncio.to_thread(try_form, site, launched, update, who)
    taken = {w.removeprefix("form ").split(":")[0] for w in TRIED if w.endswith(": taken")}
    # Each was open and took hostile text at least once, from the page of who may use it.
    assert {f"{update} (page)" for forms in LATER.values() for update, _ in forms} <= taken, taken
