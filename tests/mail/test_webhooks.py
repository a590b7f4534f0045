"""Events in a partner's own tool: POSTed to its webhook, signed per Standard Webhooks and
verified here with the library, by a real HTTP receiver on loopback."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest
from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

from tests.api_helpers import ApiProject, bearer
from tests.conftest import Mailing
from tests.helpers import free_port
from tests.mail.test_mail_delivery import everyone_with_an_address, open_link


class Receiver:
    """An organisation's tool: answers what it is told to, and keeps every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self.answers: list[int] = []  # the next answers, then 204
        # Answer 500 this many times to the first event that comes (and only to it).
        self.fail_one_event = 0
        self.failing: str | None = None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/alliance"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        status = self.answers.pop(0) if self.answers else 204
        if self.fail_one_event and self.failing in (None, request.headers["webhook-id"]):
            self.failing = request.headers["webhook-id"]
            self.fail_one_event -= 1
            status = 500
        self.requests.append((dict(request.headers), body, status))
        return web.Response(status=status)

    def accepted(self) -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for h, b, status in self.requests if status < 300]

    async def wait_for(self, count: int, seconds: float = 20) -> None:
        for _ in range(int(seconds / 0.1)):
            if len(self.requests) >= count:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{len(self.requests)} requests, not {count}")


@pytest.fixture
async def receiver():
    tool = Receiver()
    app = web.Application()
    app.router.add_post("/alliance", tool.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", tool.port).start()
    yield tool
    await runner.cleanup()


async def test_signed_events_reach_the_partners_tool_once_each(mailing: Mailing, receiver, dev_env):
    project = await ApiProject.launch(mailing.http, everyone_with_an_address())
    await mailing.wait_for(lambda ms: len(ms) >= 6)  # the launch's news went out before
    set_hook = await project.call("PATCH", "/participants/me", "p1", {"webhook_url": receiver.url})
    assert set_hook.status_code == 200, set_hook.text
    secret = set_hook.json()["webhook_secret"]
    assert secret.startswith("whsec_")
    # The secret is shown once: the same address again says nothing of it.
    again = await project.call("PATCH", "/participants/me", "p1", {"webhook_url": receiver.url})
    assert again.json()["webhook_secret"] is None

    # The diagnosis closes and co-design opens: two events for p1's tool.
    for pid in ("p1", "p2", "p3"):
        await project.ok("POST", "/contributions", pid, {"kind": "need", "text": f"besoin {pid}"})
    await receiver.wait_for(2)
    verifier = Webhook(secret)
    for headers, body in receiver.accepted():
        event = verifier.verify(body, headers)  # raises unless signed with the secret
        assert event["data"]["participant_id"] == "p1"
        assert event["data"]["project_id"] == project.id
        assert "example.org" not in body.decode()  # nobody's address
    types = [json.loads(b)["type"] for _, b in receiver.accepted()]
    assert types == ["alliance.phase_closed", "alliance.phase_opened"]
    # A forged or altered event does not verify.
    headers, body = receiver.accepted()[0]
    with pytest.raises(WebhookVerificationError):
        verifier.verify(body.replace(b"p1", b"p2"), headers)

    # The tool fails twice on one event, then takes it: it arrives once more, not more.
    receiver.fail_one_event = 2
    proposal = await project.ok(
        "POST", "/proposals", "p1", {"title": "Bacs", "description": "Des bacs"}
    )
    await project.ok(
        "POST", "/plan", "fac", {"proposal_ids": [proposal["item_id"]], "summary": "Plan"}
    )
    await receiver.wait_for(2 + 3 + 2, seconds=30)  # plan (500, 500, 204), closing, opening
    await asyncio.sleep(2)
    ids = Counter(h["webhook-id"] for h, _ in receiver.accepted())
    assert all(n == 1 for n in ids.values()) and len(ids) == 5
    attempts = Counter(h["webhook-id"] for h, _, _ in receiver.requests)
    assert sorted(attempts.values()) == [1, 1, 1, 1, 3]

    # A 404: a permanent failure, recorded for p1 (the e-mail went out all the same).
    receiver.answers = [404]
    await project.ok("PUT", "/answer", "p2", {"kind": "consent"})  # no event for p1's tool
    await project.ok(
        "POST", "/deadline", "fac", {"deadline": "2031-01-01T00:00:00Z", "reason": "Vacances"}
    )
    await receiver.wait_for(8)
    for _ in range(50):
        events = (await project.ok("GET", "/events?after=0&limit=1000", "coordinator-credential"))[
            "events"
        ]
        failed = [e["data"] for e in events if e["data"]["type"] == "notification_failed"]
        if failed:
            break
        await asyncio.sleep(0.1)
    assert [(f["recipients"], f["error"]) for f in failed] == [(["p1"], "webhook: answered 404")]
    # Ops find it in the Temporal UI's saved view "notifications failing".
    for _ in range(50):
        found = [
            w.id
            async for w in dev_env.client.list_workflows(
                f'AllianceUndelivered > 0 AND WorkflowId = "project-{project.id}"'
            )
        ]
        if found:
            break
        await asyncio.sleep(0.1)
    assert found == [f"project-{project.id}"]

    # 410 Gone: no more deliveries there, and p1's page says so.
    receiver.answers = [410]
    await project.ok("PUT", "/answer", "p1", {"kind": "consent"})
    await project.ok("PUT", "/answer", "p3", {"kind": "consent"})  # the decision: 3 events
    await receiver.wait_for(9)
    await asyncio.sleep(3)
    assert [status for _, _, status in receiver.requests][8:] == [410]  # and nothing after
    page = await open_link(mailing.http, f"http://localhost/p/{project.tokens['p1']}")
    assert "Votre adresse de notification automatique a répondu qu’elle n’existe plus" in page.text


async def test_a_webhook_to_a_private_address_is_refused(http):
    project = await ApiProject.launch(http)
    for url in ("https://127.0.0.1/hook", "https://10.1.2.3/hook", "http://203.0.113.7/hook",
                "https://[::1]/hook", "https://169.254.169.254/latest"):  # fmt: skip
        response = await http.patch(
            f"/projects/{project.id}/participants/me",
            json={"webhook_url": url},
            headers=bearer(project.tokens["p1"]),
        )
        assert response.status_code == 422, (url, response.text)
        assert response.json()["code"] == "webhook_refused"
