"""The templates an organisation may launch from: the built-in ones (shipped with the package)
and its own (stored as versions in the directory). Built-in ids are reserved: an organisation
changes a built-in template by duplicating it under an id of its own."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from directory.templates import StoredVersion, TemplateStore
from domain.models import LaunchedTemplate, Phase, Template, Words
from domain.templates import digest
from process_templates.builtin import builtin, builtin_ids, builtin_templates


class StepSummary(BaseModel):
    id: str
    name: Words
    kind: Phase


class TemplateSummary(BaseModel):
    """A template in a list: enough to choose one (its steps in words, without their
    settings)."""

    id: str
    version: int
    digest: str
    builtin: bool
    name: Words
    description: Words
    steps: list[StepSummary]
    versions: int


class VersionInfo(BaseModel):
    version: int
    digest: str
    # When the organisation saved it (built-in versions ship with the package: none).
    created_at: datetime | None = None


class TemplateVersionOut(BaseModel):
    id: str
    version: int
    digest: str
    builtin: bool
    created_at: datetime | None = None
    template: Template


class TemplateDetail(BaseModel):
    """A template: its latest version whole, and the list of its versions."""

    id: str
    builtin: bool
    latest: TemplateVersionOut
    versions: list[VersionInfo]


class UnknownTemplate(LookupError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def is_builtin(template_id: str) -> bool:
    return template_id in builtin_ids()


def summary(template: Template, builtin_: bool, versions: int) -> TemplateSummary:
    return TemplateSummary(
        id=template.id,
        version=template.version,
        digest=digest(template),
        builtin=builtin_,
        name=template.name,
        description=template.description,
        steps=[StepSummary(id=s.id, name=s.name, kind=s.kind) for s in template.steps],
        versions=versions,
    )


def _builtin_versions(template_id: str) -> list[Template]:
    return [t for (tid, _), t in sorted(builtin_templates().items()) if tid == template_id]


def _out(stored: StoredVersion) -> TemplateVersionOut:
    return TemplateVersionOut(
        id=stored.template_id,
        version=stored.version,
        digest=stored.digest,
        builtin=False,
        created_at=stored.created_at,
        template=stored.template,
    )


def _builtin_out(template: Template) -> TemplateVersionOut:
    return TemplateVersionOut(
        id=template.id,
        version=template.version,
        digest=digest(template),
        builtin=True,
        template=template,
    )


class Library:
    """What one organisation reads of templates (None: ops, who see the built-in ones)."""

    def __init__(self, store: TemplateStore, organisation: str | None) -> None:
        self.store = store
        self.organisation = organisation

    async def list(self) -> list[TemplateSummary]:
        found = [
            summary(versions[-1], True, len(versions))
            for versions in (_builtin_versions(tid) for tid in builtin_ids())
        ]
        if self.organisation is None:
            return found
        counts = await self.store.count_versions(self.organisation)
        for stored in await self.store.latest_of_each(self.organisation):
            found.append(summary(stored.template, False, counts.get(stored.template_id, 1)))
        return found

    async def detail(self, template_id: str) -> TemplateDetail | None:
        if is_builtin(template_id):
            versions = _builtin_versions(template_id)
            return TemplateDetail(
                id=template_id,
                builtin=True,
                latest=_builtin_out(versions[-1]),
                versions=[VersionInfo(version=t.version, digest=digest(t)) for t in versions],
            )
        if self.organisation is None:
            return None
        stored = await self.store.versions(self.organisation, template_id)
        if not stored:
            return None
        return TemplateDetail(
            id=template_id,
            builtin=False,
            latest=_out(stored[-1]),
            versions=[
                VersionInfo(version=s.version, digest=s.digest, created_at=s.created_at)
                for s in stored
            ],
        )

    async def version(self, template_id: str, version: int | None) -> TemplateVersionOut | None:
        if is_builtin(template_id):
            found = builtin(template_id, version)
            return _builtin_out(found) if found else None
        if self.organisation is None:
            return None
        stored = await self.store.version(self.organisation, template_id, version)
        return _out(stored) if stored else None

    async def exists(self, template_id: str) -> bool:
        if is_builtin(template_id):
            return True
        if self.organisation is None:
            return False
        return await self.store.version(self.organisation, template_id) is not None

    async def launched(self, template_id: str, version: int | None) -> LaunchedTemplate:
        """The copy a project launched from this template keeps; UnknownTemplate when the
        organisation has no such template or version (the message names what it has)."""
        found = await self.version(template_id, version)
        if found is not None:
            return LaunchedTemplate(
                id=found.id, version=found.version, digest=found.digest, content=found.template
            )
        detail = await self.detail(template_id)
        if detail is None:
            known = ", ".join(s.id for s in await self.list())
            raise UnknownTemplate(
                f"no template {template_id!r} (templates you may launch from: {known})",
                "template.id",
            )
        numbers = ", ".join(str(v.version) for v in detail.versions)
        raise UnknownTemplate(
            f"template {template_id!r} has no version {version} (versions: {numbers})",
            "template.version",
        )
