"""A storm of 429s that do not depend on the pace, against the emulator: the limiter slows down
within a floor, every operation still completes, and the pace is back a few seconds after the storm.

Time for the limiter is virtual: real monotonic time plus every second it "slept" (through the
transport's sleep hook, which never really sleeps), so the test asserts on the limiter's state at
known virtual times, never on how long anything took.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from eoclient._http.ratelimit import RateLimit, RateLimiter
from eoclient._http.retry import RetryPolicy
from eoclient.emulator import Emulator, FaultConfig
from eoclient.sentinelhub import SentinelHub
from tests.integration.conftest import sh_client

GRID = "/api/v2/batch/tilinggrids/0"
WORKERS = 8
PER_WORKER = 40  # 320 requests in the storm
RECOVERY = 3.0  # seconds promised by the limiter with the default min_fraction (1/8)


class VirtualTime:
    """A clock that runs in real time and also jumps by every sleep, which returns at once."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    async def sleep(self, seconds: float) -> None:
        self.offset += seconds
        await asyncio.sleep(0)


def virtual_limiter(sh: SentinelHub) -> tuple[RateLimiter, VirtualTime]:
    """The client's limiter, same configuration, on virtual time (backoffs too: one sleep hook)."""
    vt = VirtualTime()
    transport = sh.transport
    transport._sleep = vt.sleep
    transport.limiter = RateLimiter(transport.limiter.limit, clock=vt, sleep=vt.sleep)
    return transport.limiter, vt


async def run(sh: SentinelHub, limiter: RateLimiter, rates: list[float | None]) -> None:
    async def worker() -> None:
        for _ in range(PER_WORKER):
            grid = await sh.tiling_grids.get(0)
            assert grid.id == 0
            rates.append(limiter.effective_rate)

    await asyncio.gather(*(worker() for _ in range(WORKERS)))


@pytest.mark.parametrize(
    ("rate_limit", "full_pace"),
    [(None, None), (RateLimit(per_second=200), 200.0)],
    ids=["default", "configured"],
)
@pytest.mark.eo_emulator(seed=11)
async def test_429_storm_then_quiet_recovers_full_pace(
    eo_emulator: Emulator, rate_limit: RateLimit | None, full_pace: float | None
) -> None:
    retry = RetryPolicy(attempts=15, initial_backoff=0.001, max_backoff=0.005)
    async with sh_client(eo_emulator, retry=retry, rate_limit=rate_limit) as sh:
        await sh.authenticate()
        limiter, vt = virtual_limiter(sh)
        assert limiter.limit == (rate_limit or RateLimit())

        # The storm: 30 % of requests answered 429 (Retry-After 20 ms), whatever the pace.
        eo_emulator.faults.config = FaultConfig(rate_limit=0.3, retry_after=0.02, seed=11)
        rates: list[float | None] = []
        await run(sh, limiter, rates)  # every operation completes: no stall, no refusal
        storm = [r for r in eo_emulator.requests if r.path == GRID]
        assert sum(r.status == 429 for r in storm) >= 50
        slowed = [r for r in rates if r is not None and (full_pace is None or r < full_pace)]
        assert slowed, "the limiter never slowed down"
        assert min(slowed) >= 1.0  # a floor, not 0.05 requests/s
        if full_pace is not None:
            assert min(slowed) >= full_pace / 8 - 1e-6

        # The storm stops; after the promised quiet time the pace is full again.
        eo_emulator.faults.config = FaultConfig()
        vt.offset += RECOVERY
        assert limiter.effective_rate == full_pace
        before = len(eo_emulator.requests)
        slept_before = vt.offset
        await asyncio.gather(*(sh.tiling_grids.get(0) for _ in range(50)))
        assert [r.status for r in eo_emulator.requests[before:]] == [200] * 50
        if full_pace is None:
            assert vt.offset == slept_before  # unlimited again: nobody waited
