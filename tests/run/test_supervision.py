"""The run command supervises the Temporal dev server, the worker and the API as processes of
their own: one that keeps dying stops the run, which says why. One killed once is started
again, reaped and never left defunct, with nothing recorded lost: tests/resilience (each kill
there goes through the run command's supervision)."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from tests.helpers import Spawned, free_port, logged_events

ROOT = Path(__file__).resolve().parents[2]


class RunCommand:
    def __init__(self, tmp_path: Path) -> None:
        self.grpc, self.api = free_port(), free_port()
        env = {
            **os.environ,
            "ALLIANCE_TEMPORAL_ADDRESS": f"127.0.0.1:{self.grpc}",
            "ALLIANCE_UI_PORT": str(free_port()),
            "ALLIANCE_API_PORT": str(self.api),
            "ALLIANCE_CODEC_PORT": str(free_port()),
            "ALLIANCE_SMTP_PORT": str(free_port()),
            "ALLIANCE_WORKER_METRICS_PORT": str(free_port()),
            "ALLIANCE_DATA_DIR": str(tmp_path / "data"),
            "ALLIANCE_TASK_QUEUE": "alliance-supervision-test",
        }
        self.spawned = Spawned([sys.executable, "run_local.py"], env, ROOT)
        self.process, self.lines = self.spawned.process, self.spawned.lines

    def output(self) -> str:
        return self.spawned.output()

    def wait_for(self, predicate, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while not predicate():
            assert self.process.poll() is None or predicate(), self.output()
            assert time.monotonic() < deadline, f"still waiting:\n{self.output()}"
            time.sleep(0.1)

    def events(self) -> list[dict]:
        return logged_events(self.lines)

    def pids(self, name: str) -> list[int]:
        return [
            e["pid"] for e in self.events() if e.get("event") == "started" and e["process"] == name
        ]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=60)


def gone(pid: int) -> bool:
    """No such process: not running, and not a zombie waiting to be reaped."""
    return not Path(f"/proc/{pid}").exists()


def test_a_child_that_keeps_dying_stops_the_run_with_the_reason(tmp_path):
    run = RunCommand(tmp_path)
    try:
        run.wait_for(lambda: "Stop with Ctrl-C" in run.output())
        for attempt in range(4):
            run.wait_for(lambda attempt=attempt: len(run.pids("the worker")) == attempt + 1)
            os.kill(run.pids("the worker")[-1], signal.SIGKILL)
        run.process.wait(timeout=60)
    finally:
        run.stop()
    assert run.process.returncode != 0
    assert "the worker killed by SIGKILL, 4 times within 60 s: stopping Alliance" in run.output()
    assert all(gone(pid) for pid in run.pids("the API") + run.pids("the Temporal dev server"))
