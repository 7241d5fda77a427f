"""Writing downloads to disk without blocking the loop and without ever leaving a partial file
under its final name.

Bytes go to ``<name>.part`` beside the target (same directory, so the final
``os.replace`` is atomic), written from a worker thread in batches; only a
complete file is renamed into place. A failed download keeps its ``.part`` when
the caller wants to resume it (``keep_partial=True``), otherwise it is removed;
a cancelled one is always removed.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import anyio

__all__ = ["AtomicFile", "part_path", "write_atomic"]

_BATCH = 1 << 20  # bytes collected before one write in the worker thread


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
        self._buffer = bytearray()

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
        self._buffer += data
        self.written += len(data)
        if len(self._buffer) >= _BATCH:
            await self._flush()

    async def _flush(self) -> None:
        if not self._buffer:
            return
        chunk, self._buffer = bytes(self._buffer), bytearray()
        fh = self._fh
        assert fh is not None
        await anyio.to_thread.run_sync(fh.write, chunk)

    async def restart(self) -> None:
        """Drop everything written so far (a resumed prefix included): the next byte is byte 0.

        For a server that answers a ``Range`` request with the whole file.
        """
        fh = self._fh
        assert fh is not None
        self._buffer.clear()
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
