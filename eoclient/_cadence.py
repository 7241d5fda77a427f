"""The poll cadence of one :class:`~eoclient.jobs.Job`: when the next status call is due, and who makes it.

Any number of tasks wait on the same Job; they share one schedule and one
status call in flight. :class:`Cadence` is that bookkeeping: the schedule
(policy, server hints, deferrals by the client's own limiter), the one call in
flight (a flag, and a future for each waiter queued for it), and what a waiter
needs to know whether the call it queued for was already made by someone else
(the count of completed calls, the last failure and when it happened). It is
the Job's private base class, every member underscored (none is the Job's
public API): not an object of its own, so that each of thousands of waiting
Jobs is one object for the garbage collector to walk, not two.

A :class:`Feed` is the hook for statuses observed elsewhere: while a
:class:`~eoclient.monitor.JobMonitor` follows a Job it sets the Job's ``_feed``,
and the Job's waiters wait for the monitor's next round instead of polling
(the monitor records what it saw with :meth:`eoclient.jobs.Job.observe`).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio

from eoclient._polling import PollPolicy, RandomLike
from eoclient.errors import ClientRateLimitError, ValidationError

__all__ = ["Cadence", "Deadline", "Feed", "event_loop_time"]


def event_loop_time() -> float:
    """``anyio.current_time()``, read straight from asyncio's loop when it runs (a Job reads it often)."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:  # another backend
        return anyio.current_time()


@dataclass(frozen=True, slots=True)
class Deadline:
    """When a wait gives up, on the job's clock; ``budget`` (seconds) is for messages."""

    at: float
    budget: float


class Feed:
    """Rounds of statuses observed by someone else (a monitor), shared by every Job it follows.

    One object for all the Jobs of a monitor (an idle Job holds no more than a
    reference to it): :meth:`tick` wakes every waiter once the round's statuses
    are recorded. A waiter that hears nothing for ``patience`` seconds (the
    monitor's consumer stopped iterating) polls on its own for that step.
    """

    __slots__ = ("_round", "patience")

    def __init__(self, patience: float) -> None:
        self.patience = patience
        self._round: anyio.Event | None = None  # made in the event loop, when first waited on

    def round(self) -> anyio.Event:
        """The event set at the end of the current round."""
        if self._round is None:
            self._round = anyio.Event()
        return self._round

    def tick(self) -> None:
        """End the round: wake every waiter (what the round saw is recorded already)."""
        event, self._round = self._round, None
        if event is not None:
            event.set()


StatusCall = Callable[[], Awaitable[object]]
"""One status call made for the Job, which records what it got (and reports it with ``_polled``)."""


