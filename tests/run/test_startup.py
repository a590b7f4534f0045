"""Start-up that fails clearly: the API (`python -m api`) and the worker (`python -m worker`)
check what they need before they start (startup.py), create what they may create, or refuse
with one line on stderr naming the setting to fix and exit code 2; and the running API's
/readyz says 503 (and a launch 503, never 500) once a store it needs goes away."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

import startup
from tests.api_helpers import COORD, project_body
from tests.conftest import COORDINATOR_CREDENTIAL
from tests.helpers import TEST_CODEC_KEYS, Spawned, free_port

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE_DB = "postgresql+asyncpg://alliance:hunter2@127.0.0.1:1/none"


def alliance_env(data_dir: Path, **more: str) -> dict[str, str]:
    """A process's environment: the tests' keys and secret, nothing from a .env or the
    caller's ALLIANCE_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLIANCE_")}
    return {
        **env,
        "ALLIANCE_DATA_DIR": str(data_dir),
        "ALLIANCE_CODEC_KEYS": json.dumps(TEST_CODEC_KEYS),
        "ALLIANCE_TOKEN_SECRET": "test-secret",
        "ALLIANCE_COORDINATOR_CREDENTIALS": json.dumps({COORDINATOR_CREDENTIAL: "mda-lyon8"}),
        "ALLIANCE_NOTIFICATIONS": "outbox",
        "ALLIANCE_LOG_FORMAT": "json",
        # Nothing to wait for if a check is missed: no Temporal there.
        "ALLIANCE_TEMPORAL_ADDRESS": "127.0.0.1:1",
        "ALLIANCE_API_PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
        **more,
    }


