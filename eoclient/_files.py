"""Writing downloads to disk without blocking the loop for long and without ever leaving a
partial file under its final name.

Bytes go to ``<name>.part`` beside the target (same directory, so the final
``os.replace`` is atomic); only a complete file is renamed into place, after
``fsync``: a file under its final name survives a crash of the machine, not
just of the process. A failed download keeps its ``.part`` when the caller
wants to resume it (``keep_partial=True``), otherwise it is removed; a
cancelled one is always removed.

Two ways to write, chosen per write from how fast the file's writes have been:

* Inline, on the loop, while writes are fast (the page cache, tmpfs): each
  chunk goes to ``os.write`` as it is, no copy and no thread hop, and is let
  go at once. A 1 GiB download to tmpfs took 0.8 CPU s this way against 1.3
  through the thread (and aiohttp reading and writing with plain blocking
  writes: 0.95).
* Through a worker thread when they turn slow (a throttled disk, a network
  file system), in batches while the next batch is received (one batch in
  flight: the disk and the network work at once, and memory stays bounded by
  two batches). Each write is copied into one of two batch buffers of the
  file's own and the caller's chunk is let go at once. Holding the received
  chunks until the thread has written them instead makes the heap grow and
  shrink by megabytes per batch: the allocator hands the pages back to the
  kernel and faults them in again (about 80,000 page faults per GiB, more CPU
  than the copy). A file starts with a small buffer: a small file does not pay
  for zeroing two large ones.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterable
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import anyio

__all__ = ["AtomicFile", "part_path", "write_atomic"]

_BATCH = 1 << 20  # bytes collected before one write in the worker thread
_FIRST = 64 << 10  # the first buffer: a small file never needs more
# Bytes per os.write: an odd size, so that writes start at offsets no large page-cache folio fits.
# Whole batches at aligned offsets (1 MiB, and still 128 KiB) let ext4 (Linux 6.x, large folios)
# put them in fresh high-order folios; on the benchmark VM that cost 2-4x the CPU of the copy
# (1 GiB to ext4: 4.6-4.9 CPU s in 128 KiB writes, 2.0-2.2 in these, 8.8 in 1 MiB ones). The
# floor's writes, one received piece each, land at arbitrary offsets too.
_WRITE = (125 << 10) - 7
# An inline write (on the loop) is at most _INLINE_MAX bytes and is only started when the file's
# recent writes say it takes at most _INLINE_BUDGET seconds. One that turns out slow sends the next
# writes to the thread; the loop tries one write again (a probe) after _PROBE bytes went that way,
# after twice as many if the probe is slow too, and so on up to _PROBE_MAX. So the loop is blocked
# for one write at a time: about _INLINE_BUDGET while writes are fast; while they are slow, one
# write after 16 MiB, 32, 64, ... and then one per 1 GiB (a disk throttled at 200 ms a write blocks
# the loop for 200 ms after 16 MiB, 48, 112, ...: a share that halves each time).
_INLINE_MAX = 1 << 20
_INLINE_BUDGET = 0.002
_PROBE = 16 << 20
_PROBE_MAX = 1 << 30
# A smaller write is gathered in the batch buffer (a copy) rather than being a system call of its
# own: 1 GiB in 8 KiB writes cost 0.4-1.2 CPU s against 0.3 in 1 MiB ones (tmpfs).
_GATHER = 32 << 10
# Below this a write's time is mostly the system call, not bytes: not a per-byte cost.
_SAMPLE_FLOOR = 64 << 10
_PAGE = 4096


def _write_all(fd: int, data: memoryview) -> None:
    while data:  # os.write may write less than asked (a full disk, a signal)
        data = data[os.write(fd, data[:_WRITE]) :]


def _write_rest(fd: int, data: bytes | bytearray | memoryview, done: int) -> None:
    """Write ``data[done:]`` (what a short ``os.write`` left)."""
    view = memoryview(data).cast("B")[done:]
    while view:
        view = view[os.write(fd, view) :]


def part_path(path: str | os.PathLike[str]) -> Path:
    """Where the bytes of ``path`` live until it is complete."""
    p = Path(path)
    return p.with_name(p.name + ".part")


class AtomicFile:
    """``async with AtomicFile(path) as f: await f.write(chunk)`` — renamed into place on success.

    ``resume=True`` appends to an existing ``.part`` (its size is :attr:`offset`,
    e.g. for a ``Range`` request); ``keep_partial=True`` keeps the ``.part`` when
    the block fails with an ordinary exception, so a later call can resume.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, resume: bool = False, keep_partial: bool = False
    ) -> None:
        self.path = Path(path)
        self.part = part_path(self.path)
        self.resume = resume
        self.keep_partial = keep_partial
        self.offset = 0
        self.written = 0
        self._fh: IO[bytes] | None = None
        self._buf: bytearray | None = None  # gathered, not yet written nor handed to the thread
        self._fill = 0  # bytes of _buf in use
        self._spare: bytearray | None = None  # the other buffer (the one being written, if any)
        self._inflight: asyncio.Future[None] | None = None  # the batch being written
        self._cost = 0.0  # seconds per byte of recent inline writes (0: none yet, so try one)
        self._handed = 0  # bytes handed to the thread since the last inline write
        self._probe = _PROBE  # bytes to hand to the thread before the next inline write
        self._end = 0  # where the next write lands: the bytes written or handed to the thread so far

    async def __aenter__(self) -> Self:
        self._fh, self.offset = await anyio.to_thread.run_sync(self._open)
        self._end = self.offset
        return self

    def _open(self) -> tuple[IO[bytes], int]:
        self.part.parent.mkdir(parents=True, exist_ok=True)
        if self.resume and self.part.exists():
            fh = self.part.open("ab", buffering=0)
            return fh, fh.tell()
        return self.part.open("wb", buffering=0), 0

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        """Write ``data``: at once on the loop while writes are fast, else queued (copied: the
        caller may reuse it) for the worker thread, which writes it in batches. Small writes
        are gathered (copied) into batches either way."""
        n = len(data) if type(data) is bytes else memoryview(data).nbytes
        if _GATHER <= n <= _INLINE_MAX and self._fast(n):
            if self._fill or self._inflight is not None:
                await self._flush()  # what was queued goes first (a probe, if the thread had it)
            if self._fast(n):  # still: that write may have been slow
                self._write_inline(data, n)
                self.written += n
                return
        buf = self._buf
        if buf is None:
            buf = self._buf = bytearray(_FIRST)
        n = len(data)
        fill = self._fill
        end = fill + n
        if end <= len(buf) and type(data) is bytes:  # the usual case: room in the batch
            buf[fill:end] = data
            self._fill = end
            self.written += n
            return
        await self._add(memoryview(data).cast("B"))

    def _fast(self, n: int) -> bool:
        """Whether a write of ``n`` bytes goes on the loop (see _INLINE_BUDGET)."""
        return self._cost * n <= _INLINE_BUDGET or self._handed >= self._probe

    def _write_inline(self, data: bytes | bytearray | memoryview, n: int) -> None:
        """Write ``data`` now, on the loop (nothing may be in flight); time it to decide the next writes."""
        fh = self._fh
        assert fh is not None
        fd = fh.fileno()
        start = time.perf_counter()
        at, self._end = self._end, self._end + n
        if at % _PAGE or n <= _PAGE:
            done = os.write(fd, data)
        else:
            # A write at a page-aligned offset of an ext4 file may get fresh large folios: 1 GiB in
            # 1 MiB writes from offset 0 cost 1.7 CPU s against 0.3 from an odd offset. An odd
            # first part moves the rest, and later writes of other sizes, off the alignment
            # (tmpfs: no difference).
            done = os.write(fd, memoryview(data).cast("B")[: _PAGE - 3])
        if done < n:
            _write_rest(fd, data, done)
        sample = (time.perf_counter() - start) / max(n, _SAMPLE_FLOOR)
        if self._handed:
            # A write after a spell in the thread (a probe) says how fast the disk is now.
            self._cost, self._handed = sample, 0
            slow = sample * n > _INLINE_BUDGET
            self._probe = min(self._probe * 2, _PROBE_MAX) if slow else _PROBE
        else:
            # A write moves the estimate by an eighth: on busy cores a write now and then takes
            # 8-12 ms (the process lost the CPU), which must not send the file to the thread; a
            # disk turning slow (a write of 16 ms and more, or several over 2 ms) does.
            self._cost += (sample - self._cost) / 8

    async def _add(self, view: memoryview) -> None:
        self.written += len(view)
        if len(view) >= _BATCH and isinstance(view.obj, bytes):
            # A large immutable chunk is written as it is: no copy, and it cannot change meanwhile.
            await self._submit()
            await self._hand(view)
            return
        while view:
            buf, fill = self._buf, self._fill
            assert buf is not None
            if fill == len(buf):
                if fill < _BATCH:  # more than a small file: a full-size batch buffer from now on
                    self._buf = bytearray(_BATCH)
                    self._buf[:fill] = buf
                else:
                    await self._submit()
                continue
            k = min(len(buf) - fill, len(view))
            buf[fill : fill + k] = view[:k]
            self._fill = fill + k
            view = view[k:]

    async def _submit(self) -> None:
        """Write the filled part of the batch buffer: on the loop while writes are fast, else hand
        it to the worker thread and fill the other one next."""
        buf, fill = self._buf, self._fill
        if not fill:
            return
        assert buf is not None
        if self._fast(fill):
            await self._settle()
            self._write_inline(memoryview(buf)[:fill], fill)
            self._fill = 0
            return
        await self._hand(memoryview(buf)[:fill])
        # The spare is free: _hand waited for the batch it held.
        self._buf, self._spare, self._fill = self._spare or bytearray(_BATCH), buf, 0

    async def _hand(self, data: memoryview) -> None:
        """Start writing ``data`` in the worker thread once the batch before it is written."""
        await self._settle()
        fh = self._fh
        assert fh is not None
        self._handed += len(data)
        self._end += len(data)
        self._inflight = asyncio.get_running_loop().run_in_executor(None, _write_all, fh.fileno(), data)

    async def _settle(self) -> None:
        """Wait for the batch in flight; its write error, if any, is raised here."""
        inflight = self._inflight
        if inflight is None:
            return
        # Shielded: a cancelled caller must not leave the thread writing unseen; the
        # future stays set so that __aexit__ waits for it before closing the file.
        await asyncio.shield(inflight)
        self._inflight = None

    async def _flush(self) -> None:
        await self._submit()
        await self._settle()

    async def _drain(self) -> None:
        """Wait for the batch in flight whatever happened (cleanup): its error is dropped."""
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            with anyio.CancelScope(shield=True):
                await asyncio.wait([inflight])
            if not inflight.cancelled():
                inflight.exception()  # seen: the error that ended the block is the one raised

    async def restart(self) -> None:
        """Drop everything written so far (a resumed prefix included): the next byte is byte 0.

        For a server that answers a ``Range`` request with the whole file.
        """
        fh = self._fh
        assert fh is not None
        await self._settle()
        self._fill = 0
        # Opened for appending, so after truncation writes land at the (new) end.
        await anyio.to_thread.run_sync(fh.truncate, 0)
        self.offset = 0
        self.written = 0
        self._end = 0

    @property
    def size(self) -> int:
        """Bytes in the file so far (resumed prefix included)."""
        return self.offset + self.written

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        fh = self._fh
        assert fh is not None
        if exc_type is None:
            try:
                await self._flush()
                await anyio.to_thread.run_sync(self._commit, fh)
            except BaseException:
                await self._drain()
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self._discard, fh, False)
                raise
            return
        keep = self.keep_partial and isinstance(exc, Exception)
        # Shielded: a cancelled download must still clean up after itself.
        with anyio.CancelScope(shield=True):
            if keep:
                try:
                    await self._flush()
                except OSError:
                    keep = False
            await self._drain()
            await anyio.to_thread.run_sync(self._discard, fh, keep)

    def _commit(self, fh: IO[bytes]) -> None:
        os.fsync(fh.fileno())
        fh.close()
        os.replace(self.part, self.path)

    def _discard(self, fh: IO[bytes], keep: bool) -> None:
        fh.close()
        if not keep:
            self.part.unlink(missing_ok=True)


async def write_atomic(path: str | os.PathLike[str], chunks: AsyncIterable[bytes]) -> int:
    """Write every chunk to ``path`` atomically; returns the number of bytes written."""
    async with AtomicFile(path) as f:
        async for chunk in chunks:
            await f.write(chunk)
    return f.size
