"""Rate limiter: pacing, bursts, slow-down on 429 and recovery (with a fake clock)."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from aioresponses import aioresponses

from eoclient._http.auth import ClientCredentialsAuth
from eoclient._http.dialects import SENTINELHUB
from eoclient._http.ratelimit import RateLimit, RateLimiter, TokenBucket
from eoclient._http.retry import RetryPolicy
from eoclient._http.transport import Transport
from eoclient._redact import Secret
from eoclient.errors import ValidationError


class FakeTime:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def test_bucket_spaces_requests_at_rate() -> None:
    t = FakeTime()
    bucket = TokenBucket(10.0, 1, clock=t, sleep=t.sleep)
    for _ in range(5):
        await bucket.acquire()
    assert t.now - 1000.0 == pytest.approx(0.4)


async def test_burst_goes_at_once_then_paced() -> None:
    t = FakeTime()
    limiter = RateLimiter(RateLimit(per_second=2, burst=3), clock=t, sleep=t.sleep)
    for _ in range(3):
        await limiter.acquire()
    assert t.sleeps == []
    await limiter.acquire()
    assert sum(t.sleeps) == pytest.approx(0.5)


async def test_per_minute_limit() -> None:
    t = FakeTime()
    limiter = RateLimiter(RateLimit(per_minute=30), clock=t, sleep=t.sleep)
    await limiter.acquire()
    await limiter.acquire()
    assert sum(t.sleeps) == pytest.approx(2.0)


async def test_concurrent_waiters_are_spaced_not_stampeded() -> None:
    t = FakeTime()
    limiter = RateLimiter(RateLimit(per_second=5), clock=t, sleep=t.sleep)
    stamps: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        stamps.append(t())

    await asyncio.gather(*(one() for _ in range(6)))
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert all(g == pytest.approx(0.2) for g in gaps)


async def test_429_halves_rate_and_pauses_then_recovers() -> None:
    t = FakeTime()
    limiter = RateLimiter(RateLimit(per_second=10), clock=t, sleep=t.sleep)
    limiter.on_rate_limited(retry_after=3.0)
    assert limiter.effective_rate == pytest.approx(5.0)
    await limiter.acquire()
    assert sum(t.sleeps) >= 3.0  # nobody goes before Retry-After has passed
    for _ in range(40):
        limiter.on_success()
    assert limiter.effective_rate == pytest.approx(10.0)  # back to configured, never above


async def test_repeated_429_has_a_floor() -> None:
    limiter = RateLimiter(RateLimit(per_second=10, min_fraction=0.1))
    for _ in range(20):
        limiter.on_rate_limited(None)
    assert limiter.effective_rate == pytest.approx(1.0)


async def test_unconfigured_limiter_learns_a_pace_from_429_and_lets_go() -> None:
    t = FakeTime()
    limiter = RateLimiter(clock=t, sleep=t.sleep)
    for _ in range(20):  # 20 requests in 1 s
        await limiter.acquire()
        t.now += 0.05
    assert limiter.effective_rate is None
    limiter.on_rate_limited(None)
    rate = limiter.effective_rate
    assert rate is not None and 5 <= rate <= 15
    for _ in range(1000):
        limiter.on_success()
    assert limiter.effective_rate is None


def test_rate_limit_validation_names_field() -> None:
    with pytest.raises(ValidationError) as info:
        RateLimit(per_second=0)
    assert info.value.field == "RateLimit.per_second"


async def test_transport_feeds_429_into_limiter(sleeps) -> None:
    transport = Transport(
        base_url="https://sh.test",
        dialect=SENTINELHUB,
        auth=ClientCredentialsAuth("c", Secret("secret-value"), "https://auth.test/t"),
        retry=RetryPolicy(attempts=3),
        rate_limit=RateLimit(per_second=8),
    )
    transport._sleep = sleeps
    with aioresponses() as m:
        m.post("https://auth.test/t", payload={"access_token": "tk-123456", "expires_in": 3600})
        m.get("https://sh.test/x", status=429, headers={"Retry-After": "10"})
        m.get("https://sh.test/x", status=200, payload={})
        await transport.request("GET", "/x", operation="x")
    await transport.aclose()
    assert transport.limiter.effective_rate is not None
    assert transport.limiter.effective_rate < 8
