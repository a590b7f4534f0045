"""Alliance past one process: two workers on one task queue, one of them killed with SIGKILL in
the middle of twenty projects, and every project completes with nothing lost; two API
processes sending bursts to one project, and Temporal's limit of 10 updates in flight per
workflow never turns into a refusal."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.service import RPCError, RPCStatusCode

from domain import commands as cmd
from domain.models import Process
from tests.api_helpers import COORD, ApiProject, bearer, project_body
from tests.conftest import COORDINATOR_CREDENTIAL
from tests.helpers import TEST_CODEC_KEYS, Driver, Spawned, actor, free_port, make_spec
from workflows.project import ProjectSummary

ROOT = Path(__file__).resolve().parents[2]
PARTNERS = ["p1", "p2", "p3"]


class Process_(Spawned):
    """An Alliance process (`python -m worker` or `python -m api`) started by the test."""

    def __init__(self, module: str, env: dict[str, str], *arguments: str) -> None:
        super().__init__(
            [sys.executable, "-m", module, *arguments],
            {**os.environ, **env, "ALLIANCE_LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1"},
            ROOT,
        )

    async def wait_for(self, text: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while text not in self.output():
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def processes() -> Iterator[list[Process_]]:
    started: list[Process_] = []
    try:
        yield started
    finally:
        for process in started:
            process.stop()


def alliance_env(address: str, task_queue: str, data_dir: Path, **more: str) -> dict[str, str]:
    return {
        "ALLIANCE_TEMPORAL_ADDRESS": address,
        "ALLIANCE_TASK_QUEUE": task_queue,
        "ALLIANCE_DATA_DIR": str(data_dir),
        "ALLIANCE_CODEC_KEYS": json.dumps(TEST_CODEC_KEYS),
        "ALLIANCE_NOTIFICATIONS": "outbox",
        **more,
    }


async def view_of(d: Driver) -> Any:
    """A query right after the worker that ran the project died is refused until Temporal
    gives up on that worker's queue (seconds): asked again, as the API does."""
    for _ in range(30):
        try:
            return await d.view()
        except RPCError as e:
            if e.status != RPCStatusCode.FAILED_PRECONDITION:
                raise
            await asyncio.sleep(1)
    return await d.view()


async def whole_project(d: Driver, progress: list[int]) -> ProjectSummary:
    """A project from diagnosis to its report, every phase closed by the people who act."""

    async def act(command: cmd.Command) -> Any:
        result = await d.act(command)
        progress[0] += 1
        return result

    for pid in PARTNERS:
        await act(cmd.AddContribution(actor=actor(pid), kind="need", text=f"besoin de {pid}"))
    proposal = (
        await act(
            cmd.SubmitProposal(
                actor=actor("p1"),
                title="Jardin rue Garon",
                description="Des bacs hors-sol",
                indicators=[{"name": "Familles inscrites"}],
            )
        )
    ).item_id
    await act(cmd.SubmitPlan(actor=actor("fac"), proposal_ids=[proposal], summary="Plan"))
    for pid in PARTNERS:
        await act(cmd.GiveAnswer(actor=actor(pid), kind="consent"))
    await act(cmd.StateOutcome(actor=actor("fac"), text="Adopté"))
    await act(cmd.ClosePhase(actor=actor("fac")))
    indicator = (await view_of(d)).adopted_plan.indicators[0].id
    for pid in PARTNERS:
        await act(cmd.Assess(actor=actor(pid), scores=[{"indicator_id": indicator, "score": 4}]))
    # Every partner assessed: the facilitator's conclusion closes the evaluation (rules 2).
    await act(cmd.StateOutcome(actor=actor("fac"), text="Conclusion"))
    return await d.handle.result()


