"""What each Sentinel Hub job family writes to object storage, and when.

See :mod:`eoclient.emulator.core.deliveries` for how deliveries are written.

Keys, as the OpenAPI document describes them (``s3://<bucket>/<path>`` URLs):

* Batch v2 raster (``output.delivery``) and legacy batch (``output.defaultTilePath``, or
  ``bucketName`` = ``s3://<bucketName>``; ``output.responses[].tilePath`` overrides per output):
  a plain URL means ``<url>/<requestId>/<tileName>/<outputId>.<format>``; a template fills
  ``<requestId>``, ``<tileName>``, ``<tileId>``, ``<outputId>``, ``<format>``. Each processed
  tile's outputs are written when the tile is done (failed tiles write nothing). ``<tileName>``
  is ``tile-<tileId>``; ``<format>`` is ``tif`` or ``json``.
* Zarr (v2 ``output.type: zarr`` / legacy ``zarrOutput.path``, ``<requestId>`` filled in):
  ``<path>/.zgroup`` and ``.zattrs``, then per output ``<path>/<outputId>/.zarray`` and
  ``.zattrs`` with the first tile, and one chunk ``<path>/<outputId>/<row>.<col>`` (``0.<row>.<col>``
  for several bands) per processed tile (zlib-compressed, chunk = tile).
* Async Process (``output.delivery``): ``<url>/<requestId>/<outputId>.<ext>`` or the template
  (``<REQUEST_ID>``, ``<OUTPUT>`` = ``<outputId>.<ext>``), all at once when it finishes DONE.
* Batch Statistical (``output``): ``<url>/<requestId>/<id>.json`` or the template (``<REQUEST_ID>``,
  ``<ID>``, ``<IDENTIFIER>``), one per processed feature, each the Statistical API's response
  for that feature; features are ``id`` 1..n, ``identifier`` ``feature-<id>``.

Rasters are small files from the Process renderer (at most :data:`MAX_PIXELS` a side), over
each tile's own bounds in the request's CRS (tiles are cells of the request's extent, row 0 in
the south, as :meth:`~.batch_engine.BatchRecord.tile_geometry` lays them out, widened by the
grid's buffers): adjacent tiles join. Zarr chunks hold the same field, rendered at most
:data:`MAX_PIXELS` a side and enlarged to the chunk (blocky, but real values), chunk ``r.c`` over
the cell ``r`` rows below the extent's north edge (an array's row 0 is its north).
Their sizes and ETags are those of the bytes stored. ``gs://`` locations are not delivered.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import zlib
from functools import partial
from typing import Any, Final, Protocol

from eoclient.emulator.core.deliveries import Delivery
from eoclient.emulator.core.fields import Grid
from eoclient.emulator.core.rasters import Raster
from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.sentinelhub.batch_statistics_engine import StatisticsRequest, observe
from eoclient.emulator.sentinelhub.process.evalscript import ScriptOutput, script_outputs
from eoclient.emulator.sentinelhub.process.rendering import crs_code, output_raster, render_file
from eoclient.emulator.sentinelhub.process.validation import EXTENSIONS, parse_bounds
from eoclient.emulator.sentinelhub.statistics import compute


class _Snapshot(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def fraction(self) -> float: ...
    @property
    def error(self) -> str | None: ...
    @property
    def analysed(self) -> bool: ...


class BatchRecord(Protocol):
    """What the outputs need of a batch request (:class:`~.batch_engine.BatchRecord`, which imports this)."""

    id: str
    api: str
    body: dict[str, Any]
    tiles: int
    tile_width_px: int
    tile_height_px: int
    grid_columns: int
    failed_tiles: int
    segment: Any

    def snapshot(self, now: float) -> _Snapshot:
        """The request at emulated time ``now``."""


__all__ = [
    "MAX_PIXELS",
    "AsyncOutputs",
    "BatchOutputs",
    "StatisticsOutputs",
    "batch_buckets",
    "seed_of",
    "split_url",
    "tile_grid",
    "tile_name",
]

MAX_PIXELS: Final = 64
_PLACEHOLDER_RE: Final = re.compile(r"<[^<>]*>")
_DTYPES: Final = {"INT8": "|i1", "UINT16": "<u2", "INT16": "<i2", "FLOAT32": "<f4"}
_FINAL_BATCH: Final = frozenset({"DONE", "FAILED", "CANCELED"})
_FINAL_STATISTICS: Final = frozenset({"DONE", "FAILED", "PARTIAL"})


def split_url(url: str) -> tuple[str, str] | None:
    """``(bucket, key)`` of an ``s3://`` URL; ``None`` for other schemes."""
    if not url.startswith("s3://"):
        return None
    bucket, _, key = url[5:].partition("/")
    return bucket, key


