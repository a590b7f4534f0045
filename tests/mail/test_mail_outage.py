"""A mail server that stops, and one that refuses an address: nothing is lost, nothing is sent
twice, and the project goes on (time-skipped, on the test server)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr

from activities.mail.catcher import MailCatcher, read_messages
from directory.store import ContactDetails, Directory
from tests.helpers import Driver, free_port, make_spec
from worker import build_worker
from workflows.project import ProjectWorkflow

PARTNERS = ["p1", "p2", "p3"]
EVERYONE = ["coord", "fac", "obs", *PARTNERS]


async def with_addresses(settings, project_id: str) -> None:
    directory = await Directory.open(settings.directory_address)
    await directory.add(
        project_id,
        [ContactDetails(participant_id=pid, email=f"{pid}@example.org") for pid in EVERYONE],
        write_key="launch",
    )
    await directory.close()


def mail_settings(h, port: int, queue: str):
    return h.settings.model_copy(
        update={
            "notifications": "email",
            "smtp_port": port,
            "token_secret": SecretStr("test-secret"),
            "task_queue": queue,
        }
    )


async def received(folder: Path, count: int, seconds: float = 20) -> list:
    for _ in range(int(seconds / 0.1)):
        messages = read_messages(folder)
        if len(messages) >= count:
            return messages
        await asyncio.sleep(0.1)
    raise AssertionError(f"{len(read_messages(folder))} messages, not {count}")


async def test_a_mail_server_down_for_ten_minutes_delays_mail_and_loses_none(timed, tmp_path):
    env, h = timed
    folder, port = tmp_path / "caught", free_port()
    settings = mail_settings(h, port, "mail-down")
    spec = make_spec(3)
    await with_addresses(settings, spec.id)
    catcher = MailCatcher(folder, port=port)
    await catcher.start()
    async with build_worker(h.client, settings, workflow_failure_exception_types=[Exception]):
        d = await Driver.start(h.client, spec, "mail-down")
        await received(folder, len(EVERYONE))  # the invitations, with the diagnosis
        await catcher.stop()

        # The diagnosis closes as the last partner contributes: the co-design opens while
        # the mail server is down.
        await d.contribute_all(PARTNERS)
        await env.sleep(timedelta(minutes=10))
        assert (await d.view()).phase == "co_design"  # the project went on
        assert len(read_messages(folder)) == len(EVERYONE)
        catcher = MailCatcher(folder, port=port)
        await catcher.start()
        await env.sleep(timedelta(minutes=15))  # the next retry, at most 10 minutes on
        # The diagnosis closed early and the co-design open: two messages each (their
        # calendar entries go apart).
        messages = await received(folder, 3 * len(EVERYONE))
        events = await d.events()
    await catcher.stop()
    # Every message once: each (event, reader) pair arrived a single time.
    ids = [m["Message-ID"] for m in messages]
    assert len(ids) == len(set(ids)) == 3 * len(EVERYONE)
    assert sum("Co-conception" in str(m["Subject"]) for m in messages) == len(EVERYONE)
    assert not [e for e in events if e.type == "notification_failed"]


async def test_an_address_refused_for_good_is_recorded_for_that_reader_only(timed, tmp_path):
    env, h = timed
    folder, port = tmp_path / "caught", free_port()
    settings = mail_settings(h, port, "mail-refused")
    spec = make_spec(3)
    await with_addresses(settings, spec.id)

    def refuse(address: str) -> str | None:
        return "550 5.1.1 mailbox unavailable" if address == "p2@example.org" else None

    async with (
        MailCatcher(folder, port=port, refuse=refuse),
        build_worker(h.client, settings, workflow_failure_exception_types=[Exception]),
    ):
        d = await Driver.start(h.client, spec, "mail-refused")
        messages = await received(folder, len(EVERYONE) - 1)
        await env.sleep(timedelta(minutes=1))
        events = await d.events()
        facilitator = await d.handle.query(ProjectWorkflow.page, "fac")
        partner = await d.handle.query(ProjectWorkflow.page, "p1")
    assert {str(m["X-Alliance-Envelope-To"]) for m in messages} == {
        f"{pid}@example.org" for pid in EVERYONE if pid != "p2"
    }
    failed = [e.data for e in events if e.type == "notification_failed"]
    assert [(f.about_seq, f.recipients) for f in failed] == [(1, ["p2"]), (2, ["p2"])]
    assert "550" in failed[0].error and "example.org" not in failed[0].error
    # The facilitator's page lists them, newest first; a partner's does not.
    assert [(u.about, u.recipients) for u in facilitator.undelivered] == [
        ("phase_opened", ["p2"]),
        ("project_launched", ["p2"]),
    ]
    assert partner.undelivered == []
