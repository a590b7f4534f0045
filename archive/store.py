"""Where archives are kept: one small interface, two stores.

- `FolderStore`: files under a folder (the local run's default, under the data directory).
  Each object is written to a temporary file and renamed into place, so a reader never sees
  half an object.
- `S3Store`: S3-compatible object storage (production; MinIO in the compose file, moto in the
  tests) through aiobotocore. A PUT is atomic per object.

An archive is several objects; its manifest is written last and lists every file with its
SHA-256, so a reader serves an archive only once its manifest is there and the hashes match.
Keys are relative paths with "/" ("<project id>/manifest.json"); never "..".
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import uuid
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Protocol

_KEY = re.compile(r"^[A-Za-z0-9_.:-]+(/[A-Za-z0-9_.:-]+)*$")


def checked_key(key: str) -> str:
    if not _KEY.match(key) or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"not an archive key: {key!r}")
    return key


def organisation_key(organisation: str) -> str:
    # Organisation ids are free text: keys name them by a hash.
    return hashlib.sha256(organisation.encode()).hexdigest()[:24]


class ArchiveStore(Protocol):
    async def put(self, key: str, data: bytes) -> None:
        """Write one object whole (the same bytes again leave it as it was)."""

    async def get(self, key: str) -> bytes | None:
        """The object, or None when there is none."""

    async def keys(self, prefix: str = "") -> list[str]:
        """Every key under this prefix, sorted."""

    async def delete(self, key: str) -> None:
        """Remove the object (nothing if it is not there)."""

    async def close(self) -> None: ...


class FolderStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / checked_key(key)

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, self._path(key), data)

    @staticmethod
    def _put(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own per write: two writers of one object never share a partial file.
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        with partial.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def keys(self, prefix: str = "") -> list[str]:
        def walk() -> list[str]:
            # Only the folder the prefix names: a project's keys cost the same whether the
            # archive holds ten projects or a hundred thousand.
            folder = prefix.rpartition("/")[0]
            start = self.root / checked_key(folder) if folder else self.root
            if not start.is_dir():
                return []
            found = []
            for directory, _, names in os.walk(start):
                for name in names:
                    if name.startswith("."):
                        continue
                    key = (Path(directory) / name).relative_to(self.root).as_posix()
                    if key.startswith(prefix):
                        found.append(key)
            return sorted(found)

        return await asyncio.to_thread(walk)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def close(self) -> None:
        pass


class S3Store:
    """One bucket (created if missing), keys under an optional prefix."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str = "",
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._options: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "region_name": region,
            "aws_access_key_id": access_key,
            "aws_secret_access_key": secret_key,
        }
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._lock = asyncio.Lock()

    async def _s3(self) -> Any:
        async with self._lock:
            if self._client is None:
                from aiobotocore.session import get_session

                stack = AsyncExitStack()
                client = await stack.enter_async_context(
                    get_session().create_client("s3", **self._options)
                )
                try:
                    await client.head_bucket(Bucket=self.bucket)
                except client.exceptions.ClientError:
                    await client.create_bucket(Bucket=self.bucket)
                self._stack, self._client = stack, client
            return self._client

    async def put(self, key: str, data: bytes) -> None:
        s3 = await self._s3()
        await s3.put_object(Bucket=self.bucket, Key=self.prefix + checked_key(key), Body=data)

    async def get(self, key: str) -> bytes | None:
        s3 = await self._s3()
        try:
            answer = await s3.get_object(Bucket=self.bucket, Key=self.prefix + checked_key(key))
        except s3.exceptions.NoSuchKey:
            return None
        async with answer["Body"] as body:
            return await body.read()

    async def keys(self, prefix: str = "") -> list[str]:
        s3 = await self._s3()
        found: list[str] = []
        paginator = s3.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            found += [item["Key"][len(self.prefix) :] for item in page.get("Contents", [])]
        return sorted(found)

    async def delete(self, key: str) -> None:
        s3 = await self._s3()
        await s3.delete_object(Bucket=self.bucket, Key=self.prefix + checked_key(key))

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack, self._client = None, None


def archive_store(settings: Any) -> ArchiveStore:
    """The store the settings select: a folder under the data directory by default."""
    if settings.archive_store == "s3":
        secret = settings.s3_secret_access_key
        return S3Store(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key=settings.s3_access_key_id,
            secret_key=secret.get_secret_value() if secret else None,
            prefix=settings.s3_prefix,
        )
    return FolderStore(settings.archive_folder)
