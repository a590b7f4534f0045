"""Delivery by e-mail: one SMTP connection per batch, each message composed in its reader's
language with their personal link, each SMTP answer sorted into "retry" or "give up"."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from email.message import Message
from typing import TYPE_CHECKING

import aiosmtplib

from activities.mail.compose import (
    Letter,
    Sender,
    compose,
    compose_group,
    letter_for,
    wire_bytes,
)
from activities.mail.replies import ReplyAddresses, asks
from activities.notifications import Notification, PermanentDeliveryError, Recipient
from directory.store import ReplyAsked
from inbound.tokens import ReplyTokens
from texts.i18n import texts
from texts.links import TokenSigner, UnsubscribeSigner

if TYPE_CHECKING:
    from settings import Settings


class TemporaryRefusal(Exception):
    """A 4xx (or a refusal ops can fix): retried."""


_STATUS = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})\b")


def reply_code(code: int, message: str) -> str:
    """The reply's codes, never its text: a server's words may name the person ("user
    camille.martin unknown"), and what is recorded of a failure stays in the history."""
    status = _STATUS.match(message or "")
    return f"{code} {status.group(1)}" if status else str(code)


# Kinds whose reader no longer holds a working link.
WITHOUT_LINK = ("participant_removed",)
# Kinds that always go as a message of their own: a digest (sent at its reader's hour), a
# personal link (the reader asked for it, or the old one stopped working), a farewell.
ALONE = ("digest", "link_resent", "link_requested", "participant_removed")


@dataclass
class Group:
    """Notifications of one batch for one reader that go as one message: indices into the
    reader's list, with what each says (none: nothing goes by e-mail)."""

    members: list[int]
    letters: list[Letter] | None = None
    # The member whose question a reply answers, if any.
    asking: int | None = None
    calendar: bool = False
    alone: bool = False  # a kind that goes alone

    def takes(self, kind: str, letter: Letter, asks_reply: bool) -> bool:
        return (
            self.letters is not None
            and not self.alone
            and kind not in ALONE
            and not (letter.calendar is not None and self.calendar)
            and not (asks_reply and self.asking is not None)
        )


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    # "none" (a local catcher), "starttls" (port 587) or "tls" (port 465).
    security: str = "none"
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0


# How long a kept connection has to answer NOOP before it is taken for dead.
NOOP_SECONDS = 2.0


class SmtpPool:
    """A few SMTP connections kept open between batches (since 1.3): a batch takes one, or
    opens one, and gives it back when it ends well. A connection kept is checked with NOOP
    before it is used again (a server closes idle ones: 5 minutes is common), and one idle for
    longer than `idle_seconds` is closed, not tried. Neither aiosmtplib nor aiosmtpd pipelines:
    each message is its own round trips, so concurrency comes from several connections."""

    def __init__(self, server: SmtpServer, size: int = 4, idle_seconds: float = 60.0) -> None:
        self.server = server
        self.size = size
        self.idle_seconds = idle_seconds
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        # Connections opened, and those kept ones found closed by the server (for tests, ops).
        self.opened = 0
        self.stale = 0

    async def take(self) -> aiosmtplib.SMTP:
        while self._idle:
            smtp, since = self._idle.pop()
            if time.monotonic() - since <= self.idle_seconds and smtp.is_connected:
                try:
                    await smtp.noop(timeout=NOOP_SECONDS)
                    return smtp
                except Exception:  # noqa: BLE001 - closed by the server meanwhile: open anew
                    pass
                except BaseException:  # cancelled while checking it: never left open
                    smtp.close()
                    raise
            self.stale += 1
            # One found dead: the others, older, are likely dead too (a relay restarted).
            for older, _ in self._idle:
                older.close()
            self._idle.clear()
            smtp.close()
        return await self._open()

    async def _open(self) -> aiosmtplib.SMTP:
        server = self.server
        smtp = aiosmtplib.SMTP(
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.security == "tls",
            start_tls=True if server.security == "starttls" else False,
            timeout=server.timeout,
        )
        await smtp.connect()
        self.opened += 1
        return smtp

    async def give_back(self, smtp: aiosmtplib.SMTP) -> None:
        if smtp.is_connected and len(self._idle) < self.size:
            self._idle.append((smtp, time.monotonic()))
        else:
            await _quit(smtp)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for smtp, _ in idle:
            await _quit(smtp)


async def _quit(smtp: aiosmtplib.SMTP) -> None:
    if smtp.is_connected:
        try:
            await smtp.quit()
        except Exception:  # noqa: BLE001 - closing a broken connection
            smtp.close()


class _Connection:
    """One batch's SMTP connection, from the pool. Each activity runs in its own task, so
    concurrent batches (one project's dispatches overlap) never share, or close, each other's
    connection."""

    def __init__(self, pool: SmtpPool) -> None:
        self.pool = pool
        self.smtp: aiosmtplib.SMTP | None = None
        # Set when this batch could not connect: the rest of it fails at once, not one timeout
        # per recipient (the retry tries again).
        self.unreachable: Exception | None = None

    async def connected(self) -> aiosmtplib.SMTP:
        if self.unreachable is not None:
            raise self.unreachable
        if self.smtp is not None and self.smtp.is_connected:
            return self.smtp
        try:
            self.smtp = await self.pool.take()
        except Exception as e:
            self.unreachable = e
            raise
        return self.smtp

    async def reset(self) -> None:
        # After a refusal the session may be mid-transaction: start the next one clean.
        if self.smtp is not None and self.smtp.is_connected:
            try:
                await self.smtp.rset()
            except Exception:  # noqa: BLE001 - a broken session is simply reopened
                await self.close()
            except BaseException:  # cancelled mid-RSET: never given back in that state
                self.drop()
                raise

    async def close(self) -> None:
        """Closed for good (after an error): never given back."""
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            await _quit(smtp)

    def drop(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            smtp.close()

    async def release(self) -> None:
        """The batch ended: its connection, if still sound, goes back to the pool."""
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            await self.pool.give_back(smtp)


_connection: ContextVar[_Connection | None] = ContextVar("alliance_smtp_connection", default=None)


class MailAdapter:
    """The notification adapter that sends e-mail. Recipients without an e-mail address in the
    contact directory get nothing (their page shows the news)."""

    name = "email"

    def __init__(
        self,
        server: SmtpServer,
        sender: Sender,
        signer: TokenSigner,
        unsubscribe: UnsubscribeSigner | None = None,
        replies: ReplyAddresses | None = None,
        pool_size: int = 4,
    ) -> None:
        self.server = server
        self.pool = SmtpPool(server, pool_size)
        self.sender = sender
        self.signer = signer
        self.unsubscribe = unsubscribe
        # Reply addresses on the mails that ask one answer (none: replies go nowhere).
        self.replies = replies
        # A participant's tokens are the same in every message until their version changes:
        # signed once, not twice per message (they were a tenth of composing one).
        self._tokens: dict[tuple[str, ...], str] = {}

    def _signed(self, key: tuple[str, ...], sign: Callable[[], str]) -> str:
        token = self._tokens.get(key)
        if token is None:
            if len(self._tokens) >= 10_000:
                self._tokens.clear()
            token = self._tokens[key] = sign()
        return token

    def link_for(self, notification: Notification, recipient: Recipient) -> str | None:
        if recipient.token_version is None or notification.kind in WITHOUT_LINK:
            return None
        project, participant = notification.project_id, recipient.participant_id
        token = self._signed(
            ("p", project, participant, str(recipient.role), str(recipient.token_version)),
            lambda: self.signer.sign(project, participant, recipient.role, recipient.token_version),
        )
        return f"{self.sender.public_url.rstrip('/')}/p/{token}"

    def message_for(
        self, notification: Notification, recipient: Recipient, reply_to: str | None = None
    ) -> Message | None:
        address = recipient.address
        if address is None or not address.email or not recipient.by_email:
            return None
        link = self.link_for(notification, recipient)
        unsubscribe = self._unsubscribe(notification, recipient)
        return compose(
            notification, recipient, address.email, address.person_name, link, self.sender,
            unsubscribe, reply_to,
        )  # fmt: skip

    def groups(self, items: list[tuple[Notification, Recipient]]) -> list[Group]:
        """One reader's notifications of a batch (in order) as messages: consecutive ones go
        together, so "plan submitted", "co-design closed" and "decision open" make two
        messages, not three. A message holds at most one calendar entry (iTIP has one METHOD
        per object: a CANCEL and the next REQUEST go apart) and at most one question a reply
        answers (its Reply-To names it); a digest, a personal link and a farewell go alone."""
        groups: list[Group] = []
        last: Group | None = None  # the message being filled
        for n, (notification, recipient) in enumerate(items):
            address = recipient.address
            if address is None or not address.email or not recipient.by_email:
                groups.append(Group([n]))  # nothing by e-mail: its webhook only
                continue
            t = texts(recipient.language.value, recipient.time_zone)
            letter = letter_for(notification, recipient, self.link_for(notification, recipient), t)
            asks_reply = asks(notification, recipient)
            if last is None or not last.takes(notification.kind, letter, asks_reply):
                last = Group([], [], alone=notification.kind in ALONE)
                groups.append(last)
            assert last.letters is not None
            if asks_reply:
                last.asking = len(last.members)
            last.calendar = last.calendar or letter.calendar is not None
            last.members.append(n)
            last.letters.append(letter)
        return groups

    async def deliver_group(
        self, group: Group, items: list[tuple[Notification, Recipient]]
    ) -> None:
        """One message for the group's notifications (composed by `groups`)."""
        if group.letters is None:
            return
        parts = [
            (items[n][0], letter) for n, letter in zip(group.members, group.letters, strict=True)
        ]
        first, recipient = items[group.members[0]]
        address = recipient.address
        assert address is not None and address.email
        reply_to = None
        if self.replies is not None and group.asking is not None:
            reply_to = await self.replies.address_for(*items[group.members[group.asking]])
        message = compose_group(
            parts, recipient, address.email, address.person_name,
            self.link_for(first, recipient), self.sender,
            texts(recipient.language.value, recipient.time_zone),
            unsubscribe=self._unsubscribe(first, recipient),
            reply_to=reply_to, asking=group.asking,
        )  # fmt: skip
        await self.send(message, address.email)

    def _unsubscribe(self, notification: Notification, recipient: Recipient) -> str | None:
        if self.unsubscribe is None or notification.kind in WITHOUT_LINK:
            return None
        signer = self.unsubscribe
        token = self._signed(
            ("u", notification.project_id, recipient.participant_id),
            lambda: signer.sign(notification.project_id, recipient.participant_id),
        )
        return f"{self.sender.public_url.rstrip('/')}/desabonnement/{token}"

    async def deliver(self, notification: Notification, recipient: Recipient) -> None:
        reply_to = None
        if self.replies is not None and recipient.address is not None and recipient.by_email:
            reply_to = await self.replies.address_for(notification, recipient)
        message = self.message_for(notification, recipient, reply_to)
        if message is None:
            return
        assert recipient.address is not None and recipient.address.email
        await self.send(message, recipient.address.email)

    async def close(self) -> None:
        """The connections kept between batches (when the worker stops)."""
        await self.pool.close()

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """One connection for a batch's messages (this task's), from the pool and given back
        after it (closed if the batch ended in an error)."""
        connection = _Connection(self.pool)
        token = _connection.set(connection)
        try:
            yield
        except BaseException:
            _connection.reset(token)
            await connection.close()
            raise
        _connection.reset(token)
        await connection.release()

    async def send(self, message: Message, to: str) -> None:
        connection = _connection.get()
        if connection is None:  # outside a batch: a connection for this message alone
            async with self.batch():
                await self.send(message, to)
            return
        smtp = await connection.connected()
        try:
            # Flattened once, here: aiosmtplib's send_message would parse and fold it again.
            await smtp.sendmail(self.sender.email, [to], wire_bytes(message))
        except aiosmtplib.SMTPRecipientsRefused as e:
            await connection.reset()
            refusal = e.recipients[0] if e.recipients else None
            code = reply_code(refusal.code, refusal.message) if refusal else "?"
            if refusal is not None and refusal.code >= 500:
                raise PermanentDeliveryError(
                    f"the mail server refused the address: {code}"
                ) from None
            raise TemporaryRefusal(f"the mail server put off the address: {code}") from None
        except aiosmtplib.SMTPDataError as e:
            await connection.reset()
            if e.code >= 500:
                raise PermanentDeliveryError(
                    f"the mail server refused the message: {reply_code(e.code, e.message)}"
                ) from None
            raise TemporaryRefusal(
                f"the mail server put off the message: {reply_code(e.code, e.message)}"
            ) from None
        except aiosmtplib.SMTPResponseException as e:
            await connection.close()
            raise TemporaryRefusal(
                f"the mail server answered: {reply_code(e.code, e.message)}"
            ) from None
        except Exception:
            # Disconnected, timed out, the sender refused (settings ops can fix): retried.
            await connection.close()
            raise
        except BaseException:
            # Cancelled mid-transaction (the at-once budget spent): this connection is in an
            # unknown state, so it is dropped at once, never used or given back again.
            connection.drop()
            raise


def mail_adapter(
    settings: Settings, directory: Callable[[ReplyAsked], Awaitable[None]] | None = None
) -> MailAdapter:
    """E-mail through the SMTP server of the settings, with each reader's personal link (the
    worker's notifications, and the API's links sent on request)."""
    if settings.token_secret is None:
        raise SystemExit(
            "ALLIANCE_TOKEN_SECRET is not set: the worker signs the personal links its e-mails "
            "carry, with the same secret as the API."
        )
    server = SmtpServer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        timeout=settings.smtp_timeout_seconds,
    )
    secret = settings.token_secret.get_secret_value()
    replies = None
    if directory is not None and settings.reply_domain:
        replies = ReplyAddresses(ReplyTokens(secret), settings.reply_domain, directory)
    return MailAdapter(
        server,
        Sender(settings.mail_from, settings.api_url),
        TokenSigner(secret),
        UnsubscribeSigner(secret),
        replies,
        settings.smtp_pool_size,
    )
