"""French and English stay in step: every text people read is in both catalogues, every plural
form is written, French typography holds, the compiled catalogues are those of the .po files,
and one placeholder convention runs through code, templates and catalogues."""

from __future__ import annotations

import io
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tests.api_helpers import ApiProject
from texts.i18n import LANGUAGES, compiled_catalogue, translations
from texts.words import REFUSALS

ROOT = Path(__file__).parents[2]
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def catalogue(language: str):
    path = ROOT / "texts" / "catalogues" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        return read_po(f, locale=language)


def extracted() -> set[str | tuple[str, str]]:
    """Every message the code and the templates use, found as the README's extract finds
    them (texts/babel.cfg)."""
    with (ROOT / "texts" / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = extract_from_dir(ROOT, method_map, options_map, keywords=KEYWORDS)
    return {message for _, _, message, _, _ in found}


def forms(message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def test_every_text_people_read_is_in_french_and_in_english():
    used = extracted()
    assert len(used) > 300
    for language in LANGUAGES:
        written = {m.id: m for m in catalogue(language) if m.id}
        missing = sorted(str(m) for m in used if m not in written)
        assert not missing, f"not in the {language} catalogue: {missing}"
    french = {m.id: m for m in catalogue("fr") if m.id}
    untranslated = sorted(str(m) for m in used if not all(forms(french[m])))
    assert not untranslated, f"not translated into French: {untranslated}"


def test_every_plural_form_is_written_in_both_catalogues():
    """Babel 2.19 gives French three forms (one, many, other): an empty one falls back to
    the English plural for every count it covers."""
    for language in LANGUAGES:
        for m in catalogue(language):
            if isinstance(m.id, tuple):
                assert all(forms(m)), f"{language}: an empty plural form in {m.id}"
    assert catalogue("fr").num_plurals == 3


def test_no_fuzzy_or_obsolete_translation_is_left():
    for language in LANGUAGES:
        cat = catalogue(language)
        assert not [m.id for m in cat if m.id and m.fuzzy], language
        assert not cat.obsolete, language


def test_the_compiled_catalogues_are_the_po_files_compiled():
    """What the processes read (messages.mo) is what the .po files say: a .po edited and not
    compiled again fails here (./scripts/setup compiles)."""
    for language in LANGUAGES:
        out = io.BytesIO()
        write_mo(out, catalogue(language))
        assert compiled_catalogue(language).read_bytes() == out.getvalue(), language


def test_one_placeholder_convention_in_code_templates_and_catalogues():
    """gettext's %(name)s everywhere: a {name} left in a message would show as typed."""
    braces = re.compile(r"\{[a-z_]+\}")
    for message in extracted():
        for text in message if isinstance(message, tuple) else (message,):
            assert not braces.search(text), text
    for language in LANGUAGES:
        for m in catalogue(language):
            if not m.id:
                continue
            ids = m.id if isinstance(m.id, tuple) else (m.id,)
            names = set(re.findall(r"%\((\w+)\)s", ids[-1])) | (
                {"num"} if isinstance(m.id, tuple) else set()
            )
            for text in forms(m):
                assert set(re.findall(r"%\((\w+)\)s", text)) <= names, (m.id, text)
                assert not braces.search(text), text


def test_french_typography():
    """A no-break space before : and », after «; a narrow one before ; ! ?; never a plain
    space there (a line would break before the sign)."""
    for m in catalogue("fr"):
        for text in forms(m) if m.id else ():
            assert not re.search(r"[ \u202f][:»]|«[ \u202f]| [;!?]| %(?!\()", text), text
            assert not re.search(r"[^\s\u00a0\u202f][:;!?»](\s|$)|«\S", text), text
            assert "'" not in text, f"a typographic apostrophe (’) in French: {text}"


def test_every_refusal_code_the_engine_gives_has_words():
    codes: set[str] = set()
    for path in (ROOT / "domain").glob("*.py"):
        codes |= set(re.findall(r'Rejected\(\s*"([a-z_]+)"', path.read_text("utf-8")))
    assert codes and codes <= set(REFUSALS), codes - set(REFUSALS)


def test_the_catalogues_are_read_compiled():
    assert translations("fr").gettext("Hello,") == "Bonjour,"
    assert translations("en").gettext("Hello,") == "Hello,"


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
