"""Small Zarr v2 groups written into the emulator's object store, as a user's bucket would hold them.

Plain JSON and ``struct``-packed chunks (no zarr or numpy needed): coordinate
arrays ``y``/``x`` (or ``lat``/``lon``), an optional ``time``, and data arrays.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Sequence
from typing import Any

from eoclient.emulator.core.objects import ObjectStore

CRS_4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
CRS_UTM33 = "http://www.opengis.net/def/crs/EPSG/0/32633"


def _put_json(store: ObjectStore, bucket: str, key: str, value: Any) -> None:
    store.put(bucket, key, json.dumps(value).encode(), content_type="application/json")


def _zarray(shape: list[int], dtype: str, *, compressor: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "zarr_format": 2,
        "shape": shape,
        "chunks": shape,
        "dtype": dtype,
        "compressor": compressor,
        "fill_value": None,
        "filters": None,
        "order": "C",
        **extra,
    }


def write_group(
    store: ObjectStore,
    bucket: str,
    path: str,
    *,
    xs: Sequence[float] = (500_005.0, 500_015.0, 500_025.0, 500_035.0),
    ys: Sequence[float] = (4_600_025.0, 4_600_015.0, 4_600_005.0),
    spatial: tuple[str, str] = ("y", "x"),
    times: int = 0,
    data: dict[str, str] | None = None,
    zattrs: dict[str, Any] | None = None,
    compress: bool = False,
) -> None:
    """A group at ``s3://bucket/path`` with coordinates and data arrays (``name -> dtype``)."""
    store.create_bucket(bucket)
    _put_json(store, bucket, f"{path}.zgroup", {"zarr_format": 2})
    if zattrs is not None:
        _put_json(store, bucket, f"{path}.zattrs", zattrs)
    y_name, x_name = spatial
    compressor = {"id": "zlib", "level": 1} if compress else None
    for name, values in ((x_name, list(xs)), (y_name, list(ys))):
        _put_json(
            store, bucket, f"{path}{name}/.zarray", _zarray([len(values)], "<f8", compressor=compressor)
        )
        _put_json(store, bucket, f"{path}{name}/.zattrs", {"_ARRAY_DIMENSIONS": [name]})
        raw = struct.pack(f"<{len(values)}d", *values)
        store.put(bucket, f"{path}{name}/0", zlib.compress(raw) if compress else raw)
    dims = [y_name, x_name]
    shape = [len(ys), len(xs)]
    if times:
        _put_json(store, bucket, f"{path}time/.zarray", _zarray([times], "<i8"))
        _put_json(store, bucket, f"{path}time/.zattrs", {"_ARRAY_DIMENSIONS": ["time"]})
        store.put(bucket, f"{path}time/0", struct.pack(f"<{times}q", *range(times)))
        dims, shape = ["time", *dims], [times, *shape]
    for name, dtype in (data if data is not None else {"temp": "<f4"}).items():
        _put_json(store, bucket, f"{path}{name}/.zarray", _zarray(shape, dtype, fill_value=-9999))
        _put_json(store, bucket, f"{path}{name}/.zattrs", {"_ARRAY_DIMENSIONS": dims, "units": "K"})
