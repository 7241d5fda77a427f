"""process_to_file writes the body as it arrives: a chunked answer of odd-sized pieces lands exactly."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from eoclient.sentinelhub import SentinelHub
from tests.integration.hostile import Hostile, sh_kwargs
from tests.integration.test_wrong_bytes import PROCESS, files_under, process_request

PIECES = [b"II*\x00"] + [bytes([i]) * (70_001 + 4_099 * i) for i in range(40)]


async def test_a_chunked_answer_lands_byte_for_byte(tmp_path: Path) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "image/tiff"})
        resp.enable_chunked_encoding()  # no Content-Length: the pieces end with the last chunk
        await resp.prepare(request)
        for piece in PIECES:
            await resp.write(piece)
        await resp.write_eof()
        return resp

    async with Hostile().running() as hostile:
        hostile.on("POST", PROCESS, handler)
        async with SentinelHub(**sh_kwargs(hostile)) as sh:
            info = await sh.process_to_file(process_request(), tmp_path / "scene.tif")
    assert (tmp_path / "scene.tif").read_bytes() == b"".join(PIECES)
    assert info.size == sum(map(len, PIECES))
    assert files_under(tmp_path) == ["scene.tif"]  # no .part left behind
