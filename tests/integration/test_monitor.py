"""JobMonitor against the emulator: many jobs read through the listings, fed to each Job, request counts."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import anyio
import anyio.lowlevel
import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.core.state import RequestRecord
from eoclient.emulator.sentinelhub import batch_engine, batch_statistics_engine
from eoclient.errors import NotFoundError
from eoclient.jobs import Job, JobState, JobStatus
from eoclient.monitor import JobMonitor
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.batch_models import BatchRequest
from tests.integration import test_async_process as async_cases
from tests.integration import test_batch_statistics as stats_cases
from tests.integration.stepped import frozen_clock
from tests.integration.test_batch import corsica
from tests.integration.test_batch_v1 import legacy

pytestmark = pytest.mark.eo_emulator(clock_speed=1000.0)

T = TypeVar("T")
V2 = "/api/v2/batch/process"
V1 = "/api/v1/batch/process"
STATS = "/api/v1/statistics/batch"
ASYNC = "/api/v1/async/process"
BATCH_END = batch_engine.ANALYSIS_SECONDS + batch_engine.PROCESSING_SECONDS + 1


async def gather(calls: Sequence[Callable[[], Awaitable[T]]], limit: int = 16) -> list[T]:
    """Run ``calls`` with at most ``limit`` at a time; results in order."""
    results: list[Any] = [None] * len(calls)
    limiter = anyio.CapacityLimiter(limit)

    async def one(i: int) -> None:
        async with limiter:
            results[i] = await calls[i]()

    async with anyio.create_task_group() as tg:
        for i in range(len(calls)):
            tg.start_soon(one, i)
    return results


def gets(records: Sequence[RequestRecord], base: str) -> tuple[int, int]:
    """(listing GETs, single-request GETs) of ``base`` among ``records``."""
    listed = sum(1 for r in records if r.method == "GET" and r.path == base)
    single = sum(1 for r in records if r.method == "GET" and r.path.startswith(base + "/"))
    return listed, single


async def start_v2(sh: SentinelHub, n: int, prefix: str = "monitored") -> list[Job[BatchRequest]]:
    """``n`` Batch v2 requests created and started (START from CREATED analyses first)."""
    return await gather(
        [lambda i=i: sh.batch.run(corsica(f"{prefix} {i}"), analyse_first=False) for i in range(n)]
    )


async def follow(
    monitor: JobMonitor, on_first_round: Callable[[], None] | None = None
) -> list[tuple[Job[Any], JobStatus]]:
    """Iterate ``monitor`` to the end; ``on_first_round`` runs once every job was seen once."""
    seen: list[tuple[Job[Any], JobStatus]] = []
    first: set[Job[Any]] = set()
    everyone = set(monitor.jobs)
    async for job, status in monitor:
        seen.append((job, status))
        first.add(job)
        if on_first_round is not None and first >= everyone:
            on_first_round()
            on_first_round = None
    return seen


# -- many Batch v2 jobs: the listing instead of one GET per job per round ------------------------


async def test_200_batch_jobs_to_done_through_the_listing(eo_emulator: Emulator, sh: SentinelHub) -> None:
    n = 200
    with frozen_clock(eo_emulator):
        jobs = await start_v2(sh, n)
        mark = len(eo_emulator.requests)
        monitor = sh.batch.watch_many(jobs)
        results: dict[str, BatchRequest] = {}

        async def wait(job: Job[BatchRequest]) -> None:
            results[job.id] = await job

        async with anyio.create_task_group() as tg:
            # Every job's own `await` runs while the monitor does (started with the iteration,
            # once the monitor has taken the jobs over: see follow()).
            def release_waiters_then_finish() -> None:
                eo_emulator.clock.advance(BATCH_END)

            changes: list[tuple[Job[Any], JobStatus]] = []
            iterator = aiter(monitor)
            try:
                async for job, status in iterator:
                    if not changes:
                        for j in jobs:
                            tg.start_soon(wait, j)
                    changes.append((job, status))
                    if len(changes) == n:
                        release_waiters_then_finish()
            finally:
                await iterator.aclose()
        sent = eo_emulator.requests[mark:]

    # Every job: seen running, then DONE; each `await` got the listed request, no GET of its own.
    assert not monitor.errors and not monitor.jobs
    assert sorted(results) == sorted(j.id for j in jobs)
    assert all(r.status == "DONE" for r in results.values())
    by_job: dict[str, list[str]] = {}
    for job, status in changes:
        by_job.setdefault(job.id, []).append(status.raw)
    assert all(raws[0] == "ANALYSING" and raws[-1] == "DONE" for raws in by_job.values())
    listed, single = gets(sent, V2)
    assert single == 0
    # Structural count: at most ceil(200 / 100) pages per round, against one GET per job per round
    # (all 200 ran in every round: the clock moved them all to DONE at once).
    rounds = monitor.rounds
    assert rounds >= 2
    # Seen only under load 15+ (once a listing page more than the rounds allow): the whole exchange,
    # for whoever meets it next.
    trail = [(r.method, r.query, r.status, r.fault, round(r.time, 3)) for r in sent]
    assert listed <= rounds * math.ceil(n / 100), (listed, rounds, trail)
    per_job = n * rounds
    assert listed * 50 <= per_job, (listed, per_job)
    print(f"monitor: {listed} listing GETs in {rounds} rounds; one GET per job per round: {per_job}")
    assert len(sent) == listed  # nothing else was sent: no START, no result fetch


async def test_a_monitored_job_sends_nothing_of_its_own_and_watch_is_fed(
    eo_emulator: Emulator, sh: SentinelHub
) -> None:
    with frozen_clock(eo_emulator):
        jobs = await start_v2(sh, 3)
        mark = len(eo_emulator.requests)
        watched: list[str] = []

        async def watch(job: Job[BatchRequest]) -> None:
            watched.extend([s.raw async for s in job.watch()])

        monitor = sh.batch.watch_many(jobs)
        async with anyio.create_task_group() as tg:
            first = True
            async for _job, _status in monitor:
                if first:
                    tg.start_soon(watch, jobs[0])
                    first = False
                if _job is jobs[-1] and _status.raw == "ANALYSING":
                    eo_emulator.clock.advance(BATCH_END)
        sent = eo_emulator.requests[mark:]
    assert watched[-1] == "DONE"
    assert gets(sent, V2)[1] == 0


# -- mixed families: listings where the service has them, single GETs where not ------------------


async def test_mixed_families_in_one_monitor(eo_emulator: Emulator, sh: SentinelHub) -> None:
    batch = await start_v2(sh, 3, prefix="mixed")
    legacy_jobs = [await sh.batch.v1.run(legacy(f"mixed legacy {i}")) for i in range(2)]
    stats = [await sh.batch_statistics.create(stats_cases.request(), start=True) for _ in range(2)]
    async_jobs = [
        await sh.async_process.create(async_cases.request(), delivery=async_cases.s3()) for _ in range(2)
    ]
    everything: list[Job[Any]] = [*batch, *legacy_jobs, *stats, *async_jobs]
    mark = len(eo_emulator.requests)
    monitor = JobMonitor(everything)
    changes = await follow(monitor)
    sent = eo_emulator.requests[mark:]

    assert not monitor.errors
    assert all(job.status is not None and job.status.state is JobState.SUCCEEDED for job in everything)
    assert {job for job, _ in changes} == set(everything)
    # Batch v2, legacy batch and Batch Statistical come from their listings: no status call per job
    # (the legacy run() starts its requests after the analysis: that START and its one GET are the
    # strategy's own step, fed from the listing too).
    assert gets(sent, V2)[1] == 0
    assert gets(sent, STATS)[1] == 0
    assert gets(sent, V1)[1] <= len(legacy_jobs)
    assert all(gets(sent, base)[0] >= 1 for base in (V2, V1, STATS))
    # Async Process lists nothing: one status call per job per round.
    assert 0 < gets(sent, ASYNC)[1] <= len(async_jobs) * monitor.rounds
    assert [await job for job in everything]  # every result is there (cached or fetched)


async def test_batch_statistics_watch_many_by_id(eo_emulator: Emulator, sh: SentinelHub) -> None:
    created = [await sh.batch_statistics.create(stats_cases.request(), start=True) for _ in range(3)]
    monitor = sh.batch_statistics.watch_many([job.id for job in created])
    changes = await follow(monitor)
    finals = {job.id: status.raw for job, status in changes if status.state.terminal}
    assert finals == {job.id: "DONE" for job in created}
    assert eo_emulator.clock.now() > 0 and batch_statistics_engine.ANALYSIS_SECONDS > 0


# -- a deleted job ends alone, in a typed error ----------------------------------------------------


async def test_a_deleted_job_ends_in_not_found_and_the_others_finish(
    eo_emulator: Emulator, sh: SentinelHub
) -> None:
    with frozen_clock(eo_emulator):
        doomed = await sh.batch.v1.create(legacy("to be deleted"))  # CREATED: it waits, and may be deleted
        doomed_job = sh.batch.v1.job(doomed.id)
        others = [await sh.batch.v1.run(legacy(f"kept {i}"), analyse_first=False) for i in range(2)]
        jobs = [doomed_job, *others]
        monitor = sh.batch.v1.watch_many(jobs)
        mark = len(eo_emulator.requests)

        waited: dict[str, BaseException | Any] = {}

        async def wait(job: Job[Any]) -> None:
            try:
                waited[job.id] = await job
            except NotFoundError as exc:
                waited[job.id] = exc

        async with anyio.create_task_group() as tg:
            deleted = False
            async for _job, _status in monitor:
                if not deleted:
                    for j in jobs:
                        tg.start_soon(wait, j)
                    await sh.batch.v1.delete(doomed.id)
                    eo_emulator.clock.advance(BATCH_END)
                    deleted = True
        sent = eo_emulator.requests[mark:]

    assert set(monitor.errors) == {doomed_job}
    assert isinstance(monitor.errors[doomed_job], NotFoundError)
    assert isinstance(waited[doomed.id], NotFoundError)  # its own `await` got the monitor's error
    assert all(waited[j.id].status == "DONE" for j in others)
    # Missing from the listing, it was read once on its own; the others never were.
    assert gets(sent, V1)[1] == 1


# -- transport errors: back off, lose no job -------------------------------------------------------


async def test_listing_failures_lose_no_job(eo_emulator: Emulator, sh: SentinelHub) -> None:
    jobs = await start_v2(sh, 4, prefix="flaky")
    # More 503s than the transport retries: whole rounds fail, and the next ones go on.
    eo_emulator.faults.inject("server_error", count=10, path_prefix=V2, method="GET", status=503)
    monitor = sh.batch.watch_many(jobs)
    changes = await follow(monitor)
    assert not monitor.errors
    assert {job for job, status in changes if status.raw == "DONE"} == set(jobs)
    assert sum(1 for r in eo_emulator.requests if r.fault == "server_error") == 10


# -- cancellation: the jobs go back to their own polling -------------------------------------------


async def test_cancelling_the_iteration_hands_the_jobs_back(eo_emulator: Emulator, sh: SentinelHub) -> None:
    with frozen_clock(eo_emulator):
        jobs = await start_v2(sh, 3, prefix="handed back")
        monitor = sh.batch.watch_many(jobs)
        results: list[BatchRequest] = []

        async def wait(job: Job[BatchRequest]) -> None:
            results.append(await job)

        async with anyio.create_task_group() as tg:
            with anyio.CancelScope() as scope:
                async with monitor:
                    async for _ in monitor:
                        for j in jobs:
                            tg.start_soon(wait, j)
                        scope.cancel()  # mid-iteration, with waiters fed from it
                        await anyio.lowlevel.checkpoint()
            # The waiters were handed back: they poll on their own and finish.
            assert all(j._feed is None for j in jobs)
            eo_emulator.clock.advance(BATCH_END)
        assert [r.status for r in results] == ["DONE"] * 3
    again = [s async for s in sh.batch.watch_many(jobs)]  # a new monitor: the ended jobs, once each
    assert sorted(s.raw for _, s in again) == ["DONE"] * 3


async def test_break_hands_the_jobs_back(eo_emulator: Emulator, sh: SentinelHub) -> None:
    with frozen_clock(eo_emulator):
        jobs = await start_v2(sh, 2, prefix="break")
        async for _ in sh.batch.watch_many(jobs):
            break  # the event loop closes the iteration: the jobs poll on their own again
        eo_emulator.clock.advance(BATCH_END)
        with anyio.fail_after(30):  # a safety net, not a timing assertion
            assert [(await j).status for j in jobs] == ["DONE", "DONE"]
        assert all(j._feed is None for j in jobs)
