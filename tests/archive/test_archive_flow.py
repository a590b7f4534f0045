"""A project's record after Temporal has forgotten it, long projects in segments, erasure in
the archive, and a running project's export: through the API, with a real worker on the dev
server, against the folder store and against a real S3-compatible server (moto)."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment

from activities.archive import ArchiveActivities, SegmentRequest
from activities.notifications import OutboxAdapter
from api.app import create_app
from api.routes.projects import public_event
from archive.archivist import Archivist
from archive.record import MANIFEST, intact, read_events
from tests.api_helpers import COORD, ApiProject, bearer, project_body
from tests.conftest import OTHER_ORG_CREDENTIAL, Harness, api_settings, make_harness_settings
from worker import build_worker
from workflows.project import ProjectInput

PARTNERS = ["p1", "p2", "p3"]


class Archiving:
    def __init__(self, harness: Harness, http: httpx.AsyncClient, archivist: Archivist) -> None:
        self.harness, self.http, self.archivist = harness, http, archivist

    async def written(self, project_id: str, timeout: float = 20) -> Any:
        for _ in range(int(timeout / 0.1)):
            archived = await self.archivist.archived(project_id)
            if archived is not None:
                return archived
            await asyncio.sleep(0.1)
        raise AssertionError(f"no archive for {project_id} after {timeout} s")

    async def forget(self, project_id: str) -> None:
        """Delete the workflow execution, as the namespace's retention would."""
        client = self.harness.client
        execution = WorkflowExecution(workflow_id=f"project-{project_id}")
        await client.workflow_service.delete_workflow_execution(
            DeleteWorkflowExecutionRequest(namespace=client.namespace, workflow_execution=execution)
        )
        for _ in range(200):
            try:
                await client.get_workflow_handle(f"project-{project_id}").describe()
            except RPCError as e:
                assert e.status == RPCStatusCode.NOT_FOUND
                return
            await asyncio.sleep(0.1)
        raise AssertionError("the workflow execution was not deleted")


@pytest.fixture(params=["folder", "s3"])
async def archiving(request, dev_env, tmp_path: Path) -> AsyncIterator[Archiving]:
    overrides: dict[str, Any] = {}
    if request.param == "s3":
        overrides = {
            "archive_store": "s3",
            "s3_endpoint_url": request.getfixturevalue("s3_server"),
            "s3_bucket": f"alliance-{uuid.uuid4().hex[:12]}",
            "s3_prefix": "records",
            "s3_access_key_id": "test",
            "s3_secret_access_key": SecretStr("test"),
        }
    settings = make_harness_settings(tmp_path, **overrides)
    outbox = OutboxAdapter(settings.outbox_dir)
    worker = build_worker(
        dev_env.client, settings, notifier=outbox, workflow_failure_exception_types=[Exception]
    )
    async with worker:
        harness = Harness(client=dev_env.client, settings=settings, outbox=outbox)
        app = create_app(api_settings(harness, segment_after_events=8), client=dev_env.client)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://alliance.test"
        ) as http:
            yield Archiving(harness, http, app.state.gateway.archivist)
        await app.state.gateway.close()


async def closed_project(http: httpx.AsyncClient) -> ApiProject:
    """A project with an objection round, adopted, evaluated and closed."""
    project = await ApiProject.launch(http)
    proposal = await project.to_decision(PARTNERS)
    await project.ok("PUT", "/answer", "p1", {"kind": "consent"})
    await project.ok("PUT", "/answer", "p2", {"kind": "object", "reason": "Terrain inondable"})
    await project.ok("PUT", "/answer", "p3", {"kind": "abstain"})
    await project.judge("p2")
    await project.ok("POST", f"/proposals/{proposal}/amendments", "p2", {"text": "Bacs surélevés"})
    await project.ok(
        "POST",
        "/plan",
        "fac",
        {"proposal_ids": [proposal], "summary": "Plan 2", "objection_answers": {"p2": "Bacs"}},
    )
    for pid in PARTNERS:
        await project.ok("PUT", "/answer", pid, {"kind": "consent"})
    await project.ok("POST", "/outcome", "fac", {"text": "Adopté au deuxième tour"})
    await project.ok("POST", "/close-phase", "fac", {"reason": "travaux finis"})
    indicator = (await project.view())["adopted_plan"]["indicators"][0]["id"]
    for pid in PARTNERS:
        await project.ok(
            "POST", "/assessments", pid, {"scores": [{"indicator_id": indicator, "score": 4}]}
        )
    await project.ok("POST", "/outcome", "fac", {"text": "Les jardins vivent."})
    return project


