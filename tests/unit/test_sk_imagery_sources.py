"""Ingest upload sources: streamed in chunks, re-sendable when they can be, one-shot otherwise."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from eoclient.errors import TransportError, ValidationError
from eoclient.spaceknow.uploads import upload_body


async def drain(body: Any) -> list[bytes]:
    if isinstance(body, bytes):
        return [body]
    return [chunk async for chunk in body]


async def test_path_is_read_in_chunks_and_again_on_every_send(tmp_path: Path) -> None:
    path = tmp_path / "scene.tif"
    data = bytes(range(256)) * 41  # 10496 bytes
    path.write_bytes(data)
    body, replayable = await upload_body(path, 4096)
    assert replayable
    first = await drain(body)
    assert [len(c) for c in first] == [4096, 4096, 2304]
    assert b"".join(first) == data
    assert b"".join(await drain(body)) == data  # a retry sends the whole file again
    body_from_str, _ = await upload_body(str(path), 1 << 20)
    assert await drain(body_from_str) == [data]


async def test_large_bytes_are_chunked_small_bytes_sent_as_is() -> None:
    small, _ = await upload_body(b"abc", 16)
    assert small == b"abc"
    big, replayable = await upload_body(bytearray(b"x" * 40), 16)
    assert replayable
    assert [len(c) for c in await drain(big)] == [16, 16, 8]
    assert len(b"".join(await drain(big))) == 40


async def test_seekable_file_objects_rewind_unseekable_ones_refuse_a_second_send() -> None:
    fh = io.BytesIO(b"header" + b"payload" * 10)
    fh.read(6)  # the upload starts where the caller left the file
    body, replayable = await upload_body(fh, 8)
    assert replayable
    assert b"".join(await drain(body)) == b"payload" * 10
    assert b"".join(await drain(body)) == b"payload" * 10

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self._left = 3

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def read(self, size: int = -1) -> bytes:
            self._left -= 1
            return b"data" if self._left >= 0 else b""

    pipe, replayable = await upload_body(Pipe(), 8)
    assert not replayable
    assert b"".join(await drain(pipe)) == b"data" * 3
    with pytest.raises(TransportError, match="cannot seek"):
        await drain(pipe)


async def test_async_iterables_are_one_shot_and_must_yield_bytes() -> None:
    async def gen() -> AsyncIterator[bytes]:
        yield b"a"
        yield b"b"

    body, replayable = await upload_body(gen(), 8)
    assert not replayable
    assert await drain(body) == [b"a", b"b"]
    with pytest.raises(TransportError, match="cannot be sent again"):
        await drain(body)

    async def strings() -> AsyncIterator[Any]:
        yield "not bytes"

    bad, _ = await upload_body(strings(), 8)
    with pytest.raises(ValidationError) as info:
        await drain(bad)
    assert info.value.field == "source"


async def test_refused_sources(tmp_path: Path) -> None:
    empty = tmp_path / "empty.zip"
    empty.write_bytes(b"")
    for source in (b"", empty, tmp_path, tmp_path / "missing.zip", 3.14, ["chunks"]):
        with pytest.raises(ValidationError) as info:
            await upload_body(source, 8)
        assert info.value.field == "source"
