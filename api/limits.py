"""How often one personal link may be used: its page opened (/p/<token>) or the API called
with it, over a sliding minute (ALLIANCE_LINK_PER_MINUTE). A link copied somewhere it should
not be, or a tool gone wrong, is slowed down without touching anyone else's. Forged tokens
never get here (their signature is checked first, without any look-up). Kept in this process:
several API processes each count their own."""

from __future__ import annotations

import math
import time
from collections import deque

from api.errors import ApiError
from texts.links import ParticipantToken

# Links idle for longer than the window are forgotten once this many are counted.
FORGET_ABOVE = 10_000


class LinkLimiter:
    def __init__(self, per_minute: int, window: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window = window
        self._uses: dict[tuple[str, str, int], deque[float]] = {}

    def use(self, link: ParticipantToken) -> None:
        """Counts one use of the link; raises a 429 with Retry-After past the limit."""
        now = time.monotonic()
        key = (link.project_id, link.participant_id, link.version)
        uses = self._uses.setdefault(key, deque())
        while uses and now - uses[0] > self.window:
            uses.popleft()
        if len(uses) >= self.per_minute:
            wait = max(1, math.ceil(self.window - (now - uses[0])))
            raise ApiError(
                429,
                "link_rate_limited",
                f"this personal link was used more than {self.per_minute} times in a minute; "
                f"try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        uses.append(now)
        if len(self._uses) > FORGET_ABOVE:
            self._forget(now)

    def _forget(self, now: float) -> None:
        for key in [k for k, v in self._uses.items() if not v or now - v[-1] > self.window]:
            del self._uses[key]
