"""The contact directory on both its backends: SQLite (a file, the local run's) and a real
PostgreSQL started here (pgserver), each migrated from empty by Alembic."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from directory.store import ContactDetails, Directory, EmailTaken, sqlite_url
from directory.tables import Base


@pytest.fixture(scope="session")
def postgres(tmp_path_factory) -> AsyncIterator[str]:
    """A real PostgreSQL 16 from the pgserver wheel, for the session."""
    pgserver = pytest.importorskip("pgserver", reason="pgserver is not installed")
    server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    socket_dir = server.get_uri().split("host=")[1]
    yield socket_dir, server
    server.cleanup()


@pytest.fixture(params=["sqlite", "postgresql"])
async def directory(request, tmp_path: Path) -> AsyncIterator[Directory]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "directory.sqlite3")
    else:
        socket_dir, server = request.getfixturevalue("postgres")
        name = f"d{uuid.uuid4().hex[:12]}"
        server.psql(f"CREATE DATABASE {name};")
        url = f"postgresql+asyncpg://postgres:@/{name}?host={socket_dir}"
    opened = await Directory.open(url)  # migrated from empty
    yield opened
    await opened.close()


def person(pid: str, email: str | None = None, name: str = "") -> ContactDetails:
    return ContactDetails(participant_id=pid, email=email, person_name=name)


async def test_the_migrated_schema_is_the_tables_the_code_declares(directory):
    async with directory.engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
    assert differences == []


async def test_a_launch_is_written_once_and_one_address_takes_part_once(directory):
    launch = [person("coord", "mda@example.org", "Awa"), person("p1", "Jean@Example.org")]
    await directory.add("pr1", launch, write_key="launch-1", coordinator_organisation="mda")
    await directory.add("pr1", launch, write_key="launch-1", coordinator_organisation="mda")
    contacts = await directory.contacts("pr1")
    assert set(contacts) == {"coord", "p1"} and contacts["coord"].person_name == "Awa"
    # The same address in another case, by another write: refused, nothing written.
    with pytest.raises(EmailTaken) as taken:
        await directory.add("pr1", [person("p2", "jean@example.ORG")], write_key="invite-1")
    assert taken.value.holder == "p1"
    assert "p2" not in await directory.contacts("pr1")
    with pytest.raises(EmailTaken):  # twice in one write
        await directory.add(
            "pr1", [person("a", "x@example.org"), person("b", "X@example.org")], write_key="w"
        )
    # Another project may have the same person.
    await directory.add("pr2", [person("p1", "jean@example.org")], write_key="launch-2")


async def test_a_refused_write_is_withdrawn(directory):
    await directory.add("pr1", [person("coord", "mda@example.org")], write_key="launch-1")
    await directory.add("pr1", [person("p9", "new@example.org")], write_key="invite-9")
    await directory.withdraw("pr1", "invite-9")
    assert set(await directory.contacts("pr1")) == {"coord"}
    # The address is free again.
    await directory.add("pr1", [person("p10", "new@example.org")], write_key="invite-10")


async def test_rectification_keeps_one_address_per_project(directory):
    await directory.add(
        "pr1", [person("p1", "a@example.org"), person("p2", "b@example.org")], write_key="k"
    )
    changed = await directory.change("pr1", "p1", email="A2@example.org", phone="+33 4 00 00")
    assert changed.email == "A2@example.org" and changed.phone == "+33 4 00 00"
    await directory.change("pr1", "p1", email="a2@EXAMPLE.org")  # its own, in another case
    with pytest.raises(EmailTaken):
        await directory.change("pr1", "p1", email="B@example.org")
    with pytest.raises(ValueError, match="not contact details"):
        await directory.change("pr1", "p1", role="coordinator")


async def test_erasure_leaves_a_tombstone_and_nothing_personal(directory):
    await directory.add(
        "pr1",
        [person("p1", "jean@example.org", "Jean Dupuis")],
        write_key="k",
        coordinator_organisation="mda",
    )
    assert await directory.erase("pr1", "p1")
    tombstone = await directory.contact("pr1", "p1")
    assert tombstone == ContactDetails(participant_id="p1", erased=True)
    assert not await directory.erase("pr1", "nobody")
    with pytest.raises(KeyError):
        await directory.change("pr1", "p1", email="back@example.org")
    async with directory.engine.connect() as connection:
        dump = str((await connection.exec_driver_sql("SELECT * FROM contacts")).all())
    assert "jean" not in dump.lower() and "Dupuis" not in dump


async def test_retention_erases_projects_closed_long_enough_ago(directory):
    for project in ("old", "recent", "open"):
        await directory.add(
            project,
            [person("p1", f"{project}@example.org")],
            write_key=f"launch-{project}",
            coordinator_organisation="mda",
        )
    now = datetime.now(UTC)
    await directory.project_closed("old", now - timedelta(days=6 * 365))
    await directory.project_closed("recent", now - timedelta(days=30))
    due = await directory.closed_before(now - timedelta(days=5 * 365))
    assert due == ["old"]
    assert await directory.erase_project("old") == 1
    assert (await directory.contact("old", "p1")).erased
    assert (await directory.contact("recent", "p1")).email == "recent@example.org"
    record = await directory.project("old")
    assert record["contacts_erased_at"] is not None and record["closed_at"].tzinfo is not None
    assert await directory.closed_before(now) == ["recent"]


async def test_two_writes_racing_for_one_address_leave_one(directory):
    async def invite(n: int) -> bool:
        try:
            await directory.add("pr1", [person(f"p{n}", "same@example.org")], write_key=f"w{n}")
            return True
        except EmailTaken:
            return False

    results = await asyncio.gather(*(invite(n) for n in range(4)))
    assert results.count(True) == 1
    holders = [c for c in (await directory.contacts("pr1")).values() if c.email]
    assert len(holders) == 1


async def test_many_launches_at_once_all_write(directory):
    """Launches arrive together (the benchmark sends 64 at once): each one is written."""

    async def launch(n: int) -> None:
        project = f"pr{n}"
        await directory.add(
            project,
            [person("coord", f"c{n}@example.org"), person("p1", f"p{n}@example.org")],
            write_key=f"launch-{project}",
            coordinator_organisation="mda",
        )

    await asyncio.gather(*(launch(n) for n in range(40)))
    for n in range(40):
        assert set(await directory.contacts(f"pr{n}")) == {"coord", "p1"}


async def test_a_persons_participations_are_found_by_email_whatever_the_case(directory):
    await directory.add(
        "a", [person("p1", "Zoe@Example.org"), person("p2", "x@example.org")], write_key="a"
    )
    await directory.add("b", [person("q7", "zoe@example.org")], write_key="b")
    await directory.add("c", [person("r1", "zoe@example.org")], write_key="c")
    await directory.erase("c", "r1")
    found = await directory.participations(" ZOE@example.ORG ")
    assert sorted(found) == [("a", "p1"), ("b", "q7")]
    assert await directory.participations("nobody@example.org") == []


def test_replicas_starting_together_on_a_new_postgresql_database_migrate_it_once(postgres):
    """Workers and API replicas of the compose file start at once on an empty database."""
    socket_dir, server = postgres
    name = f"d{uuid.uuid4().hex[:12]}"
    server.psql(f"CREATE DATABASE {name};")
    url = f"postgresql+asyncpg://postgres:@/{name}?host={socket_dir}"
    script = (
        "import asyncio, sys\n"
        "from directory.store import Directory\n"
        "async def main():\n"
        "    directory = await Directory.open(sys.argv[1])\n"
        "    await directory.close()\n"
        "asyncio.run(main())\n"
    )
    starting = [
        subprocess.Popen(
            [sys.executable, "-c", script, url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in starting]
    assert [p.returncode for p in starting] == [0] * 4, outputs
    versions = server.psql(f"\\c {name}\nSELECT count(*) FROM alembic_version;")
    assert " 1\n" in versions, versions


async def test_cooperation_answers_are_kept_anonymous_and_never_lost_or_counted_twice(directory):
    """Written pending before the project records that someone answered, confirmed as many as
    the project counts: a retry's second row stays pending, a row left pending by a crash is
    confirmed when the count says one is missing; rows come back in key order, not in the
    order they came."""
    from directory.cooperation import CooperationStore
    from directory.tables import CooperationAnswerRow

    store = CooperationStore(directory)
    scores = {q: 4 for q in ("roles", "constraints", "language", "decisions", "neutrality")}
    ids = [
        await store.add_pending("proj", "mda", {**scores, "again": n}, f"c{n}") for n in (1, 2, 3)
    ]
    assert (await store.project_figures("proj")).answers == 0  # none confirmed yet
    await store.confirm(ids[0])
    await store.drop(ids[1])  # the project refused it
    await store.reconcile("proj", answered=2)  # ids[2] was left pending by a crash
    await store.add_pending("proj", "mda", {**scores, "again": 5}, "a retry")
    await store.reconcile("proj", answered=2)  # the retry's row is not counted twice
    figures = await store.project_figures("proj")
    assert figures.answers == 2 and not figures.shown and figures.means == {}
    for n in (4, 5):
        await store.add_pending("other", "mda", {**scores, "again": n}, "")
    await store.reconcile("other", answered=2)
    across = await store.organisation_figures("mda")
    assert across.shown and across.answers == 4 and across.means["again"] == 3.25  # (1+3+4+5)/4
    assert not hasattr(CooperationAnswerRow, "participant_id")
    assert not hasattr(CooperationAnswerRow, "created_at")
