"""What ops see of a project in the Temporal UI: its search attributes, upserted once per
workflow task and only what changed, and the current details line."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from domain.state import ProjectState
from domain.views import current_details
from workflows import search_attributes as sa
from workflows.calls import STEP_ATTRIBUTE


class OpsView:
    def __init__(self) -> None:
        # What the starter (or the previous run) set already needs no upsert.
        self._set: dict[str, Any] = {
            pair.key.name: pair.value for pair in workflow.info().typed_search_attributes
        }
        # Upserted once per workflow task by the main loop.
        self.stale = False
        self._names_step: bool | None = None

    def sync(self, state: ProjectState) -> None:
        if self._names_step is None:
            # A history recorded before AllianceStep replays without it. Asked at the first
            # sync of every run (the run's start), so the marker always stands there.
            self._names_step = workflow.patched(STEP_ATTRIBUTE)
        updates = []
        for key, value in sa.values(state, with_step=self._names_step).items():
            if self._set.get(key.name) == value:  # absent means unset
                continue
            self._set[key.name] = value
            updates.append(key.value_unset() if value is None else key.value_set(value))
        if updates:
            workflow.upsert_search_attributes(updates)
        workflow.set_current_details(current_details(state))
        self.stale = False
