"""The read timeout, kept by one watchdog per session (eoclient._http.watchdog), against a real socket.

A loopback server answers each request with a script of writes and pauses: a
server that stalls in the headers or in the body is cut off with the typed
:class:`eoclient.errors.TimeoutError`, buffered or streamed; one that is slow
but keeps sending, or a connection idle in the pool, is not.
"""

from __future__ import annotations

import asyncio

import pytest

from eoclient._http import watchdog
from eoclient._http.dialects import SENTINELHUB
from eoclient._http.options import Timeouts
from eoclient._http.retry import RetryPolicy
from eoclient._http.transport import Transport
from eoclient._http.watchdog import ReadWatchdog
from eoclient.errors import TimeoutError as EOTimeoutError
from tests.integration.hostile import Script, scripted_server

READ = 0.2  # the read timeout of these tests, in seconds
FOREVER = 30.0  # a pause no test waits out


def head(length: int) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        + f"Content-Length: {length}\r\n\r\n".encode()
    )


def transport(url: str) -> Transport:
    return Transport(
        base_url=url,
        dialect=SENTINELHUB,
        retry=RetryPolicy.never(),
        timeouts=Timeouts(connect=5, read=READ, total=FOREVER),
    )


@pytest.mark.parametrize(
    "script",
    [
        [b"HTTP/1.1 200 OK\r\nContent-Type: appl", FOREVER],
        [head(100) + b"x" * 10, FOREVER],
        [head(100) + b"x" * 10, READ / 4, b"y" * 10, FOREVER],
    ],
    ids=["in the headers", "in the body", "in the body after a late read"],
)
async def test_a_stall_is_a_typed_timeout(script: Script) -> None:
    async with scripted_server(script) as url:
        t = transport(url)
        try:
            with pytest.raises(EOTimeoutError) as caught:
                await asyncio.wait_for(t.request("GET", "/x", operation="test.stall"), FOREVER)
        finally:
            await t.aclose()
    assert caught.value.operation == "test.stall"


async def test_a_stalled_stream_is_a_typed_timeout() -> None:
    async with scripted_server([head(100) + b"x" * 10, FOREVER]) as url:
        t = transport(url)
        received = b""
        try:
            async with t.stream("GET", "/x", operation="test.stream") as resp:
                with pytest.raises(EOTimeoutError):
                    async for chunk in resp.iter_chunks(4):
                        received += chunk
        finally:
            await t.aclose()
    assert received == b"x" * 10


async def test_a_slow_steady_answer_is_not_cut_off() -> None:
    # Each pause is well inside the read timeout; the whole answer takes several of them.
    steps: list[bytes | float] = [head(8)]
    for _ in range(8):
        steps += [READ / 3, b"z"]
    async with scripted_server(steps) as url:
        t = transport(url)
        try:
            resp = await t.request("GET", "/x", operation="test.slow")
        finally:
            await t.aclose()
    assert resp.body == b"z" * 8


async def test_an_idle_pooled_connection_is_not_failed() -> None:
    async with scripted_server([head(2) + b"ok"]) as url:
        t = transport(url)
        try:
            first = await t.request("GET", "/x", operation="test.idle")
            await asyncio.sleep(READ * 2)  # the connection waits in the pool, unwatched
            second = await t.request("GET", "/x", operation="test.idle")
        finally:
            await t.aclose()
    assert first.body == second.body == b"ok"


async def test_one_call_s_shorter_read_timeout_is_kept() -> None:
    # The session's read timeout is long; this call's is short: the watchdog checks at the call's pace.
    async with scripted_server([head(100) + b"x", FOREVER]) as url:
        t = Transport(
            base_url=url,
            dialect=SENTINELHUB,
            retry=RetryPolicy.never(),
            timeouts=Timeouts(connect=5, read=FOREVER, total=FOREVER),
        )
        try:
            with pytest.raises(EOTimeoutError):
                await asyncio.wait_for(
                    t.request("GET", "/x", operation="test.call", timeout=Timeouts(read=READ, total=FOREVER)),
                    FOREVER / 2,
                )
        finally:
            await t.aclose()


async def test_the_watchdog_stops_when_nothing_waits() -> None:
    async with scripted_server([head(2) + b"ok"]) as url:
        t = transport(url)
        try:
            await t.request("GET", "/x", operation="test.done")
            watchdog = t._watchdog
            assert isinstance(watchdog, ReadWatchdog)
            await asyncio.sleep(READ / 2)  # a check or two: the finished request is dropped
            assert not watchdog._waiting
            assert watchdog._handle is None
        finally:
            await t.aclose()


def test_this_aiohttp_has_the_hooks_the_watchdog_replaces() -> None:
    # Fails when an aiohttp release renames them: the transport then falls back to aiohttp's own
    # per-read timer (correct, slower); this says so instead of letting the speed go silently.
    assert watchdog.supported()


async def test_without_the_hooks_aiohttp_s_own_timer_cuts_a_stall(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watchdog, "supported", lambda: False)
    async with scripted_server([head(100) + b"x" * 10, FOREVER]) as url:
        t = transport(url)
        try:
            with pytest.raises(EOTimeoutError):
                await asyncio.wait_for(t.request("GET", "/x", operation="test.stall"), FOREVER)
            assert t._watchdog is None
        finally:
            await t.aclose()
