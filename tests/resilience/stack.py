"""Alliance as a person runs it, for the resilience tests: the run command (`run_local.py`:
the Temporal dev server on its SQLite file, the worker, the API, the codec server and the
inbound mail service, each a process of its own) on free ports, and an SMTP catcher in a
process of its own, so that a test can kill any of them by its pid or close the mail port.
Partners act over HTTP as a careful client does: each action under its own Idempotency-Key,
sent again under that key while the answer is 202, 429 or 503 (after Retry-After) or the
connection fails."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from activities.mail.catcher import read_messages
from tests.api_helpers import COORD, ApiProject, addressed_body
from tests.conftest import COORDINATOR_CREDENTIAL
from tests.helpers import Spawned, free_port, logged_events, message_ids

ROOT = Path(__file__).resolve().parents[2]
PARTNERS = ["p1", "p2", "p3"]
# The longest wait between two tries of a failed delivery, for the projects these tests
# launch (ALLIANCE_NOTIFY_RETRY_MAX_SECONDS): an outage is over at most this long before the
# mail goes again.
RETRY_MAX_SECONDS = 5


class SmtpCatcher:
    """The mail server the worker sends to, as a process: killed, its port is closed."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self.spawned: Spawned | None = None

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "activities.mail.catcher",
            str(self.folder),
            str(self.port),
        ]
        self.spawned = Spawned(command, {**os.environ, "PYTHONUNBUFFERED": "1"}, ROOT)
        wait_until(lambda: "mail catcher on" in self.spawned.output(), 30, self.spawned.output)

    def kill(self) -> None:
        if self.spawned and self.spawned.process.poll() is None:
            self.spawned.process.kill()
            self.spawned.process.wait()

    def messages(self) -> list:
        return read_messages(self.folder)


# What the run command starts (run_local.py), by the name its log gives each.
CHILDREN = ("the Temporal dev server", "the worker", "the API", "the inbound mail service")


def gone(pid: int) -> bool:
    """No such process: not running, and not a zombie waiting to be reaped."""
    return not Path(f"/proc/{pid}").exists()


def wait_until(ready, seconds: float, why=lambda: "") -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, f"still waiting after {seconds} s\n{why()}"
        time.sleep(0.1)


