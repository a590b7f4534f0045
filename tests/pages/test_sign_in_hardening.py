"""The console's session ends after a working day; cookies are Secure whenever Alliance is
published over https, whatever Host a request claims; a made-up launch form is refused or
corrected, never a 500."""

from __future__ import annotations

import time

from itsdangerous import URLSafeTimedSerializer

from tests.conftest import COORDINATOR_CREDENTIAL
from tests.helpers import csrf_of


async def signed_in(http) -> None:
    page = await http.get("/connexion")
    csrf = csrf_of(page.text)
    done = await http.post(
        "/connexion",
        data={
            "csrf_token": csrf,
            "organisation": "mda-lyon8",
            "credential": COORDINATOR_CREDENTIAL,
        },
    )
    assert done.status_code == 303, done.text


async def test_a_console_session_ends_after_a_working_day(http):
    http.base_url = "https://alliance.test"  # its cookies are Secure
    await signed_in(http)
    assert (await http.get("/console")).status_code == 200
    cookie = next(c for c in http.cookies.jar if c.name == "alliance_console")
    assert cookie.expires and 11 * 3600 < cookie.expires - time.time() <= 12 * 3600

    class Yesterday(URLSafeTimedSerializer):
        def make_signer(self, *args, **kw):
            signer = super().make_signer(*args, **kw)
            signer.get_timestamp = lambda: int(time.time()) - 13 * 3600
            return signer

    session = {"organisation_id": "mda-lyon8", "csrf": "x"}
    # The same cookie signed now is taken (so what follows is the age, not the signature).
    fresh = URLSafeTimedSerializer("test-secret", salt="alliance-console-timed").dumps(session)
    http.cookies.clear()
    http.cookies.set("alliance_console", fresh, domain="alliance.test")
    assert (await http.get("/console")).status_code == 200
    old = Yesterday("test-secret", salt="alliance-console-timed").dumps(session)
    http.cookies.clear()
    http.cookies.set("alliance_console", old, domain="alliance.test")
    expired = await http.get("/console")
    assert expired.status_code == 303 and expired.headers["location"].startswith("/connexion")


async def test_cookies_are_secure_when_published_over_https(http_factory):
    http = http_factory(api_url="https://alliance.example.org")
    http.base_url = "http://localhost"  # a request that claims the local run
    page = await http.get("/connexion")
    assert page.status_code == 200
    set_cookies = page.headers.get_list("set-cookie")
    assert set_cookies and all("Secure" in c for c in set_cookies), set_cookies


async def test_a_made_up_launch_form_is_never_a_500(http):
    http.base_url = "https://alliance.test"
    await signed_in(http)
    form = await http.get("/console/lancer")
    csrf = csrf_of(form.text)
    for rows in ("abc", "²", "-4", "9" * 40, ""):
        answer = await http.post("/console/lancer", data={"csrf_token": csrf, "rows": rows})
        assert answer.status_code < 500, (rows, answer.status_code)
