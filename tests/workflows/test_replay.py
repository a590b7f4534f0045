"""Saved histories of real runs must replay on today's code: a change that would break
running projects fails here (then use workflow.patched, never re-record the file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

import temporal_client
from worker import SANDBOX
from workflows.project import ProjectWorkflow

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))


def test_there_are_saved_histories_of_each_behaviour():
    # Quiet runs start with the patch marker; older ones have none.
    quiet = [p for p in HISTORIES if "markerRecordedEventAttributes" in p.read_text("utf-8")]
    assert len(HISTORIES) >= 6 and 3 <= len(quiet) < len(HISTORIES)


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_saved_history_replays(path: Path):
    replayer = Replayer(
        workflows=[ProjectWorkflow],
        data_converter=temporal_client.DATA_CONVERTER,
        workflow_runner=SANDBOX,
    )
    history = WorkflowHistory.from_json(f"project-{path.stem}", path.read_text("utf-8"))
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None
