"""Texts in the reader's language and dates in the reader's time zone.

The texts live in Babel catalogs (`catalogues/<lang>/LC_MESSAGES/messages.po`), never in code:
French and English stay in step (a test checks every message has both). The catalogs are read
as they are, at start: no compile step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from babel.messages.pofile import read_po

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
DEFAULT_TIME_ZONE = "Europe/Paris"
LOCALES = Path(__file__).parent / "catalogues"


@cache
def catalog(language: str) -> dict[str | tuple[str, str], str | tuple[str, ...]]:
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        po = read_po(f, locale=language)
    return {m.id: m.string for m in po if m.id and m.string}


@dataclass(frozen=True)
class Texts:
    """One reader's language and time zone: gettext, ngettext and dates."""

    language: str
    time_zone: str

    def gettext(self, message: str, **values: object) -> str:
        found = catalog(self.language).get(message)
        text = found if isinstance(found, str) and found else message
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        found = catalog(self.language).get((singular, plural))
        many = n > 1 if self.language == "fr" else n != 1
        if isinstance(found, tuple) and len(found) > 1 and found[0] and found[1]:
            text = found[1 if many else 0]
        else:
            text = plural if many else singular
        return text.format(n=n, **values)

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(DEFAULT_TIME_ZONE)

    def moment(self, when: datetime | None) -> str:
        """A date and time as a person reads it: "vendredi 12 décembre à 18 h",
        "Friday 12 December at 6:00 PM"."""
        if when is None:
            return ""
        local = when.astimezone(self.zone)
        if self.language == "fr":
            pattern = "EEEE d MMMM y 'à' H 'h'" + (" mm" if local.minute else "")
        else:
            pattern = "EEEE d MMMM y 'at' h:mm a"
        return format_datetime(local, pattern, locale=self.language)

    def day(self, when: datetime | None) -> str:
        """The day alone, for a subject line: "vendredi 12 décembre", "Friday 12 December"."""
        if when is None:
            return ""
        return format_datetime(when.astimezone(self.zone), "EEEE d MMMM", locale=self.language)

    def local_input(self, when: datetime | None) -> str:
        """The value of a datetime-local input, in the reader's time zone."""
        return when.astimezone(self.zone).strftime("%Y-%m-%dT%H:%M") if when else ""


def texts(language: str | None, time_zone: str | None) -> Texts:
    return Texts(
        language if language in LANGUAGES else DEFAULT_LANGUAGE,
        time_zone or DEFAULT_TIME_ZONE,
    )


def explicit_language(header: str | None) -> str | None:
    """The first of our languages an Accept-Language header asks for, if any."""
    for part in (header or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return None


Gettext = Callable[..., str]