class Alliance:
    """The run command on its own data directory, with its mail to `SmtpCatcher`."""

    def __init__(self, root: Path, *, data_dir: Path | None = None, **more: str) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir or root / "data"
        self.api_port, self.inbound_port = free_port(), free_port()
        self.catcher = SmtpCatcher(root / "mail", free_port())
        self.env = {
            **os.environ,
            "ALLIANCE_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
            "ALLIANCE_UI_PORT": str(free_port()),
            "ALLIANCE_API_PORT": str(self.api_port),
            "ALLIANCE_API_URL": f"http://127.0.0.1:{self.api_port}",
            "ALLIANCE_CODEC_PORT": str(free_port()),
            "ALLIANCE_WORKER_METRICS_PORT": str(free_port()),
            "ALLIANCE_DATA_DIR": str(self.data_dir),
            "ALLIANCE_TASK_QUEUE": "alliance-resilience",
            "ALLIANCE_COORDINATOR_CREDENTIALS": json.dumps({COORDINATOR_CREDENTIAL: "mda-lyon8"}),
            "ALLIANCE_NOTIFICATIONS": "email",
            "ALLIANCE_SMTP_HOST": "127.0.0.1",
            "ALLIANCE_SMTP_PORT": str(self.catcher.port),
            "ALLIANCE_MAIL_CATCHER": "false",  # the test's own, in a process it can kill
            "ALLIANCE_REPLY_DOMAIN": "localhost",
            "ALLIANCE_INBOUND_PORT": str(self.inbound_port),
            "ALLIANCE_MAIL_WINDOW_SECONDS": "0",
            "ALLIANCE_NOTIFY_RETRY_MAX_SECONDS": str(RETRY_MAX_SECONDS),
            "ALLIANCE_WEBHOOKS_ALLOW_LOOPBACK_HTTP": "true",
            "ALLIANCE_LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
            **more,
        }
        self.run: Spawned | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self) -> Alliance:
        self.catcher.start()
        self.run = Spawned([sys.executable, "run_local.py"], self.env, ROOT)

        def started() -> bool:
            assert self.run.process.poll() is None, f"the run command ended:\n{self.output()}"
            return "Stop with Ctrl-C" in self.output()

        try:
            wait_until(started, 120, self.output)
        except BaseException:  # nothing left running behind a run that did not start
            if self.run.process.poll() is None:
                self.run.process.kill()
            self.catcher.kill()
            raise
        return self

    def stop(self) -> None:
        """Ctrl-C, as a person stops it: the run ends cleanly, no child left behind."""
        self.catcher.kill()
        if self.run is None or self.run.process.poll() is not None:
            return
        self.run.process.send_signal(signal.SIGINT)
        try:
            self.run.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.run.process.kill()
            raise
        assert self.run.process.returncode == 0, self.output()
        children = [pid for name in CHILDREN for pid in self.pids(name)]
        wait_until(lambda: all(gone(pid) for pid in children), 10, self.output)

    def output(self) -> str:
        return self.run.output() if self.run else ""

    def events(self) -> list[dict[str, Any]]:
        """The run command's log lines (JSON)."""
        return logged_events(self.run.lines if self.run else [])

    def pids(self, name: str) -> list[int]:
        return [
            e["pid"]
            for e in self.events()
            if e.get("event") == "started" and e.get("process") == name
        ]

    def kill(self, name: str) -> None:
        """SIGKILL to the process's pid; the run command starts it again (as it would for
        anyone running Alliance), and this returns once it has."""
        before = self.pids(name)
        assert before, f"no {name} in\n{self.output()}"
        os.kill(before[-1], signal.SIGKILL)
        wait_until(lambda: len(self.pids(name)) > len(before), 30, self.output)
        wait_until(lambda: gone(before[-1]), 10, self.output)  # reaped, never left defunct
        assert {"process": name, "why": "killed by SIGKILL"} in [
            {"process": e.get("process"), "why": e.get("why")}
            for e in self.events()
            if e.get("event") == "restarting"
        ], self.output()


@dataclass
class Tally:
    """What the partners' clients saw: every action acknowledged, and the backpressure."""

    acknowledged: Counter = field(default_factory=Counter)
    backpressure: int = 0
    retried: int = 0
    # Connections refused or cut (the API down, or its answer lost on the way).
    dropped: int = 0

    @property
    def actions(self) -> int:
        return sum(self.acknowledged.values())


async def act(
    project: ApiProject, method: str, path: str, who: str, body: dict, tally: Tally
) -> dict[str, Any]:
    """One action as a careful client sends it: under one Idempotency-Key until recorded.
    Any 5xx other than 503 fails the test, and so does any refusal."""
    key = uuid.uuid4().hex
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            response = await project.call(method, path, who, body, key=key)
        except httpx.TransportError:  # the API is down, or the answer was lost on the way
            tally.retried += 1
            tally.dropped += 1
            await asyncio.sleep(0.5)
            continue
        if response.status_code in (200, 201):
            tally.acknowledged[path.split("/")[1]] += 1
            return response.json()
        if response.status_code in (202, 429, 503):
            assert response.status_code == 202 or "Retry-After" in response.headers, response
            tally.backpressure += response.status_code != 202
            tally.retried += 1
            await asyncio.sleep(min(float(response.headers.get("Retry-After", 1)), 2))
            continue
        raise AssertionError(f"{method} {path} as {who}: {response.status_code} {response.text}")
    raise AssertionError(f"{method} {path} as {who}: not recorded within 240 s")


