"""What a process needs before it starts, checked in one place by the API (`python -m api`) and
the worker (`python -m worker`), and again by the API's /readyz while it runs.

At start: the settings readable, the codec keys usable (at least one), the message catalogues
compiled, the data directory (and the archive folder, for the folder store) there and writable,
the contact directory's database reachable and migrated. What may be created is created (a
missing data directory whose parent is writable); anything else stops the process with one line
on stderr naming the setting to fix, and exit code 2:

    Alliance cannot start: ALLIANCE_DATA_DIR=/x/y is not writable (permission denied): point it
    at a folder this user can write

The checks take milliseconds (the directory's a connection and Alembic finding the schema at
head); the lines are for ops, in English. Temporal is not checked here: the API starts (and says
it is not ready) while Temporal is down; the worker connects to it right after.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn

from pydantic import ValidationError
from pydantic_settings import SettingsError

from settings import Settings

PREFIX = "Alliance cannot start: "
EXIT_CODE = 2
# Connecting to the directory's database: past this, it is taken as unreachable.
CONNECT_SECONDS = 10.0
# Migrating may wait for another replica migrating the same database (PostgreSQL's lock).
MIGRATE_SECONDS = 120.0
WRITABLE = "point it at a folder this user can write"

Process = Literal["api", "worker", "inbound"]


class CannotStart(Exception):
    """A setting to fix, said in one line that names it."""


@dataclass(frozen=True)
class Problem:
    """Something the running API needs that went away: a stable code and what to do."""

    code: str
    message: str


def refuse(message: str) -> NoReturn:
    """The one line on stderr, then exit code 2 (no traceback)."""
    print(PREFIX + " ".join(message.split()), file=sys.stderr, flush=True)
    raise SystemExit(EXIT_CODE)


# -- settings ------------------------------------------------------------------------------------


def _setting_error(error: dict[str, Any]) -> str:
    message = error.get("msg", "invalid").removeprefix("Value error, ")
    loc = error.get("loc") or ()
    if not loc:  # a check across settings: its message names them
        return message
    return f"ALLIANCE_{str(loc[0]).upper()}: {message}"


def settings_or_exit() -> Settings:
    """The settings from the environment, or the one line saying which one is wrong (never
    the value: it may be a secret)."""
    try:
        return Settings()
    except ValidationError as e:
        refuse("; ".join(_setting_error(error) for error in e.errors()))
    except SettingsError as e:
        field = re.search(r'field "(\w+)"', str(e))
        name = f"ALLIANCE_{field.group(1).upper()}" if field else "a setting"
        cause = f" ({e.__cause__})" if e.__cause__ else ""
        refuse(f"{name} cannot be read{cause}: complex settings are JSON")


# -- folders ---------------------------------------------------------------------------------------


def _named(setting: str, path: Path) -> str:
    where = f"{setting}={path}"
    return where if path.is_absolute() else f"{where} (that is {Path.cwd() / path})"


def _reason(error: OSError) -> str:
    return (error.strerror or type(error).__name__).lower()


def _probe(folder: Path) -> None:
    """Write and remove a file, as the process will there: os.access says yes to root whatever
    a folder's mode."""
    fd, name = tempfile.mkstemp(prefix=".alliance-write-check-", dir=folder)
    os.close(fd)
    os.unlink(name)


def ensure_folder(path: Path, named: str, fix: str = WRITABLE) -> None:
    """A folder there and writable, made if missing and its parent allows (one level: a typo
    in a path does not grow a tree of folders)."""
    if not path.is_dir():
        if path.exists() or path.is_symlink():
            raise CannotStart(f"{named} is a file, not a folder: {fix}")
        try:
            path.mkdir()
        except FileNotFoundError:
            raise CannotStart(
                f"{named} does not exist, nor does its parent {path.parent}: {fix}"
            ) from None
        except FileExistsError:  # made meanwhile by another process starting
            pass
        except OSError as e:
            raise CannotStart(
                f"{named} does not exist and cannot be created ({_reason(e)}): {fix}"
            ) from None
    try:
        _probe(path)
    except OSError as e:
        raise CannotStart(f"{named} is not writable ({_reason(e)}): {fix}") from None


