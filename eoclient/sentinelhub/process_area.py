"""A large area in one call: the Process request per tile, run through the bulk engine.

:func:`tile_requests` turns the user's Process request into one request per
tile of an :class:`~eoclient.areas.AreaSplit`: the tile's bbox and CRS as
``input.bounds``, its pixels as ``output.width``/``height``, everything else
(evalscript, data, responses, keys eoclient does not know) as the user wrote
it. :func:`run_tiles` renders them into a work folder through
:func:`eoclient.bulk.download_all` — bounded concurrency, the transport's
retries, the client's :class:`~eoclient.sentinelhub.budget.ProcessingBudget`,
atomic files — with a :class:`TileSource` per tile (a POST cannot be resumed
mid-body: a broken answer is rendered again from its first byte).

Each tile's file is named after its place and a digest of its request body:
a rerun over the same work folder skips the tiles already complete (files
appear only when whole), and a changed request never picks up a stale tile.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import anyio

from eoclient._files import write_atomic
from eoclient.areas import AreaSplit, AreaTile, MosaicGrid, split_area
from eoclient.bulk import Body, BulkDownloadError, BulkReport, Download, complete_size, download_all
from eoclient.errors import ValidationError
from eoclient.sentinelhub.budget import ProcessingBudget, charged
from eoclient.sentinelhub.data_collections import Deployment, deployment_path
from eoclient.sentinelhub.prepared import PreparedProcess, prepare_process
from eoclient.sentinelhub.process import PROCESS_PATH, processing_units_spent
from eoclient.sentinelhub.process_models import ProcessRequest, to_checked_request

if TYPE_CHECKING:
    from eoclient._http.transport import Transport

__all__ = ["AreaResult", "AreaTiles", "TileSource", "TileWork", "process_area", "run_tiles", "tile_requests"]

_EXTENSIONS: Final = {"image/tiff": "tif", "image/png": "png", "image/jpeg": "jpg"}
_SIZE_KEYS: Final = frozenset({"width", "height", "resx", "resy"})
_GEOTIFF: Final = frozenset({".tif", ".tiff"})


@dataclass(frozen=True, slots=True)
class TileWork:
    """One tile to render: where it is, its prepared request, and the file it goes to."""

    tile: AreaTile
    prepared: PreparedProcess
    dest: Path


def tile_requests(
    request: ProcessRequest | Mapping[str, Any],
    split: AreaSplit,
    work_dir: Path,
    *,
    accept: str | None = None,
) -> list[TileWork]:
    """One checked Process request per tile of ``split``, each with its file under ``work_dir``.

    The request's own ``input.bounds`` and output size are replaced; it must
    ask for one image (TIFF, PNG or JPEG) — the tiles are mosaicked into one
    raster. A mistake raises :class:`~eoclient.errors.ValidationError` naming
    the field of the request, before anything is sent.
    """
    _, wire = to_checked_request(request, ProcessRequest)
    _check_one_image(wire, accept)
    work: list[TileWork] = []
    for tile in split:
        prepared = prepare_process(_for_tile(wire, tile), accept=accept)
        digest = hashlib.sha256(prepared.body).hexdigest()[:16]
        code = tile.crs.rsplit("/", 1)[1]
        ext = _EXTENSIONS[prepared.accept.split(";")[0].strip().lower()]
        work.append(
            TileWork(tile, prepared, work_dir / f"{code}_r{tile.row:04d}_c{tile.col:04d}_{digest}.{ext}")
        )
    return work


def _check_one_image(wire: Mapping[str, Any], accept: str | None) -> None:
    output = wire.get("output") or {}
    responses = output.get("responses") or [{}]
    if len(responses) != 1:
        raise ValidationError(
            "output.responses", f"process_area mosaics one image: the request asks for {len(responses)}"
        )
    fmt = accept or (responses[0].get("format") or {}).get("type") or "image/png"
    if fmt.split(";")[0].strip().lower() not in _EXTENSIONS:
        raise ValidationError(
            "output.responses[0].format.type", f"process_area mosaics TIFF, PNG or JPEG images, not {fmt}"
        )


def _for_tile(wire: Mapping[str, Any], tile: AreaTile) -> dict[str, Any]:
    """The user's request (as sent) over ``tile``: its bbox, CRS and pixels; nothing else changed."""
    inp = dict(wire.get("input") or {})
    inp["bounds"] = {"bbox": tile.bbox.as_list(), "properties": {"crs": tile.crs}}
    output = {k: v for k, v in (wire.get("output") or {}).items() if k not in _SIZE_KEYS}
    output["width"], output["height"] = tile.width, tile.height
    return {**wire, "input": inp, "output": output}


