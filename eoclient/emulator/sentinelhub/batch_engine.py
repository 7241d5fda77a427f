"""The emulated batch request: one state machine behind the v2 and the legacy Batch API routes.

A request is CREATED until the user acts; each action (ANALYSE, START, STOP or
CANCEL, RESTARTPARTIAL) settles the current state and, where work follows,
schedules a *segment* on the job engine (``state.jobs``, kind ``sh_batch``) on
the accelerated clock: ANALYSING for :data:`ANALYSIS_SECONDS`, PROCESSING for
:data:`PROCESSING_SECONDS` for the whole request (a resumed or restarted one
only for the work left). Nothing runs in the background: the state is
computed from the clock whenever a request is looked at.

Transitions (anything else is a 400 naming the status):

* ANALYSE: only from CREATED.
* START: from CREATED (analysis runs first), ANALYSIS_DONE, or (v2) STOPPED,
  which resumes where it stopped. During an analysis that ANALYSE started, 400.
* STOP (v2) / CANCEL (legacy): while ANALYSING, ANALYSIS_DONE or PROCESSING;
  the request is then STOPPED (``stoppedStatusReason`` USER_ACTION) / CANCELED.
* RESTARTPARTIAL (legacy): only from PARTIAL; the failed tiles run again.

Outcomes follow the request's ``description`` (case-insensitive), so a test
picks one deterministically:

* ``analysis-fail``: the analysis FAILS;
* ``fail``: processing FAILS halfway;
* ``partial``: a quarter of the tiles (at least one) fail: legacy PARTIAL; v2
  has no such status and ends DONE with an ``error`` saying how many failed;
* anything else: DONE.

A request whose output bucket cannot be written (``bucket_error``, checked
by the ANALYSE/START routes against the delivery store) fails its analysis
with that error, or, when no analysis runs, halfway through processing.

The analysis computes the tile count of the grid over the bounds (degrees
converted to metres near the area's latitude), the tile size in pixels, and
a cost estimate (512 x 512 px = 1 PU, x collections, / 3 for batch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler

from eoclient.emulator.core.deliveries import deliveries_of
from eoclient.emulator.core.jobs import Job, Phase
from eoclient.emulator.core.refusal import Refusal, invalid
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.sentinelhub.outputs import BatchOutputs, batch_buckets
from eoclient.emulator.sentinelhub.process.evalscript import script_outputs
from eoclient.emulator.sentinelhub.process.validation import parse_bounds, parse_data
from eoclient.emulator.sentinelhub.tiling_grids import GRIDS

__all__ = [
    "ANALYSIS_SECONDS",
    "PROCESSING_SECONDS",
    "BatchRecord",
    "BatchStore",
    "Snapshot",
    "action_handler",
    "add_record",
    "batch_store",
    "buffers_of",
    "check_description",
    "check_process_request",
    "find_record",
    "grid_of",
    "iso",
    "sorted_records",
    "tiling",
]

ANALYSIS_SECONDS: Final = 20.0
"""Emulated seconds an analysis takes."""
PROCESSING_SECONDS: Final = 60.0
"""Emulated seconds processing a whole request takes."""
KIND: Final = "sh_batch"
GEOPACKAGE_TILES: Final = 4  # features of an emulated GeoPackage
_MAX_TILES: Final = 10_000
_METRES_PER_DEGREE: Final = 111_320.0
SORTS: Final = ("created", "created:desc", "status", "status:desc")
BATCH_FORMATS: Final = frozenset({"image/tiff", "application/json", "zarr/array"})


def iso(epoch: float) -> str:
    """Emulated epoch seconds as ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Snapshot:
    """A request at one instant: status, share of tiles done (0..1), error text."""

    status: str
    fraction: float
    error: str | None
    analysed: bool


