"""The directory's one interface, on SQLAlchemy 2 (async): SQLite (a file under the data
directory, the local run's default) or PostgreSQL, chosen by URL. The schema is Alembic's
(migrations/), brought to head when the directory opens.

Writes come before the workflow's: a launch or an invitation writes its rows under its
idempotency key (a retry finds them), and removes them if the workflow then refuses.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from pydantic import BaseModel
from sqlalchemy import delete, event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from directory.tables import Contact, ProjectRecord, ReplyAddress

MIGRATIONS = Path(__file__).parent / "migrations"
PERSONAL = ("person_name", "email", "phone", "webhook_url", "webhook_secret")


class ContactDetails(BaseModel):
    """What the directory holds of one participant."""

    participant_id: str
    person_name: str = ""
    email: str | None = None
    phone: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_disabled: bool = False
    erased: bool = False


class ReplyAsked(BaseModel):
    """What one e-mail asked of one participant, named by its reply address."""

    id: str
    project_id: str
    participant_id: str
    phase: str
    step: str
    round: int
    token_version: int
    expires_at: datetime
    # The charter's version asked about (0: not a charter's).
    version: int = 0


class EmailTaken(Exception):
    """Someone in the project already uses this e-mail address."""

    def __init__(self, email: str, holder: str) -> None:
        super().__init__(f"{email!r} is already used by participant {holder!r}")
        self.email = email
        self.holder = holder


class ParticipantExists(Exception):
    """A participant with this id is already in the project's directory."""

    def __init__(self, participant_id: str) -> None:
        super().__init__(f"a participant {participant_id!r} already exists in this project")
        self.participant_id = participant_id


def email_key(email: str | None) -> str | None:
    return email.casefold() if email else None


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes: they were written in UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _details(row: Contact) -> ContactDetails:
    return ContactDetails(
        participant_id=row.participant_id,
        person_name=row.person_name,
        email=row.email,
        phone=row.phone,
        webhook_url=row.webhook_url,
        webhook_secret=row.webhook_secret,
        webhook_disabled=row.webhook_disabled_at is not None,
        erased=row.erased_at is not None,
    )


def _blanked(now: datetime) -> dict[str, Any]:
    """A tombstone's values: every personal field emptied, the erasure dated."""
    return {
        "person_name": "",
        "email": None,
        "email_key": None,
        "phone": None,
        "webhook_url": None,
        "webhook_secret": None,
        "webhook_disabled_at": None,
        "erased_at": now,
        "updated_at": now,
    }


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


# Any fixed number: PostgreSQL's lock that makes replicas starting together migrate in turn.
_MIGRATION_LOCK_KEY = 0x616C6C69  # "alli"


def _upgrade(connection: Any) -> None:
    if connection.dialect.name == "postgresql":
        # Several workers and API replicas may start at once on a new database: one migrates,
        # the others wait, then find the schema at head (released at the transaction's end).
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


_MIGRATION_LOCKS: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()


def _migrating() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    if loop not in _MIGRATION_LOCKS:
        _MIGRATION_LOCKS[loop] = asyncio.Lock()
    return _MIGRATION_LOCKS[loop]


