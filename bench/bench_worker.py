"""The benchmark's worker process: Alliance's worker with the bare baseline registered beside
it, so both run with the same sandbox, cache and pollers."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import temporal_client  # noqa: E402
from bench.bare import BareLifecycle, bare_noop  # noqa: E402
from settings import Settings  # noqa: E402
from worker import build_worker  # noqa: E402


async def main() -> None:
    settings = Settings()
    client = await temporal_client.connect(settings)
    worker = build_worker(
        client, settings, extra_workflows=[BareLifecycle], extra_activities=[bare_noop]
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with worker:
        print("worker ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    # uvloop (from uvicorn[standard]) runs the worker's event loop for less CPU per task.
    uvloop.run(main())
