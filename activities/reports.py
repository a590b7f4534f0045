"""Publishing a project's final report. The workflow hands over the report's facts (pure,
replayable: domain/report.py); this activity writes them in words, where the catalogues are
read (texts/report.py), in the project's language, and stores the text where people can
fetch it. A corrected translation never touches the workflow's history.

`ReportPublished.digest` covers the facts (domain.report.facts_digest), not the words: the
same in every language, for every later correction of a translation, and for the archive,
which folds the same facts from the project's events.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel
from temporalio import activity

from domain.cooperation import FiguresOf
from domain.events import ReportPublished
from domain.report import ReportFacts, facts_digest
from texts.report import reader_of, report_markdown


class ReportRequest(BaseModel):
    project_id: str
    # Since 1.2: what the report says, written here in words.
    facts: ReportFacts | None = None
    # Before 1.2 the workflow wrote the text itself: a request recorded then is published as it is.
    markdown: str | None = None


class ReportActivities:
    def __init__(self, reports_dir: Path, cooperation: FiguresOf | None = None) -> None:
        self.reports_dir = reports_dir
        # The cooperation questionnaire's figures, from the directory (none in tests that
        # have no directory).
        self.cooperation = cooperation

    @activity.defn(name="publish_report")
    async def publish_report(self, request: ReportRequest) -> ReportPublished:
        if request.facts is not None:
            facts = request.facts
            if self.cooperation is not None:
                figures = await self.cooperation(facts.project_id, facts.cooperation_answered)
                facts = facts.model_copy(update={"cooperation": figures})
            text = report_markdown(facts, reader_of(facts))
            digest = facts_digest(request.facts)
        else:
            text = request.markdown or ""
            digest = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
        self.reports_dir.mkdir(parents=True, exist_ok=True)
        path = self.reports_dir / f"{request.project_id}.md"
        # Written whole then renamed, so a reader never sees half a report.
        tmp = path.with_suffix(".md.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        return ReportPublished(location=str(path), digest=digest)
