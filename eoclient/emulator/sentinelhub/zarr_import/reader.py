"""Reading and checking a Zarr v2 group in the emulator's object store, as ingestion does.

The service's data constraints (Zarr Import API documentation), each a
reason for ``FAILED`` with an ``ingestionErrors`` text:

* a single Zarr group (``.zgroup``, ``zarr_format`` 2) at the collection's path;
* exactly two spatial coordinate arrays, ``x`` and ``y`` or ``lat`` and
  ``lon``, and optionally a ``time`` one, each one-dimensional;
* data arrays of two or three dimensions, ``[y, x]`` or ``[time, y, x]``
  (``lat``/``lon`` likewise; names from xarray's ``_ARRAY_DIMENSIONS``
  attribute), sized as the coordinates are, in row-major order (``"C"``);
* every array of 32- or 64-bit integers or floats;
* data array names that are JavaScript identifiers (they are evalscript names).

What ingestion computes from a readable group: the width and height (the
``x``/``y`` coordinate sizes), the envelope in the native CRS (from the
coordinate values, pixel centres widened by half a pixel) and the resolution
limit (3x the pixel size, in metres). Coordinate chunks are decoded when
stored raw, zlib or gzip; with another compressor (Blosc...) the emulator
cannot read the values, and the collection gets no envelope nor resolution
limit (a simplification: the service reads them).
"""

from __future__ import annotations

import gzip
import json
import math
import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, Final

from eoclient.emulator.core.objects import ObjectStore

__all__ = ["Ingested", "read_group"]

_DTYPE_RE: Final = re.compile(r"^[<>|]([iuf])([48])$")
_JS_NAME_RE: Final = re.compile(r"^[^\W\d][\w$]*$|^\$[\w$]*$")
_JS_RESERVED: Final = frozenset(
    [
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "new",
        "null",
        "return",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "var",
        "void",
        "while",
        "with",
        "yield",
        "let",
        "static",
        "enum",
        "await",
        "implements",
        "package",
        "protected",
        "interface",
        "private",
        "public",
    ]
)
_SPATIAL: Final = (("y", "x"), ("lat", "lon"))
_METRES_PER_DEGREE: Final = 111_320.0
_DEGREE_CRS: Final = ("EPSG/0/4326", "OGC/1.3/CRS84")


@dataclass
class Ingested:
    """What an ingestion made of the group: an error text, or the collection's computed fields."""

    error: str | None = None
    arrays: list[dict[str, Any]] = field(default_factory=list)  # name, zarray, zattrs
    bands: dict[str, dict[str, Any]] = field(default_factory=dict)
    zattrs: dict[str, Any] | None = None
    width: int | None = None
    height: int | None = None
    envelope: dict[str, Any] | None = None
    max_meters_per_pixel: float | None = None


class _Failed(Exception):
    pass


def _json(store: ObjectStore, bucket: str, key: str, *, required: bool) -> dict[str, Any] | None:
    obj = store.get(bucket, key)
    if obj is None:
        if required:
            raise _Failed(f"s3://{bucket}/{key} not found")
        return None
    try:
        value = json.loads(obj.body)
    except ValueError:
        raise _Failed(f"s3://{bucket}/{key} is not valid JSON") from None
    if not isinstance(value, dict):
        raise _Failed(f"s3://{bucket}/{key} is not a JSON object")
    return value


def _dims(name: str, zarray: dict[str, Any], zattrs: dict[str, Any]) -> list[str]:
    dims = zattrs.get("_ARRAY_DIMENSIONS")
    shape = zarray["shape"]
    if not isinstance(dims, list) or not all(isinstance(d, str) for d in dims) or len(dims) != len(shape):
        raise _Failed(
            f"array {name}: _ARRAY_DIMENSIONS in .zattrs must name each of its {len(shape)} dimensions"
        )
    return dims


def _check_array(name: str, zarray: dict[str, Any]) -> None:
    if zarray.get("zarr_format") != 2:
        raise _Failed(f"array {name}: only Zarr format 2 is supported")
    shape, chunks = zarray.get("shape"), zarray.get("chunks")
    if not isinstance(shape, list) or not all(isinstance(n, int) and n > 0 for n in shape):
        raise _Failed(f"array {name}: shape must be a list of positive integers")
    if not isinstance(chunks, list) or len(chunks) != len(shape):
        raise _Failed(f"array {name}: chunks must give one size per dimension")
    if not isinstance(zarray.get("dtype"), str) or not _DTYPE_RE.match(zarray["dtype"]):
        raise _Failed(
            f"array {name}: dtype {zarray.get('dtype')!r} is not supported; "
            "use 32- or 64-bit integers or floats (i4, i8, u4, u8, f4, f8)"
        )
    if zarray.get("order", "C") != "C":
        raise _Failed(f'array {name}: data must be stored in row-major order ("order": "C")')


def _decode_chunk(raw: bytes, compressor: Any) -> bytes | None:
    if compressor is None:
        return raw
    kind = compressor.get("id") if isinstance(compressor, dict) else None
    if kind == "zlib":
        return zlib.decompress(raw)
    if kind == "gzip":
        return gzip.decompress(raw)
    return None  # Blosc & co.: not readable here


