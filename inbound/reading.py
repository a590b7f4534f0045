"""What a reply to a decision's e-mail says, in one rule: the first word of the first non-empty
line above the quoted text decides (OUI / CONSENS, NON / OBJECTION, ABSTENTION, and YES / NO /
ABSTAIN); the rest of that line and the lines below it, down to the quoted text or the
signature, are the reason. Nothing else is guessed.

Mail written by machines (auto-replies, out-of-office notices, bounces) is never an answer and
is never answered: `automatic` says so from its headers, kind and subject.

Pure: a parsed message in, a reading out; no I/O."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from email.message import EmailMessage, Message
from html.parser import HTMLParser

from domain.models import AnswerKind, ReviewChoice

# The words a reply to a decision (or a charter) may start with, without regard to case or
# accents.
WORDS: dict[str, AnswerKind] = {
    "oui": AnswerKind.consent,
    "consens": AnswerKind.consent,
    "consent": AnswerKind.consent,
    "yes": AnswerKind.consent,
    "non": AnswerKind.object,
    "objection": AnswerKind.object,
    "no": AnswerKind.object,
    "abstention": AnswerKind.abstain,
    "abstain": AnswerKind.abstain,
}
# The words a reply to a review may start with ("METTRE FIN" too).
REVIEW_WORDS: dict[str, ReviewChoice] = {
    "maintenir": ReviewChoice.keep,
    "keep": ReviewChoice.keep,
    "amender": ReviewChoice.amend,
    "amend": ReviewChoice.amend,
    "fin": ReviewChoice.end,
    "mettre": ReviewChoice.end,
    "end": ReviewChoice.end,
}
# A reason is a partner's note (domain.fields.Note).
MAX_REASON = 2000

# Where the quoted message begins: a quoted line, "Le … a écrit :" (on one line or two),
# "On … wrote:", Outlook's header block or separators.
_QUOTE_STARTS = (
    re.compile(r"^\s*>"),
    re.compile(r"^\s*le\s.+\s(a\s)?[ée]crit\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*on\s.+\swrote\s*:\s*$", re.IGNORECASE),
    re.compile(
        r"^\s*-{2,}\s*(original message|message d.origine|message original)\s*-{2,}\s*$",
        re.IGNORECASE,
    ),  # fmt: skip
    re.compile(r"^\s*_{10,}\s*$"),
    re.compile(r"^\s*(de|from)\s*:\s*\S", re.IGNORECASE),
)
# "Le lun. 5 déc. 2026 à 10:00, Alliance <reponse+…@…>" then "a écrit :" on the next line.
_WROTE_ALONE = re.compile(r"^\s*(a\s)?[ée]crit\s*:\s*$|^\s*wrote\s*:\s*$", re.IGNORECASE)
_SIGNATURES = (
    re.compile(r"^--\s*$"),
    re.compile(r"^\s*(envoy[ée]|sent)\s+(de|depuis|from)\s+(mon|my)\s", re.IGNORECASE),
    re.compile(r"^\s*(envoy[ée] de|sent from)\s+(outlook|gmail|yahoo)", re.IGNORECASE),
)
_AUTO_SUBJECTS = re.compile(
    r"^\s*(r[ée]ponse automatique|absence du bureau|absent\b|auto(matic)?[ -]?reply|"
    r"out of (the )?office|auto:|automatische antwort|undeliverable|delivery status|"
    r"mail delivery|non remis|message non distribu)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Reading:
    """What the reply says: its answer and reason, or why it is not understood ("empty",
    "unknown_word", "reason_required", "reason_too_long") with the line that was read."""

    kind: AnswerKind | ReviewChoice | None
    reason: str
    line: str = ""
    problem: str | None = None

    @property
    def understood(self) -> bool:
        return self.problem is None and self.kind is not None


def automatic(message: Message, envelope_sender: str | None = None) -> bool:
    """Mail a machine wrote: never an answer, never answered (no mail loops)."""
    if envelope_sender is not None and envelope_sender.strip() in ("", "<>"):
        return True  # a bounce's null sender
    submitted = str(message.get("Auto-Submitted", "")).strip().lower()
    if submitted and submitted != "no":
        return True
    if message.get("X-Autoreply") is not None or message.get("X-Autorespond") is not None:
        return True
    if message.get("X-Auto-Response-Suppress") is not None and message.get("In-Reply-To") is None:
        return True  # Outlook's own notices carry it without answering anything
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in ("bulk", "auto_reply", "junk", "list"):
        return True
    if message.get_content_type() == "multipart/report":
        return True  # a delivery or read report
    return bool(_AUTO_SUBJECTS.match(str(message.get("Subject", ""))))


def reply_text(message: Message) -> str:
    """The reply's own text: its plain part, or its HTML part's text without what it quotes."""
    plain = _part(message, "text/plain")
    if plain is not None:
        return plain
    html = _part(message, "text/html")
    return _html_text(html) if html is not None else ""


def read(message: Message, review: bool = False) -> Reading:
    return read_text(reply_text(message), review)


def read_text(text: str, review: bool = False) -> Reading:
    lines = _own_lines(text)
    first = next((n for n, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return Reading(None, "", problem="empty")
    line = lines[first].strip()
    match = re.match(r"^\W*([^\W\d_]+)(.*)$", line, re.UNICODE)
    word = _folded(match.group(1)) if match else ""
    kind: AnswerKind | ReviewChoice | None = (REVIEW_WORDS if review else WORDS).get(word)
    rest = match.group(2) if match else ""
    if review and word == "mettre":  # "METTRE FIN", not "mettre" alone
        after = re.match(r"^\s+([^\W\d_]+)(.*)$", rest, re.UNICODE)
        kind = ReviewChoice.end if after and _folded(after.group(1)) == "fin" else None
        rest = after.group(2) if kind is not None and after else rest
    if kind == AnswerKind.object and re.match(r"^\W*(objection|objecte)\b", _folded(rest)):
        kind = None  # "No objection" is not an objection, nor guessed a consent
    if kind is None:
        return Reading(None, "", line=line[:200], problem="unknown_word")
    rest = re.sub(r"^[\s,.;:!?–—-]+", "", rest)
    reason = "\n".join([rest, *lines[first + 1 :]]).strip()
    reason = re.sub(r"\n{3,}", "\n\n", reason)
    needs_reason = kind in (AnswerKind.object, ReviewChoice.amend, ReviewChoice.end)
    if needs_reason and not reason:
        return Reading(kind, "", line=line[:200], problem="reason_required")
    if len(reason) > MAX_REASON:
        return Reading(kind, "", line=line[:200], problem="reason_too_long")
    return Reading(kind, reason, line=line[:200])


def _own_lines(text: str) -> list[str]:
    """The lines above the quoted text and the signature."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    own: list[str] = []
    for n, line in enumerate(lines):
        if any(p.match(line) for p in _SIGNATURES):
            break
        if any(p.match(line) for p in _QUOTE_STARTS):
            break
        following = lines[n + 1] if n + 1 < len(lines) else ""
        if re.match(r"^\s*(le|on)\s", line, re.IGNORECASE) and _WROTE_ALONE.match(following):
            break
        own.append(line.rstrip())
    return own


