"""jobs-idle-memory: bytes per idle Job handle.

A program that follows thousands of long-running jobs holds thousands of
:class:`~eoclient.jobs.Job` handles that mostly wait. This measures what one
handle costs: ``tracemalloc`` over creating N Jobs on a strategy that does no
HTTP (the strategies are made before, so only the handles count), then again
after each was polled once (its first status, its poll lock, its change
history). No emulator, no peer: only eoclient's row.
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import anyio

from benchmarks.measure import Context
from benchmarks.spec import Facts, Row, Scenario
from eoclient.jobs import Job, JobState, JobStatus

_RUNNING = JobStatus(JobState.RUNNING, "PROCESSING")


class _Idle:
    """A strategy that answers RUNNING at once and holds only its id."""

    __slots__ = ("job_id",)
    kind = "bench.idle"

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id

    async def poll(self) -> JobStatus:
        return _RUNNING

    async def result(self, final: JobStatus) -> None:
        return None

    async def cancel(self) -> bool:
        return True

    def resume_data(self) -> dict[str, Any]:
        return {}


def _traced(n: int) -> tuple[float, float]:
    """Bytes per Job: just created, and after one poll each."""

    async def main() -> tuple[float, float]:
        strategies = [_Idle(f"job-{i}") for i in range(n)]
        gc.collect()
        tracemalloc.start()
        try:
            start = tracemalloc.get_traced_memory()[0]
            jobs: list[Job[None]] = [Job(s) for s in strategies]
            gc.collect()
            idle = tracemalloc.get_traced_memory()[0]
            for job in jobs:
                await job.refresh()
            gc.collect()
            polled = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        return (idle - start) / n, (polled - start) / n

    return anyio.run(main)


def eoclient_jobs(ctx: Context) -> None:
    n = ctx.params["jobs"]
    _traced(min(n, 100))  # warm-up: imports, first allocations of each kind
    idle, polled = _traced(n)
    ctx.fact(jobs=n, idle_bytes_per_job=round(idle), polled_bytes_per_job=round(polled))
    strategies = [_Idle(f"job-{i}") for i in range(n)]
    for _ in ctx.repeats():
        with ctx.timed():
            jobs = [Job(s) for s in strategies]
        ctx.fact(created=len(jobs))
        del jobs


def _figures(facts: Facts) -> str:
    return (
        f"{facts['idle_bytes_per_job']:,} bytes per idle Job, "
        f"{facts['polled_bytes_per_job']:,} after one poll (tracemalloc over {facts['jobs']:,} Jobs)"
    )


SCENARIO = Scenario(
    name="jobs-idle-memory",
    module=__name__,
    summary=(
        "Bytes per idle Job handle: what following thousands of jobs costs in memory. tracemalloc "
        "over creating N Jobs (and over polling each once); the timed part creates the N handles."
    ),
    rows=(Row("eoclient Job", "eoclient_jobs"),),
    normal={"jobs": 10_000, "repeat": 5},
    quick={"jobs": 1_000, "repeat": 1},
    unit="jobs/s",
    amount=lambda params, facts: float(params["jobs"]),
    headline=lambda p: f"{p['jobs']:,} idle Job handles",
    agree=("jobs",),
    memory=True,
    figures=_figures,
)
