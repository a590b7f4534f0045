"""A backup as the README gives it: `python -m backup create` while Alliance runs, the data
directory lost, `python -m backup restore` into a new one; the project's pages, its record and
people's personal links work as before (after Temporal forgot the project, too)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
from pydantic import SecretStr

from activities.notifications import OutboxAdapter
from api.app import create_app
from settings import Settings, with_local_secrets
from tests.api_helpers import ApiProject
from tests.archive.test_archive_flow import Archiving, closed_project, served
from tests.conftest import COORDINATOR_CREDENTIAL, Harness
from tests.helpers import TEST_CODEC_KEYS
from worker import build_worker

ROOT = Path(__file__).resolve().parents[2]


def local_settings(data_dir: Path, task_queue: str) -> Settings:
    """The run command's: the token secret kept in the data directory (local-secrets.json)."""
    return with_local_secrets(
        Settings(
            data_dir=data_dir,
            task_queue=task_queue,
            notifications="outbox",
            codec_keys={k: SecretStr(v) for k, v in TEST_CODEC_KEYS.items()},
            coordinator_credentials={COORDINATOR_CREDENTIAL: "mda-lyon8"},
        )
    )


def backup_command(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "backup", *args],
        cwd=ROOT,
        env={**os.environ, "ALLIANCE_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
    )


async def page_text(app, token: str) -> str:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as browser:
        page = await browser.get(f"/p/{token}", follow_redirects=True)
        assert page.status_code == 200, page.text
        return page.text


async def test_a_restored_backup_serves_every_page_record_and_link(dev_env, tmp_path):
    data = tmp_path / "data"
    settings = local_settings(data, f"alliance-backup-{tmp_path.name[-8:]}")
    outbox = OutboxAdapter(settings.outbox_dir)
    worker = build_worker(
        dev_env.client, settings, notifier=outbox, workflow_failure_exception_types=[Exception]
    )
    async with worker:
        app = create_app(settings, client=dev_env.client)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://alliance.test"
        ) as http:
            archiving = Archiving(
                Harness(dev_env.client, settings, outbox), http, app.state.gateway.archivist
            )
            closed = await closed_project(http)
            await archiving.written(closed.id)
            running = await ApiProject.launch(http)
            await running.ok("POST", "/contributions", "p1", {"kind": "need", "text": "Un local"})
            record = await served(closed, "p2")
            participants = await running.ok("GET", "/participants", "coordinator-credential")
            before = {
                "closed": await page_text(app, closed.tokens["p2"]),
                "running": await page_text(app, running.tokens["p1"]),
            }
            # Temporal's retention forgets the closed project: its record is the archive's.
            await archiving.forget(closed.id)

            made = backup_command("create", str(tmp_path / "backup"), data_dir=data)
            assert made.returncode == 0, made.stderr
            assert "holds the keys" in made.stdout
        await app.state.gateway.close()

    # The machine's data directory is lost; a new one is restored from the backup.
    shutil.rmtree(data)
    restored_data = tmp_path / "restored"
    restored = backup_command("restore", str(tmp_path / "backup"), data_dir=restored_data)
    assert restored.returncode == 0, restored.stderr
    # A second restore over it is refused: nothing already there is overwritten by mistake.
    again = backup_command("restore", str(tmp_path / "backup"), data_dir=restored_data)
    assert again.returncode == 1 and "--replace" in again.stderr

    settings = local_settings(restored_data, settings.task_queue)
    worker = build_worker(
        dev_env.client,
        settings,
        notifier=OutboxAdapter(settings.outbox_dir),
        workflow_failure_exception_types=[Exception],
    )
    async with worker:
        app = create_app(settings, client=dev_env.client)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://alliance.test"
        ) as http:
            closed.http = running.http = http
            # The archived record, byte for byte; the people's details, from the directory.
            assert await served(closed, "p2") == record
            assert (
                await running.ok("GET", "/participants", "coordinator-credential") == participants
            )
            assert "p1@example.org" in json.dumps(participants)
            # The personal links sent before still open the same pages (the token secret
            # was restored with the keys).
            after = {
                "closed": await page_text(app, closed.tokens["p2"]),
                "running": await page_text(app, running.tokens["p1"]),
            }
            for name in after:
                assert after[name].count("Jardins partagés") == before[name].count(
                    "Jardins partagés"
                )
            assert "Terrain inondable" in after["closed"] and "Un local" in after["running"]
        await app.state.gateway.close()


def test_a_damaged_backup_is_refused_before_anything_is_written(tmp_path):
    data = tmp_path / "data"
    (data / "archive" / "p1").mkdir(parents=True)
    (data / "archive" / "p1" / "manifest.json").write_text("{}")
    made = backup_command("create", str(tmp_path / "backup"), data_dir=data)
    assert made.returncode == 0, made.stderr
    (tmp_path / "backup" / "archive" / "p1" / "manifest.json").write_text('{"altered": 1}')
    restored = backup_command("restore", str(tmp_path / "backup"), data_dir=tmp_path / "new")
    assert restored.returncode == 1 and "does not match its manifest" in restored.stderr
    assert not (tmp_path / "new").exists()
