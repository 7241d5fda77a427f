"""Rate limiter: pacing, bursts, slow-down on 429 and recovery (with a fake clock)."""

from __future__ import annotations

import asyncio
import itertools
import math
import pickle

import pytest
from aioresponses import aioresponses

from eoclient._http.auth import ClientCredentialsAuth
from eoclient._http.dialects import SENTINELHUB
from eoclient._http.ratelimit import RateLimit, RateLimiter, TokenBucket
from eoclient._http.retry import RetryPolicy
from eoclient._http.transport import Transport
from eoclient._redact import Secret
from eoclient.errors import ClientRateLimitError, RateLimitError, ValidationError


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


async def test_429_halves_rate_and_pauses_everyone() -> None:
    t = FakeTime()
    limiter = RateLimiter(RateLimit(per_second=10), clock=t, sleep=t.sleep)
    limiter.on_rate_limited(retry_after=3.0)
    assert limiter.effective_rate == pytest.approx(5.0)
    await limiter.acquire()
    assert sum(t.sleeps) >= 3.0  # nobody goes before Retry-After has passed


async def send(limiter: RateLimiter, t: FakeTime, status: int, retry_after: float | None = None) -> None:
    """One request as the transport makes it: acquire, then report the answer."""
    await limiter.acquire()
    if status == 429:
        limiter.on_rate_limited(retry_after)
    else:
        limiter.on_success()


async def test_storm_then_quiet_recovers_configured_pace_within_three_seconds() -> None:
    t = FakeTime()
    limiter = RateLimiter(RateLimit(per_second=10), clock=t, sleep=t.sleep)
    rates: list[float] = []
    for _ in range(40):  # 20 s of 429s, two a second, none caused by the pace
        t.now += 0.5
        await send(limiter, t, 429, retry_after=0.01)
        rate = limiter.effective_rate
        assert rate is not None
        rates.append(rate)
    assert min(rates) == pytest.approx(10 / 8)  # the floor, not 0.05
    assert rates[-1] == pytest.approx(10 / 8)
    quiet_from = t.now  # the last 429
    t.now = quiet_from + 2.9
    rate = limiter.effective_rate
    assert rate is not None and rate < 10
    t.now = quiet_from + 3.0  # no successes needed: time alone restores the pace
    assert limiter.effective_rate == pytest.approx(10.0)
    t.now += 100
    assert limiter.effective_rate == pytest.approx(10.0)  # never above the configured rate


async def test_recovery_is_gradual_and_per_time_not_per_request() -> None:
    t = FakeTime()
    limiter = RateLimiter(RateLimit(per_second=16), clock=t, sleep=t.sleep)
    limiter.on_rate_limited(None)
    assert limiter.effective_rate == pytest.approx(8.0)
    for _ in range(200):
        limiter.on_success()
    assert limiter.effective_rate == pytest.approx(8.0)  # successes alone restore nothing
    t.now += 0.5  # half a doubling
    assert limiter.effective_rate == pytest.approx(16 / 2**0.5)


async def test_unconfigured_limiter_learns_a_pace_from_429_and_lets_go_within_seconds() -> None:
    t = FakeTime()
    limiter = RateLimiter(clock=t, sleep=t.sleep)
    for _ in range(20):  # 20 requests in 1 s
        await send(limiter, t, 200)
        t.now += 0.05
    assert limiter.effective_rate is None
    limiter.on_rate_limited(None)
    assert limiter.effective_rate == pytest.approx(10.0)  # half the pace that hit the limit
    t.now += 1.0  # one doubling: back to the pace that hit the limit, i.e. no limit
    assert limiter.effective_rate is None


async def test_unconfigured_storm_has_a_floor_relative_to_the_learned_pace() -> None:
    t = FakeTime()
    limiter = RateLimiter(clock=t, sleep=t.sleep)
    for _ in range(32):  # 32 requests/s
        await send(limiter, t, 200)
        t.now += 1 / 32
    rates: list[float] = []
    for _ in range(60):  # 30 s of 429s
        await send(limiter, t, 429)
        rate = limiter.effective_rate
        assert rate is not None
        rates.append(rate)
        t.now += 0.5
    assert min(rates) == pytest.approx(4.0, rel=0.05)  # 1/8 of the learned 32/s
    t.now += 3.0
    assert limiter.effective_rate is None


async def test_slow_client_never_slowed_below_one_request_per_second() -> None:
    t = FakeTime()
    limiter = RateLimiter(clock=t, sleep=t.sleep)
    for _ in range(10):  # 2 requests/s
        await send(limiter, t, 200)
        t.now += 0.5
    rates: list[float | None] = []
    for _ in range(20):
        await send(limiter, t, 429)
        rates.append(limiter.effective_rate)
        t.now += 0.5
    assert min(r for r in rates if r is not None) == pytest.approx(1.0)  # slowed, down to 1/s only


async def test_repeated_429_has_a_floor() -> None:
    t = FakeTime()
    limiter = RateLimiter(RateLimit(per_second=10, min_fraction=0.1), clock=t, sleep=t.sleep)
    for _ in range(20):
        t.now += 0.5
        limiter.on_rate_limited(None)
    assert limiter.effective_rate == pytest.approx(1.0)
    t.now += math.log2(10)  # deepest slowdown, fully worn off
    assert limiter.effective_rate == pytest.approx(10.0)


async def test_simultaneous_429s_halve_once() -> None:
    t = FakeTime()
    limiter = RateLimiter(RateLimit(per_second=40, burst=40), clock=t, sleep=t.sleep)
    sent = asyncio.Event()
    answered = asyncio.Event()
    count = 0

    async def request() -> None:
        nonlocal count
        ticket = await limiter.acquire()
        count += 1
        if count == 20:
            sent.set()
        await answered.wait()
        limiter.on_rate_limited(None, ticket)

    tasks = [asyncio.create_task(request()) for _ in range(20)]
    await sent.wait()
    answered.set()
    await asyncio.gather(*tasks)
    assert t.sleeps == []
    assert limiter.effective_rate == pytest.approx(20.0)  # one halving, not twenty