def archive_folder_named(settings: Settings) -> tuple[str, str]:
    """How to name the archive folder in a message, and what to do about it."""
    if settings.archive_dir is not None:
        named = _named("ALLIANCE_ARCHIVE_DIR", settings.archive_dir)
    else:
        named = (
            f"the archive folder {settings.archive_folder} (under ALLIANCE_DATA_DIR, as "
            "ALLIANCE_ARCHIVE_DIR is unset)"
        )
    return named, f"{WRITABLE} with ALLIANCE_ARCHIVE_DIR, or use ALLIANCE_ARCHIVE_STORE=s3"


# -- what the processes are given --------------------------------------------------------------


def check_codec_keys(settings: Settings) -> None:
    """At least one key, each usable (the settings check their form; this, that there is one)."""
    from temporal_client import MissingCodecKeys, converter_for

    try:
        converter_for(settings)
    except MissingCodecKeys as e:
        raise CannotStart(str(e)) from None
    except ValueError as e:
        raise CannotStart(f"ALLIANCE_CODEC_KEYS: {e}") from None


def check_catalogues() -> None:
    from texts.i18n import CataloguesNotCompiled, check_catalogues

    try:
        check_catalogues()
    except CataloguesNotCompiled as e:
        raise CannotStart(str(e)) from None


def check_token_secret(settings: Settings, process: Process) -> None:
    if settings.token_secret is not None and settings.token_secret.get_secret_value():
        return
    if process == "inbound":
        raise CannotStart(
            "ALLIANCE_TOKEN_SECRET is not set: the inbound service reads the reply addresses the "
            "worker's e-mails carry, signed with the same secret"
        )
    if process == "api":
        raise CannotStart(
            "ALLIANCE_TOKEN_SECRET is not set: it signs participants' personal tokens; set it to "
            "a long random string, the same for every API process and worker"
        )
    if settings.notifications == "email":
        raise CannotStart(
            "ALLIANCE_TOKEN_SECRET is not set: the worker signs the personal links its e-mails "
            "carry, with the same secret as the API"
        )


# -- the contact directory ---------------------------------------------------------------------


def _shown_url(url: str) -> tuple[str, str | None]:
    """The directory's address without its password, and the password (to scrub errors)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return "(not a database URL)", None
    return parsed.render_as_string(hide_password=True), parsed.password


def _error_text(error: BaseException, password: str | None) -> str:
    """The driver's own error (SQLAlchemy wraps it), on one line, without the password."""
    if isinstance(error, TimeoutError):
        return "no answer in time"
    inner = getattr(error, "orig", None) or error
    text = " ".join(str(inner).split())
    if password:
        text = text.replace(str(password), "***")
    return f"{type(inner).__name__}: {text}"[:300] if text else type(inner).__name__


def directory_error(error: BaseException, settings: Settings) -> str:
    """A directory error for a log line or a message: the directory's password scrubbed."""
    return _error_text(error, _shown_url(settings.directory_address)[1])


def directory_named(settings: Settings) -> tuple[str, str]:
    """How to name the directory's database in a message, and what to do about it."""
    if settings.directory_url:
        shown, _ = _shown_url(settings.directory_address)
        return (
            f"ALLIANCE_DIRECTORY_URL={shown}",
            "check that the database is up and that the address, user and password are right",
        )
    sqlite = settings.data_dir / "directory.sqlite3"
    return (
        f"the contact directory {sqlite} (a SQLite file in ALLIANCE_DATA_DIR, as "
        "ALLIANCE_DIRECTORY_URL is unset)",
        "point ALLIANCE_DATA_DIR at a folder this user can write, or set ALLIANCE_DIRECTORY_URL",
    )


