"""Building projects and acting on them in tests, the way a coordinator's program would."""

from __future__ import annotations

import base64
import json
import re
import socket
import subprocess
import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle

import temporal_client
from domain import commands as cmd
from domain.models import Participant, PhaseSettings, Process, ProjectSpec, Role
from domain.views import ActionResult, ProjectView
from workflows.project import EventsQuery, ProjectWorkflow

# The tests' own codec keys (test data only): every client the tests build encrypts with the
# last one, as the worker and the API do with theirs.
TEST_CODEC_KEYS = {
    "test-2026-01": "jTMxRhLMJ2slm31DpSQGT9eI3XNNsT5XFd17B2INPtc",
    "test-2026-11": "gwJzLbIzjtiGNisCMYh9UQOp9Jmgd2bkqmBHO2GFL5Q",
}
CONVERTER = temporal_client.data_converter(TEST_CODEC_KEYS)


def payloads_in(value: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every payload ({"metadata": ..., "data": ...}) in a history's JSON, with its path."""
    if isinstance(value, dict):
        if "metadata" in value and "data" in value:
            return [(path, value)]
        return [p for k, v in value.items() for p in payloads_in(v, f"{path}/{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in payloads_in(v, f"{path}[{i}]")]
    return []


def shown_history(address: str, workflow_id: str) -> str:
    """A workflow's history as the Temporal CLI shows it from the server (what it stores)."""
    import subprocess

    return subprocess.run(
        [temporal_client.temporal_binary("temporal"), "workflow", "show", "-w", workflow_id]
        + ["--address", address, "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def as_stored(history: dict[str, Any]) -> list[bytes]:
    """Each payload's bytes as Temporal stores them (the JSON carries them in base64)."""
    return [base64.b64decode(p.get("data", "")) for _, p in payloads_in(history)]


# What the SDK writes in clear in a local activity's marker beside its (encrypted) result:
# its own bookkeeping, ids and times.
LOCAL_ACTIVITY_MARKER = {
    "seq", "attempt", "activity_id", "activity_type", "complete_time", "backoff",
    "original_schedule_time", "activation_index",
}  # fmt: skip


def _sdk_marker(path: str, payload: dict[str, Any]) -> bool:
    """What the SDK writes in clear in a marker: a patch's id (workflow.patched), one of ours,
    nothing else; and a local activity's bookkeeping (ours: the messages, the report and the closing
    at their first try)."""
    from workflows.project import PATCHES

    data = json.loads(base64.b64decode(payload.get("data", "")) or b"{}")
    if "/markerRecordedEventAttributes/details/data/" in path:
        return set(data) <= LOCAL_ACTIVITY_MARKER and data.get("activity_type") in {
            "notify_now",
            "publish_report",
            "close_project",
        }
    if "/markerRecordedEventAttributes/details/patch-data/" not in path:
        return False
    return data.get("id") in PATCHES


def clear_payloads(history: dict[str, Any]) -> list[str]:
    """Paths of the payloads Temporal holds unencrypted, but for search attributes (which
    Temporal must read to index, and which carry nothing personal) and our patch markers."""
    encrypted = base64.b64encode(b"binary/encrypted").decode()
    return [
        path
        for path, p in payloads_in(history)
        if p["metadata"].get("encoding") != encrypted
        and "/searchAttributes/" not in path
        and not _sdk_marker(path, p)
    ]


_ports_given: set[int] = set()


def free_port() -> int:
    # The kernel may hand a port just released to the next bind: never give one twice, or two
    # services of one test end up on the same port (seen: the mail catcher answering the API's).
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _ports_given:
            _ports_given.add(port)
            return port


def actor(participant_id: str, version: int = 1) -> cmd.Actor:
    return cmd.Actor(participant_id=participant_id, token_version=version)


def judged(participant_id: str, judgement: str = "valid", **kw: Any) -> cmd.JudgeObjection:
    """The facilitator's judgement of an objection (rules 3: a consent decision waits for it)."""
    valid = judgement == "valid"
    return cmd.JudgeObjection(
        actor=actor("fac"),
        participant_id=participant_id,
        judgement=judgement,
        harm=valid,
        known=valid,
        safe_to_try=not valid,
        reason=kw.pop("reason", "La proposition nuirait au groupe" if valid else "À vérifier"),
        **kw,
    )


def make_spec(partners: int = 3, process: Process | None = None, **kw: Any) -> ProjectSpec:
    people = [
        Participant(
            id="coord",
            organisation_name="Maison des Associations",
            organisation_id="mda-lyon8",
            organisation_kind="association",
            role=Role.coordinator,
        ),
        Participant(
            id="fac",
            organisation_name="Coop Facil",
            organisation_id="neutral-coop",
            organisation_kind="other",
            role=Role.facilitator,
        ),
        Participant(
            id="obs",
            organisation_name="Métropole (financeur)",
            organisation_id="metropole",
            organisation_kind="public_body",
            role=Role.observer,
        ),
    ]
    kinds = ["local_authority", "inhabitants", "university", "company", "association"]
    people += [
        Participant(
            id=f"p{n}",
            organisation_name=f"Partner {n}",
            organisation_id=f"org-{n}",
            organisation_kind=kinds[(n - 1) % len(kinds)],
            role=Role.partner,
        )
        for n in range(1, partners + 1)
    ]
    return ProjectSpec(
        id=kw.pop("id", uuid.uuid4().hex[:12]),
        title=kw.pop("title", "Jardins partagés du 8e"),
        territory=kw.pop("territory", "Lyon 8e"),
        coordinator_organisation=kw.pop("coordinator_organisation", "mda-lyon8"),
        participants=people,
        process=process or Process(),
        **kw,
    )


def launch_fields(**kw: Any) -> cmd.LaunchFields:
    """A launch as a coordinator sends it: a coordinator, a facilitator and two partners."""
    people = [
        {"organisation_name": "MDA", "organisation_id": "mda-lyon8", "role": "coordinator"},
        {"organisation_name": "Coop", "organisation_id": "coop", "role": "facilitator"},
        {"organisation_name": "Mairie", "organisation_id": "mairie", "role": "partner"},
        {"organisation_name": "Habitants", "organisation_id": "hab", "role": "partner"},
    ]
    return cmd.LaunchFields.model_validate(
        {"title": "Jardins", "territory": "Lyon 8e", "participants": people, **kw}
    )


def short_process(**kw: Any) -> Process:
    """Days-long phases with reminders: deadlines that only time skipping reaches."""
    base = dict(
        diagnosis=PhaseSettings(
            duration=timedelta(days=10), reminders=[timedelta(days=3), timedelta(days=1)]
        ),
        co_design=PhaseSettings(duration=timedelta(days=10)),
        decision=PhaseSettings(duration=timedelta(days=7), reminders=[timedelta(days=2)]),
        action=PhaseSettings(duration=timedelta(days=0)),
        evaluation=PhaseSettings(duration=timedelta(days=7)),
    )
    base.update(kw)
    return Process(**base)


# A template whose decision is reviewed a year after its adoption (issue 27): the saved history,
# the workflow, API, pages and inbound tests run it.
REVIEWED = {
    "id": "jardins-revus",
    "name": {"fr": "Jardins, revus chaque année"},
    "steps": [
        {"id": "co-conception", "name": {"fr": "Co-conception"}, "kind": "co_design",
         "duration": "P10D"},
        {"id": "decision", "name": {"fr": "Décision"}, "kind": "decision", "duration": "P7D",
         "approvals": [{"id": "partenaires", "approvers": {"roles": ["partner"]},
                        "rule": "majority", "quorum": 0.5}],
         "if_not_adopted": {"to": "co-conception", "max_rounds": 2}},
        {"id": "revue", "name": {"fr": "Revue annuelle"}, "kind": "review", "duration": "P14D",
         "after": "P365D"},
    ],
}  # fmt: skip


class Driver:
    """Acts on one project through its workflow handle."""

    def __init__(self, client: Client, handle: WorkflowHandle) -> None:
        self.client = client
        self.handle = handle

    @classmethod
    async def start(cls, client: Client, spec: ProjectSpec, task_queue: str, **kw: Any) -> Driver:
        handle = await temporal_client.start_project(client, spec, task_queue=task_queue, **kw)
        return cls(client, handle)

    async def act(self, command: cmd.Command, *, key: str | None = None) -> ActionResult:
        return await temporal_client.execute_action(
            self.handle, command, key=key or uuid.uuid4().hex
        )

    async def refused(
        self, command: cmd.Command, *, key: str | None = None
    ) -> temporal_client.ActionRefused:
        try:
            await self.act(command, key=key)
        except temporal_client.ActionRefused as refusal:
            return refusal
        raise AssertionError("the action was accepted")

    async def view(self) -> ProjectView:
        return await self.handle.query(ProjectWorkflow.view)

    async def events(self, after: int = 0, limit: int = 1000):
        return await self.handle.query(
            ProjectWorkflow.events, EventsQuery(after=after, limit=limit)
        )

    async def types(self) -> list[str]:
        return [e.type for e in await self.events()]

    # -- common walks --------------------------------------------------------------------

    async def contribute_all(self, partners: list[str]) -> None:
        for pid in partners:
            await self.act(
                cmd.AddContribution(actor=actor(pid), kind="need", text=f"need of {pid}"),
            )

    async def propose(self, pid: str = "p1", indicators: int = 2) -> str:
        result = await self.act(
            cmd.SubmitProposal(
                actor=actor(pid),
                title="Jardin partagé rue Garon",
                description="Un jardin partagé sur la friche municipale",
                indicators=[{"name": f"indicator {n}"} for n in range(1, indicators + 1)],
            ),
        )
        assert result.item_id
        return result.item_id

    async def plan(
        self, proposal_ids: list[str], objection_answers: dict[str, str] | None = None
    ) -> ActionResult:
        return await self.act(
            cmd.SubmitPlan(
                actor=actor("fac"),
                proposal_ids=proposal_ids,
                summary="Plan consolidé",
                objection_answers=objection_answers or {},
            ),
        )

    async def answer(
        self, pid: str, kind: str = "consent", reason: str | None = None
    ) -> ActionResult:
        return await self.act(cmd.GiveAnswer(actor=actor(pid), kind=kind, reason=reason))

    async def judge(self, pid: str, judgement: str = "valid", **kw: Any) -> ActionResult:
        """The facilitator judges an objection (a consent decision waits for it)."""
        return await self.act(judged(pid, judgement, **kw))

    async def assess_all(
        self, partners: list[str], indicator_ids: list[str], score: int = 4
    ) -> None:
        for pid in partners:
            await self.act(
                cmd.Assess(
                    actor=actor(pid),
                    scores=[
                        {"indicator_id": i, "score": score, "comment": f"{pid} ok"}
                        for i in indicator_ids
                    ],
                ),
            )

    async def conclude(self, text: str = "Les jardins sont ouverts et fréquentés.") -> ActionResult:
        """The facilitator's conclusion, which closes the evaluation (rules 2)."""
        return await self.act(cmd.StateOutcome(actor=actor("fac"), text=text))


async def recorded_events(d: Driver, settings: Any) -> list[Any]:
    """Every event of the project, as the API reads them: the segments its past runs left in
    the archive store, then the current run's."""
    from archive.archivist import Archivist
    from archive.store import archive_store

    store = archive_store(settings)
    try:
        live = await d.events()
        project_id = d.handle.id.removeprefix("project-")
        before = live[0].seq if live else None
        return await Archivist(store).segment_events(project_id, 0, before) + live
    finally:
        await store.close()


def logged_events(lines: list[str]) -> list[dict[str, Any]]:
    """A process's JSON log lines (the others left out)."""
    found = []
    for line in list(lines):
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return found


class Spawned:
    """A process the test starts, its output (stdout and stderr) kept line by line as it
    comes, so a full pipe never blocks it."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def output(self) -> str:
        return "".join(self.lines)


def projects_named_in(message: Any) -> str:
    """The projects a message is about, by its personal links' tokens (each names its
    project)."""
    body = message.get_body(("plain",))
    text = body.get_content() if body else ""
    found = []
    for token in re.findall(r"/p/([A-Za-z0-9_.-]+)", text):
        head = token.split(".")[0]
        try:
            found.append(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)).decode())
        except (ValueError, UnicodeDecodeError):
            continue
    return " ".join(found)


def message_ids(messages: list[Any], project_id: str) -> set[str]:
    """The distinct Message-IDs of a project's messages (a repeat shares its ID)."""
    return {m["Message-ID"] for m in messages if project_id in projects_named_in(m)}


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)
