"""The account's requests in flight across the cluster: permits the scheduler lends to workers in blocks.

A ``distributed.Semaphore`` costs two scheduler round trips a request
(acquire, release), all of them on the one scheduler. Here the scheduler
(:class:`PermitPool`) lends each worker a block of permits at once; the
worker (:class:`LeasedPermits`) passes them from one of its requests to the
next without asking again, and gives them back when it has no use for them
(after a short linger). When a worker must wait for permits, the scheduler
recalls what the others hold beyond a fair share (the account's concurrency
split evenly among the workers that want permits): they give those back as
their requests end, and the waiters are served first come, first served. The
bound holds for the whole cluster:
a worker uses at most the permits it holds, and the scheduler never lends
more than the account's concurrency. A worker that leaves (or dies) gives
back everything it held: the scheduler forgets its loans when it is removed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Protocol

from eoclient._log import log_event

__all__ = ["LeasedPermits", "PermitPool"]

LINGER: Final = 0.25
"""Seconds an idle permit stays on its worker (its next request is usually close) before it goes back."""


@dataclass
class PermitPool:
    """The scheduler's side: ``total`` permits, lent to workers in blocks, waiters served in order."""

    total: int
    on_recall: Callable[[dict[str, int]], object] | None = field(default=None, compare=False)
    """Called with ``{worker: permits}`` to ask back from workers when another must wait."""
    free: int = field(init=False)
    lent: dict[str, int] = field(init=False, default_factory=dict)
    _waiting: deque[tuple[str, int, asyncio.Future[int]]] = field(init=False, default_factory=deque)
    _asked: dict[str, int] = field(init=False, default_factory=dict)  # recalled, not yet given back
    loans: int = field(init=False, default=0)
    """Lease calls answered (for the account's statistics: the scheduler round trips of the pool)."""
    returns: int = field(init=False, default=0)
    """Permits given back (one-way messages, several permits each at times)."""

    def __post_init__(self) -> None:
        self.free = self.total

    def _grant(self, worker: str, want: int) -> int:
        granted = min(want, self.free)
        self.free -= granted
        self.lent[worker] = self.lent.get(worker, 0) + granted
        self.loans += 1
        return granted

    async def lease(self, worker: str, want: int) -> int:
        """Lend ``worker`` up to ``want`` permits: at least one, waiting for it if none is free."""
        want = max(1, int(want))
        if self.free > 0 and not self._waiting:
            return self._grant(worker, want)
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((worker, want, waiter))
        self._recall(worker)
        return await waiter

    def _recall(self, waiting: str) -> None:
        """Ask back what workers hold beyond a fair share among those that want permits."""
        if self.on_recall is None:
            return
        wanting = {w for w, n in self.lent.items() if n > 0} | {w for w, _, _ in self._waiting} | {waiting}
        fair = -(-self.total // len(wanting))
        owed: dict[str, int] = {}
        for worker, held in self.lent.items():
            extra = held - fair - self._asked.get(worker, 0)
            if worker != waiting and extra > 0:
                owed[worker] = extra
                self._asked[worker] = self._asked.get(worker, 0) + extra
        if owed:
            self.on_recall(owed)

    def give_back(self, worker: str, count: int) -> None:
        """``worker`` returns ``count`` permits."""
        self.returns += 1
        count = min(max(0, int(count)), self.lent.get(worker, 0))
        self._asked[worker] = max(0, self._asked.get(worker, 0) - count)
        self.lent[worker] = self.lent.get(worker, 0) - count
        self.free += count
        self._serve()

    def forget(self, worker: str) -> None:
        """``worker`` is gone: what it held is free again, what it waited for is no longer asked."""
        self.free += self.lent.pop(worker, 0)
        self._asked.pop(worker, None)
        for entry in [e for e in self._waiting if e[0] == worker]:
            self._waiting.remove(entry)
            entry[2].cancel()
        self._serve()

    def _serve(self) -> None:
        while self._waiting and self.free > 0:
            worker, want, waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(self._grant(worker, want))


class _Scheduler(Protocol):
    async def call(self, action: str, **kwargs: Any) -> Any: ...

    def tell(self, action: str, **kwargs: Any) -> None: ...


class LeasedPermits:
    """A worker's side: ``async with permits`` holds one permit of the account for one request.

    ``most`` bounds the permits this worker holds (its own concurrency).
    ``leases`` counts the scheduler round trips made for permits.
    """

    def __init__(self, scheduler: _Scheduler, worker: str, most: int) -> None:
        self._scheduler = scheduler
        self._worker = worker
        self._most = most
        self.held = 0
        self.busy = 0
        self._owed = 0  # permits the scheduler asked back, given as requests end
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._asking: asyncio.Task[None] | None = None
        self._linger: asyncio.TimerHandle | None = None
        self.leases = 0

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    async def acquire(self) -> None:
        """Take a permit: one this worker holds, or one leased from the scheduler."""
        if self.busy < self.held and not self._waiters:
            self.busy += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._ask()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # granted as it was cancelled: pass it on
            else:
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        """Put a permit back: to a request of this worker waiting for one, else (soon) to the scheduler."""
        self.busy -= 1
        if self._owed > 0:
            # Asked back: another worker waits for it (this worker's own waiters ask again, behind it).
            self._owed -= 1
            self._give_back(1)
            self._ask()
            return
        self._wake()
        if not self._waiters and self.busy < self.held and self._linger is None:
            self._linger = asyncio.get_running_loop().call_later(LINGER, self._idle)

    def _wake(self) -> None:
        while self._waiters and self.busy < self.held:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.busy += 1
                waiter.set_result(None)

    def _idle(self) -> None:
        self._linger = None
        idle = self.held - self.busy
        if idle > 0 and not self._waiters:
            self._give_back(idle)

    def recall(self, count: int) -> None:
        """The scheduler asks ``count`` permits back: the idle ones at once, the others as requests end."""
        idle = min(count, self.held - self.busy)
        if idle > 0:
            self._give_back(idle)
        self._owed = min(self._owed + count - idle, self.busy)

    def _give_back(self, count: int) -> None:
        self.held -= count
        self._scheduler.tell("give_back", count=count, worker=self._worker)

    def _ask(self) -> None:
        want = min(len(self._waiters), self._most - self.held)
        if self._asking is None and want > 0:
            self._asking = asyncio.ensure_future(self._lease(want))

    async def _lease(self, want: int) -> None:
        try:
            granted = int(await self._scheduler.call("lease", want=want, worker=self._worker))
            self.leases += 1
            self.held += granted
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the scheduler unreachable: the waiters ask again when a permit frees
            log_event(logging.WARNING, "dask.permits.unreachable", error=str(exc))
        finally:
            self._asking = None
        self._wake()
        self._ask()  # more requests came meanwhile, and this worker may hold more

    async def close(self) -> None:
        """Stop asking; the scheduler forgets this worker's loans (what it held and asked for)."""
        if self._linger is not None:
            self._linger.cancel()
        if self._asking is not None:
            self._asking.cancel()
            await asyncio.gather(self._asking, return_exceptions=True)
        for waiter in self._waiters:
            waiter.cancel()
        self.held = self.busy = 0
        await self._scheduler.call("forget", worker=self._worker)
