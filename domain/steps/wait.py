"""A pause (a board meeting, a summer break): nobody acts; it ends at its date or after its
duration (or when the facilitator closes it)."""

from __future__ import annotations

from domain.models import Phase
from domain.steps.base import Runner


class Wait(Runner):
    kind = Phase.wait


RUNNER = Wait()
