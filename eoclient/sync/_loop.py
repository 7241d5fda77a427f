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
        self._manager: contextlib.AbstractContextManager[BlockingPortal] | None = None
        self._portal: BlockingPortal | None = None
        self._thread_id: int | None = None
        self._stopped = False

    @property
    def running(self) -> bool:
        """Whether the loop thread is running now."""
        return self._portal is not None

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
                manager = start_blocking_portal(name=f"eoclient-{self._name}")
                portal = manager.__enter__()
                try:
                    self._thread_id = portal.call(threading.get_ident)
                    portal.call(self._on_start)
                except BaseException:
                    with contextlib.suppress(Exception):
                        portal.call(portal.stop, True)
                    manager.__exit__(None, None, None)
                    raise
                self._manager, self._portal = manager, portal
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
        that: a loop that does not answer is left to die with its daemon thread.
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            portal, manager = self._portal, self._manager
            self._portal = self._manager = None
        if portal is None or manager is None:
            return
        if threading.get_ident() == self._thread_id:
            # Dropped inside its own loop (a finalizer): that thread cannot wait on itself.
            threading.Thread(
                target=_stop, args=(portal, manager, self._on_stop, timeout), daemon=True
            ).start()
            return
        _stop(portal, manager, self._on_stop, timeout)


def _stop(
    portal: BlockingPortal,
    manager: contextlib.AbstractContextManager[BlockingPortal],
    on_stop: Callable[[], Awaitable[Any]],
    timeout: float | None,
) -> None:
    try:
        portal.start_task_soon(on_stop).result(timeout)
    finally:
        # Tasks still running (an iterator left half-way) are cancelled, not awaited.
        with contextlib.suppress(Exception):
            portal.start_task_soon(portal.stop, True).result(timeout)
        if timeout is None:
            manager.__exit__(None, None, None)  # joins the loop's thread


def stop_at_exit(loop: LoopThread) -> None:
    """What a forgotten client's finalizer does: close within :data:`_EXIT_TIMEOUT`, never hang."""
    with contextlib.suppress(Exception):
        loop.stop(timeout=_EXIT_TIMEOUT)
