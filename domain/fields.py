"""The limits on what people send: constrained field types for commands (and, through them,
the API's request schemas and the OpenAPI). Records (events, state) never use these: what was
recorded folds whatever today's limits say.

Every text is cleaned the same way: control characters other than newline and tab are
dropped (nobody types them on purpose; they break mails, CSV and terminals), surrounding
white space is trimmed, and a text that is then empty is refused.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

# C0 controls but tab and newline, DEL and the C1 controls; a carriage return is folded into
# the newline it comes with.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A name or title is one line: newline and tab become spaces there.
_LINE_BREAKS = re.compile(r"\s*[\t\n]\s*")


def clean_text(value: object) -> object:
    if not isinstance(value, str):
        return value
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def clean_line(value: object) -> object:
    cleaned = clean_text(value)
    if not isinstance(cleaned, str):
        return cleaned
    return _LINE_BREAKS.sub(" ", cleaned)


def _not_blank(value: str) -> str:
    if not value:
        raise ValueError("this text is empty; write something")
    return value


# Ids chosen by people or programs: letters, digits and . _ : -
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
# One line: names, titles, territories.
# (The length comes first, on the str itself, so its error speaks of characters; the cleaning
# still runs before it.)
Line = Annotated[
    str, StringConstraints(max_length=200), BeforeValidator(clean_line), AfterValidator(_not_blank)
]
# A paragraph or more: contributions, proposals, plans, objections.
LongText = Annotated[
    str,
    StringConstraints(max_length=5000),
    BeforeValidator(clean_text),
    AfterValidator(_not_blank),
]
# Optional words (a reason that may be left out, a description): cleaned, may be empty.
ShortNote = Annotated[str, StringConstraints(max_length=1000), BeforeValidator(clean_text)]
Note = Annotated[str, StringConstraints(max_length=2000), BeforeValidator(clean_text)]
Description = Annotated[str, StringConstraints(max_length=5000), BeforeValidator(clean_text)]
# A whole document's text: a charter agreed before the project.
DocumentText = Annotated[str, StringConstraints(max_length=50_000), BeforeValidator(clean_text)]
# A reason people will read: required, so never empty.
Reason = Annotated[
    str, StringConstraints(max_length=1000), BeforeValidator(clean_text), AfterValidator(_not_blank)
]

# Shapes, not deliverability: a notification that cannot be delivered is recorded as failed.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
WEBHOOK_URL_PATTERN = r"^https?://[^\s/]+\S*$"
Email = Annotated[
    str, StringConstraints(max_length=320, pattern=EMAIL_PATTERN), BeforeValidator(clean_line)
]
WebhookUrl = Annotated[
    str,
    StringConstraints(max_length=2000, pattern=WEBHOOK_URL_PATTERN),
    BeforeValidator(clean_line),
]
# Left out: unchanged; an empty string clears it (a participant's own contact settings).
ClearableEmail = Annotated[
    str,
    StringConstraints(max_length=320, pattern=f"^$|{EMAIL_PATTERN}"),
    BeforeValidator(clean_line),
]
ClearableWebhookUrl = Annotated[
    str,
    StringConstraints(max_length=2000, pattern=f"^$|{WEBHOOK_URL_PATTERN}"),
    BeforeValidator(clean_line),
]
# A name given beside another (the person's, a target): one line, may be empty.
OptionalLine = Annotated[str, StringConstraints(max_length=200), BeforeValidator(clean_line)]


def _known_time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name such as Europe/Paris"
        ) from None
    return value


TimeZone = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    BeforeValidator(clean_line),
    AfterValidator(_known_time_zone),
]

# Beyond this a deadline is no plan; it would also overflow dates far enough out. A phase, a
# reminder offset and a deadline extension obey the same bound.
MAX_PHASE = timedelta(days=5 * 365)


def _within_max_phase(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("a duration cannot be negative")
    if value > MAX_PHASE:
        raise PydanticCustomError("duration_too_long", "at most 5 years (P1825D)")
    return value


Duration = Annotated[timedelta, AfterValidator(_within_max_phase)]
# A moment people set: its time zone must be said ("2026-12-12T18:00:00+01:00" or "...Z").
Moment = AwareDatetime
