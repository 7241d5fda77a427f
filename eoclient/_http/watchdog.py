"""The read timeout of every connection of a session, kept by one timer instead of one per read.

aiohttp enforces ``sock_read`` by cancelling and re-arming a timer handle at
every read of every response (``call_later`` and ``cancel`` each time), about a
twelfth of what a small request costs. Here each connection only counts its
reads, and one :class:`ReadWatchdog` per session looks at the connections that
are waiting for the server a few times per read timeout: one that made no
progress for the whole timeout is failed through aiohttp's own timeout path
(``_on_read_timeout``), so the caller gets the same
:class:`aiohttp.ServerTimeoutError`, mapped to the same
:class:`eoclient.errors.TimeoutError` as before.

A stall is cut off no sooner than the read timeout after the last byte and at
most a quarter of it later. When to watch is still aiohttp's decision: a
connection is watched from where aiohttp would start its timer (the request
sent, a read, reading resumed) until where it would drop it (the body read to
its end, reading paused because nobody reads the stream, the connection gone).
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, Final

import aiohttp
from aiohttp.client_proto import ResponseHandler

__all__ = ["ReadWatchdog", "watched_connector"]

_CHECKS_PER_TIMEOUT: Final = 8  # how often, per read timeout, a waiting connection is looked at
# The private aiohttp methods the watchdog stands in for. Should an aiohttp release rename them, the
# connector keeps aiohttp's own per-read timer (slower, same behaviour) rather than a watchdog that
# would never hear of a read or could not cut a stall off.
_HOOKS: Final = ("_reschedule_timeout", "_drop_timeout", "_on_read_timeout")


def supported() -> bool:
    """True when this aiohttp's connection protocol has the hooks the watchdog replaces."""
    return all(callable(getattr(ResponseHandler, name, None)) for name in _HOOKS)


class _WatchedHandler(ResponseHandler):
    """aiohttp's connection protocol, its per-read timer replaced by a read count the watchdog checks.

    Overrides the two private hooks aiohttp calls to arm and drop its read
    timer (``tests/unit/test_read_watchdog.py`` holds a stall in the headers,
    a stall in the body and a slow but steady body to the behaviour).
    """

    _watchdog: ReadWatchdog
    _reads = 0  # bumped where aiohttp would re-arm its timer: progress
    _seen = -1  # _reads when the watchdog last looked
    _since = 0.0  # when the watchdog last saw _reads change (or the watch started)
    _watched = False

    def _reschedule_timeout(self) -> None:
        self._reads += 1
        if not self._watched and self._read_timeout:
            self._watchdog.watch(self)

    def _drop_timeout(self) -> None:
        self._watched = False


class ReadWatchdog:
    """One session's read timeouts: a periodic check while any connection waits for the server."""

    __slots__ = ("_handle", "_loop", "_paced_for", "_waiting")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiting: set[_WatchedHandler] = set()
        self._handle: asyncio.TimerHandle | None = None
        self._paced_for = math.inf  # the read timeout the checks are now paced for (inf: no check due)

    def handler(self) -> ResponseHandler:
        """A new connection's protocol, watched by this watchdog (the connector's factory)."""
        handler = _WatchedHandler(loop=self._loop)
        handler._watchdog = self
        return handler

    def watch(self, handler: _WatchedHandler) -> None:
        """Start watching ``handler`` (it now waits for the server, for at most its read timeout).

        Once per request, so without reading the clock: the next check starts
        the handler's stall clock (at most one check period late, never early).
        """
        handler._watched = True
        handler._seen = -1
        self._waiting.add(handler)
        timeout: float = handler._read_timeout  # type: ignore[assignment]  # set: _reschedule_timeout checked
        if timeout < self._paced_for:
            self._pace(timeout)

    def _pace(self, timeout: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._paced_for = timeout
        self._handle = self._loop.call_later(timeout / _CHECKS_PER_TIMEOUT, self._check)

    def _check(self) -> None:
        self._handle = None
        self._paced_for = math.inf
        now = self._loop.time()
        shortest = math.inf
        stalled: list[_WatchedHandler] = []
        for handler in tuple(self._waiting):
            timeout = handler._read_timeout
            if not handler._watched or not timeout:
                self._waiting.discard(handler)
                handler._watched = False
            elif handler._reads != handler._seen:  # read since the last look: the stall clock starts over
                handler._seen = handler._reads
                handler._since = now
                shortest = min(shortest, timeout)
            elif now - handler._since >= timeout:
                self._waiting.discard(handler)
                handler._watched = False
                stalled.append(handler)
            else:
                shortest = min(shortest, timeout)
        if self._waiting:
            self._pace(shortest)
        for handler in stalled:  # aiohttp's own timeout: the same error, the same clean-up
            handler._on_read_timeout()

    def close(self) -> None:
        """Stop checking (the session is closing)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._paced_for = math.inf
        self._waiting.clear()


def watched_connector(
    loop: asyncio.AbstractEventLoop, **options: Any
) -> tuple[aiohttp.TCPConnector, ReadWatchdog | None]:
    """A :class:`aiohttp.TCPConnector` (``options``: its keywords) whose read timeouts a watchdog keeps.

    Without the hooks (see :func:`supported`) the connector is aiohttp's own and no watchdog is made.
    """
    connector = aiohttp.TCPConnector(**options)
    if not supported() or not hasattr(connector, "_factory"):
        return connector, None
    watchdog = ReadWatchdog(loop)
    # The protocol factory is private to aiohttp; the watchdog's tests pin what depends on it.
    connector._factory = watchdog.handler  # type: ignore[assignment]
    return connector, watchdog