class Cadence:
    """When a Job polls next, and the one status call in flight that every waiter shares.

    The Job passes its status call to :meth:`_advance` / :meth:`_poll_now` and
    reports each status it recorded with :meth:`_polled`. Built on asyncio
    alone (a flag and futures, no lock, no cancel scope): a Job's waiters pay
    for little more than the sleep and the status call.
    """

    __slots__ = (
        "_busy",
        "_clock",
        "_feed",
        "_last_error",
        "_last_error_at",
        "_last_started",
        "_next_at",
        "_policy",
        "_polls",
        "_queue",
        "_rng",
        "_sleep",
        "_sleeps",
        "_version",
    )

    def __init__(
        self,
        policy: PollPolicy,
        rng: RandomLike | None,
        sleep: Callable[[float], Awaitable[Any]],
        clock: Callable[[], float],
    ) -> None:
        self._policy = policy
        self._sleep = sleep
        self._clock = clock
        self._polls = 0  # successful status calls, for the log
        self._feed: Feed | None = None  # set while a monitor polls for this Job
        self._rng = rng
        self._busy = False  # a status call is in flight
        # Waiters for the call in flight to end, each with a future of its own (a
        # cancelled waiter cancels only its own); None while nobody queues.
        self._queue: list[asyncio.Future[None]] | None = None
        # Completed status calls (successful or failed); waiters compare it to
        # know whether someone else already made the call they were waiting for.
        self._version = 0
        self._last_error: Exception | None = None
        self._last_error_at = -math.inf
        self._last_started: float | None = None
        self._next_at: float | None = None
        self._sleeps = 0

    def _deadline(self, timeout: float | None) -> Deadline | None:
        """The deadline of a wait: ``timeout`` (from now) or the policy's, the smaller."""
        limit = self._policy.deadline
        if timeout is None:
            if limit is None:
                return None
            budget = limit
        else:
            if math.isnan(timeout) or timeout < 0:
                raise ValidationError("timeout", "must be a number >= 0 or None")
            budget = timeout if limit is None else min(timeout, limit)
        return Deadline(at=self._clock() + budget, budget=budget)

    def _bound(self, deadline: Deadline | None) -> float:
        """Event-loop time at which a status call (or the wait for one) is cut off."""
        if deadline is None:
            return math.inf
        remaining = max(0.0, deadline.at - self._clock())
        return event_loop_time() + remaining + self._policy.grace

    async def _turn(self) -> None:
        """Wait until no status call is in flight, then own the next (``_busy``)."""
        while self._busy:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            queue = self._queue
            if queue is None:
                queue = self._queue = []
            queue.append(waiter)
            try:
                await waiter
            finally:
                if self._queue is queue:
                    if waiter in queue:
                        queue.remove(waiter)
                    if not queue:
                        self._queue = None
        self._busy = True

    def _done(self) -> None:
        """The call in flight ended (made, failed or cancelled): wake who waited for it.

        A Job's own loop (no deadline, no feed) takes the call by setting ``_busy`` when none
        is in flight and none was made since it looked, reports it with :meth:`_polled` or
        :meth:`_failed`, then calls this.
        """
        self._busy = False
        queue, self._queue = self._queue, None
        if queue:
            for waiter in queue:
                if not waiter.done():
                    waiter.set_result(None)

    def _schedule(self, hint: float | None) -> float:
        delay = self._policy.delay(self._sleeps, hint, self._rng)
        self._sleeps += 1
        self._next_at = self._clock() + delay
        return self._next_at

    def _polled(self, *, terminal: bool, hint: float | None) -> float | None:
        """Count a recorded status and schedule the next call; the delay until it (``None``: terminal).

        ``hint`` is the service's own delay for the next poll (the status's ``retry_after``).
        """
        self._version += 1
        self._polls += 1
        self._last_error = None
        if terminal:
            self._next_at = None
            return None
        # _schedule(), returning the delay itself: one clock read and one call less per poll.
        delay = self._policy.delay(self._sleeps, hint, self._rng)
        self._sleeps += 1
        clock = self._clock
        # event_loop_time() inlined (we are in the loop): one Python call less per poll.
        now = asyncio.get_running_loop().time() if clock is event_loop_time else clock()
        self._next_at = now + delay
        return delay

    async def _poll_now(self, call: StatusCall) -> None:
        """Make one status call now, after any call already in flight."""
        if self._busy:
            await self._turn()
        else:
            self._busy = True
        try:
            await self._call(call)
        finally:
            self._done()

    async def _call(self, call: StatusCall) -> None:
        started = self._clock()
        try:
            await call()
        except Exception as exc:
            if not self._failed(exc, started):
                raise
            return
        self._last_started = started

    def _failed(self, exc: Exception, started: float) -> bool:
        """Count a status call started at ``started`` that raised ``exc``; ``True``: deferred, not failed.

        A deferral is the client's own limiter saying no (thousands of jobs under a configured
        pace): nothing was sent and nothing is wrong with the job; it polls when the limiter
        foresees room. Anything else is a failure the waiters queued for this call share.
        """
        if isinstance(exc, ClientRateLimitError):
            self._next_at = self._clock() + max(exc.retry_after or 0.0, self._policy.initial)
            return True
        self._version += 1
        self._last_error = exc
        self._last_error_at = self._clock()
        self._last_started = started
        return False

    async def _advance(
        self, known: bool, hint: float | None, deadline: Deadline | None, call: StatusCall
    ) -> bool:
        """Sleep until the next call is due (never past ``deadline``), then make sure one was made since.

        A call another waiter made meanwhile counts (its failure too, if it
        failed while this one queued for it). Returns ``True`` when out of time:
        the deadline cut the wait or the call, or the call was the last one at it.
        ``known``: a status is known already (polled, or given at creation),
        with the service's ``hint`` for the next poll.
        """
        seen = self._version
        feed = self._feed
        if feed is not None:
            fed = await self._await_feed(feed, deadline)
            if fed is not None:
                return fed
            # The monitor went quiet: this step polls as if no monitor ran.
        final = False
        target = self._next_at
        # Nothing known yet: poll at once (the call is the checkpoint). Else sleep until due.
        if known or target is not None:
            if target is None:  # started from initial_status: first sleep per policy/hint
                target = self._schedule(hint)
            if deadline is not None and target >= deadline.at:
                target, final = deadline.at, True
            pause = target - self._clock()
            if pause > 0:
                await self._sleep(pause)
            else:
                await asyncio.sleep(0)
            if feed is None and self._feed is not None:
                return False  # a monitor took over while this waiter slept: wait for its rounds
        woke = self._clock()
        if deadline is None:  # nothing to cut off: no timeout to set up on every step
            await self._call_unless_fresh(call, seen, woke, final)
            return False
        cutoff = asyncio.timeout_at(self._bound(deadline))
        try:
            async with cutoff:
                await self._call_unless_fresh(call, seen, woke, final)
        except TimeoutError:
            if not cutoff.expired():
                raise  # the call's own (not ours)
            return True
        return final or self._clock() >= deadline.at

    async def _call_unless_fresh(self, call: StatusCall, seen: int, woke: float, final: bool) -> None:
        """Make the status call, unless another waiter made one since ``seen`` (raising its failure)."""
        if self._busy:
            await self._turn()
        else:
            self._busy = True
        try:
            if self._version != seen:
                if final:
                    # The last poll at the deadline must be at least this fresh.
                    last = self._last_started
                    fresh = last is not None and last >= woke
                else:
                    fresh = True
                if fresh and self._last_error is not None:
                    if woke <= self._last_error_at:
                        raise self._last_error  # it failed while we queued for it: our poll too
                    fresh = False  # it failed before we were due: make our own
                if fresh:
                    return
            await self._call(call)
        finally:
            self._done()

    async def _await_feed(self, feed: Feed, deadline: Deadline | None) -> bool | None:
        """Wait for the feed's next round; ``True`` out of time, ``None`` if the feed stayed quiet.

        A failure the monitor recorded for this Job meanwhile is raised, as a
        failed call another waiter made is.
        """
        seen = self._version
        wait = feed.patience
        if deadline is not None:
            wait = min(wait, max(0.0, deadline.at - self._clock()))
        with anyio.move_on_after(wait) as scope:
            await feed.round().wait()
        if self._version != seen and self._last_error is not None:
            raise self._last_error
        if not scope.cancelled_caught:
            return False
        if deadline is not None and self._clock() >= deadline.at:
            return True
        return None
