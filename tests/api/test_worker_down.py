"""The honest contract when no worker answers: 202 with a pollable action URL, kept and
recorded once the worker is back; readiness sees the worker; an unreachable Temporal is a
503 that says so. A real dev server, a real worker stopped and started again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from tests.api_helpers import COORD, ApiProject, bearer, project_body
from tests.conftest import Harness, api_settings, make_harness_settings
from worker import build_worker


@pytest.fixture
async def stoppable(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Harness]]:
    """The API on its own task queue, with no worker yet: the test starts and stops it."""
    harness = Harness(dev_env.client, make_harness_settings(tmp_path), None)
    settings = api_settings(
        harness, rpc_timeout_seconds=1.5, worker_seen_within=timedelta(seconds=1)
    )
    app = create_app(settings, client=dev_env.client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://alliance.test"
    ) as http:
        yield http, harness


async def wait_until(check, seconds: float = 10) -> None:
    for _ in range(int(seconds * 10)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("it never happened")


async def test_a_stopped_worker_gives_202_and_the_action_is_recorded_once_it_is_back(stoppable):
    http, harness = stoppable
    async with build_worker(harness.client, harness.settings):
        project = await ApiProject.launch(http)
        await project.ok("POST", "/contributions", "p1", {"kind": "need", "text": "Un lieu"})
    await asyncio.sleep(1.2)  # the worker's last poll is now older than the window

    ready = await http.get("/readyz")
    assert ready.status_code == 503 and ready.json()["code"] == "no_worker"

    # Sent with a key, and without one: both are kept, and both can be followed.
    body = {"kind": "resource", "text": "Une salle au centre social"}
    keyed = await project.call("POST", "/contributions", "p2", body, key="salle-1")
    unkeyed = await project.call("POST", "/contributions", "p3", {"kind": "need", "text": "Bancs"})
    for response in (keyed, unkeyed):
        assert response.status_code == 202, response.text
        assert response.json()["code"] == "not_yet_recorded"
        assert "no Alliance worker is running" in response.json()["message"]
        assert response.headers["Location"].startswith(f"/projects/{project.id}/actions/")
    assert keyed.headers["Location"] == f"/projects/{project.id}/actions/salle-1"

    waiting = await http.get(keyed.headers["Location"], headers=project.auth("p2"))
    assert waiting.status_code == 202
    # A read needs a worker: said in words, nothing changed.
    read = await http.get(f"/projects/{project.id}", headers=project.auth("p1"))
    assert read.status_code == 503 and "no Alliance worker is running" in read.json()["message"]

    async with build_worker(harness.client, harness.settings):
        recorded = await follow(project, keyed.headers["Location"], "p2", body, key="salle-1")
        assert len(recorded["seqs"]) == 1
        # The action URL answers only the one who sent it.
        other = await http.get(keyed.headers["Location"], headers=project.auth("p1"))
        assert other.status_code == 404
        key = unkeyed.headers["Location"].rsplit("/", 1)[1]
        await follow(
            project, unkeyed.headers["Location"], "p3", {"kind": "need", "text": "Bancs"}, key
        )
        # A client that retries with the same key changes nothing: the same result.
        again = await project.call("POST", "/contributions", "p2", body, key="salle-1")
        assert again.status_code == 201 and again.json()["seqs"] == recorded["seqs"]
        events = await project.ok("GET", "/events", "p1")
        texts = [
            e["data"]["contribution"]["text"]
            for e in events["events"]
            if e["data"]["type"] == "contribution_added"
        ]
        assert sorted(texts) == sorted(["Un lieu", "Une salle au centre social", "Bancs"])
        await wait_until(lambda: _ready(http))


async def follow(project: ApiProject, location: str, who: str, body: dict, key: str) -> dict:
    """What the README tells a client to do after a 202: follow the action's URL until it
    answers 200; on 404 (Temporal dropped it before a worker took it), send it again with the
    same key."""
    for _ in range(100):
        response = await project.http.get(location, headers=project.auth(who))
        if response.status_code == 200:
            return response.json()
        if response.status_code == 404:
            resent = await project.call("POST", "/contributions", who, body, key=key)
            if resent.status_code == 201:
                return resent.json()
        await asyncio.sleep(0.1)
    raise AssertionError(f"{location} never answered 200")


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200


async def test_an_unknown_action_is_404_and_says_to_send_it_again(http):
    project = await ApiProject.launch(http)
    response = await http.get(f"/projects/{project.id}/actions/never-sent", headers=COORD)
    assert response.status_code == 404
    assert "same Idempotency-Key" in response.json()["message"]


async def test_an_action_recorded_before_a_continue_as_new_still_answers(dev, http_factory):
    http = http_factory(continue_as_new_after_events=30)
    project = await ApiProject.launch(http)
    first = await project.ok(
        "POST", "/contributions", "p1", {"kind": "need", "text": "Avant"}, key="avant"
    )
    run = (await dev.client.get_workflow_handle(f"project-{project.id}").describe()).run_id
    for n in range(12):
        await project.ok("POST", "/contributions", "p1", {"kind": "need", "text": f"n{n}"})

    async def moved_on() -> bool:
        described = await dev.client.get_workflow_handle(f"project-{project.id}").describe()
        return described.run_id != run

    await wait_until(moved_on)
    response = await http.get(f"/projects/{project.id}/actions/avant", headers=project.auth("p1"))
    assert response.status_code == 200 and response.json()["seqs"] == first["seqs"]


async def test_an_unreachable_temporal_is_a_503_that_says_so(dev):
    app = create_app(api_settings(dev, temporal_address="127.0.0.1:1", rpc_timeout_seconds=1.0))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as down:
        response = await down.post("/projects", json=project_body(), headers=COORD)
        assert response.status_code == 503 and response.headers["Retry-After"]
        assert "Temporal is not reachable at 127.0.0.1:1" in response.json()["message"]
        response = await down.put(
            "/projects/x/answer", json={"kind": "consent"}, headers=bearer("not-a-token")
        )
        assert response.status_code == 401  # a bad token is told before Temporal is asked