class Directory:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._reads = async_sessionmaker(engine, expire_on_commit=False)
        # Writes say so when they begin (SQLite then takes its write lock at once).
        self._writes = async_sessionmaker(
            engine.execution_options(writes=True), expire_on_commit=False
        )

    @classmethod
    async def open(cls, url: str) -> Directory:
        """Connect, and bring the schema to the latest migration."""
        sqlite = url.startswith("sqlite")
        # Pooled connections (aiosqlite opens a thread per connection: too dear per query).
        # Whoever opens a directory closes it, so no connection is left for the garbage
        # collector to close later on another event loop.
        engine = create_async_engine(url)
        if sqlite:
            # Several processes (worker, API) share the file. A transaction takes the write
            # lock when it begins (BEGIN IMMEDIATE): one that read first and wrote second
            # would otherwise fail at once ("database is locked") when another wrote between.
            @event.listens_for(engine.sync_engine, "connect")
            def _pragmas(dbapi_connection: Any, _: Any) -> None:
                dbapi_connection.isolation_level = None  # we say BEGIN ourselves
                cursor = dbapi_connection.cursor()
                # First: switching to WAL takes a lock too, and without a busy timeout a
                # process starting while another migrates the new file failed at once
                # ("database is locked", seen with two workers starting together).
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.execute("PRAGMA journal_mode=WAL")
                # Durable at each checkpoint rather than each commit: safe with WAL.
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()

            @event.listens_for(engine.sync_engine, "begin")
            def _begin(connection: Any) -> None:
                writes = connection.get_execution_options().get("writes", False)
                connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

        # Alembic installs its context as module globals: one migration at a time per process
        # (the API's and the worker's directories open side by side in one process, in tests).
        async with _migrating():
            async with engine.execution_options(writes=True).begin() as connection:
                await connection.run_sync(_upgrade)
        return cls(engine)

    async def close(self) -> None:
        await self.engine.dispose()

    # -- writes before the workflow's ---------------------------------------------------------

    async def add(
        self,
        project_id: str,
        contacts: Iterable[ContactDetails],
        *,
        write_key: str,
        coordinator_organisation: str | None = None,
    ) -> None:
        """Write a launch's or an invitation's rows. Written already under this key (a
        retry): nothing changes. Raises EmailTaken, writing nothing, when an address is
        someone else's in the project."""
        contacts = list(contacts)
        now = datetime.now(UTC)
        async with self._writes.begin() as session:
            already = await session.scalar(
                select(Contact.participant_id)
                .where(Contact.project_id == project_id, Contact.write_key == write_key)
                .limit(1)
            )
            if already is not None:
                return
            taken = await session.scalar(
                select(Contact.participant_id)
                .where(
                    Contact.project_id == project_id,
                    Contact.participant_id.in_([c.participant_id for c in contacts]),
                )
                .limit(1)
            )
            if taken is not None:
                raise ParticipantExists(taken)
            await self._check_emails(session, project_id, contacts)
            if coordinator_organisation is not None:
                session.add(
                    ProjectRecord(
                        project_id=project_id,
                        coordinator_organisation=coordinator_organisation,
                        created_at=now,
                    )
                )
            for c in contacts:
                session.add(
                    Contact(
                        project_id=project_id,
                        participant_id=c.participant_id,
                        person_name=c.person_name,
                        email=c.email,
                        email_key=email_key(c.email),
                        phone=c.phone,
                        webhook_url=c.webhook_url,
                        webhook_secret=c.webhook_secret,
                        write_key=write_key,
                        created_at=now,
                        updated_at=now,
                    )
                )
            try:
                await session.flush()
            except IntegrityError:
                # Two writes raced for one address (or one id): the indexes kept one.
                email = next((c.email for c in contacts if c.email), None)
                if email is None:
                    raise ParticipantExists(contacts[0].participant_id) from None
                raise EmailTaken(email, "?") from None

    async def _check_emails(
        self,
        session: Any,
        project_id: str,
        contacts: list[ContactDetails],
        *,
        besides: str | None = None,
    ) -> None:
        seen: dict[str, str] = {}
        for c in contacts:
            key = email_key(c.email)
            if key is None:
                continue
            if key in seen:
                raise EmailTaken(c.email or "", seen[key])
            seen[key] = c.participant_id
        if not seen:
            return
        holders = await session.execute(
            select(Contact.email_key, Contact.participant_id).where(
                Contact.project_id == project_id, Contact.email_key.in_(seen)
            )
        )
        for key, holder in holders:
            if holder != besides:
                raise EmailTaken(key, holder)

    async def withdraw(self, project_id: str, write_key: str) -> None:
        """Remove the rows of a write the workflow refused."""
        async with self._writes.begin() as session:
            await session.execute(
                delete(Contact).where(
                    Contact.project_id == project_id, Contact.write_key == write_key
                )
            )
            remaining = await session.scalar(
                select(Contact.participant_id).where(Contact.project_id == project_id).limit(1)
            )
            if remaining is None:
                await session.execute(
                    delete(ProjectRecord).where(ProjectRecord.project_id == project_id)
                )

    async def change(
        self, project_id: str, participant_id: str, **changes: str | None
    ) -> ContactDetails:
        """A participant's own correction of their details (rectification)."""
        unknown = set(changes) - set(PERSONAL)
        if unknown:
            raise ValueError(f"not contact details: {sorted(unknown)}")
        async with self._writes.begin() as session:
            row = await session.get(Contact, (project_id, participant_id))
            if row is not None and row.erased_at is not None:
                raise KeyError(participant_id)  # erased: nothing comes back
            if row is None:  # a participant from before the directory: its first details
                now = datetime.now(UTC)
                row = Contact(
                    project_id=project_id,
                    participant_id=participant_id,
                    person_name="",
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
            if "email" in changes:
                wanted = ContactDetails(participant_id=participant_id, email=changes["email"])
                await self._check_emails(session, project_id, [wanted], besides=participant_id)
                row.email_key = email_key(changes["email"])
            if "webhook_url" in changes:
                row.webhook_disabled_at = None  # a new address: deliveries start again
            for name, value in changes.items():
                setattr(row, name, value if value is not None or name != "person_name" else "")
            row.updated_at = datetime.now(UTC)
            return _details(row)

    async def disable_webhook(self, project_id: str, participant_id: str) -> None:
        """The endpoint said 410 Gone: stop sending there until the participant sets one."""
        async with self._writes.begin() as session:
            row = await session.get(Contact, (project_id, participant_id))
            if row is not None and row.webhook_disabled_at is None:
                row.webhook_disabled_at = datetime.now(UTC)

    async def add_reply_address(self, row: ReplyAsked) -> None:
        """What an e-mail asked, under its reply address's id (inbound/tokens.py)."""
        async with self._writes.begin() as session:
            session.add(
                ReplyAddress(
                    id=row.id, project_id=row.project_id, participant_id=row.participant_id,
                    phase=row.phase, step=row.step, round=row.round, version=row.version,
                    token_version=row.token_version, expires_at=row.expires_at,
                    created_at=datetime.now(UTC),
                )
            )  # fmt: skip

    async def reply_address(self, row_id: str) -> ReplyAsked | None:
        async with self._reads() as session:
            row = await session.get(ReplyAddress, row_id)
            if row is None:
                return None
            return ReplyAsked(
                id=row.id, project_id=row.project_id, participant_id=row.participant_id,
                phase=row.phase, step=row.step, round=row.round, version=row.version,
                token_version=row.token_version, expires_at=_aware(row.expires_at),
            )  # fmt: skip

    # -- reads -------------------------------------------------------------------------------

    async def contacts(self, project_id: str) -> dict[str, ContactDetails]:
        async with self._reads() as session:
            rows = await session.scalars(select(Contact).where(Contact.project_id == project_id))
            return {row.participant_id: _details(row) for row in rows}

    async def contact(self, project_id: str, participant_id: str) -> ContactDetails | None:
        async with self._reads() as session:
            row = await session.get(Contact, (project_id, participant_id))
            return _details(row) if row is not None else None

    async def participations(self, email: str) -> list[tuple[str, str]]:
        """(project id, participant id) of everyone with this e-mail, erased ones aside."""
        key = email_key(email.strip())
        if not key:
            return []
        async with self._reads() as session:
            rows = await session.execute(
                select(Contact.project_id, Contact.participant_id).where(
                    Contact.email_key == key, Contact.erased_at.is_(None)
                )
            )
            return [(project_id, participant_id) for project_id, participant_id in rows]

    # -- the rights people have, and retention ------------------------------------------------

    async def erase(self, project_id: str, participant_id: str) -> bool:
        """Delete a person's details, leaving a tombstone: the row says they were erased,
        and nothing personal. False if there was no such participant."""
        now = datetime.now(UTC)
        async with self._writes.begin() as session:
            result = await session.execute(
                update(Contact)
                .where(Contact.project_id == project_id, Contact.participant_id == participant_id)
                .values(**_blanked(now))
            )
            return result.rowcount > 0

    async def project_closed(self, project_id: str, closed_at: datetime) -> None:
        async with self._writes.begin() as session:
            await session.execute(
                update(ProjectRecord)
                .where(ProjectRecord.project_id == project_id)
                .values(closed_at=closed_at)
            )

    async def closed_before(self, moment: datetime) -> list[str]:
        """Projects closed before this moment whose contacts are still there."""
        async with self._reads() as session:
            ids = await session.scalars(
                select(ProjectRecord.project_id).where(
                    ProjectRecord.closed_at < moment, ProjectRecord.contacts_erased_at.is_(None)
                )
            )
            return list(ids)

    async def erase_project(self, project_id: str) -> int:
        """Erase every contact of a project (retention): how many were erased."""
        now = datetime.now(UTC)
        async with self._writes.begin() as session:
            result = await session.execute(
                update(Contact)
                .where(Contact.project_id == project_id, Contact.erased_at.is_(None))
                .values(**_blanked(now))
            )
            await session.execute(
                update(ProjectRecord)
                .where(ProjectRecord.project_id == project_id)
                .values(contacts_erased_at=now)
            )
            # Its reply addresses answer nothing any more.
            await session.execute(delete(ReplyAddress).where(ReplyAddress.project_id == project_id))
            return result.rowcount

    async def project(self, project_id: str) -> dict[str, Any] | None:
        async with self._reads() as session:
            row = await session.get(ProjectRecord, project_id)
            if row is None:
                return None
            return {
                "project_id": row.project_id,
                "coordinator_organisation": row.coordinator_organisation,
                "created_at": _aware(row.created_at),
                "closed_at": _aware(row.closed_at),
                "contacts_erased_at": _aware(row.contacts_erased_at),
            }


class LazyDirectory:
    """A directory opened on first use, once, by whoever needs it first (the API and the
    worker start before their database may answer)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._directory: Directory | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Directory:
        if self._directory is None:
            async with self._lock:
                if self._directory is None:
                    self._directory = await Directory.open(self.url)
        return self._directory

    async def close(self) -> None:
        if self._directory is not None:
            await self._directory.close()
            self._directory = None
