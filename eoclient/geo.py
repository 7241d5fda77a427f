"""Geometries, bounding boxes and coordinate reference systems, as both services take them.

Geometries are accepted as GeoJSON dicts or any object with
``__geo_interface__`` (shapely, geopandas rows, pygeoif...); nothing here needs
a geometry library. CRSs are accepted as EPSG codes (``4326``, ``"EPSG:32633"``)
or the OGC URLs Sentinel Hub uses on the wire.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from eoclient.errors import ValidationError

__all__ = ["CRS84", "BBox", "as_geojson", "bbox_of", "crs_url", "geometry_bounds"]

CRS84: Final = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_EPSG_URL: Final = "http://www.opengis.net/def/crs/EPSG/0/{code}"
_EPSG_RE: Final = re.compile(r"^(?:EPSG:)?(\d{4,6})$", re.I)
_URL_RE: Final = re.compile(r"^https?://www\.opengis\.net/def/crs/(EPSG/0/\d+|OGC/1\.3/CRS84)$")
_GEOMETRY_TYPES: Final = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"}
)


def crs_url(crs: int | str | None, *, field: str = "crs") -> str:
    """The OGC URL for a CRS given as an EPSG code, ``"EPSG:n"``, ``"CRS84"`` or a URL."""
    if crs is None:
        return CRS84
    if isinstance(crs, bool):
        raise ValidationError(field, f"not a CRS: {crs!r}")
    if isinstance(crs, int):
        return CRS84 if crs == 4326 else _EPSG_URL.format(code=crs)
    text = crs.strip()
    if text.upper() in {"CRS84", "WGS84", "OGC:CRS84"}:
        return CRS84
    if _URL_RE.match(text):
        return text
    match = _EPSG_RE.match(text)
    if match:
        code = int(match.group(1))
        return CRS84 if code == 4326 else _EPSG_URL.format(code=code)
    raise ValidationError(field, f"not a CRS Sentinel Hub understands: {crs!r}")


def as_geojson(geometry: Any, *, field: str = "geometry") -> dict[str, Any]:
    """A GeoJSON geometry dict from a dict, a Feature, or an object with ``__geo_interface__``."""
    if hasattr(geometry, "__geo_interface__"):
        geometry = geometry.__geo_interface__
    if not isinstance(geometry, Mapping):
        raise ValidationError(field, f"expected a GeoJSON geometry, got {type(geometry).__name__}")
    if geometry.get("type") == "Feature":
        return as_geojson(geometry.get("geometry"), field=field)
    kind = geometry.get("type")
    if kind not in _GEOMETRY_TYPES:
        raise ValidationError(field, f"unknown GeoJSON geometry type {kind!r}")
    if kind == "GeometryCollection":
        if not isinstance(geometry.get("geometries"), Sequence):
            raise ValidationError(field, "a GeometryCollection needs 'geometries'")
    else:
        coords = geometry.get("coordinates")
        if not isinstance(coords, Sequence) or isinstance(coords, str) or len(coords) == 0:
            raise ValidationError(field, "empty or missing 'coordinates'")
        if not all(math.isfinite(v) for v in _flatten(coords, field)):
            raise ValidationError(field, "coordinates must be finite numbers")
    out: dict[str, Any] = _plain(geometry)
    return out


def _plain(value: Any) -> Any:
    """Tuples (from __geo_interface__) become lists, mappings become dicts: JSON-ready."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _flatten(coords: Any, field: str) -> list[float]:
    """Every number of nested coordinates, in order (x, y[, z], x, y, ...)."""
    out: list[float] = []

    def walk(item: Any) -> None:
        if isinstance(item, bool):
            raise ValidationError(field, "coordinates must be numbers")
        if isinstance(item, int | float):
            out.append(float(item))
        elif isinstance(item, Sequence) and not isinstance(item, str):
            for sub in item:
                walk(sub)
        else:
            raise ValidationError(field, f"coordinates must be numbers, got {type(item).__name__}")

    walk(coords)
    return out


def _positions(coords: Any) -> list[Sequence[float]]:
    """The positions (innermost coordinate lists) of nested GeoJSON coordinates."""
    if coords and isinstance(coords[0], int | float):
        return [coords]
    out: list[Sequence[float]] = []
    for sub in coords:
        out.extend(_positions(sub))
    return out


def geometry_bounds(geometry: Any) -> tuple[float, float, float, float]:
    """``(min_x, min_y, max_x, max_y)`` of a GeoJSON geometry."""
    gj = as_geojson(geometry)
    parts = gj["geometries"] if gj["type"] == "GeometryCollection" else [gj]
    xs: list[float] = []
    ys: list[float] = []
    for part in parts:
        # Positions, not a flat list: a 3D position (x, y, z) must not shift the axes.
        for position in _positions(as_geojson(part)["coordinates"]):
            xs.append(float(position[0]))
            ys.append(float(position[1]))
    if not xs:
        raise ValidationError("geometry", "has no coordinates")
    return min(xs), min(ys), max(xs), max(ys)


@dataclass(frozen=True, slots=True)
class BBox:
    """An axis-aligned box ``(min_x, min_y, max_x, max_y)`` in ``crs`` (default WGS84 lon/lat)."""

    min_x: float
    min_y: float
    max_x: float
    max_y: float
    crs: str = CRS84

    def __post_init__(self) -> None:
        validate_bbox((self.min_x, self.min_y, self.max_x, self.max_y), field="bbox")
        object.__setattr__(self, "crs", crs_url(self.crs, field="bbox.crs"))

    def as_list(self) -> list[float]:
        """``[min_x, min_y, max_x, max_y]`` as on the wire."""
        return [self.min_x, self.min_y, self.max_x, self.max_y]

    @property
    def __geo_interface__(self) -> dict[str, Any]:
        x0, y0, x1, y1 = self.as_list()
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        return {"type": "Polygon", "coordinates": [ring]}


def validate_bbox(values: Sequence[Any], *, field: str = "bbox") -> list[float]:
    """Check four finite numbers with min <= max on both axes (strictly less: no empty box)."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence) or len(values) != 4:
        raise ValidationError(field, "expected four numbers [min_x, min_y, max_x, max_y]")
    nums: list[float] = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ValidationError(f"{field}[{i}]", f"must be a finite number, got {v!r}")
        nums.append(float(v))
    if nums[0] > nums[2]:
        raise ValidationError(field, f"min_x {nums[0]} is greater than max_x {nums[2]}")
    if nums[1] > nums[3]:
        raise ValidationError(field, f"min_y {nums[1]} is greater than max_y {nums[3]}")
    if nums[0] == nums[2] or nums[1] == nums[3]:
        raise ValidationError(field, "is empty (zero width or height)")
    return nums


def bbox_of(value: Any, *, field: str = "bbox") -> list[float]:
    """``[min_x, min_y, max_x, max_y]`` from a :class:`BBox`, a 4-sequence, or anything with bounds."""
    if isinstance(value, BBox):
        return value.as_list()
    if hasattr(value, "bounds") and not isinstance(value, Sequence):
        return validate_bbox(list(value.bounds), field=field)
    return validate_bbox(value, field=field)
