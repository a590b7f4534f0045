"""Run Alliance locally: the Temporal dev server (with its Web UI, on a SQLite file under
.data/), Alliance's search attributes, the worker and the HTTP API, each a process of its own,
as in production. This process supervises them: a child that dies is started again; one that
keeps dying stops everything, with the reason. It also serves the codec server and the mail
catcher. Ctrl-C stops everything.

    ./scripts/run            # sets up .venv, then runs this
"""

from __future__ import annotations

import asyncio
import ctypes
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import structlog
import uvicorn
import uvloop
from temporalio.client import Client

import startup
import temporal_client
from activities.mail.catcher import MailCatcher
from api.codec_server import create_codec_app
from settings import Settings, with_local_secrets
from telemetry import configure_logging
from worker import ensure_retention_schedule

log = structlog.get_logger("alliance.run")


def dev_server_command(settings: Settings) -> list[str]:
    host, _, port = settings.temporal_address.rpartition(":")
    return [
        temporal_client.temporal_binary("temporal"),
        "server",
        "start-dev",
        "--ip",
        host or "localhost",
        "--port",
        port,
        "--db-filename",
        str(settings.data_dir / "temporal.db"),
        # Write-ahead log: a backup reading the file (python -m backup) never blocks the
        # server's writes, and a write that meets a lock waits instead of failing.
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "busy_timeout=10000",
        "--ui-port",
        str(settings.ui_port),
        "--namespace",
        settings.namespace,
        "--log-level",
        "warn",
        # The UI shows decoded payloads through Alliance's codec server.
        "--ui-codec-endpoint",
        settings.codec_url,
        *temporal_client.search_attribute_args(),
    ]


async def wait_for_server(
    settings: Settings, server: subprocess.Popen, seconds: float = 60
) -> Client:
    loop = asyncio.get_running_loop()
    give_up = loop.time() + seconds
    while True:
        if server.poll() is not None:
            raise SystemExit(
                f"the Temporal dev server exited with code {server.returncode}; is port "
                f"{settings.temporal_address} or {settings.ui_port} already in use?"
            )
        try:
            return await temporal_client.connect(settings)
        except RuntimeError:
            if loop.time() > give_up:
                raise SystemExit(
                    f"no Temporal server answered at {settings.temporal_address}"
                ) from None
            await asyncio.sleep(0.5)


class EmbeddedApi(uvicorn.Server):
    # The runner owns SIGINT/SIGTERM and stops the API, the worker and the server in order.
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def busy_ports(settings: Settings) -> list[str]:
    host, _, port = settings.temporal_address.rpartition(":")
    wanted = {
        f"Temporal ({settings.temporal_address})": (host or "localhost", int(port)),
        f"the Temporal UI (:{settings.ui_port})": (host or "localhost", settings.ui_port),
        f"the API ({settings.api_host}:{settings.api_port})": (
            settings.api_host,
            settings.api_port,
        ),
        f"the codec server ({settings.codec_host}:{settings.codec_port})": (
            settings.codec_host,
            settings.codec_port,
        ),
        f"the worker's metrics ({settings.metrics_host}:{worker_metrics_port(settings)})": (
            settings.metrics_host,
            worker_metrics_port(settings),
        ),
    }
    if settings.mail_worker:
        port = worker_metrics_port(settings) + 1
        wanted[f"the mail worker's metrics ({settings.metrics_host}:{port})"] = (
            settings.metrics_host,
            port,
        )
    if catches_mail(settings):
        wanted[f"the mail catcher ({settings.smtp_host}:{settings.smtp_port})"] = (
            settings.smtp_host,
            settings.smtp_port,
        )
    if reply_domain(settings):
        wanted[f"the inbound mail service ({settings.inbound_host}:{settings.inbound_port})"] = (
            settings.inbound_host,
            settings.inbound_port,
        )
    busy = []
    # Two services given one port: the second would fail to start, and the run would wait on
    # whichever answered there (seen with the mail catcher answering the API's health check).
    by_port: dict[int, list[str]] = {}
    for what, (_, port_number) in wanted.items():
        by_port.setdefault(port_number, []).append(what)
    for sharing in by_port.values():
        if len(sharing) > 1:
            busy.append(" and ".join(sharing) + " on one port")
    for what, address in wanted.items():
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(address) == 0:
                busy.append(what)
    return busy


def catches_mail(settings: Settings) -> bool:
    """The local run keeps its mail on this machine unless told to send it elsewhere."""
    return (
        settings.mail_catcher
        and settings.notifications == "email"
        and settings.smtp_host in ("127.0.0.1", "localhost", "::1")
    )


def reply_domain(settings: Settings) -> str | None:
    """The local run takes replies to its e-mails itself (its mail page sends them to its
    inbound service) under "localhost", unless told another domain."""
    if settings.reply_domain:
        return settings.reply_domain
    return "localhost" if catches_mail(settings) else None


def worker_metrics_port(settings: Settings) -> int:
    """The local run serves the worker's metrics on 9464 (Prometheus' usual exporter port)
    unless told otherwise."""
    return settings.worker_metrics_port or 9464


