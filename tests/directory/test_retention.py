"""Retention: a project's closing date reaches the directory when its workflow ends, and the
daily Schedule erases the contacts of projects closed longer ago than the setting."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from directory.store import ContactDetails, Directory
from tests.api_helpers import ApiProject
from worker import ensure_retention_schedule
from workflows.retention import SCHEDULE_ID


async def until(check, seconds: float = 20.0):
    for _ in range(int(seconds / 0.1)):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("not reached in time")


async def test_a_cancelled_project_s_closing_date_reaches_the_directory(http, dev):
    project = await ApiProject.launch(http)
    await project.ok("POST", "/cancel", "coordinator-credential", {"reason": "Budget retiré"})
    directory = await Directory.open(dev.settings.directory_address)
    try:

        async def closed():
            record = await directory.project(project.id)
            return record and record["closed_at"]

        closed_at = await until(closed)
        assert abs(closed_at - datetime.now(UTC)) < timedelta(minutes=1)
    finally:
        await directory.close()


async def test_the_daily_schedule_erases_what_is_past_retention(dev):
    directory = await Directory.open(dev.settings.directory_address)
    try:
        for project in ("old", "recent"):
            await directory.add(
                project,
                [ContactDetails(participant_id="p1", email=f"{project}@example.org")],
                write_key=f"launch-{project}",
                coordinator_organisation="mda",
            )
        now = datetime.now(UTC)
        await directory.project_closed("old", now - timedelta(days=6 * 365))
        await directory.project_closed("recent", now - timedelta(days=30))

        await ensure_retention_schedule(dev.client, dev.settings)
        await ensure_retention_schedule(dev.client, dev.settings)  # twice: updated, not doubled
        handle = dev.client.get_schedule_handle(SCHEDULE_ID)
        described = await handle.describe()
        assert described.schedule.spec.intervals[0].every == timedelta(days=1)
        await handle.trigger()

        async def erased():
            return (await directory.contact("old", "p1")).erased

        await until(erased)
        assert (await directory.contact("recent", "p1")).email == "recent@example.org"
        await handle.delete()
    finally:
        await directory.close()