async def test_late_429s_for_requests_sent_before_the_slowdown_do_not_halve_again() -> None:
    t = FakeTime()
    limiter = RateLimiter(RateLimit(per_second=40, burst=40), clock=t, sleep=t.sleep)
    answers: list[asyncio.Event] = [asyncio.Event() for _ in range(10)]
    started = 0

    async def request(answer: asyncio.Event) -> None:
        nonlocal started
        ticket = await limiter.acquire()
        started += 1
        await answer.wait()
        limiter.on_rate_limited(None, ticket)

    tasks = [asyncio.create_task(request(a)) for a in answers]
    await asyncio.sleep(0)  # every request leaves (the bucket holds 40)
    assert started == len(tasks)
    for answer in answers:  # slow requests refused one by one, 1.5 s apart
        answer.set()
        await asyncio.sleep(0)
        t.now += 1.5
    await asyncio.gather(*tasks)
    # One halving at the first answer; it wore off (1 s per doubling) long before the last one.
    assert limiter.effective_rate == pytest.approx(40.0)
    await send(limiter, t, 429)  # a request sent after the slowdown counts again
    assert limiter.effective_rate == pytest.approx(20.0)


async def test_long_retry_after_raises_at_once_instead_of_parking_the_caller() -> None:
    t = FakeTime()
    limiter = RateLimiter(clock=t, sleep=t.sleep)  # the default limiter: max_wait 60 s
    limiter.on_rate_limited(retry_after=120.0)
    with pytest.raises(ClientRateLimitError) as info:
        await limiter.acquire()
    assert t.sleeps == []  # refused without waiting
    err = info.value
    assert isinstance(err, RateLimitError)
    assert err.status == 429 and err.code == "CLIENT_RATE_LIMIT"
    assert err.retry_after == pytest.approx(120.0)
    assert "client-side rate limiter" in str(err) and "nothing was sent" in str(err)
    assert str(pickle.loads(pickle.dumps(err))) == str(err)
    t.now += 120.0
    assert await limiter.acquire() == 1 and t.sleeps == []  # the pause is over: the first ticket, no wait


async def test_retry_after_within_max_wait_is_waited() -> None:
    t = FakeTime()
    limiter = RateLimiter(clock=t, sleep=t.sleep)
    limiter.on_rate_limited(retry_after=30.0)
    start = t.now
    await limiter.acquire()
    assert t.now - start == pytest.approx(30.0)


async def test_queue_deeper_than_max_wait_raises_for_the_callers_beyond_it() -> None:
    t = FakeTime()
    limiter = RateLimiter(RateLimit(per_second=1, max_wait=5), clock=t, sleep=t.sleep)

    async def waited() -> float:
        start = t.now
        await limiter.acquire()
        return t.now - start

    results = await asyncio.gather(*(waited() for _ in range(10)), return_exceptions=True)
    waits = [r for r in results if isinstance(r, float)]
    refused = [r for r in results if isinstance(r, ClientRateLimitError)]
    assert len(waits) + len(refused) == 10
    assert len(waits) >= 6 and refused  # served at 1/s while within the bound, the rest refused
    assert all(w <= 5.0 for w in waits)
    assert all(r.retry_after is not None and r.retry_after > 5 for r in refused)
    assert t.sleeps == [1.0] * (len(waits) - 1)  # nobody slept and then gave up


async def test_unbounded_wait_when_max_wait_is_none() -> None:
    t = FakeTime()
    limiter = RateLimiter(RateLimit(per_second=1, max_wait=None), clock=t, sleep=t.sleep)
    await asyncio.gather(*(limiter.acquire() for _ in range(100)))
    assert t.now - 1000.0 == pytest.approx(99.0)


def test_rate_limit_validation_names_field() -> None:
    with pytest.raises(ValidationError) as info:
        RateLimit(per_second=0)
    assert info.value.field == "RateLimit.per_second"
    for field, kwargs in (
        ("RateLimit.min_fraction", {"min_fraction": 0.0}),
        ("RateLimit.max_wait", {"max_wait": 0}),
    ):
        with pytest.raises(ValidationError) as info:
            RateLimit(**kwargs)  # type: ignore[arg-type]
        assert info.value.field == field


def test_rate_limit_keeps_its_positional_fields() -> None:
    limit = RateLimit(5, 100, 3)
    assert (limit.per_second, limit.per_minute, limit.burst) == (5, 100, 3)
    assert limit.max_wait == 60.0


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


async def test_try_acquire_lets_through_only_what_acquire_would_not_hold() -> None:
    t = FakeTime()
    idle = RateLimiter(clock=t, sleep=t.sleep)
    assert idle.try_acquire() and idle.try_acquire()
    assert idle._tickets == 2 and len(idle._stamps) == 2  # counted as acquire() counts them

    paced = RateLimiter(RateLimit(per_second=10), clock=t, sleep=t.sleep)
    assert not paced.try_acquire() and paced._tickets == 0  # a pace: the caller must await

    idle.on_rate_limited(2.0)  # a pause (no pace learned from two stamps)
    assert not idle.try_acquire()
    t.now += 2.5
    assert idle.try_acquire()

    class Shared:
        async def acquire(self) -> None: ...

        def on_rate_limited(self, retry_after: float | None) -> None: ...

    shared = RateLimiter(clock=t, sleep=t.sleep)
    shared.shared = Shared()
    assert not shared.try_acquire()
