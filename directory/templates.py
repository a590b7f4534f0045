"""An organisation's own process templates, as versions, in the directory's database (the
same SQLAlchemy store as the contacts). A new version never changes an earlier one, nor any
project launched from it (each project keeps its own copy)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from directory.store import Directory, _aware
from directory.tables import TemplateVersion
from domain.templates import Template, canonical_json, digest


class StoredVersion(BaseModel):
    template_id: str
    version: int
    digest: str
    created_at: datetime
    template: Template


def _stored(row: TemplateVersion) -> StoredVersion:
    return StoredVersion(
        template_id=row.template_id,
        version=row.version,
        digest=row.digest,
        created_at=_aware(row.created_at) or row.created_at,
        template=Template.model_validate_json(row.document),
    )


class TemplateStore:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    async def add_version(self, organisation: str, template: Template) -> StoredVersion:
        """The template as the organisation's next version of its id (1 for a new id): the
        version number is the store's, whatever the document said."""
        for _ in range(5):  # two saves at once: the second takes the next number
            try:
                async with self.directory._writes.begin() as session:
                    latest = await session.scalar(
                        select(func.max(TemplateVersion.version)).where(
                            TemplateVersion.organisation_id == organisation,
                            TemplateVersion.template_id == template.id,
                        )
                    )
                    numbered = template.model_copy(update={"version": (latest or 0) + 1})
                    row = TemplateVersion(
                        organisation_id=organisation,
                        template_id=numbered.id,
                        version=numbered.version,
                        document=canonical_json(numbered),
                        digest=digest(numbered),
                        created_at=datetime.now(UTC),
                    )
                    session.add(row)
            except IntegrityError:
                continue
            return _stored(row)
        raise RuntimeError("could not number the template's version")

    async def versions(self, organisation: str, template_id: str) -> list[StoredVersion]:
        async with self.directory._reads() as session:
            rows = await session.scalars(
                select(TemplateVersion)
                .where(
                    TemplateVersion.organisation_id == organisation,
                    TemplateVersion.template_id == template_id,
                )
                .order_by(TemplateVersion.version)
            )
            return [_stored(r) for r in rows]

    async def version(
        self, organisation: str, template_id: str, version: int | None = None
    ) -> StoredVersion | None:
        """One version (None: the latest), or None when there is none."""
        async with self.directory._reads() as session:
            query = select(TemplateVersion).where(
                TemplateVersion.organisation_id == organisation,
                TemplateVersion.template_id == template_id,
            )
            if version is None:
                query = query.order_by(TemplateVersion.version.desc()).limit(1)
            else:
                query = query.where(TemplateVersion.version == version)
            row = await session.scalar(query)
            return _stored(row) if row is not None else None

    async def latest_of_each(self, organisation: str) -> list[StoredVersion]:
        """Each of the organisation's templates at its latest version, by id."""
        async with self.directory._reads() as session:
            latest = (
                select(
                    TemplateVersion.template_id,
                    func.max(TemplateVersion.version).label("version"),
                )
                .where(TemplateVersion.organisation_id == organisation)
                .group_by(TemplateVersion.template_id)
                .subquery()
            )
            rows = await session.scalars(
                select(TemplateVersion)
                .join(
                    latest,
                    (TemplateVersion.template_id == latest.c.template_id)
                    & (TemplateVersion.version == latest.c.version),
                )
                .where(TemplateVersion.organisation_id == organisation)
                .order_by(TemplateVersion.template_id)
            )
            return [_stored(r) for r in rows]

    async def count_versions(self, organisation: str) -> dict[str, int]:
        async with self.directory._reads() as session:
            rows = await session.execute(
                select(TemplateVersion.template_id, func.count())
                .where(TemplateVersion.organisation_id == organisation)
                .group_by(TemplateVersion.template_id)
            )
            return {tid: n for tid, n in rows}
