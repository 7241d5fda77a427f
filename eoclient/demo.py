"""``eoclient demo``: the client's real service jobs, end to end, against the embedded emulator.

No credentials and no network are needed: the emulator is started on loopback
with its clock accelerated and faults switched on, and every step prints one
JSON line. What it shows: logins to both services (single-flight token refresh
after expiry); retries of 429/5xx and proxy HTML pages with the service's
``Retry-After``; a Catalog search and an imagery search whose pages are
SpaceKnow pipelines; then, all at once, real long-running jobs followed
through :class:`~eoclient.jobs.Job` (statuses and progress) — a Batch v2
request (created, analysed, started, processed to DONE), an Async Process
request, a Batch Statistical request followed by a second client from its
resume token, one that fails in its evalscript, a Batch request stopped by
``job.cancel()`` and a Kraken release whose map is downloaded tile by tile —
while one image per scene is rendered to disk under a processing-unit budget
and monthly NDVI statistics are computed.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final, TextIO

import anyio

from eoclient import Job, PollPolicy, ProcessingBudget, RetryPolicy, SentinelHub, SpaceKnow
from eoclient.arrays import read, to_dataarray
from eoclient.bulk import Failure
from eoclient.emulator import Emulator
from eoclient.emulator.clients import sentinelhub_client, spaceknow_client
from eoclient.errors import JobCancelledError, JobFailedError
from eoclient.sentinelhub.statistics_models import OutputStatistics

__all__ = ["run_demo"]

Emit = Callable[..., None]
Summary = Callable[[Any], dict[str, Any]]

AOI: Final = {
    "type": "Polygon",
    "coordinates": [[[14.2, 49.9], [14.7, 49.9], [14.7, 50.2], [14.2, 50.2], [14.2, 49.9]]],
}
TRUE_COLOR: Final = """//VERSION=3
function setup() {
  return {input: ["B02", "B03", "B04"], output: {bands: 3, sampleType: "UINT8"}};
}
function evaluatePixel(s) { return [2.5 * s.B04 * 255, 2.5 * s.B03 * 255, 2.5 * s.B02 * 255]; }
"""
NDVI: Final = """//VERSION=3
function setup() {
  return {input: [{bands: ["B04", "B08", "dataMask"]}],
          output: [{id: "ndvi", bands: 1, sampleType: "FLOAT32"}, {id: "dataMask", bands: 1}]};
}
function evaluatePixel(s) { return {ndvi: [(s.B08 - s.B04) / (s.B08 + s.B04)], dataMask: [s.dataMask]}; }
"""
# A bug the service finds only while processing: `fail` is not defined.
BROKEN_NDVI: Final = NDVI.replace("evaluatePixel(s) {", "evaluatePixel(s) { fail();")
ROLE: Final = "arn:aws:iam::123456789012:role/eoclient-demo"  # a role, not keys: nothing secret to print
_NO_BANDS: Final = OutputStatistics()
_SHOWN_FEATURES: Final = 3
SUMMER: Final = {"from": "2023-06-01T00:00:00Z", "to": "2023-08-31T23:59:59Z"}
PRAGUE: Final = {  # about 6 km x 6 km in UTM zone 33N
    "type": "Polygon",
    "coordinates": [[[14.38, 50.05], [14.46, 50.05], [14.46, 50.104], [14.38, 50.104], [14.38, 50.05]]],
}
S2: Final = [{"type": "sentinel-2-l2a", "dataFilter": {"timeRange": SUMMER, "mosaickingOrder": "leastCC"}}]


# -- the requests, as in the services' documentation ------------------------------------------------


def _batch_request(description: str) -> dict[str, Any]:
    """Batch Process API v2: GeoTIFF tiles of a 20 m tiling grid, delivered to a bucket."""
    return {
        "processRequest": {
            "input": {"bounds": {"geometry": AOI}, "data": S2},
            "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
            "evalscript": TRUE_COLOR,
        },
        "input": {"type": "tiling-grid", "id": 1, "resolution": 20.0},
        "output": {
            "type": "raster",
            "delivery": {"s3": {"url": "s3://eoclient-demo/batch", "iamRoleARN": ROLE}},
        },
        "description": description,
    }


def _async_request() -> dict[str, Any]:
    """Async Process API: one 4000 x 3000 true-colour image (too big for the Process API)."""
    return {
        "input": {"bounds": {"geometry": AOI}, "data": S2},
        "output": {
            "width": 4000,
            "height": 3000,
            "responses": [{"identifier": "default", "format": {"type": "image/tiff"}}],
            "delivery": {"s3": {"url": "s3://eoclient-demo/async", "iamRoleARN": ROLE}},
        },
        "evalscript": TRUE_COLOR,
    }


def _batch_statistics_request(evalscript: str, name: str) -> dict[str, Any]:
    """Batch Statistical API: monthly NDVI of every field of a GeoPackage in a bucket."""
    return {
        "input": {
            "features": {"s3": {"url": f"s3://eoclient-demo/{name}.gpkg", "iamRoleARN": ROLE}},
            "data": [{"type": "sentinel-2-l2a", "dataFilter": {"mosaickingOrder": "leastCC"}}],
        },
        "aggregation": {
            "timeRange": SUMMER,
            "aggregationInterval": {"of": "P30D"},
            "evalscript": evalscript,
            "resx": 10,
            "resy": 10,
        },
        "output": {"s3": {"url": f"s3://eoclient-demo/{name}-stats", "iamRoleARN": ROLE}},
    }


# -- output ---------------------------------------------------------------------------------------


def _emitter(out: TextIO) -> Emit:
    def emit(event: str, **fields: Any) -> None:
        out.write(json.dumps({"event": event, **fields}, default=str) + "\n")
        out.flush()

    return emit


# -- the jobs -------------------------------------------------------------------------------------


async def _follow(name: str, job: Job[Any], summarize: Summary, emit: Emit, results: dict[str, Any]) -> Any:
    """Watch ``job`` to its end, printing every status; returns its result (None unless it succeeded)."""
    final: Any = None
    try:
        async for status in job.watch():
            progress = None if status.progress is None else round(status.progress, 3)
            emit("job.status", job=name, status=status.raw, progress=progress, message=status.message)
        final = await job
    except JobFailedError as exc:
        results[name] = {"status": exc.status, "failed": exc.error}
    else:
        assert job.status is not None  # a job that ended has a status
        results[name] = {**results.get(name, {}), "status": job.status.raw, **summarize(final)}
    emit("job.result", job=name, **results[name])
    return final


async def _stopped(sh: SentinelHub, job: Job[Any], emit: Emit, results: dict[str, Any]) -> None:
    """A cancelled job's waiters get JobCancelledError; the service says the request is STOPPED."""
    try:
        await job
    except JobCancelledError:
        cancelled = True
    else:
        cancelled = False
    remote = await sh.batch.get(job.id)
    results["stopped-batch"] = {
        "status": remote.status,
        "reason": remote.stopped_status_reason,
        "cancelled": cancelled,
    }
    emit("job.result", job="stopped-batch", **results["stopped-batch"])


