"""Atomic files: complete files only under the final name; .part kept only to resume."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest

from eoclient import _files
from eoclient._files import AtomicFile, part_path, write_atomic


@pytest.fixture(autouse=True, params=["inline", "thread"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test both ways: writes on the loop (fast writes), and all through the worker thread."""
    if request.param == "thread":
        monkeypatch.setattr(_files, "_INLINE_MAX", -1)  # no write is small enough to go inline
    return str(request.param)


async def chunks(n: int, size: int = 300_000):
    for i in range(n):
        yield bytes([i % 256]) * size


async def test_write_atomic_renames_complete_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.bin"
    size = await write_atomic(target, chunks(5))
    assert size == 1_500_000
    assert target.read_bytes() == b"".join(bytes([i]) * 300_000 for i in range(5))
    assert not part_path(target).exists()


async def test_failure_leaves_nothing_by_default(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        async with AtomicFile(target) as f:
            await f.write(b"x" * 2_000_000)
            raise RuntimeError("network gone")
    assert not target.exists()
    assert not part_path(target).exists()


async def test_failure_keeps_part_for_resume(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        async with AtomicFile(target, keep_partial=True) as f:
            await f.write(b"a" * 10)
            raise RuntimeError("dropped")
    assert not target.exists()
    assert part_path(target).read_bytes() == b"a" * 10
    async with AtomicFile(target, resume=True) as f:
        assert f.offset == 10
        await f.write(b"b" * 5)
    assert target.read_bytes() == b"a" * 10 + b"b" * 5
    assert not part_path(target).exists()


async def test_cancellation_removes_part_even_when_keeping(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    with anyio.move_on_after(0.01):
        async with AtomicFile(target, keep_partial=True) as f:
            await f.write(b"z" * 100)
            await anyio.sleep(5)
    assert not target.exists()
    assert not part_path(target).exists()


async def test_existing_final_file_untouched_until_commit(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(ValueError, match="bad"):
        async with AtomicFile(target) as f:
            await f.write(b"new")
            raise ValueError("bad")
    assert target.read_bytes() == b"old"


async def test_restart_drops_resumed_prefix_and_buffer(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    part_path(target).write_bytes(b"stale-prefix")
    async with AtomicFile(target, resume=True) as f:
        assert f.offset == 12
        await f.write(b"also stale")
        await f.restart()
        await f.write(b"fresh")
    assert target.read_bytes() == b"fresh"


async def test_a_reused_buffer_is_written_as_it_was(tmp_path: Path) -> None:
    # The caller may refill its buffer after write() returns: what was passed is what lands.
    target = tmp_path / "out.bin"
    buf = bytearray(b"a" * 1000)
    async with AtomicFile(target) as f:
        for letter in b"abc":
            buf[:] = bytes([letter]) * 1000
            await f.write(buf)
            await f.write(memoryview(buf)[:10])
    assert target.read_bytes() == b"".join(bytes([c]) * 1010 for c in b"abc")


async def test_pieces_of_every_size_keep_their_order(tmp_path: Path) -> None:
    # Small pieces fill the first buffer and its successors; a piece larger than a batch
    # buffer goes to the disk as it is, between the batches before and after it.
    target = tmp_path / "out.bin"
    pieces = [
        bytes([i % 251]) * size for i, size in enumerate([7, 65_536, 1, 70_001, 3 << 20, 5, 1 << 20, 999])
    ]
    pieces += [bytes([i % 256]) * 9_973 for i in range(300)]
    async with AtomicFile(target) as f:
        for piece in pieces:
            await f.write(piece)
        assert f.size == sum(map(len, pieces))
    assert target.read_bytes() == b"".join(pieces)


async def test_short_writes_are_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # os.write may write less than asked (a signal, a nearly full disk): the rest follows.
    real = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real(fd, bytes(memoryview(data)[:999])))
    target = tmp_path / "out.bin"
    pieces = [bytes([i]) * size for i, size in enumerate([5, 300_000, 4096, 70_001])]
    async with AtomicFile(target) as f:
        for piece in pieces:
            await f.write(piece)
    assert target.read_bytes() == b"".join(pieces)
