"""jobs-monitor: N concurrent Batch v2 jobs followed to DONE, one monitor against one poll per job.

Each repetition creates and starts N Batch v2 requests (outside the timing),
then times following them all to DONE while the emulator's clock is moved
on (+5 emulated seconds every 0.1 s, through its control route; a request
takes 81 emulated seconds). Both rows use the same poll cadence:

* ``sh.batch.watch_many(jobs)``: a :class:`~eoclient.monitor.JobMonitor`
  reading the listing (100 a page, newest first) once per round;
* ``await job`` for every job at once (``asyncio.gather``): one GET per job
  per poll, each job on its own cadence.

The line under the table gives the status calls each row sent (the client's
own count of calls, first repetition), and CPU milliseconds and resident
kilobytes per job (the row's CPU time and work MB over N). eoclient only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp

import eoclient
from benchmarks.measure import Context
from benchmarks.spec import Facts, Row, Scenario
from eoclient.jobs import Job, PollPolicy

POLICY = PollPolicy(initial=0.25, multiplier=1.5, max_delay=1.0, jitter=0.1)
TICK, STEP = 0.1, 5.0  # real seconds between clock moves, emulated seconds per move
EVALSCRIPT = """//VERSION=3
function setup() { return {input: ["B04"], output: {bands: 1}}; }
function evaluatePixel(s) { return [s.B04]; }
"""


def _spec(i: int) -> dict[str, Any]:
    return {
        "processRequest": {
            "input": {
                "bounds": {"bbox": [14.0, 46.0, 14.1, 46.1]},
                "data": [
                    {
                        "type": "sentinel-2-l2a",
                        "dataFilter": {
                            "timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-30T00:00:00Z"}
                        },
                    }
                ],
            },
            "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
            "evalscript": EVALSCRIPT,
        },
        "input": {"type": "tiling-grid", "id": 0, "resolution": 60.0},
        "output": {"type": "raster", "delivery": {"s3": {"url": "s3://bench-bucket/monitor"}}},
        "description": f"bench monitor {i}",
    }


async def _started(sh: Any, n: int) -> list[Job[Any]]:
    """N requests created and started (CREATED -> START: analysed, then processed)."""
    sem = asyncio.Semaphore(32)

    async def one(i: int) -> Job[Any]:
        async with sem:
            made = await sh.transport.request_json(
                "POST", "/api/v2/batch/process", operation="bench.create", json=_spec(i)
            )
            await sh.transport.request(
                "POST", f"/api/v2/batch/process/{made['id']}/start", operation="bench.start"
            )
            return sh.batch.job(made["id"])

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def _ticking(info: dict[str, Any], done: asyncio.Event) -> None:
    """Move the emulator's clock on until ``done``."""
    url = info["sentinelhub_url"] + "/_emulator/clock/advance"
    async with aiohttp.ClientSession() as http:
        while not done.is_set():
            async with http.post(url, json={"seconds": STEP}) as resp:
                resp.raise_for_status()
            await asyncio.sleep(TICK)


def _row(ctx: Context, follow: Callable[[Any, list[Job[Any]]], Any]) -> None:
    n = ctx.params["jobs"]

    async def main() -> None:
        creds = ctx.info["credentials"]
        client = eoclient.SentinelHub(
            creds["sh_client_id"],
            creds["sh_client_secret"],
            base_url=ctx.info["sentinelhub_url"],
            token_url=ctx.info["sentinelhub_token_url"],
            poll=POLICY,  # both rows: the monitor's rounds and each job's polls
        )
        async with client as sh:
            await sh.batch.requests(count=1, max_items=1).collect()  # warm-up: token, connection
            calls = 0
            send = sh.transport.request

            async def counted(*args: Any, **kwargs: Any) -> Any:
                nonlocal calls
                if kwargs.get("operation") in ("batch.get", "batch.list"):
                    calls += 1
                return await send(*args, **kwargs)

            sh.transport.request = counted  # type: ignore[method-assign]
            for i in ctx.repeats():
                jobs = await _started(sh, n)
                calls = 0
                done = asyncio.Event()
                ticker = asyncio.create_task(_ticking(ctx.info, done))
                try:
                    with ctx.timed():
                        await follow(sh, jobs)
                finally:
                    done.set()
                    await ticker
                finals = [job.status.raw for job in jobs if job.status is not None]
                ctx.fact(jobs=n, done=finals.count("DONE"))
                if i == 0:
                    ctx.fact(
                        status_calls=calls,
                        cpu_ms_per_job=round(ctx.cpu_times[-1] * 1000 / n, 3),
                        kb_per_job=round(ctx.work_kb[-1] / n, 2) if ctx.work_kb else None,
                    )

    asyncio.run(main())


async def _monitor(sh: Any, jobs: list[Job[Any]]) -> None:
    async with sh.batch.watch_many(jobs) as monitor:
        async for _job, _status in monitor:
            pass


async def _each(sh: Any, jobs: list[Job[Any]]) -> None:
    await asyncio.gather(*(job.wait() for job in jobs))


def eoclient_monitor(ctx: Context) -> None:
    _row(ctx, _monitor)


def eoclient_each(ctx: Context) -> None:
    _row(ctx, _each)


def _figures(facts: Facts) -> str:
    n = facts["jobs"]
    calls = facts["status_calls"]
    kb = facts.get("kb_per_job")
    return (
        f"{calls:,} status calls for {n:,} jobs ({calls / n:.2f} a job), "
        f"{facts['cpu_ms_per_job']:.3f} CPU ms a job" + (f", {kb:.2f} KB a job" if kb is not None else "")
    )


SCENARIO = Scenario(
    name="jobs-monitor",
    module=__name__,
    summary=(
        "N concurrent Batch v2 jobs followed to DONE: sh.batch.watch_many (one listing per round) "
        "against `await job` for each (one GET per job per poll), same cadence; status calls sent, "
        "CPU and memory per job."
    ),
    rows=(
        Row("eoclient watch_many", "eoclient_monitor"),
        Row("eoclient await each", "eoclient_each"),
    ),
    normal={"jobs": 1_000, "repeat": 2},
    quick={"jobs": 50, "repeat": 1},
    unit="jobs/s",
    amount=lambda params, facts: float(params["jobs"]),
    headline=lambda p: f"{p['jobs']:,} concurrent Batch v2 jobs to DONE",
    agree=("jobs", "done"),
    memory=True,
    figures=_figures,
)
