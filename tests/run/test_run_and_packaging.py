"""The README's run command as a user meets it (the deployment files: test_compose.py)."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx

import temporal_client
from settings import Settings, with_local_secrets
from tests.api_helpers import project_body
from tests.helpers import (
    as_stored,
    clear_payloads,
    free_port,
    make_spec,
    payloads_in,
    shown_history,
)
from workflows import search_attributes as sa
from workflows.project import ProjectWorkflow

ROOT = Path(__file__).resolve().parents[2]


async def test_the_run_command_serves_temporal_with_its_ui_a_worker_and_the_api(tmp_path, browser):
    grpc, ui, api, codec, smtp = free_port(), free_port(), free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "ALLIANCE_SMTP_PORT": str(smtp),
        "ALLIANCE_CODEC_PORT": str(codec),
        "ALLIANCE_TEMPORAL_ADDRESS": f"127.0.0.1:{grpc}",
        "ALLIANCE_UI_PORT": str(ui),
        "ALLIANCE_API_PORT": str(api),
        "ALLIANCE_DATA_DIR": str(tmp_path / "data"),
        "ALLIANCE_TASK_QUEUE": "alliance-run-test",
        "ALLIANCE_WORKER_METRICS_PORT": str(free_port()),
    }
    run = subprocess.Popen(
        [sys.executable, "run_local.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = ""
        deadline = time.monotonic() + 90
        while "Stop with Ctrl-C" not in output:
            line = run.stdout.readline()
            assert line or run.poll() is None, f"run_local exited early:\n{output}"
            output += line
            assert time.monotonic() < deadline, f"not running after 90 s:\n{output}"
        # A newcomer's first screen is clean: JSON log lines without terminal colour codes.
        assert "color_message" not in output and "\x1b[" not in output, output
        with urllib.request.urlopen(f"http://127.0.0.1:{ui}/", timeout=10) as page:
            assert page.status == 200  # the Temporal Web UI

        # The codec key the run command made on first start, kept with the other local secrets.
        settings = with_local_secrets(
            Settings(
                temporal_address=f"127.0.0.1:{grpc}",
                task_queue="alliance-run-test",
                data_dir=tmp_path / "data",
            )
        )
        client = await temporal_client.connect(settings)
        handle = await temporal_client.start_project(
            client, make_spec(2), task_queue=settings.task_queue
        )
        # The worker answers, and the search attributes registered by the run command hold.
        assert (await handle.query(ProjectWorkflow.view)).phase == "diagnosis"
        described = await handle.describe()
        assert described.typed_search_attributes.get(sa.PHASE) == "diagnosis"
        assert (tmp_path / "data" / "temporal.db").exists()  # the embedded SQLite store

        # The API, with the coordinator credential the run command printed.
        credential = output.split("Coordinator credential (organisation mda-lyon8): ")[1].split()[0]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api}", timeout=10) as http:
            for _ in range(50):  # ready once the worker's first poll reached the server
                ready = await http.get("/readyz")
                if ready.status_code == 200:
                    break
                time.sleep(0.1)
            assert ready.json() == {"status": "ready"}
            assert (await http.get("/docs")).status_code == 200
            launched = await http.post(
                "/projects", json=project_body(2), headers={"Authorization": f"Bearer {credential}"}
            )
            assert launched.status_code == 201, launched.text
            token = launched.json()["participants"][3]["token"]
            contributed = await http.post(
                f"/projects/{launched.json()['project_id']}/contributions",
                json={"kind": "need", "text": "Un lieu"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert contributed.status_code == 201, contributed.text

            # Temporal stores no readable address; the UI is pointed at the codec server,
            # which reads the history back for ops, from the UI's origin.
            project = f"project-{launched.json()['project_id']}"
            stored = shown_history(f"127.0.0.1:{grpc}", project)
            history = json.loads(stored)
            assert not clear_payloads(history)
            assert b"example.org" not in b"".join(as_stored(history))
            with urllib.request.urlopen(f"http://127.0.0.1:{ui}/api/v1/settings") as answer:
                ui_settings = json.loads(answer.read())
            assert ui_settings["Codec"]["Endpoint"] == f"http://localhost:{codec}"
            decoded = await http.post(
                f"http://127.0.0.1:{codec}/decode",
                json={"payloads": [p for _, p in payloads_in(history)]},
                headers={"Origin": f"http://localhost:{ui}", "X-Namespace": "default"},
            )
            assert decoded.status_code == 200, decoded.text
            assert decoded.headers["access-control-allow-origin"] == f"http://localhost:{ui}"
            readable = b"".join(
                base64.b64decode(p["data"]) for p in decoded.json()["payloads"] if "data" in p
            )
            assert b"Un lieu" in readable
            # Decoded too, the history holds no address: the contact directory keeps them.
            assert b"p1@example.org" not in readable

            # In a browser, the UI shows the project's input decoded, through the codec server.
            page = await browser.new_page()
            calls: list[str] = []
            page.on("request", lambda r: calls.append(r.url) if f":{codec}/" in r.url else None)
            await page.goto(f"http://localhost:{ui}/namespaces/default/workflows/{project}")
            await page.get_by_text('"title": "Jardins partagés"').first.wait_for(timeout=30_000)
            assert any("/decode" in url for url in calls)
            await page.close()

            # The mail catcher kept the invitations; its local page shows them, links live.
            for _ in range(100):
                mailbox = await http.get("/courrier")
                if "Invitation à participer au projet" in mailbox.text:
                    break
                time.sleep(0.1)
            assert (
                mailbox.status_code == 200 and "Invitation à participer au projet" in mailbox.text
            )
            assert f"Mail:         http://localhost:{api}/courrier" in output
            page = await browser.new_page()
            await page.goto(f"http://localhost:{api}/courrier")
            await page.get_by_role("link", name="Invitation à participer au projet").first.click()
            frame = page.frame_locator("iframe.mail-frame")
            await frame.get_by_role("link", name="Ouvrir ma page du projet").click()
            await page.wait_for_url(f"**/projets/{launched.json()['project_id']}", timeout=15_000)
            assert await page.get_by_role("heading", name="Jardins partagés").count()
            await page.close()
    finally:
        run.send_signal(signal.SIGINT)
        run.wait(timeout=30)
    assert run.returncode == 0
    with socket.socket() as s:  # the dev server went down with it
        assert s.connect_ex(("127.0.0.1", grpc)) != 0


def test_the_built_package_carries_its_compiled_catalogues_templates_and_migrations(tmp_path):
    """An installed Alliance (the image's `pip install .`) has what it reads at run time: the
    build compiles the catalogues (setup.py), so no process ever reads a .po file."""
    import zipfile

    source = tmp_path / "source"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-local", str(ROOT), str(source)], check=True
    )  # a clean tree: no .mo compiled beforehand
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path / "wheels"), str(source)],
        check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    (wheel,) = (tmp_path / "wheels").glob("alliance-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for language in ("fr", "en"):
        assert f"texts/catalogues/{language}/LC_MESSAGES/messages.mo" in names
    assert {"api/pages/templates/project.html", "activities/mail/templates/message.txt",
            "api/pages/static/style.css", "codec/__main__.py",
            "directory/migrations/env.py", "directory/migrations/versions/0004_templates.py",
            "process_templates/builtin/co-construction.v1.yaml",
            "process_templates/builtin/appel-a-projets.v1.yaml",
            "domain/steps/decision.py"} <= names  # fmt: skip
