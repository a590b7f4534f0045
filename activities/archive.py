"""Writing a project's record to the archive store: a segment of past events at each
continue-as-new, the whole archive when the project ends, and the segments' rewrite after an
erasure. Idempotent: a retried activity writes the same objects again."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity

from activities.retention import Closing, RetentionActivities
from archive.archivist import Archivist
from domain import events as ev


class SegmentRequest(BaseModel):
    project_id: str
    # Events not yet in a segment, in order.
    events: list[ev.Event]
    # Authors whose texts read "[retiré]".
    redacted: list[str] = []


class RedactionRequest(BaseModel):
    project_id: str
    redacted: list[str]


class ArchiveWritten(BaseModel):
    version: str


class ArchiveActivities:
    def __init__(self, archivist: Archivist) -> None:
        self.archivist = archivist

    @activity.defn(name="write_segment")
    async def write_segment(self, request: SegmentRequest) -> None:
        await self.archivist.write_segment(request.project_id, request.events, request.redacted)

    @activity.defn(name="archive_project")
    async def archive_project(self, request: SegmentRequest) -> ArchiveWritten:
        version = await self.archivist.archive(request.project_id, request.events, request.redacted)
        return ArchiveWritten(version=version)

    @activity.defn(name="redact_segments")
    async def redact_segments(self, request: RedactionRequest) -> int:
        return await self.archivist.redact_segments(request.project_id, request.redacted)


class ProjectClosing(BaseModel):
    """The last thing a project does (since 1.1): its closing date for the retention of
    people's details, then its archive."""

    closing: Closing
    archive: SegmentRequest


class ClosingActivities:
    """One activity at a project's end instead of two (scheduling one costs about three
    history events and a workflow task): the directory's closing date, then the archive, each
    idempotent, so a retry redoes both safely."""

    def __init__(self, retention: RetentionActivities, archive: ArchiveActivities) -> None:
        self.retention = retention
        self.archive = archive

    @activity.defn(name="close_project")
    async def close_project(self, request: ProjectClosing) -> ArchiveWritten:
        await self.retention.record_closing(request.closing)
        return await self.archive.archive_project(request.archive)
