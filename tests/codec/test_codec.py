"""Payload encryption: Temporal stores nothing readable, ops read it back through the codec
server, old keys keep decoding after a rotation, and a backup of the keys restores them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.exceptions import InvalidTag
from pydantic import SecretStr
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import Worker

import codec
import temporal_client
from api.codec_server import create_codec_app
from settings import Settings
from tests.helpers import (
    TEST_CODEC_KEYS,
    as_stored,
    clear_payloads,
    make_spec,
    payloads_in,
    shown_history,
)

ROOT = Path(__file__).resolve().parents[2]
SECRET = b"jean.dupuis@example.org"


def payload(text: bytes) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=text)


async def test_a_payload_is_sealed_with_the_last_key_and_opens_with_any():
    old = {"k1": codec.new_key()}
    sealed = await codec.EncryptionCodec(old).encode([payload(SECRET)])
    assert SECRET not in sealed[0].SerializeToString()
    assert sealed[0].metadata["encryption-key-id"] == b"k1"
    rotated = codec.EncryptionCodec({**old, "k2": codec.new_key()})
    # Rotation: the new key seals from now on, the old one still opens what it sealed.
    assert (await rotated.decode(sealed))[0].data == SECRET
    assert (await rotated.encode([payload(b"x")]))[0].metadata["encryption-key-id"] == b"k2"
    # A payload written before encryption (a saved history) passes through unchanged.
    assert (await rotated.decode([payload(b"plain")]))[0].data == b"plain"


async def test_a_missing_or_wrong_key_says_so():
    sealed = await codec.EncryptionCodec({"k1": codec.new_key()}).encode([payload(SECRET)])
    with pytest.raises(codec.MissingKey, match="'k1'.*key backup"):
        await codec.EncryptionCodec({"k2": codec.new_key()}).decode(sealed)
    with pytest.raises(InvalidTag):
        await codec.EncryptionCodec({"k1": codec.new_key()}).decode(sealed)
    relabelled = Payload()
    relabelled.CopyFrom(sealed[0])
    relabelled.metadata["encryption-key-id"] = b"k0"
    keys = {"k0": codec.new_key(), "k1": codec.new_key()}
    with pytest.raises(InvalidTag):  # the key id is authenticated with the data
        await codec.EncryptionCodec(keys).decode([relabelled])


def test_settings_refuse_a_key_that_is_not_one():
    with pytest.raises(ValueError, match="codec key 'k1'.*32 bytes"):
        Settings(codec_keys={"k1": "short"})
    with pytest.raises(temporal_client.MissingCodecKeys, match="ALLIANCE_CODEC_KEYS is required"):
        temporal_client.converter_for(Settings())


@activity.defn
async def send_mail(address: str) -> None:
    # A mail server's refusal quotes the address: the failure's message carries it.
    raise ApplicationError(f"550 <{address}>: no such mailbox", non_retryable=True)


@workflow.defn(sandboxed=False)
class MailOnce:
    @workflow.run
    async def run(self, address: str) -> str:
        try:
            await workflow.execute_activity(
                send_mail,
                address,
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except ActivityError as e:
            return f"not sent: {e.cause}"
        return "sent"


async def test_temporal_holds_no_address_and_ops_read_it_back_with_restored_keys(dev, tmp_path):
    """A project and a failed mail on a real server: the history as the CLI shows it holds no
    address, in payloads or in failure messages; a backup of the keys reads it all back."""
    client = dev.client
    queue = f"mail-{uuid.uuid4().hex[:6]}"
    async with Worker(client, task_queue=queue, workflows=[MailOnce], activities=[send_mail]):
        result = await client.execute_workflow(
            MailOnce.run, SECRET.decode(), id=f"mail-{queue}", task_queue=queue
        )
    assert result.startswith("not sent: 550 <jean.dupuis@example.org>")  # the client decodes
    spec = make_spec(2)
    spec.participants[1].email = SECRET.decode()
    handle = await temporal_client.start_project(client, spec, task_queue=dev.task_queue)
    await handle.query("view")

    for workflow_id in (f"mail-{queue}", handle.id):
        shown = shown_history(dev_address(client), workflow_id)
        history = json.loads(shown)
        assert not clear_payloads(history)
        assert SECRET not in b"".join(as_stored(history))
        assert b"example.org" not in shown.encode()  # failure messages are encoded too

        # The keys, backed up with the README's command, then restored elsewhere.
        backup = tmp_path / "keys-backup.json"
        env = {**os.environ, "ALLIANCE_CODEC_KEYS": json.dumps(TEST_CODEC_KEYS)}
        subprocess.run(
            [sys.executable, "-m", "codec", "backup", str(backup)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        assert oct(backup.stat().st_mode & 0o777) == "0o600"
        restored = codec.EncryptionCodec(codec.restore(backup))
        opened = await restored.decode([to_payload(p) for _, p in payloads_in(history)])
        readable = b"".join(p.data for p in opened)
        if workflow_id == handle.id:
            assert SECRET in readable
        else:
            failure = encoded_failures(history)
            assert failure, "the activity's failure is in history"
            decoded = await restored.decode([to_payload(failure[0])])
            assert b"no such mailbox" in decoded[0].data and SECRET in decoded[0].data


def dev_address(client) -> str:
    return client.service_client.config.target_host


def to_payload(as_json: dict) -> Payload:
    from google.protobuf import json_format

    return json_format.ParseDict(as_json, Payload())


def encoded_failures(history: dict) -> list[dict]:
    """The encoded attributes (message, stack trace) of every failure in a history."""
    found = []

    def walk(value):
        if isinstance(value, dict):
            if "encodedAttributes" in value:
                found.append(value["encodedAttributes"])
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(history)
    return found


def codec_app(**settings):
    keys = {k: SecretStr(v) for k, v in TEST_CODEC_KEYS.items()}
    return create_codec_app(Settings(codec_keys=keys, ui_url="http://localhost:8233", **settings))


async def sealed_json() -> dict:
    from google.protobuf import json_format

    sealed = await codec.EncryptionCodec(TEST_CODEC_KEYS).encode([payload(SECRET)])
    return {"payloads": [json_format.MessageToDict(p) for p in sealed]}


async def test_the_codec_server_decodes_for_the_ui_and_no_one_else():
    body = await sealed_json()
    ui = {"Origin": "http://localhost:8233", "X-Namespace": "default"}
    transport = httpx.ASGITransport(app=codec_app(), client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://codec") as http:
        decoded = await http.post("/decode", json=body, headers=ui)
        assert decoded.status_code == 200, decoded.text
        assert decoded.headers["access-control-allow-origin"] == "http://localhost:8233"
        assert SECRET in to_payload(decoded.json()["payloads"][0]).data
        # The UI's preflight, from its origin; another origin gets no CORS grant.
        preflight = await http.options(
            "/decode",
            headers={
                **ui,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace",
            },
        )
        assert preflight.status_code == 200
        other = await http.post("/decode", json=body, headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        wrong_namespace = await http.post("/decode", json=body, headers={"X-Namespace": "other"})
        assert wrong_namespace.status_code == 403
        garbage = await http.post("/decode", content=b"not json")
        assert garbage.status_code == 400 and "payloads" in garbage.json()["detail"]
        encoded = await http.post("/encode", json=decoded.json())
        assert b"binary/encrypted" in to_payload(encoded.json()["payloads"][0]).metadata["encoding"]

    # Without tokens it answers loopback only; with tokens, the bearer of one.
    remote = httpx.ASGITransport(app=codec_app(), client=("10.0.0.7", 5000))
    async with httpx.AsyncClient(transport=remote, base_url="http://codec") as http:
        assert (await http.post("/decode", json=body)).status_code == 403
    guarded = codec_app(codec_tokens=["ops-token"])
    remote = httpx.ASGITransport(app=guarded, client=("10.0.0.7", 5000))
    async with httpx.AsyncClient(transport=remote, base_url="http://codec") as http:
        assert (await http.post("/decode", json=body)).status_code == 401
        bearer = {"Authorization": "Bearer ops-token"}
        assert (await http.post("/decode", json=body, headers=bearer)).status_code == 200
