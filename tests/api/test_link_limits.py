"""One personal link used too often in a minute is slowed down (429 with Retry-After, said in
the reader's words on a page), without touching anyone else's link."""

from __future__ import annotations

from tests.api_helpers import ApiProject


async def test_a_link_used_too_often_is_slowed_down_alone(http_factory):
    http = http_factory(link_per_minute=4)
    project = await ApiProject.launch(http)
    for _ in range(4):
        assert (await project.call("GET", "", "p1")).status_code == 200
    refused = await project.call("GET", "", "p1")
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "link_rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another participant's link, and the coordinator, are not concerned.
    assert (await project.call("GET", "", "p2")).status_code == 200
    assert (await project.call("GET", "", "coordinator-credential")).status_code == 200

    # The page behind the link: opened too often, a page that says so in French.
    link = f"/p/{project.tokens['p3']}"
    for _ in range(4):
        assert (await http.get(link)).status_code == 303
    page = await http.get(link)
    assert page.status_code == 429 and page.headers["Retry-After"]
    assert "ouvert trop de fois" in page.text
