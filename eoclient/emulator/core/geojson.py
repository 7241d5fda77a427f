"""GeoJSON as the services read it: the bounds of any geometry, its structure checked.

The emulator keeps its own reader (it imports nothing from the client, so a
client bug cannot hide behind the same bug in the emulator).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final

__all__ = ["GEOMETRY_TYPES", "Bounds", "GeoJSONError", "geojson_bounds", "union_bounds"]


Bounds = tuple[float, float, float, float]
"""``(min_x, min_y, max_x, max_y)``."""


class GeoJSONError(ValueError):
    """What is wrong with a geometry, in words a service would answer with."""


# How deep the positions sit in each geometry type's coordinates.
_DEPTH: Final = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}
GEOMETRY_TYPES: Final = frozenset(_DEPTH) | {"GeometryCollection"}
"""The GeoJSON geometry types (RFC 7946)."""


def _is_position(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and 2 <= len(value) <= 3
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )


def _positions(value: Any, depth: int, kind: str) -> Iterator[Any]:
    if depth == 0:
        if not _is_position(value):
            raise GeoJSONError(f"{kind} coordinates must be positions [x, y]")
        yield value
        return
    if not isinstance(value, list | tuple):
        raise GeoJSONError(f"{kind} coordinates must be nested lists")
    for item in value:
        yield from _positions(item, depth - 1, kind)


def union_bounds(boxes: Iterable[Bounds]) -> Bounds:
    """The bounds of them all (of a GeometryCollection's parts)."""
    x0s, y0s, x1s, y1s = zip(*boxes, strict=True)
    return min(x0s), min(y0s), max(x1s), max(y1s)


def geojson_bounds(geometry: Any) -> Bounds:
    """``(min_x, min_y, max_x, max_y)`` of a GeoJSON geometry; ``GeoJSONError`` saying what is wrong."""
    if not isinstance(geometry, dict):
        raise GeoJSONError("a geometry must be a JSON object")
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        parts = geometry.get("geometries")
        if not isinstance(parts, list) or not parts:
            raise GeoJSONError("a GeometryCollection needs geometries")
        return union_bounds(geojson_bounds(part) for part in parts)
    if kind not in _DEPTH:
        raise GeoJSONError(f"unknown geometry type {kind!r}")
    points = list(_positions(geometry.get("coordinates"), _DEPTH[str(kind)], str(kind)))
    if not points:
        raise GeoJSONError("has no coordinates")
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return min(xs), min(ys), max(xs), max(ys)