async def check_directory(settings: Settings) -> None:
    """The directory's database answers, and its schema is brought to this version's."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from directory.store import Directory

    url = settings.directory_address
    named, fix = directory_named(settings)
    _, password = _shown_url(url)
    try:
        engine = create_async_engine(url)
    except Exception as e:
        raise CannotStart(
            f"{named} is not a database Alliance can use ({_error_text(e, password)}): "
            "use sqlite+aiosqlite:///<file> or postgresql+asyncpg://<user>:<password>@<host>/<db>"
        ) from None
    try:
        async with asyncio.timeout(CONNECT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as e:
        raise CannotStart(f"{named} is not reachable ({_error_text(e, password)}): {fix}") from None
    finally:
        await engine.dispose()
    try:
        async with asyncio.timeout(MIGRATE_SECONDS):
            directory = await Directory.open(url)
    except Exception as e:
        raise CannotStart(
            f"{named} could not be migrated to this version's schema "
            f"({_error_text(e, password)}): see the log of the process that migrated it last, "
            "or restore the database from its backup"
        ) from None
    await directory.close()


# -- at start ------------------------------------------------------------------------------------


async def check(settings: Settings, process: Process) -> None:
    """Every check, cheapest first; CannotStart says the first thing to fix."""
    check_token_secret(settings, process)
    check_codec_keys(settings)
    check_catalogues()
    ensure_folder(settings.data_dir, _named("ALLIANCE_DATA_DIR", settings.data_dir))
    if settings.archive_store == "folder":
        ensure_folder(settings.archive_folder, *archive_folder_named(settings))
    await check_directory(settings)


async def ensure_startable(settings: Settings, process: Process) -> None:
    """For a process's async main: the checks, or the one line and exit code 2."""
    try:
        await check(settings, process)
    except CannotStart as e:
        refuse(str(e))


def ensure_data_dir(settings: Settings) -> None:
    """For the local run, before it writes its secrets there: the data directory, made if it
    may be, or the one line and exit code 2."""
    try:
        ensure_folder(settings.data_dir, _named("ALLIANCE_DATA_DIR", settings.data_dir))
    except CannotStart as e:
        refuse(str(e))


def ensure_startable_now(settings: Settings, process: Process) -> None:
    """The same, before a process's event loop runs (the API's, which uvicorn starts)."""
    asyncio.run(ensure_startable(settings, process))


# -- while running (the API's /readyz, and its writes) -------------------------------------------


def data_dir_problem(settings: Settings) -> Problem | None:
    """The data directory still there and writable: stat calls only, for every write."""
    path = settings.data_dir
    named = _named("ALLIANCE_DATA_DIR", path)
    if not path.is_dir():
        return Problem(
            "data_dir_unavailable",
            f"the data directory {named} is missing (deleted or unmounted since the API "
            "started): restore it, then restart the API",
        )
    if not os.access(path, os.W_OK):
        return Problem(
            "data_dir_unavailable",
            f"the data directory {named} is not writable any more: make it writable for this "
            "user again",
        )
    return None


def _folder_problem(path: Path, named: str, code: str) -> Problem | None:
    if not path.is_dir():
        return Problem(
            code, f"{named} is missing (deleted or unmounted since the API started): restore it"
        )
    try:
        _probe(path)
    except OSError as e:
        return Problem(
            code, f"{named} is not writable any more ({_reason(e)}): make it writable again"
        )
    return None


async def readiness_problem(settings: Settings) -> Problem | None:
    """What /readyz checks of the API's own storage, before Temporal: the data directory (a
    file written and removed), and the archive folder when one is set."""
    problem = data_dir_problem(settings) or await asyncio.to_thread(
        _folder_problem,
        settings.data_dir,
        f"the data directory {_named('ALLIANCE_DATA_DIR', settings.data_dir)}",
        "data_dir_unavailable",
    )
    if problem is None and settings.archive_store == "folder" and settings.archive_dir:
        named, _ = archive_folder_named(settings)
        problem = await asyncio.to_thread(
            _folder_problem, settings.archive_folder, named, "archive_unavailable"
        )
    return problem


async def directory_problem(
    settings: Settings, opened: Callable[[], Awaitable[Any]], seconds: float
) -> Problem | None:
    """The API's directory (opened on first use) answers a query; its SQLite file, if that is
    where it is, is still there."""
    from sqlalchemy import text

    named, fix = directory_named(settings)
    _, password = _shown_url(settings.directory_address)
    try:
        async with asyncio.timeout(seconds):
            directory = await opened()
            async with directory.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as e:
        return Problem(
            "directory_unavailable",
            f"{named} is not reachable ({_error_text(e, password)}): {fix}",
        )
    if not settings.directory_url and not (settings.data_dir / "directory.sqlite3").is_file():
        return Problem(
            "directory_unavailable",
            f"{named} is missing (deleted since the API opened it): restore it from its "
            "backup, then restart the API",
        )
    return None
