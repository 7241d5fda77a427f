"""What an ingest uploads: a path, bytes, a file object or an async iterable, streamed in chunks.

Every source but a one-shot iterator can be read again from the start, so the
transport may retry or replay the upload; :class:`_OneShot` says it cannot.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator
from typing import IO, Any

import anyio
import anyio.to_thread

from eoclient.errors import TransportError, ValidationError

__all__ = ["upload_body"]


class _PathSource:
    """A file read chunk by chunk in a worker thread; every iteration starts again (retries re-send)."""

    def __init__(self, path: str | os.PathLike[str], chunk_size: int) -> None:
        self._path = path
        self._chunk = chunk_size

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._read()

    async def _read(self) -> AsyncIterator[bytes]:
        async with await anyio.open_file(self._path, "rb") as fh:
            while chunk := await fh.read(self._chunk):
                yield chunk


class _BytesSource:
    """Bytes in memory, sent chunk by chunk so a large body never stalls the loop in one write."""

    def __init__(self, data: bytes, chunk_size: int) -> None:
        self._data = data
        self._chunk = chunk_size

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._read()

    async def _read(self) -> AsyncIterator[bytes]:
        view = memoryview(self._data)
        for start in range(0, len(view), self._chunk):
            yield bytes(view[start : start + self._chunk])


class _FileObjectSource:
    """A binary file object, read in a worker thread; re-readable when it can seek."""

    def __init__(self, fh: IO[bytes], chunk_size: int) -> None:
        self._fh = fh
        self._chunk = chunk_size
        self._start = fh.tell() if fh.seekable() else None
        self._used = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._used and self._start is None:
            raise TransportError("the upload cannot be sent again: its file object cannot seek")
        self._used = True
        return self._read()

    async def _read(self) -> AsyncIterator[bytes]:
        if self._start is not None:
            await anyio.to_thread.run_sync(self._fh.seek, self._start)
        while chunk := await anyio.to_thread.run_sync(self._fh.read, self._chunk):
            yield chunk


class _OneShot:
    """An async iterable the caller gave us: it can be sent once, so a second send fails loudly."""

    def __init__(self, source: AsyncIterable[bytes]) -> None:
        self._source = source
        self._used = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._used:
            raise TransportError("the upload cannot be sent again: its async iterable was already consumed")
        self._used = True
        return self._read()

    async def _read(self) -> AsyncIterator[bytes]:
        async for chunk in self._source:
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise ValidationError(
                    "source", f"the async iterable yielded {type(chunk).__name__}, not bytes"
                )
            yield bytes(chunk)


async def upload_body(source: Any, chunk_size: int) -> tuple[Any, bool]:
    """What the transport sends for ``source``, and whether it can be sent twice (retries)."""
    if isinstance(source, bytes | bytearray | memoryview):
        if len(source) == 0:
            raise ValidationError("source", "is empty")
        data = bytes(source)
        return (data if len(data) <= chunk_size else _BytesSource(data, chunk_size)), True
    if isinstance(source, str | os.PathLike):
        path = anyio.Path(os.fspath(source))
        if not await path.is_file():
            raise ValidationError("source", f"not a file: {os.fspath(source)!r}")
        if (await path.stat()).st_size == 0:
            raise ValidationError("source", f"the file is empty: {os.fspath(source)!r}")
        return _PathSource(source, chunk_size), True
    if isinstance(source, AsyncIterable):
        return _OneShot(source), False
    if callable(getattr(source, "read", None)):
        wrapped = _FileObjectSource(source, chunk_size)
        return wrapped, wrapped._start is not None
    raise ValidationError(
        "source",
        f"expected a file path, bytes, a binary file or an async iterable of bytes, got {type(source)}",
    )


# -- the family object ------------------------------------------------------------------
