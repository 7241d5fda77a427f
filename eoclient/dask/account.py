"""One account's limits held across a whole Dask cluster, on the scheduler.

Every worker's requests go through one :class:`AccountPace` that lives in the
scheduler process (put there by :class:`AccountPlugin`, a
``distributed.SchedulerPlugin``, and reached over distributed's own RPC): a
worker asks it for a slot (``reserve``) and sleeps the seconds it is told,
reports each 429 (``rate_limited``) and corrects processing units once the
service says what it charged (``correct``). An account without a request
pace asks for no slots (no round trip a request): the scheduler broadcasts a
429's pause to every worker instead. Requests in flight are bounded by the
account's permits, which the scheduler lends to the workers in blocks
(:mod:`eoclient.dask.permits`).

The pace is a GCRA (a token bucket kept as one "theoretical arrival time"
per limit): a reservation is answered at once with the time its request may
go, so the scheduler never holds a call open, and reservations queue in the
order they arrive. A 429 seen by any worker pauses every later reservation
for its ``Retry-After`` (``pause`` seconds when it says none) and halves the
request pace, at most once per half second, down to ``min_fraction`` of the
configured pace; every second after the last halving doubles it again.

The scheduler holds this state, not a worker: a worker that dies takes
nothing of the account with it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

from distributed.diagnostics.plugin import SchedulerPlugin

from eoclient._checks import check_int, check_seconds
from eoclient.dask.permits import PermitPool
from eoclient.errors import ValidationError

__all__ = ["HANDLER", "PAUSE_HANDLER", "RECALL_HANDLER", "AccountLimits", "AccountPace", "AccountPlugin"]

HANDLER: Final = "eoclient_account"
"""The scheduler RPC handler workers call (``scheduler.eoclient_account(account=..., action=...)``)."""
PAUSE_HANDLER: Final = "eoclient_pause"
"""The worker handler the scheduler broadcasts a 429's pause to (``account=..., seconds=...``)."""
RECALL_HANDLER: Final = "eoclient_recall"
"""The worker handler the scheduler asks permits back with (``account=..., count=...``)."""
_EXTENSION: Final = "eoclient-accounts"  # scheduler.extensions key of {account name: AccountPace}


@dataclass(frozen=True, slots=True)
class AccountLimits:
    """What the account allows, for the whole cluster together (``None``: no limit of that kind).

    ``concurrency`` bounds requests in flight across every worker;
    ``requests_per_second`` / ``requests_per_minute`` the request pace
    (``burst`` requests may go at once after an idle time); ``pu_per_minute``
    the processing units (Sentinel Hub), estimated before a request and
    corrected by the charge the service reports (``pu_burst``: a minute's worth
    unless said). After a 429 every worker waits its ``Retry-After``, or
    ``pause`` seconds without one, and the request pace halves (down to
    ``min_fraction`` of it).
    """

    concurrency: int = 16
    requests_per_second: float | None = None
    requests_per_minute: float | None = None
    burst: int = 1
    pu_per_minute: float | None = None
    pu_burst: float | None = None
    pause: float = 1.0
    min_fraction: float = 0.125

    def __post_init__(self) -> None:
        check_int("AccountLimits.concurrency", self.concurrency, minimum=1)
        check_seconds(
            "AccountLimits.requests_per_second", self.requests_per_second, positive=True, optional=True
        )
        check_seconds(
            "AccountLimits.requests_per_minute", self.requests_per_minute, positive=True, optional=True
        )
        check_int("AccountLimits.burst", self.burst, minimum=1)
        check_seconds("AccountLimits.pu_per_minute", self.pu_per_minute, positive=True, optional=True)
        check_seconds("AccountLimits.pu_burst", self.pu_burst, positive=True, optional=True)
        check_seconds("AccountLimits.pause", self.pause)
        check_seconds("AccountLimits.min_fraction", self.min_fraction, positive=True)
        if self.min_fraction > 1:
            raise ValidationError(
                "AccountLimits.min_fraction", f"must be in (0, 1], got {self.min_fraction!r}"
            )


