"""The Alliance worker: runs project workflows and their activities.

python worker.py        # settings from ALLIANCE_* environment variables (settings.py)
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import py_compile
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, suppress
from datetime import timedelta
from typing import Any

import structlog
import uvloop
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
)
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import startup
import telemetry
import temporal_client
from activities.archive import ArchiveActivities, ClosingActivities
from activities.mail.smtp import mail_adapter
from activities.notifications import (
    Address,
    NotificationActivities,
    NotificationAdapter,
    OutboxAdapter,
)
from activities.reports import ReportActivities
from activities.retention import RetentionActivities, RetentionRun
from activities.webhooks import WebhookAdapter
from archive.archivist import Archivist
from archive.store import ArchiveStore, archive_store
from directory.cooperation import figures_provider
from directory.store import LazyDirectory, ReplyAsked
from settings import Settings
from telemetry import configure_logging
from workflows import search_attributes as sa
from workflows.project import ProjectWorkflow
from workflows.retention import SCHEDULE_ID, RetentionWorkflow

# The pure domain and the activity models are deterministic: share them with the sandbox
# instead of re-importing them for every workflow run (the largest Python cost measured).
# Since 1.3 the workflow's own modules too: re-imported, they rebuilt their pydantic schemas
# and update definitions in every cached run (546 KB a cached project, 209 KB since; the
# unsandboxed runner measures 203). Their determinism rests on the replay tests and review,
# as the other workflow modules' already did.
SANDBOX = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "domain",
        "texts",
        "activities",
        "workflows.search_attributes",
        "workflows.observed",
        "workflows.calls",
        "workflows.inputs",
        "workflows.project",
        "workflows.messages",
        "workflows.ops_view",
        "workflows.segments",
        # Log records emitted inside a workflow are formatted there too: the renderer must
        # not be re-imported (and its environment reads refused) by the sandbox.
        "structlog",
        "rich",
    )
)


def precompile(workflow_classes: Sequence[type]) -> None:
    """The sandbox imports each workflow's module afresh for every workflow it starts. With
    PYTHONDONTWRITEBYTECODE set (common in containers, and here) there is no .pyc to load, so
    that module was compiled from source every time: write its bytecode once, if we may."""
    if not sys.dont_write_bytecode:
        return
    for cls in workflow_classes:
        source = inspect.getsourcefile(cls)
        if source:
            with suppress(OSError, py_compile.PyCompileError):
                py_compile.compile(
                    source, cfile=importlib.util.cache_from_source(source), doraise=True
                )


def address_book(directory: LazyDirectory) -> Callable[[str], Awaitable[dict[str, Address]]]:
    """Participants' addresses, looked up in the contact directory by the notification
    activity."""

    async def addresses(project_id: str) -> dict[str, Address]:
        contacts = await (await directory.get()).contacts(project_id)
        return {
            pid: Address(
                email=c.email,
                webhook_url=c.webhook_url,
                person_name=c.person_name,
                webhook_secret=c.webhook_secret,
                webhook_disabled=c.webhook_disabled,
            )
            for pid, c in contacts.items()
        }

    return addresses


async def ensure_retention_schedule(client: Client, settings: Settings) -> None:
    """The daily retention job, as a Temporal Schedule ops see in the UI: made if missing,
    brought to the current setting if there."""
    action = ScheduleActionStartWorkflow(
        RetentionWorkflow.run,
        RetentionRun(retention=settings.retention),
        id=f"{SCHEDULE_ID}-run",
        task_queue=settings.task_queue,
    )
    schedule = Schedule(
        action=action,
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(days=1))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:
        await client.get_schedule_handle(SCHEDULE_ID).update(
            lambda _: ScheduleUpdate(schedule=schedule)
        )


class AllianceWorker(Worker):
    """Temporal's worker, which closes what its activities opened once it has stopped: the
    notification channels' connections (webhooks, SMTP kept between batches), the archive
    store, the contact directory (a connection left to the garbage collector could be closed
    on a workflow's event loop, which cannot)."""

    def __init__(
        self,
        directory: LazyDirectory,
        notifications: NotificationActivities,
        archive: ArchiveStore | None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.directory = directory
        self.notifications = notifications
        self.archive = archive

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await super().__aexit__(*exc)
        finally:
            await self.notifications.close()
            if self.archive is not None:
                await self.archive.close()
            await self.directory.close()


def default_notifier(
    settings: Settings, directory: LazyDirectory | None = None
) -> NotificationAdapter:
    if settings.notifications == "outbox":
        return OutboxAdapter(settings.outbox_dir)

    async def keep_reply_address(asked: ReplyAsked) -> None:
        assert directory is not None
        await (await directory.get()).add_reply_address(asked)

    return mail_adapter(settings, keep_reply_address if directory is not None else None)


def telling(
    settings: Settings, notifier: NotificationAdapter | None
) -> tuple[LazyDirectory, NotificationActivities]:
    """The contact directory and the notification activities over it (the e-mail channel,
    then the webhooks), as a project worker and a mail worker both build them."""
    directory = LazyDirectory(settings.directory_address)

    async def disable_webhook(project_id: str, participant_id: str) -> None:
        await (await directory.get()).disable_webhook(project_id, participant_id)

    webhooks = WebhookAdapter(
        settings.webhooks_allow_loopback_http,
        settings.webhook_timeout_seconds,
        disable=disable_webhook,
    )
    notifications = NotificationActivities(
        [notifier or default_notifier(settings, directory), webhooks], address_book(directory)
    )
    return directory, notifications


def build_worker(
    client: Client,
    settings: Settings,
    *,
    notifier: NotificationAdapter | None = None,
    task_queue: str | None = None,
    workflow_failure_exception_types: Sequence[type[BaseException]] = (),
    extra_workflows: Sequence[type] = (),
    extra_activities: Sequence[Callable] = (),
) -> Worker:
    """The worker; the benchmark adds its bare baseline with `extra_*`, under the same options."""
    directory, notifications = telling(settings, notifier)
    retention = RetentionActivities(directory)
    reports = ReportActivities(settings.reports_dir, cooperation=figures_provider(directory))
    store = archive_store(settings)
    archive = ArchiveActivities(Archivist(store, cooperation=figures_provider(directory)))
    closing = ClosingActivities(retention, archive)
    precompile([ProjectWorkflow, RetentionWorkflow, *extra_workflows])
    return AllianceWorker(
        directory,
        notifications,
        store,
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[ProjectWorkflow, RetentionWorkflow, *extra_workflows],
        activities=[
            notifications.notify_all,
            notifications.notify_now,
            reports.publish_report,
            retention.record_closing,
            retention.erase_expired_contacts,
            archive.write_segment,
            archive.archive_project,
            archive.redact_segments,
            closing.close_project,
            *extra_activities,
        ],
        workflow_runner=SANDBOX,
        max_cached_workflows=settings.max_cached_workflows,
        workflow_failure_exception_types=list(workflow_failure_exception_types),
    )


def build_mail_worker(
    client: Client, settings: Settings, *, notifier: NotificationAdapter | None = None
) -> Worker:
    """The mail worker (since 1.3): the notification activities alone, on the mail task queue
    (`<task queue>-mail`), for the projects launched with ALLIANCE_MAIL_WORKER."""
    directory, notifications = telling(settings, notifier)
    return AllianceWorker(
        directory,
        notifications,
        None,
        client,
        task_queue=settings.mail_task_queue,
        activities=[notifications.notify_all, notifications.notify_now],
        # On SIGTERM, the messages under way go out first (compose waits 60 s).
        graceful_shutdown_timeout=timedelta(seconds=50),
    )


def roles(arguments: Sequence[str], settings: Settings) -> tuple[bool, bool]:
    """What this process serves (projects, mail): `--mail` the mail only, `--projects` the
    projects only; by default the projects, and the mail task queue too unless a mail worker
    of its own runs (ALLIANCE_MAIL_WORKER): the smallest setup is one process, and projects
    launched with a mail worker are still served once it is turned off."""
    if "--mail" in arguments:
        return False, True
    return True, not settings.mail_worker and "--projects" not in arguments


async def main() -> None:
    # What the worker needs, checked before it connects (startup.py): or one line and exit
    # code 2.
    settings = startup.settings_or_exit()
    await startup.ensure_startable(settings, "worker")
    configure_logging(settings)
    log = structlog.get_logger("alliance.worker")
    tracing = telemetry.tracer_provider(settings, "alliance-worker")
    client = await temporal_client.connect(
        settings,
        runtime=telemetry.worker_runtime(settings),
        interceptors=telemetry.tracing_interceptors(tracing),
    )
    missing = await temporal_client.missing_search_attributes(client)
    if missing:
        kinds = {key.name: key.indexed_value_type.name.title() for key in sa.ALL}
        commands = "; ".join(
            f"temporal operator search-attribute create --namespace {settings.namespace} "
            f"--name {name} --type {kinds[name]}"
            for name in missing
        )
        log.error("search attributes missing", namespace=settings.namespace, missing=missing)
        raise SystemExit(
            f"the namespace {settings.namespace!r} lacks Alliance's search attributes "
            f"{', '.join(missing)}: a project would fail at its first change. Register them "
            f"first: {commands}"
        )
    projects, mail = roles(sys.argv[1:], settings)
    workers: list[Worker] = []
    if projects:
        await ensure_retention_schedule(client, settings)
        workers.append(build_worker(client, settings))
    if mail:
        workers.append(build_mail_worker(client, settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker started",
        task_queue=settings.task_queue if projects else None,
        mail_task_queue=settings.mail_task_queue if mail else None,
        address=settings.temporal_address,
        metrics=f"http://{settings.metrics_host}:{settings.worker_metrics_port}/metrics"
        if settings.worker_metrics_port
        else None,
        tracing=settings.otlp_endpoint is not None,
    )
    async with AsyncExitStack() as serving:
        for worker in workers:
            await serving.enter_async_context(worker)
        await stop.wait()
        log.info("worker stopping: finishing the tasks in hand")
    if tracing is not None:
        tracing.shutdown()  # the last spans
    log.info("worker stopped")


if __name__ == "__main__":
    # uvloop (from uvicorn[standard]) runs the worker's event loop for less CPU per task.
    uvloop.run(main())
