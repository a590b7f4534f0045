"""What the project's workflow takes, carries and answers: its input, the state carried across
continue-as-new, the group commit's batch, its queries' arguments and its result.

Apart from the workflow's own module so that the sandbox shares them (passed through, see
worker.py) instead of building their pydantic schemas again for every cached workflow run:
half a megabyte each, measured, before they moved here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from activities.notifications import DigestItem
from domain import commands as cmd
from domain import events as ev
from domain.actions import ACTIONS
from domain.models import Outcome, Phase, ProjectSpec
from domain.state import ProjectState
from domain.views import ActionResult

# Keys of recent updates kept for idempotency across continue-as-new (Temporal's own
# de-duplication stops at the run boundary). Each costs ~300 bytes of the carried payload;
# a client retries within minutes, so the last 500 actions are plenty.
RECENT_UPDATES_KEPT = 500


class RecentUpdate(BaseModel):
    key: str
    fingerprint: str
    result: ActionResult


class CarriedState(BaseModel):
    """What a project carries across continue-as-new: its state, a pointer to its past (the
    archive's segments hold every event up to `archived_through`), the events recorded since,
    and what was done with them. Bounded by the live state, not by the project's age."""

    # Carried before segments (the whole log, folded again by the new run) when `state` is None.
    events: list[ev.Event]
    state: ProjectState | None = None
    archived_through: int = 0
    recent_updates: list[RecentUpdate] = Field(default_factory=list)
    notified_through: int = 0
    # News waiting for each digest reader, and when their digest goes.
    digests: dict[str, list[DigestItem]] = Field(default_factory=dict)
    digest_due: dict[str, datetime] = Field(default_factory=dict)


class ProjectInput(BaseModel):
    spec: ProjectSpec
    carried: CarriedState | None = None
    continue_as_new_after_events: int = 10_000
    # ... or once this many domain events were recorded since the last segment.
    segment_after_events: int = 1000
    # When the coordinator launched it: deadlines count from there, and the starter's view
    # and search attributes are then exactly the workflow's.
    launched_at: datetime | None = None
    # Since 1.3: how long the project holds its news before telling it, so that each reader
    # gets one message for what happened together (0: each piece at once, as before 1.3).
    mail_window_seconds: float = 0
    # Since 1.3: the task queue a mail worker serves; the project's mail goes there, as a
    # regular activity (none: sent from the project's own worker, at once first).
    mail_task_queue: str | None = None
    # Since 1.3: the longest wait between two tries of a failed delivery (none: ten minutes,
    # as before).
    notify_retry_max_seconds: float | None = None


class BatchedAction(BaseModel):
    """One partner action inside a batch: its own key (the update id it would have had alone:
    a retry and the action's URL find it by that key) and its update's name and command."""

    key: str
    update: str
    command: dict[str, Any]


class ActionBatch(BaseModel):
    """Several actions for one project sent as one update (the API's group commit): recorded
    in order, all or none."""

    actions: list[BatchedAction]


class EventsQuery(BaseModel):
    after: int = 0
    limit: int = 500


class ProjectSummary(BaseModel):
    project_id: str
    phase: Phase
    outcome: Outcome | None
    last_seq: int


# The update that carries several actions at once (group commit), and how its actions' commands
# are read: as recorded, like each action's own update.
BATCH_UPDATE = "act_batch"
ACTIONS_BY_UPDATE = {action.update: cmd.as_recorded(action.command) for action in ACTIONS}