@dataclass
class _Cells:
    """One limit as GCRA: ``rate`` units per second, ``burst`` units at once after an idle time."""

    rate: float
    burst: float
    tat: float = -math.inf  # when the units reserved so far are paid off

    def reserve(self, start: float, amount: float, slowdown: float = 1.0) -> float:
        """Take ``amount`` units no earlier than ``start``; returns when they may be used."""
        interval = slowdown / self.rate
        tat = max(self.tat, start) + amount * interval
        self.tat = tat
        return max(start, tat - self.burst * interval)

    def correct(self, amount: float) -> None:
        """Units used beyond (positive) or short of (negative) what was reserved."""
        if self.tat > -math.inf:
            self.tat += amount / self.rate


@dataclass
class AccountPace:
    """The account's pace, pauses and processing units as the scheduler holds them (see the module)."""

    limits: AccountLimits
    clock: Callable[[], float] = time.monotonic
    on_pause: Callable[[float], object] | None = field(default=None, compare=False)
    """Called with a 429's pause (seconds) for workers that reserve nothing (no request pace)."""
    _requests: list[_Cells] = field(init=False)
    _pu: _Cells | None = field(init=False)
    _paused_until: float = field(init=False, default=-math.inf)
    _level: float = field(init=False, default=0.0)  # halvings in effect at _level_at
    _level_at: float = field(init=False, default=0.0)
    _slowed_at: float = field(init=False, default=-math.inf)
    permits: PermitPool = field(init=False)
    """The account's requests in flight, lent to the workers."""
    stats: dict[str, float] = field(init=False)
    longest_wait: dict[str, float] = field(init=False, default_factory=dict)
    """The longest wait handed to each worker (by address): a 429's pause reaches every one."""
    rate_limited_by: dict[str, int] = field(init=False, default_factory=dict)
    """429s each worker reported (that worker also pauses in its own rate limiter)."""

    _DOUBLING: ClassVar[float] = 1.0  # seconds after the last halving that double the pace again
    _WINDOW: ClassVar[float] = 0.5  # 429s closer together than this are one signal

    def __post_init__(self) -> None:
        lim = self.limits
        self._requests = []
        if lim.requests_per_second is not None:
            self._requests.append(_Cells(lim.requests_per_second, lim.burst))
        if lim.requests_per_minute is not None:
            self._requests.append(_Cells(lim.requests_per_minute / 60.0, lim.burst))
        self._pu = None
        if lim.pu_per_minute is not None:
            self._pu = _Cells(lim.pu_per_minute / 60.0, lim.pu_burst or lim.pu_per_minute)
        self.permits = PermitPool(lim.concurrency)
        self.stats = {"reservations": 0, "rate_limited": 0, "slowdowns": 0, "waited": 0.0, "pu": 0.0}

    @property
    def paced(self) -> bool:
        """Whether requests must reserve their slot here (a request pace is set); else only pauses apply."""
        return bool(self._requests)

    def _halvings(self, now: float) -> float:
        return max(0.0, self._level - (now - self._level_at) / self._DOUBLING)

    def reserve(self, requests: int = 1, pu: float = 0.0, worker: str = "") -> float:
        """Reserve ``requests`` requests and ``pu`` processing units; returns the seconds to wait."""
        now = self.clock()
        start = max(now, self._paused_until)
        slowdown = 2.0 ** self._halvings(now)
        go = start
        if requests:
            for cells in self._requests:
                go = max(go, cells.reserve(start, requests, slowdown))
        if pu and self._pu is not None:
            go = max(go, self._pu.reserve(start, pu))
        self.stats["reservations"] += requests
        self.stats["pu"] += pu
        self.stats["waited"] += go - now
        self.longest_wait[worker] = max(self.longest_wait.get(worker, 0.0), go - now)
        return go - now

    def correct(self, pu: float) -> None:
        """The service charged ``pu`` more (or, negative, fewer) units than were reserved."""
        self.stats["pu"] += pu
        if self._pu is not None:
            self._pu.correct(pu)

    def rate_limited(self, retry_after: float | None, worker: str = "") -> None:
        """A worker was answered 429: pause everyone, and halve the pace (once per half second)."""
        now = self.clock()
        self.stats["rate_limited"] += 1
        self.rate_limited_by[worker] = self.rate_limited_by.get(worker, 0) + 1
        wait = self.limits.pause if retry_after is None else max(retry_after, 0.0)
        self._paused_until = max(self._paused_until, now + wait)
        if self.on_pause is not None and wait > 0:
            self.on_pause(wait)
        if self._requests and now - self._slowed_at >= self._WINDOW:
            deepest = math.log2(1.0 / self.limits.min_fraction)
            self._level = min(self._halvings(now) + 1.0, deepest)
            self._level_at = self._slowed_at = now
            self.stats["slowdowns"] += 1

    def handle(
        self,
        action: str,
        *,
        requests: int = 1,
        pu: float = 0.0,
        retry_after: float | None = None,
        worker: str = "",
        want: int = 1,
        count: int = 0,
    ) -> Any:
        """One worker's call (see :data:`HANDLER`); ``lease`` returns a coroutine (it may wait)."""
        if action == "lease":
            return self.permits.lease(worker, want)
        if action == "give_back":
            self.permits.give_back(worker, count)
            return None
        if action == "forget":
            self.permits.forget(worker)
            return None
        if action == "reserve":
            return self.reserve(requests, pu, worker)
        if action == "correct":
            self.correct(pu)
            return None
        if action == "rate_limited":
            self.rate_limited(retry_after, worker)
            return None
        if action == "stats":
            return {
                **self.stats,
                "leases": self.permits.loans,
                "returns": self.permits.returns,
                "longest_wait": dict(self.longest_wait),
                "rate_limited_by": dict(self.rate_limited_by),
            }
        raise ValueError(f"unknown account action {action!r}")


