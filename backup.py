"""Back up and restore a run on one machine (the run command's data directory) whole: the
Temporal dev server's SQLite file (the running projects), the contact directory (SQLite), the
archive folder, the local reports and the keys. Production (PostgreSQL, S3, keys in .env)
uses the commands in the README's Backups.

    python -m backup create /backups/alliance-2026-11-26     # while Alliance runs
    python -m backup restore /backups/alliance-2026-11-26    # Alliance stopped

Settings come from ALLIANCE_* variables as for the worker (ALLIANCE_DATA_DIR above all).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

from settings import Settings

MANIFEST = "backup.json"
DIRECTORY = "directory.sqlite3"
# The dev server's database (run_local.py: --db-filename): every project still running.
TEMPORAL = "temporal.db"
REPORTS = "reports"
ARCHIVE = "archive"
KEYS = "local-secrets.json"


class BackupError(Exception):
    pass


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): _sha256(path)
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def _local_only(settings: Settings) -> None:
    if settings.directory_url is not None:
        raise BackupError(
            "the contact directory is in PostgreSQL (ALLIANCE_DIRECTORY_URL): back it up with "
            "pg_dump, as the README's Backups section shows"
        )
    if settings.archive_store != "folder":
        raise BackupError(
            "the archive is in S3 (ALLIANCE_ARCHIVE_STORE=s3): copy the bucket with mc mirror "
            "or your provider's versioning, as the README's Backups section shows"
        )


def _online_copy(database: Path, copy_path: Path) -> None:
    """SQLite's online backup: a consistent copy of a database another process is writing
    (the dev server, the API), taken in one step. Both keep a write-ahead log (the run
    command sets it for the dev server), so the copy reads a snapshot while they go on
    writing."""
    source = sqlite3.connect(database, timeout=30)
    copy = sqlite3.connect(copy_path)
    try:
        with copy:
            source.backup(copy)
    finally:
        copy.close()
        source.close()


def create(settings: Settings, destination: Path) -> dict[str, str]:
    """A consistent copy while Alliance runs: SQLite's online backup for Temporal's file
    (first: a project's archive is written before Temporal may forget it) and the directory, then
    the archive folder (whose versions never change once written: a copy taken during a write
    holds the previous manifest, still whole), then the keys. Returns each file's SHA-256."""
    _local_only(settings)
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(f"{destination} is not empty: back up into a new folder")
    destination.mkdir(parents=True, exist_ok=True)
    for database in (TEMPORAL, DIRECTORY):
        if (settings.data_dir / database).exists():
            _online_copy(settings.data_dir / database, destination / database)
    if settings.archive_folder.exists():
        shutil.copytree(settings.archive_folder, destination / ARCHIVE)
    if settings.reports_dir.exists():
        shutil.copytree(settings.reports_dir, destination / REPORTS)
    keys = settings.data_dir / KEYS
    if keys.exists():
        shutil.copy2(keys, destination / KEYS)
        (destination / KEYS).chmod(0o600)
    files = _files(destination)
    manifest = {"created_at": datetime.now(UTC).isoformat(), "files": files}
    (destination / MANIFEST).write_text(json.dumps(manifest, indent=2), "utf-8")
    return files


def restore(settings: Settings, source: Path, *, replace: bool = False) -> dict[str, str]:
    """Back into the data directory, every file checked against the backup's manifest first.
    Refuses to overwrite a directory or archive already there unless `replace`."""
    _local_only(settings)
    try:
        manifest = json.loads((source / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        raise BackupError(
            f"{source} holds no readable {MANIFEST}: not an Alliance backup"
        ) from None
    found = _files(source)
    if found != manifest["files"]:
        damaged = sorted(set(found.items()) ^ set(manifest["files"].items()))
        raise BackupError(f"the backup does not match its manifest: {damaged[:3]}")
    data = settings.data_dir
    targets = [
        data / TEMPORAL,
        data / DIRECTORY,
        settings.archive_folder,
        settings.reports_dir,
        data / KEYS,
    ]
    present = [str(t) for t in targets if t.exists()]
    if present and not replace:
        raise BackupError(
            f"already there: {', '.join(present)}. Restore into an empty data directory, or "
            "add --replace (Alliance stopped) to overwrite it"
        )
    data.mkdir(parents=True, exist_ok=True)
    for database in (TEMPORAL, DIRECTORY):
        if (source / database).exists():
            for leftover in ("-wal", "-shm", "-journal"):
                (data / f"{database}{leftover}").unlink(missing_ok=True)
            shutil.copy2(source / database, data / database)
    for folder, target in ((ARCHIVE, settings.archive_folder), (REPORTS, settings.reports_dir)):
        if (source / folder).exists():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source / folder, target)
    if (source / KEYS).exists():
        shutil.copy2(source / KEYS, data / KEYS)
        (data / KEYS).chmod(0o600)
    return manifest["files"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backup", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "create", help="copy Temporal's file, the directory, the archive, the reports, the keys"
    ).add_argument("folder", type=Path)
    restoring = sub.add_parser("restore", help="put a backup back into the data directory")
    restoring.add_argument("folder", type=Path)
    restoring.add_argument("--replace", action="store_true", help="overwrite what is there")
    args = parser.parse_args(argv)
    settings = Settings()
    try:
        if args.command == "create":
            files = create(settings, args.folder)
            print(f"backed up {len(files)} files from {settings.data_dir} into {args.folder}")
            if (args.folder / KEYS).exists():
                print(f"{args.folder / KEYS} holds the keys: keep the backup as secret as they are")
        else:
            files = restore(settings, args.folder, replace=args.replace)
            print(f"restored {len(files)} files into {settings.data_dir}")
    except BackupError as e:
        print(f"backup: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
