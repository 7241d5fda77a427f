"""A large area rendered on the cluster, its mosaic a lazy dask-backed ``xarray.DataArray``.

The tiles are split and checked as :meth:`eoclient.SentinelHub.process_area`
does (the same requests, the same file names: a rerun over the same folder
renders only the tiles missing), rendered by the workers into the shared
folder, and the mosaic is one ``dask.array`` block per tile (a dropped tile
is a block of ``fill``): nothing is read until it is computed, and computed
on the cluster each worker reads only the tiles of its blocks.

Needs ``eoclient[xarray]`` besides ``eoclient[dask]``. The tiles must form a
regular grid (as the splitter makes them: each row of tiles equally high,
each column equally wide).
"""

from __future__ import annotations

import importlib
import itertools
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import anyio
import msgspec

from eoclient.areas import AreaTile, MosaicGrid, split_area
from eoclient.bulk import BulkDownloadError
from eoclient.dask.report import ClusterReport, Progress
from eoclient.errors import ValidationError
from eoclient.sentinelhub.process_area import AreaResult, tile_requests

__all__ = ["Renderer", "lazy_mosaic", "process_area"]


class Renderer(Protocol):
    """What renders the tiles: a :class:`~eoclient.dask.ClusterAccount`."""

    async def process_all(
        self,
        requests: Mapping[str, Any],
        dest: str | os.PathLike[str],
        *,
        accept: str | None = ...,
        overwrite: bool = ...,
        chunk_size: int | None = ...,
        on_progress: Callable[[Progress], object] | None = ...,
    ) -> ClusterReport: ...


async def process_area(
    account: Renderer,
    request: Any,
    area: Any,
    dest: str | os.PathLike[str],
    *,
    resolution: float | tuple[float, float],
    tile_pixels: int | tuple[int, int] | None = None,
    tile_size: float | tuple[float, float] | None = None,
    crs: int | str = "utm",
    area_crs: int | str | None = None,
    accept: str | None = None,
    overwrite: bool = False,
    fill: float = 0,
    chunk_size: int | None = None,
    on_progress: Callable[[Progress], object] | None = None,
) -> AreaResult:
    """See :meth:`eoclient.dask.ClusterAccount.process_area`."""
    split = split_area(
        area, resolution=resolution, tile_pixels=tile_pixels, tile_size=tile_size, crs=crs, area_crs=area_crs
    )
    if len(split.grids) > 1:
        raise ValidationError("crs", "the area spans several UTM zones and a mosaic has one CRS: give crs=")
    work = tile_requests(request, split, Path(os.path.abspath(dest)), accept=accept)  # noqa: ASYNC240 - no I/O
    # The checked request of each tile as sent (the workers check it again, cheaply).
    requests = {w.dest.stem: msgspec.json.decode(w.prepared.body) for w in work}
    report = await account.process_all(
        requests, dest, accept=accept, overwrite=overwrite, chunk_size=chunk_size, on_progress=on_progress
    )
    if not report.ok:
        raise BulkDownloadError(report)  # the tiles that did come stay in dest for a rerun
    grid = split.grids[split.tiles[0].crs]
    tiles = [(w.tile, w.dest) for w in work]
    name = work[0].prepared.identifiers[0]
    # Off the loop: the first tile is read for the bands and sample type.
    data = await anyio.to_thread.run_sync(lambda: lazy_mosaic(grid, tiles, fill=fill, name=name))
    return AreaResult(data, None, report, report.processing_units, split)


def _edges(extent: int, spans: set[tuple[int, int]]) -> list[int]:
    return sorted({0, extent, *(a for a, _ in spans), *(b for _, b in spans)})


def lazy_mosaic(
    grid: MosaicGrid, tiles: list[tuple[AreaTile, Path]], *, fill: float = 0, name: str | None = None
) -> Any:
    """The tiles' files as one lazy ``xarray.DataArray`` ``(y, x, band)`` with the grid's coordinates and CRS.

    The first tile is read now (for the bands and sample type); every block
    is read when computed, and checked to be the size its tile was asked for.
    """
    da: Any = importlib.import_module("dask.array")  # the dask extra (untyped: Any)
    delayed: Any = importlib.import_module("dask.delayed").delayed

    from eoclient.areas import mosaic  # noqa: PLC0415 - numpy and xarray are optional
    from eoclient.arrays import _deps, decode  # noqa: PLC0415

    np = _deps.numpy()
    if not tiles:
        raise ValidationError("tiles", "no tile to mosaic")
    first = _as_3d(decode(tiles[0][1]).array)
    bands, dtype = first.shape[2], first.dtype
    rows = _edges(grid.height, {(t.y_offset, t.y_offset + t.height) for t, _ in tiles})
    cols = _edges(grid.width, {(t.x_offset, t.x_offset + t.width) for t, _ in tiles})
    at = {(t.y_offset, t.x_offset): (t, path) for t, path in tiles}
    blocks: list[list[Any]] = []
    for top, bottom in itertools.pairwise(rows):
        line = []
        for left, right in itertools.pairwise(cols):
            shape = (bottom - top, right - left, bands)
            found = at.get((top, left))
            if found is None:
                line.append(da.full(shape, fill, dtype=dtype))
                continue
            tile, path = found
            if (tile.height, tile.width) != shape[:2]:
                raise ValidationError("tiles", f"tile {tile.index} does not fit the mosaic's grid of tiles")
            read = delayed(_read_tile, pure=True)(str(path), shape, str(dtype))
            line.append(da.from_delayed(read, shape=shape, dtype=dtype))
        blocks.append(line)
    # da.block joins the innermost lists along the last axis: one more level for the band axis.
    lazy = da.block([[[block] for block in line] for line in blocks])
    # Coordinates and CRS from a zero-strided stand-in of the mosaic's shape (no memory), then the data.
    template = mosaic.mosaic_dataarray(np.broadcast_to(np.zeros((), dtype), lazy.shape), grid, name=name)
    return template.copy(data=lazy)


def _as_3d(array: Any) -> Any:
    return array[:, :, None] if array.ndim == 2 else array


def _read_tile(path: str, shape: tuple[int, int, int], dtype: str) -> Any:
    """One tile's pixels, checked to be what the mosaic expects of it."""
    from eoclient.arrays import decode  # noqa: PLC0415

    array = _as_3d(decode(path).array)
    if array.shape != shape or str(array.dtype) != dtype:
        raise ValidationError(
            "tiles",
            f"{Path(path).name} holds {array.dtype} {array.shape}, the mosaic expects {dtype} {shape}",
        )
    return array
