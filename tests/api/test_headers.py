"""Every response carries the protective headers, whoever wrote it (a page, JSON, a file, an
error, the body limit, the documentation), and no content security policy allows
'unsafe-inline' but the local mail viewer's sandbox. The documentation's own inline script is
allowed by its hash: it still works in Chromium, with no policy violation."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx

from tests.api_helpers import COORD


def _checked(response: httpx.Response) -> str:
    where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    assert response.headers.get("referrer-policy") == "no-referrer", where
    assert response.headers.get("x-content-type-options") == "nosniff", where
    policy = response.headers.get("content-security-policy", "")
    assert policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy, where
    return policy


async def test_every_response_carries_the_protective_headers(http):
    answers = [
        await http.get("/healthz"),
        await http.get("/openapi.json"),
        await http.get("/projects", headers=COORD),
        await http.get("/projects/nope", headers=COORD),  # JSON 404
        await http.get("/projects"),  # 401
        await http.post("/projects", content=b"x" * 400_000, headers=COORD),  # the body limit
        await http.get("/static/console.css"),
        await http.get("/"),
        await http.get("/connexion"),
        await http.get("/p/not-a-link"),
        await http.get("/docs"),
        await http.get("/docs/oauth2-redirect"),
    ]
    assert {r.status_code for r in answers} >= {200, 401, 404, 413}
    for response in answers:
        policy = _checked(response)
        if response.headers["content-type"].startswith("application/json"):
            assert policy.startswith("default-src 'none'")
    # The documentation's inline blocks, and only they, by hash.
    docs = next(r for r in answers if r.request.url.path == "/docs")
    scripts = re.findall(r"<script>(.*?)</script>", docs.text, re.S)
    assert scripts
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in docs.headers["content-security-policy"]


async def test_an_unexpected_error_carries_them_too(http):
    from api.errors import install_error_handlers  # noqa: F401 - the handler under test

    app = http._transport.app  # type: ignore[attr-defined]

    @app.get("/test-boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    response = await http.get("/test-boom")
    assert response.status_code == 500
    _checked(response)


async def test_an_inline_script_elsewhere_is_never_allowed(http):
    from fastapi.responses import HTMLResponse

    app = http._transport.app  # type: ignore[attr-defined]

    @app.get("/test-inline")
    async def inline() -> HTMLResponse:
        return HTMLResponse("<p>x</p><script>alert('injected')</script>")

    policy = _checked(await http.get("/test-inline"))
    assert "sha256" not in policy and "script-src 'self';" in policy


async def test_the_documentation_runs_under_its_policy(site, browser):
    page = await browser.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security" in m.text else 0)
    response = await page.goto(f"{site}/docs")
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    # Swagger UI drew the operations: its script ran.
    await page.wait_for_selector(".opblock", timeout=20_000)
    assert not violations, violations
    await page.close()
