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
while a few hundred Catalog scenes are rendered concurrently under a
processing-unit budget, monthly NDVI statistics are computed and a 6 km square
is rendered as tiles and mosaicked.

Two ways to watch it: JSON lines (``json_lines=True``, for scripts and when
piped) or live progress and a summary table for a person (``json_lines=False``,
:mod:`eoclient.demo_view`, which needs rich from the ``cli`` extra). Either way
everything lands in one folder, ``out_dir`` or else a new temporary folder that
is kept (its path is printed) so ``report.html`` there can be opened after the
run (:mod:`eoclient.demo_report`); delete it when done.
"""

from __future__ import annotations

import contextlib
import csv
import importlib
import json
import math
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final, Protocol, TextIO

import anyio

from eoclient import Job, PollPolicy, ProcessingBudget, RetryPolicy, SentinelHub, SpaceKnow
from eoclient.arrays import read, to_dataarray
from eoclient.bulk import Downloaded, Failure
from eoclient.demo_report import DemoRecord, write_report
from eoclient.emulator import Emulator
from eoclient.emulator.clients import sentinelhub_client, spaceknow_client
from eoclient.errors import ConfigurationError, JobCancelledError, JobFailedError, ValidationError
from eoclient.sentinelhub.statistics_models import OutputStatistics
from eoclient.tables import STATISTICS_COLUMNS, statistics_frame, statistics_rows

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
_TABLE_HEAD: Final = 8  # rows of the statistics table shown in the report
EUROPE: Final = [-10.0, 35.0, 30.0, 60.0]
WINDOW: Final = 0.05  # degrees either side of a scene's centre that its thumbnail shows
RENDER_BUDGET_PU: Final = 180  # spreads the renders over a few seconds, so job polls get their turn
THUMBNAIL: Final = 96  # pixels a side: small, so a few hundred render in a couple of seconds
INSTALL_CLI: Final = "pip install 'eoclient[cli]'"
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


class Sink(Protocol):
    """Where the tour reports: its events (as JSON lines or for a person) and progress counts."""

    def event(self, name: str, **fields: Any) -> None: ...
    def tick(self, step: str, done: int, total: int | None = None) -> None: ...


class _JsonLines:
    """One JSON object per event on ``out``; progress counts are not printed (the events say enough)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def event(self, name: str, **fields: Any) -> None:
        self.out.write(json.dumps({"event": name, **fields}, default=str) + "\n")
        self.out.flush()

    def tick(self, step: str, done: int, total: int | None = None) -> None:
        pass


class _Run:
    """Passes the tour's events on to its sink, and keeps what the report shows of them."""

    def __init__(self, sink: Sink, record: DemoRecord) -> None:
        self.sink = sink
        self.record = record
        self.started = time.monotonic()
        self.rendering = 0.0  # seconds from the first render's request to the last one's file

    def event(self, name: str, **fields: Any) -> None:
        job = fields.get("job")
        state = {"job.submitted": "SUBMITTED", "job.status": fields.get("status")}.get(name)
        if name == "job.result":
            state = fields.get("status")
        if job is not None and state is not None:
            states = self.record.timelines.setdefault(job, [])
            if not states or states[-1][1] != state:  # a state is seen on many polls: keep when it began
                states.append((round(time.monotonic() - self.started, 3), str(state)))
        self.sink.event(name, **fields)

    def tick(self, step: str, done: int, total: int | None = None) -> None:
        self.sink.tick(step, done, total)


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


async def _delivered(name: str, job: Job[Any], target: Path, run: _Run, results: dict[str, Any]) -> None:
    """Download what the job delivers to its bucket, each file as soon as it appears (while it runs)."""
    files = size = resumed = 0
    async for got in job.download_each(target / name, concurrency=8):
        if isinstance(got, Failure):
            run.event("job.output", job=name, key=got.item.name, failed=str(got.error))
            continue
        files, size, resumed = files + 1, size + got.bytes, resumed + got.resumes
        run.event("job.output", job=name, path=got.path.relative_to(target).as_posix(), bytes=got.bytes)
        run.tick(f"{name} outputs", files, None)
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


