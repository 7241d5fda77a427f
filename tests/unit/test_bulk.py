"""The bulk download helper Kraken maps use: work items, bounded concurrency, reports, no partial files."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from aiohttp import web
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
from eoclient.errors import (
    DownloadError,
    DownloadSizeError,
    NotFoundError,
    ResponseDecodeError,
    TransportError,
    ValidationError,
)

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
    assert isinstance(info.value, DownloadError)
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


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"attempts": 0}, "attempts"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"expected_size": -1}, "expected_size"),
        ({"expected_size": True}, "expected_size"),
    ],
)
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


# -- one file over real HTTP: a tiny server with Range support that can break bodies off ----------

DATA = bytes(range(256)) * 400  # 102400 bytes


@dataclass
class FileServer:
    """What the test server does: ``drops`` bodies broken off half-way, Range ignored, a stalled body."""

    transport: Transport = field(init=False)
    drops: int = 0
    ignore_range: bool = False
    stall: bool = False
    stalled: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    ranges: list[str | None] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        header = request.headers.get("Range")
        self.ranges.append(header)
        start = 0
        if header is not None and not self.ignore_range:
            start = int(header.removeprefix("bytes=").removesuffix("-"))
            if start >= len(DATA):
                return web.Response(status=416, text="no", headers={"Content-Range": f"bytes */{len(DATA)}"})
        body = DATA[start:]
        resp = web.StreamResponse(status=206 if start else 200)
        resp.content_length = len(body)
        if start:
            resp.headers["Content-Range"] = f"bytes {start}-{len(DATA) - 1}/{len(DATA)}"
        await resp.prepare(request)
        if self.drops or self.stall:
            await resp.write(body[: len(body) // 2])
            if self.stall:
                self.stalled.set()
                await self.release.wait()
            self.drops -= 1
            assert request.transport is not None
            request.transport.close()  # the rest of the body never comes
            return resp
        await resp.write(body)
        await resp.write_eof()
        return resp


@pytest.fixture
async def server() -> AsyncIterator[FileServer]:
    fs = FileServer()
    app = web.Application()
    app.router.add_get("/f", fs.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fs.transport = Transport(
        base_url=f"http://127.0.0.1:{port}",
        dialect=SPACEKNOW,
        retry=RetryPolicy(attempts=3, initial_backoff=0.0),
    )
    yield fs
    fs.release.set()
    await fs.transport.aclose()
    await runner.cleanup()


async def test_expected_size_is_checked_at_the_end(server: FileServer, tmp_path: Path) -> None:
    got = await download_file(server.transport, "/f", tmp_path / "ok", expected_size=len(DATA))
    assert got.bytes == len(DATA) and (tmp_path / "ok").read_bytes() == DATA
    with pytest.raises(DownloadSizeError) as info:
        await download_file(
            server.transport, "/f", tmp_path / "bad", expected_size=len(DATA) + 7, keep_partial=True
        )
    assert (info.value.expected, info.value.actual) == (len(DATA) + 7, len(DATA))
    assert isinstance(info.value, DownloadError) and isinstance(info.value, ResponseDecodeError)
    assert files_in(tmp_path) == ["ok"]  # neither the file nor its .part, even with keep_partial


async def test_keep_partial_keeps_the_part_for_a_later_call(server: FileServer, tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    server.drops = 3
    with pytest.raises(TransportError):
        await download_file(server.transport, "/f", dest, attempts=2, keep_partial=True)
    part = tmp_path / "f.bin.part"
    kept = part.stat().st_size
    assert 0 < kept < len(DATA) and not dest.exists()
    assert server.ranges[0] is None and server.ranges[1] is not None  # resumed within the first call

    got = await download_file(server.transport, "/f", dest, keep_partial=True)
    assert server.ranges[2] == f"bytes={kept}-"  # the later call continues the kept part
    assert got.resumes == 1  # the third drop, then done
    assert dest.read_bytes() == DATA and files_in(tmp_path) == ["f.bin"]


async def test_without_keep_partial_a_failure_leaves_nothing(server: FileServer, tmp_path: Path) -> None:
    (tmp_path / "f.bin.part").write_bytes(DATA[:1000])  # not resumed: overwritten, then removed
    server.drops = 2
    with pytest.raises(TransportError):
        await download_file(server.transport, "/f", tmp_path / "f.bin", attempts=2)
    assert server.ranges[0] is None
    assert files_in(tmp_path) == []


async def test_keep_partial_resumes_an_existing_part(server: FileServer, tmp_path: Path) -> None:
    (tmp_path / "f.bin.part").write_bytes(DATA[:1000])
    got = await download_file(server.transport, "/f", tmp_path / "f.bin", keep_partial=True)
    assert server.ranges == ["bytes=1000-"]
    assert got == Downloaded(tmp_path / "f.bin", len(DATA), 0)
    assert (tmp_path / "f.bin").read_bytes() == DATA and files_in(tmp_path) == ["f.bin"]


async def test_a_complete_part_is_committed_on_416(server: FileServer, tmp_path: Path) -> None:
    (tmp_path / "f.bin.part").write_bytes(DATA)
    got = await download_file(
        server.transport, "/f", tmp_path / "f.bin", keep_partial=True, expected_size=len(DATA)
    )
    assert server.ranges == [f"bytes={len(DATA)}-"]
    assert got.resumes == 0 and (tmp_path / "f.bin").read_bytes() == DATA


async def test_an_oversized_part_is_started_again(server: FileServer, tmp_path: Path) -> None:
    (tmp_path / "f.bin.part").write_bytes(DATA + b"extra")
    got = await download_file(server.transport, "/f", tmp_path / "f.bin", keep_partial=True)
    assert server.ranges == [f"bytes={len(DATA) + 5}-", None]  # 416 naming another size: start again
    assert got.resumes == 1 and (tmp_path / "f.bin").read_bytes() == DATA


async def test_a_whole_file_answer_to_a_range_request_is_written_from_zero(
    server: FileServer, tmp_path: Path
) -> None:
    server.ignore_range = True
    (tmp_path / "f.bin.part").write_bytes(b"garbage from an earlier attempt")
    got = await download_file(server.transport, "/f", tmp_path / "f.bin", keep_partial=True)
    assert len(server.ranges) == 1 and server.ranges[0] is not None  # asked for a range, used the 200
    assert got.bytes == len(DATA) and (tmp_path / "f.bin").read_bytes() == DATA
    # The same after a broken body: the resuming GET gets the whole file and uses it.
    server.drops = 1
    got = await download_file(server.transport, "/f", tmp_path / "g.bin")
    assert got.resumes == 1 and len(server.ranges) == 3
    assert (tmp_path / "g.bin").read_bytes() == DATA


async def test_cancelling_removes_even_a_kept_part(server: FileServer, tmp_path: Path) -> None:
    (tmp_path / "f.bin.part").write_bytes(DATA[:1000])
    server.stall = True
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                lambda: download_file(server.transport, "/f", tmp_path / "f.bin", keep_partial=True)
            )
            await server.stalled.wait()
            scope.cancel()
    assert scope.cancelled_caught
    assert files_in(tmp_path) == []


async def test_keep_partial_leaves_no_empty_part(server: FileServer, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        await download_file(server.transport, "/missing", tmp_path / "m.bin", keep_partial=True)
    assert files_in(tmp_path) == []
