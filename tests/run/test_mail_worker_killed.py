"""The worker that sends the mail killed (SIGKILL) in the middle of projects and started again:
no message lost, and a message sent twice only ever under the same Message-ID (issue 29: the
receiver drops the repeat). The projects are launched through the API, so their partners have
addresses in the contact directory, as in production."""

from __future__ import annotations

import asyncio
import signal
import uuid

import httpx
import pytest

from activities.mail.catcher import MailCatcher
from api.app import create_app
from tests.api_helpers import ApiProject, addressed_body
from tests.conftest import Harness, api_settings, make_harness_settings
from tests.helpers import free_port, message_ids
from tests.run.test_scale import Process_, alliance_env, processes

PARTNERS = ["p1", "p2", "p3"]


async def whole_project(project: ApiProject, progress: list[int]) -> None:
    async def act(method: str, path: str, who: str, body: dict) -> dict:
        key = uuid.uuid4().hex  # asked again under the same key: recorded once
        for _ in range(60):  # the worker that ran it may be gone: the API says 202, ask again
            response = await project.call(method, path, who, body, key=key)
            if response.status_code in (200, 201):
                progress[0] += 1
                return response.json()
            await asyncio.sleep(0.5)
        raise AssertionError(f"{method} {path}: {response.status_code} {response.text}")

    for pid in PARTNERS:
        await act("POST", "/contributions", pid, {"kind": "need", "text": f"besoin de {pid}"})
    proposal = (
        await act("POST", "/proposals", "p1", {"title": "Jardin", "description": "Des bacs"})
    )["item_id"]
    await act("POST", "/plan", "fac", {"proposal_ids": [proposal], "summary": "Plan"})
    for pid in PARTNERS:
        await act("PUT", "/answer", pid, {"kind": "consent"})


@pytest.mark.parametrize("mail_worker", [True], ids=["mail-worker"])
async def test_the_mail_sending_worker_killed_and_restarted_loses_no_message(
    dev_env, tmp_path, mail_worker
):
    """A mail worker (ALLIANCE_MAIL_WORKER) beside a worker serving the projects alone. The
    project's own worker, sending its mail itself, is killed the same way in
    tests/resilience/test_processes_killed.py."""
    address = dev_env.client.service_client.config.target_host
    async with MailCatcher(tmp_path / "mail", port=free_port()) as catcher:
        settings = make_harness_settings(
            tmp_path,
            notifications="email",
            smtp_port=catcher.port,
            api_url="http://localhost",
            rpc_timeout_seconds=2.0,
            mail_worker=mail_worker,
        )
        harness = Harness(
            dev_env.client, api_settings(Harness(dev_env.client, settings, None)), None
        )
        env = alliance_env(
            address,
            settings.task_queue,
            tmp_path,
            ALLIANCE_NOTIFICATIONS="email",
            ALLIANCE_SMTP_PORT=str(catcher.port),
            ALLIANCE_TOKEN_SECRET="test-secret",
            ALLIANCE_API_URL="http://localhost",
            ALLIANCE_MAIL_WORKER="true" if mail_worker else "false",
        )
        # The sending one: the worker, or the mail worker beside the projects' worker.
        sender = ("--mail",) if mail_worker else ()
        app = create_app(harness.settings, client=dev_env.client)
        with processes() as started:
            if mail_worker:
                projects_only = Process_("worker", env)  # the projects alone: a mail worker runs
                started.append(projects_only)
                await projects_only.wait_for('"worker started"')
            sending = Process_("worker", env, *sender)
            started.append(sending)
            await sending.wait_for('"worker started"')
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://localhost"
            ) as http:
                # A reference project, left alone: how many distinct messages one sends.
                reference = await ApiProject.launch(http, addressed_body())
                await whole_project(reference, [0])
                await asyncio.sleep(2)
                per_project = len(message_ids(catcher.messages(), reference.id))
                assert per_project > 0

                projects = [await ApiProject.launch(http, addressed_body()) for _ in range(6)]
                progress = [0]
                walks = [asyncio.create_task(whole_project(p, progress)) for p in projects]
                while progress[0] < 6 * 4:  # about half of the actions: mail on its way
                    await asyncio.sleep(0.02)
                sending.process.send_signal(signal.SIGKILL)
                sending.process.wait()
                again = Process_("worker", env, *sender)
                started.append(again)
                await again.wait_for('"worker started"')
                await asyncio.wait_for(asyncio.gather(*walks), 180)
                # The last messages, and any retried: a batch the killed worker had begun goes
                # again once its heartbeat is missed (60 s), so wait until all came or 120 s.
                for _ in range(1200):
                    counts = [len(message_ids(catcher.messages(), p.id)) for p in projects]
                    if min(counts) >= per_project:
                        break
                    await asyncio.sleep(0.1)
                await asyncio.sleep(1)
            await app.state.gateway.close()

        messages = catcher.messages()
        for project in projects:
            mine = message_ids(messages, project.id)
            # Nothing lost: each project's distinct messages are the reference's count; a
            # repeat carries the same Message-ID (its receiver drops it).
            assert len(set(mine)) == per_project, (project.id, len(set(mine)), per_project)