async def _features(name: str, job: Job[Any], run: _Run, results: dict[str, Any]) -> None:
    """Each field's statistics, read from the bucket as the service writes them (while it runs).

    The first few are printed as they come; then how many, and their mean NDVI.
    All of them become a table (:func:`_table`).
    """
    emit = run.event
    means: list[float] = []
    answers: list[Any] = []
    count = 0
    async for feature in job.results():
        count += 1
        answers.append(feature)
        run.tick("features", count, None)
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
    await anyio.to_thread.run_sync(_table, answers, run.record)


def _table(answers: list[Any], record: DemoRecord) -> None:
    """The features' statistics as one table in ``batch-statistics.csv``; NDVI per interval for the chart.

    The rows are :func:`eoclient.tables.statistics_rows` (one per feature x
    interval x band x statistic); with pandas installed the file is written
    from the typed DataFrame (:func:`eoclient.tables.statistics_frame`).
    """
    columns = ("feature", *STATISTICS_COLUMNS)
    rows = [(f.feature, *row) for f in answers for row in statistics_rows(f.statistics)]
    path = record.out_dir / "batch-statistics.csv"
    try:
        importlib.import_module("pandas")
    except ImportError:
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(columns)
            writer.writerows(rows)
    else:
        statistics_frame(answers).to_csv(path, index=False)
    by_interval: dict[str, list[float]] = {}
    for row in rows:
        record_ = dict(zip(columns, row, strict=True))
        if (
            record_["output"] == "ndvi"
            and record_["statistic"] == "mean"
            and not math.isnan(record_["value"])
        ):
            by_interval.setdefault(record_["interval_from"].date().isoformat(), []).append(record_["value"])
    record.ndvi = [(day, sum(v) / len(v)) for day, v in sorted(by_interval.items())]
    record.table = Path(path.name)
    record.table_head = [list(columns)] + [
        ["" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v) for v in row]
        for row in rows[:_TABLE_HEAD]
    ]


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
    run: _Run,
    results: dict[str, Any],
    make: Callable[..., SentinelHub],
    read: bool,
) -> None:
    """Follow a job from its resume token in a client of its own, as another process would."""
    async with make(emu) as other:
        job = other.resume_job(token)
        async with anyio.create_task_group() as tg:
            if read:
                tg.start_soon(_features, "batch-statistics", job, run, results)
            await _follow(
                "batch-statistics",
                job,
                lambda task: {**_batch_done(task), "resumed": True},
                run.event,
                results,
            )


# -- synchronous APIs, meanwhile --------------------------------------------------------------------


def _window(bbox: list[float]) -> list[float]:
    """About 7 km x 7 km at the scene's centre: at thumbnail size, a whole scene is only texture."""
    lon, lat = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    return [lon - WINDOW, lat - WINDOW * 0.7, lon + WINDOW, lat + WINDOW * 0.7]


async def _render(sh: SentinelHub, items: list[Any], run: _Run, target: Path) -> dict[str, Any]:
    """A small true-colour PNG of every scene's centre, all requested at once under a processing-unit budget.

    The budget (far below what the scenes cost at once) paces them: the client
    waits for its processing units instead of collecting the service's 429s.
    """
    sh.budget = ProcessingBudget(pu_per_minute=RENDER_BUDGET_PU, requests_per_minute=60_000, pu_burst=1)
    folder = target / "renders"
    written: list[dict[str, Any]] = []

    async def render(item: Any) -> None:
        when = item.properties.get("datetime") or "2023-06-01T00:00:00Z"
        request = {
            "input": {
                "bounds": {"bbox": _window(item.bbox)} if item.bbox else {"geometry": AOI},
                "data": [{"type": "sentinel-2-l2a", "dataFilter": {"timeRange": {"from": when, "to": when}}}],
            },
            "output": {
                "width": THUMBNAIL,
                "height": THUMBNAIL,
                "responses": [{"identifier": "default", "format": {"type": "image/png"}}],
            },
            "evalscript": TRUE_COLOR,
        }
        path = folder / f"{item.id}.png"
        info = await sh.process_to_file(request, path)
        written.append({"bytes": info.size, "pu": info.processing_units})
        run.record.renders.append(path.relative_to(target))
        run.tick("render", len(written), len(items))

    run.tick("render", 0, len(items))
    began = time.monotonic()
    async with anyio.create_task_group() as tg:
        for item in items:
            tg.start_soon(render, item)
    run.record.renders.sort()
    run.rendering = time.monotonic() - began
    run.event(
        "process.to_file",
        files=len(written),
        bytes=sum(w["bytes"] for w in written),
        directory=str(folder),
    )
    # The renders' own units: the budget also pays for the statistics and the area running meanwhile.
    spent = sum(sorted(w["pu"] or 0.0 for w in written))  # sorted: the same sum whatever the order
    return {"rendered": len(written), "pu_spent": round(spent, 3)}


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


