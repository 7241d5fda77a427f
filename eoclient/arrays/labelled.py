"""Arrays with coordinates: xarray DataArrays and Datasets that rioxarray and GDAL read back.

:func:`to_dataarray` labels an image array (band axis last) with dims
``("y", "x", "band")`` — ``("time", "y", "x", "band")`` when a time is
given —, pixel-centre ``x``/``y`` coordinates from its :class:`GeoRef`, and a
scalar ``spatial_ref`` coordinate holding the CRS (WKT) and the GDAL
``GeoTransform``, named by the array's ``grid_mapping`` so that
``da.rio.crs`` and ``da.rio.transform()`` equal the georeferencing.
:func:`to_dataset` puts several outputs of one request in one Dataset, and
:func:`stack_time` stacks a time series of them on ``time``.

xarray is optional (``pip install 'eoclient[xarray]'``), imported on first use.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

from eoclient.arrays import _deps
from eoclient.arrays.georef import GeoRef
from eoclient.errors import ValidationError

__all__ = ["GRID_MAPPING", "stack_time", "to_dataarray", "to_dataset"]

GRID_MAPPING: Final = "spatial_ref"
"""The name of the scalar coordinate that holds the CRS (rioxarray's default)."""


def to_dataarray(
    array: Any,
    georef: GeoRef | None,
    *,
    name: str | None = None,
    bands: Sequence[str] | None = None,
    time: dt.datetime | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> Any:
    """An ``xarray.DataArray`` of an image array (``(H, W)`` or ``(H, W, B)``) with its coordinates.

    ``band`` is labelled ``1..B``, or ``bands`` (one name per band). Without
    a ``georef`` the array has no ``x``/``y`` coordinates and no CRS. ``time``
    (a timezone-aware time is taken to UTC; a naive one is UTC) adds a first
    ``time`` dimension of length one, so results of a time series stack.
    """
    xr = _deps.xarray()
    np = _deps.numpy()
    data = np.asarray(array)
    if data.ndim == 2:
        data = data[:, :, np.newaxis]
    if data.ndim != 3:
        raise ValidationError("array", f"must be (height, width) or (height, width, bands), got {data.shape}")
    height, width, count = data.shape
    coords: dict[str, Any] = {"band": _band_labels(bands, count)}
    if georef is not None:
        if (georef.width, georef.height) != (width, height):
            raise ValidationError(
                "georef",
                f"is {georef.width}x{georef.height} pixels, the array {width}x{height}",
            )
        coords.update(_spatial_coords(xr, np, georef))
    dims: tuple[str, ...] = ("y", "x", "band")
    if time is not None:
        data = data[np.newaxis]
        dims = ("time", *dims)
        coords["time"] = np.array([_datetime64(np, time)])
    out = xr.DataArray(data, dims=dims, coords=coords, name=name, attrs=dict(attrs or {}))
    if georef is not None:
        out.encoding["grid_mapping"] = GRID_MAPPING
    return out


def to_dataset(arrays: Mapping[str, Any]) -> Any:
    """One ``xarray.Dataset`` of several DataArrays of the same grid (the outputs of one request).

    When the outputs' band labels differ (``default`` has 3 bands,
    ``dataMask`` 1), each keeps its own band dimension, ``band_<name>``;
    when they agree, they share ``band``.
    """
    xr = _deps.xarray()
    if not arrays:
        raise ValidationError("arrays", "needs at least one array")
    labels = {tuple(a.coords["band"].values.tolist()) for a in arrays.values() if "band" in a.coords}
    shared = len(labels) <= 1
    variables = {}
    for key, item in arrays.items():
        variable = item if shared else item.rename({"band": f"band_{key}"})
        variables[key] = variable.rename(key)
    out = xr.Dataset(variables)
    for key, item in arrays.items():
        if "grid_mapping" in item.encoding:
            out[key].encoding["grid_mapping"] = item.encoding["grid_mapping"]
    return out


def stack_time(arrays: Sequence[Any]) -> Any:
    """DataArrays (or Datasets) of one grid, each with a ``time``, stacked on ``time`` in time order.

    An item that is a result (has ``to_xarray()``, as a
    :class:`~eoclient.sentinelhub.process_models.ProcessResult` does) is
    converted first, so ``stack_time(await asyncio.gather(...))`` works.
    Every item must have a ``time`` dimension and the same CRS and ``x``/``y``
    coordinates as the first; otherwise a :class:`~eoclient.errors.ValidationError`
    names the item.
    """
    xr = _deps.xarray()
    np = _deps.numpy()
    items = [
        item.to_xarray()
        if hasattr(item, "to_xarray") and not isinstance(item, xr.DataArray | xr.Dataset)
        else item
        for item in arrays
    ]
    if not items:
        raise ValidationError("arrays", "needs at least one array to stack")
    first = items[0]
    for i, item in enumerate(items):
        where = f"arrays[{i}]"
        if "time" not in item.dims:
            raise ValidationError(where, "has no time (its request had no timeRange): cannot stack it")
        if _crs_of(item) != _crs_of(first):
            raise ValidationError(where, "is in another CRS than arrays[0]")
        for axis in ("x", "y"):
            mine, theirs = item.coords.get(axis), first.coords.get(axis)
            if (mine is None) != (theirs is None) or (
                mine is not None
                and (
                    mine.shape != theirs.shape or not np.allclose(mine.values, theirs.values, rtol=0, atol=0)
                )
            ):
                raise ValidationError(where, f"is on another grid than arrays[0] (its {axis} differ)")
    stacked = xr.concat(items, dim="time", coords="minimal", compat="override", join="exact")
    stacked = stacked.sortby("time")
    _keep_grid_mapping(xr, first, stacked)
    return stacked


def _keep_grid_mapping(xr: Any, source: Any, target: Any) -> None:
    """Concatenation drops encodings: set ``grid_mapping`` again where the source had it."""
    if not isinstance(source, xr.Dataset):
        if "grid_mapping" in source.encoding:
            target.encoding["grid_mapping"] = source.encoding["grid_mapping"]
        return
    for key in source.data_vars:
        if "grid_mapping" in source[key].encoding:
            target[key].encoding["grid_mapping"] = source[key].encoding["grid_mapping"]


def _crs_of(item: Any) -> str | None:
    ref = item.coords.get(GRID_MAPPING)
    return None if ref is None else str(ref.attrs.get("crs_wkt"))


def _band_labels(bands: Sequence[str] | None, count: int) -> list[Any]:
    if bands is None:
        return list(range(1, count + 1))
    if isinstance(bands, str):
        raise ValidationError("bands", "must be a list of names, one per band, not a string")
    labels = list(bands)
    if len(labels) != count:
        raise ValidationError("bands", f"names {len(labels)} bands, the image has {count}")
    if len(set(labels)) != len(labels):
        raise ValidationError("bands", f"names a band twice: {labels}")
    return labels


def _spatial_coords(xr: Any, np: Any, georef: GeoRef) -> dict[str, Any]:
    if georef.is_geographic:
        x_attrs = {"standard_name": "longitude", "long_name": "longitude", "units": "degrees_east"}
        y_attrs = {"standard_name": "latitude", "long_name": "latitude", "units": "degrees_north"}
    else:
        x_attrs = {"standard_name": "projection_x_coordinate", "long_name": "x"}
        y_attrs = {"standard_name": "projection_y_coordinate", "long_name": "y"}
        if georef.in_metres:
            x_attrs["units"] = y_attrs["units"] = "metre"
    x_attrs["axis"], y_attrs["axis"] = "X", "Y"
    return {
        "x": xr.Variable("x", np.asarray(georef.xs(), dtype="float64"), x_attrs),
        "y": xr.Variable("y", np.asarray(georef.ys(), dtype="float64"), y_attrs),
        GRID_MAPPING: xr.Variable((), np.int64(0), georef.cf_crs_attrs()),
    }


def _datetime64(np: Any, value: dt.datetime) -> Any:
    if not isinstance(value, dt.datetime):
        raise ValidationError("time", f"must be a datetime, got {type(value).__name__}")
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return np.datetime64(value, "ns")
