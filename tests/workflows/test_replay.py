"""Saved histories of real runs must replay on today's code: a change that would break
running projects fails here. Since the first release (1.0.0) they are frozen: such a change is
guarded with workflow.patched, never made by re-recording them."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.helpers import CONVERTER
from worker import SANDBOX
from workflows.project import ProjectWorkflow

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))


def test_there_are_saved_histories_of_each_behaviour():
    assert {p.stem for p in HISTORIES} >= {
        "adopted",
        "objection_round_adopted",
        "not_adopted_after_max_rounds",
        "no_quorum_then_cancelled",
        "cancelled",
        "deadlines_extension_cancel",
        "continued_as_new",
        "notification_failed_cancelled",
        "adopted_one_closing_activity",
        "adopted_at_once",
        "notification_failed_at_once",
        "objection_round_concluded",
        "call_for_projects",
        "consultation_with_a_pause",
        "alliance_with_a_charter",
        "charter_agreed_then_amended",
        "objections_weighed",
        "decision_reviewed",
        "mail_window",
        "mail_queue",
    }


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_saved_history_replays(path: Path):
    replayer = Replayer(
        workflows=[ProjectWorkflow],
        data_converter=CONVERTER,
        workflow_runner=SANDBOX,
    )
    history = WorkflowHistory.from_json(f"project-{path.stem}", path.read_text("utf-8"))
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None