async def launch(http: httpx.AsyncClient, tally: Tally, title: str = "Jardins") -> ApiProject:
    key = uuid.uuid4().hex
    for _ in range(240):
        try:
            response = await http.post(
                "/projects",
                json=addressed_body(title=title),
                headers={**COORD, "Idempotency-Key": key},
            )
        except httpx.TransportError:
            await asyncio.sleep(0.5)
            continue
        if response.status_code == 201:
            return ApiProject(http, response.json())
        assert response.status_code in (202, 429, 503), response.text
        await asyncio.sleep(0.5)
    raise AssertionError("the project was not launched")


async def a_decision(project: ApiProject, tally: Tally) -> None:
    """From the diagnosis to the plan adopted: eight actions, each with a text of its own."""
    await the_diagnosis(project, tally)
    await rest_of_the_decision(project, tally)


async def the_diagnosis(project: ApiProject, tally: Tally) -> None:
    """Each partner's contribution, with a text of its own: the diagnosis closes."""
    for pid in PARTNERS:
        body = {"kind": "need", "text": f"besoin de {pid} pour {project.id}"}
        await act(project, "POST", "/contributions", pid, body, tally)


async def the_plan(project: ApiProject, tally: Tally) -> None:
    """A proposal, and the facilitator's plan of it: the decision opens."""
    proposal = await act(
        project, "POST", "/proposals", "p1", {"title": "Jardin", "description": "Des bacs"}, tally
    )
    plan = {"proposal_ids": [proposal["item_id"]], "summary": "Plan"}
    await act(project, "POST", "/plan", "fac", plan, tally)


async def rest_of_the_decision(project: ApiProject, tally: Tally) -> None:
    """From the co-design to the plan adopted by every partner."""
    await the_plan(project, tally)
    for pid in PARTNERS:
        await act(project, "PUT", "/answer", pid, {"kind": "consent"}, tally)


async def events_of(project: ApiProject) -> list[dict[str, Any]]:
    for _ in range(120):
        try:
            response = await project.call(
                "GET", "/events?after=0&limit=1000", "coordinator-credential"
            )
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code == 200:
            return [e["data"] for e in response.json()["events"]]
        await asyncio.sleep(0.5)
    raise AssertionError(f"no events for {project.id}")


async def assert_recorded_once(project: ApiProject) -> None:
    """Each partner action of `a_decision` is one event, and the project moved on."""
    events = await events_of(project)
    types = Counter(e["type"] for e in events)
    texts = Counter(e["contribution"]["text"] for e in events if e["type"] == "contribution_added")
    for pid in PARTNERS:
        assert texts[f"besoin de {pid} pour {project.id}"] == 1, (project.id, texts)
    answers = Counter(e.get("participant_id") for e in events if e["type"] == "answer_given")
    assert answers == Counter(PARTNERS), (project.id, answers)
    assert types["proposal_submitted"] == 1 and types["plan_submitted"] == 1, types
    assert types["decision_reached"] == 1, types


async def settled(count: Callable[[], int], at_least: int, seconds: float = 60) -> int:
    """A count once it reached `at_least` and stayed the same for two seconds (on two busy
    cores the last messages may be slow)."""
    deadline = time.monotonic() + seconds
    seen, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = count()
        if now != seen:
            seen, since = now, time.monotonic()
        elif seen >= at_least and time.monotonic() - since >= 2:
            return seen
        await asyncio.sleep(0.2)
    raise AssertionError(f"{seen}, not settled at {at_least} or more after {seconds} s")


async def settled_count(catcher: SmtpCatcher, project: ApiProject, at_least: int) -> int:
    """How many distinct messages a project sent, once they stopped coming."""
    return await settled(lambda: len(message_ids(catcher.messages(), project.id)), at_least)


async def wait_for_mail(
    catcher: SmtpCatcher, projects: list[ApiProject], each: int, seconds: float
):
    """Until each project's distinct Message-IDs reach `each`; fails past `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        messages = catcher.messages()
        counts = {p.id: len(message_ids(messages, p.id)) for p in projects}
        if all(n >= each for n in counts.values()):
            break
        assert time.monotonic() < deadline, f"not {each} messages each after {seconds} s: {counts}"
        await asyncio.sleep(0.5)
    await asyncio.sleep(1)  # a message sent twice would come now
    return catcher.messages()