async def all_events(project: ApiProject, who: str, limit: int = 100) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        page = await project.ok("GET", f"/events?after={after}&limit={limit}", who)
        if not page["events"]:
            return events
        events += page["events"]
        after = page["next_after"]


async def served(project: ApiProject, who: str) -> dict[str, bytes]:
    async def body(path: str) -> bytes:
        response = await project.call("GET", path, who)
        assert response.status_code == 200, f"{path}: {response.text}"
        return response.content

    return {
        # The report in the project's language (French), and in English on request.
        "rapport.md": await body("/report?format=md"),
        "rapport.html": await body("/report?format=html"),
        "report.md": await body("/report?format=md&lang=en"),
        "report.html": await body("/report?format=html&lang=en"),
        "decisions.csv": await body("/decisions"),
        "registre.csv": await body("/decisions?format=excel"),
        "archive.zip": await body("/archive"),
    }


async def test_a_closed_projects_record_is_served_after_temporal_forgot_it(archiving):
    project = await closed_project(archiving.http)
    archived = await archiving.written(project.id)
    files = archived.files
    assert intact(files) and json.loads(files[MANIFEST])["provisional"] is False
    before = await served(project, "p2")
    events_before = await all_events(project, "p2", limit=7)

    await archiving.forget(project.id)

    after = await served(project, "p2")
    # Byte for byte what was written, and what was served while Temporal still had it.
    assert after == before
    for name in ("rapport.md", "rapport.html", "report.md", "report.html", "decisions.csv",
                 "registre.csv"):  # fmt: skip
        assert after[name] == files[name]
        listed = json.loads(files[MANIFEST])["files"][name]
        assert hashlib.sha256(after[name]).hexdigest() == listed["sha256"]
    with zipfile.ZipFile(io.BytesIO(after["archive.zip"])) as zipped:
        assert {n: zipped.read(n) for n in zipped.namelist()} == files
    # Every event once, in order, as archived (and as served before), page by page.
    events = await all_events(project, "p2", limit=7)
    assert events == events_before
    archived_lines = [json.loads(line) for line in files["events.jsonl"].splitlines()]
    assert events == [public_event(e, False) for e in archived_lines]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["data"]["type"] == "project_closed"
    # The register names the objection and the answer it got.
    rows = list(csv.DictReader(io.StringIO(after["decisions.csv"].decode())))
    objection = next(r for r in rows if r["objector"])
    assert (objection["objection"], objection["answer_next_round"]) == ("Terrain inondable", "Bacs")

    # The view and the participant's page still answer, with the same authorization.
    view = await project.view("p1")
    assert (view["phase"], view["outcome"]) == ("closed", "adopted")
    other = await ApiProject.launch(archiving.http)
    for path in ("", "/events", "/report", "/decisions", "/archive"):
        response = await archiving.http.get(
            f"/projects/{project.id}{path}", headers=bearer(other.tokens["p1"])
        )
        assert response.status_code == 404, (path, response.text)
        response = await archiving.http.get(
            f"/projects/{project.id}{path}", headers=bearer(OTHER_ORG_CREDENTIAL)
        )
        assert response.status_code == 404, (path, response.text)

    # Listed among the organisation's archived projects, from the archive's index.
    listing = (await archiving.http.get("/projects?archived=true", headers=COORD)).json()
    mine = [p for p in listing["projects"] if p["id"] == project.id]
    assert mine and mine[0]["status"] == "archived" and mine[0]["outcome"] == "adopted"
    other_org = (
        await archiving.http.get("/projects?archived=true", headers=bearer(OTHER_ORG_CREDENTIAL))
    ).json()
    assert project.id not in [p["id"] for p in other_org["projects"]]


