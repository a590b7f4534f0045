"""French and English stay in step; dates read as a person reads them; refusals in the
reader's language, on the pages and in the JSON API."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.extract import extract_from_dir

from tests.api_helpers import ApiProject
from texts.i18n import catalog, texts
from texts.words import REFUSALS

ROOT = Path(__file__).parents[2]


def extracted() -> set[str | tuple[str, str]]:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
    return {
        message
        for folder in (ROOT / "api" / "pages", ROOT / "texts")
        for _, _, message, _, _ in extract_from_dir(folder, method_map, keywords=keywords)
    }


def test_every_text_of_the_pages_is_in_french_and_in_english():
    messages = extracted()
    assert len(messages) > 150
    french, english = catalog("fr"), set(catalog("en")) | _ids("en")
    missing_fr = [m for m in messages if not french.get(m)]
    missing_en = [m for m in messages if m not in english]
    assert not missing_fr, f"not translated into French: {missing_fr}"
    assert not missing_en, f"not in the English catalog: {missing_en}"


def _ids(language: str) -> set:
    from babel.messages.pofile import read_po

    path = ROOT / "texts" / "catalogues" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        return {m.id for m in read_po(f) if m.id}


def test_dates_read_as_a_person_reads_them_in_their_time_zone():
    moment = datetime(2026, 12, 12, 17, 0, tzinfo=UTC)
    assert texts("fr", "Europe/Paris").moment(moment) == "samedi 12 décembre 2026 à 18 h"
    half_past = moment.replace(minute=30)
    assert texts("fr", "America/Cayenne").moment(half_past) == "samedi 12 décembre 2026 à 14 h 30"
    assert texts("en", "Europe/London").moment(moment) == "Saturday 12 December 2026 at 5:00 PM"
    assert texts(None, None).language == "fr"  # French first


def test_every_refusal_code_the_engine_gives_has_words():
    codes: set[str] = set()
    for path in (ROOT / "domain").glob("*.py"):
        codes |= set(re.findall(r'Rejected\(\s*"([a-z_]+)"', path.read_text("utf-8")))
    assert codes and codes <= set(REFUSALS), codes - set(REFUSALS)


async def test_the_json_api_answers_refusals_in_the_language_asked(http):
    project = await ApiProject.launch(http)
    headers = {**project.auth("p1"), "Accept-Language": "fr-FR,fr;q=0.9"}
    response = await http.put(
        f"/projects/{project.id}/answer", json={"kind": "consent"}, headers=headers
    )
    assert response.status_code == 409 and response.json()["code"] == "wrong_phase"
    assert response.json()["message"] == "Ce n’est pas possible dans la phase actuelle du projet."
    english = await project.call("PUT", "/answer", "p1", {"kind": "consent"})
    assert english.json()["message"].startswith("answers are accepted only during the decision")


def test_french_texts_keep_their_punctuation_with_its_space():
    """A narrow no-break space before : ; ? ! % » and after «, so no line breaks there."""
    loose = [
        text
        for texts_ in catalog("fr").values()
        for text in (texts_ if isinstance(texts_, tuple) else (texts_,))
        if re.search(r" [:;?!%»]|« ", text)
    ]
    assert not loose, loose
