"""What a French reader must never meet: a code as it is stored, or an English word."""

from __future__ import annotations

import re

CODES = re.compile(
    r"\b(not_adopted|no_quorum|local_authority|public_body|co_design|inhabitants|facilitator|"
    r"coordinator|observer|partner|adopted|consent|majority|abstain|object|diagnosis|"
    r"evaluation|deadline|complete|plan_submitted|project_launched|phase_opened|"
    r"decision_reached|outcome_stated|reminder_sent|essentials|digest)\b"
)
ENGLISH = re.compile(r"\b(the|and|of|round|decision|report|voters|score|outcome|rule|Outcome)\b")
_LINKS = re.compile(r"https?://\S+|/[\w/.-]*\?\S*")


def unreadable(text: str) -> list[str]:
    """The codes and English words in a French text (links aside)."""
    shown = _LINKS.sub(" ", text)
    return CODES.findall(shown) + ENGLISH.findall(shown)