async def _delivered(name: str, job: Job[Any], target: Path, emit: Emit, results: dict[str, Any]) -> None:
    """Download what the job delivers to its bucket, each file as soon as it appears (while it runs)."""
    files = size = resumed = 0
    async for got in job.download_each(target / name, concurrency=8):
        if isinstance(got, Failure):
            emit("job.output", job=name, key=got.item.name, failed=str(got.error))
            continue
        files, size, resumed = files + 1, size + got.bytes, resumed + got.resumes
        emit("job.output", job=name, path=got.path.relative_to(target).as_posix(), bytes=got.bytes)
    results.setdefault(name, {}).update(downloaded=files, downloaded_bytes=size, resumed=resumed)


def _can_read_stores(emit: Emit) -> bool:
    """Whether the s3 extra is installed (the README's demo command installs it)."""
    try:
        import obstore  # noqa: F401, PLC0415 - only whether it is there
    except ImportError:
        emit(
            "outputs.skipped",
            reason="reading the jobs' outputs needs the s3 extra: pip install 'eoclient[s3]'",
        )
        return False
    return True


def _batch_done(task: Any) -> dict[str, Any]:
    return {"completion": task.completion_percentage, "cost_pu": task.cost_pu}


def _async_done(delivery: Any) -> dict[str, Any]:
    """Where the outputs are; once read from the bucket (the s3 extra), what is there."""
    done: dict[str, Any] = {"outputs": sorted(delivery.outputs.values()), "verified": delivery.verified}
    if delivery.objects:
        done["bytes"] = sum(obj.size for obj in delivery.objects)
    return done