@dataclass
class AreaTiles:
    """What rendering the tiles did: the bulk engine's report and the processing units the service charged."""

    report: BulkReport
    processing_units: float = 0.0
    requests: int = field(default=0)


@dataclass(frozen=True)
class TileSource:
    """A :class:`~eoclient.bulk.Source` that renders one tile's Process request (POST, whole body each time).

    The request is charged to the budget ``budget()`` returns at the time it
    is sent (the client's, which may be replaced at any time).
    """

    transport: Transport
    prepared: PreparedProcess
    budget: Callable[[], ProcessingBudget | None]
    label: str
    spent: AreaTiles
    deployment: Deployment | None = None  # where the request's collection lives (None: base_url)

    @property
    def name(self) -> str:
        return self.label

    @asynccontextmanager
    async def open(self, offset: int, *, validator: str | None, chunk_size: int) -> AsyncIterator[Body]:
        # A render cannot be continued at a byte offset: Body(start=0) tells the engine to start over.
        async with (
            charged(self.budget(), self.prepared.cost.estimate) as charge,
            self.transport.stream(
                "POST",
                deployment_path(self.deployment, PROCESS_PATH),
                operation="process.area",
                data=self.prepared.body,
                headers=self.prepared.headers,
                idempotent=True,  # rendering changes nothing on the server
                expect=self.prepared.expect,
            ) as resp,
        ):
            charge.actual = processing_units_spent(resp.headers)
            self.spent.requests += 1
            self.spent.processing_units += charge.actual or 0.0
            # With Content-Encoding the announced length counts compressed bytes: not checked then.
            total = None if "Content-Encoding" in resp.headers else resp.content_length
            yield Body(0, resp.iter_chunks(chunk_size), total)

    async def current(self, path: Path) -> int | None:
        # Files appear only when whole, and the name holds the request's digest.
        return await complete_size(path)

    async def completed(self, path: Path) -> None:
        return None


async def run_tiles(
    transport: Transport,
    work: list[TileWork],
    *,
    budget: Callable[[], ProcessingBudget | None],
    concurrency: int,
    limiter: anyio.CapacityLimiter | None = None,
    overwrite: bool = False,
    deployment: Deployment | None = None,
) -> AreaTiles:
    """Render every tile into its file, ``concurrency`` at a time; failures are in the report."""
    outcome = AreaTiles(BulkReport())
    folders = {w.dest.parent for w in work}

    def make_folders() -> None:
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)

    await anyio.to_thread.run_sync(make_folders)
    items = (
        Download(
            TileSource(transport, w.prepared, budget, w.dest.name, outcome, deployment),
            w.dest,
            operation="process.area",
        )
        for w in work
    )
    outcome.report = await download_all(
        None,
        items,
        concurrency=concurrency,
        limiter=limiter,
        operation="process.area",
        overwrite=overwrite,
        policy=transport.retry,
    )
    return outcome


