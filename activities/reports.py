"""Publishing a project's final report. The workflow renders the text (pure, replayable);
this activity stores it where people can fetch it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel
from temporalio import activity

from domain.events import ReportPublished


class ReportRequest(BaseModel):
    project_id: str
    markdown: str


class ReportActivities:
    def __init__(self, reports_dir: Path) -> None:
        self.reports_dir = reports_dir

    @activity.defn(name="publish_report")
    async def publish_report(self, request: ReportRequest) -> ReportPublished:
        self.reports_dir.mkdir(parents=True, exist_ok=True)
        path = self.reports_dir / f"{request.project_id}.md"
        # Written whole then renamed, so a reader never sees half a report.
        tmp = path.with_suffix(".md.tmp")
        tmp.write_text(request.markdown, encoding="utf-8")
        tmp.replace(path)
        digest = hashlib.sha256(request.markdown.encode("utf-8")).hexdigest()
        return ReportPublished(location=str(path), digest=f"sha256:{digest}")