def tile_name(index: int) -> str:
    """The ``<tileName>`` of tile ``index`` (its ``<tileId>``) in delivered keys."""
    return f"tile-{index}"


def seed_of(*parts: object) -> int:
    """A seed fixed by ``parts`` (never Python's per-process string hash)."""
    return _seed(*parts)


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "big")


def _outputs(evalscript: Any) -> dict[str, ScriptOutput]:
    try:
        return {o.id: o for o in script_outputs(evalscript)} if isinstance(evalscript, str) else {}
    except Refusal:
        return {}


# -- batch (v2 and legacy) --------------------------------------------------------------------


def _zarr_path(record: BatchRecord) -> str | None:
    body = record.body
    if record.api == "v2":
        out = body.get("output") or {}
        if out.get("type") != "zarr":
            return None
        return str(((out.get("delivery") or {}).get("s3") or {}).get("url", ""))
    zarr = body.get("zarrOutput")
    return str(zarr.get("path", "")) if isinstance(zarr, dict) else None


def _tile_templates(record: BatchRecord) -> tuple[str, dict[str, str]]:
    """The default tile path template and per-output overrides."""
    body = record.body
    overrides: dict[str, str] = {}
    if record.api == "v2":
        url = str((((body.get("output") or {}).get("delivery") or {}).get("s3") or {}).get("url", ""))
    elif body.get("bucketName"):
        url = f"s3://{body['bucketName']}"
    else:
        out = body.get("output") or {}
        url = str(out.get("defaultTilePath", ""))
        for item in out.get("responses") or []:
            if isinstance(item, dict) and isinstance(item.get("tilePath"), str):
                overrides[str(item.get("identifier"))] = item["tilePath"]
    return url, overrides


def _fill(template: str, default_tail: str, values: dict[str, str]) -> str:
    if not _PLACEHOLDER_RE.search(template):
        template = template.rstrip("/") + default_tail
    for name, value in values.items():
        template = template.replace(name, value)
    return template


def batch_buckets(record: BatchRecord) -> list[str]:
    """The buckets a batch request writes to (to check before it starts)."""
    zarr = _zarr_path(record)
    urls = [zarr] if zarr is not None else [_tile_templates(record)[0], *_tile_templates(record)[1].values()]
    found = [split_url(u) for u in urls]
    return sorted({f[0] for f in found if f is not None})


def _frame(record: BatchRecord) -> tuple[tuple[float, float, float, float], int, int, int]:
    """The request's extent and CRS, and its tile columns and rows."""
    bounds = ((record.body.get("processRequest") or {}).get("input") or {}).get("bounds")
    if bounds is None:  # GeoPackage features: no bounds in the request
        extent, epsg = (0.0, 0.0, 1.0, 1.0), 4326
    else:
        extent, epsg = parse_bounds(bounds), crs_code(bounds)
    cols = max(1, record.grid_columns)
    return extent, epsg, cols, max(1, math.ceil(record.tiles / cols))


def _buffers(record: BatchRecord) -> tuple[int, int]:
    source = record.body.get("input") if record.api == "v2" else record.body.get("tilingGrid")
    source = source if isinstance(source, dict) else {}
    return int(source.get("bufferX") or 0), int(source.get("bufferY") or 0)


def tile_grid(record: BatchRecord, index: int, width: int, height: int) -> Grid:
    """The grid of tile ``index`` rendered ``width`` x ``height``: its cell of the extent plus buffers."""
    (x0, y0, x1, y1), epsg, cols, rows = _frame(record)
    col, row = index % cols, index // cols
    w, h = (x1 - x0) / cols, (y1 - y0) / rows
    bx, by = _buffers(record)
    pad_x = w * bx / max(1, record.tile_width_px - 2 * bx)
    pad_y = h * by / max(1, record.tile_height_px - 2 * by)
    ax, ay = x0 + col * w, y0 + row * h
    return Grid((ax - pad_x, ay - pad_y, ax + w + pad_x, ay + h + pad_y), width, height, epsg)


def _zarr_chunk(raster: Raster, chunk_width: int, chunk_height: int) -> bytes:
    """A chunk (bands first) of ``raster`` enlarged to ``chunk_width`` x ``chunk_height``, zlib-compressed."""
    fx = math.ceil(chunk_width / raster.grid.width)
    fy = math.ceil(chunk_height / raster.grid.height)
    size = raster.sample_bytes
    planes = []
    for band in range(raster.bands):
        rows = []
        for row in raster.rows([band]):
            wide = bytearray(len(row) * fx)
            for k in range(size):
                for j in range(fx):  # every sample repeated fx times along the row
                    wide[j * size + k :: fx * size] = row[k::size]
            rows.extend([bytes(wide[: chunk_width * size])] * fy)
        planes.append(b"".join(rows[:chunk_height]))
    return zlib.compress(b"".join(planes), 1)