def _prctl() -> Any:
    # Looked up once here: loading a library between fork and exec (preexec_fn) could hang a
    # child forked while another thread of this process held the loader's lock.
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except OSError:
        return None


_PRCTL = _prctl() if sys.platform == "linux" else None


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """Linux: a child gets SIGTERM if the run command itself is killed, never an orphan."""
    if _PRCTL is None:
        return None

    def arrange() -> None:
        _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the run command died before that: go too
            os._exit(1)

    return arrange


@dataclass
class Child:
    """One supervised process: started again when it dies, up to `max_restarts` times within
    `window` seconds; past that the run stops and says which one and how it ended."""

    name: str
    command: list[str]
    env: dict[str, str] | None = None
    max_restarts: int = 3
    window: float = 60.0
    process: subprocess.Popen = field(init=False)
    restarts: list[float] = field(default_factory=list)

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            # Its own process group: Ctrl-C reaches the run command only, which stops the
            # children in order (API, worker, then Temporal).
            start_new_session=True,
            preexec_fn=_die_with_parent(os.getpid()),
        )
        log.info("started", process=self.name, pid=self.process.pid)

    def exited(self) -> bool:
        # poll() reaps a dead child: none is left defunct.
        return self.process.poll() is not None

    def how_it_ended(self) -> str:
        code = self.process.returncode
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exited with code {code}"

    def may_restart(self) -> bool:
        now = time.monotonic()
        self.restarts = [t for t in self.restarts if now - t < self.window]
        if len(self.restarts) >= self.max_restarts:
            return False
        self.restarts.append(now)
        return True

    def stop(self, seconds: float = 15) -> None:
        if self.exited():
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Supervisor:
    def __init__(self) -> None:
        self.children: list[Child] = []

    def start(self, child: Child) -> Child:
        child.start()
        self.children.append(child)
        return child

    async def watch(self, stop: asyncio.Event) -> str | None:
        """Until `stop` is set (None) or a child keeps dying (the reason)."""
        while not stop.is_set():
            for child in self.children:
                if not child.exited():
                    continue
                ended = child.how_it_ended()
                if not child.may_restart():
                    return (
                        f"{child.name} {ended}, {child.max_restarts + 1} times within "
                        f"{child.window:.0f} s: stopping Alliance (see its output above)"
                    )
                log.warning("restarting", process=child.name, why=ended)
                child.start()
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)
        return None

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()