def _handle(registry: dict[str, AccountPace], account: str, action: str, **kwargs: Any) -> Any:
    pace = registry.get(account)
    if pace is None:
        raise KeyError(f"no eoclient account {account!r} on this scheduler")
    return pace.handle(action, **kwargs)


class AccountPlugin(SchedulerPlugin):
    """A ``distributed.SchedulerPlugin`` that keeps one account's :class:`AccountPace` on the scheduler.

    Registered by :class:`~eoclient.dask.ClusterAccount`; the scheduler must be
    able to import eoclient (the same environment as the workers).
    """

    def __init__(self, account: str, limits: AccountLimits) -> None:
        self.account = account
        self.limits = limits
        self.name = f"eoclient-account-{account}"

    async def start(self, scheduler: Any) -> None:
        """Add the account (and the handler, once) to the scheduler."""
        registry: dict[str, AccountPace] = scheduler.extensions.setdefault(_EXTENSION, {})
        # Attaching an account starts its pace afresh (and its permits): no pause or count carried over.
        pace = AccountPace(self.limits, on_pause=self._broadcaster(scheduler))
        pace.permits.on_recall = self._recaller(scheduler)
        registry[self.account] = pace
        if HANDLER not in scheduler.handlers:
            scheduler.handlers[HANDLER] = lambda account, action, **kw: _handle(
                registry, account, action, **kw
            )

    def _broadcaster(self, scheduler: Any) -> Callable[[float], object]:
        """Tell every worker of a pause (workers without a request pace do not ask the scheduler)."""
        pending: set[asyncio.Task[Any]] = set()

        def broadcast(seconds: float) -> None:
            msg = {"op": PAUSE_HANDLER, "account": self.account, "seconds": seconds}
            task = asyncio.ensure_future(scheduler.broadcast(msg=msg, on_error="ignore"))
            pending.add(task)
            task.add_done_callback(pending.discard)

        return broadcast

    def _recaller(self, scheduler: Any) -> Callable[[dict[str, int]], object]:
        """Ask workers for permits back (one message to each, not awaited)."""
        pending: set[asyncio.Task[Any]] = set()

        def recall(owed: dict[str, int]) -> None:
            for worker, count in owed.items():
                msg = {"op": RECALL_HANDLER, "account": self.account, "count": count}
                task = asyncio.ensure_future(
                    scheduler.broadcast(msg=msg, workers=[worker], on_error="ignore")
                )
                pending.add(task)
                task.add_done_callback(pending.discard)

        return recall

    def remove_worker(self, scheduler: Any, worker: str, **kwargs: Any) -> None:
        """A worker left (or died): the permits it held are free again."""
        pace = scheduler.extensions.get(_EXTENSION, {}).get(self.account)
        if pace is not None:
            pace.permits.forget(worker)

    async def close(self) -> None:
        """Nothing to release: the account's state goes with the scheduler."""