@dataclass
class BatchRecord:
    """One emulated batch request (``api`` is ``"v2"`` or ``"v1"``)."""

    id: str
    api: str
    body: dict[str, Any]
    created: float
    tiles: int
    tile_width_px: int
    tile_height_px: int
    estimate: float
    grid_columns: int
    extent: tuple[float, float, float, float]
    status: str = "CREATED"
    fraction: float = 0.0
    analysed: bool = False
    error: str | None = None
    failed_tiles: int = 0
    segment: Job | None = None
    user_action: str = "NONE"
    user_action_at: float | None = None
    stopped_reason: str | None = None
    updated: float = 0.0
    bucket_error: str | None = None

    @property
    def stopped(self) -> str:
        """The name of the stopped state on this request's API."""
        return "STOPPED" if self.api == "v2" else "CANCELED"

    @property
    def description(self) -> str:
        value = self.body.get("description")
        return value if isinstance(value, str) else ""

    # -- looking -------------------------------------------------------------------------

    def snapshot(self, now: float) -> Snapshot:
        """The request's state at emulated time ``now`` (no change is made)."""
        seg = self.segment
        if seg is None:
            return Snapshot(self.status, self.fraction, self.error, self.analysed)
        view = seg.view(now)
        data = seg.data
        lead = ANALYSIS_SECONDS if data["analysis"] else 0.0
        if view.cancelled:
            assert seg.cancelled_at is not None
            elapsed = seg.cancelled_at - seg.created_at
            return Snapshot(
                self.stopped, self._done(data, elapsed - lead), None, self.analysed or elapsed >= lead
            )
        if not view.terminal:
            done = self._done(data, view.elapsed - lead) if view.state == "PROCESSING" else data["start"]
            return Snapshot(view.state, done, None, self.analysed or view.state == "PROCESSING")
        if view.state == "ANALYSIS_DONE":
            return Snapshot("ANALYSIS_DONE", self.fraction, None, True)
        if view.state == "FAILED":
            done = self._done(data, seg.duration - lead) if data["process"] else self.fraction
            return Snapshot("FAILED", done, view.error, self.analysed or data["process"])
        error = view.error if data["partial"] else None
        return Snapshot(view.state, 1.0, error, True)

    def _done(self, data: dict[str, Any], processing: float) -> float:
        start: float = data["start"]
        return min(1.0, start + max(0.0, processing) / PROCESSING_SECONDS)

    def settle(self, now: float) -> Snapshot:
        """Fold a finished or stopped segment into the record; returns the snapshot."""
        snap = self.snapshot(now)
        seg = self.segment
        if seg is not None and seg.view(now).terminal:
            self.status, self.fraction, self.error, self.analysed = (
                snap.status,
                snap.fraction,
                snap.error,
                snap.analysed,
            )
            if snap.status == "PARTIAL" or (snap.status == "DONE" and snap.error):
                self.failed_tiles = seg.data["failed"]
            self.segment = None
            self.updated = now
        return snap

    # -- acting --------------------------------------------------------------------------

    def _act(self, action: str, now: float) -> None:
        self.user_action = action
        self.user_action_at = now
        self.updated = now

    def _schedule(
        self, state: EmulatorState, *, analysis: bool, process: bool, restart: bool = False
    ) -> None:
        text = self.description.lower()
        phases: list[Phase] = []
        outcome, error, partial, failed = "ANALYSIS_DONE", None, False, 0
        if analysis:
            phases.append(Phase("ANALYSING", ANALYSIS_SECONDS, "analysing"))
            if self.bucket_error is not None:
                outcome, error, process = "FAILED", self.bucket_error, False
            elif "analysis-fail" in text:
                outcome, error, process = (
                    "FAILED",
                    "Analysis failed: no data in the requested area (emulated)",
                    False,
                )
        if process:
            left = (1.0 - self.fraction) * PROCESSING_SECONDS
            if restart:
                left = self.failed_tiles / self.tiles * PROCESSING_SECONDS
            if ("fail" in text and not restart) or self.bucket_error is not None:
                phases.append(Phase("PROCESSING", left / 2, "processing"))
                outcome = "FAILED"
                error = (
                    self.bucket_error
                    or "Processing failed: the evalscript raised an error on every tile (emulated)"
                )
            else:
                phases.append(Phase("PROCESSING", left, "processing"))
                outcome = "DONE"
                if "partial" in text and not restart:
                    failed = max(1, self.tiles // 4)
                    partial = True
                    outcome = "PARTIAL" if self.api == "v1" else "DONE"
                    error = f"{failed} of {self.tiles} tiles failed to process (emulated)"
        start = 1.0 - self.failed_tiles / self.tiles if restart else self.fraction
        self.segment = state.jobs.create(
            KIND,
            phases,
            outcome,
            error=error,
            data={
                "record": self.id,
                "analysis": analysis,
                "process": process,
                "start": start,
                "partial": partial,
                "failed": failed,
            },
        )
        if restart:
            self.fraction = start
            self.failed_tiles = 0
            self.error = None

    def analyse(self, state: EmulatorState) -> None:
        now = state.clock.now()
        snap = self.settle(now)
        if self.segment is not None or snap.status != "CREATED":
            raise Refusal(400, None, f"Batch request {self.id} cannot be analysed in status {snap.status}")
        self._act("ANALYSE", now)
        self._schedule(state, analysis=True, process=False)

    def start(self, state: EmulatorState) -> None:
        now = state.clock.now()
        snap = self.settle(now)
        if self.segment is not None:
            if snap.status == "ANALYSING":
                raise Refusal(
                    400,
                    None,
                    f"Batch request {self.id} is being analysed; start it once its status is ANALYSIS_DONE",
                )
            raise Refusal(400, None, f"Batch request {self.id} is already {snap.status}")
        resumable = self.api == "v2" and snap.status == "STOPPED"  # the legacy CANCELED is final
        if snap.status == "CREATED" or (resumable and not self.analysed):
            analysis = True
        elif snap.status == "ANALYSIS_DONE" or resumable:
            analysis = False
        else:
            raise Refusal(400, None, f"Batch request {self.id} cannot be started in status {snap.status}")
        self._act("START", now)
        self.stopped_reason = None
        self._schedule(state, analysis=analysis, process=True)

    def stop(self, state: EmulatorState) -> None:
        now = state.clock.now()
        snap = self.settle(now)
        action = "STOP" if self.api == "v2" else "CANCEL"
        if self.segment is not None:
            self.segment.cancel(self.stopped, now)
        elif snap.status == "ANALYSIS_DONE":
            self.status = self.stopped
        else:
            raise Refusal(400, None, f"Batch request {self.id} cannot be stopped in status {snap.status}")
        self._act(action, now)
        self.stopped_reason = "USER_ACTION"
        self.settle(now)

    def restart_partial(self, state: EmulatorState) -> None:
        now = state.clock.now()
        snap = self.settle(now)
        if snap.status != "PARTIAL":
            raise Refusal(
                400, None, f"Only PARTIAL requests can be restarted; batch request {self.id} is {snap.status}"
            )
        self._act("START", now)
        self._schedule(state, analysis=False, process=True, restart=True)

    def busy(self, now: float) -> bool:
        """Being analysed or processed (or waiting to be): the request cannot be changed."""
        snap = self.snapshot(now)
        return snap.status in ("ANALYSING", "PROCESSING")

    def check_updatable(self, now: float) -> None:
        """Settle the request before it is changed; 409 while it is :meth:`busy`."""
        self.settle(now)
        if self.busy(now):
            raise Refusal(
                409, None, f"Batch request {self.id} is {self.snapshot(now).status} and cannot be updated"
            )

    # -- tiles ---------------------------------------------------------------------------

    def tile_status(self, index: int, snap: Snapshot) -> str | None:
        """The status of tile ``index`` (``None``: no tiles before the analysis)."""
        if not snap.analysed:
            return None
        done = int(snap.fraction * self.tiles + 1e-9)
        failed_from = self.tiles - (self.failed_tiles or (self.segment.data["failed"] if self.segment else 0))
        if snap.status in ("DONE", "PARTIAL"):
            return "FAILED" if snap.status == "PARTIAL" and index >= failed_from else "PROCESSED"
        if index < done:
            # The failing tiles (the last ones) fail when they are reached: PROCESSED is final.
            return "FAILED" if index >= failed_from else "PROCESSED"
        if snap.status == "PROCESSING":
            return "PROCESSING" if index == done else "QUEUED"
        if snap.status == "FAILED":
            return "FAILED"
        return "PENDING"

    def tile_geometry(self, index: int) -> dict[str, Any]:
        """The WGS84 polygon of tile ``index``: a cell of the request's extent."""
        x0, y0, x1, y1 = self.extent
        cols = self.grid_columns
        rows = max(1, math.ceil(self.tiles / cols))
        col, row = index % cols, index // cols
        w, h = (x1 - x0) / cols, (y1 - y0) / rows
        ax, ay = x0 + col * w, y0 + row * h
        ring = [[ax, ay], [ax + w, ay], [ax + w, ay + h], [ax, ay + h], [ax, ay]]
        return {"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]}


@dataclass
class BatchStore:
    """Every emulated batch request (both APIs) and legacy batch collection."""

    account_id: str
    user_id: str
    records: dict[str, BatchRecord] = field(default_factory=dict)
    collections: dict[str, dict[str, Any]] = field(default_factory=dict)
    default_page: int = 5


def batch_store(state: EmulatorState) -> BatchStore:
    """The batch store of this emulator (``state.stores["sh_batch"]``)."""
    return state.store(
        "sh_batch", lambda: BatchStore(account_id=state.jobs.new_id(), user_id=state.jobs.new_id())
    )


# -- tiling ------------------------------------------------------------------------------


def grid_of(grid_id: Any, resolution: Any, prefix: str) -> dict[str, Any]:
    """The emulated tiling grid ``grid_id``, checking that it offers ``resolution``."""
    if isinstance(grid_id, bool) or not isinstance(grid_id, int):
        raise invalid(f"{prefix}->id", grid_id, "must be an integer")
    grid = next((g for g in GRIDS if g["id"] == grid_id), None)
    if grid is None:
        raise invalid(f"{prefix}->id", grid_id, f"tiling grid {grid_id} does not exist")
    if isinstance(resolution, bool) or not isinstance(resolution, int | float):
        raise invalid(f"{prefix}->resolution", resolution, "must be a number")
    offered: list[float] = grid["properties"]["resolutions"]
    if not any(abs(r - resolution) < 1e-9 * max(1.0, r) for r in offered):
        raise invalid(
            f"{prefix}->resolution", resolution, f"tiling grid {grid_id} supports resolutions {offered}"
        )
    return grid


def _is_degrees(bounds: dict[str, Any]) -> bool:
    props = bounds.get("properties")
    crs = props.get("crs") if isinstance(props, dict) else None
    return crs is None or str(crs).endswith(("CRS84", "/4326"))


def tiling(
    process_request: dict[str, Any],
    grid: dict[str, Any] | None,
    resolution: float | None,
    buffers: tuple[int, int],
    *,
    bounds_required: bool = True,
) -> dict[str, Any]:
    """Tile count, tile size in pixels, estimate, columns and WGS84-ish extent of a request."""
    inp = process_request.get("input") if isinstance(process_request.get("input"), dict) else {}
    assert isinstance(inp, dict)
    bounds = inp.get("bounds")
    data = inp.get("data") if isinstance(inp.get("data"), list) else []
    assert isinstance(data, list)
    if bounds is None and not bounds_required:
        extent, degrees = (0.0, 0.0, 1.0, 1.0), True
    else:
        extent = parse_bounds(bounds, "processRequest->input->bounds")
        assert isinstance(bounds, dict)
        degrees = _is_degrees(bounds)
    if grid is None or resolution is None:  # GeoPackage features
        tiles, columns, width_px, height_px = GEOPACKAGE_TILES, 2, 512, 512
    else:
        props = grid["properties"]
        w, h = extent[2] - extent[0], extent[3] - extent[1]
        if props["unit"] == "METRE" and degrees:
            lat = math.radians((extent[1] + extent[3]) / 2)
            w, h = w * _METRES_PER_DEGREE * max(math.cos(lat), 0.01), h * _METRES_PER_DEGREE
        elif props["unit"] == "DEGREE" and not degrees:
            w, h = w / _METRES_PER_DEGREE, h / _METRES_PER_DEGREE
        columns = max(1, math.ceil(w / props["tileWidth"] - 1e-9))
        rows = max(1, math.ceil(h / props["tileHeight"] - 1e-9))
        tiles = min(_MAX_TILES, columns * rows)
        width_px = round(props["tileWidth"] / resolution) + 2 * buffers[0]
        height_px = round(props["tileHeight"] / resolution) + 2 * buffers[1]
    estimate = tiles * width_px * height_px / (512 * 512) * max(1, len(data)) / 3
    if not degrees:  # tile geometries are shown in WGS84: keep them on the globe
        extent = (0.0, 0.0, 1.0, 1.0)
    return {
        "tiles": tiles,
        "tile_width_px": width_px,
        "tile_height_px": height_px,
        "estimate": round(estimate, 3),
        "grid_columns": columns,
        "extent": extent,
    }


def buffers_of(grid: dict[str, Any], prefix: str) -> tuple[int, int]:
    """``bufferX``/``bufferY`` of a grid setting (0 when absent)."""
    out = []
    for name in ("bufferX", "bufferY"):
        value = grid.get(name, 0) or 0
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 32767:
            raise invalid(f"{prefix}->{name}", value, "must be an integer between 0 and 32767")
        out.append(value)
    return out[0], out[1]


# -- shared by the v2 and the legacy routes ------------------------------------------------


def check_process_request(value: Any, *, zarr: bool, bounds_required: bool) -> dict[str, Any]:
    """The ``processRequest`` of a batch body (both APIs)."""
    if not isinstance(value, dict):
        raise invalid("processRequest", value, "must not be null")
    script = value.get("evalscript")
    if not isinstance(script, str) or not script.strip():
        raise invalid("processRequest->evalscript", script, "must not be blank")
    script_outputs(script)  # an unknown sampleType is refused
    inp = value.get("input")
    if not isinstance(inp, dict):
        raise invalid("processRequest->input", inp, "must not be null")
    parse_data(inp.get("data"), "processRequest->input->data")
    if inp.get("bounds") is None and bounds_required:
        raise invalid("processRequest->input->bounds", None, "must not be null")
    output = value.get("output")
    if not isinstance(output, dict):
        raise invalid("processRequest->output", output, "must not be null")
    responses = output.get("responses") or []
    if not isinstance(responses, list):
        raise invalid("processRequest->output->responses", responses, "must be an array")
    for i, response in enumerate(responses):
        where = f"processRequest->output->responses[{i}]->format"
        fmt = response.get("format") if isinstance(response, dict) else None
        media = fmt.get("type") if isinstance(fmt, dict) else None
        if media not in BATCH_FORMATS:
            raise invalid(where, media, f"must be one of {', '.join(sorted(BATCH_FORMATS))}")
        if zarr != (media == "zarr/array"):
            text = "Zarr output needs zarr/array responses" if zarr else "zarr/array needs Zarr output"
            raise invalid(where, media, text)
    return value


async def _bucket_error(state: EmulatorState, record: BatchRecord) -> str | None:
    deliveries = deliveries_of(state)
    for bucket in batch_buckets(record):
        error = await deliveries.bucket_error(bucket)
        if error is not None:
            return error
    return None


def check_description(body: dict[str, Any]) -> str | None:
    """The body's optional ``description`` (the outcome triggers read it); 400 unless a string."""
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise invalid("description", description, "must be a string")
    return description


def add_record(state: EmulatorState, api: str, body: dict[str, Any], figures: dict[str, Any]) -> BatchRecord:
    """Store a checked ``body`` of ``api`` as a new request, created now, whose tiles get delivered."""
    now = state.clock.now()
    record = BatchRecord(id=state.jobs.new_id(), api=api, body=body, created=now, updated=now, **figures)
    batch_store(state).records[record.id] = record
    deliveries_of(state).register(BatchOutputs(record))
    return record


def find_record(request: web.Request, api: str) -> BatchRecord:
    """The record named by the URL's ``{id}`` on ``api``; 404 otherwise."""
    store = batch_store(get_state(request))
    ident = request.match_info["id"]
    record = store.records.get(ident)
    if record is None or record.api != api:
        raise Refusal(404, None, f"Batch request {ident} not found")
    return record


def action_handler(api: str, method: str) -> Handler:
    """The ``POST .../{id}/<action>`` route of ``api``: call the record's ``method``, answer 204."""

    async def act(request: web.Request) -> web.Response:
        record = find_record(request, api)
        state = get_state(request)
        if method in ("analyse", "start", "restart_partial"):
            # The service checks the output bucket before it works; one it cannot write fails the request.
            record.bucket_error = await _bucket_error(state, record)
        getattr(record, method)(state)
        return web.Response(status=204)

    act.__name__ = f"_{method}"
    return act


_STATUS_ORDER: Final = {
    s: i
    for i, s in enumerate(
        (
            "CREATED",
            "ANALYSING",
            "ANALYSIS_DONE",
            "PROCESSING",
            "DONE",
            "PARTIAL",
            "FAILED",
            "STOPPED",
            "CANCELED",
        )
    )
}


def sorted_records(records: list[BatchRecord], sort: str | None, now: float) -> list[BatchRecord]:
    """``records`` in the order ``sort`` asks for (creation order by default)."""
    if sort is None:
        return records
    if sort not in SORTS:
        raise Refusal(400, None, f"sort must be one of {', '.join(SORTS)}")
    field, _, direction = sort.partition(":")
    if field == "created":
        key = lambda r: (r.created, r.id)  # noqa: E731 - two tiny keys
    else:
        key = lambda r: (_STATUS_ORDER.get(r.snapshot(now).status, 99), r.created)  # noqa: E731
    return sorted(records, key=key, reverse=direction == "desc")
