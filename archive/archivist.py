"""A project's record in the archive store: the segments a long project leaves behind at each
continue-as-new, the archive written when it ends, the erasures asked afterwards, and the
index coordinators list.

Keys under "<project id>/":
- segments/<first seq>-<last seq>.jsonl  events of a past run (texts of erased authors redacted)
- <version>/<file>                       one version of the archive's files
- manifest.json                          the current version: written last, so a reader finds
                                         either the previous archive or the whole new one
- redactions/<participant id>.json       an erasure asked after the project ended
and "index/<organisation>/<project id>.json" for the archived projects of an organisation.

A version's name is derived from its files' hashes: writing the same archive again (a retried
activity) writes the same objects, and a rewrite after an erasure writes new ones beside the
old, which go once the new manifest is in place.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from archive import charter_file
from archive.record import (
    MANIFEST,
    REPORTS,
    archive_files,
    events_jsonl,
    final_state,
    intact,
    read_events,
)
from archive.store import ArchiveStore, checked_key, organisation_key
from domain import events as ev
from domain.cooperation import CooperationFigures, FiguresOf
from domain.report import ReportFacts, report_facts
from domain.state import ProjectState, redacted_event

_SEGMENT = re.compile(r"/segments/(\d+)-(\d+)\.jsonl$")
_VERSION = re.compile(r"^[0-9a-f]{16}$")


def _is_key(project_id: str) -> bool:
    try:
        checked_key(project_id)
    except ValueError:
        return False
    return True


class ArchiveUnreadable(Exception):
    """The archive is there but does not match its manifest (a rewrite under way, or damage)."""


def version_of(manifest: dict[str, Any]) -> str:
    listed = json.dumps(manifest["files"], sort_keys=True).encode()
    return hashlib.sha256(listed).hexdigest()[:16]


@dataclass(frozen=True)
class Archived:
    """An archive as written: its files, the manifest among them, every hash checked."""

    files: dict[str, bytes]

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads(self.files[MANIFEST])

    def state(self) -> ProjectState:
        return ProjectState.model_validate_json(self.files["state.json"])

    def events(self) -> list[ev.Event]:
        return read_events(self.files["events.jsonl"])

    def facts(self) -> ReportFacts:
        """What the report says, folded from the archived events (an archive written before
        1.2 holds a state without the report's dates), with the erasures asked since."""
        erased = [r["participant_id"] for r in self.manifest.get("redactions", [])]
        return report_facts(final_state(self.events(), erased))

    def report(self, language: str, printable: bool = False) -> str | None:
        """The report as archived in this language (Markdown, or its printable page); None in
        an archive written before 1.2, whose report.md is the English text of then: it is
        written again from the archived facts."""
        if "rapport.md" not in self.files:
            return None
        return self.files[f"{REPORTS[language]}.{'html' if printable else 'md'}"].decode()

    def zip(self) -> bytes:
        return zip_of(self.files, self.manifest.get("closed_at"))


def zip_of(files: dict[str, bytes], closed_at: str | None) -> bytes:
    """The files as one zip, the same bytes every time for the same files: fixed order and
    dates (the closing's, else 1980's)."""
    when = datetime.fromisoformat(closed_at) if closed_at else datetime(1980, 1, 1)
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files, key=lambda n: (n == MANIFEST, n)):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return out.getvalue()


