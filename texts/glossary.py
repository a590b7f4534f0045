"""The project's common language on its pages: a validated term's first use on a page links
to its glossary entry, its definition as the link's accessible description.

Matched without regard to case, with the simple plurals (-s, -x) and after an elision ("l'",
"d'"); the text is escaped first and the links inserted after, so nothing people typed ever
becomes markup. One glosser per page: each term is linked once, at its first use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from domain.models import Term


@dataclass
class Glosser:
    # (term id, the term as written, its validated definition), longest terms first.
    terms: list[tuple[str, str, str]]
    # Where the glossary page is: each link goes to its entry there.
    href: str
    # The terms linked on this page so far, with their definitions (for their descriptions).
    used: dict[str, str] = field(default_factory=dict)
    _pattern: re.Pattern[str] | None = None

    @classmethod
    def of(cls, glossary: list[Term], href: str) -> Glosser:
        validated = [
            (t.id, t.term, d.text)
            for t in glossary
            if t.merged_into is None and (d := t.definition()) is not None and t.term.strip()
        ]
        validated.sort(key=lambda t: len(t[1]), reverse=True)
        return cls(terms=validated, href=href)

    def pattern(self) -> re.Pattern[str] | None:
        if self._pattern is None and self.terms:
            alternatives = "|".join(
                f"(?P<t{n}>{_words(str(escape(word)))}(?:s|x)?)"
                for n, (_, word, _) in enumerate(self.terms)
            )
            # Not inside a word, nor inside an escaped character (&#39;, &amp;).
            self._pattern = re.compile(rf"(?<![\w&#])(?:{alternatives})(?![\w;])", re.IGNORECASE)
        return self._pattern

    def __call__(self, text: str | None) -> Markup:
        escaped = str(escape(text or ""))
        pattern = self.pattern()
        if pattern is None:
            return Markup(escaped)

        def linked(match: re.Match[str]) -> str:
            n = next(int(name[1:]) for name, value in match.groupdict().items() if value)
            term_id, _word, definition = self.terms[n]
            if term_id in self.used:
                return match.group(0)
            self.used[term_id] = definition
            return (
                f'<a href="{escape(self.href)}#{escape(term_id)}" class="term" '
                f'aria-describedby="gloss-{escape(term_id)}">{match.group(0)}</a>'
            )

        return Markup(pattern.sub(linked, escaped))


def _words(word: str) -> str:
    # A term of several words matches whatever spaces stand between them.
    return r"\s+".join(re.escape(part) for part in word.split())
