"""Alliance against bare Temporal, in the same run, on the same dev server and worker.

    .venv/bin/python bench/run.py --quick      # about a minute
    .venv/bin/python bench/run.py              # the full run (issue 4's sizes)

Starts its own Temporal dev server (SQLite file in a temporary folder), one worker process
that registers Alliance (payloads encrypted), Alliance without the codec and the bare baseline
with the same options, and the API in its own process (uvicorn), twice: with and without the
codec. Prints a table and one JSON line. Each figure is the median of the repetitions with
min and max; "ratio" compares Alliance as it runs (encrypted) with bare Temporal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from temporalio.client import Client  # noqa: E402

import temporal_client  # noqa: E402
from bench.bare import BareLifecycle, BareMailLifecycle  # noqa: E402
from bench.bench_worker import PLAIN  # noqa: E402
from codec import new_key  # noqa: E402
from run_local import dev_server_command, wait_for_server  # noqa: E402
from settings import Settings  # noqa: E402

CREDENTIAL = "bench-coordinator"
AUTH = {"Authorization": f"Bearer {CREDENTIAL}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "n": len(ordered)}


def project_body(partners: int, *, decision_stays_open: bool = False, title: str = "Bench") -> dict:
    long = {"duration": "P60D"}
    return {
        "title": title,
        "territory": "Bench",
        "participants": [
            {
                "id": "coord",
                "organisation_name": "Coordination",
                "organisation_id": "bench-org",
                "role": "coordinator",
                "email": "coord@bench.example",
            },
            {
                "id": "fac",
                "organisation_name": "Facilitation",
                "organisation_id": "fac",
                "role": "facilitator",
                "email": "fac@bench.example",
            },
        ]
        + [
            {
                "id": f"p{n}",
                "organisation_name": f"Partner {n}",
                "organisation_id": f"o{n}",
                "role": "partner",
                # Everyone has an address: every notification is a real e-mail.
                "email": f"p{n}@bench.example",
            }
            for n in range(1, partners + 1)
        ],
        "process": {
            "diagnosis": long,
            "co_design": long,
            "decision": {**long, "close_when_complete": not decision_stays_open},
            "action": {"duration": "PT0S"},
            "evaluation": long,
        },
    }


class Response:
    def __init__(self, status_code: int, text: str) -> None:
        self.status_code = status_code
        self.text = text

    def json(self) -> Any:
        return json.loads(self.text)


class Http:
    """The load generator's HTTP client. aiohttp costs the driver about a third of httpx's
    CPU per request; on 2 cores the driver competes with what it measures."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=200),
            timeout=aiohttp.ClientTimeout(total=120),
        )

    async def request(
        self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> Response:
        for attempt in (1, 2):
            try:
                async with self.session.request(
                    method, self.base_url + path, json=json, headers=headers
                ) as r:
                    return Response(r.status, await r.text())
            except (
                aiohttp.ClientConnectionResetError,
                aiohttp.ServerDisconnectedError,
                aiohttp.ClientOSError,  # "Can not write request body": the same, caught later
            ):
                # A kept-alive connection the server had just closed: the request never
                # reached it, so sending it again is no retry of Alliance's work.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def session_cookie(self, link: str) -> str:
        """The page session a personal link sets (sent by hand: the jar keeps no cookie
        for an IP address)."""
        async with self.session.get(self.base_url + link, allow_redirects=False) as r:
            assert r.status == 303, r.status
            return "; ".join(c.split(";", 1)[0] for c in r.headers.getall("Set-Cookie"))

    async def put(
        self, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> Response:
        return await self.request("PUT", path, json=json, headers=headers)

    async def get(self, path: str) -> Response:
        return await self.request("GET", path)

    async def close(self) -> None:
        await self.session.close()


async def bare_actions(handle: Any, update: Any, partners: int) -> None:
    """A baseline lifecycle's actions, in Alliance's order and concurrency, then its end."""
    act = lambda kind: handle.execute_update(update, kind)  # noqa: E731
    await asyncio.gather(*(act("contribution") for _ in range(partners)))
    await asyncio.gather(*(act("proposal") for _ in range(partners)))
    await act("plan")
    await asyncio.gather(*(act("answer") for _ in range(partners)))
    await asyncio.gather(*(act("assessment") for _ in range(partners)))
    await act("conclusion")
    await handle.result()


class Bench:
    def __init__(
        self, http: Http, client: Client, task_queue: str, bare_client: Client | None = None
    ) -> None:
        self.http = http
        self.client = client
        self.task_queue = task_queue
        # Bare Temporal: plain payloads, on the plain queue.
        self.bare_client = bare_client or client
        self.bare_queue = task_queue if bare_client is None else task_queue + PLAIN
        # One finished lifecycle of each, to count its history.
        self.last_alliance = ""
        self.last_bare = ""
        # bare+mail sends as many messages per lifecycle as Alliance's catcher received, of
        # their mean size.
        self.messages_per_lifecycle = 0
        self.message_bytes = 10_000

    async def call(self, method: str, path: str, token: str, body: Any = None) -> dict:
        response = await self.http.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        # A 202 is an action not yet recorded: for a measure, as much a failure as an error.
        if response.status_code >= 400 or response.status_code == 202:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    async def launch(self, body: dict) -> tuple[str, dict[str, str]]:
        launched = await self.call("POST", "/projects", CREDENTIAL, body)
        return launched["project_id"], {p["id"]: p["token"] for p in launched["participants"]}

    # -- one lifecycle each ------------------------------------------------------------------

    async def alliance_lifecycle(self, partners: int) -> int:
        pid, tokens = await self.launch(project_body(partners))
        base = f"/projects/{pid}"
        ids = [f"p{n}" for n in range(1, partners + 1)]
        await asyncio.gather(
            *(
                self.call(
                    "POST", f"{base}/contributions", tokens[p], {"kind": "need", "text": "besoin"}
                )
                for p in ids
            )
        )
        proposals = await asyncio.gather(
            *(
                self.call(
                    "POST",
                    f"{base}/proposals",
                    tokens[p],
                    {
                        "title": "Proposition",
                        "description": "d",
                        "indicators": [{"name": f"ind {p}"}],
                    },
                )
                for p in ids
            )
        )
        await self.call(
            "POST",
            f"{base}/plan",
            tokens["fac"],
            {"proposal_ids": [r["item_id"] for r in proposals], "summary": "plan"},
        )
        await asyncio.gather(
            *(self.call("PUT", f"{base}/answer", tokens[p], {"kind": "consent"}) for p in ids)
        )
        indicators = [f"{r['item_id']}.i1" for r in proposals]
        await asyncio.gather(
            *(
                self.call(
                    "POST",
                    f"{base}/assessments",
                    tokens[p],
                    {"scores": [{"indicator_id": i, "score": 4} for i in indicators]},
                )
                for p in ids
            )
        )
        # Since 1.2 the facilitator's conclusion closes the evaluation (bare does one more act).
        await self.call("POST", f"{base}/outcome", tokens["fac"], {"text": "Conclusion"})
        await self.client.get_workflow_handle(temporal_client.workflow_id(pid)).result()
        self.last_alliance = temporal_client.workflow_id(pid)
        return 1 + 4 * partners + 2

    async def bare_lifecycle(self, partners: int) -> int:
        actions = 4 * partners + 2
        handle = await self.bare_client.start_workflow(
            BareLifecycle.run, actions, id=f"bare-{uuid.uuid4().hex}", task_queue=self.bare_queue
        )
        await bare_actions(handle, BareLifecycle.act, partners)
        self.last_bare = handle.id
        return 1 + actions

    async def bare_mail_lifecycle(self, partners: int) -> int:
        """Bare, plus the mail: one activity per action sending its share of the messages."""
        actions = 4 * partners + 2
        handle = await self.bare_client.start_workflow(
            BareMailLifecycle.run,
            args=[actions, self.messages_per_lifecycle, self.message_bytes],
            id=f"bare-mail-{uuid.uuid4().hex}",
            task_queue=self.bare_queue,
        )
        await bare_actions(handle, BareMailLifecycle.act, partners)
        return 1 + actions

    # -- measurements ------------------------------------------------------------------------

    async def throughput(
        self, lifecycle: Callable[[int], Awaitable[int]], projects: int, partners: int
    ) -> dict[str, float]:
        started = time.perf_counter()
        actions = await asyncio.gather(*(lifecycle(partners) for _ in range(projects)))
        elapsed = time.perf_counter() - started
        return {"lifecycles_per_s": projects / elapsed, "actions_per_s": sum(actions) / elapsed}

    async def decision_open(self, partners: int, title: str) -> tuple[str, dict[str, str]]:
        """A project waiting on a decision that stays open until its deadline."""
        pid, tokens = await self.launch(
            project_body(partners, decision_stays_open=True, title=title)
        )
        base = f"/projects/{pid}"
        await asyncio.gather(
            *(
                self.call(
                    "POST", f"{base}/contributions", tokens[f"p{n}"], {"kind": "need", "text": "x"}
                )
                for n in range(1, partners + 1)
            )
        )
        proposal = await self.call(
            "POST", f"{base}/proposals", tokens["p1"], {"title": "t", "description": "d"}
        )
        await self.call(
            "POST",
            f"{base}/plan",
            tokens["fac"],
            {"proposal_ids": [proposal["item_id"]], "summary": "s"},
        )
        return base, tokens

    async def answer_latencies(self, samples: int) -> list[float]:
        base, tokens = await self.decision_open(1, "Latency")
        latencies = []
        for n in range(samples):
            kind = "consent" if n % 2 else "abstain"
            started = time.perf_counter()
            await self.call("PUT", f"{base}/answer", tokens["p1"], {"kind": kind})
            latencies.append((time.perf_counter() - started) * 1000)
        await self.call("POST", f"{base}/cancel", CREDENTIAL, {"reason": "bench over"})
        return latencies

    async def page_latencies(self, samples: int) -> dict[str, list[float]]:
        """A participant's page against its JSON view, on the same project, alternately."""
        base, tokens = await self.decision_open(3, "Page")
        cookie = await self.http.session_cookie(f"/p/{tokens['p1']}")
        page_path = base.replace("/projects/", "/projets/")
        timings: dict[str, list[float]] = {"page": [], "json": []}
        for _ in range(samples):
            for kind, path, headers in (
                ("page", page_path, {"Cookie": cookie}),
                ("json", base, {"Authorization": f"Bearer {tokens['p1']}"}),
            ):
                started = time.perf_counter()
                response = await self.http.request("GET", path, headers=headers)
                timings[kind].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.status_code)
        await self.call("POST", f"{base}/cancel", CREDENTIAL, {"reason": "bench over"})
        return timings

    async def bare_latencies(self, samples: int) -> list[float]:
        handle = await self.bare_client.start_workflow(
            BareLifecycle.run,
            samples,
            id=f"bare-latency-{uuid.uuid4().hex}",
            task_queue=self.bare_queue,
        )
        latencies = []
        for _ in range(samples):
            started = time.perf_counter()
            await handle.execute_update(BareLifecycle.act, "proposal")
            latencies.append((time.perf_counter() - started) * 1000)
        await handle.result()
        return latencies

    async def history_of(self, workflow_id: str) -> tuple[int, int]:
        """How many events one lifecycle wrote, and their bytes as Temporal stores them
        (payloads as sent: encrypted for Alliance)."""
        history = await self.client.get_workflow_handle(workflow_id).fetch_history()
        kinds: Counter[str] = Counter()
        size: Counter[str] = Counter()
        for e in history.events:
            name = e.WhichOneof("attributes").removesuffix("_event_attributes")
            kinds[name] += 1
            if e.HasField("activity_task_scheduled_event_attributes"):
                name += ":" + e.activity_task_scheduled_event_attributes.activity_type.name
            size[name] += e.ByteSize()
        print(f"history of {workflow_id}: {dict(kinds.most_common())}", file=sys.stderr)
        print(f"bytes of {workflow_id}: {dict(size.most_common())}", file=sys.stderr)
        return len(history.events), sum(size.values())

    async def burst(self, partners: int) -> dict[str, float]:
        base, tokens = await self.decision_open(partners, "Burst")
        ids = [f"p{n}" for n in range(1, partners + 1)]
        started = time.perf_counter()
        responses = await asyncio.gather(
            *(
                self.http.put(
                    f"{base}/answer",
                    json={"kind": "consent"},
                    headers={"Authorization": f"Bearer {tokens[p]}"},
                )
                for p in ids
            )
        )
        while len((await self.call("GET", base, CREDENTIAL))["answers"]) < partners:
            await asyncio.sleep(0.01)
        visible = time.perf_counter() - started
        errors = sum(1 for r in responses if r.status_code != 200)
        return {"recorded": partners - errors, "errors": errors, "seconds_to_last_visible": visible}

    async def waiting(self, projects: int, concurrency: int) -> float:
        gate = asyncio.Semaphore(concurrency)

        async def one(n: int) -> None:
            async with gate:
                await self.launch(project_body(3, title=f"Waiting {n}"))

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(projects)))
        return projects / (time.perf_counter() - started)


