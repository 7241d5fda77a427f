"""Atomic files: which way the bytes go (on the loop while writes are fast, else a worker thread)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from eoclient import _files
from eoclient._files import AtomicFile


class _Clock:
    """perf_counter for _files: each reading ``step`` seconds after the one before."""

    def __init__(self) -> None:
        self.now = 0.0
        self.step = 0.0

    def perf_counter(self) -> float:
        self.now += self.step
        return self.now


async def test_a_slow_write_sends_the_next_to_the_thread_until_a_probe_is_fast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock()
    monkeypatch.setattr(_files, "time", clock)
    monkeypatch.setattr(_files, "_PROBE", 4 << 20)
    real, on_loop = os.write, threading.get_ident()
    ways: list[str] = []  # for each write into the file: "loop" or "thread"

    def spy(fd: int, data: bytes) -> int:
        if fd == target_fd:
            where = "loop" if threading.get_ident() == on_loop else "thread"
            if not ways or ways[-1] != where:
                ways.append(where)
        return real(fd, data)

    monkeypatch.setattr(os, "write", spy)
    target = tmp_path / "out.bin"
    piece = 256 << 10
    pieces = [bytes([i]) * piece for i in range(40)]
    async with AtomicFile(target) as f:
        assert f._fh is not None
        target_fd = f._fh.fileno()
        for i, data in enumerate(pieces):
            clock.step = 1.0 if i == 3 else 0.0  # the 4th write takes a second: the disk turned slow
            await f.write(data)
    # After 4 MiB through the thread the loop tries again, finds the disk fast and stays.
    assert ways == ["loop", "thread", "loop"]
    assert target.read_bytes() == b"".join(pieces)


async def test_a_probe_finding_the_disk_still_slow_waits_twice_as_long_for_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock()
    clock.step = 1.0  # every write on the loop takes a second: the disk stays slow
    monkeypatch.setattr(_files, "time", clock)
    monkeypatch.setattr(_files, "_PROBE", 1 << 20)
    real, on_loop = os.write, threading.get_ident()
    through_thread = [0]  # bytes the thread wrote since the last write on the loop, per spell

    def spy(fd: int, data: bytes) -> int:
        done = real(fd, data)
        if fd == target_fd:
            if threading.get_ident() != on_loop:
                through_thread[-1] += done
            elif through_thread[-1]:
                through_thread.append(0)
        return done

    monkeypatch.setattr(os, "write", spy)
    target = tmp_path / "out.bin"
    pieces = [bytes([i]) * (256 << 10) for i in range(40)]
    async with AtomicFile(target) as f:
        assert f._fh is not None
        target_fd = f._fh.fileno()
        for data in pieces:
            await f.write(data)
    # Probes (each the batch gathered so far) after 1 MiB through the thread, then 2, then 4.
    assert [round(n / (1 << 20), 2) for n in through_thread] == [1.0, 2.0, 4.0, 2.0]
    assert target.read_bytes() == b"".join(pieces)


async def test_small_writes_are_gathered_into_few_writes_on_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_files, "time", _Clock())  # every write takes no time: all on the loop
    real, on_loop = os.write, threading.get_ident()
    calls: list[bool] = []  # for each write into the file: on the loop?

    def spy(fd: int, data: bytes) -> int:
        if fd == target_fd:
            calls.append(threading.get_ident() == on_loop)
        return real(fd, data)

    monkeypatch.setattr(os, "write", spy)
    target = tmp_path / "out.bin"
    pieces = [bytes([i % 256]) * 1000 for i in range(3000)] + [b"x" * (300 << 10)]
    async with AtomicFile(target) as f:
        assert f._fh is not None
        target_fd = f._fh.fileno()
        for data in pieces:
            await f.write(data)
    # 3 MB in 1000-byte writes: gathered into 1 MiB batches (each written in two, the first
    # part odd-sized: see _PAGE), then what was gathered before the large write, then that one.
    assert all(calls)
    assert len(calls) == 7
    assert target.read_bytes() == b"".join(pieces)
