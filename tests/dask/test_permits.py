"""The account's permits: lent in blocks, passed on by each worker, shared fairly, never over the bound."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from eoclient.dask.permits import LeasedPermits, PermitPool


class Local:
    """A worker's scheduler calls, answered by a pool in this loop (as the scheduler's handler does)."""

    def __init__(self, pool: PermitPool) -> None:
        self.pool = pool
        self.calls: Counter[str] = Counter()

    async def call(self, action: str, **kwargs: Any) -> Any:
        self.calls[action] += 1
        await asyncio.sleep(0)  # a round trip: others run meanwhile
        if action == "lease":
            return await self.pool.lease(kwargs["worker"], kwargs["want"])
        if action == "forget":
            return self.pool.forget(kwargs["worker"])
        raise AssertionError(action)

    def tell(self, action: str, **kwargs: Any) -> None:
        assert action == "give_back"
        self.calls[action] += 1
        self.pool.give_back(kwargs["worker"], kwargs["count"])


async def test_the_pool_lends_what_it_has_and_serves_waiters_in_order() -> None:
    pool = PermitPool(3)
    assert await pool.lease("a", 2) == 2
    assert await pool.lease("b", 5) == 1  # what is left, at once
    waiting_b = asyncio.ensure_future(pool.lease("b", 2))
    waiting_c = asyncio.ensure_future(pool.lease("c", 1))
    await asyncio.sleep(0)
    assert not waiting_b.done() and not waiting_c.done()
    pool.give_back("a", 1)
    assert await waiting_b == 1 and not waiting_c.done()  # first come, first served
    pool.forget("a")  # a's last permit is free again: c's turn
    assert await waiting_c == 1
    assert pool.lent == {"b": 2, "c": 1} and pool.free == 0
    late = asyncio.ensure_future(pool.lease("b", 1))
    await asyncio.sleep(0)
    pool.forget("b")  # gone: its loans are free, its wait is dropped
    await asyncio.gather(late, return_exceptions=True)
    assert late.cancelled() and pool.free == 2


async def test_two_workers_never_exceed_the_bound_both_progress_and_ask_rarely() -> None:
    pool = PermitPool(4)
    scheduler = Local(pool)
    workers = {name: LeasedPermits(scheduler, name, most=4) for name in ("a", "b")}
    loop = asyncio.get_running_loop()
    # The scheduler's recall reaches each worker as a message would: later, on its loop.
    pool.on_recall = lambda owed: [loop.call_soon(workers[w].recall, n) for w, n in owed.items()]
    in_flight = 0
    most_in_flight = 0
    done: Counter[str] = Counter()
    order: list[str] = []

    async def request(name: str) -> None:
        nonlocal in_flight, most_in_flight
        async with workers[name]:
            in_flight += 1
            most_in_flight = max(most_in_flight, in_flight)
            await asyncio.sleep(0.001)
            in_flight -= 1
        done[name] += 1
        order.append(name)

    async def worker(name: str, count: int) -> None:
        queue = list(range(count))

        async def runner() -> None:
            while queue:
                queue.pop()
                await request(name)

        await asyncio.gather(*(runner() for _ in range(4)))  # each worker wants all 4 permits

    await asyncio.gather(worker("a", 200), worker("b", 200))
    assert done == {"a": 200, "b": 200}
    assert most_in_flight <= 4
    # Shared: while both want permits, neither waits for the other to finish (a recall evens them out).
    assert min(Counter(order[:200]).values()) >= 60, Counter(order[:200])
    # A permit serves many requests of its worker before it goes back: far fewer calls than requests
    # (a semaphore makes two a request).
    assert scheduler.calls["lease"] + scheduler.calls["give_back"] < 400 / 4, scheduler.calls
    for permits in workers.values():
        await permits.close()
    assert pool.free == 4 and not any(pool.lent.values())


async def test_idle_permits_go_back_after_a_linger_and_a_cancelled_wait_leaves_none_behind() -> None:
    pool = PermitPool(1)
    scheduler = Local(pool)
    a = LeasedPermits(scheduler, "a", most=1)
    b = LeasedPermits(scheduler, "b", most=1)
    await a.acquire()
    blocked = asyncio.ensure_future(b.acquire())
    await asyncio.sleep(0.01)
    assert not blocked.done()
    blocked.cancel()
    with pytest.raises(asyncio.CancelledError):
        await blocked
    a.release()  # a keeps it for a moment (its next request is usually right behind)...
    assert pool.free == 0
    await asyncio.sleep(0.2)  # ...then gives it back
    assert pool.free + sum(pool.lent.values()) == 1
    await asyncio.wait_for(b.acquire(), 5)  # and b, asking again, gets it
    b.release()
    await a.close()
    await b.close()
    assert pool.free == 1
