"""One event loop in a background thread, reached through an anyio blocking portal.

A sync client owns one :class:`LoopThread`. The loop starts on first use (or
``with``), runs every coroutine of that client, and stops on ``close()``. The
caller's thread only waits: an event loop already running there (Jupyter, an
``asyncio.run()`` program calling sync code) is never touched, so the facade
works inside it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any, Final

from anyio.from_thread import BlockingPortal, start_blocking_portal

from eoclient.errors import ClientClosedError

__all__ = ["LoopThread", "stop_at_exit"]

_EXIT_TIMEOUT: Final = 5.0  # seconds a forgotten client gets to close at interpreter exit


class LoopThread:
    """Starts, uses and stops the background loop of one sync client.

    ``on_start`` runs in the loop once, right after it starts (the client opens
    its session there); ``on_stop`` runs in the loop before it stops (the
    client closes it). After :meth:`stop` every call raises
    :class:`~eoclient.errors.ClientClosedError`.
    """

    def __init__(
        self,
        name: str,
        on_start: Callable[[], Awaitable[Any]],
        on_stop: Callable[[], Awaitable[Any]],
    ) -> None:
        self._name = name
        self._on_start = on_start
        self._on_stop = on_stop
        self._lock = threading.Lock()
        self._portal: BlockingPortal | None = None
        self._keeper: threading.Thread | None = None
        self._release: threading.Event | None = None
        self._thread_id: int | None = None
        self._stopped = False

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called (the loop cannot start again)."""
        return self._stopped

    def portal(self) -> BlockingPortal:
        """The running portal, starting the loop (and ``on_start``) on first use."""
        portal = self._portal
        if portal is not None:
            return portal
        with self._lock:
            if self._stopped:
                raise ClientClosedError(f"this {self._name} client is closed")
            if self._portal is None:
                ready: Future[BlockingPortal] = Future()
                release = threading.Event()
                keeper = threading.Thread(
                    target=_keep, args=(self._name, ready, release), name=f"eoclient-{self._name}-keeper"
                )
                keeper.daemon = True  # never holds up the interpreter's exit
                keeper.start()
                portal = ready.result()
                try:
                    self._thread_id = portal.call(threading.get_ident)
                    portal.call(self._on_start)
                except BaseException:
                    _stop(portal, keeper, release, _nothing)
                    raise
                self._portal, self._keeper, self._release = portal, keeper, release
            return self._portal

    def call(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run ``func(*args)`` in the loop (awaited if it is a coroutine function) and return its result.

        Exceptions come back as they were raised in the loop.
        """
        if threading.get_ident() == self._thread_id:
            raise RuntimeError("eoclient.sync is called from its own event loop: use the async API there")
        return self.portal().call(func, *args)

    def stop(self, *, timeout: float | None = None) -> None:
        """Run ``on_stop`` (if the loop ran), stop the loop and join its thread; idempotent.

        With ``timeout`` (used at interpreter exit) nothing waits longer than
        that in all: a loop that does not answer is left to its daemon threads.
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            portal, keeper, release = self._portal, self._keeper, self._release
            self._portal = self._keeper = self._release = None
        if portal is None or keeper is None or release is None:
            return
        args = (portal, keeper, release, self._on_stop)
        if timeout is not None or threading.get_ident() == self._thread_id:
            # Even handing the loop a task waits for it: a loop that is stuck would hold the
            # caller (or, dropped inside its own loop by a finalizer, the loop would wait on itself).
            helper = threading.Thread(
                target=_stop, args=args, name=f"eoclient-{self._name}-stop", daemon=True
            )
            helper.start()
            if threading.get_ident() != self._thread_id:
                helper.join(timeout)
            return
        _stop(*args)


def _keep(name: str, ready: Future[BlockingPortal], release: threading.Event) -> None:
    """The keeper thread: holds the portal's context open until released, then leaves it.

    Leaving the context waits for the loop's thread; doing it here, in a
    daemon thread, a loop that never ends hangs neither the caller nor the
    interpreter's exit.
    """
    try:
        with start_blocking_portal(name=f"eoclient-{name}") as portal:
            ready.set_result(portal)
            release.wait()
    except BaseException as exc:
        if not ready.done():
            ready.set_exception(exc)


async def _nothing() -> None:
    return None


def _stop(
    portal: BlockingPortal,
    keeper: threading.Thread,
    release: threading.Event,
    on_stop: Callable[[], Awaitable[Any]],
) -> None:
    try:
        portal.call(on_stop)
    finally:
        # Tasks still running (an iterator left half-way) are cancelled, not awaited.
        with contextlib.suppress(Exception):
            portal.call(portal.stop, True)
        release.set()
        keeper.join()


def stop_at_exit(loop: LoopThread) -> None:
    """What a forgotten client's finalizer does: close within :data:`_EXIT_TIMEOUT`, never hang."""
    with contextlib.suppress(Exception):
        loop.stop(timeout=_EXIT_TIMEOUT)