def _values(store: ObjectStore, bucket: str, prefix: str, zarray: dict[str, Any]) -> list[float] | None:
    """A 1-D coordinate array's values, or ``None`` when a chunk is compressed in a way not read here."""
    dtype: str = zarray["dtype"]
    order = ">" if dtype[0] == ">" else "<"
    fmt = {"i4": "i", "i8": "q", "u4": "I", "u8": "Q", "f4": "f", "f8": "d"}[dtype[1:]]
    size, chunk = zarray["shape"][0], zarray["chunks"][0]
    fill = zarray.get("fill_value")
    out: list[float] = []
    for index in range(math.ceil(size / chunk)):
        count = min(chunk, size - index * chunk)
        obj = store.get(bucket, f"{prefix}{index}")
        if obj is None:
            if not isinstance(fill, int | float):
                raise _Failed(
                    f"coordinate chunk s3://{bucket}/{prefix}{index} is missing and has no fill_value"
                )
            out.extend([float(fill)] * count)
            continue
        data = _decode_chunk(obj.body, zarray.get("compressor"))
        if data is None:
            return None
        item = struct.calcsize(fmt)
        if len(data) < count * item:
            raise _Failed(f"coordinate chunk s3://{bucket}/{prefix}{index} is truncated")
        out.extend(struct.unpack(f"{order}{count}{fmt}", data[: count * item]))
    return out


def _band(zarray: dict[str, Any], name: str) -> dict[str, Any]:
    dtype: str = zarray["dtype"]
    band: dict[str, Any] = {
        "bitDepth": int(dtype[2]) * 8,
        "sampleFormat": {"i": "INT", "u": "UINT", "f": "FLOAT"}[dtype[1]],
        "source": name,
        "bandIndex": 1,
    }
    fill = zarray.get("fill_value")
    if isinstance(fill, int | float) and not isinstance(fill, bool) and math.isfinite(fill):
        band["noData"] = fill
    return band


def _edges(values: list[float]) -> tuple[float, float, float]:
    """``(low, high, pixel size)`` of pixel-centre coordinates widened by half a pixel."""
    low, high = min(values), max(values)
    step = (high - low) / (len(values) - 1) if len(values) > 1 else 1.0
    return low - step / 2, high + step / 2, step


def _read(store: ObjectStore, bucket: str, path: str, crs: str) -> Ingested:
    if bucket not in store.buckets:
        raise _Failed(f"bucket {bucket} does not exist or Sentinel Hub has no access to it")
    group = _json(store, bucket, f"{path}.zgroup", required=False)
    if group is None:
        raise _Failed(f"no Zarr group at s3://{bucket}/{path} (.zgroup not found)")
    if group.get("zarr_format") != 2:
        raise _Failed("only Zarr format 2 groups are supported")
    names = sorted(
        {
            obj.key[len(path) : -len("/.zarray")]
            for obj in store.list(bucket, prefix=path)
            if obj.key.endswith("/.zarray") and "/" not in obj.key[len(path) : -len("/.zarray")]
        }
    )
    arrays: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for name in names:
        zarray = _json(store, bucket, f"{path}{name}/.zarray", required=True) or {}
        _check_array(name, zarray)
        arrays[name] = (zarray, _json(store, bucket, f"{path}{name}/.zattrs", required=False) or {})
    spatial = [pair for pair in _SPATIAL if any(n in arrays for n in pair)]
    if len(spatial) != 1 or not all(n in arrays for n in spatial[0]):
        raise _Failed("there must be exactly two spatial coordinate arrays, named x and y or lat and lon")
    y_name, x_name = spatial[0]
    coords = {y_name, x_name} | ({"time"} & set(arrays))
    for name in coords:
        zarray, zattrs = arrays[name]
        if len(zarray["shape"]) != 1:
            raise _Failed(f"coordinate array {name} must be one-dimensional")
        if "_ARRAY_DIMENSIONS" in zattrs and _dims(name, zarray, zattrs) != [name]:
            raise _Failed(f"coordinate array {name} must have the dimension {name}")
    sizes = {name: arrays[name][0]["shape"][0] for name in coords}
    data = [n for n in names if n not in coords]
    if not data:
        raise _Failed("the group has no data arrays besides its coordinates")
    for name in data:
        zarray, zattrs = arrays[name]
        if not _JS_NAME_RE.match(name) or name in _JS_RESERVED:
            raise _Failed(
                f"array {name}: the name must be a JavaScript identifier (it is used in evalscripts)"
            )
        dims = _dims(name, zarray, zattrs)
        allowed = ([y_name, x_name], ["time", y_name, x_name] if "time" in coords else None)
        if dims not in allowed:
            raise _Failed(
                f"array {name}: dimensions {dims} must be [{y_name}, {x_name}]"
                + (f" or [time, {y_name}, {x_name}]" if "time" in coords else "")
            )
        for dim, length in zip(dims, zarray["shape"], strict=True):
            if length != sizes[dim]:
                raise _Failed(
                    f"array {name}: dimension {dim} has {length} values, the coordinate {sizes[dim]}"
                )
    done = Ingested(
        arrays=[{"name": n, "zarray": arrays[n][0], "zattrs": arrays[n][1]} for n in names],
        bands={n: _band(arrays[n][0], n) for n in data},
        zattrs=_json(store, bucket, f"{path}.zattrs", required=False),
        width=sizes[x_name],
        height=sizes[y_name],
    )
    xs = _values(store, bucket, f"{path}{x_name}/", arrays[x_name][0])
    ys = _values(store, bucket, f"{path}{y_name}/", arrays[y_name][0])
    if xs is not None and ys is not None:
        (x0, x1, dx), (y0, y1, dy) = _edges(xs), _edges(ys)
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        done.envelope = {"type": "Polygon", "coordinates": [ring]}
        per_unit = _METRES_PER_DEGREE if crs.endswith(_DEGREE_CRS) else 1.0
        done.max_meters_per_pixel = round(3 * max(dx, dy) * per_unit, 6)
    return done


def read_group(store: ObjectStore, bucket: str, path: str, crs: str) -> Ingested:
    """Ingest the Zarr group at ``s3://bucket/path`` (``path`` ends with ``/``): the result or the error."""
    try:
        return _read(store, bucket, path, crs)
    except _Failed as exc:
        return Ingested(error=str(exc))
