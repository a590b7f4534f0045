"""A process of Alliance killed (SIGKILL, by its pid) while ten projects' partners act over
HTTP, then started again by the run command: every action acknowledged is recorded once,
every project reaches its decision, and each project's mail is all there, a message sent
twice only ever under the same Message-ID."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.resilience.stack import (
    Alliance,
    Tally,
    a_decision,
    assert_recorded_once,
    launch,
    message_ids,
    wait_for_mail,
)

PROJECTS = 10


@pytest.mark.parametrize(
    "victim", ["the worker", "the Temporal dev server", "the API"], ids=["worker", "server", "api"]
)
async def test_a_killed_process_loses_and_doubles_no_answer_and_no_message(
    alliance: Alliance, per_project: int, victim: str
):
    tally = Tally()
    async with httpx.AsyncClient(base_url=alliance.url, timeout=30) as http:
        projects = [await launch(http, tally, f"Projet {n}") for n in range(PROJECTS)]
        walks = [asyncio.create_task(a_decision(p, tally)) for p in projects]
        while tally.actions < PROJECTS * 8 // 3 and not all(w.done() for w in walks):
            await asyncio.sleep(0.02)
        assert not any(w.done() for w in walks), "the fault came too late to test anything"
        await asyncio.to_thread(alliance.kill, victim)
        await asyncio.wait_for(asyncio.gather(*walks), 300)
        assert tally.actions == PROJECTS * 8
        for project in projects:
            await assert_recorded_once(project)
        # A batch the killed worker had begun goes again once its heartbeat is missed.
        messages = await wait_for_mail(alliance.catcher, projects, per_project, 120)
    for project in projects:
        assert len(message_ids(messages, project.id)) == per_project, project.id
    if victim == "the API":  # it was killed with requests under way: they were sent again
        assert tally.dropped > 0, tally
    print(
        f"{victim} killed: {tally.actions} actions recorded once; {tally.retried} sent again, "
        f"{tally.dropped} of them after a connection refused or cut"
    )
