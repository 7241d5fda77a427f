"""Object downloads through the bulk engine: atomic, resumed after a drop, skipped, refetched, cancelled."""

from __future__ import annotations

import hashlib
from contextlib import aclosing
from pathlib import Path
from typing import Any

import anyio
import pytest

from eoclient.bulk import Download, Downloaded, Failure, download_each
from eoclient.storage import ObjectStore, open_store
from tests.storage.conftest import settings_for
from tests.storage.proxy import S3Proxy

pytestmark = pytest.mark.integration

BODY = hashlib.sha256(b"eoclient").digest() * 8192  # 256 KiB


def put(s3: Any, bucket: str, key: str, body: bytes) -> None:
    s3.client().put_object(Bucket=bucket, Key=key, Body=body)


def files_in(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def test_download_is_atomic_and_skipped_on_rerun(
    s3: Any, bucket: str, store: ObjectStore, tmp_path: Path
) -> None:
    put(s3, bucket, "t/a.tif", BODY)
    dest = tmp_path / "out" / "a.tif"
    got = await store.download("t/a.tif", dest)
    assert got == Downloaded(dest, len(BODY)) and got.source == "t/a.tif"
    assert dest.read_bytes() == BODY and files_in(tmp_path) == ["out/a.tif"]

    again = await store.download("t/a.tif", dest)
    assert again.skipped and again.bytes == len(BODY)


async def test_a_changed_object_is_fetched_whole_again(
    s3: Any, bucket: str, store: ObjectStore, tmp_path: Path
) -> None:
    put(s3, bucket, "t/a.tif", BODY)
    dest = tmp_path / "a.tif"
    await store.download("t/a.tif", dest)
    changed = bytes(reversed(BODY))  # same size, other bytes (and maybe the same second)
    put(s3, bucket, "t/a.tif", changed)

    got = await store.download("t/a.tif", dest)
    assert not got.skipped and dest.read_bytes() == changed


async def test_a_dropped_body_is_continued_by_the_library_with_range(
    s3: Any, bucket: str, proxy: S3Proxy, proxied: ObjectStore, tmp_path: Path
) -> None:
    put(s3, bucket, "t/big.tif", BODY)
    proxy.cut_after = 100_000
    dest = tmp_path / "big.tif"

    got = await proxied.download("t/big.tif", dest)

    assert dest.read_bytes() == BODY and got.bytes == len(BODY)
    first, second = proxy.gets("t/big.tif")
    assert "Range" not in first.headers and second.headers["Range"] == f"bytes=100000-{len(BODY) - 1}"
    assert files_in(tmp_path) == ["big.tif"]


async def test_when_the_library_gives_up_the_engine_resumes_with_range_and_if_match(
    s3: Any, bucket: str, proxy: S3Proxy, tmp_path: Path
) -> None:
    big = BODY * 12  # 3 MiB: obstore hands over 1 MiB chunks, the cut comes after the first
    put(s3, bucket, "t/big.tif", big)
    store = open_store(f"s3://{bucket}", settings_for(s3, proxy.url), retries=0)
    proxy.cut_after = 1_500_000
    dest = tmp_path / "big.tif"

    got = await store.download("t/big.tif", dest)

    assert dest.read_bytes() == big and got.resumes == 1
    first, second = proxy.gets("t/big.tif")
    assert "Range" not in first.headers
    assert (
        second.headers["Range"].startswith("bytes=")
        and int(second.headers["Range"][6:].split("-")[0]) >= 1 << 20
    )
    assert second.headers["If-Match"] == (await store.head("t/big.tif")).etag
    assert files_in(tmp_path) == ["big.tif"]


async def test_an_object_changed_before_the_resume_is_fetched_whole(
    s3: Any, bucket: str, proxy: S3Proxy, tmp_path: Path
) -> None:
    big = BODY * 12
    put(s3, bucket, "t/big.tif", big)
    store = open_store(f"s3://{bucket}", settings_for(s3, proxy.url), retries=0)
    changed = bytes(reversed(big))[:2_000_000]
    proxy.cut_after = 1_500_000
    proxy.on_cut = lambda: put(s3, bucket, "t/big.tif", changed)  # replaced while the client resumes

    got = await store.download("t/big.tif", tmp_path / "big.tif")

    assert (tmp_path / "big.tif").read_bytes() == changed and got.bytes == len(changed)
    _, pinned, whole = proxy.gets("t/big.tif")
    assert pinned.headers["If-Match"] == f'"{hashlib.md5(big).hexdigest()}"'  # 412: not that version
    assert "Range" not in whole.headers and "If-Match" not in whole.headers
    assert files_in(tmp_path) == ["big.tif"]


async def test_slowdown_503_is_survived(
    s3: Any, bucket: str, proxy: S3Proxy, proxied: ObjectStore, tmp_path: Path
) -> None:
    put(s3, bucket, "t/a.tif", BODY)
    proxy.slowdowns = 2
    got = await proxied.download("t/a.tif", tmp_path / "a.tif")
    assert (tmp_path / "a.tif").read_bytes() == BODY and got.bytes == len(BODY)
    assert len(proxy.gets("t/a.tif")) == 3  # two SlowDown answers, retried with backoff by obstore
    proxy.slowdowns = 1
    assert await proxied.read("t/a.tif") == BODY


async def test_cancelled_download_leaves_nothing(
    s3: Any, bucket: str, proxy: S3Proxy, proxied: ObjectStore, tmp_path: Path
) -> None:
    put(s3, bucket, "t/a.tif", BODY)
    proxy.stall_after = 50_000
    dest = tmp_path / "a.tif"
    async with anyio.create_task_group() as tg:
        tg.start_soon(proxied.download, "t/a.tif", dest)
        await proxy.stalled.wait()
        assert (tmp_path / "a.tif.part").exists()
        tg.cancel_scope.cancel()
    assert files_in(tmp_path) == []


async def test_download_prefix_yields_each_file_and_skips_on_rerun(
    s3: Any, bucket: str, store: ObjectStore, tmp_path: Path
) -> None:
    for i in range(5):
        put(s3, bucket, f"req/tile-{i}/B04.tif", BODY[: 1000 * (i + 1)])
    put(s3, bucket, "elsewhere.tif", b"no")

    seen = []
    async with aclosing(store.download_each("req/", tmp_path, concurrency=2)) as results:
        async for got in results:
            assert isinstance(got, Downloaded)
            seen.append((got.source, got.bytes, got.skipped))
    assert sorted(seen) == [(f"req/tile-{i}/B04.tif", 1000 * (i + 1), False) for i in range(5)]
    assert files_in(tmp_path) == [f"tile-{i}/B04.tif" for i in range(5)]

    report = await store.download_prefix("req/", tmp_path)
    assert report.ok and len(report.skipped) == 5 and report.bytes == 0


async def test_one_engine_mixes_failures_and_files(
    s3: Any, bucket: str, store: ObjectStore, tmp_path: Path
) -> None:
    put(s3, bucket, "ok.tif", b"fine-bytes")
    items = [
        Download(store.source("ok.tif"), tmp_path / "ok.tif"),
        Download(store.source("missing.tif"), tmp_path / "missing.tif"),
    ]
    outcomes = [o async for o in download_each(None, items)]
    failures = [o for o in outcomes if isinstance(o, Failure)]
    assert len(outcomes) == 2 and len(failures) == 1
    assert type(failures[0].error).__name__ == "ObjectNotFoundError"
    assert files_in(tmp_path) == ["ok.tif"]