def child_environment(settings: Settings) -> dict[str, str]:
    """The worker and the API read their settings from the environment, as in production:
    the local secrets made by this run and the ports it chose go there."""
    env = dict(os.environ)
    env.update(
        {
            "ALLIANCE_TOKEN_SECRET": settings.token_secret.get_secret_value(),
            "ALLIANCE_CODEC_KEYS": json.dumps(settings.plain_codec_keys()),
            "ALLIANCE_COORDINATOR_CREDENTIALS": json.dumps(settings.coordinator_credentials),
            "ALLIANCE_OPS_CREDENTIALS": json.dumps(settings.ops_credentials),
            "ALLIANCE_TEMPORAL_ADDRESS": settings.temporal_address,
            "ALLIANCE_DATA_DIR": str(settings.data_dir),
            "ALLIANCE_API_URL": settings.api_url,
            "ALLIANCE_API_HOST": settings.api_host,
            "ALLIANCE_API_PORT": str(settings.api_port),
            "ALLIANCE_WORKER_METRICS_PORT": str(worker_metrics_port(settings)),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if not catches_mail(settings):
        env["ALLIANCE_MAIL_CATCHER"] = "false"
    domain = reply_domain(settings)
    if domain:
        env["ALLIANCE_REPLY_DOMAIN"] = domain
    return env


async def wait_for_api(settings: Settings, api: Child, seconds: float = 60) -> None:
    loop = asyncio.get_running_loop()
    give_up = loop.time() + seconds
    url = f"http://{settings.api_host}:{settings.api_port}/healthz"
    while True:
        if api.exited():
            raise SystemExit(
                f"the API {api.how_it_ended()} at start (see its output above); is "
                f"{settings.api_host}:{settings.api_port} already in use?"
            )
        try:
            await asyncio.to_thread(urllib.request.urlopen, url, timeout=1)
            return
        except (OSError, http.client.HTTPException):
            if loop.time() > give_up:
                raise SystemExit(f"the API did not answer at {url}") from None
            await asyncio.sleep(0.2)


async def main() -> None:
    # Its secrets go to the data directory: there and writable first, or one line saying so.
    settings = startup.settings_or_exit()
    startup.ensure_data_dir(settings)
    settings = with_local_secrets(settings)
    configure_logging(settings)
    busy = busy_ports(settings)
    if busy:
        raise SystemExit(
            f"already in use: {', '.join(busy)}. Is Alliance already running (./scripts/run)? "
            "Stop it with Ctrl-C, or choose other ports with ALLIANCE_TEMPORAL_ADDRESS, "
            "ALLIANCE_UI_PORT, ALLIANCE_API_PORT, ALLIANCE_CODEC_PORT (with ALLIANCE_CODEC_URL), "
            "ALLIANCE_SMTP_PORT and ALLIANCE_WORKER_METRICS_PORT."
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    supervisor = Supervisor()
    catcher = MailCatcher(settings.mail_dir, settings.smtp_host, settings.smtp_port)
    codec_server = EmbeddedApi(
        uvicorn.Config(
            create_codec_app(settings),
            host=settings.codec_host,
            port=settings.codec_port,
            log_config=None,
            access_log=False,
        )
    )
    decoding: asyncio.Task | None = None
    reason: str | None = None
    try:
        server = supervisor.start(Child("the Temporal dev server", dev_server_command(settings)))
        client = await wait_for_server(settings, server.process)
        # Data kept from an earlier version: the attributes added since (AllianceStep, 1.2).
        added = await temporal_client.add_missing_search_attributes(client)
        if added:
            log.info("search attributes registered", added=added)
        await ensure_retention_schedule(client, settings)
        if catches_mail(settings):
            await catcher.start()
        decoding = asyncio.create_task(codec_server.serve())
        env = child_environment(settings)
        if settings.mail_worker:
            # A mail worker of its own (ALLIANCE_MAIL_WORKER): the worker runs the projects.
            worker = [sys.executable, "-m", "worker", "--projects"]
            supervisor.start(Child("the worker", worker, env))
            mail = [sys.executable, "-m", "worker", "--mail"]
            # Its metrics on the next port (each process on a host needs its own).
            port = str(worker_metrics_port(settings) + 1)
            supervisor.start(
                Child("the mail worker", mail, {**env, "ALLIANCE_WORKER_METRICS_PORT": port})
            )
        else:
            supervisor.start(Child("the worker", [sys.executable, "-m", "worker"], env))
        api = supervisor.start(Child("the API", [sys.executable, "-m", "api"], env))
        if reply_domain(settings):
            supervisor.start(
                Child("the inbound mail service", [sys.executable, "-m", "inbound"], env)
            )
        await wait_for_api(settings, api)
        while not codec_server.started and not decoding.done():
            await asyncio.sleep(0.05)
        if decoding.done():
            raise SystemExit(
                f"the codec server could not start on {settings.codec_host}:{settings.codec_port}"
            )
        print_banner(settings)
        reason = await supervisor.watch(stop)
    finally:
        supervisor.stop()
        codec_server.should_exit = True
        if decoding is not None:
            await decoding
        await catcher.stop()
        log.info("stopped")
    if reason:
        raise SystemExit(reason)


def window_words(seconds: float) -> str:
    """When a project's mail goes, for the banner (ALLIANCE_MAIL_WINDOW_SECONDS)."""
    if seconds <= 0:
        return "at once"
    return f"{seconds:g} s after its first piece, grouped"


def print_banner(settings: Settings) -> None:
    coordinator = next(iter(settings.coordinator_credentials))
    mail_line = (
        f"  Mail:         {settings.api_url}/courrier   (every message Alliance sends, "
        f"kept in {settings.mail_dir}; a project's news goes "
        f"{window_words(settings.mail_window_seconds)})\n"
        if catches_mail(settings)
        else f"  Mail:         sent through {settings.smtp_host}:{settings.smtp_port}\n"
    )
    domain = reply_domain(settings)
    replies_line = (
        f"  Replies:      reponse+…@{domain} to SMTP {settings.inbound_host}:"
        f"{settings.inbound_port}   (answer a decision by replying to its e-mail)\n"
        if domain
        else ""
    )
    archive_line = (
        f"  Archive:      {settings.archive_folder}   (ended projects' records)\n"
        if settings.archive_store == "folder"
        else f"  Archive:      bucket {settings.s3_bucket} at {settings.s3_endpoint_url}\n"
    )
    log.info(
        "Alliance is running",
        temporal=settings.temporal_address,
        ui=settings.ui_url,
        api=settings.api_url,
        task_queue=settings.task_queue,
        data=str(settings.data_dir),
    )
    print(
        f"\nAlliance is running.\n"
        f'  Temporal UI:  {settings.ui_url}   (filter: AlliancePhase = "decision")\n'
        f"  Codec server: {settings.codec_url}   (the UI decodes histories through it)\n"
        f"  API:          {settings.api_url}/docs\n"
        f"  Console:      {settings.api_url}/connexion   (coordinators sign in: "
        f"organisation {settings.coordinator_credentials[coordinator]}, the credential below)\n"
        f"  Coordinator credential (organisation {settings.coordinator_credentials[coordinator]}): "
        f"{coordinator}\n"
        f"  Ops credential: {settings.ops_credentials[0]}\n"
        f"{mail_line}"
        f"{replies_line}"
        f"{archive_line}"
        f"  Metrics:      {settings.api_url}/metrics (API), "
        f"http://{settings.metrics_host}:{worker_metrics_port(settings)}/metrics (worker)\n"
        f"  Demo project: .venv/bin/python demo.py\n"
        f"Stop with Ctrl-C.\n",
        flush=True,
    )


if __name__ == "__main__":
    with suppress(KeyboardInterrupt):
        uvloop.run(main())
    sys.exit(0)
