"""The benchmark keeps working (tiny sizes; figures are checked for shape, never for speed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_runs_and_reports_every_figure():
    result = subprocess.run(
        [
            sys.executable,
            "bench/run.py",
            "--projects",
            "2",
            "--partners",
            "2",
            "--samples",
            "3",
            "--burst",
            "5",
            "--waiting",
            "5",
            "--repeat",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["throughput"]["ratio"]["median"] > 0
    # bare+mail: the baseline that sends as many messages as Alliance, in the same run.
    assert figures["throughput"]["ratio_mail"]["median"] > 0
    assert figures["mail"]["messages_per_lifecycle"] > 0
    assert figures["throughput"]["cpu_ms_per_lifecycle"]["bare_mail"]["mail"] > 0
    assert figures["codec"]["throughput_ratio"]["median"] > 0
    assert figures["codec"]["answer_p50_ratio"]["median"] > 0
    assert figures["burst"] == {**figures["burst"], "recorded": 5, "errors": 0}
    assert figures["history_events_per_lifecycle"]["alliance"] > 0
    # Every notification went out as real e-mail, through SMTP, to the local server.
    assert figures["mail"]["notifications"] == "email" and figures["mail"]["messages_received"] > 0
    assert figures["waiting"]["worker_rss_mb"] > 0
    assert (
        figures["page_render_ms"]["page"]["n"] == 3 and figures["page_render_ms"]["p50_ratio"] > 0
    )
    assert "lifecycles/s" in result.stdout and "CPU ms per lifecycle" in result.stdout


def test_the_carried_payload_measure_runs():
    result = subprocess.run(
        [sys.executable, "bench/carried_payload.py", "--partners", "3", "--events", "300", "3000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "bytes/event=" in result.stdout and "2 MB reached at about" in result.stdout
    # Before segments the carried log grew with the events; now it stays the live state's size.
    rows = [line.split() for line in result.stdout.splitlines() if "KiB" in line]
    (before_300, after_300), (before_3000, after_3000) = [
        (float(r[1].replace(",", "")), float(r[3].replace(",", ""))) for r in rows
    ]
    assert before_3000 > 5 * before_300
    assert after_3000 == after_300 < before_300