def _folded(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _part(message: Message, content_type: str) -> str | None:
    for part in message.walk() if message.is_multipart() else [message]:
        if part.get_content_type() != content_type:
            continue
        if str(part.get("Content-Disposition", "")).lower().startswith("attachment"):
            continue
        try:
            if isinstance(part, EmailMessage):
                return str(part.get_content())
            payload = part.get_payload(decode=True)
            charset = part.get_content_charset() or "utf-8"
            return payload.decode(charset, errors="replace") if isinstance(payload, bytes) else ""
        except (LookupError, ValueError, AttributeError):
            payload = part.get_payload(decode=True)
            return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return None


class _TextOfHtml(HTMLParser):
    """An HTML reply's text, without the message it quotes (blockquote, Gmail's quote)."""

    _SKIPPED = frozenset({"blockquote", "style", "script", "head", "title"})
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = " ".join(v or "" for k, v in attrs if k == "class")
        if self.skipping or tag in self._SKIPPED or "quote" in classes:
            if tag not in ("br", "img", "hr", "meta", "input", "link"):
                self.skipping.append(tag)
            return
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if self.skipping[-1] == tag:
                self.skipping.pop()
            return
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def _html_text(html: str) -> str:
    parser = _TextOfHtml()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):
        pass  # what was read so far stands
    text = "".join(parser.parts).replace("\xa0", " ")
    return re.sub(r"[ \t]+\n", "\n", text)
