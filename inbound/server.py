"""The inbound SMTP service (aiosmtpd): a reply to a decision's e-mail recorded as the
participant's answer, through the same workflow update as the pages and the API.

It takes mail only for the project's reply addresses and refuses the rest when the recipient
is named (RCPT): never a relay. Everything is decided in the SMTP session, never by a later mail
to an address that may be forged: 550 for a bad, expired or revoked token, a sender that is not
the token's owner, a failing DMARC check; 451 (try again later) when Temporal or the worker
cannot take the answer now, so the sending server retries, and the update's id (the
participant and the Message-ID) records it once. Only to a sender it authenticated does it
write back: the answer recorded, or what it understood and how to answer. Machines' mail
(auto-replies, bounces) is accepted and dropped: never an answer, never answered."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import re
import ssl
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any

import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

import temporal_client
from activities.mail.compose import Letter, Sender, message_of
from activities.mail.smtp import MailAdapter
from directory.store import ContactDetails, LazyDirectory, ReplyAsked
from domain import commands as cmd
from domain.models import MailOrigin, Participant, Phase, ReviewChoice
from domain.views import ProjectView
from inbound import letters
from inbound.auth import Authenticator, DnsUnavailable, raw_headers
from inbound.reading import Reading, automatic, read
from inbound.tokens import ReplyTokens
from settings import Settings
from texts.i18n import Texts, texts
from workflows.project import ProjectWorkflow

log = structlog.get_logger("alliance.inbound")


@dataclass
class Asked:
    """What the recipient's reply address asked, and of whom (kept on the envelope)."""

    row: ReplyAsked
    contact: ContactDetails
    participant: Participant


class TryLater(Exception):
    """Temporal or the worker cannot answer now: 451, the sending server retries."""


class RateLimit:
    """At most `per_minute` messages a minute from one address of the sending side (an IPv6
    sender by its /64: one host has many addresses). Bounded: peers idle for a minute are
    forgotten."""

    MAX_PEERS = 10_000

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}

    @staticmethod
    def key(peer: str) -> str:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return peer
        if address.version == 6:
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
        return str(address)

    def allows(self, peer: str) -> bool:
        now = time.monotonic()
        key = self.key(peer)
        seen = self._seen.get(key)
        if seen is None:
            if len(self._seen) >= self.MAX_PEERS:
                self._forget_idle(now)
            seen = self._seen[key] = deque()
        while seen and now - seen[0] > 60:
            seen.popleft()
        if len(seen) >= self.per_minute:
            return False
        seen.append(now)
        return True

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, s in self._seen.items() if not s or now - s[-1] > 60]:
            del self._seen[key]
        while len(self._seen) >= self.MAX_PEERS:  # all busy: the oldest goes
            del self._seen[next(iter(self._seen))]


def _address(value: str) -> str:
    return value.strip().strip("<>").strip().lower()


def _raw_header(raw: bytes, name: str) -> bytes:
    """A header's first value as it came, for keys: never decoded."""
    found = raw_headers(raw, name)
    return found[0].strip().encode("utf-8", "surrogateescape") if found else b""


def message_key(participant_id: str, raw: bytes, signed: bool) -> str:
    """The update's id: the participant and the Message-ID as it came (a hash of the date and
    body without one), so a mail delivered twice records one answer."""
    ident = _raw_header(raw, "Message-ID")
    if not ident:
        ident = hashlib.sha256(_raw_header(raw, "Date") + b"\0" + raw).digest()
    digest = hashlib.sha256(
        participant_id.encode() + b"\0" + ident + b"\0" + (b"signed" if signed else b"")
    ).hexdigest()[:40]
    return f"mail-{digest}"


def sole_sender(message: EmailMessage) -> str | None:
    """The one address of From:, or None (none, several, or unreadable)."""
    try:
        headers = [str(h) for h in message.get_all("From") or []]
        found = [_address(a) for _, a in getaddresses(headers) if a]
    except Exception:  # noqa: BLE001 - a malformed header names nobody
        return None
    return found[0] if len(found) == 1 and "@" in found[0] else None


