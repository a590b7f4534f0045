"""Payloads encrypted before they reach Temporal: AES-GCM, with the key's id in each payload.

Everything the worker, the API and the tools send to Temporal (workflow inputs, update
arguments and results, query results, activity inputs, failure messages) passes through the
codec, so the server and its database hold no readable personal data; ops read histories
through the codec server (api/codec_server.py), which the Temporal UI calls.

Keys are named: the last key of the setting encrypts, every key decrypts. Rotating means
adding a key at the end and keeping the old ones as long as a history encrypted with them
exists (Temporal's retention, or for ever for saved histories). A lost key makes the
histories it encrypted unreadable: back the keys up (README, "Keys").

The commands (new-key, backup) are in codec/__main__.py: `python -m codec`.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class MissingKey(Exception):
    """A payload was encrypted with a key this process was not given."""


def decode_key(text: str) -> bytes:
    """A key as written in settings: 32 random bytes in URL-safe base64."""
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise ValueError(
            "a codec key is 32 bytes in URL-safe base64 (python -m codec new-key)"
        ) from None
    if len(key) != 32:
        raise ValueError(
            f"a codec key is 32 bytes (AES-256), this one is {len(key)}: "
            "make one with python -m codec new-key"
        )
    return key


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def new_key_id() -> str:
    return datetime.now(UTC).strftime("k%Y%m%d%H%M%S")


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: Mapping[str, str]) -> None:
        if not keys:
            raise ValueError("the codec needs at least one key")
        self._ciphers = {key_id: AESGCM(decode_key(key)) for key_id, key in keys.items()}
        # The last key listed encrypts: rotation adds a key at the end.
        self.current = list(keys)[-1]

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self.current]
        key_id = self.current.encode()
        encoded = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            # The key id is authenticated too: a payload relabelled with another key fails.
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), key_id)
            encoded.append(
                Payload(metadata={"encoding": ENCODING, KEY_ID: key_id}, data=nonce + sealed)
            )
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                # Written before encryption (saved histories) or by a client without it.
                decoded.append(payload)
                continue
            key_id = payload.metadata.get(KEY_ID, b"").decode()
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise MissingKey(
                    f"a payload is encrypted with key {key_id!r}, which this process was not "
                    "given: add it back to ALLIANCE_CODEC_KEYS from the key backup"
                )
            data = payload.data
            plain = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], key_id.encode())
            decoded.append(Payload.FromString(plain))
        return decoded


def backup(keys: Mapping[str, str], path: Path) -> None:
    """Write the keys as the JSON object ALLIANCE_CODEC_KEYS takes, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(dict(keys), out, indent=2)
        out.write("\n")


def restore(path: Path) -> dict[str, str]:
    """Keys from a backup, checked: each one must be a usable key."""
    keys = json.loads(path.read_text("utf-8"))
    for key in keys.values():
        decode_key(key)
    return keys
