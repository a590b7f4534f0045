"""Implementation: partners note progress; it waits for nobody and closes at its deadline (or
the facilitator's close). A step lasting 0 is skipped."""

from __future__ import annotations

from domain.models import Phase
from domain.steps.base import Runner


class Action(Runner):
    kind = Phase.action


RUNNER = Action()
