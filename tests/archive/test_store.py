"""The archive store's one interface, on a folder and on a real S3-compatible server (moto in
server mode, started here on loopback)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from archive.store import ArchiveStore, FolderStore, S3Store


@pytest.fixture(params=["folder", "s3"])
async def store(request, tmp_path: Path) -> AsyncIterator[ArchiveStore]:
    if request.param == "folder":
        opened: ArchiveStore = FolderStore(tmp_path / "archive")
    else:
        endpoint = request.getfixturevalue("s3_server")
        opened = S3Store(
            f"alliance-{tmp_path.name.lower().replace('_', '-')}"[:60],
            endpoint_url=endpoint,
            access_key="test",
            secret_key="test",
            prefix="records",
        )
    yield opened
    await opened.close()


async def test_objects_go_in_whole_and_come_back_the_same(store):
    data = "événements\n".encode() * 1000
    await store.put("p1/events.jsonl", data)
    await store.put("p1/manifest.json", b"{}")
    await store.put("p2/manifest.json", b"{}")
    assert await store.get("p1/events.jsonl") == data
    assert await store.get("p1/missing.csv") is None
    assert await store.keys("p1/") == ["p1/events.jsonl", "p1/manifest.json"]
    assert await store.keys() == ["p1/events.jsonl", "p1/manifest.json", "p2/manifest.json"]
    # Written again (a retried activity): the same object, once.
    await store.put("p1/events.jsonl", data)
    assert await store.keys("p1/") == ["p1/events.jsonl", "p1/manifest.json"]
    await store.delete("p2/manifest.json")
    assert await store.keys("p2/") == []


async def test_concurrent_writes_of_one_object_leave_one_whole_object(store):
    versions = [bytes([n]) * 200_000 for n in range(5)]
    await asyncio.gather(*(store.put("p/report.md", v) for v in versions))
    assert await store.get("p/report.md") in versions


@pytest.mark.parametrize("key", ["../outside", "p1/../../etc", "/absolute", "p1//x", ""])
async def test_a_key_never_leaves_the_store(tmp_path, key):
    with pytest.raises(ValueError):
        await FolderStore(tmp_path).put(key, b"x")


async def test_keys_under_a_prefix_read_only_that_folder(store, monkeypatch):
    for project in ("p1", "p2", "p10"):
        await store.put(f"{project}/segments/1-8.jsonl", b"{}")
        await store.put(f"{project}/manifest.json", b"{}")
    assert await store.keys("p1/segments/") == ["p1/segments/1-8.jsonl"]
    assert await store.keys("p1/seg") == ["p1/segments/1-8.jsonl"]  # a partial name
    assert await store.keys("p1") == [
        "p1/manifest.json",
        "p1/segments/1-8.jsonl",
        "p10/manifest.json",
        "p10/segments/1-8.jsonl",
    ]
    assert await store.keys("p3/") == []
    if isinstance(store, FolderStore):
        import archive.store

        walked: list[Path] = []
        real_walk = archive.store.os.walk
        monkeypatch.setattr(
            archive.store.os, "walk", lambda start: walked.append(Path(start)) or real_walk(start)
        )
        await store.keys("p2/segments/")
        # One project's keys cost the same whatever the archive holds.
        assert walked == [store.root / "p2" / "segments"]
