"""The local mail catcher keeps messages, not addresses in the logs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from activities.mail.catcher import MailCatcher
from activities.mail.compose import Sender
from activities.mail.smtp import MailAdapter, SmtpServer
from activities.notifications import Address, Notification, Recipient
from domain.models import Language, Role
from tests.helpers import free_port
from texts.links import TokenSigner


async def test_the_catcher_logs_no_address(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    async with MailCatcher(tmp_path / "mail", port=free_port()) as catcher:
        adapter = MailAdapter(
            SmtpServer("127.0.0.1", catcher.port),
            Sender("Alliance <alliance@localhost>", "http://localhost:8000"),
            TokenSigner("secret"),
        )
        recipient = Recipient(
            participant_id="p1", organisation_name="Org", role=Role.partner,
            language=Language.fr, time_zone="Europe/Paris", token_version=1,
            address=Address(email="zoe.durand@example.org"),
        )  # fmt: skip
        notification = Notification(
            key="k/1/link_resent", project_id="x", project_title="T", kind="link_resent",
            event_seq=1, at=datetime(2026, 12, 1, tzinfo=UTC), recipients=[recipient],
        )  # fmt: skip
        await adapter.deliver(notification, recipient)
        assert len(catcher.messages()) == 1
    assert not [r for r in caplog.records if "zoe.durand" in r.getMessage()]
