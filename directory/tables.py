"""The directory's tables (SQLAlchemy 2 declarative). Alembic migrations in migrations/ create
and change them; a test checks the two agree."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Contact(Base):
    """One participant's contact details in one project. An erased participant keeps a row
    with no personal field (a tombstone): the erasure itself is on record."""

    __tablename__ = "contacts"
    __table_args__ = (
        # One person takes part once: one e-mail per project (NULLs do not collide).
        UniqueConstraint("project_id", "email_key", name="uq_contacts_project_email"),
        # "Send me my link again" finds a person's participations by e-mail.
        Index("ix_contacts_email_key", "email_key"),
    )

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    # The e-mail as compared (case-folded): the unique index's column.
    email_key: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    # The endpoint answered 410 Gone: deliveries stop until a new address is set.
    webhook_disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The write that made the row (a launch's or an invitation's key): retried, it finds it.
    write_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProjectRecord(Base):
    """What the retention job needs of a project, since Temporal's visibility forgets closed
    projects long before the retention ends."""

    __tablename__ = "projects"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    coordinator_organisation: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # When the retention job erased its contacts.
    contacts_erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TemplateVersion(Base):
    """One version of an organisation's process template: the document as validated (its
    canonical JSON) and its digest. Versions are never changed or deleted: a project keeps its
    own copy anyway, and a version once shared stays what it was."""

    __tablename__ = "templates"

    organisation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    template_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CooperationAnswerRow(Base):
    """One partner's answer to the cooperation questionnaire, anonymous: no participant id,
    no date, and keyed by a random id (SQLite keeps such a table in key order, not in the
    order answers came). `confirmed` once the project recorded that someone answered."""

    __tablename__ = "cooperation_answers"
    __table_args__ = {"sqlite_with_rowid": False}

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    # The coordinating organisation: its console shows the figures across its projects.
    organisation_id: Mapped[str] = mapped_column(String(64), index=True)
    roles: Mapped[int] = mapped_column(Integer)
    constraints: Mapped[int] = mapped_column(Integer)
    language: Mapped[int] = mapped_column(Integer)
    decisions: Mapped[int] = mapped_column(Integer)
    neutrality: Mapped[int] = mapped_column(Integer)
    again: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)


class ReplyAddress(Base):
    """A reply address's row (inbound/tokens.py): what one e-mail asked of one participant, so
    that a reply to it is taken as that participant's answer. No personal data: ids only."""

    __tablename__ = "reply_addresses"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    participant_id: Mapped[str] = mapped_column(String(64))
    # What the mail asked: the step's kind and id, and its round.
    phase: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(64))
    round: Mapped[int] = mapped_column(Integer)
    # The charter's version it asked about (0: not a charter's).
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The participant's token version then: a link sent again revokes its replies too.
    token_version: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