async def _area(sh: SentinelHub, run: _Run, target: Path) -> dict[str, Any]:
    """A 6 km square around Prague at 10 m, rendered as four tiles and mosaicked into one GeoTIFF.

    The mosaic is read back as an xarray DataArray with its UTM coordinates and
    CRS; a PNG quicklook of the same area is kept beside it.
    """
    request = {
        "input": {"data": S2},
        "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
        "evalscript": TRUE_COLOR,
    }
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
    run.record.quicklook = Path("quicklook.png")
    data = to_dataarray(image.array, image.georef, name="true-colour")
    ref = image.georef
    run.event(
        "area.mosaic",
        tiles=len(result.split),
        dims=dict(data.sizes),
        crs=f"EPSG:{ref.crs}" if ref else None,
        bounds=[round(v, 1) for v in ref.bbox] if ref else None,
        band_means=[round(float(v), 1) for v in data.mean(dim=("y", "x")).values],
        pu=round(result.processing_units, 3),
        files=["area.tif", "quicklook.png"],
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


async def _download_map(sk: SpaceKnow, released: Any, run: _Run, target: Path) -> dict[str, Any]:
    """Every tile of a released map, downloaded concurrently; its PNG tiles are kept for the report."""
    folder = target / "map"
    done = 0

    def arrived(got: Downloaded | Failure) -> None:
        nonlocal done
        done += 1
        run.tick("kraken map", done, None)
        if isinstance(got, Downloaded) and got.path.suffix == ".png":
            z, x, y = (int(part) for part in got.path.relative_to(folder).parts[:3])
            run.record.map_tiles[(z, x, y)] = got.path.relative_to(target)

    report = await sk.kraken.download_map(released, folder, concurrency=16, on_item=arrived)
    run.event(
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
        bbox=EUROPE,
        datetime=("2023-01-01", "2023-12-31"),
        filter="eo:cloud_cover < 30",
        max_items=400,
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


def _checked_dir(out_dir: Path | None) -> Path:
    """The folder everything goes to: ``out_dir``, else a new temporary one (kept: the report is there)."""
    if out_dir is None:
        return Path(tempfile.mkdtemp(prefix="eoclient-demo-"))
    if out_dir.exists() and not out_dir.is_dir():
        raise ValidationError("out_dir", f"{out_dir} exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def _sink(out: TextIO, json_lines: bool) -> Any:
    """JSON lines, or the live view for a person (which needs rich, from the cli extra)."""
    if json_lines:
        return _JsonLines(out)
    try:
        from eoclient.demo_view import LiveView  # noqa: PLC0415 - rich is optional: load only when asked
    except ImportError:
        raise ConfigurationError(f"live progress needs rich: {INSTALL_CLI}") from None
    return LiveView(out)


def _facts(summary: dict[str, Any], target: Path, run: _Run, faults: list[str]) -> dict[str, str]:
    """The run's totals as a person reads them (for the summary table and the report)."""
    files = [p for p in target.rglob("*") if p.is_file() and p.suffix != ".part"]
    sh, sk = summary["sentinelhub"], summary["spaceknow"]
    features = summary["jobs"].get("batch-statistics", {}).get("features", 0)
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(Counter(faults).items()))
    return {
        "items": f"{sh['scenes']} Catalog scenes, {sk['scenes']} SpaceKnow scenes, {features} fields",
        "renders": (
            f"{sh.get('rendered', 0)} images in {run.rendering:.1f} s, {sh.get('pu_spent', 0)} processing"
            f" units under a budget of {RENDER_BUDGET_PU} a minute"
        ),
        "jobs": ", ".join(f"{name} {job['status']}" for name, job in summary["jobs"].items()),
        "files": f"{len(files)} in {target}",
        "bytes": f"{sum(p.stat().st_size for p in files):,}",
        "time": f"{time.monotonic() - run.started:.1f} s",
        "retries survived": f"{len(faults)} injected faults ({kinds or 'none'})",
        "requests": str(summary["requests"]),
    }


async def run_demo(
    *,
    seed: int = 1,
    clock_speed: float = 100.0,
    out: TextIO | None = None,
    out_dir: Path | None = None,
    json_lines: bool = True,
) -> dict[str, Any]:
    """Run the demo; returns a summary (also the last JSON line with ``json_lines``).

    ``json_lines=True`` prints one JSON object per step on ``out`` (default
    stdout); ``json_lines=False`` shows live progress there instead and ends
    with a summary table (this needs rich: ``pip install 'eoclient[cli]'``).
    Everything goes into ``out_dir`` (created if needed), else into a new
    temporary folder that is kept and named at the end: both hold
    ``report.html``. Raises :class:`~eoclient.errors.ValidationError` for a
    clock speed that is not a positive number or an ``out_dir`` that is a file,
    before anything starts.
    """
    if not (isinstance(clock_speed, int | float) and math.isfinite(clock_speed) and clock_speed > 0):
        raise ValidationError("clock_speed", f"must be a positive number, got {clock_speed!r}")
    stream = out or sys.stdout
    sink = _sink(stream, json_lines)
    target = _checked_dir(out_dir)
    run = _Run(sink, DemoRecord(target))
    view = contextlib.nullcontext() if json_lines else sink
    with view:
        summary, faults = await _tour(run, seed, clock_speed, target)
        run.record.facts = _facts(summary, target, run, faults)
        report = await anyio.to_thread.run_sync(write_report, run.record)
        run.event("report", path=str(report), directory=str(target))
        run.event("demo.done", **summary)
    if not json_lines:
        sink.finish(run.record.facts, target, report)
    return summary


async def _tour(run: _Run, seed: int, clock_speed: float, target: Path) -> tuple[dict[str, Any], list[str]]:
    """The demo's steps against a new emulator; returns the summary and the faults survived."""
    emit = run.event
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
                spaceknow.update(await _download_map(sk, released, run, target))

            async def side(step: Awaitable[dict[str, Any]]) -> None:
                sentinelhub_steps.update(await step)

            async with anyio.create_task_group() as tg:
                tg.start_soon(_stopped, sh, stopped, emit, results)
                tg.start_soon(_follow, "batch", jobs["batch"], _batch_done, emit, results)
                if read:
                    tg.start_soon(_delivered, "batch", jobs["batch"], target, run, results)
                tg.start_soon(_follow, "async-process", jobs["async-process"], _async_done, emit, results)
                tg.start_soon(
                    _follow, "broken-evalscript", jobs["broken-evalscript"], _batch_done, emit, results
                )
                tg.start_soon(_resumed, emu, token, run, results, sentinelhub, read)
                tg.start_soon(kraken)
                tg.start_soon(side, _render(sh, items, run, target))
                tg.start_soon(side, _statistics(sh, emit))
                if arrays:
                    tg.start_soon(side, _area(sh, run, target))

        faults = [r.fault for r in emu.requests if r.fault]
        summary = {
            "jobs": dict(sorted(results.items())),
            "sentinelhub": dict(sorted(sentinelhub_steps.items())),
            "spaceknow": dict(sorted(spaceknow.items())),
            "requests": len(emu.requests),
            "faults_survived": sorted(faults),
            "token_requests": emu.token_requests(),
        }
        return summary, faults