async def _features(name: str, job: Job[Any], emit: Emit, results: dict[str, Any]) -> None:
    """Each field's statistics, read from the bucket as the service writes them (while it runs).

    The first few are printed as they come; then how many, and their mean NDVI.
    """
    means: list[float] = []
    count = 0
    async for feature in job.results():
        count += 1
        stats = feature.statistics
        ndvi = [
            band.stats.mean
            for interval in stats.data
            for band in (interval.outputs.get("ndvi") or _NO_BANDS).bands.values()
            if band.stats is not None and band.stats.mean is not None
        ]
        mean = round(sum(ndvi) / len(ndvi), 3) if ndvi else None
        if mean is not None:
            means.append(mean)
        if count <= _SHOWN_FEATURES:
            emit("job.feature", job=name, feature=feature.feature, intervals=len(stats.data), mean_ndvi=mean)
    results.setdefault(name, {})["features"] = len(means)
    emit(
        "job.features",
        job=name,
        features=len(means),
        mean_ndvi=round(sum(means) / len(means), 3) if means else None,
    )


def _kraken_done(released: Any) -> dict[str, Any]:
    return {"map_id": released.map_id, "tiles": len(released.tiles)}


async def _submit(
    sh: SentinelHub, sk: SpaceKnow, scene_id: str, emit: Emit, *, read: bool
) -> dict[str, Job[Any]]:
    """Start every job, one after the other (their ids are then the same on every run of a seed).

    The request to be stopped comes last, so that nothing runs between its start and its stop.
    """
    stats = _batch_statistics_request
    jobs: dict[str, Job[Any]] = {
        "batch": await sh.batch.run(_batch_request("Summer true colour over Prague")),
        "async-process": await sh.async_process.create(_async_request(), read=read),
        "batch-statistics": await sh.batch_statistics.create(stats(NDVI, "fields"), start=True),
        "broken-evalscript": await sh.batch_statistics.create(stats(BROKEN_NDVI, "parcels"), start=True),
        "kraken": await sk.kraken.release(["trees"], [scene_id], AOI),
        "stopped-batch": await sh.batch.run(_batch_request("Started by mistake")),
    }
    for name, job in jobs.items():
        emit("job.submitted", job=name, kind=job.kind, id=job.id)
    return jobs


async def _resumed(  # noqa: PLR0917 - private, called from one place
    emu: Emulator,
    token: str,
    emit: Emit,
    results: dict[str, Any],
    make: Callable[..., SentinelHub],
    read: bool,
) -> None:
    """Follow a job from its resume token in a client of its own, as another process would."""
    async with make(emu) as other:
        job = other.resume_job(token)
        async with anyio.create_task_group() as tg:
            if read:
                tg.start_soon(_features, "batch-statistics", job, emit, results)
            await _follow(
                "batch-statistics", job, lambda task: {**_batch_done(task), "resumed": True}, emit, results
            )


# -- synchronous APIs, meanwhile --------------------------------------------------------------------


async def _render(sh: SentinelHub, items: list[Any], emit: Emit, out_dir: Path | None) -> dict[str, Any]:
    """One true-colour image per scene, rendered concurrently to disk under a processing-unit budget."""
    sh.budget = ProcessingBudget(pu_per_minute=3000, requests_per_minute=600)
    written: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="eoclient-demo-") as scratch:
        target = out_dir or Path(scratch)

        async def render(item_id: str, when: str) -> None:
            request = {
                "input": {
                    "bounds": {"geometry": AOI},
                    "data": [
                        {"type": "sentinel-2-l2a", "dataFilter": {"timeRange": {"from": when, "to": when}}}
                    ],
                },
                "output": {
                    "width": 512,
                    "height": 512,
                    "responses": [{"identifier": "default", "format": {"type": "image/tiff"}}],
                },
                "evalscript": TRUE_COLOR,
            }
            info = await sh.process_to_file(request, target / f"{item_id}.tif")
            written.append({"bytes": info.size, "pu": info.processing_units})

        async with anyio.create_task_group() as tg:
            for item in items:
                tg.start_soon(render, item.id, item.properties.get("datetime") or "2023-06-01T00:00:00Z")
    emit(
        "process.to_file",
        files=len(written),
        bytes=sum(w["bytes"] for w in written),
        directory=str(out_dir) if out_dir else "(temporary)",
    )
    return {"rendered": len(written), "pu_spent": round(sh.budget.spent, 3)}


