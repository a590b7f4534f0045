"""Texts in the reader's language, numbers and dates as the reader's locale writes them, in the
reader's time zone.

The texts live in Babel catalogues (`catalogues/<lang>/LC_MESSAGES/messages.po`, English
message ids translated into French), never in code, and are read compiled (`messages.mo`):
`./scripts/setup` and the package's build compile them (`pybabel compile -d texts/catalogues`).
One placeholder convention everywhere, gettext's own: `%(name)s` in code, in the Jinja
templates and in the catalogues, and `%(num)s` for the count of a plural. Plurals follow each
language's rules (French has three forms since Babel 2.19: one, many, other).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime, format_timedelta
from babel.numbers import format_decimal, format_percent
from babel.support import Translations

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
DEFAULT_TIME_ZONE = "Europe/Paris"
CATALOGUES = Path(__file__).parent / "catalogues"


class CataloguesNotCompiled(RuntimeError):
    """The catalogues' compiled files are missing: the process cannot write anything people read."""


def compiled_catalogue(language: str) -> Path:
    return CATALOGUES / language / "LC_MESSAGES" / "messages.mo"


@cache
def translations(language: str) -> Translations:
    path = compiled_catalogue(language)
    if not path.is_file():
        raise CataloguesNotCompiled(
            f"the {language} message catalogue is not compiled ({path} is missing): run "
            "./scripts/setup, or .venv/bin/pybabel compile -d texts/catalogues"
        )
    with path.open("rb") as f:
        return Translations(f, domain="messages")


def check_catalogues() -> None:
    """At a process's start: every catalogue can be read, or say which to compile."""
    for language in LANGUAGES:
        translations(language)


@dataclass(frozen=True)
class Texts:
    """One reader's language and time zone: gettext, ngettext, numbers, dates and durations."""

    language: str
    time_zone: str

    def gettext(self, message: str, **values: object) -> str:
        text = translations(self.language).gettext(message)
        return text % self._written(values) if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        """The form the reader's language gives this count, its `%(num)s` the count written."""
        text = translations(self.language).ngettext(singular, plural, n)
        return text % self._written({"num": n, **values})

    def _written(self, values: dict[str, object]) -> dict[str, object]:
        # Numbers as the reader writes them ("5 000", "2,5"); anything else as it is.
        return {
            name: self.number(value)
            if isinstance(value, int | float) and not isinstance(value, bool)
            else value
            for name, value in values.items()
        }

    # -- numbers -------------------------------------------------------------------------------

    def number(self, value: float, places: int = 2) -> str:
        """A number in the reader's locale, with at most `places` decimals: "5 000", "2,67",
        "3,5" in French; "5,000", "2.67" in English."""
        pattern = "#,##0" + ("." + "#" * places if places else "")
        return format_decimal(value, format=pattern, locale=self.language)

    def percent(self, share: float) -> str:
        """A share as a percentage, with the space the locale gives: "50 %", "50%"."""
        return format_percent(share, locale=self.language)

    def score(self, value: float, out_of: int = 5) -> str:
        """A mean score: "3,5 / 5"."""
        return f"{self.number(value)}\u00a0/\u00a0{out_of}"

    # -- dates and durations -------------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(DEFAULT_TIME_ZONE)

    def moment(self, when: datetime | None) -> str:
        """A date and time as a person reads it: "vendredi 12 décembre 2026 à 18 h",
        "Friday 12 December 2026 at 6:00 PM"."""
        if when is None:
            return ""
        local = when.astimezone(self.zone)
        if self.language == "fr":
            pattern = f"EEEE {_day(local)} MMMM y 'à' H 'h'" + (" mm" if local.minute else "")
        else:
            pattern = "EEEE d MMMM y 'at' h:mm a"
        return format_datetime(local, pattern, locale=self.language)

    def when(self, when: datetime | None) -> str:
        """A date and time without the weekday, for a record: "3 mars 2026 à 14 h",
        "3 March 2026 at 2:00 PM"."""
        if when is None:
            return ""
        local = when.astimezone(self.zone)
        if self.language == "fr":
            pattern = f"{_day(local)} MMMM y 'à' H 'h'" + (" mm" if local.minute else "")
        else:
            pattern = "d MMMM y 'at' h:mm a"
        return format_datetime(local, pattern, locale=self.language)

    def day(self, when: datetime | None) -> str:
        """The day alone, for a subject line: "vendredi 12 décembre", "Friday 12 December"."""
        if when is None:
            return ""
        local = when.astimezone(self.zone)
        day = _day(local) if self.language == "fr" else "d"
        return format_datetime(local, f"EEEE {day} MMMM", locale=self.language)

    def date(self, when: datetime | None) -> str:
        """The date with its year, without the weekday: "3 mars 2026", "3 March 2026"."""
        if when is None:
            return ""
        local = when.astimezone(self.zone)
        day = _day(local) if self.language == "fr" else "d"
        return format_datetime(local, f"{day} MMMM y", locale=self.language)

    def calendar_date(self, day: date | None) -> str:
        """A day of the calendar, with no time nor zone (a charter signed on that day):
        "3 mars 2025", "3 March 2025"."""
        if day is None:
            return ""
        pattern = "'1er'" if self.language == "fr" and day.day == 1 else "d"
        return format_date(day, f"{pattern} MMMM y", locale=self.language)

    def size(self, count: int) -> str:
        """A file's size in words: "2,4 Mo", "2.4 MB", "820 ko"."""
        kilo, mega = ("ko", "Mo") if self.language == "fr" else ("kB", "MB")
        if count >= 1024 * 1024:
            return f"{self.number(count / 1024 / 1024, 1)}\u00a0{mega}"
        return f"{self.number(max(count / 1024, 1), 0)}\u00a0{kilo}"

    def spreadsheet_moment(self, when: datetime | None) -> str:
        """A local date and time a spreadsheet reads as one: "03/03/2026 14:00" in French,
        "2026-03-03 14:00" in English (which every locale of a spreadsheet reads)."""
        if when is None:
            return ""
        pattern = "dd/MM/yyyy HH:mm" if self.language == "fr" else "yyyy-MM-dd HH:mm"
        return format_datetime(when.astimezone(self.zone), pattern, locale=self.language)

    def local(self, when: datetime) -> datetime:
        """The local date and time, without its zone (what a spreadsheet cell holds)."""
        return when.astimezone(self.zone).replace(tzinfo=None)

    def duration(self, length: timedelta) -> str:
        """A duration in words: "3 semaines", "2 jours", "1 heure"."""
        return format_timedelta(length, threshold=1.5, locale=self.language)

    def local_input(self, when: datetime | None) -> str:
        """The value of a datetime-local input, in the reader's time zone."""
        return when.astimezone(self.zone).strftime("%Y-%m-%dT%H:%M") if when else ""


def _day(local: datetime) -> str:
    """The day of the month in a French date: "1er mars", "3 mars"."""
    return "'1er'" if local.day == 1 else "d"


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
