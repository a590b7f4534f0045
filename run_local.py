"""Run Alliance locally: the Temporal dev server (with its Web UI, on a SQLite file under
.data/), Alliance's search attributes, the worker and the HTTP API. Ctrl-C stops everything.

    ./scripts/run            # sets up .venv, then runs this
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import structlog
import uvicorn
import uvloop
from temporalio.client import Client

import temporal_client
from activities.mail.catcher import MailCatcher
from api.app import create_app
from api.codec_server import create_codec_app
from settings import Settings, with_local_secrets
from worker import build_worker, configure_logging, ensure_retention_schedule

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
    }
    if catches_mail(settings):
        wanted[f"the mail catcher ({settings.smtp_host}:{settings.smtp_port})"] = (
            settings.smtp_host,
            settings.smtp_port,
        )
    busy = []
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


async def main() -> None:
    configure_logging()
    settings = with_local_secrets(Settings())
    busy = busy_ports(settings)
    if busy:
        raise SystemExit(
            f"already in use: {', '.join(busy)}. Is Alliance already running (./scripts/run)? "
            "Stop it with Ctrl-C, or choose other ports with ALLIANCE_TEMPORAL_ADDRESS, "
            "ALLIANCE_UI_PORT, ALLIANCE_API_PORT, ALLIANCE_CODEC_PORT (with ALLIANCE_CODEC_URL) "
            "and ALLIANCE_SMTP_PORT."
        )
    server = subprocess.Popen(dev_server_command(settings))
    try:
        client = await wait_for_server(settings, server)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        api = EmbeddedApi(
            uvicorn.Config(
                create_app(settings, client),
                host=settings.api_host,
                port=settings.api_port,
                log_config=None,
                access_log=False,
            )
        )
        codec_server = EmbeddedApi(
            uvicorn.Config(
                create_codec_app(settings),
                host=settings.codec_host,
                port=settings.codec_port,
                log_config=None,
                access_log=False,
            )
        )
        await ensure_retention_schedule(client, settings)
        catcher = MailCatcher(settings.mail_dir, settings.smtp_host, settings.smtp_port)
        if catches_mail(settings):
            await catcher.start()
        async with build_worker(client, settings):
            serving = asyncio.create_task(api.serve())
            decoding = asyncio.create_task(codec_server.serve())
            while not (api.started and codec_server.started) and not (
                serving.done() or decoding.done()
            ):
                await asyncio.sleep(0.05)
            if serving.done():
                raise SystemExit(
                    f"the API could not start on {settings.api_host}:{settings.api_port}"
                )
            if decoding.done():
                raise SystemExit(
                    f"the codec server could not start on {settings.codec_host}:{settings.codec_port}"
                )
            coordinator = next(iter(settings.coordinator_credentials))
            mail_line = (
                f"  Mail:         {settings.api_url}/courrier   (every message Alliance sends, "
                f"kept in {settings.mail_dir})\n"
                if catches_mail(settings)
                else f"  Mail:         sent through {settings.smtp_host}:{settings.smtp_port}\n"
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
                f"{archive_line}"
                f"  Demo project: .venv/bin/python demo.py\n"
                f"Stop with Ctrl-C.\n",
                flush=True,
            )
            await asyncio.wait(
                [serving, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
            )
            api.should_exit = True
            codec_server.should_exit = True
            await serving
            await decoding
        await catcher.stop()
    finally:
        server.terminate()
        with suppress(subprocess.TimeoutExpired):
            server.wait(timeout=15)
        if server.poll() is None:
            server.kill()
        log.info("stopped")


if __name__ == "__main__":
    with suppress(KeyboardInterrupt):
        uvloop.run(main())
    sys.exit(0)
