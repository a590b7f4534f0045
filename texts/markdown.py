"""Markdown that shows people's texts as typed: nothing a partner wrote becomes markup (links,
images, emphasis, headings, raw HTML) wherever it is shown (the report, the charter)."""

from __future__ import annotations

import html
import re

from markdown_it import MarkdownIt

# What people typed is escaped (md); raw HTML stays text all the same.
MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")

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


def printable_page(title: str, markdown: str, language: str) -> str:
    """A document as a page of its own, to print or save as PDF: its Markdown, a layout that
    holds on A4 (margins, no table or heading split across pages)."""
    body = MARKDOWN.render(markdown)
    return (
        f'<!doctype html>\n<html lang="{language}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{PRINT_STYLE}</style>\n"
        f"</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n"
    )


PRINT_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:46rem;"
    "margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1b1b1b}"
    "table{border-collapse:collapse;width:100%;margin:0 0 1rem}"
    "td,th{border:1px solid #999;padding:.25rem .5rem;text-align:left;vertical-align:top}"
    "blockquote{margin:0 0 1rem;padding:.25rem 1rem;border-left:4px solid #6b6b6b}"
    "@page{size:A4;margin:18mm 16mm}"
    "@media print{body{margin:0;max-width:none;padding:0;font-size:10.5pt}"
    "h1,h2,h3{break-after:avoid}table,tr,blockquote,li{break-inside:avoid}"
    "a{color:inherit;text-decoration:none}}"
)
