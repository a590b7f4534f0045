"""The local run's mail catcher: an SMTP server on loopback (aiosmtpd) that keeps every message
it receives as a file under the data directory, for the local page /courrier (api/pages/mail.py)
and for tests. Nothing leaves the machine."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

_counter = itertools.count()
# aiosmtpd logs every SMTP command at INFO, addresses included: logs carry no personal data
# (and a newcomer's console no protocol chatter).
logging.getLogger("mail.log").setLevel(logging.WARNING)


class KeepMessages:
    """The aiosmtpd handler: one .eml file per message and recipient, written whole (a file
    in the folder is always a complete message)."""

    def __init__(
        self,
        folder: Path,
        refuse: Callable[[str], str | None] | None = None,
        keep: bool = True,
    ) -> None:
        self.folder = folder
        # An address -> the SMTP reply refusing it (tests: "550 no such mailbox"), or None.
        self.refuse = refuse
        # Not kept (the benchmark's sink): one line per message in received.log, no file each.
        self.keep = keep

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        refusal = self.refuse(address) if self.refuse else None
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        if not self.keep:
            with (self.folder / "received.log").open("a") as log:
                log.write(f"{len(envelope.rcpt_tos)} {len(content)}\n")
            return "250 Message accepted"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        for recipient in envelope.rcpt_tos:
            name = f"{stamp}-{next(_counter):06d}"
            header = f"X-Alliance-Envelope-To: {recipient}\r\n".encode()
            partial = self.folder / f".{name}.part"
            partial.write_bytes(header + content)
            os.replace(partial, self.folder / f"{name}.eml")
        return "250 Message accepted"


class MailCatcher:
    """An SMTP server on the running event loop; `async with` starts and stops it."""

    def __init__(
        self,
        folder: Path,
        host: str = "127.0.0.1",
        port: int = 8025,
        refuse: Callable[[str], str | None] | None = None,
        keep: bool = True,
    ) -> None:
        self.folder = folder
        self.host = host
        self.port = port
        self.handler = KeepMessages(folder, refuse, keep)
        self._server: asyncio.Server | None = None
        # The sessions open now: a stopped catcher ends them too, as a server that goes down
        # does (senders keep connections open between batches).
        self._sessions: set[SMTP] = set()

    def _session(self) -> SMTP:
        session = SMTP(self.handler, hostname="alliance-mail-catcher", enable_SMTPUTF8=True)
        if len(self._sessions) >= 64:  # forget those that ended
            self._sessions = {s for s in self._sessions if s.transport is not None}
        self._sessions.add(session)
        return session

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._session, self.host, self.port)
        if self.port == 0:
            self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            sessions, self._sessions = self._sessions, set()
            for session in sessions:
                if session.transport is not None:
                    session.transport.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> MailCatcher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def messages(self) -> list[EmailMessage]:
        return read_messages(self.folder)


def message_files(folder: Path) -> list[Path]:
    """Every message kept, oldest first."""
    return sorted(folder.glob("*.eml")) if folder.exists() else []


def read_message(path: Path) -> EmailMessage:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def read_messages(folder: Path) -> list[EmailMessage]:
    return [read_message(path) for path in message_files(folder)]


async def _serve(folder: Path, host: str, port: int, keep: bool) -> None:
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with MailCatcher(folder, host, port, keep=keep):
        print(f"mail catcher on {host}:{port}, keeping messages in {folder}", flush=True)
        await stop.wait()


if __name__ == "__main__":
    # python -m activities.mail.catcher FOLDER [PORT] [--count-only]: the catcher alone (the
    # benchmark's sink counts what it receives instead of keeping each message).
    import sys

    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    port = int(arguments[1]) if len(arguments) > 1 else 8025
    asyncio.run(_serve(Path(arguments[0]), "127.0.0.1", port, "--count-only" not in sys.argv))
