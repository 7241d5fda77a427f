"""Connections dropped mid-body: the client must see a payload error."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from eoclient.emulator import Emulator, EmulatorState, FaultConfig

CHUNK = b"x" * 65536
CHUNKS = 8
DROPPED = (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def read_until_error(resp: aiohttp.ClientResponse, errors: tuple[type[Exception], ...]) -> int:
    """Read the body chunk by chunk; return how much arrived before the expected error."""
    received = 0
    try:
        async for data in resp.content.iter_any():
            received += len(data)
    except errors:
        return received
    pytest.fail(f"the body completed ({received} bytes) instead of failing")


def _streams(app: web.Application, state: EmulatorState) -> None:
    """Test routes: a sized stream, a chunked stream, a payload body."""

    async def sized(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.content_type = "application/octet-stream"
        resp.content_length = len(CHUNK) * CHUNKS
        await resp.prepare(request)
        written = state.store("sized_chunks_written", list)
        written.append(0)
        for _ in range(CHUNKS):
            await resp.write(CHUNK)
            written[-1] += 1
        await resp.write_eof()
        return resp

    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(CHUNKS):
            await resp.write(CHUNK)
        await resp.write_eof()
        return resp

    async def payload(request: web.Request) -> web.Response:
        async def body() -> AsyncIterator[bytes]:
            for _ in range(CHUNKS):
                yield CHUNK

        return web.Response(body=body(), content_type="application/octet-stream")

    app.router.add_get("/stream/sized", sized)
    app.router.add_get("/stream/chunked", chunked)
    app.router.add_get("/stream/payload", payload)


async def test_drop_json_response(http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str) -> None:
    eo_emulator.faults.inject("drop")
    async with http.post(
        eo_emulator.sentinelhub_url + "/_sample/jobs", json={}, headers=auth(sh_token)
    ) as resp:
        # Status and headers arrive intact, with the full Content-Length...
        assert resp.status == 201
        declared = int(resp.headers["Content-Length"])
        assert declared > 0
        # ...but the body never completes.
        with pytest.raises(DROPPED):
            await resp.read()
    assert eo_emulator.requests[-1].fault == "drop"
    # The server is fine afterwards (a fresh connection is used).
    async with http.get(eo_emulator.sentinelhub_url + "/_sample/jobs/x", headers=auth(sh_token)) as resp:
        assert resp.status == 404


async def test_drop_spaceknow_error_response(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sk_token: str
) -> None:
    eo_emulator.faults.inject("drop", service="spaceknow")
    async with http.get(eo_emulator.spaceknow_url + "/nothing", headers=auth(sk_token)) as resp:
        assert resp.status == 404
        with pytest.raises(DROPPED):
            await resp.read()


@pytest.mark.eo_emulator(sentinelhub_setup=[_streams])
@pytest.mark.parametrize("path", ["/stream/sized", "/stream/chunked", "/stream/payload"])
async def test_drop_streamed_response(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str, path: str
) -> None:
    url = eo_emulator.sentinelhub_url + path
    # Undisturbed, the whole body arrives.
    async with http.get(url, headers=auth(sh_token)) as resp:
        assert len(await resp.read()) == len(CHUNK) * CHUNKS
    eo_emulator.faults.inject("drop", path_prefix=path)
    async with http.get(url, headers=auth(sh_token)) as resp:
        assert resp.status == 200
        received = await read_until_error(resp, DROPPED)
    assert 0 < received < len(CHUNK) * CHUNKS
    # The handler's own view: it answered 200 and did not crash.
    assert (eo_emulator.requests[-1].status, eo_emulator.requests[-1].fault) == (200, "drop")
    async with http.get(url, headers=auth(sh_token)) as resp:
        assert len(await resp.read()) == len(CHUNK) * CHUNKS


@pytest.mark.eo_emulator(sentinelhub_setup=[_streams])
async def test_drop_sized_stream_cuts_at_half(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str
) -> None:
    eo_emulator.faults.inject("drop")
    async with http.get(eo_emulator.sentinelhub_url + "/stream/sized", headers=auth(sh_token)) as resp:
        assert resp.headers["Content-Length"] == str(len(CHUNK) * CHUNKS)
        received = await read_until_error(resp, (aiohttp.ClientPayloadError,))
    assert received == len(CHUNK) * CHUNKS // 2
    # The handler was stopped by a connection error instead of producing the rest.
    assert eo_emulator.state.stores["sized_chunks_written"] == [CHUNKS // 2]
    assert eo_emulator.requests[-1].status == 200


@pytest.mark.eo_emulator(faults=FaultConfig(drop_mid_body=1.0))
async def test_random_drop(http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str) -> None:
    async with http.get(eo_emulator.sentinelhub_url + "/_sample/jobs/x", headers=auth(sh_token)) as resp:
        assert resp.status == 404
        with pytest.raises(DROPPED):
            await resp.read()
