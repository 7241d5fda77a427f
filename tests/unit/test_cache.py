"""The disk cache of Process/Statistical answers: keys, entries, corruption, atomicity, linking."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest

from eoclient._models import from_wire
from eoclient.sentinelhub.cache import (
    META_FILE,
    REQUEST_FILE,
    RESPONSE_FILE,
    CacheMeta,
    ResponseCache,
    cache_key,
    encode_answer,
)
from eoclient.sentinelhub.prepared import prepare_process
from eoclient.sentinelhub.statistics_models import StatisticsResponse

URL = "https://services.sentinel-hub.com/api/v1/process"
BODY: dict[str, Any] = {
    "input": {"bounds": {"bbox": [13.8, 45.8, 14.5, 46.2]}, "data": [{"type": "sentinel-2-l2a"}]},
    "output": {"width": 32, "height": 16, "responses": [{"identifier": "default"}]},
    "evalscript": "//VERSION=3\nfunction setup() {}",
}


def reordered(value: Any) -> Any:
    """The same JSON with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {k: reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(v) for v in value]
    return value


def key(body: Any = BODY, accept: str = "image/tiff", url: str = URL) -> str:
    return cache_key(url=url, accept=accept, body=body)


def same_file(a: Path, b: Path) -> bool:
    return os.path.samefile(a, b)


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".part")]


async def store(cache: ResponseCache, k: str, content: bytes = b"tiff-bytes" * 100, **kw: Any) -> None:
    await cache.put(
        k,
        url=URL,
        accept="image/tiff",
        request=BODY,
        content=content,
        content_type=kw.get("content_type", "image/tiff"),
        processing_units=kw.get("processing_units", 0.25),
        headers=kw.get(
            "headers",
            {"Content-Type": "image/tiff", "x-processingunits-spent": "0.25", "Set-Cookie": "s=1"},
        ),
    )


# -- keys --------------------------------------------------------------------------


def test_key_ignores_dict_order_at_every_level() -> None:
    assert key(reordered(BODY)) == key(BODY)
    assert len(key()) == 64 and int(key(), 16) >= 0


def test_key_changes_with_body_accept_and_url() -> None:
    other = {**BODY, "output": {**BODY["output"], "width": 33}}
    keys = {
        key(),
        key(other),
        key(accept="application/x-tar"),
        key(url="https://sh.dataspace.copernicus.eu/api/v1/process"),
        key(url="https://services.sentinel-hub.com/api/v1/statistics"),
    }
    assert len(keys) == 5
    assert key(url=URL + "/") == key()  # a trailing slash is the same endpoint


def test_key_of_normalised_request_is_stable_for_model_and_dict() -> None:
    """Keys are computed on the final body: a dict, its reordering and the model agree."""
    prepared = prepare_process(BODY)
    wire = prepared.wire
    wire_reordered = prepare_process(reordered(BODY)).wire
    wire_model = prepare_process(prepared.model).wire
    assert key(wire) == key(wire_reordered) == key(wire_model)
    # The prepared body (bytes, keys sorted) is keyed as its value is: entries written before stay hits.
    assert key(prepared.body) == key(wire) == key(prepare_process(reordered(BODY)).body)