class Archivist:
    def __init__(self, store: ArchiveStore, cooperation: FiguresOf | None = None) -> None:
        self.store = store
        # The cooperation questionnaire's figures for the report's files, from the directory.
        self.cooperation = cooperation

    # -- segments: the past runs of a long project -------------------------------------------

    async def write_segment(
        self, project_id: str, events: list[ev.Event], redacted: list[str]
    ) -> None:
        if not events:
            return
        key = f"{project_id}/segments/{events[0].seq:010d}-{events[-1].seq:010d}.jsonl"
        shown = [redacted_event(e, redacted) for e in events]
        await self.store.put(checked_key(key), events_jsonl(shown))

    async def _segments(self, project_id: str) -> list[tuple[int, int, str]]:
        found = []
        for key in await self.store.keys(f"{project_id}/segments/"):
            match = _SEGMENT.search(key)
            if match:
                found.append((int(match[1]), int(match[2]), key))
        return sorted(found)

    async def segment_events(
        self, project_id: str, after: int = 0, before: int | None = None
    ) -> list[ev.Event]:
        """The events of past runs with after < seq < before, in order, each once."""
        if not _is_key(project_id):
            return []
        events: list[ev.Event] = []
        for first, last, key in await self._segments(project_id):
            if last <= after or (before is not None and first >= before):
                continue
            data = await self.store.get(key)
            for event in read_events(data or b""):
                seen = events[-1].seq if events else after
                if event.seq > seen and (before is None or event.seq < before):
                    events.append(event)
        return events

    async def latest_segment_events(self, project_id: str, count: int) -> list[ev.Event]:
        """At least the last `count` events of the segments (fewer if there are fewer), in
        order: the newest segments only."""
        if not _is_key(project_id):
            return []
        events: list[ev.Event] = []
        for _, _, key in reversed(await self._segments(project_id)):
            events = read_events(await self.store.get(key) or b"") + events
            if len(events) >= count:
                break
        return events

    async def redact_segments(self, project_id: str, redacted: list[str]) -> int:
        """Rewrite the segments holding texts of these authors; how many were rewritten."""
        rewritten = 0
        for _, _, key in await self._segments(project_id):
            data = await self.store.get(key) or b""
            shown = events_jsonl([redacted_event(e, redacted) for e in read_events(data)])
            if shown != data:
                await self.store.put(key, shown)
                rewritten += 1
        return rewritten

    # -- the archive ---------------------------------------------------------------------------

    async def archive(self, project_id: str, tail: list[ev.Event], redacted: list[str]) -> str:
        """The archive of an ended project: its last run's events as a last segment, then
        every file from all its events. Returns the version written."""
        await self.write_segment(project_id, tail, redacted)
        return await self._rewrite(project_id)

    async def _redactions(self, project_id: str) -> list[dict[str, str]]:
        asked = []
        for key in await self.store.keys(f"{project_id}/redactions/"):
            data = await self.store.get(key)
            if data:
                asked.append(json.loads(data))
        return sorted(asked, key=lambda r: (r["at"], r["participant_id"]))

    async def _cooperation(self, events: list[ev.Event]) -> CooperationFigures | None:
        if self.cooperation is None or not events:
            return None
        state = final_state(events)
        if state.spec is None:
            return None
        return await self.cooperation(state.spec.id, len(state.cooperation_answered))

    async def charter_document(self, events: list[ev.Event]) -> bytes | None:
        """The file of the charter agreed before the project, from the archive store."""
        launched = events[0].data if events else None
        if not isinstance(launched, ev.ProjectLaunched):
            return None
        spec = launched.project
        agreed = spec.charter_agreed
        if agreed is None or agreed.document is None:
            return None
        return await charter_file.content(
            self.store, spec.coordinator_organisation, agreed.document.sha256
        )

    async def _rewrite(self, project_id: str) -> str:
        """Write the archive from the segments and the erasures asked so far, manifest last;
        again if an erasure arrived meanwhile (two writers end on the same archive)."""
        while True:
            redactions = await self._redactions(project_id)
            events = await self.segment_events(project_id)
            files = archive_files(
                events,
                redactions=redactions,
                cooperation=await self._cooperation(events),
                charter_document=await self.charter_document(events),
            )
            manifest = json.loads(files[MANIFEST])
            version = version_of(manifest)
            for name, data in files.items():
                if name != MANIFEST:
                    await self.store.put(f"{project_id}/{version}/{name}", data)
            await self.store.put(f"{project_id}/{MANIFEST}", files[MANIFEST])
            await self._index(manifest)
            if await self._redactions(project_id) == redactions:
                break
        # The previous versions: a reader holding their manifest retries and finds this one.
        for key in await self.store.keys(f"{project_id}/"):
            parts = key.split("/")
            if len(parts) == 3 and _VERSION.match(parts[1]) and parts[1] != version:
                await self.store.delete(key)
        return version

    async def _index(self, manifest: dict[str, Any]) -> None:
        entry = {
            key: manifest[key]
            for key in (
                "project_id",
                "title",
                "coordinator_organisation",
                "phase",
                "outcome",
                "closed_at",
                "last_seq",
            )  # fmt: skip
        }
        organisation = organisation_key(manifest["coordinator_organisation"])
        await self.store.put(
            f"index/{organisation}/{manifest['project_id']}.json",
            json.dumps(entry, ensure_ascii=False, sort_keys=True).encode(),
        )

    async def erase_texts(self, project_id: str, participant_id: str, at: datetime) -> bool:
        """An erasure asked after the project ended: their texts read "[retiré]" in every
        file and segment, and the manifest says who and why. False if nothing is archived."""
        checked_key(project_id)
        asked = {
            "participant_id": participant_id,
            "at": at.isoformat(),
            "reason": "erasure asked for this participant (personal data)",
        }
        key = f"{project_id}/redactions/{checked_key(participant_id)}.json"
        if await self.store.get(key) is None:
            await self.store.put(key, json.dumps(asked, sort_keys=True).encode())
        await self.redact_segments(
            project_id, [r["participant_id"] for r in await self._redactions(project_id)]
        )
        if await self.store.get(f"{project_id}/{MANIFEST}") is None:
            return False  # the archive, when written, reads the erasure
        await self._rewrite(project_id)
        return True

    # -- reading -------------------------------------------------------------------------------

    async def archived(self, project_id: str) -> Archived | None:
        """The archive as written, every hash checked; None if there is none."""
        if not _is_key(project_id):
            return None  # not an id Alliance makes: nothing archived under it
        for attempt in range(3):
            raw = await self.store.get(f"{project_id}/{MANIFEST}")
            if raw is None:
                return None
            manifest = json.loads(raw)
            version = version_of(manifest)
            files = {MANIFEST: raw}
            for name in manifest["files"]:
                data = await self.store.get(f"{project_id}/{version}/{name}")
                if data is not None:
                    files[name] = data
            if intact(files):
                return Archived(files)
            await asyncio.sleep(0.2 * (attempt + 1))  # a rewrite under way
        raise ArchiveUnreadable(project_id)

    async def listed(self, organisation: str | None) -> list[dict[str, Any]]:
        """The archived projects of an organisation (None: of every one), latest first."""
        prefix = "index/" if organisation is None else f"index/{organisation_key(organisation)}/"
        entries = []
        for key in await self.store.keys(prefix):
            data = await self.store.get(key)
            if data:
                entries.append(json.loads(data))
        return sorted(entries, key=lambda e: (e.get("closed_at") or "", e["project_id"]))[::-1]
