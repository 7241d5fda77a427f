"""``eoclient demo``: the client's main job, end to end, against the embedded emulator.

No credentials and no network are needed: the emulator is started on loopback
with faults switched on, and every step prints one JSON line. What it shows:
logins to both services (single-flight token refresh after expiry), retries of
429/5xx with the service's ``Retry-After``, several long-running jobs awaited
concurrently through :class:`~eoclient.jobs.Job` (watching status and
progress, a failed and a cancelled job, paged results), a job re-attached
from its resume token by a second client, then the services: a Catalog
search, one image per scene rendered concurrently to disk under a
processing-unit budget, monthly NDVI statistics; a SpaceKnow imagery search
whose pages are pipelines, a dry run that allocates credits, and a Kraken map
released and downloaded tile by tile, concurrently.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import anyio

from eoclient._http.retry import RetryPolicy
from eoclient.emulator import Emulator
from eoclient.errors import JobCancelledError, JobFailedError
from eoclient.jobs import Job, PollPolicy
from eoclient.paging import Paginator
from eoclient.sample_job import SampleItem, submit_sample_job
from eoclient.sentinelhub import ProcessingBudget, SentinelHub
from eoclient.spaceknow import SpaceKnow

__all__ = ["run_demo"]

Emit = Callable[..., None]


def _emitter(out: TextIO) -> Emit:
    def emit(event: str, **fields: Any) -> None:
        out.write(json.dumps({"event": event, **fields}, default=str) + "\n")
        out.flush()

    return emit


async def _follow(name: str, job: Job[Paginator[SampleItem]], emit: Emit, results: dict[str, Any]) -> None:
    try:
        async for status in job.watch():
            emit("job.status", job=name, status=status.raw, progress=status.progress, message=status.message)
        items = [item async for item in job.results()]
    except JobFailedError as exc:
        results[name] = {"failed": exc.error}
    except JobCancelledError:
        results[name] = {"cancelled": True}
    else:
        results[name] = {"items": len(items), "sum": round(sum(i.value for i in items), 6)}
    emit("job.result", job=name, **results[name])


AOI = {
    "type": "Polygon",
    "coordinates": [[[14.2, 49.9], [14.7, 49.9], [14.7, 50.2], [14.2, 50.2], [14.2, 49.9]]],
}
TRUE_COLOR = """//VERSION=3
function setup() {
  return {input: ["B02", "B03", "B04"], output: {bands: 3, sampleType: "UINT8"}};
}
function evaluatePixel(s) { return [2.5 * s.B04 * 255, 2.5 * s.B03 * 255, 2.5 * s.B02 * 255]; }
"""
NDVI = """//VERSION=3
function setup() {
  return {input: [{bands: ["B04", "B08", "dataMask"]}],
          output: [{id: "ndvi", bands: 1, sampleType: "FLOAT32"}, {id: "dataMask", bands: 1}]};
}
function evaluatePixel(s) { return {ndvi: [(s.B08 - s.B04) / (s.B08 + s.B04)], dataMask: [s.dataMask]}; }
"""


async def _sentinelhub_steps(sh: SentinelHub, emit: Emit, out_dir: Path | None) -> dict[str, Any]:
    """Catalog search, then one true-colour image per scene rendered concurrently to disk, then NDVI stats."""
    items = await sh.catalog.search(
        "sentinel-2-l2a",
        bbox=[10.0, 45.0, 20.0, 52.0],
        datetime=("2023-04-01", "2023-09-30"),
        filter="eo:cloud_cover < 30",
        max_items=6,
    ).collect()
    emit("catalog.search", found=len(items), ids=[i.id for i in items])

    sh.budget = ProcessingBudget(pu_per_minute=3000, requests_per_minute=600)
    written: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="eoclient-demo-") as scratch:
        tmp = out_dir or Path(scratch)

        async def render(item_id: str, when: str) -> None:
            request = {
                "input": {
                    "bounds": {"geometry": AOI},
                    "data": [
                        {
                            "type": "sentinel-2-l2a",
                            "dataFilter": {"timeRange": {"from": when, "to": when}},
                        }
                    ],
                },
                "output": {
                    "width": 512,
                    "height": 512,
                    "responses": [{"identifier": "default", "format": {"type": "image/tiff"}}],
                },
                "evalscript": TRUE_COLOR,
            }
            info = await sh.process_to_file(request, Path(tmp) / f"{item_id}.tif")
            written.append({"file": info.path.name, "bytes": info.size, "pu": info.processing_units})

        async with anyio.create_task_group() as tg:
            for item in items:
                when = item.properties.get("datetime") or "2023-06-01T00:00:00Z"
                tg.start_soon(render, item.id, when)
        emit(
            "process.to_file",
            files=len(written),
            bytes=sum(w["bytes"] for w in written),
            directory=str(out_dir) if out_dir else "(temporary)",
        )

    stats = await sh.statistics(
        {
            "input": {"bounds": {"geometry": AOI}, "data": [{"type": "sentinel-2-l2a"}]},
            "aggregation": {
                "timeRange": {"from": "2023-04-01T00:00:00Z", "to": "2023-10-01T00:00:00Z"},
                "aggregationInterval": {"of": "P1M"},
                "evalscript": NDVI,
                "resx": 10,
                "resy": 10,
            },
        }
    )
    emit("statistics", intervals=len(stats.data), failed_intervals=len(stats.errors), status=stats.status)
    return {
        "scenes": len(items),
        "rendered": len(written),
        "pu_spent": round(sh.budget.spent, 3),
        "stat_intervals": len(stats.data),
    }


async def _spaceknow_steps(sk: SpaceKnow, emit: Emit, out_dir: Path | None) -> dict[str, Any]:
    """Imagery search (pages are pipelines), a priced and allocated dry run, a tree-cover map
    released and every one of its tiles downloaded concurrently."""
    scenes = await sk.imagery.search(
        [("pl", "PSScene")],
        AOI,
        start_datetime="2023-01-01 00:00:00",
        end_datetime="2023-12-31 23:59:59",
        max_items=60,
    ).collect()
    emit("imagery.search", scenes=len(scenes), first=scenes[0].scene_id if scenes else None)
    scene_id = scenes[-1].scene_id

    before = await sk.credits.user_info()
    quote = await sk.credits.check_area([scene_id], AOI)
    dry = await (await sk.kraken.dry_run({"mapTypes": ["trees"], "scenes": [[scene_id]]}, AOI, allocate=True))
    after = await sk.credits.user_info()
    emit(
        "kraken.dry_run",
        km2=round(quote.km2, 3),
        quoted=round(quote.cost, 3),
        allocated=round(dry.allocated_credits, 3),
        credit_before=before.remaining_credit,
        credit_after=after.remaining_credit,
    )

    job = await sk.kraken.release(["trees"], [scene_id], AOI)
    async for status in job.watch():
        emit("kraken.release", status=status.raw, message=status.message, step=status.step)
    released = await job
    with tempfile.TemporaryDirectory(prefix="eoclient-demo-") as scratch:
        target = (out_dir or Path(scratch)) / "map"
        report = await sk.kraken.download_map(released, target, concurrency=16)
        emit(
            "kraken.download_map",
            map_id=released.map_id,
            tiles=len(released.tiles),
            files=len(report.files),
            bytes=report.bytes,
            failures=len(report.failures),
        )
    return {
        "scenes": len(scenes),
        "credits_spent": round((before.remaining_credit or 0) - (after.remaining_credit or 0), 3),
        "map_tiles": len(released.tiles),
        "map_files": len(report.files),
    }


async def run_demo(
    *, seed: int = 1, clock_speed: float = 100.0, out: TextIO | None = None, out_dir: Path | None = None
) -> dict[str, Any]:
    """Run the demo; returns a summary (also printed as the last JSON line).

    Rendered files go to ``out_dir`` when given, else to a temporary directory removed at the end.
    """
    emit = _emitter(out or sys.stdout)
    retry = RetryPolicy(attempts=6, initial_backoff=0.02, max_backoff=0.2)
    poll = PollPolicy(initial=0.01, max_delay=0.2)
    async with Emulator(seed=seed, clock_speed=clock_speed) as emu:
        emit("emulator.started", sentinelhub=emu.sentinelhub_url, spaceknow=emu.spaceknow_url)
        creds = emu.credentials
        sh = SentinelHub(
            creds.sh_client_id,
            creds.sh_client_secret,
            base_url=emu.sentinelhub_url,
            token_url=emu.sentinelhub_token_url,
            retry=retry,
            poll=poll,
        )
        sk = SpaceKnow(
            creds.sk_username,
            creds.sk_password,
            base_url=emu.spaceknow_url,
            auth_url=emu.spaceknow_auth_url,
            retry=retry,
            poll=poll,
        )
        async with sh, sk:
            await sh.authenticate()
            await sk.authenticate()
            emit("login", services=["sentinelhub", "spaceknow"], token_requests=emu.token_requests())

            # The services misbehave: rate limits (Retry-After in each one's unit), 5xx, expiry.
            emu.faults.inject("rate_limit", path_prefix="/_sample/jobs", count=2, retry_after=0.05)
            emu.faults.inject("server_error", path_prefix="/_sample/jobs/", status=503)
            emu.faults.inject("html_error", path_prefix="/_sample/jobs/")
            emu.expire_tokens("sentinelhub")

            jobs = {
                "mosaic": await submit_sample_job(
                    sh, phases=[("QUEUED", 3), ("RUNNING", 12)], results=9, page_size=4
                ),
                "broken": await submit_sample_job(
                    sh, phases=[("QUEUED", 2), ("RUNNING", 5)], outcome="FAILED", error="no data in AOI"
                ),
                "too-long": await submit_sample_job(sh, phases=[("QUEUED", 3600), ("RUNNING", 3600)]),
            }
            for name, job in jobs.items():
                emit("job.submitted", job=name, id=job.id)

            results: dict[str, Any] = {}
            async with anyio.create_task_group() as tg:
                for name, job in jobs.items():
                    tg.start_soon(_follow, name, job, emit, results)
                await anyio.sleep(0.3)
                cancelled = await jobs["too-long"].cancel()
                emit("job.cancel", job="too-long", service_stopped=cancelled)

            # Re-attach to a job from its resume token, as another process would.
            late = await submit_sample_job(sh, phases=[("QUEUED", 2), ("RUNNING", 4)], results=3)
            token = late.resume_token
            emit("job.resume_token", job="late", token=json.loads(token))
            async with SentinelHub(
                creds.sh_client_id,
                creds.sh_client_secret,
                base_url=emu.sentinelhub_url,
                token_url=emu.sentinelhub_token_url,
                retry=retry,
                poll=poll,
            ) as other:
                items = [item async for item in other.resume_job(token).results()]
            results["late"] = {"items": len(items), "resumed": True}
            emit("job.result", job="late", **results["late"])

            results["sentinelhub"] = await _sentinelhub_steps(sh, emit, out_dir)
            results["spaceknow"] = await _spaceknow_steps(sk, emit, out_dir)

        faults = [r.fault for r in emu.requests if r.fault]
        summary = {
            "jobs": results,
            "requests": len(emu.requests),
            "faults_survived": faults,
            "token_requests": emu.token_requests(),
        }
        emit("demo.done", **summary)
        return summary