def test_entry_dir_layout_and_bad_keys(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    k = key()
    assert cache.entry_dir(k) == tmp_path / k[:2] / k
    for bad in ("../../etc", "ABC", k.upper(), k + "0"):
        with pytest.raises(ValueError, match="not a cache key"):
            cache.entry_dir(bad)


# -- entries -----------------------------------------------------------------------


async def test_put_then_get(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    k = key()
    assert await cache.get(k) is None
    await store(cache, k)
    hit = await cache.get(k)
    assert hit is not None
    assert hit.content == b"tiff-bytes" * 100
    assert hit.meta.media_type == "image/tiff"
    assert hit.meta.processing_units == 0.25
    assert hit.meta.header_map["X-ProcessingUnits-Spent"] == "0.25"  # case-insensitive
    assert "Set-Cookie" not in hit.meta.headers  # only the headers worth keeping
    assert (cache.hits, cache.misses, cache.stores) == (1, 1, 1)
    entry = cache.entry_dir(k)
    assert sorted(p.name for p in entry.iterdir()) == [META_FILE, REQUEST_FILE, RESPONSE_FILE]
    assert msgspec.json.decode((entry / REQUEST_FILE).read_bytes()) == BODY  # for humans, as sent
    meta = msgspec.json.decode((entry / META_FILE).read_bytes(), type=CacheMeta)
    assert meta.key == k and meta.url == URL and meta.size == 1000
    assert leftovers(tmp_path) == []


async def test_put_replaces_entry(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    k = key()
    await store(cache, k, b"old")
    await store(cache, k, b"new content")
    hit = await cache.get(k)
    assert hit is not None and hit.content == b"new content"


def corrupt_truncated(entry: Path) -> None:
    data = (entry / RESPONSE_FILE).read_bytes()
    (entry / RESPONSE_FILE).write_bytes(data[: len(data) // 2])


def corrupt_same_size(entry: Path) -> None:
    data = bytearray((entry / RESPONSE_FILE).read_bytes())
    data[0] ^= 0xFF
    (entry / RESPONSE_FILE).write_bytes(bytes(data))


def corrupt_meta_garbage(entry: Path) -> None:
    (entry / META_FILE).write_bytes(b'{"format": 1, "key": ')


def corrupt_meta_wrong_shape(entry: Path) -> None:
    (entry / META_FILE).write_bytes(b'{"format": 1, "key": 7}')


def corrupt_meta_other_key(entry: Path) -> None:
    meta = msgspec.json.decode((entry / META_FILE).read_bytes())
    meta["key"] = "0" * 64
    (entry / META_FILE).write_bytes(msgspec.json.encode(meta))


def corrupt_meta_future_format(entry: Path) -> None:
    meta = msgspec.json.decode((entry / META_FILE).read_bytes())
    meta["format"] = 99
    (entry / META_FILE).write_bytes(msgspec.json.encode(meta))


def corrupt_no_response(entry: Path) -> None:
    (entry / RESPONSE_FILE).unlink()


def corrupt_no_meta(entry: Path) -> None:
    """A writer that stopped before its last file: response.bin without meta.json."""
    (entry / META_FILE).unlink()


CORRUPTIONS = [
    corrupt_truncated,
    corrupt_same_size,
    corrupt_meta_garbage,
    corrupt_meta_wrong_shape,
    corrupt_meta_other_key,
    corrupt_meta_future_format,
    corrupt_no_response,
    corrupt_no_meta,
]


@pytest.mark.parametrize("damage", CORRUPTIONS, ids=lambda f: f.__name__)
async def test_corrupt_entry_is_a_miss_and_is_rewritten(tmp_path: Path, damage: Any) -> None:
    cache = ResponseCache(tmp_path)
    k = key()
    await store(cache, k)
    damage(cache.entry_dir(k))
    assert await cache.get(k) is None
    dest = tmp_path / "out" / "scene.tif"
    assert await cache.copy_to(k, dest) is None
    assert not dest.exists() and leftovers(tmp_path) == []
    await store(cache, k, b"fresh")
    hit = await cache.get(k)
    assert hit is not None and hit.content == b"fresh"


# -- atomicity ---------------------------------------------------------------------


async def test_writer_failing_midway_leaves_no_entry_and_no_part(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    k = key()
    with pytest.raises(RuntimeError, match="connection lost"):
        async with cache.writer(k, url=URL, accept="image/tiff", request=BODY) as w:
            await w.write(b"first half")
            raise RuntimeError("connection lost")
    assert await cache.get(k) is None
    assert leftovers(tmp_path) == []
    assert not (cache.entry_dir(k) / RESPONSE_FILE).exists()


async def test_writer_without_finish_commits_nothing(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    k = key()
    async with cache.writer(k, url=URL, accept="image/tiff", request=BODY) as w:
        await w.write(b"all of it, but never declared complete")
    assert await cache.get(k) is None
    assert leftovers(tmp_path) == [] and cache.stores == 0


async def test_failed_rewrite_keeps_the_old_entry(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    k = key()
    await store(cache, k, b"old but whole")
    with pytest.raises(RuntimeError):
        async with cache.writer(k, url=URL, accept="image/tiff", request=BODY) as w:
            await w.write(b"new but partial")
            raise RuntimeError
    hit = await cache.get(k)
    assert hit is not None and hit.content == b"old but whole"


async def test_cancelled_writer_leaves_no_part(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    k = key()
    started = anyio.Event()

    async def slow_writer() -> None:
        async with cache.writer(k, url=URL, accept="image/tiff", request=BODY) as w:
            await w.write(b"x" * (2 << 20))  # past AtomicFile's batch: the .part exists
            started.set()
            await anyio.sleep_forever()

    async with anyio.create_task_group() as tg:
        tg.start_soon(slow_writer)
        await started.wait()
        assert leftovers(tmp_path)
        tg.cancel_scope.cancel()
    assert leftovers(tmp_path) == []
    assert await cache.get(k) is None


async def test_unwritable_cache_never_fails_the_caller(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    cache = ResponseCache(blocker)
    k = key()
    await store(cache, k)  # logged, not raised
    assert cache.stores == 0
    assert await cache.get(k) is None


# -- copying to a destination ------------------------------------------------------


async def test_copy_to_hardlinks_when_possible(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache")
    k = key()
    await store(cache, k)
    dest = tmp_path / "out" / "scene.tif"
    meta = await cache.copy_to(k, dest)
    assert meta is not None and meta.size == 1000
    assert dest.read_bytes() == b"tiff-bytes" * 100
    src = cache.entry_dir(k) / RESPONSE_FILE
    assert same_file(src, dest)
    # again onto the same link: rename() of two links to one file is a no-op; no .part may remain
    assert await cache.copy_to(k, dest) is not None
    assert leftovers(tmp_path) == []


async def test_copy_to_copies_without_hardlinks(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache", hardlink=False)
    k = key()
    await store(cache, k, os.urandom(3 << 20))  # several chunks
    dest = tmp_path / "scene.tif"
    assert await cache.copy_to(k, dest) is not None
    src = cache.entry_dir(k) / RESPONSE_FILE
    assert dest.read_bytes() == src.read_bytes()
    assert not same_file(src, dest)
    assert leftovers(tmp_path) == []


async def test_copy_to_falls_back_to_copy_when_linking_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(*args: Any, **kwargs: Any) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    cache = ResponseCache(tmp_path / "cache")
    k = key()
    await store(cache, k)
    dest = tmp_path / "scene.tif"
    assert await cache.copy_to(k, dest) is not None
    assert dest.read_bytes() == b"tiff-bytes" * 100
    assert not same_file(cache.entry_dir(k) / RESPONSE_FILE, dest)


async def test_editing_a_linked_destination_invalidates_the_entry(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache")
    k = key()
    await store(cache, k)
    dest = tmp_path / "scene.tif"
    await cache.copy_to(k, dest)
    with dest.open("r+b") as fh:  # in place: the entry shares these bytes
        fh.write(b"X")
    assert await cache.get(k) is None
    await store(cache, k)  # the rewrite is a new file: the user's edited copy stays theirs
    assert dest.read_bytes().startswith(b"X")
    hit = await cache.get(k)
    assert hit is not None and hit.content == b"tiff-bytes" * 100


# -- stored answers ------------------------------------------------------------------


def test_encode_answer_keeps_nan_and_infinities() -> None:
    wire = {
        "status": "OK",
        "data": [
            {
                "interval": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-02T00:00:00Z"},
                "outputs": {
                    "default": {
                        "bands": {
                            "B0": {
                                "stats": {"min": "NaN", "max": "Infinity", "mean": "-Infinity", "stDev": 0.5}
                            }
                        }
                    }
                },
            }
        ],
    }
    answer = from_wire(wire, StatisticsResponse)
    again = from_wire(msgspec.json.decode(encode_answer(answer)), StatisticsResponse)
    stats = again.data[0].outputs["default"].bands["B0"].stats
    assert stats is not None and stats.min is not None and math.isnan(stats.min)
    assert stats.max == math.inf and stats.mean == -math.inf and stats.st_dev == 0.5
    assert again.data[0].interval == answer.data[0].interval