class BatchOutputs:
    """A batch request's deliveries: each processed tile's outputs (or Zarr chunks), in tile order."""

    def __init__(self, record: BatchRecord) -> None:
        self.record = record
        self._sent = 0

    def _processed(self, now: float) -> int:
        record = self.record
        snap = record.snapshot(now)
        if not snap.analysed:
            return 0
        failed = record.failed_tiles or (record.segment.data["failed"] if record.segment else 0)
        if snap.status in ("DONE", "PARTIAL"):
            return record.tiles - failed if snap.error or snap.status == "PARTIAL" else record.tiles
        # The failing tiles are the last ones: they deliver nothing, also while the request runs.
        return min(record.tiles - failed, int(snap.fraction * record.tiles + 1e-9))

    def due(self, now: float) -> list[Delivery]:
        """The outputs of the tiles processed since the last call."""
        done = self._processed(now)
        if done <= self._sent:
            return []
        first, self._sent = self._sent, done
        responses = ((self.record.body.get("processRequest") or {}).get("output") or {}).get(
            "responses"
        ) or []
        wanted = [
            (str(r.get("identifier", "default")), str((r.get("format") or {}).get("type", "image/tiff")))
            for r in responses
            if isinstance(r, dict)
        ] or [("default", "image/tiff")]
        request = self.record.body.get("processRequest") or {}
        script = _outputs(request.get("evalscript"))
        zarr = _zarr_path(self.record)
        if zarr is not None:
            return self._zarr(zarr, wanted, script, first, done)
        return self._rasters(wanted, script, first, done)

    def _raster(self, out: ScriptOutput, grid: Grid) -> Raster:
        return output_raster(self.record.body.get("processRequest") or {}, out, grid)

    def _rasters(
        self, wanted: list[tuple[str, str]], script: dict[str, ScriptOutput], first: int, done: int
    ) -> list[Delivery]:
        record = self.record
        default, overrides = _tile_templates(record)
        width, height = min(record.tile_width_px, MAX_PIXELS), min(record.tile_height_px, MAX_PIXELS)
        out: list[Delivery] = []
        for index in range(first, done):
            for ident, media in wanted:
                ext = EXTENSIONS.get(media, "tif")
                url = _fill(
                    overrides.get(ident, default),
                    "/<requestId>/<tileName>/<outputId>.<format>",
                    {
                        "<requestId>": record.id,
                        "<tileName>": tile_name(index),
                        "<tileId>": str(index),
                        "<outputId>": ident,
                        "<format>": ext,
                    },
                )
                where = split_url(url)
                if where is None:
                    continue
                output = script.get(ident, ScriptOutput(ident, 3, "UINT8"))
                raster = self._raster(output, tile_grid(record, index, width, height))
                out.append(Delivery(*where, partial(render_file, ident, media, raster), media))
        return out

    def _zarr(
        self,
        path: str,
        wanted: list[tuple[str, str]],
        script: dict[str, ScriptOutput],
        first: int,
        done: int,
    ) -> list[Delivery]:
        record = self.record
        where = split_url(path.replace("<requestId>", record.id))
        if where is None:
            return []
        bucket, root = where[0], where[1].rstrip("/")
        prefix = f"{root}/" if root else ""
        cols = record.grid_columns
        rows = max(1, math.ceil(record.tiles / cols))
        th, tw = record.tile_height_px, record.tile_width_px
        out: list[Delivery] = []

        def meta(key: str, document: dict[str, Any]) -> None:
            out.append(
                Delivery(bucket, prefix + key, json.dumps(document, indent=2).encode(), "application/json")
            )

        if first == 0:
            meta(".zgroup", {"zarr_format": 2})
            meta(".zattrs", {"requestId": record.id, "tiles": record.tiles})
        for ident, _media in wanted:
            output = script.get(ident, ScriptOutput(ident, 1, "UINT8"))
            bands = output.bands
            shape, chunks = [rows * th, cols * tw], [th, tw]
            if bands > 1:
                shape, chunks = [bands, *shape], [bands, *chunks]
            if first == 0:
                meta(
                    f"{ident}/.zarray",
                    {
                        "zarr_format": 2,
                        "shape": shape,
                        "chunks": chunks,
                        "dtype": _DTYPES.get(output.sample_type, "|u1"),
                        "compressor": {"id": "zlib", "level": 1},
                        "fill_value": 0,
                        "order": "C",
                        "filters": None,
                    },
                )
                meta(f"{ident}/.zattrs", {"_ARRAY_DIMENSIONS": ["band", "y", "x"][-len(shape) :]})
            (x0, y0, x1, y1), epsg, _cols, _rows = _frame(record)
            w, h = (x1 - x0) / cols, (y1 - y0) / rows
            small_w, small_h = min(tw, MAX_PIXELS), min(th, MAX_PIXELS)
            for index in range(first, done):
                row, col = divmod(index, cols)
                name = f"{row}.{col}" if bands == 1 else f"0.{row}.{col}"
                top = y1 - row * h  # the array's row 0 is its north edge
                grid = Grid((x0 + col * w, top - h, x0 + (col + 1) * w, top), small_w, small_h, epsg)
                raster = self._raster(output, grid)
                out.append(Delivery(bucket, f"{prefix}{ident}/{name}", partial(_zarr_chunk, raster, tw, th)))
        return out

    def finished(self, now: float) -> bool:
        """Once DONE, FAILED or CANCELED (a PARTIAL or STOPPED request may go on) and all is written."""
        snap = self.record.snapshot(now)
        return snap.status in _FINAL_BATCH and self._processed(now) <= self._sent


