"""The bulk download helper Kraken maps use: work items, bounded concurrency, reports, no partial files."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from aioresponses import CallbackResult, aioresponses

from eoclient._http.dialects import SPACEKNOW
from eoclient._http.retry import RetryPolicy
from eoclient._http.transport import Transport
from eoclient.bulk import (
    BulkDownloadError,
    BulkReport,
    Download,
    Downloaded,
    Failure,
    download_all,
    download_file,
)
from eoclient.errors import NotFoundError, ResponseDecodeError, ValidationError

BASE = "https://sk.test"
FILES = re.compile(r"^https://sk\.test/files/.*$")


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    t = Transport(base_url=BASE, dialect=SPACEKNOW, retry=RetryPolicy(attempts=2, initial_backoff=0.0))
    yield t
    await t.aclose()


def files_in(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_work_items() -> None:
    assert Download.of(("/a", "out/a")) == Download("/a", Path("out/a"))
    assert Download.of(("/a", Path("b"), {"q": 1})).params == {"q": 1}
    item = Download("/x", Path("y"))
    assert Download.of(item) is item
    for bad in [("/a",), (1, "b"), ("/a", 3), "a", ("/a", "b", {}, "extra")]:
        with pytest.raises(ValidationError):
            Download.of(bad)  # type: ignore[arg-type]


def test_report() -> None:
    report = BulkReport()
    report.files += [Downloaded(Path("a"), 10), Downloaded(Path("b"), 5, skipped=True)]
    assert report.ok and report.bytes == 10
    assert [f.path.name for f in report.downloaded] == ["a"] and [f.path.name for f in report.skipped] == [
        "b"
    ]
    report.raise_for_failures()
    error = NotFoundError(status=404, code="TILE-NOT-FOUND", path="/c")
    report.failures.append(Failure(Download("/c", Path("c")), error))
    assert not report.ok
    with pytest.raises(BulkDownloadError) as info:
        report.raise_for_failures()
    assert info.value.failures[0].error is error
    assert "1 of 3 downloads failed" in str(info.value) and "/c" in str(info.value)
    assert "failures=1" in repr(report)


async def test_download_file_writes_atomically(transport: Transport, tmp_path: Path) -> None:
    with aioresponses() as m:
        m.get(f"{BASE}/files/a?q=1", body=b"x" * 1000, headers={"Content-Length": "1000"})
        got = await download_file(transport, "/files/a", tmp_path / "sub" / "a.bin", params={"q": 1})
    assert got == Downloaded(tmp_path / "sub" / "a.bin", 1000)
    assert (tmp_path / "sub" / "a.bin").read_bytes() == b"x" * 1000
    assert files_in(tmp_path) == ["sub/a.bin"]


async def test_download_file_errors_leave_nothing(transport: Transport, tmp_path: Path) -> None:
    with aioresponses() as m:
        m.get(f"{BASE}/files/missing", status=404, payload={"error": "TILE-NOT-FOUND", "errorMessage": "no"})
        with pytest.raises(NotFoundError) as info:
            await download_file(transport, "/files/missing", tmp_path / "missing")
        assert info.value.code == "TILE-NOT-FOUND"
        # A 206 answer to a request without Range cannot be placed in the file.
        m.get(
            f"{BASE}/files/odd",
            status=206,
            body=b"tail",
            headers={"Content-Range": "bytes 10-13/14"},
            repeat=True,
        )
        with pytest.raises(ResponseDecodeError, match="cannot continue"):
            await download_file(transport, "/files/odd", tmp_path / "odd")
        # Fewer bytes than the ranged answer's total announces.
        m.get(f"{BASE}/files/short", status=206, body=b"abc", headers={"Content-Range": "bytes 0-2/10"})
        with pytest.raises(ResponseDecodeError, match="got 3 bytes"):
            await download_file(transport, "/files/short", tmp_path / "short")
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(("kw", "field"), [({"attempts": 0}, "attempts"), ({"chunk_size": 0}, "chunk_size")])
async def test_download_file_arguments(
    transport: Transport, tmp_path: Path, kw: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await download_file(transport, "/files/a", tmp_path / "a", **kw)
    assert info.value.field == field


async def test_download_all_bounds_concurrency_and_reports(transport: Transport, tmp_path: Path) -> None:
    active = peak = 0

    async def reply(url: Any, **kwargs: Any) -> CallbackResult:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        active -= 1
        if url.path.endswith("/7"):
            return CallbackResult(status=404, payload={"error": "TILE-NOT-FOUND", "errorMessage": "gone"})
        return CallbackResult(status=200, body=url.path.encode())

    seen: list[Downloaded | Failure] = []
    with aioresponses() as m:
        m.get(FILES, callback=reply, repeat=True)
        report = await download_all(
            transport,
            ((f"/files/{i}", tmp_path / str(i)) for i in range(12)),
            concurrency=3,
            on_item=seen.append,
        )
    assert peak <= 3
    assert len(report.files) == 11 and len(seen) == 12
    (failure,) = report.failures
    assert failure.item.source == "/files/7" and isinstance(failure.error, NotFoundError)
    assert (tmp_path / "3").read_bytes() == b"/files/3"
    assert "7" not in files_in(tmp_path)
    assert report.bytes == sum(len(f"/files/{i}") for i in range(12) if i != 7)


async def test_download_all_skips_files_on_disk_and_shares_a_limiter(
    transport: Transport, tmp_path: Path
) -> None:
    (tmp_path / "0").write_bytes(b"old")
    active = peak = 0

    async def reply(url: Any, **kwargs: Any) -> CallbackResult:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        active -= 1
        return CallbackResult(status=200, body=b"new")

    limiter = anyio.CapacityLimiter(2)

    async def items() -> AsyncIterator[Download]:
        for i in range(6):
            yield Download(f"/files/{i}", tmp_path / str(i))

    with aioresponses() as m:
        m.get(FILES, callback=reply, repeat=True)
        report = await download_all(transport, items(), concurrency=8, limiter=limiter)
        assert peak <= 2
        assert [f.path.name for f in report.skipped] == ["0"] and (tmp_path / "0").read_bytes() == b"old"
        assert len(report.downloaded) == 5
        again = await download_all(transport, [("/files/0", tmp_path / "0")], overwrite=True)
    assert again.downloaded and (tmp_path / "0").read_bytes() == b"new"


async def test_download_all_arguments_and_bad_items(transport: Transport, tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        await download_all(transport, [], concurrency=0)
    with pytest.raises(ValidationError):
        await download_all(transport, ["not an item"])  # type: ignore[list-item]

    async def broken() -> AsyncIterator[Download]:
        yield Download("/files/0", tmp_path / "0")
        raise RuntimeError("the listing broke")

    with aioresponses() as m:
        m.get(FILES, body=b"x", repeat=True)
        with pytest.raises(RuntimeError, match="listing broke"):
            await download_all(transport, broken())
    assert not [p for p in files_in(tmp_path) if p.endswith(".part")]