class InboundHandler:
    def __init__(
        self,
        settings: Settings,
        client: Client,
        directory: LazyDirectory,
        authenticator: Authenticator,
        mailer: MailAdapter,
    ) -> None:
        assert settings.reply_domain, "the inbound service needs ALLIANCE_REPLY_DOMAIN"
        self.settings = settings
        self.domain = settings.reply_domain.lower()
        self.client = client
        self.directory = directory
        self.authenticator = authenticator
        self.mailer = mailer
        assert settings.token_secret is not None, "ALLIANCE_TOKEN_SECRET signs reply addresses"
        self.tokens = ReplyTokens(settings.token_secret.get_secret_value())
        self.rate = RateLimit(settings.inbound_per_minute)
        self.sender = Sender(settings.mail_from, settings.api_url)
        self.rpc_timeout = timedelta(seconds=settings.inbound_rpc_timeout_seconds)
        # Where a relay's Authentication-Results may come from.
        self.relays = [ipaddress.ip_network(r, strict=False) for r in settings.inbound_relays]
        # Letters written back, by message and letter: a redelivery writes none again.
        self._written: dict[str, None] = {}
        self._writing: set[asyncio.Task[None]] = set()

    # -- the SMTP session ------------------------------------------------------------------

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        if not self.rate.allows(peer):
            return "451 4.7.1 Too many messages from your server: try again in a minute"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if envelope.rcpt_tos:
            return "452 4.5.3 One reply address at a time"
        if _address(address) == self.sender.email.lower():
            return (
                "550 5.1.1 This address receives no mail: reply to the decision's e-mail "
                "itself, whose reply address records your answer"
            )
        local, _, domain = _address(address).rpartition("@")
        if domain != self.domain:
            return "550 5.7.1 Relaying denied: this server takes replies to Alliance only"
        row_id = self.tokens.from_address(address, self.domain)
        if row_id is None:
            return "550 5.1.1 No such reply address"
        if not _address(envelope.mail_from or ""):
            return "550 5.7.1 A reply comes from its sender's address, not a null sender"
        try:
            asked = await self._asked(row_id.hex())
        except TryLater:
            return "451 4.3.0 The project cannot be reached now: try again later"
        if isinstance(asked, str):
            return asked
        envelope.asked = asked  # type: ignore[attr-defined]
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        asked: Asked | None = getattr(envelope, "asked", None)
        if asked is None:
            return "554 5.5.1 No valid recipient"
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        project = asked.row.project_id
        if automatic(message, envelope.mail_from):
            log.info("inbound_automatic_mail_dropped", project_id=project)
            return "250 2.0.0 Automatic mail: taken, not an answer"
        owner = _address(asked.contact.email or "")
        # Never says whose address it is: only that the sender is not it.
        if sole_sender(message) != owner:
            return "550 5.7.1 This reply address belongs to another sender"
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        try:
            verdict = await self.authenticator.check(
                raw, owner.rpartition("@")[2], from_relay=self._from_relay(peer)
            )
        except DnsUnavailable:
            return "451 4.4.3 The sender's domain could not be checked now: try again later"
        if verdict.refused == "dmarc":
            return "550 5.7.1 The sender's domain policy (DMARC) rejects this message"
        if verdict.refused is not None:
            return "550 5.7.1 Unsigned mail is not taken: answer on your page"
        review = asked.row.phase == Phase.review.value
        reading = read(message, review)
        t = texts(asked.participant.language.value, asked.participant.time_zone)
        key = message_key(asked.participant.id, raw, verdict.signed)
        try:
            view = await self._view(project)
            heads = (view.title, asked.participant.organisation_name)
            if not reading.understood:
                letter = letters.not_understood(t, *heads, reading, self._link(asked), review)
                self._write_later(asked, letter, raw, key)
                log.info("inbound_reply_not_understood", project_id=project,
                         problem=reading.problem)  # fmt: skip
                return "250 2.0.0 Read, not understood: the sender is told how to answer"
            refused = self._stale(asked, view)
            if refused is None:
                refused = await self._record(asked, reading, key, verdict.signed)
        except TryLater:
            return "451 4.3.0 The project cannot take your answer now: try again later"
        if refused is not None:
            letter = letters.not_taken(t, *heads, refused, self._link(asked))
            self._write_later(asked, letter, raw, key)
            log.info("inbound_reply_not_taken", project_id=project, code=refused)
            return "250 2.0.0 Read; the project did not take it: the sender is told why"
        assert reading.kind is not None
        letter = letters.recorded(t, *heads, reading.kind.value, reading.reason, view.deadline,
                                  self._link(asked))  # fmt: skip
        self._write_later(asked, letter, raw, key)
        log.info("inbound_answer_recorded", project_id=project, signed=verdict.signed)
        return "250 2.0.0 Your answer is recorded"

    async def handle_exception(self, error: Exception) -> str:
        """Whatever went wrong with one message: the sending server tries again later, and
        nothing of the error is said to it."""
        log.warning("inbound_error", error=type(error).__name__)
        return "451 4.3.0 The message could not be handled now: try again later"

    def _from_relay(self, peer: str) -> bool:
        if not self.relays:
            return False
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.relays)

    # -- what the session asks of the directory and the project ------------------------------

    async def _asked(self, row_id: str) -> Asked | str:
        try:
            directory = await self.directory.get()
            row = await directory.reply_address(row_id)
            contact = await directory.contact(row.project_id, row.participant_id) if row else None
        except Exception as e:  # noqa: BLE001 - the database away a moment: try again later
            log.warning("inbound_directory_unavailable", error=type(e).__name__)
            raise TryLater from e
        if row is None:
            return "550 5.1.1 No such reply address"
        if row.expires_at <= datetime.now(UTC):
            return "550 5.1.1 This reply address has expired: answer on your page"
        if contact is None or not contact.email:
            return "550 5.7.1 This reply address no longer answers for anyone"
        participant = await self._participant(row.project_id, row.participant_id)
        if participant is None or not participant.active:
            return "550 5.7.1 This reply address no longer answers for anyone"
        if participant.token_version != row.token_version:
            return "550 5.7.1 This reply address was revoked: answer from a newer message"
        return Asked(row, contact, participant)

    def _handle(self, project_id: str) -> Any:
        return self.client.get_workflow_handle(temporal_client.workflow_id(project_id))

    async def _participant(self, project_id: str, participant_id: str) -> Participant | None:
        try:
            people = await self._handle(project_id).query(
                ProjectWorkflow.participants, rpc_timeout=self.rpc_timeout
            )
        except Exception as e:  # noqa: BLE001 - Temporal or the worker away: try again later
            if isinstance(e, RPCError) and e.status == RPCStatusCode.NOT_FOUND:
                return None  # the project is gone (its retention ended): nobody to answer for
            raise TryLater from e
        return next((p for p in people if p.id == participant_id), None)

    async def _view(self, project_id: str) -> ProjectView:
        try:
            return await self._handle(project_id).query(
                ProjectWorkflow.view, rpc_timeout=self.rpc_timeout
            )
        except Exception as e:  # noqa: BLE001 - Temporal or the worker away
            raise TryLater from e

    def _stale(self, asked: Asked, view: ProjectView) -> str | None:
        """The step the mail asked about is no longer the open one."""
        row = asked.row
        open_step = view.step or view.phase.value
        if view.phase in (Phase.closed, Phase.cancelled):
            return "project_over"
        # A step named as its kind is known by its kind (a charter's version names none).
        same_step = (
            view.phase.value == row.phase if row.step == row.phase else open_step == row.step
        )
        if not view.phase_open or not same_step or (row.round and view.round != row.round):
            return "reply_too_late"
        if row.version and (
            view.charter_awaiting
            or not view.charter.versions
            or view.charter.versions[-1].number != row.version
        ):
            return "reply_too_late"
        return None

    async def _record(self, asked: Asked, reading: Reading, key: str, signed: bool) -> str | None:
        """The answer through the workflow's update; a refusal's code, or None once recorded."""
        assert reading.kind is not None
        participant = asked.participant
        actor = cmd.Actor(participant_id=participant.id, token_version=participant.token_version)
        # What the mail asked: the decider refuses the reply if the project moved on since.
        row = asked.row
        mail_asked = cmd.MailAsked(step=row.step, round=row.round, version=row.version)
        command: cmd.Command
        if isinstance(reading.kind, ReviewChoice):
            command = cmd.AnswerReview(
                actor=actor,
                choice=reading.kind,
                reason=reading.reason or None,
                mail=MailOrigin(signed=signed),
                asked=mail_asked,
            )
        else:
            command = cmd.GiveAnswer(
                actor=actor,
                kind=reading.kind,
                reason=reading.reason or None,
                mail=MailOrigin(signed=signed),
                asked=mail_asked,
            )
        try:
            await temporal_client.execute_action(
                self._handle(asked.row.project_id), command, key=key, rpc_timeout=self.rpc_timeout
            )
        except temporal_client.ActionRefused as refused:
            return refused.code
        except Exception as e:  # noqa: BLE001 - Temporal or the worker away: 451
            log.warning(
                "inbound_try_later", project_id=asked.row.project_id, error=type(e).__name__
            )
            raise TryLater from e
        return None

    # -- writing back, to an authenticated sender only ---------------------------------------

    def _link(self, asked: Asked) -> str | None:
        p = asked.participant
        token = self.mailer.signer.sign(asked.row.project_id, p.id, p.role, p.token_version)
        return f"{self.sender.public_url.rstrip('/')}/p/{token}"

    def _write_later(self, asked: Asked, letter: Letter, raw: bytes, key: str) -> None:
        """The letter goes after the SMTP answer (a slow mail server never delays the 250),
        once per message and letter however often the message is delivered."""
        sent_key = f"{key}/{letter.subject}"
        if sent_key in self._written:
            return
        self._written[sent_key] = None
        while len(self._written) > 10_000:
            self._written.pop(next(iter(self._written)))
        task = asyncio.get_running_loop().create_task(self._write(asked, letter, raw, sent_key))
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    async def _write(self, asked: Asked, letter: Letter, raw: bytes, key: str) -> None:
        email = asked.contact.email
        if not email:
            return
        t: Texts = texts(asked.participant.language.value, asked.participant.time_zone)
        message = message_of(letter, t, email, asked.contact.person_name, key, self.sender)
        del message["Auto-Submitted"]
        message["Auto-Submitted"] = "auto-replied"  # RFC 3834: never answered in turn
        original = _raw_header(raw, "Message-ID").decode("ascii", "replace")
        if re.fullmatch(r"<[^<>\s]{1,250}>", original):
            message["In-Reply-To"] = original
            message["References"] = original
        try:
            await self.mailer.send(message, email)
        except Exception as e:  # noqa: BLE001 - the answer stands; its confirmation is lost
            log.warning("inbound_reply_not_sent", project_id=asked.row.project_id,
                        error=type(e).__name__)  # fmt: skip


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    if settings.inbound_tls_cert is None or settings.inbound_tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.inbound_tls_cert, settings.inbound_tls_key)
    return context


async def serve(
    settings: Settings,
    client: Client,
    directory: LazyDirectory,
    *,
    authenticator: Authenticator | None = None,
    mailer: MailAdapter | None = None,
    port: int | None = None,
) -> Any:
    """The service listening (an asyncio server on this loop, where the Temporal client
    lives)."""
    import asyncio

    from activities.mail.smtp import mail_adapter

    handler = InboundHandler(
        settings,
        client,
        directory,
        authenticator
        or Authenticator(
            accept_unsigned=settings.inbound_accept_unsigned,
            authserv_id=settings.inbound_authserv_id,
        ),
        mailer or mail_adapter(settings),
    )
    context = tls_context(settings)

    def protocol() -> SMTP:
        return SMTP(
            handler,
            data_size_limit=settings.inbound_max_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=settings.reply_domain,
            ident="Alliance inbound",
            tls_context=context,
            require_starttls=settings.inbound_require_tls and context is not None,
            # A reply has one recipient: a session naming many is probing.
            command_call_limit={"RCPT": 5, "MAIL": 10, "*": 40},
        )

    loop = asyncio.get_running_loop()
    return await loop.create_server(protocol, settings.inbound_host, port or settings.inbound_port)
