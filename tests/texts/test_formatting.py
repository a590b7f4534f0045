"""Numbers, dates and plurals as Babel writes them for the reader's locale: never by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from babel.numbers import format_decimal, get_group_symbol

from texts.i18n import texts

FR = texts("fr", "Europe/Paris")
EN = texts("en", "Europe/London")


def test_numbers_take_the_locales_marks():
    # The grouping space CLDR gives French, as the installed Babel has it (U+202F today).
    group = get_group_symbol("fr")
    assert group in ("\u202f", "\u00a0") and format_decimal(5000, locale="fr") == f"5{group}000"
    assert FR.number(5000) == f"5{group}000" and FR.number(12500) == f"12{group}500"
    assert FR.number(2.6667) == "2,67" and FR.number(3.5) == "3,5" and FR.number(4.0) == "4"
    assert EN.number(5000) == "5,000" and EN.number(2.6667) == "2.67"
    assert FR.percent(0.4) == "40\u00a0%" and EN.percent(0.4) == "40%"
    assert FR.score(3.5) == "3,5\u00a0/\u00a05"


def test_plurals_follow_each_languages_rules():
    one, many = "%(num)s objection", "%(num)s objections"
    assert FR.ngettext(one, many, 0) == "0 objection"  # French: 0 and 1 are singular
    assert FR.ngettext(one, many, 1) == "1 objection"
    assert FR.ngettext(one, many, 2) == "2 objections"
    assert (
        FR.ngettext(one, many, 1_000_000)
        == f"1{get_group_symbol('fr')}000{get_group_symbol('fr')}000 d’objections"
    )
    assert (
        EN.ngettext(one, many, 0) == "0 objections" and EN.ngettext(one, many, 1) == "1 objection"
    )


def test_dates_read_as_a_person_reads_them_in_their_time_zone():
    moment = datetime(2026, 12, 12, 17, 0, tzinfo=UTC)
    assert FR.moment(moment) == "samedi 12 décembre 2026 à 18 h"
    half_past = moment.replace(minute=30)
    assert texts("fr", "America/Cayenne").moment(half_past) == "samedi 12 décembre 2026 à 14 h 30"
    assert EN.moment(moment) == "Saturday 12 December 2026 at 5:00 PM"
    first = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)
    assert FR.when(first) == "1er mars 2026 à 14 h" and FR.date(first) == "1er mars 2026"
    assert FR.day(first) == "dimanche 1er mars"
    assert FR.spreadsheet_moment(first) == "01/03/2026 14:00"
    assert EN.spreadsheet_moment(first) == "2026-03-01 13:00"
    assert texts(None, None).language == "fr"  # French first


def test_durations_in_words():
    assert FR.duration(timedelta(days=21)) == "3\u00a0semaines"
    assert EN.duration(timedelta(days=2)) == "2 days"


def test_a_number_given_to_a_message_is_written_for_its_reader():
    assert FR.gettext("Give a number of at least %(ge)s.", ge=5000).endswith(
        f"5{get_group_symbol('fr')}000."
    )
