"""Tiles back into one raster: each decoded tile placed at its pixel offset in its CRS's mosaic grid.

Tiles of one :class:`~eoclient.areas.MosaicGrid` start on its pixel edges by
construction, so each is copied into an exact integer window, no
resampling. Where a tile was dropped (it missed the area) the mosaic holds
``fill``. The coordinates are the grid's own pixel centres (``(k + 0.5) *
res``), the very values each tile's pixels have, so they line up across tile
edges to the bit.

numpy (``pip install 'eoclient[arrays]'``) and xarray (``'eoclient[xarray]'``)
are imported on first use, through :mod:`eoclient.arrays`.
"""

from __future__ import annotations

import importlib
import os
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eoclient.areas.split import AreaTile, MosaicGrid
from eoclient.arrays import GeoRef, decode, to_dataarray
from eoclient.arrays.georef import epsg_of
from eoclient.errors import ConfigurationError, ValidationError

__all__ = ["ZARR_INSTALL", "assemble", "grid_georef", "mosaic_dataarray", "write_zarr"]

ZARR_INSTALL = "pip install 'eoclient[zarr]'"


def grid_georef(grid: MosaicGrid) -> GeoRef:
    """The :class:`~eoclient.arrays.GeoRef` of a mosaic grid (EPSG code, bounds, size)."""
    x0, y0, x1, y1 = grid.bbox.as_list()
    return GeoRef(epsg_of(grid.crs), (x0, y0, x1, y1), grid.width, grid.height)


def assemble(
    grid: MosaicGrid, tiles: Sequence[tuple[AreaTile, str | os.PathLike[str]]], *, fill: float = 0
) -> Any:
    """One numpy array ``(height, width[, bands])`` of the grid, each tile's file decoded into its window.

    Every tile must have the same bands and sample type and exactly its
    planned size; anything else is a :class:`~eoclient.errors.ValidationError`
    naming the tile's file (an answer that is not the image asked for).
    """
    from eoclient.arrays import _deps  # noqa: PLC0415 - numpy is optional

    np = _deps.numpy()
    mosaic: Any = None
    for tile, path in tiles:
        if tile.crs != grid.crs:
            raise ValidationError("tiles", f"tile {tile.index} is in {tile.crs}, the mosaic in {grid.crs}")
        array = decode(path).array
        if array.shape[:2] != (tile.height, tile.width):
            raise ValidationError(
                f"tiles[{tile.index}]",
                f"{Path(path).name} is {array.shape[1]}x{array.shape[0]} pixels, "
                f"the tile {tile.width}x{tile.height}",
            )
        if mosaic is None:
            mosaic = np.full((grid.height, grid.width, *array.shape[2:]), fill, dtype=array.dtype)
        elif array.shape[2:] != mosaic.shape[2:] or array.dtype != mosaic.dtype:
            raise ValidationError(
                f"tiles[{tile.index}]",
                f"{Path(path).name} holds {array.dtype} {array.shape[2:]}, the other tiles {mosaic.dtype} "
                f"{mosaic.shape[2:]}",
            )
        mosaic[tile.y_offset : tile.y_offset + tile.height, tile.x_offset : tile.x_offset + tile.width] = (
            array
        )
    if mosaic is None:
        raise ValidationError("tiles", "no tile to mosaic")
    return mosaic


def mosaic_dataarray(array: Any, grid: MosaicGrid, *, name: str | None = None) -> Any:
    """An ``xarray.DataArray`` of a mosaic, ``(y, x, band)``, with the grid's coordinates and CRS."""
    out = to_dataarray(array, grid_georef(grid), name=name)
    # The grid's own centres, (k + 0.5) * res, rather than ones derived from the bounds' width:
    # the same floats whichever tile (or mosaic) a pixel is seen from.
    return out.assign_coords(
        x=("x", grid.x_coords(), out["x"].attrs),
        y=("y", grid.y_coords(), out["y"].attrs),
    )


def write_zarr(data: Any, target: str | os.PathLike[str]) -> None:
    """Write a mosaic DataArray as a Zarr store at ``target``, whole or not at all.

    It is written to ``<target>.part`` and renamed into place (replacing an
    older store of that name) only once complete. Needs zarr (``eoclient[zarr]``).
    """
    try:
        importlib.import_module("zarr")
    except ImportError:
        raise ConfigurationError(
            f"writing a Zarr store needs zarr, which is not installed: {ZARR_INSTALL}"
        ) from None
    final = Path(target)
    part = final.with_name(final.name + ".part")
    shutil.rmtree(part, ignore_errors=True)  # what a failed run left
    try:
        with warnings.catch_warnings():
            # zarr 3 notes that consolidated metadata is not in its spec yet; xarray reads it either way.
            warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
            data.to_dataset(name=data.name or "data").to_zarr(part, mode="w")
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    old = final.with_name(final.name + ".old")
    if final.exists():
        final.rename(old)
    part.rename(final)
    shutil.rmtree(old, ignore_errors=True)