def _can_make_arrays(emit: Emit) -> bool:
    """Whether the xarray extra is installed (the README's demo command installs it)."""
    try:
        import imagecodecs  # noqa: F401, PLC0415 - only whether they are there
        import numpy  # noqa: F401, PLC0415
        import tifffile  # noqa: F401, PLC0415
        import xarray  # noqa: F401, PLC0415
    except ImportError:
        emit(
            "arrays.skipped",
            reason="analysis-ready arrays need the xarray extra: pip install 'eoclient[xarray]'",
        )
        return False
    return True


async def _area(sh: SentinelHub, emit: Emit, out_dir: Path | None) -> dict[str, Any]:
    """A 6 km square around Prague at 10 m, rendered as four tiles and mosaicked into one GeoTIFF.

    The mosaic is read back as an xarray DataArray with its UTM coordinates and
    CRS; a PNG quicklook of the same area is kept beside it (with ``--out``).
    """
    request = {
        "input": {"data": S2},
        "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
        "evalscript": TRUE_COLOR,
    }
    with tempfile.TemporaryDirectory(prefix="eoclient-demo-") as scratch:
        target = out_dir or Path(scratch)
        result = await sh.process_area(
            request,
            PRAGUE,
            resolution=10,
            tile_pixels=320,
            work_dir=target / "area-tiles",
            path=target / "area.tif",
        )
        image = await anyio.to_thread.run_sync(read, target / "area.tif")
        quicklook = {
            "input": {"bounds": {"geometry": PRAGUE}, "data": S2},
            "output": {
                "width": 512,
                "height": 512,
                "responses": [{"identifier": "default", "format": {"type": "image/png"}}],
            },
            "evalscript": TRUE_COLOR,
        }
        await sh.process_to_file(quicklook, target / "quicklook.png")
    data = to_dataarray(image.array, image.georef, name="true-colour")
    ref = image.georef
    emit(
        "area.mosaic",
        tiles=len(result.split),
        dims=dict(data.sizes),
        crs=f"EPSG:{ref.crs}" if ref else None,
        bounds=[round(v, 1) for v in ref.bbox] if ref else None,
        band_means=[round(float(v), 1) for v in data.mean(dim=("y", "x")).values],
        pu=round(result.processing_units, 3),
        files=["area.tif", "quicklook.png"] if out_dir else "(temporary)",
    )
    return {"area_pixels": int(data.sizes["x"] * data.sizes["y"])}


async def _statistics(sh: SentinelHub, emit: Emit) -> dict[str, Any]:
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
    return {"stat_intervals": len(stats.data)}


async def _download_map(sk: SpaceKnow, released: Any, emit: Emit, out_dir: Path | None) -> dict[str, Any]:
    """Every tile of a released map, downloaded concurrently."""
    with tempfile.TemporaryDirectory(prefix="eoclient-demo-") as scratch:
        report = await sk.kraken.download_map(released, (out_dir or Path(scratch)) / "map", concurrency=16)
    emit(
        "kraken.download_map",
        map_id=released.map_id,
        tiles=len(released.tiles),
        files=len(report.files),
        bytes=report.bytes,
        failures=len(report.failures),
    )
    return {"map_tiles": len(released.tiles), "map_files": len(report.files)}


async def _searches(sh: SentinelHub, sk: SpaceKnow, emit: Emit) -> tuple[list[Any], str, dict[str, Any]]:
    """The scenes to render, the scene to analyse, and what SpaceKnow charged for a priced dry run."""
    items = await sh.catalog.search(
        "sentinel-2-l2a",
        bbox=[10.0, 45.0, 20.0, 52.0],
        datetime=("2023-04-01", "2023-09-30"),
        filter="eo:cloud_cover < 30",
        max_items=6,
    ).collect()
    emit("catalog.search", found=len(items), ids=[i.id for i in items])
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
    spent = round((before.remaining_credit or 0) - (after.remaining_credit or 0), 3)
    return items, scene_id, {"scenes": len(scenes), "credits_spent": spent}


