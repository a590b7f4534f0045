"""The README's backup taken while projects run (`python -m backup create`, the dev server's
SQLite file included), then restored into a fresh data directory and Alliance started on it:
every project that existed at the snapshot is there and goes on, its people's addresses
still reach them, the archive of a closed project comes back byte for byte, and the personal
links sent before still open the pages."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.api_helpers import COORD
from tests.resilience.stack import (
    ROOT,
    Alliance,
    Tally,
    act,
    assert_recorded_once,
    launch,
    message_ids,
    rest_of_the_decision,
    the_diagnosis,
    wait_for_mail,
)


def backup(command: str, folder: Path, data_dir: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "backup", command, str(folder)],
        cwd=ROOT,
        env={**os.environ, "ALLIANCE_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def hashes(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


async def test_a_backup_taken_while_projects_run_restores_whole(tmp_path: Path):
    first = Alliance(tmp_path / "first").start()
    tally = Tally()
    try:
        async with httpx.AsyncClient(base_url=first.url, timeout=30) as http:
            kept = [await launch(http, tally, f"Sauvegardé {n}") for n in range(3)]
            for project in kept:
                await the_diagnosis(project, tally)
            closed = await launch(http, tally, "Annulé")
            await act(closed, "POST", "/cancel", "coordinator-credential", {"reason": "Fin"}, tally)
            for _ in range(200):  # its archive written
                if any(closed.id in name for name in hashes(first.data_dir / "archive")):
                    break
                await asyncio.sleep(0.1)
            archive = hashes(first.data_dir / "archive")
            assert any(closed.id in name for name in archive), archive
            record = await http.get(f"/projects/{closed.id}/archive", headers=COORD)
            assert record.status_code == 200, record.text

            # The snapshot, while other projects are launched and acted on throughout.
            launched_before: list = []
            backing_up = asyncio.Event()
            copied = asyncio.Event()

            async def busy() -> int:
                actions = 0
                while not copied.is_set():
                    project = await launch(http, Tally(), "Pendant la sauvegarde")
                    if not backing_up.is_set():
                        launched_before.append(project)
                    body = {"kind": "need", "text": "en cours"}
                    await act(project, "POST", "/contributions", "p1", body, tally)
                    actions += 2
                return actions

            acting = asyncio.create_task(busy())
            while len(launched_before) < 2:
                await asyncio.sleep(0.05)
            backing_up.set()
            made = await asyncio.to_thread(backup, "create", tmp_path / "backup", first.data_dir)
            copied.set()
            during = await acting
            assert "holds the keys" in made
            # The server's writes went on while the file was copied: none met a lock.
            assert "locked" not in first.output() and "SQLITE_BUSY" not in first.output()
    finally:
        first.stop()

    # The machine is lost; a new data directory from the backup, Alliance started on it.
    restored = tmp_path / "restored" / "data"
    backup("restore", tmp_path / "backup", restored)
    assert hashes(restored / "archive") == archive
    second = Alliance(tmp_path / "restored", data_dir=restored).start()
    try:
        async with httpx.AsyncClient(base_url=second.url, timeout=30) as http:
            # Every project launched before the snapshot began is there.
            for project in launched_before:
                project.http = http
                found = await project.call("GET", "", "coordinator-credential")
                assert found.status_code == 200, found.text
            for project in kept:
                project.http = http
                view = await project.call("GET", "", "coordinator-credential")
                assert view.status_code == 200 and view.json()["phase"] == "co_design", view.text
                # The link sent before the backup opens the same person's page.
                page = await http.get(f"/p/{project.tokens['p1']}", follow_redirects=True)
                assert page.status_code == 200 and "Sauvegardé" in page.text
            await asyncio.gather(*(rest_of_the_decision(p, tally) for p in kept))
            for project in kept:
                await assert_recorded_once(project)
            # The addresses came back with the directory: the decision's news reached them.
            messages = await wait_for_mail(second.catcher, kept, 6, 30)
            for project in kept:
                assert len(message_ids(messages, project.id)) >= 6, project.id
            closed.http = http
            again = await http.get(f"/projects/{closed.id}/archive", headers=COORD)
            assert again.status_code == 200 and again.content == record.content
    finally:
        second.stop()
    print(f"backup taken during {during} launches and contributions; restored whole")
