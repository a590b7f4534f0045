"""The mail server and a partner's webhook receiver down (their ports closed) while
projects go on, then back: every message arrives once and none is lost, every webhook event
once with a valid signature, and nothing is recorded as failed. The projects are launched
with ALLIANCE_NOTIFY_RETRY_MAX_SECONDS=5, so mail goes at most 5 s after the outage ends
(ten minutes by default). The outage lasts ALLIANCE_TEST_OUTAGE_SECONDS (20 s in the suite;
a longer one tests the same path: `ALLIANCE_TEST_OUTAGE_SECONDS=300 pytest -m resilience`)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter

import httpx
from aiohttp import web
from standardwebhooks import Webhook

from tests.mail.test_webhooks import Receiver
from tests.resilience.stack import (
    RETRY_MAX_SECONDS,
    Alliance,
    Tally,
    a_decision,
    assert_recorded_once,
    events_of,
    launch,
    message_ids,
    settled,
    wait_for_mail,
)

OUTAGE_SECONDS = float(os.environ.get("ALLIANCE_TEST_OUTAGE_SECONDS", "20"))


class Tool:
    """A partner's tool at a fixed port, which the test takes down and brings back."""

    def __init__(self) -> None:
        self.receiver = Receiver()
        self.runner: web.AppRunner | None = None

    async def up(self) -> None:
        app = web.Application()
        app.router.add_post("/alliance", self.receiver.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.receiver.port).start()

    async def down(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def ids(self, project_id: str) -> Counter:
        return Counter(
            h["webhook-id"]
            for h, body in self.receiver.accepted()
            if json.loads(body)["data"]["project_id"] == project_id
        )


async def hooked(project, tool: Tool, catcher) -> str:
    """p1's tool set once the launch's news went out (the six invitations), so that it gets
    exactly the events of the decision that follows."""
    await wait_for_mail(catcher, [project], 6, 30)
    response = await project.call(
        "PATCH", "/participants/me", "p1", {"webhook_url": tool.receiver.url}
    )
    assert response.status_code == 200, response.text
    return response.json()["webhook_secret"]


async def test_mail_and_webhooks_down_then_back_lose_nothing(alliance: Alliance, per_project: int):
    tool = Tool()
    await tool.up()
    tally = Tally()
    try:
        async with httpx.AsyncClient(base_url=alliance.url, timeout=30) as http:
            # With everything up: how many events p1's tool gets from one project.
            reference = await launch(http, tally, "Référence des webhooks")
            secrets = {reference.id: await hooked(reference, tool, alliance.catcher)}
            await a_decision(reference, tally)
            projects = [await launch(http, tally, f"Pendant la panne {n}") for n in range(3)]
            for project in projects:
                secrets[project.id] = await hooked(project, tool, alliance.catcher)
            await wait_for_mail(alliance.catcher, [reference], per_project, 30)
            hooks = await settled(lambda: len(tool.ids(reference.id)), at_least=6)
            before = {p.id: len(message_ids(alliance.catcher.messages(), p.id)) for p in projects}

            # Down: the mail server's process killed, the tool's port closed.
            alliance.catcher.kill()
            await tool.down()
            down_at = time.monotonic()
            await asyncio.gather(*(a_decision(p, tally) for p in projects))
            await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
            for project in projects:  # nothing arrived meanwhile
                assert (
                    len(message_ids(alliance.catcher.messages(), project.id)) == before[project.id]
                )
            assert all(not tool.ids(p.id) or len(tool.ids(p.id)) < hooks for p in projects)

            # Back on the same ports.
            await asyncio.to_thread(alliance.catcher.start)
            await tool.up()
            back_at = time.monotonic()
            # The next try of each delivery comes within the longest wait between tries.
            messages = await wait_for_mail(
                alliance.catcher, projects, per_project, RETRY_MAX_SECONDS + 60
            )
            for _ in range(600):
                if all(len(tool.ids(p.id)) >= hooks for p in projects):
                    break
                await asyncio.sleep(0.1)
            caught_up = time.monotonic() - back_at
            await asyncio.sleep(2)
            for project in projects:
                await assert_recorded_once(project)
                assert len(message_ids(messages, project.id)) == per_project, project.id
                # Every event once (a repeat of the same webhook-id would be allowed)...
                assert len(tool.ids(project.id)) == hooks, tool.ids(project.id)
                events = await events_of(project)
                assert not [e for e in events if e["type"] == "notification_failed"]
            # ... and each delivery that came, signed for its project's tool.
            for headers, body in tool.receiver.accepted():
                project_id = json.loads(body)["data"]["project_id"]
                Webhook(secrets[project_id]).verify(body, headers)
            print(
                f"{OUTAGE_SECONDS:.0f} s without mail or webhooks: {len(projects)} projects' "
                f"{per_project} messages and {hooks} events each, all there {caught_up:.1f} s "
                "after the outage"
            )
    finally:
        await tool.down()