async def test_two_workers_one_killed_mid_lifecycle_and_twenty_projects_complete(dev_env, tmp_path):
    address = dev_env.client.service_client.config.target_host
    task_queue = f"alliance-scale-{random.randrange(10**8)}"
    env = alliance_env(address, task_queue, tmp_path)
    with processes() as started:
        for _ in range(2):
            started.append(Process_("worker", env))
        for worker in started:
            await worker.wait_for('"worker started"')
        victim, survivor = started

        drivers = [
            await Driver.start(
                dev_env.client, make_spec(3, Process(action={"duration": "P30D"})), task_queue
            )
            for _ in range(20)
        ]
        progress = [0]
        walks = [asyncio.create_task(whole_project(d, progress)) for d in drivers]
        actions_per_project = 3 + 1 + 1 + 3 + 1 + 1 + 3 + 1
        # In the middle: about half of all the actions recorded, the rest to come.
        while progress[0] < 10 * actions_per_project:
            await asyncio.sleep(0.05)
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait()
        summaries = await asyncio.wait_for(asyncio.gather(*walks), 240)
        assert survivor.process.poll() is None, survivor.output()

        assert [s.phase for s in summaries] == ["closed"] * 20
        assert all(s.outcome == "adopted" for s in summaries)
        # Nothing lost, nothing twice: every action recorded once, in order, in every project
        # (read while the surviving worker answers queries).
        for d in drivers:
            events = await d.events()
            types = [e.type for e in events]
            assert types.count("contribution_added") == 3 and types.count("answer_given") == 3
            assert types.count("assessment_given") == 3 and types.count("proposal_submitted") == 1
            assert types[-2:] == ["report_published", "project_closed"]
            assert [e.seq for e in events] == list(range(1, len(events) + 1))


@pytest.mark.parametrize("in_flight", [8, 30])
async def test_two_api_processes_never_refuse_a_burst_on_one_project(dev, tmp_path, in_flight):
    """8 per process (the default) keeps 16 in flight at most; 30 per process sends up to 60 at
    once, far past Temporal's 10: either way every partner gets a 201 and every contribution
    is recorded once."""
    burst = 80
    address = dev.client.service_client.config.target_host
    ports = [free_port(), free_port()]
    with processes() as started:
        for port in ports:
            started.append(
                Process_(
                    "api",
                    alliance_env(
                        address,
                        dev.task_queue,
                        dev.settings.data_dir,
                        ALLIANCE_API_PORT=str(port),
                        ALLIANCE_TOKEN_SECRET="test-secret",
                        ALLIANCE_COORDINATOR_CREDENTIALS=json.dumps(
                            {COORDINATOR_CREDENTIAL: "mda-lyon8"}
                        ),
                        ALLIANCE_RPC_TIMEOUT_SECONDS="20",
                        ALLIANCE_UPDATES_IN_FLIGHT_PER_PROJECT=str(in_flight),
                    ),
                )
            )
        for api in started:
            await api.wait_for("Application startup complete")
        apis = [
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) for port in ports
        ]
        try:
            # Three partners: while one of them has not contributed, the diagnosis stays open.
            project = await ApiProject.launch(apis[0], project_body(3), COORD)

            async def contribute(n: int) -> httpx.Response:
                who = PARTNERS[n % 2]
                return await apis[n % 2].post(
                    f"/projects/{project.id}/contributions",
                    json={"kind": "need", "text": f"besoin {n}"},
                    headers=bearer(project.tokens[who]),
                )

            answers = await asyncio.gather(*(contribute(n) for n in range(burst)))
            assert sorted({r.status_code for r in answers}) == [201], [
                r.text for r in answers if r.status_code != 201
            ]
            events = (
                await apis[1].get(f"/projects/{project.id}/events?limit=500", headers=COORD)
            ).json()["events"]
            texts = sorted(
                e["data"]["contribution"]["text"]
                for e in events
                if e["data"]["type"] == "contribution_added"
            )
            assert texts == sorted(f"besoin {n}" for n in range(burst))
            # No 5xx in any log line either (past the server's limit, the SDK's client retries
            # RESOURCE_EXHAUSTED itself, then the API sends again).
            assert '"status": 5' not in "".join(api.output() for api in started)
        finally:
            for api in apis:
                await api.aclose()


async def test_a_worker_refuses_a_namespace_without_alliances_search_attributes(dev_env, tmp_path):
    """A cluster elsewhere whose namespace was made without them: the worker says what to
    register instead of letting projects fail at their first change."""
    from google.protobuf.duration_pb2 import Duration
    from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest

    namespace = f"bare-{random.randrange(10**8)}"
    await dev_env.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    address = dev_env.client.service_client.config.target_host
    env = alliance_env(address, "alliance-ns", tmp_path, ALLIANCE_NAMESPACE=namespace)
    for _ in range(50):  # the new namespace reaches the frontend's cache
        worker = subprocess.run(
            [sys.executable, "-m", "worker"],
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        if "not found" not in worker.stderr.lower():
            break
        time.sleep(0.5)
    assert worker.returncode == 1, worker.stderr
    assert f"the namespace '{namespace}' lacks Alliance's search attributes" in worker.stderr
    assert "--name AllianceUndelivered --type Int" in worker.stderr