# -- Async Process -----------------------------------------------------------------------------


class AsyncOutputs:
    """An Async Process request's deliveries: all its files when it finishes DONE."""

    def __init__(self, job: Any, files: dict[str, bytes], media: dict[str, str]) -> None:
        self.job = job
        self.files = files  # object URL -> bytes
        self.media = media  # object URL -> content type
        self._sent = False

    def due(self, now: float) -> list[Delivery]:
        """Every file, once (when the job is DONE)."""
        view = self.job.view(now)
        if self._sent or not view.terminal:
            return []
        self._sent = True
        if view.state != "DONE":
            return []
        out = []
        for url, body in self.files.items():
            where = split_url(url)
            if where is not None:
                out.append(Delivery(*where, body, self.media.get(url, "application/octet-stream")))
        return out

    def finished(self, now: float) -> bool:
        """Once the job has ended (and its files are written)."""
        return self._sent


# -- Batch Statistical -------------------------------------------------------------------------


def _feature_answer(req: StatisticsRequest, feature: int) -> bytes:
    """The Statistical API's answer for one feature (a small square somewhere in Europe)."""
    body = req.body
    agg = {
        k: v
        for k, v in (body.get("aggregation") or {}).items()
        if k not in ("resx", "resy", "evalscriptReference")
    }
    x, y = 10.0 + (feature % 50) * 0.02, 45.0 + (feature // 50) * 0.02
    single = {
        "input": {
            "bounds": {"bbox": [x, y, x + 0.01, y + 0.01]},
            "data": (body.get("input") or {}).get("data"),
        },
        "aggregation": {**agg, "width": 8, "height": 8},
    }
    if body.get("calculations") is not None:
        single["calculations"] = body["calculations"]
    try:
        answer, _units = compute(single, _seed(req.id, feature))
    except Refusal:
        answer = {"data": [], "status": "OK"}
    return json.dumps(answer).encode()


class StatisticsOutputs:
    """A Batch Statistical request's deliveries: one JSON per processed feature, in feature order."""

    def __init__(self, req: StatisticsRequest, url: str) -> None:
        self.req = req
        self.url = url
        self._sent = 0

    def _processed(self, status: str, fraction: float) -> int:
        req = self.req
        failing = max(1, req.features // 20) if req.mode == "partial" else 0
        if status in ("DONE", "PARTIAL"):
            return req.features - (failing if status == "PARTIAL" else 0)
        return min(req.features - failing, int(fraction * req.features + 1e-9))

    def due(self, now: float) -> list[Delivery]:
        """The results of the features processed since the last call."""
        seen = observe(self.req)
        done = self._processed(seen.status, seen.fraction)
        if done <= self._sent:
            return []
        first, self._sent = self._sent, done
        out = []
        for index in range(first, done):
            fid = index + 1
            url = _fill(
                self.url,
                "/<REQUEST_ID>/<ID>.json",
                {"<REQUEST_ID>": self.req.id, "<ID>": str(fid), "<IDENTIFIER>": f"feature-{fid}"},
            )
            where = split_url(url)
            if where is not None:
                out.append(Delivery(*where, partial(_feature_answer, self.req, fid), "application/json"))
        return out

    def finished(self, now: float) -> bool:
        """Once DONE, FAILED or PARTIAL and all is written."""
        seen = observe(self.req)
        return seen.status in _FINAL_STATISTICS and self._processed(seen.status, seen.fraction) <= self._sent
