"""Every code a person could meet has its words, in French and in English: no enum value, no
event type, no closing cause is ever shown as it is stored."""

from __future__ import annotations

import typing

import pytest

from domain import events as ev
from domain.models import (
    AnswerKind,
    ContributionKind,
    DecisionRule,
    Language,
    NotificationPreference,
    OrganisationKind,
    Outcome,
    Phase,
    Role,
)
from domain.notices import ESSENTIALS
from tests.texts.test_catalogues import catalogue
from texts import words
from texts.i18n import texts

WORDS_OF = [
    (Role, words.ROLES),
    (OrganisationKind, words.KINDS),
    (Phase, words.PHASES),
    (DecisionRule, words.RULES),
    (DecisionRule, words.RULE_NAMES),
    (DecisionRule, words.RULE_MANNERS),
    (AnswerKind, words.ANSWERS),
    (AnswerKind, words.ANSWER_HINTS),
    (ContributionKind, words.CONTRIBUTIONS),
    (Outcome, words.OUTCOMES),
    (Outcome, words.PROJECT_OUTCOMES),
    (NotificationPreference, words.PREFERENCES),
    (NotificationPreference, words.PREFERENCE_HINTS),
]


@pytest.mark.parametrize(("enum", "table"), WORDS_OF, ids=lambda x: getattr(x, "__name__", ""))
def test_every_value_has_its_words_in_both_catalogues(enum, table):
    french = {m.id: m.string for m in catalogue("fr") if m.id}
    english = {m.id for m in catalogue("en") if m.id}
    for value in enum:
        assert value.value in table, f"{enum.__name__}.{value.value} has no words"
        message = table[value.value]
        assert french.get(message), f"{message!r} is not translated into French"
        assert message in english, f"{message!r} is not in the English catalogue"


def test_every_language_is_named_in_its_own_language():
    assert set(words.LANGUAGES) == {language.value for language in Language}


def test_every_kind_of_message_has_its_words():
    """The messages people are told of (the list of those not delivered names them)."""
    told = {
        typing.get_args(cls.model_fields["type"].annotation)[0]
        for cls in ev.EventData.__subclasses__()
    } - {"participant_updated", "participant_erased", "contribution_added", "proposal_submitted",
         "proposal_amended", "proposal_endorsed", "answer_given", "progress_noted",
         "assessment_given", "notification_failed", "cooperation_answered", "term_proposed",
         "definition_proposed", "term_commented", "term_validated", "terms_merged",
         "charter_noted", "charter_signed", "newcomer_answered",
         "charter_amendment_answered", "college_emptied", "proposal_withdrawn",
         "project_edited", "review_answered", "amendment_dropped"}  # fmt: skip
    # Kinds a notice gives an event of another type: a partner leaving is a removal.
    told |= {"participant_left"}
    assert ESSENTIALS <= told | {"project_launched"}
    assert told <= set(words.MESSAGES), told - set(words.MESSAGES)


@pytest.mark.parametrize("cause", ["complete", "deadline", "facilitator", "plan_submitted"])
@pytest.mark.parametrize("phase", [p.value for p in Phase])
def test_every_closing_is_said_in_words(phase, cause):
    french = words.closing(texts("fr", None), phase, cause)
    assert french and "_" not in french and cause not in french.split()
    assert words.closing(texts("en", None), phase, cause)


def test_a_round_is_said_as_people_say_it():
    fr, en = texts("fr", None), texts("en", None)
    assert [words.round_name(fr, n) for n in (1, 2, 3)] == ["1er tour", "2e tour", "3e tour"]
    assert [words.round_name(en, n) for n in (1, 2)] == ["round 1", "round 2"]
