"""Real Temporal servers from the wheels, started on loopback by the tests themselves.

One dev server for the session (visibility, lists by search attribute, most lifecycles);
one time-skipping test server per test that needs timers (time skipping is global to it).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

# The suite tells each piece of news at once (every test started before 1.3 counts messages so),
# in its own processes and those it spawns; the tests of the mail window set one of their own.
os.environ["ALLIANCE_MAIL_WINDOW_SECONDS"] = "0"
from pydantic import SecretStr
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment

import temporal_client
from activities.mail.catcher import MailCatcher
from activities.notifications import OutboxAdapter
from api.app import create_app
from settings import Settings
from tests.helpers import CONVERTER, TEST_CODEC_KEYS, free_port
from worker import build_worker
from workflows import search_attributes as sa

# The SDK core's own warnings (e.g. that the time-skipping server predates a capability) are
# about the test servers, not Alliance: keep the test output to what a reader acts on.
Runtime.set_default(
    Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
        )
    ),
    error_if_already_set=False,
)


@dataclass
class Harness:
    client: Client
    settings: Settings
    outbox: OutboxAdapter | None

    @property
    def task_queue(self) -> str:
        return self.settings.task_queue


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=CONVERTER,
        dev_server_existing_path=temporal_client.temporal_binary("temporal"),
        search_attributes=list(sa.ALL),
        ui=False,
        # A deleted execution (as retention deletes it) goes at once, not ~30 s later once the
        # dev server's queues have caught up: the archive's tests forget projects.
        dev_server_extra_args=[
            "--dynamic-config-value",
            "history.transferProcessorEnsureCloseBeforeDelete=false",
            "--dynamic-config-value",
            "history.visibilityProcessorEnsureCloseBeforeDelete=false",
        ],
    )
    yield env
    await env.shutdown()


def make_harness_settings(tmp_path: Path, **overrides) -> Settings:
    return Settings(
        data_dir=tmp_path,
        task_queue=f"alliance-test-{uuid.uuid4().hex[:8]}",
        codec_keys={k: SecretStr(v) for k, v in TEST_CODEC_KEYS.items()},
        # The outbox's lines, unless a test sends real e-mail to its own SMTP server.
        **{"notifications": "outbox", **overrides},
    )


async def _harness(client: Client, tmp_path: Path) -> AsyncIterator[Harness]:
    settings = make_harness_settings(tmp_path)
    outbox = OutboxAdapter(settings.outbox_dir)
    # Fail a workflow at once on any bug (or non-determinism) instead of retrying its task.
    worker = build_worker(
        client, settings, notifier=outbox, workflow_failure_exception_types=[Exception]
    )
    async with worker:
        yield Harness(client=client, settings=settings, outbox=outbox)


@pytest.fixture
async def dev(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Harness]:
    """A worker on its own task queue against the shared dev server."""
    async for harness in _harness(dev_env.client, tmp_path):
        yield harness


async def register_search_attributes(client: Client) -> None:
    """The time-skipping server knows no custom search attribute until told."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            # The SDK's enum values are the API's IndexedValueType numbers.
            search_attributes={k.name: k.indexed_value_type.value for k in sa.ALL},
        )
    )


@pytest.fixture
async def timed(tmp_path: Path) -> AsyncIterator[tuple[WorkflowEnvironment, Harness]]:
    """A fresh time-skipping server with a worker: for reminders and deadlines."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=CONVERTER,
        test_server_existing_path=temporal_client.temporal_binary("temporal-test-server"),
    )
    await register_search_attributes(env.client)
    try:
        async for harness in _harness(env.client, tmp_path):
            yield env, harness
    finally:
        await env.shutdown()


# -- an S3-compatible server for the archive -------------------------------------------------


@pytest.fixture(scope="session")
def s3_server() -> str:
    """moto's S3 server on loopback, for the session."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


COORDINATOR_CREDENTIAL = "cred-mda-lyon8"
OTHER_ORG_CREDENTIAL = "cred-other-org"
OPS_CREDENTIAL = "cred-ops"


def api_settings(harness: Harness, **overrides) -> Settings:
    return harness.settings.model_copy(
        update={
            "token_secret": SecretStr("test-secret"),
            "coordinator_credentials": {
                COORDINATOR_CREDENTIAL: "mda-lyon8",
                OTHER_ORG_CREDENTIAL: "other-org",
            },
            "ops_credentials": [OPS_CREDENTIAL],
            # Generous: on 2 busy cores (browser tests, a fresh venv) a query can take seconds.
            "rpc_timeout_seconds": 10.0,
            **overrides,
        }
    )


@pytest.fixture
async def http_factory(dev: Harness) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """APIs over HTTP (in process) with settings of the test's own, on the same worker."""
    clients: list[httpx.AsyncClient] = []
    apps: list[Any] = []

    def make(**overrides) -> httpx.AsyncClient:
        app = create_app(api_settings(dev, **overrides), client=dev.client)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://alliance.test"
        )
        clients.append(client)
        apps.append(app)
        return client

    yield make
    for client, app in zip(clients, apps, strict=True):
        await client.aclose()
        await app.state.gateway.close()


@pytest.fixture
async def http(http_factory: Callable[..., httpx.AsyncClient]) -> httpx.AsyncClient:
    """The API over HTTP (in process), with a real worker on a real dev server."""
    return http_factory()


# -- pages in a real browser ----------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
# Debian's Chromium, headless, as root, on a machine with no network but loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def site(dev: Harness) -> AsyncIterator[str]:
    """The whole app (API and pages) served over HTTP on loopback, with a real worker."""
    import uvicorn

    from run_local import EmbeddedApi

    port = free_port()
    app = create_app(api_settings(dev), client=dev.client)
    server = EmbeddedApi(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the site did not start"
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await serving


# -- e-mail to a real SMTP server on loopback --------------------------------------------------

# Plain http is only allowed on loopback (secure cookies), so the links point there.
MAIL_SITE = "http://localhost"


@dataclass
class Mailing:
    http: httpx.AsyncClient
    catcher: MailCatcher

    def messages(self) -> list[EmailMessage]:
        return self.catcher.messages()

    async def wait_for(
        self, found: Callable[[list[EmailMessage]], bool], seconds: float = 20
    ) -> list[EmailMessage]:
        for _ in range(int(seconds / 0.1)):
            messages = self.messages()
            if found(messages):
                return messages
            await asyncio.sleep(0.1)
        raise AssertionError(
            f"not received in {seconds} s: {[m['Subject'] for m in self.messages()]}"
        )


@pytest.fixture
async def mailing(dev_env, tmp_path: Path) -> AsyncIterator[Mailing]:
    """The API and a worker that sends e-mail to the test's own SMTP server."""
    # Where the local mail page reads them: the data directory's mail/.
    async with MailCatcher(tmp_path / "mail", port=free_port()) as catcher:
        settings = make_harness_settings(
            tmp_path,
            notifications="email",
            smtp_port=catcher.port,
            api_url=MAIL_SITE,
            mail_from="Alliance <alliance@localhost>",
            coordinator_emails={"coordination@mda8.example": "mda-lyon8"},
            # The tests' webhook receiver listens on loopback, in plain http.
            webhooks_allow_loopback_http=True,
        )
        settings = api_settings(Harness(dev_env.client, settings, None))
        app = create_app(settings, client=dev_env.client)
        async with (
            build_worker(dev_env.client, settings, workflow_failure_exception_types=[Exception]),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=MAIL_SITE) as http,
        ):
            yield Mailing(http, catcher)
        await app.state.gateway.close()