async def waiting_curve(
    bench: Bench, projects: int, concurrency: int, pids: dict[str, int], data: Path
) -> list[dict[str, Any]]:
    """Many waiting projects, launched in ten steps. After each step: the step's launches/s,
    each process's resident memory, the dev server's SQLite files, and the answer p50 of a
    partner on the first waiting project (20 contributions, one at a time): where it bends."""
    first, tokens = await bench.launch(project_body(3, title="Watched"))

    async def contribution_ms(text: str) -> float:
        """A partner's contribution on the watched project, timed."""
        began = time.perf_counter()
        await bench.call(
            "POST", f"/projects/{first}/contributions", tokens["p1"], {"kind": "need", "text": text}
        )
        return (time.perf_counter() - began) * 1000

    points = []
    step = max(1, projects // 10)
    launched = 0
    while launched < projects:
        size = min(step, projects - launched)
        # A partner answers on the watched project while the step's launches go: every 100 ms,
        # one at a time (the answer p99 during the wave).
        during: list[float] = []
        done = asyncio.Event()

        async def answering(
            step_no: int = launched, done: asyncio.Event = done, during: list[float] = during
        ) -> None:
            n = 0
            while not done.is_set():
                during.append(await contribution_ms(f"pendant {step_no}-{n}"))
                n += 1
                await asyncio.sleep(0.1)

        answers = asyncio.create_task(answering())
        rate = await bench.waiting(size, concurrency)
        done.set()
        await answers
        launched += size
        samples = [await contribution_ms(f"besoin {launched}-{n}") for n in range(20)]
        sqlite = sum(f.stat().st_size for f in data.glob("temporal.db*") if f.is_file()) / 2**20
        point = {
            "waiting": launched,
            "launches_per_s": round(rate, 1),
            "answer_p50_ms": round(statistics.median(samples), 1),
            # During the step's launch wave (nearest rank).
            "answer_during_wave_p50_ms": round(percentiles(during)["p50"], 1),
            "answer_during_wave_p99_ms": round(percentiles(during)["p99"], 1),
            "answers_during_wave": len(during),
            "sqlite_mb": round(sqlite, 1),
            **{f"{name}_rss_mb": round(rss_mb(pid), 1) for name, pid in pids.items()},
        }
        print(json.dumps(point), flush=True)
        points.append(point)
    return points


async def profile(bench: Bench, args: argparse.Namespace, pids: dict[str, int]) -> None:
    """Where the time goes under the throughput load: py-spy on the worker and the API."""
    spies = [
        subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(args.profile_seconds),
                "--format",
                "speedscope",
                "--output",
                f"/tmp/alliance-profile-{name}.json",
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    ]
    ends = time.monotonic() + args.profile_seconds
    while time.monotonic() < ends:
        await bench.throughput(bench.alliance_lifecycle, args.projects, args.partners)
    for spy in spies:
        spy.wait()
    print("profiles: /tmp/alliance-profile-{worker,api}.json (speedscope)")


class SpanSink:
    """A local OTLP/HTTP endpoint that accepts every export and counts its bytes: tracing's
    cost on the worker and the API, not a collector's."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        sink = self
        self.exports = 0
        self.bytes = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                sink.bytes += len(self.rfile.read(int(self.headers["Content-Length"])))
                sink.exports += 1
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def start(
    args: list[str], env: dict[str, str], ready: str | None = None, log: Path | None = None
) -> subprocess.Popen:
    """A process of the run. Its output goes to a log file (a pipe nobody reads would block
    it once full), or is read until it says it is ready."""
    if log is not None:
        with log.open("w") as out:
            process = subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        give_up = time.monotonic() + 120
        while ready and ready not in log.read_text():
            if process.poll() is not None or time.monotonic() > give_up:
                raise SystemExit(f"{args[1]} exited:\n{log.read_text()}")
            time.sleep(0.1)
        return process
    process = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    if ready:
        output = ""
        while ready not in output:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                raise SystemExit(f"{args[1]} exited:\n{output}")
            output += line
    return process


async def main(args: argparse.Namespace) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="alliance-bench-"))
    grpc, api_port, plain_port, smtp_port = free_port(), free_port(), free_port(), free_port()
    keys = {"bench": new_key()}
    settings = Settings(
        data_dir=data,
        temporal_address=f"127.0.0.1:{grpc}",
        task_queue="bench",
        ui_port=free_port(),
        codec_keys=keys,
    )
    env = {
        **os.environ,
        "ALLIANCE_TEMPORAL_ADDRESS": settings.temporal_address,
        "ALLIANCE_TASK_QUEUE": settings.task_queue,
        "ALLIANCE_DATA_DIR": str(data),
        "ALLIANCE_TOKEN_SECRET": "bench-secret",
        "ALLIANCE_COORDINATOR_CREDENTIALS": json.dumps({CREDENTIAL: "bench-org"}),
        "ALLIANCE_RPC_TIMEOUT_SECONDS": "30",
        "ALLIANCE_CODEC_KEYS": json.dumps(keys),
        # E-mail through SMTP to a local server (the mail catcher, in its own process), or
        # the outbox's JSON lines (the adapter before e-mail), to compare.
        "ALLIANCE_NOTIFICATIONS": args.notifications,
        "ALLIANCE_SMTP_PORT": str(smtp_port),
        # How long a project holds its news before telling it, grouped (the setting's default
        # unless --mail-window says otherwise).
        "ALLIANCE_MAIL_WINDOW_SECONDS": str(args.mail_window),
        # --mail-worker: the projects' mail from a mail worker process of its own.
        **({"ALLIANCE_MAIL_WORKER": "true"} if args.mail_worker else {}),
        # What ops have in production: JSON log lines to a file, the worker's metrics endpoint
        # (the API's /metrics is always there), traces when --tracing says so.
        "ALLIANCE_LOG_FORMAT": "json",
        "ALLIANCE_WORKER_METRICS_PORT": str(free_port()),
    }
    sink = None
    if args.tracing:
        sink = SpanSink()
        env["ALLIANCE_OTLP_ENDPOINT"] = sink.endpoint
    server = subprocess.Popen(
        [*dev_server_command(settings), "--headless"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    processes = [server]
    catcher = None
    try:
        if args.notifications == "email":
            catcher = start(
                [
                    *(sys.executable, "-m", "activities.mail.catcher"),
                    *(str(data / "mail"), str(smtp_port), "--count-only"),
                ],
                env,
                ready="mail catcher on",
            )
            processes.append(catcher)
        client = await wait_for_server(settings, server)
        worker = start(
            [sys.executable, "bench/bench_worker.py"],
            env,
            ready="worker ready",
            log=data / "worker.log",
        )
        processes.append(worker)
        mail_worker = None
        if args.mail_worker:
            mail_worker = start(
                [sys.executable, "-m", "worker", "--mail"],
                {**env, "ALLIANCE_WORKER_METRICS_PORT": str(free_port())},
                ready="worker started",
                log=data / "mail-worker.log",
            )
            processes.append(mail_worker)
        api = start(
            [sys.executable, "-m", "api"],
            {**env, "ALLIANCE_API_PORT": str(api_port)},
            log=data / "api.log",
        )
        processes.append(api)
        plain_api = start(
            [sys.executable, "bench/plain_api.py", str(plain_port)],
            # Its projects send from their own (plain) worker: the mail worker encrypts.
            {
                **{k: v for k, v in env.items() if k != "ALLIANCE_MAIL_WORKER"},
                "ALLIANCE_TASK_QUEUE": settings.task_queue + PLAIN,
            },
            log=data / "plain-api.log",
        )
        processes.append(plain_api)
        plain_client = await Client.connect(
            settings.temporal_address, data_converter=temporal_client.DATA_CONVERTER
        )
        http = Http(f"http://127.0.0.1:{api_port}")
        plain_http = Http(f"http://127.0.0.1:{plain_port}")
        try:
            for each in (http, plain_http):
                for _ in range(200):
                    try:
                        if (await each.get("/readyz")).status_code == 200:
                            break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.1)
            bench = Bench(http, client, settings.task_queue, bare_client=plain_client)
            # The same Alliance without the payload codec: what encryption costs.
            plain = Bench(plain_http, plain_client, settings.task_queue + PLAIN)
            results: dict[str, Any] = {}
            # Warm both paths (imports, caches, connections) before measuring anything; the
            # warm-up's mail gives bare+mail its first count of messages per lifecycle.
            received = data / "mail" / "received.log"
            before_mail = _received(received)
            await bench.throughput(bench.alliance_lifecycle, 3, args.partners)
            await asyncio.sleep(1)  # the last messages of the last lifecycle
            bench.messages_per_lifecycle = round((_received(received) - before_mail) / 3)
            bench.message_bytes = _mean_size(received, before_mail)
            await bench.throughput(bench.bare_lifecycle, 3, args.partners)
            if catcher is not None:
                await bench.throughput(bench.bare_mail_lifecycle, 3, args.partners)
            await plain.throughput(plain.alliance_lifecycle, 3, args.partners)

            if args.profile_seconds:
                await profile(bench, args, {"worker": worker.pid, "api": api.pid})
                return {}
            alliance_runs: list[dict[str, float]] = []
            bare_runs: list[dict[str, float]] = []
            bare_mail_runs: list[dict[str, float]] = []
            plain_runs: list[dict[str, float]] = []
            alliance_messages = 0
            pids = {
                "server": server.pid,
                "worker": worker.pid,
                "api": api.pid,
                "driver": os.getpid(),
            }
            if catcher is not None:
                # The local mail server receiving every message competes for the same 2 cores.
                pids["mail"] = catcher.pid
            if mail_worker is not None:
                pids["mail_worker"] = mail_worker.pid
            cpu: dict[str, Counter[str]] = {
                "alliance": Counter(),
                "bare": Counter(),
                "bare_mail": Counter(),
                "alliance_plain": Counter(),
            }
            sides = [
                ("alliance", alliance_runs, bench.alliance_lifecycle),
                ("bare", bare_runs, bench.bare_lifecycle),
                ("alliance_plain", plain_runs, plain.alliance_lifecycle),
            ]
            if catcher is not None:
                sides.insert(2, ("bare_mail", bare_mail_runs, bench.bare_mail_lifecycle))
            for _ in range(args.repeat):  # interleaved, so drift hits all alike
                for name, runs, lifecycle in sides:
                    before = {k: cpu_seconds(pid) for k, pid in pids.items()}
                    mail_before = _received(received)
                    runs.append(await bench.throughput(lifecycle, args.projects, args.partners))
                    for k, pid in pids.items():
                        spent = (cpu_seconds(pid) - before[k]) * 1000
                        cpu[name][k] += spent / (args.projects * args.repeat)
                    if name == "alliance":
                        await asyncio.sleep(1)  # the last lifecycle's last messages
                        sent = _received(received) - mail_before
                        alliance_messages += sent
                        # bare+mail, next, sends what Alliance just did.
                        bench.messages_per_lifecycle = round(sent / args.projects)
                        bench.message_bytes = _mean_size(received, mail_before)
            ratios = [
                a["lifecycles_per_s"] / b["lifecycles_per_s"]
                for a, b in zip(alliance_runs, bare_runs, strict=True)
            ]
            mail_ratios = [
                a["lifecycles_per_s"] / b["lifecycles_per_s"]
                for a, b in zip(alliance_runs, bare_mail_runs, strict=False)
            ]
            results["throughput"] = {
                "alliance_lifecycles_per_s": summary(
                    [r["lifecycles_per_s"] for r in alliance_runs]
                ),
                "bare_lifecycles_per_s": summary([r["lifecycles_per_s"] for r in bare_runs]),
                "bare_mail_lifecycles_per_s": summary(
                    [r["lifecycles_per_s"] for r in bare_mail_runs] or [0.0]
                ),
                "ratio_mail": summary(mail_ratios or [0.0]),
                "alliance_actions_per_s": summary([r["actions_per_s"] for r in alliance_runs]),
                "bare_actions_per_s": summary([r["actions_per_s"] for r in bare_runs]),
                "ratio": summary(ratios),
                # Where the time goes: CPU milliseconds per lifecycle, per process.
                "cpu_ms_per_lifecycle": {
                    k: {p: round(v, 1) for p, v in c.items()} for k, c in cpu.items()
                },
            }

            alone_a, alone_b, alone_plain = [], [], []
            for _ in range(args.repeat):
                alone_a.append(percentiles(await bench.answer_latencies(args.samples)))
                alone_b.append(percentiles(await bench.bare_latencies(args.samples)))
                alone_plain.append(percentiles(await plain.answer_latencies(args.samples)))
            results["codec"] = {
                "encrypted_lifecycles_per_s": summary(
                    [r["lifecycles_per_s"] for r in alliance_runs]
                ),
                "plain_lifecycles_per_s": summary([r["lifecycles_per_s"] for r in plain_runs]),
                "throughput_ratio": summary(
                    [
                        a["lifecycles_per_s"] / p["lifecycles_per_s"]
                        for a, p in zip(alliance_runs, plain_runs, strict=True)
                    ]
                ),
                "answer_p50_ratio": summary(
                    [a["p50"] / p["p50"] for a, p in zip(alone_a, alone_plain, strict=True)]
                ),
            }
            load = asyncio.create_task(
                bench.throughput(bench.alliance_lifecycle, args.projects, args.partners)
            )
            # Both sampled side by side while the same load runs.
            loaded = await asyncio.gather(
                bench.answer_latencies(args.samples), bench.bare_latencies(args.samples)
            )
            loaded_a, loaded_b = (percentiles(samples) for samples in loaded)
            await load
            # A participant's page against its JSON view, under the same lifecycle load.
            load = asyncio.create_task(
                bench.throughput(bench.alliance_lifecycle, args.projects, args.partners)
            )
            pages = await bench.page_latencies(args.samples)
            await load
            page, view = percentiles(pages["page"]), percentiles(pages["json"])
            results["page_render_ms"] = {
                "page": page,
                "json_view": view,
                "p50_ratio": page["p50"] / view["p50"],
            }
            results["latency_ms"] = {
                "alone_alliance": {
                    k: summary([r[k] for r in alone_a]) for k in ("p50", "p95", "p99")
                },
                "alone_bare": {k: summary([r[k] for r in alone_b]) for k in ("p50", "p95", "p99")},
                "p50_ratio": summary(
                    [a["p50"] / b["p50"] for a, b in zip(alone_a, alone_b, strict=True)]
                ),
                "loaded_alliance": loaded_a,
                "loaded_bare": loaded_b,
            }

            alliance_events, alliance_bytes = await bench.history_of(bench.last_alliance)
            bare_events, bare_bytes = await bench.history_of(bench.last_bare)
            results["history_events_per_lifecycle"] = {
                "alliance": alliance_events,
                "bare": bare_events,
            }
            results["history_bytes_per_lifecycle"] = {
                "alliance": alliance_bytes,
                "bare": bare_bytes,
            }

            bursts = [await bench.burst(args.burst) for _ in range(args.repeat)]
            results["burst"] = {
                "partners": args.burst,
                "recorded": min(b["recorded"] for b in bursts),
                "errors": max(b["errors"] for b in bursts),
                "seconds_to_last_visible": summary([b["seconds_to_last_visible"] for b in bursts]),
            }

            if args.hundred_thousand:
                pids = {"worker": worker.pid, "dev_server": server.pid, "api": api.pid}
                if mail_worker is not None:
                    pids["mail_worker"] = mail_worker.pid
                curve = await waiting_curve(bench, args.waiting, args.concurrency, pids, data)
                results["waiting_curve"] = curve
                rate = statistics.harmonic_mean([p["launches_per_s"] for p in curve])
            else:
                rate = await bench.waiting(args.waiting, args.concurrency)
            await asyncio.sleep(2)  # let the worker settle before reading memory
            results["waiting"] = {
                "projects": args.waiting,
                "launches_per_s": rate,
                "worker_rss_mb": rss_mb(worker.pid),
                "dev_server_rss_mb": rss_mb(server.pid),
                "api_rss_mb": rss_mb(api.pid),
            }
            results["telemetry"] = {
                "metrics": True,
                "tracing": sink is not None,
                "span_exports": sink.exports if sink else 0,
                "span_kib": round(sink.bytes / 1024, 1) if sink else 0,
            }
            results["mail"] = {
                "notifications": args.notifications,
                "messages_received": _received(data / "mail" / "received.log"),
                # Alliance's own, counted in its measured runs (bare+mail sends as many).
                "messages_per_lifecycle": round(
                    alliance_messages / max(1, args.projects * args.repeat), 1
                ),
                "mean_message_bytes": bench.message_bytes,
                "window_seconds": args.mail_window,
            }
            results["machine"] = {
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "date": datetime.now().date().isoformat(),
                "args": vars(args),
            }
            return results
        finally:
            await http.close()
            await plain_http.close()
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _received(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def _mean_size(log: Path, after: int) -> int:
    """The mean size of the messages received since the first `after` (the catcher's log says
    each one's recipients and bytes)."""
    lines = log.read_text().splitlines()[after:] if log.exists() else []
    sizes = [int(line.split()[1]) for line in lines if len(line.split()) == 2]
    return round(sum(sizes) / len(sizes)) if sizes else 10_000


def fmt(s: dict[str, float], digits: int = 2) -> str:
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def print_table(r: dict[str, Any]) -> None:
    t, lat, h, b, w = (
        r["throughput"],
        r["latency_ms"],
        r["history_events_per_lifecycle"],
        r["burst"],
        r["waiting"],
    )
    c = r["codec"]
    rows = [
        (
            "lifecycles/s",
            fmt(t["alliance_lifecycles_per_s"]),
            fmt(t["bare_lifecycles_per_s"]),
            f"ratio {fmt(t['ratio'])} (target ≥ 1.0)",
        ),
        (
            "lifecycles/s against bare+mail",
            fmt(t["alliance_lifecycles_per_s"]),
            f"{fmt(t['bare_mail_lifecycles_per_s'])} (bare+mail)",
            f"ratio {fmt(t['ratio_mail'])} (target ≥ 1.0); "
            f"{r['mail'].get('messages_per_lifecycle', 0)} messages per lifecycle each",
        ),
        ("actions/s", fmt(t["alliance_actions_per_s"], 1), fmt(t["bare_actions_per_s"], 1), ""),
        (
            "answer p50 alone, ms",
            fmt(lat["alone_alliance"]["p50"], 1),
            fmt(lat["alone_bare"]["p50"], 1),
            f"ratio {fmt(lat['p50_ratio'])} (target ≤ 1.2)",
        ),
        (
            "answer p95 alone, ms",
            fmt(lat["alone_alliance"]["p95"], 1),
            fmt(lat["alone_bare"]["p95"], 1),
            "",
        ),
        (
            "answer p99 alone, ms",
            fmt(lat["alone_alliance"]["p99"], 1),
            fmt(lat["alone_bare"]["p99"], 1),
            "",
        ),
        (
            "answer p50/p95/p99 under load, ms",
            "/".join(f"{lat['loaded_alliance'][k]:.0f}" for k in ("p50", "p95", "p99")),
            "/".join(f"{lat['loaded_bare'][k]:.0f}" for k in ("p50", "p95", "p99")),
            "",
        ),
        (
            "participant page vs JSON view p50 under load, ms",
            f"{r['page_render_ms']['page']['p50']:.1f}",
            f"{r['page_render_ms']['json_view']['p50']:.1f} (JSON view)",
            f"ratio {r['page_render_ms']['p50_ratio']:.2f} (goal ≤ 1.5)",
        ),
        (
            "notifications",
            f"{r['mail']['notifications']}: {r['mail']['messages_received']} messages received",
            "",
            "e-mail through SMTP to a local server, or the outbox",
        ),
        (
            "history events per lifecycle",
            str(h["alliance"]),
            str(h["bare"]),
            "target: Alliance ≤ bare",
        ),
        (
            "history KiB per lifecycle",
            f"{r['history_bytes_per_lifecycle']['alliance'] / 1024:.1f}",
            f"{r['history_bytes_per_lifecycle']['bare'] / 1024:.1f}",
            "events' bytes as stored (Alliance's payloads encrypted)",
        ),
        (
            f"burst of {b['partners']} answers",
            f"{b['recorded']} recorded, {b['errors']} errors",
            "",
            f"last visible after {fmt(b['seconds_to_last_visible'])} s",
        ),
        (
            "CPU ms per lifecycle",
            " ".join(f"{k}={v:.0f}" for k, v in t["cpu_ms_per_lifecycle"]["alliance"].items()),
            " ".join(f"{k}={v:.0f}" for k, v in t["cpu_ms_per_lifecycle"]["bare"].items()),
            "by process",
        ),
        (
            "CPU ms per lifecycle, bare+mail",
            "",
            " ".join(
                f"{k}={v:.0f}" for k, v in t["cpu_ms_per_lifecycle"].get("bare_mail", {}).items()
            ),
            "every process, the mail catcher included",
        ),
        (
            "encrypted vs plain payloads",
            f"{fmt(c['encrypted_lifecycles_per_s'])} lifecycles/s encrypted",
            f"{fmt(c['plain_lifecycles_per_s'])} plain (Alliance)",
            f"throughput ratio {fmt(c['throughput_ratio'])}, answer p50 ratio {fmt(c['answer_p50_ratio'])}",
        ),
        (
            f"{w['projects']} waiting projects",
            f"{w['launches_per_s']:.1f} launches/s",
            "",
            f"worker RSS {w['worker_rss_mb']:.0f} MB (target ≤ 500), dev server {w['dev_server_rss_mb']:.0f} MB, "
            f"API {w['api_rss_mb']:.0f} MB",
        ),
    ]
    widths = [
        max(len(row[i]) for row in rows + [("figure", "Alliance", "bare", "")]) for i in range(4)
    ]
    line = lambda cells: " | ".join(c.ljust(widths[i]) for i, c in enumerate(cells))  # noqa: E731
    print(line(("figure", "Alliance", "bare", "")))
    print("-+-".join("-" * wd for wd in widths))
    for row in rows:
        print(line(row))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: about a minute")
    parser.add_argument("--projects", type=int, help="concurrent lifecycles (50)")
    parser.add_argument("--partners", type=int, default=5)
    parser.add_argument("--samples", type=int, help="latency samples per repetition (100)")
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--waiting", type=int, help="projects left waiting (10000)")
    parser.add_argument("--concurrency", type=int, default=64, help="launches in flight")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--notifications",
        choices=["email", "outbox"],
        default="email",
        help="e-mail through SMTP to a local server (default), or the outbox's JSON lines",
    )
    parser.add_argument(
        "--mail-window",
        type=float,
        default=Settings.model_fields["mail_window_seconds"].default,
        help="seconds a project holds its news before telling it grouped (the setting's "
        "default, 120; 0: each dispatch at once, grouped per reader within it)",
    )
    parser.add_argument(
        "--mail-worker",
        action="store_true",
        help="the projects' mail from a mail worker process (ALLIANCE_MAIL_WORKER)",
    )
    parser.add_argument(
        "--hundred-thousand",
        action="store_true",
        help="only the waiting projects, 100,000 of them (about half an hour), measured in ten "
        "steps: launches/s, memory, SQLite size, a partner's answer p50",
    )
    parser.add_argument(
        "--tracing",
        action="store_true",
        help="traces on, exported over OTLP/HTTP to a collector in this process that counts them",
    )
    parser.add_argument(
        "--profile-seconds",
        type=int,
        default=0,
        help="instead of measuring, profile worker and API under load (py-spy)",
    )
    a = parser.parse_args()
    quick = a.quick
    a.projects = a.projects or (10 if quick else 50)
    a.samples = a.samples or (30 if quick else 100)
    a.waiting = a.waiting or (300 if quick else 10_000)
    if a.hundred_thousand:
        a.waiting = 100_000 if a.waiting in (300, 10_000) else a.waiting
    outcome = asyncio.run(main(a))
    if not outcome:
        sys.exit(0)
    print_table(outcome)
    print(json.dumps(outcome))
