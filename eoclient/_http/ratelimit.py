"""Client-side rate limiting that adapts to the service's 429 answers.

:class:`TokenBucket` is the one pacing primitive (also usable for budgets that
are not request counts, such as processing units per minute). :class:`RateLimiter`
paces one client's requests with the per-second and per-minute buckets of a
:class:`RateLimit` and adapts to 429s:

- ``Retry-After`` pauses every request of the client until it has passed (the
  transport does not pass on hints longer than its retry policy's
  ``max_retry_after``).
- The pace halves, but at most once per half second and once per round trip: a 429
  answering a request sent before the last halving (a storm of concurrent
  requests refused together) is the same signal, not a new one. Without a
  configured limit, the first 429 learns the pace that hit the limit from the
  recent request times and halves that (with fewer than 8 requests seen there
  is no pace to learn: only the pause applies).
- The pace never falls below ``min_fraction`` (default 1/8) of the pace it
  slowed from -- the configured rate or the learned pace -- nor below
  1 request/s unless that pace itself was slower.
- Recovery depends on time, not on successes: every second after the last
  halving doubles the pace again, so the full pace (the configured rate, or no
  limit at all) is back at most ``log2(1 / min_fraction)`` seconds after the
  last 429 -- 3 s by default -- however few requests go out meanwhile.
- A caller never waits in :meth:`RateLimiter.acquire` longer than
  ``RateLimit.max_wait`` (default 60 s): when the pause, the pace or the callers
  queued ahead would hold it longer, it gets
  :class:`~eoclient.errors.ClientRateLimitError` instead, and nothing is sent.

A :class:`SharedPace` (``RateLimiter.shared``) paces several clients as one
(e.g. the workers of a cluster under one account): every request also waits
for it, and every 429 is passed on to it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from eoclient._checks import check_int, check_seconds
from eoclient._log import log_event
from eoclient.errors import ClientRateLimitError, ValidationError

__all__ = ["RateLimit", "RateLimiter", "SharedPace", "TokenBucket"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class _Overdue(Exception):
    """A bucket would make its caller wait past the deadline (``wait`` more seconds)."""

    def __init__(self, wait: float) -> None:
        super().__init__(wait)
        self.wait = wait


class TokenBucket:
    """``rate`` tokens per second refilled into a bucket of ``capacity``.

    Waiters are served first come, first served (the lock is FIFO), and the
    sleep happens while holding it, so N callers are spaced ``1/rate`` apart
    instead of all waking at once.
    """

    def __init__(
        self, rate: float, capacity: float, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self._rate = rate
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._tokens = capacity
        self._stamp = clock()
        self._lock = asyncio.Lock()

    @property
    def rate(self) -> float:
        """Tokens per second."""
        return self._rate

    @rate.setter
    def rate(self, value: float) -> None:
        self._refill()
        self._rate = max(value, 1e-9)

    @property
    def tokens(self) -> float:
        """Tokens in the bucket now (negative while a debit is being paid back)."""
        self._refill()
        return self._tokens

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    def wait_time(self, amount: float = 1.0) -> float:
        """Seconds until ``amount`` tokens are available (0 if they are now)."""
        self._refill()
        delay = (min(amount, self.capacity) - self._tokens) / self._rate
        # A microsecond is not worth a sleep, and sleeping a rounding crumb may not even move the
        # clock (a float clock far from zero absorbs it): the caller would spin.
        return delay if delay >= 1e-6 else 0.0

    async def acquire(self, amount: float = 1.0, *, deadline: float | None = None) -> float:
        """Take ``amount`` tokens, sleeping until they are there; returns the seconds slept.

        An amount larger than the capacity is allowed: it drains the bucket
        into debt, so the next callers wait for it to be paid back. With a
        ``deadline`` (a time of the bucket's clock), a caller whose tokens would
        come later gives up without taking any (used by :class:`RateLimiter`).
        """
        slept = 0.0
        async with self._lock:
            while (delay := self.wait_time(amount)) > 0:
                if deadline is not None and self._clock() + delay > deadline:
                    raise _Overdue(delay)
                await self._sleep(delay)
                slept += delay
            self._tokens -= amount
        return slept

    def debit(self, amount: float) -> None:
        """Take ``amount`` tokens without waiting (e.g. a cost known only after the fact)."""
        self._refill()
        self._tokens -= amount


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Configured client-side limits; ``None`` means no limit of that kind.

    ``burst`` is how many requests may go at once after an idle period.
    ``min_fraction`` is the floor of the adaptive slowdown, as a fraction of
    the pace it slows from (the configured rate, or the pace learned at the
    first 429); a slowdown also never goes below 1 request/s unless that pace
    was already slower. ``max_wait`` bounds, in seconds, how long one request
    may wait for the limiter (``None``: unbounded); a request that would wait
    longer raises :class:`~eoclient.errors.ClientRateLimitError` at once.
    """

    per_second: float | None = None
    per_minute: float | None = None
    burst: int = 1
    # Three halvings: deep enough to get under a limit we really exceed, shallow enough that
    # 429s not caused by our pace cost at most 7/8 of it, and only for 3 s after they stop.
    min_fraction: float = 0.125
    # Adaptive waits last seconds (floor, 1-s doublings); a minute in the limiter means a long
    # Retry-After or a queue far deeper than the pace serves, and the caller should get control back.
    max_wait: float | None = 60.0

    def __post_init__(self) -> None:
        check_seconds("RateLimit.per_second", self.per_second, positive=True, optional=True)
        check_seconds("RateLimit.per_minute", self.per_minute, positive=True, optional=True)
        check_int("RateLimit.burst", self.burst, minimum=1)
        check_seconds("RateLimit.min_fraction", self.min_fraction, positive=True)
        if self.min_fraction > 1:
            raise ValidationError("RateLimit.min_fraction", f"must be in (0, 1], got {self.min_fraction!r}")
        check_seconds("RateLimit.max_wait", self.max_wait, positive=True, optional=True)


class SharedPace(Protocol):
    """A pace several clients keep together (one account used from many processes or hosts)."""

    async def acquire(self) -> None:
        """Wait until one more request of the account may go (before this client's own pace)."""
        ...

    def on_rate_limited(self, retry_after: float | None) -> None:
        """A request of this client was answered 429 (``retry_after`` in seconds, if said)."""
        ...


class RateLimiter:
    """Paces requests of one client, slows down when the service says 429, recovers with time.

    ``shared``, when set, is a :class:`SharedPace` every request also waits
    for and every 429 is reported to (not bounded by ``RateLimit.max_wait``).
    """

    # Seconds after the last halving that double the pace, and the least time between two
    # halvings (N 429s at once are one signal). Window < doubling, so a limit we really exceed
    # (429s more often than the window) still pulls the pace down: net one halving a second.
    # Simulated with 8 callers at 0.2 s latency: under 5 % of 429s that do not depend on the
    # pace, 55-70 % of the throughput stays (the per-request recovery kept 27 %, and stalled
    # at 10 %); against a real 10 requests/s limit, throughput is the limit with 18 % of
    # requests answered 429. A window of 1 s and doubling of 2 s cut the 429s to 10 % but kept
    # only 40 % under the pace-independent storm.
    _DOUBLING = 1.0
    _WINDOW = 0.5
    _MIN_RATE = 1.0  # requests/s a slowdown never goes below (unless the pace it slows was slower)
    _STAMPS = 32  # request stamps kept to estimate the pace when no limit is set
    _MIN_SAMPLES = 8  # fewer stamps than this say nothing about the pace
    _UNLIMITED = 1e9  # rate of a retired learned-pace bucket, so its queued callers go at once

    def __init__(
        self, limit: RateLimit | None = None, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.limit = limit or RateLimit()
        self._clock = clock
        self._sleep = sleep
        # (bucket, configured rate) pairs.
        self._buckets: list[tuple[TokenBucket, float]] = []
        if self.limit.per_second is not None:
            self._buckets.append(
                (self._bucket(self.limit.per_second, self.limit.burst), self.limit.per_second)
            )
        if self.limit.per_minute is not None:
            rate = self.limit.per_minute / 60.0
            self._buckets.append((self._bucket(rate, self.limit.burst), rate))
        # Without a configured limit: the pace that hit the limit, and the bucket pacing below it.
        self._adaptive: TokenBucket | None = None
        self._learned = 0.0
        # Halvings in effect at _level_at; they wear off at one per _DOUBLING seconds.
        self._level = 0.0
        self._level_at = 0.0
        self._slowed_at = -math.inf
        self._slowed_ticket = 0  # requests sent before the last halving
        self._tickets = 0
        self._paused_until = -math.inf
        self._inflight = 0
        self._stamps: deque[float] = deque(maxlen=self._STAMPS)
        self.shared: SharedPace | None = None

    def _bucket(self, rate: float, capacity: float) -> TokenBucket:
        return TokenBucket(rate, capacity, clock=self._clock, sleep=self._sleep)

    # -- state -------------------------------------------------------------------

    @property
    def effective_rate(self) -> float | None:
        """The slowest pace currently applied, in requests per second (``None`` = unlimited)."""
        self._refresh(self._clock())
        rates = [bucket.rate for bucket, _ in self._pacers()]
        return min(rates) if rates else None

    def _pacers(self) -> list[tuple[TokenBucket, float]]:
        """Every bucket in force, with the pace it recovers to."""
        if self._adaptive is None:
            return list(self._buckets)
        return [*self._buckets, (self._adaptive, self._learned)]

    def _halvings(self, now: float) -> float:
        return max(0.0, self._level - (now - self._level_at) / self._DOUBLING)

    def _floor(self, reference: float) -> float:
        return max(reference * self.limit.min_fraction, min(reference, self._MIN_RATE))

    def _refresh(self, now: float) -> None:
        """Apply the halvings still in effect at ``now`` to every bucket."""
        halvings = self._halvings(now)
        if self._adaptive is not None and halvings <= 0:
            self._adaptive.rate = self._UNLIMITED
            self._adaptive = None  # back to the pace that hit the limit: no limit any more
        factor = 2.0**-halvings
        for bucket, reference in self._pacers():
            rate = max(self._floor(reference), reference * factor)
            if rate != bucket.rate:
                bucket.rate = rate

    # -- requests ----------------------------------------------------------------

    def try_acquire(self) -> int:
        """Let one request through at once when nothing paces or pauses this client: its ticket.

        The usual case (no limit set, no 429 seen, no shared pace) without a
        coroutine. ``0``: nothing was counted, and the caller awaits :meth:`acquire`.
        """
        if self.shared is not None or self._buckets or self._adaptive is not None:
            return 0
        now = self._clock()
        if self._paused_until > now:
            return 0
        return self._sent(now)

    async def acquire(self) -> int:
        """Wait for permission to send one request; returns its ticket.

        The ticket (the request's number, from 1) is what the request's
        caller hands to :meth:`on_rate_limited` should it be answered 429.
        Raises :class:`~eoclient.errors.ClientRateLimitError` (nothing sent)
        when the wait would exceed ``RateLimit.max_wait``.
        """
        if self.shared is not None:
            await self.shared.acquire()
        start = self._clock()
        self._refresh(start)
        if not self._buckets and self._adaptive is None and self._paused_until <= start:
            # No pace and no pause (the default until a 429): nothing to wait for, nothing to await.
            return self._sent(start)
        max_wait = self.limit.max_wait
        deadline = None if max_wait is None else start + max_wait
        if max_wait is not None and (expected := self._expected_wait(start)) > max_wait:
            raise self._too_long(expected)
        self._inflight += 1
        try:
            slept_until = await self._sit_out_pause(deadline, -math.inf)
            for bucket, _ in self._pacers():
                self._refresh(self._clock())
                await bucket.acquire(deadline=deadline)
            # A 429 may have come while this caller queued: that pause holds it too.
            await self._sit_out_pause(deadline, slept_until)
        except _Overdue as exc:
            raise self._too_long(self._clock() - start + exc.wait) from None
        finally:
            self._inflight -= 1
        now = self._clock()
        waited = now - start
        if waited > 0.05:
            log_event(logging.DEBUG, "ratelimit.wait", seconds=round(waited, 3), reason="pace")
        return self._sent(now)

    def _sent(self, now: float) -> int:
        """Count a request let through at ``now``: its stamp (for the pace); returns its ticket."""
        self._stamps.append(now)
        self._tickets += 1
        return self._tickets

    async def _sit_out_pause(self, deadline: float | None, slept_until: float) -> float:
        """Sleep through the pause once, and again only if a new 429 extends it meanwhile.

        Returns the end of the last pause slept through (``slept_until`` if none).
        """
        while self._paused_until > slept_until and (pause := self._paused_until - self._clock()) > 0:
            if deadline is not None and self._clock() + pause > deadline:
                raise _Overdue(pause)
            slept_until = self._paused_until
            log_event(logging.INFO, "ratelimit.wait", seconds=round(pause, 3), reason="retry-after")
            await self._sleep(pause)
        return slept_until

    def _expected_wait(self, now: float) -> float:
        """Upper estimate of a new caller's wait: the pause, then its turn behind those queued."""
        pause = max(0.0, self._paused_until - now)
        halvings = self._halvings(now)
        needed = self._inflight + 1.0
        turn = 0.0
        for bucket, reference in self._pacers():
            tokens = min(bucket.capacity, bucket.tokens + pause * bucket.rate)
            missing = max(0.0, needed - tokens)
            # The pace recovers: by halvings * _DOUBLING seconds it is full again (or gone).
            full_in = halvings * self._DOUBLING
            at_full = 0.0 if bucket is self._adaptive else missing / reference
            turn = max(turn, min(missing / bucket.rate, full_in + at_full))
        return pause + turn

    def _too_long(self, wait: float) -> ClientRateLimitError:
        log_event(logging.WARNING, "ratelimit.refused", seconds=round(wait, 3), max_wait=self.limit.max_wait)
        return ClientRateLimitError(
            retry_after=round(wait, 3),
            service_message=(
                f"the client-side rate limiter would hold this request {wait:.1f} s, more than "
                f"RateLimit.max_wait ({self.limit.max_wait:g} s); nothing was sent"
            ),
        )

    # -- feedback from the transport -----------------------------------------------

    def on_rate_limited(self, retry_after: float | None, ticket: int | None = None) -> None:
        """The service answered 429: pause everyone for ``retry_after`` and halve the pace.

        The halving is skipped for a 429 answering a request sent before the
        last halving (``ticket``: the request's, from :meth:`acquire`; ``None``
        when unknown), or within half a second of it: a burst of 429s is one signal.
        """
        if self.shared is not None:
            self.shared.on_rate_limited(retry_after)
        now = self._clock()
        if retry_after is not None and retry_after > 0:
            self._paused_until = max(self._paused_until, now + retry_after)
        if ticket is not None and ticket <= self._slowed_ticket:
            outcome = "sent before the last slowdown"
        elif now - self._slowed_at < self._WINDOW:
            outcome = "within half a second of the last slowdown"
        else:
            outcome = "slowed down" if self._slow_down(now) else "no pace to slow"
        rate = self.effective_rate
        log_event(
            logging.INFO,
            "ratelimit.slowdown",
            retry_after=retry_after,
            outcome=outcome,
            rate=None if rate is None else round(rate, 3),
        )

    def _slow_down(self, now: float) -> bool:
        self._refresh(now)
        if not self._buckets and self._adaptive is None:
            observed = self._observed_rate(now)
            if observed is None:
                return False  # no pace to learn: the pause alone applies
            self._learned = observed
            self._adaptive = self._bucket(observed, 1)
        references = [reference for _, reference in self._pacers()]
        deepest = max(math.log2(r / self._floor(r)) for r in references)
        self._level = min(self._halvings(now) + 1.0, deepest)
        self._level_at = now
        self._slowed_at = now
        self._slowed_ticket = self._tickets
        self._refresh(now)
        return True

    def on_success(self) -> None:
        """A request went through. Recovery depends on time alone; this only refreshes the pace."""
        if self._buckets or self._adaptive is not None:  # without a pace there is nothing to refresh
            self._refresh(self._clock())

    def _observed_rate(self, now: float) -> float | None:
        if len(self._stamps) < self._MIN_SAMPLES:
            return None
        span = max(now - self._stamps[0], 1e-3)
        return len(self._stamps) / span
