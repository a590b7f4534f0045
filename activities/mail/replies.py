"""Reply addresses on the mails that ask one answer (issue 28): a decision to answer (its
opening, its text written, its reminder) or a version of the charter. Each such mail to a
reader who is asked gets `Reply-To: reponse+<token>@<reply domain>`; the token's row in the
contact directory says what was asked (inbound/tokens.py). Never on digests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from activities.notifications import Notification, Recipient
from directory.store import ReplyAsked
from inbound.tokens import ReplyTokens, new_id

# The phases whose question a reply answers (OUI / NON / ABSTENTION; a review: MAINTENIR /
# AMENDER / FIN).
ANSWERED_BY_REPLY = ("decision", "charter", "review")
# A backstop only: the workflow checks that the step is still open (a deadline extended past
# it leaves the page, and the reminder's own address, to answer with).
GRACE = timedelta(days=90)
WITHOUT_DEADLINE = timedelta(days=60)


def asks(notification: Notification, recipient: Recipient) -> bool:
    """Whether this mail asks this reader one answer a reply can give."""
    facts = notification.facts
    if facts.get("phase") not in ANSWERED_BY_REPLY or recipient.token_version is None:
        return False
    match notification.kind:
        case "phase_opened" | "charter_published":
            return recipient.participant_id in facts.get("expected", "").split(",")
        case "plan_submitted":
            return facts.get("answers_open") == "yes" and recipient.participant_id in facts.get(
                "expected", ""
            ).split(",")
        case "reminder_sent":
            return True  # its recipients are those the step still waits for
    return False


class ReplyAddresses:
    def __init__(
        self,
        tokens: ReplyTokens,
        domain: str,
        store: Callable[[ReplyAsked], Awaitable[None]],
    ) -> None:
        self.tokens = tokens
        self.domain = domain
        self.store = store

    async def address_for(self, notification: Notification, recipient: Recipient) -> str | None:
        if not asks(notification, recipient):
            return None
        facts = notification.facts
        deadline = facts.get("deadline", "")
        now = datetime.now(UTC)
        expires = (datetime.fromisoformat(deadline) + GRACE) if deadline else now + WITHOUT_DEADLINE
        row_id = new_id()
        phase = facts["phase"]
        assert recipient.token_version is not None
        await self.store(
            ReplyAsked(
                id=row_id.hex(),
                project_id=notification.project_id,
                participant_id=recipient.participant_id,
                phase=phase,
                step=facts.get("step") or phase,
                round=int(facts.get("round") or 0),
                version=int(facts.get("version") or 0) if phase == "charter" else 0,
                token_version=recipient.token_version,
                expires_at=expires,
            )
        )
        return self.tokens.address(row_id, self.domain)
