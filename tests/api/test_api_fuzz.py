"""Schemathesis against the real API (uvicorn on loopback, a real worker): whatever a client
sends, the answer is never a server error. Time-boxed (50 s in all; tests/hostile sends the hostile text)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.app import create_app
from run_local import EmbeddedApi
from tests.api_helpers import COORD, project_body
from tests.conftest import COORDINATOR_CREDENTIAL, api_settings
from tests.helpers import free_port


@pytest.mark.parametrize(
    ("caller", "selection", "seconds"),
    [
        # A partner's token on every operation of a real project.
        ("p1", [], 30),
        # A coordinator credential: launches of generated projects, lists, every action.
        ("coordinator", [], 20),
    ],
)
async def test_no_request_gets_a_server_error(dev, tmp_path: Path, caller, selection, seconds):
    port = free_port()
    app = create_app(api_settings(dev), client=dev.client)
    server = EmbeddedApi(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base) as http:
            launched = (await http.post("/projects", json=project_body(3), headers=COORD)).json()
        token = (
            COORDINATOR_CREDENTIAL
            if caller == "coordinator"
            else next(p["token"] for p in launched["participants"] if p["id"] == caller)
        )
        config = tmp_path / "schemathesis.toml"
        config.write_text(
            f'headers = {{ Authorization = "Bearer {token}" }}\n'
            f'parameters = {{ project_id = "{launched["project_id"]}", participant_id = "p2", '
            f'proposal_id = "prop-1" }}\n',
            encoding="utf-8",
        )
        fuzz = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "schemathesis"),
            "--config-file",
            str(config),
            "run",
            f"{base}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--phases",
            "examples,fuzzing",
            "--max-examples",
            "6",
            "--workers",
            "1",
            "--seed",
            "1",
            "--no-shrink",
            "--request-timeout",
            "20",
            "--max-time",
            str(seconds),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await fuzz.communicate()
        text = output.decode(errors="replace")
        assert fuzz.returncode == 0, text[-6000:]
        assert "passed" in text.lower()
    finally:
        server.should_exit = True
        await serving
