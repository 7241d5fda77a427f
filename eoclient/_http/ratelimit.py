"""Client-side rate limiting that adapts to the service's 429 answers.

:class:`TokenBucket` is the one pacing primitive (also usable for budgets that
are not request counts, such as processing units per minute). :class:`RateLimiter`
combines per-second and per-minute buckets and adapts: a 429 halves the pace
(multiplicative decrease) and pauses every caller until the service's
``Retry-After`` has passed; each success then restores a little of the pace
until the configured rate is reached again. Without a configured limit, a 429
teaches the limiter the pace that hit the limit (from recent request times)
and it goes at half of that, recovering until it no longer applies.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from eoclient._log import log_event
from eoclient.errors import ValidationError

__all__ = ["RateLimit", "RateLimiter", "TokenBucket"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


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

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    def wait_time(self, amount: float = 1.0) -> float:
        """Seconds until ``amount`` tokens are available (0 if they are now)."""
        self._refill()
        missing = min(amount, self.capacity) - self._tokens
        return max(0.0, missing / self._rate)

    async def acquire(self, amount: float = 1.0) -> float:
        """Take ``amount`` tokens, sleeping until they are there; returns the seconds slept.

        An amount larger than the capacity is allowed: it drains the bucket
        into debt, so the next callers wait for it to be paid back.
        """
        slept = 0.0
        async with self._lock:
            while (delay := self.wait_time(amount)) > 0:
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
    """

    per_second: float | None = None
    per_minute: float | None = None
    burst: int = 1
    # Floor of the adaptive pace, as a fraction of the configured rate (or 1 req/s).
    min_fraction: float = 0.05

    def __post_init__(self) -> None:
        for name in ("per_second", "per_minute"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValidationError(f"RateLimit.{name}", "must be positive")
        if self.burst < 1:
            raise ValidationError("RateLimit.burst", "must be at least 1")


class RateLimiter:
    """Paces requests of one client and slows down when the service says 429."""

    _WINDOW = 32  # request stamps kept to estimate the pace when no limit is set
    _MIN_SAMPLES = 8  # fewer stamps than this say nothing about the pace

    def __init__(
        self, limit: RateLimit | None = None, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.limit = limit or RateLimit()
        self._clock = clock
        self._sleep = sleep
        self._buckets: list[tuple[TokenBucket, float]] = []
        if self.limit.per_second is not None:
            self._buckets.append(
                (
                    TokenBucket(self.limit.per_second, self.limit.burst, clock=clock, sleep=sleep),
                    self.limit.per_second,
                )
            )
        if self.limit.per_minute is not None:
            rate = self.limit.per_minute / 60.0
            self._buckets.append((TokenBucket(rate, self.limit.burst, clock=clock, sleep=sleep), rate))
        # Learned pace after a 429 when nothing was configured.
        self._adaptive: TokenBucket | None = None
        self._adaptive_ceiling = 0.0
        self._paused_until = 0.0
        self._stamps: deque[float] = deque(maxlen=self._WINDOW)

    @property
    def effective_rate(self) -> float | None:
        """The slowest pace currently applied, in requests per second (``None`` = unlimited)."""
        rates = [b.rate for b, _ in self._buckets]
        if self._adaptive is not None:
            rates.append(self._adaptive.rate)
        return min(rates) if rates else None

    async def acquire(self) -> float:
        """Wait for permission to send one request; returns the seconds waited."""
        waited = 0.0
        for bucket, _ in self._buckets:
            waited += await bucket.acquire()
        if self._adaptive is not None:
            waited += await self._adaptive.acquire()
        # Checked last: a 429 may arrive while this caller queued. Sleep again only if another
        # 429 extended the pause meanwhile.
        while (pause := self._paused_until - self._clock()) > 0:
            until = self._paused_until
            log_event(logging.INFO, "ratelimit.wait", seconds=round(pause, 3), reason="retry-after")
            await self._sleep(pause)
            waited += pause
            if self._paused_until <= until:
                break
        if waited > 0.05:
            log_event(logging.DEBUG, "ratelimit.wait", seconds=round(waited, 3), reason="pace")
        self._stamps.append(self._clock())
        return waited

    def on_rate_limited(self, retry_after: float | None) -> None:
        """The service answered 429: pause everyone for ``retry_after`` and halve the pace."""
        now = self._clock()
        if retry_after is not None and retry_after > 0:
            self._paused_until = max(self._paused_until, now + retry_after)
        for bucket, configured in self._buckets:
            bucket.rate = max(configured * self.limit.min_fraction, bucket.rate / 2)
        if not self._buckets:
            if self._adaptive is not None:
                self._adaptive.rate = max(self.limit.min_fraction, self._adaptive.rate / 2)
            elif len(self._stamps) >= self._MIN_SAMPLES:
                # Learn the pace that hit the limit and go at half of it.
                observed = self._observed_rate(now)
                self._adaptive = TokenBucket(max(observed / 2, 0.5), 1, clock=self._clock, sleep=self._sleep)
                self._adaptive_ceiling = observed
            # With too little history there is no pace to learn: the pause alone applies.
        log_event(
            logging.INFO,
            "ratelimit.slowdown",
            retry_after=retry_after,
            rate=None if self.effective_rate is None else round(self.effective_rate, 3),
        )

    def on_success(self) -> None:
        """A request went through: restore some pace.

        Configured limits recover additively (5 % of the configured rate per
        success); a learned pace recovers multiplicatively and is dropped once
        it is twice the pace that hit the limit.
        """
        for bucket, configured in self._buckets:
            if bucket.rate < configured:
                bucket.rate = min(configured, bucket.rate + configured * 0.05)
        if self._adaptive is not None:
            self._adaptive.rate *= 1.05
            if self._adaptive.rate >= self._adaptive_ceiling * 2:
                self._adaptive = None  # recovered beyond the pace that once hit the limit

    def _observed_rate(self, now: float) -> float:
        if len(self._stamps) < 2:
            return 1.0
        span = max(now - self._stamps[0], 1e-3)
        return len(self._stamps) / span