@dataclass(frozen=True)
class AreaResult:
    """What :meth:`~eoclient.SentinelHub.process_area` made.

    ``data`` is the mosaic as an ``xarray.DataArray`` ``(y, x, band)`` with
    coordinates and CRS (``None`` when it was written to ``path``); ``report``
    says which tiles were rendered and which skipped as already in the work
    folder; ``processing_units`` is what this run was charged; ``split``
    holds the tiles and the mosaic grid.
    """

    data: Any
    path: Path | None
    report: BulkReport
    processing_units: float
    split: AreaSplit

    @property
    def grid(self) -> MosaicGrid:
        """The mosaic's pixel grid (one CRS)."""
        (grid,) = self.split.grids.values()
        return grid


async def process_area(
    transport: Transport,
    request: ProcessRequest | Mapping[str, Any],
    area: Any,
    *,
    budget: Callable[[], ProcessingBudget | None],
    resolution: float | tuple[float, float],
    tile_pixels: int | tuple[int, int] | None = None,
    tile_size: float | tuple[float, float] | None = None,
    crs: int | str = "utm",
    area_crs: int | str | None = None,
    concurrency: int = 4,
    limiter: anyio.CapacityLimiter | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    path: str | os.PathLike[str] | None = None,
    accept: str | None = None,
    overwrite: bool = False,
    fill: float = 0,
    deployment: Deployment | None = None,
) -> AreaResult:
    """Split, render every tile, mosaic (see :meth:`eoclient.SentinelHub.process_area`)."""
    split = split_area(
        area, resolution=resolution, tile_pixels=tile_pixels, tile_size=tile_size, crs=crs, area_crs=area_crs
    )
    if len(split.grids) > 1:
        codes = ", ".join(f"EPSG:{c.rsplit('/', 1)[1]}" for c in split.grids)
        raise ValidationError(
            "crs",
            f"the area spans several UTM zones ({codes}) and a mosaic has one CRS: give crs= "
            "(one zone's EPSG code, or 4326 with a resolution in degrees)",
        )
    target = Path(path) if path is not None else None
    if target is not None and target.suffix.lower() not in {*_GEOTIFF, ".zarr"}:
        raise ValidationError("path", f"writes a GeoTIFF (.tif) or a Zarr store (.zarr), not {target.name!r}")
    folder = (
        Path(work_dir) if work_dir is not None else Path(await anyio.to_thread.run_sync(tempfile.mkdtemp))
    )
    try:
        work = tile_requests(request, split, folder, accept=accept)
        done = await run_tiles(
            transport,
            work,
            budget=budget,
            concurrency=concurrency,
            limiter=limiter,
            overwrite=overwrite,
            deployment=deployment,
        )
        if not done.report.ok:
            raise BulkDownloadError(done.report)  # the tiles that did come stay in work_dir for a rerun
        grid = split.grids[split.tiles[0].crs]
        data = await _mosaic(grid, work, target, fill=fill)
    finally:
        if work_dir is None:
            await anyio.to_thread.run_sync(shutil.rmtree, folder, True)
    return AreaResult(data, target, done.report, done.processing_units, split)


async def _mosaic(grid: MosaicGrid, work: list[TileWork], target: Path | None, *, fill: float) -> Any:
    """The tiles as one DataArray, or written to ``target`` (GeoTIFF or Zarr; atomically, never in part)."""
    from eoclient.areas import mosaic  # noqa: PLC0415 - numpy and xarray are optional

    array = await anyio.to_thread.run_sync(
        lambda: mosaic.assemble(grid, [(w.tile, w.dest) for w in work], fill=fill)
    )
    if target is not None and target.suffix.lower() in _GEOTIFF:
        from eoclient.arrays.encode import encode_geotiff  # noqa: PLC0415 - tifffile is optional

        body = await anyio.to_thread.run_sync(lambda: encode_geotiff(array, mosaic.grid_georef(grid)))
        await write_atomic(target, _once(body))
        return None
    data = mosaic.mosaic_dataarray(array, grid, name=work[0].prepared.identifiers[0])
    if target is not None:
        await anyio.to_thread.run_sync(mosaic.write_zarr, data, target)
        return None
    return data


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body