def refusal(module: str, env: dict[str, str], cwd: Path) -> str:
    """The process must exit at once with code 2 and one line on stderr (nothing on stdout):
    that line."""
    done = subprocess.run(
        [sys.executable, "-m", module], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == "", done.stdout
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Alliance cannot start: "), lines[0]
    assert "Traceback" not in done.stderr
    return lines[0]


# -- refusing to start ---------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["api", "worker"])
def test_a_data_dir_that_cannot_be_created_stops_the_process_with_one_line(module, tmp_path):
    # A path under a regular file: no one can create it, root included.
    (tmp_path / "file.txt").write_text("not a folder")
    data_dir = tmp_path / "file.txt" / "data"
    line = refusal(module, alliance_env(data_dir), ROOT)
    assert line == (
        f"Alliance cannot start: ALLIANCE_DATA_DIR={data_dir} does not exist and cannot be "
        "created (not a directory): point it at a folder this user can write"
    )


@pytest.mark.parametrize("module", ["api", "worker"])
def test_a_data_dir_that_is_a_file_or_has_no_parent_stops_the_process(module, tmp_path):
    (tmp_path / "file.txt").write_text("not a folder")
    line = refusal(module, alliance_env(tmp_path / "file.txt"), ROOT)
    assert f"ALLIANCE_DATA_DIR={tmp_path / 'file.txt'} is a file, not a folder" in line
    # One level is created, not a tree: a typo in the path is not taken for a new place.
    line = refusal(module, alliance_env(tmp_path / "typo" / "data"), ROOT)
    assert f"ALLIANCE_DATA_DIR={tmp_path / 'typo' / 'data'} does not exist, nor does" in line
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("module", ["worker", "api"])
def test_an_unreachable_directory_database_stops_the_process_naming_its_setting(module, tmp_path):
    env = alliance_env(tmp_path / "data", ALLIANCE_DIRECTORY_URL=UNREACHABLE_DB)
    line = refusal(module, env, ROOT)
    assert line.startswith(
        "Alliance cannot start: ALLIANCE_DIRECTORY_URL=postgresql+asyncpg://alliance:***@"
        "127.0.0.1:1/none is not reachable ("
    ), line
    assert "hunter2" not in line  # never the password
    assert "check that the database is up" in line


def test_missing_or_unusable_codec_keys_and_a_missing_token_secret_stop_the_process(tmp_path):
    env = alliance_env(tmp_path / "data")
    del env["ALLIANCE_CODEC_KEYS"]
    assert "ALLIANCE_CODEC_KEYS is required" in refusal("worker", env, ROOT)
    env["ALLIANCE_CODEC_KEYS"] = json.dumps({"k1": "c2hvcnQ"})
    line = refusal("api", env, ROOT)
    assert line.startswith("Alliance cannot start: ALLIANCE_CODEC_KEYS: codec key 'k1'"), line
    assert "c2hvcnQ" not in line  # never the value
    env["ALLIANCE_CODEC_KEYS"] = "{not json"
    assert "ALLIANCE_CODEC_KEYS cannot be read" in refusal("worker", env, ROOT)
    env = alliance_env(tmp_path / "data")
    del env["ALLIANCE_TOKEN_SECRET"]
    assert "ALLIANCE_TOKEN_SECRET is not set" in refusal("api", env, ROOT)


def test_the_run_command_refuses_two_services_given_one_port(tmp_path):
    # Before: the mail catcher took the port first, the API could not, and the run crashed
    # reading the catcher's SMTP greeting as the API's health check.
    shared = free_port()
    env = alliance_env(
        tmp_path / "data",
        ALLIANCE_API_PORT=str(shared),
        ALLIANCE_SMTP_PORT=str(shared),
        ALLIANCE_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}",
        ALLIANCE_UI_PORT=str(free_port()),
        ALLIANCE_CODEC_PORT=str(free_port()),
        ALLIANCE_WORKER_METRICS_PORT=str(free_port()),
    )
    del env["ALLIANCE_NOTIFICATIONS"]  # the run command's default: e-mail to its catcher
    done = subprocess.run(
        [sys.executable, "run_local.py"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert (
        f"already in use: the API (127.0.0.1:{shared}) and the mail catcher "
        f"(127.0.0.1:{shared}) on one port" in done.stderr
    ), done.stderr
    assert "Traceback" not in done.stderr
    assert "Alliance is running" not in done.stdout


def test_uncompiled_catalogues_are_a_reason_not_to_start(tmp_path, monkeypatch):
    from texts import i18n

    monkeypatch.setattr(i18n, "CATALOGUES", tmp_path / "catalogues")
    i18n.translations.cache_clear()
    try:
        with pytest.raises(startup.CannotStart, match="catalogue is not compiled"):
            startup.check_catalogues()
    finally:
        monkeypatch.undo()
        i18n.translations.cache_clear()
    startup.check_catalogues()


def test_a_read_only_data_dir_is_named_with_the_reason(tmp_path, monkeypatch):
    # Root writes anywhere chmod forbids: the write itself is made to fail, as a read-only
    # mount would.
    def refused(*_, **__):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(startup.tempfile, "mkstemp", refused)
    with pytest.raises(startup.CannotStart) as refusal_:
        startup.ensure_folder(tmp_path, f"ALLIANCE_DATA_DIR={tmp_path}")
    assert str(refusal_.value) == (
        f"ALLIANCE_DATA_DIR={tmp_path} is not writable (permission denied): point it at a "
        "folder this user can write"
    )


# -- creating what may be created ----------------------------------------------------------------


async def test_the_api_creates_a_missing_data_dir_and_a_launch_through_it_is_recorded(
    dev_env, tmp_path
):
    data_dir = tmp_path / "new-data"  # its parent is writable; it does not exist yet
    env = alliance_env(
        data_dir,
        ALLIANCE_TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        ALLIANCE_TASK_QUEUE=f"alliance-startup-{uuid.uuid4().hex[:8]}",
        ALLIANCE_RPC_TIMEOUT_SECONDS="20",
    )
    port = env["ALLIANCE_API_PORT"]
    api = Spawned([sys.executable, "-m", "api"], env, ROOT)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            deadline = time.monotonic() + 60
            while True:
                assert api.process.poll() is None, api.output()
                assert time.monotonic() < deadline, api.output()
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            assert data_dir.is_dir() and (data_dir / "archive").is_dir()
            assert (data_dir / "directory.sqlite3").is_file()  # reachable and migrated
            # A launch needs Temporal, not a worker: the project waits for one.
            launched = await http.post("/projects", json=project_body(), headers=COORD)
            assert launched.status_code == 201, launched.text
            # No worker polls this task queue: not ready, and /readyz says why.
            ready = await http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["code"] == "no_worker"
            shutil.rmtree(data_dir)
            ready = await http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["code"] == "data_dir_unavailable"
            again = await http.post("/projects", json=project_body(), headers=COORD)
            assert again.status_code == 503, again.text
    finally:
        api.process.terminate()
        api.process.wait(timeout=30)
    assert '"status": 500' not in api.output() and "Traceback" not in api.output(), api.output()


# -- what goes away while the API runs -----------------------------------------------------------


async def test_readyz_and_a_launch_answer_503_once_the_data_dir_is_removed(http_factory, tmp_path):
    # The API's data directory of its own: the worker (the fixture's) keeps its own.
    data_dir = tmp_path / "api-data"
    data_dir.mkdir()
    http = http_factory(data_dir=data_dir)
    for _ in range(50):  # ready once the worker's first poll reached the server
        ready = await http.get("/readyz")
        if ready.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert ready.json() == {"status": "ready"}
    first = await http.post("/projects", json=project_body(), headers=COORD)
    assert first.status_code == 201, first.text

    shutil.rmtree(data_dir)
    ready = await http.get("/readyz")
    assert ready.status_code == 503 and ready.headers["Retry-After"]
    assert ready.json()["code"] == "data_dir_unavailable"
    assert f"ALLIANCE_DATA_DIR={data_dir} is missing" in ready.json()["message"]
    # The SQLite file's connections would write into the deleted file: refused, and said so.
    launched = await http.post("/projects", json=project_body(), headers=COORD)
    assert launched.status_code == 503 and launched.headers["Retry-After"]
    body = launched.json()
    assert body["code"] == "data_dir_unavailable" and set(body) == {"code", "message"}
    assert "ALLIANCE_DATA_DIR" in body["message"] and "nothing was recorded" in body["message"]
    assert (await http.get("/healthz")).status_code == 200  # alive all the same

    # An empty folder in its place is not the data: the directory's file is still missing.
    data_dir.mkdir()
    ready = await http.get("/readyz")
    assert ready.status_code == 503 and ready.json()["code"] == "directory_unavailable"
    assert "is missing (deleted since the API opened it)" in ready.json()["message"]


async def test_an_unreachable_directory_database_makes_readyz_and_a_launch_503(http_factory):
    from pydantic import SecretStr

    http = http_factory(directory_url=SecretStr(UNREACHABLE_DB), rpc_timeout_seconds=5.0)
    for _ in range(50):
        ready = await http.get("/readyz")
        if ready.json()["code"] != "no_worker":
            break
        await asyncio.sleep(0.1)
    assert ready.status_code == 503 and ready.json()["code"] == "directory_unavailable"
    assert "ALLIANCE_DIRECTORY_URL=postgresql+asyncpg://alliance:***@" in ready.json()["message"]
    assert "hunter2" not in ready.text
    launched = await http.post("/projects", json=project_body(), headers=COORD)
    assert launched.status_code == 503 and launched.headers["Retry-After"], launched.text
    assert launched.json()["code"] == "directory_unavailable"
    assert "ALLIANCE_DIRECTORY_URL" in launched.json()["message"]
    assert "hunter2" not in launched.text


async def test_the_search_attributes_added_since_are_registered_on_kept_data():
    """A local run's Temporal data made by an earlier version lacks AllianceStep (the dev
    server registers its flags' attributes only when it creates its database): the run
    command adds what is missing, so the new worker starts."""
    from temporalio.testing import WorkflowEnvironment

    import temporal_client
    from tests.helpers import CONVERTER
    from workflows import search_attributes as sa

    async with await WorkflowEnvironment.start_local(
        data_converter=CONVERTER,
        dev_server_existing_path=temporal_client.temporal_binary("temporal"),
        search_attributes=[k for k in sa.ALL if k is not sa.STEP],
        ui=False,
    ) as env:
        assert await temporal_client.missing_search_attributes(env.client) == ["AllianceStep"]
        assert await temporal_client.add_missing_search_attributes(env.client) == ["AllianceStep"]
        assert await temporal_client.missing_search_attributes(env.client) == []
        assert await temporal_client.add_missing_search_attributes(env.client) == []
