"""Retention of people's details after a project ends: the directory keeps each project's
closing date (Temporal's visibility forgets closed projects long before), and a scheduled job
erases the contacts of projects closed longer ago than the retention setting."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import activity

from directory.store import LazyDirectory


class Closing(BaseModel):
    project_id: str
    closed_at: datetime


class RetentionRun(BaseModel):
    # Contacts of projects closed more than this long ago are erased.
    retention: timedelta


class RetentionDone(BaseModel):
    projects: int
    contacts_erased: int


class RetentionActivities:
    def __init__(self, directory: LazyDirectory) -> None:
        self.directory = directory

    @activity.defn(name="record_closing")
    async def record_closing(self, closing: Closing) -> None:
        await (await self.directory.get()).project_closed(closing.project_id, closing.closed_at)

    @activity.defn(name="erase_expired_contacts")
    async def erase_expired_contacts(self, run: RetentionRun) -> RetentionDone:
        directory = await self.directory.get()
        # The schedule's own time, so a delayed run erases what was due at its moment.
        due = await directory.closed_before(activity.info().scheduled_time - run.retention)
        erased = 0
        for project_id in due:
            erased += await directory.erase_project(project_id)
            activity.heartbeat(project_id)
        # Logged without anyone's data: counts and project ids only.
        activity.logger.info(
            "retention: contacts erased", extra={"projects": len(due), "contacts": erased}
        )
        return RetentionDone(projects=len(due), contacts_erased=erased)