async def test_a_retried_archive_activity_leaves_one_archive(archiving):
    project = await closed_project(archiving.http)
    first = await archiving.written(project.id)
    store = archiving.archivist.store
    keys_before = await store.keys(f"{project.id}/")
    objects_before = {k: await store.get(k) for k in keys_before}
    # The activity again, with what the workflow sent it (its last run's events, the last
    # segment): the same objects, once.
    last_segment = [k for k in keys_before if "/segments/" in k][-1]
    events = read_events(await store.get(last_segment) or b"")
    assert events[-1].seq == first.events()[-1].seq
    activities = ArchiveActivities(archiving.archivist)
    for _ in range(2):
        await ActivityEnvironment().run(
            activities.archive_project,
            SegmentRequest(project_id=project.id, events=events, redacted=[]),
        )
    keys_after = await store.keys(f"{project.id}/")
    assert keys_after == keys_before
    assert {k: await store.get(k) for k in keys_after} == objects_before
    versions = {k.split("/")[1] for k in keys_after if k.count("/") == 2}
    assert len(versions - {"segments"}) == 1


async def test_an_erasure_after_the_archive_rewrites_every_file_and_says_why(archiving):
    project = await closed_project(archiving.http)
    await archiving.written(project.id)
    response = await project.call(
        "POST", "/participants/p2/erasure", "coordinator-credential", {"redact_texts": True}
    )
    assert response.status_code == 200, response.text
    assert response.json()["texts_redacted"] is True
    store = archiving.archivist.store
    archived = await archiving.archivist.archived(project.id)
    assert archived is not None and intact(archived.files)
    for key in await store.keys(f"{project.id}/"):
        data = (await store.get(key) or b"").decode()
        assert "Terrain inondable" not in data and "Bacs surélevés" not in data, key
    manifest = archived.manifest
    assert [r["participant_id"] for r in manifest["redactions"]] == ["p2"]
    assert "erasure" in manifest["redactions"][0]["reason"]
    for name, entry in manifest["files"].items():
        assert hashlib.sha256(archived.files[name]).hexdigest() == entry["sha256"]
    # Served so too, before and after Temporal forgets the project.
    for forgotten in (False, True):
        if forgotten:
            await archiving.forget(project.id)
        text = json.dumps(await all_events(project, "p1"), ensure_ascii=False)
        assert "Terrain inondable" not in text and "[retiré]" in text
        register = (await project.call("GET", "/decisions", "p1")).content.decode()
        assert "Terrain inondable" not in register


