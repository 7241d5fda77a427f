"""Writing downloads to disk without blocking the loop and without ever leaving a partial file
under its final name.

Bytes go to ``<name>.part`` beside the target (same directory, so the final
``os.replace`` is atomic), written from a worker thread in batches while the
next batch is received (one batch in flight: the disk and the network work at
once, and memory stays bounded by two batches); only a complete file is
renamed into place. A failed download keeps its ``.part`` when
the caller wants to resume it (``keep_partial=True``), otherwise it is removed;
a cancelled one is always removed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterable
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import anyio

__all__ = ["AtomicFile", "part_path", "write_atomic"]

_BATCH = 1 << 20  # bytes collected before one write in the worker thread


def _write_all(fh: IO[bytes], chunks: list[bytes]) -> None:
    # Chunk by chunk: no joined copy, and the buffered file merges small ones.
    for chunk in chunks:
        fh.write(chunk)


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
        self._chunks: list[bytes] = []  # received, not yet handed to the worker thread
        self._pending = 0  # their size
        self._inflight: asyncio.Future[None] | None = None  # the batch being written

    async def __aenter__(self) -> Self:
        self._fh, self.offset = await anyio.to_thread.run_sync(self._open)
        return self

    def _open(self) -> tuple[IO[bytes], int]:
        self.part.parent.mkdir(parents=True, exist_ok=True)
        if self.resume and self.part.exists():
            fh = self.part.open("ab")
            return fh, fh.tell()
        return self.part.open("wb"), 0

    async def write(self, data: bytes) -> None:
        """Queue ``data``; it reaches the disk in batches from a worker thread."""
        if not isinstance(data, bytes):
            data = bytes(data)  # a mutable buffer may change before the thread writes it
        self._chunks.append(data)
        self._pending += len(data)
        self.written += len(data)
        if self._pending >= _BATCH:
            await self._submit()

    async def _submit(self) -> None:
        """Hand the queued chunks to the worker thread once the batch before them is written."""
        await self._settle()
        if not self._chunks:
            return
        fh = self._fh
        assert fh is not None
        chunks, self._chunks, self._pending = self._chunks, [], 0
        self._inflight = asyncio.get_running_loop().run_in_executor(None, _write_all, fh, chunks)

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
        self._chunks.clear()
        self._pending = 0
        # Opened for appending, so after truncation writes land at the (new) end.
        await anyio.to_thread.run_sync(fh.truncate, 0)
        self.offset = 0
        self.written = 0

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
        fh.flush()
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
