"""The benchmark's worker process: Alliance's worker (payloads encrypted, as in production),
and beside it, on a queue of its own, Alliance without the codec and the bare baseline
(plain payloads), all with the same sandbox, cache and pollers."""

from __future__ import annotations

import asyncio
import signal
import sys
from contextlib import AsyncExitStack
from pathlib import Path

import uvloop
from temporalio.client import Client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import telemetry  # noqa: E402
import temporal_client  # noqa: E402
from bench.bare import BareLifecycle, BareMailer, BareMailLifecycle, bare_noop  # noqa: E402
from settings import Settings  # noqa: E402
from worker import build_worker  # noqa: E402

PLAIN = "-plain"  # the plain queue's suffix


async def main() -> None:
    settings = Settings()
    # As the production worker: its log lines, its metrics endpoint (one runtime for the
    # process, so the baseline's worker is measured with it too), traces when asked.
    telemetry.configure_logging(settings)
    runtime = telemetry.worker_runtime(settings)
    tracing = telemetry.tracer_provider(settings, "alliance-worker")
    client = await temporal_client.connect(
        settings, runtime=runtime, interceptors=telemetry.tracing_interceptors(tracing)
    )
    plain = await Client.connect(
        settings.temporal_address,
        namespace=settings.namespace,
        data_converter=temporal_client.DATA_CONVERTER,
        runtime=runtime,
    )
    plain_settings = settings.model_copy(update={"task_queue": settings.task_queue + PLAIN})
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as workers:
        await workers.enter_async_context(build_worker(client, settings))
        await workers.enter_async_context(
            build_worker(
                plain,
                plain_settings,
                extra_workflows=[BareLifecycle, BareMailLifecycle],
                # bare+mail sends to the same mail catcher as Alliance.
                extra_activities=[
                    bare_noop,
                    BareMailer(settings.smtp_host, settings.smtp_port).send,
                ],
            )
        )
        print("worker ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    # uvloop (from uvicorn[standard]) runs the worker's event loop for less CPU per task.
    uvloop.run(main())
