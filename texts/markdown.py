"""Markdown that shows people's texts as typed: nothing a partner wrote becomes markup (links,
images, emphasis, headings, raw HTML) wherever it is shown (the report, the charter)."""

from __future__ import annotations

import re

_MARKUP = re.compile(r"([\\`*_\[\]()#!|~{}])")
# What makes a list or a heading at the start of a line: "- ", "+ ", "=", "1. ", "1) ".
_LINE_START = re.compile(r"^(\s*(?:\d+)?)([-+=.)])", re.MULTILINE)


def md(text: str) -> str:
    """A name or text as Markdown that shows it as typed: nothing a partner wrote becomes
    markup (links, images, emphasis, headings, raw HTML) wherever the report is shown."""
    escaped = _MARKUP.sub(r"\\\1", text)
    escaped = escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _LINE_START.sub(r"\1\\\2", escaped)


def md_item(text: str, indent: str = "  ") -> str:
    """A text inside a list item: its later lines indented, so they stay in the item."""
    return md(text).replace("\n", "\n" + indent)


def md_cell(text: str) -> str:
    return md(text).replace("\n", " ")


def md_quote(text: str) -> str:
    return "> " + md(text).replace("\n", "\n> ")
