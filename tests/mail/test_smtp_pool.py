"""SMTP connections kept between batches (issue 29): reused while sound, checked before reuse,
opened anew after the server went down, never given back after an error (a real SMTP server on
loopback)."""

from __future__ import annotations

from email.mime.text import MIMEText

from activities.mail.catcher import MailCatcher, read_messages
from activities.mail.compose import Sender
from activities.mail.smtp import MailAdapter, SmtpServer, TemporaryRefusal
from tests.helpers import free_port
from texts.links import TokenSigner

SENDER = Sender("Alliance <alliance@example.org>", "https://alliance.example.org")


def adapter(port: int, pool_size: int = 4) -> MailAdapter:
    return MailAdapter(SmtpServer("127.0.0.1", port), SENDER, TokenSigner("s"), pool_size=pool_size)


def message(n: int) -> MIMEText:
    m = MIMEText(f"message {n}")
    m["Subject"], m["Message-ID"] = f"n{n}", f"<n{n}@example.org>"
    return m


async def batch(mail: MailAdapter, *numbers: int) -> None:
    async with mail.batch():
        for n in numbers:
            await mail.send(message(n), f"p{n}@example.org")


async def test_batches_share_a_kept_connection_and_a_dead_one_is_replaced(tmp_path):
    port = free_port()
    catcher = MailCatcher(tmp_path / "caught", port=port)
    await catcher.start()
    mail = adapter(port)
    await batch(mail, 1, 2)
    await batch(mail, 3)
    await batch(mail, 4)
    assert mail.pool.opened == 1  # three batches, one connection

    # The server goes down and comes back: the kept connection is found dead (NOOP) before
    # it carries anything, and a new one takes the message.
    await catcher.stop()
    catcher = MailCatcher(tmp_path / "caught", port=port)
    await catcher.start()
    await batch(mail, 5)
    assert (mail.pool.opened, mail.pool.stale) == (2, 1)
    await mail.pool.close()
    await catcher.stop()
    assert sorted(str(m["Subject"]) for m in read_messages(tmp_path / "caught")) == [
        f"n{n}" for n in range(1, 6)
    ]


async def test_a_connection_that_failed_is_not_kept_and_idle_ones_are_closed(tmp_path):
    port = free_port()

    def refuse(address: str) -> str | None:
        return "451 4.3.0 try later" if address.startswith("p2@") else None

    async with MailCatcher(tmp_path / "caught", port=port, refuse=refuse):
        mail = adapter(port)
        async with mail.batch():  # as the activity sends: each message's failure its own
            await mail.send(message(1), "p1@example.org")
            try:
                await mail.send(message(2), "p2@example.org")
            except TemporaryRefusal:
                pass
        await batch(mail, 3)
        # A refused address leaves the session sound (RSET): it is kept; an error that ends
        # the batch closes it instead.
        assert mail.pool.opened == 1
        try:
            async with mail.batch():
                await mail.send(message(4), "p4@example.org")
                raise RuntimeError("the batch ends in an error")
        except RuntimeError:
            pass
        await batch(mail, 5)
        assert mail.pool.opened == 2
        # Idle past its time: closed, not tried.
        mail.pool.idle_seconds = 0
        await batch(mail, 6)
        assert (mail.pool.opened, mail.pool.stale) == (3, 1)
        await mail.pool.close()
    sent = sorted(str(m["Subject"]) for m in read_messages(tmp_path / "caught"))
    assert sent == ["n1", "n3", "n4", "n5", "n6"]


async def test_no_pool_closes_each_batch_s_connection(tmp_path):
    port = free_port()
    async with MailCatcher(tmp_path / "caught", port=port):
        mail = adapter(port, pool_size=0)
        await batch(mail, 1)
        await batch(mail, 2)
        assert mail.pool.opened == 2
