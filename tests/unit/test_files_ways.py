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
