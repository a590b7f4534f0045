"""The project's past in the archive: events written as segments before a continue-as-new,
rewritten when an author's texts are erased, and positions in the events the run holds."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from activities.archive import ArchiveActivities, RedactionRequest, SegmentRequest
from domain import events as ev
from domain.project import Project
from workflows.calls import REPORT_RETRY


def position_after(events: list[ev.Event], seq: int) -> int:
    """The index of the first event after this sequence number in the events a run holds.
    Events are numbered from 1 without gaps, but a carried log need not start at 1."""
    first = events[0].seq if events else 1
    return max(0, seq - first + 1)


class Segments:
    def __init__(self, project: Project, project_id: str, archived_through: int) -> None:
        self.project = project
        self.project_id = project_id
        self.archived_through = archived_through
        # An author's texts were erased while earlier events sit in segments: rewrite them.
        self.to_redact = False

    def unarchived(self) -> list[ev.Event]:
        return self.project.events[position_after(self.project.events, self.archived_through) :]

    def request(self) -> SegmentRequest:
        """Every event not in a segment yet, for the project's closing archive."""
        return SegmentRequest(
            project_id=self.project_id,
            events=self.unarchived(),
            redacted=self.project.state.redacted,
        )

    async def write(self) -> None:
        """The events not yet in the archive, as one segment."""
        events = self.unarchived()
        if not events:
            return
        await workflow.execute_activity_method(
            ArchiveActivities.write_segment,
            SegmentRequest(
                project_id=self.project_id, events=events, redacted=self.project.state.redacted
            ),
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=REPORT_RETRY,
            summary=f"archive events {events[0].seq}-{events[-1].seq}",
        )
        self.archived_through = events[-1].seq

    async def redact(self) -> None:
        self.to_redact = False
        await workflow.execute_activity_method(
            ArchiveActivities.redact_segments,
            RedactionRequest(project_id=self.project_id, redacted=self.project.state.redacted),
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=REPORT_RETRY,
            summary="redact erased texts in the archived events",
        )
