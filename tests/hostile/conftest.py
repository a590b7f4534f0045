"""Hostile input (issue 30): what was tried, counted per route and form, printed at the end of
the run whatever its verbosity."""

from __future__ import annotations

from collections import Counter

from hypothesis import strategies as st

TRIED: Counter[str] = Counter()

# What people paste, type by mistake or send on purpose.
SPECIALS = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "</textarea><svg onload=alert(1)>",
    "[cliquez](javascript:alert(1)) **gras** _penché_ `code` # Titre",
    "\u202eevil.exe\u202c et \u200fخطة\u200f",  # right-to-left override and marks
    '=HYPERLINK("http://exemple.test";"x")',
    "+33 1 23 45 67 89",
    "-2+3",
    "@SUM(A1:A2)",
    "\tindenté",
    "\rretour",
    "nul\x00octet et \x1b[31méchappement\x07",
    "Ünïcödé 🌱 ﷽ ẞ",
]
EVERYTHING = " ".join(SPECIALS)
# The same without control characters (a form refuses those): markup, Markdown, formulas,
# right-to-left marks, any script. Stored as typed, shown as text.
PRINTABLE = " ".join(s for s in SPECIALS if not any(c < " " for c in s))
HUGE = "ê" * (128 * 1024)  # 256 KiB in UTF-8
# What must never come back unescaped in a page, a message or a report.
RAW_MARKUP = ("<script>alert", "<img src=x", "<svg onload")

hostile_text = st.one_of(
    st.sampled_from(SPECIALS),
    st.text(max_size=300),
    st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Mn"]), max_size=40),
    st.builds(lambda a, b: a + b, st.sampled_from(SPECIALS), st.text(max_size=60)),
)


def pytest_terminal_summary(terminalreporter) -> None:
    if not TRIED:
        return
    write = terminalreporter.write_line
    write("")
    write(f"hostile input: {sum(TRIED.values())} cases over {len(TRIED)} routes and forms")
    for what, count in sorted(TRIED.items()):
        write(f"  {count:5d}  {what}")