def _misbehave(emu: Emulator) -> None:
    """The services misbehave while the jobs are polled: rate limits, 5xx, a proxy's page, expiry."""
    emu.faults.inject(
        "rate_limit", path_prefix="/api/v1/async/process/", method="GET", count=2, retry_after=0.05
    )
    emu.faults.inject("server_error", path_prefix="/api/v1/statistics/batch/", method="GET", status=503)
    emu.faults.inject("html_error", path_prefix="/api/v2/batch/process/", method="GET")
    emu.expire_tokens("sentinelhub")
    # ... and so does the bucket the jobs deliver to: a 503 SlowDown and a connection lost mid-object.
    emu.faults.inject("server_error", service="s3", method="GET", status=503)
    emu.faults.inject("drop", service="s3", method="GET", path_prefix="/eoclient-demo/batch/")


async def run_demo(
    *, seed: int = 1, clock_speed: float = 100.0, out: TextIO | None = None, out_dir: Path | None = None
) -> dict[str, Any]:
    """Run the demo; returns a summary (also printed as the last JSON line).

    Rendered files and map tiles go to ``out_dir`` when given, else to a
    temporary directory removed at the end.
    """
    emit = _emitter(out or sys.stdout)
    policies = {
        "retry": RetryPolicy(attempts=6, initial_backoff=0.02, max_backoff=0.2),
        "poll": PollPolicy(initial=0.01, max_delay=0.2),
    }

    def sentinelhub(emu: Emulator) -> SentinelHub:
        return sentinelhub_client(emu, **policies)

    async with Emulator(seed=seed, clock_speed=clock_speed) as emu:
        emit("emulator.started", sentinelhub=emu.sentinelhub_url, spaceknow=emu.spaceknow_url)
        async with sentinelhub(emu) as sh, spaceknow_client(emu, **policies) as sk:
            await sh.authenticate()
            await sk.authenticate()
            emit("login", services=["sentinelhub", "spaceknow"], token_requests=emu.token_requests())
            _misbehave(emu)

            items, scene_id, spaceknow = await _searches(sh, sk, emit)
            read = _can_read_stores(emit)
            arrays = _can_make_arrays(emit)
            jobs = await _submit(sh, sk, scene_id, emit, read=read)
            stopped = jobs.pop("stopped-batch")  # stopped at once, long before its analysis ends
            emit("job.cancel", job="stopped-batch", service_stopped=await stopped.cancel())
            results: dict[str, Any] = {}
            token = jobs.pop("batch-statistics").resume_token  # followed by another client
            emit("job.resume_token", job="batch-statistics", token=json.loads(token))

            sentinelhub_steps: dict[str, Any] = {"scenes": len(items)}

            async def kraken() -> None:
                released = await _follow("kraken", jobs["kraken"], _kraken_done, emit, results)
                spaceknow.update(await _download_map(sk, released, emit, out_dir))

            async def side(step: Awaitable[dict[str, Any]]) -> None:
                sentinelhub_steps.update(await step)

            scratch = tempfile.TemporaryDirectory(prefix="eoclient-demo-")
            target = out_dir or Path(scratch.name)
            async with anyio.create_task_group() as tg:
                tg.start_soon(_stopped, sh, stopped, emit, results)
                tg.start_soon(_follow, "batch", jobs["batch"], _batch_done, emit, results)
                if read:
                    tg.start_soon(_delivered, "batch", jobs["batch"], target, emit, results)
                tg.start_soon(_follow, "async-process", jobs["async-process"], _async_done, emit, results)
                tg.start_soon(
                    _follow, "broken-evalscript", jobs["broken-evalscript"], _batch_done, emit, results
                )
                tg.start_soon(_resumed, emu, token, emit, results, sentinelhub, read)
                tg.start_soon(kraken)
                tg.start_soon(side, _render(sh, items, emit, out_dir))
                tg.start_soon(side, _statistics(sh, emit))
                if arrays:
                    tg.start_soon(side, _area(sh, emit, out_dir))
            scratch.cleanup()

        faults = [r.fault for r in emu.requests if r.fault]
        summary = {
            "jobs": dict(sorted(results.items())),
            "sentinelhub": dict(sorted(sentinelhub_steps.items())),
            "spaceknow": dict(sorted(spaceknow.items())),
            "requests": len(emu.requests),
            "faults_survived": sorted(faults),
            "token_requests": emu.token_requests(),
        }
        emit("demo.done", **summary)
        return summary
