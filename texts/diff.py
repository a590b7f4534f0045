"""Two versions of a text side by side, word by word: what the later one removed and added,
as HTML marked up after escaping (<del>, <ins>), for the plan's versions on the pages."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from markupsafe import Markup, escape

_TOKENS = re.compile(r"\s+|[^\s]+")


def _words(text: str) -> list[str]:
    return _TOKENS.findall(text)


def word_diff(before: str, after: str) -> tuple[Markup, Markup]:
    """The earlier text with its removed words in <del>, the later with its added words in
    <ins>: whitespace kept as typed, every word escaped."""
    old, new = _words(before), _words(after)
    left: list[str] = []
    right: list[str] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        removed = "".join(old[i1:i2])
        added = "".join(new[j1:j2])
        if op == "equal":
            left.append(str(escape(removed)))
            right.append(str(escape(added)))
            continue
        if removed:
            left.append(f"<del>{escape(removed)}</del>")
        if added:
            right.append(f"<ins>{escape(added)}</ins>")
    return Markup("".join(left)), Markup("".join(right))