async def test_a_long_project_runs_through_ten_continue_as_new_and_keeps_every_event(archiving):
    """Segments of 8 events: each run carries its state, not its past. A fourth partner
    keeps the diagnosis open."""
    project = await ApiProject.launch(archiving.http, project_body(4))
    for n in range(30):
        pid = PARTNERS[n % 3]
        await project.ok("POST", "/contributions", pid, {"kind": "need", "text": f"besoin {n}"})
    await project.ok(
        "POST", "/contributions", "p2", {"kind": "need", "text": "Parole de p2 à effacer"}
    )
    handle = archiving.harness.client.get_workflow_handle(f"project-{project.id}")
    runs = [r async for r in archiving.harness.client.list_workflows(f"WorkflowId = '{handle.id}'")]
    segments = await archiving.archivist.store.keys(f"{project.id}/segments/")
    assert len(segments) >= 3
    # Every event once, in order, across the segments and the current run.
    events = await all_events(project, "p1", limit=5)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    texts = [e["data"]["contribution"]["text"] for e in events if "contribution" in e["data"]]
    assert texts[:30] == [f"besoin {n}" for n in range(30)]

    # An erasure while segments hold the texts: they are rewritten.
    await project.ok(
        "POST", "/participants/p2/erasure", "coordinator-credential", {"redact_texts": True}
    )
    for _ in range(100):
        stored = [await archiving.archivist.store.get(k) for k in segments]
        if not any(b"Parole de p2" in (s or b"") for s in stored):
            break
        await asyncio.sleep(0.1)
    assert not any(b"Parole de p2" in (s or b"") for s in stored)

    for n in range(60):
        await project.ok("POST", "/contributions", "p1", {"kind": "need", "text": f"suite {n}"})
    runs = [r async for r in archiving.harness.client.list_workflows(f"WorkflowId = '{handle.id}'")]
    assert len(runs) > 10
    events = await all_events(project, "coordinator-credential", limit=9)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["data"]["contribution"]["text"] for e in events[-60:]] == [
        f"suite {n}" for n in range(60)
    ]
    # The current run started with the state and a pointer, not the project's past.
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    (carried,) = await archiving.harness.client.data_converter.decode(
        started.input.payloads, [ProjectInput]
    )
    assert carried.carried.state is not None and carried.carried.archived_through > 60
    assert len(carried.carried.events) < 8
    assert (await project.view("p1"))["last_seq"] == events[-1]["seq"]

    # The whole record once it ends: every event once, in order.
    await project.ok("POST", "/cancel", "coordinator-credential", {"reason": "fin du test"})
    archived = await archiving.written(project.id)
    seqs = [e.seq for e in read_events(archived.files["events.jsonl"])]
    assert seqs == list(range(1, events[-1]["seq"] + 2))
    assert b"Parole de p2" not in archived.files["events.jsonl"]


async def test_a_running_project_exports_provisionally_without_being_disturbed(archiving):
    project = await ApiProject.launch(archiving.http)
    await project.to_decision(PARTNERS)
    handle = archiving.harness.client.get_workflow_handle(f"project-{project.id}")

    async def history_length() -> int:
        return (await handle.describe()).raw_description.workflow_execution_info.history_length

    async def settled() -> bool:
        """The phase's mail sent and the run that follows it (a segment is due every 8
        events) begun: a run just continued as new shows one event, its first workflow task
        not yet scheduled, for a moment."""
        raw = (await handle.describe()).raw_description
        return (
            raw.workflow_execution_info.history_length > 1
            and not raw.pending_activities
            and not raw.HasField("pending_workflow_task")
        )

    length = 0
    while length != (length := await history_length()) or not await settled():
        await asyncio.sleep(0.3)
    response = await project.call("GET", "/archive", "coordinator-credential")
    assert response.status_code == 200, response.text
    assert "provisoire" in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as zipped:
        files = {n: zipped.read(n) for n in zipped.namelist()}
    assert intact(files) and json.loads(files[MANIFEST])["provisional"] is True
    assert json.loads(files["state.json"])["phase"] == "decision"
    assert (
        b"Jardin rue Garon" in files["events.jsonl"] and b"Jardin rue Garon" in files["state.json"]
    )
    again = (await project.call("GET", "/archive", "coord")).content
    assert again == response.content  # nothing happened meanwhile: the same bytes
    refused = await project.call("GET", "/archive", "p1")
    assert refused.status_code == 403 and "coordinator" in refused.json()["message"]
    register = await project.call("GET", "/decisions", "p1")
    assert register.status_code == 200 and register.text.startswith("round,date,rule")
    assert await history_length() == length  # not one event more
    assert await archiving.archivist.archived(project.id) is None  # an export writes nothing
