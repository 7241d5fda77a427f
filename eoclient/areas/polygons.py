"""Plane polygons as plain lists, and the few exact operations splitting needs.

A *shape* is a list of polygons; a polygon is a list of rings (the first is
the outer boundary, the others are holes); a ring is a list of ``(x, y)``
points without the closing repeat. Orientation does not matter: areas are
taken as magnitudes, outer minus holes.

The one operation everything rests on is clipping a ring to an axis-aligned
band (Sutherland-Hodgman, one half-plane at a time). For a convex clip region
it is exact for any simple ring, concave ones included: where the ring leaves
the region and comes back, the clipped ring runs along the region's edge, so
it may hold zero-width "bridges", but its signed area is exactly the area of
the ring inside the region. That is all the splitter asks of it (how much of
the area lies in a tile or a UTM zone), so no geometry library is needed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from eoclient.errors import ValidationError

__all__ = [
    "Point",
    "Polygon",
    "Ring",
    "Shape",
    "clip_shape",
    "clipped_area",
    "rectangle",
    "shape_area",
    "shape_bounds",
    "shape_of",
    "transform_shape",
]

Point = tuple[float, float]
Ring = list[Point]
Polygon = list[Ring]
Shape = list[Polygon]


def rectangle(min_x: float, min_y: float, max_x: float, max_y: float) -> Shape:
    """The shape of one axis-aligned box."""
    return [[[(min_x, min_y), (max_x, min_y), (max_x, max_y), (min_x, max_y)]]]


def shape_of(geometry: Mapping[str, Any], *, field: str = "area") -> Shape:
    """The polygons of a checked GeoJSON Polygon, MultiPolygon or GeometryCollection of them.

    Anything without an area (points, lines) is refused: there is nothing to tile.
    """
    kind = geometry["type"]
    if kind == "Polygon":
        return [_polygon(geometry["coordinates"])]
    if kind == "MultiPolygon":
        return [_polygon(p) for p in geometry["coordinates"]]
    if kind == "GeometryCollection":
        return [p for i, g in enumerate(geometry["geometries"]) for p in shape_of(g, field=f"{field}[{i}]")]
    raise ValidationError(field, f"must be a Polygon or MultiPolygon (an area to tile), got a {kind}")


def _polygon(rings: Sequence[Sequence[Sequence[float]]]) -> Polygon:
    out: Polygon = []
    for ring in rings:
        points = [(float(p[0]), float(p[1])) for p in ring]
        if len(points) > 1 and points[0] == points[-1]:
            points.pop()  # GeoJSON repeats the first position; the math here closes rings itself
        out.append(points)
    return out


def _signed_area(ring: Ring) -> float:
    """The signed area (shoelace), taken around the first point so that UTM-sized coordinates stay exact."""
    if len(ring) < 3:
        return 0.0
    x0, y0 = ring[0]
    total = 0.0
    px, py = 0.0, 0.0
    for x, y in ring[1:]:
        qx, qy = x - x0, y - y0
        total += px * qy - qx * py
        px, py = qx, qy
    return total / 2.0


def shape_area(shape: Shape) -> float:
    """The area of a shape: each polygon's outer ring minus its holes."""
    return sum(abs(_signed_area(p[0])) - sum(abs(_signed_area(h)) for h in p[1:]) for p in shape if p)


def shape_bounds(shape: Shape) -> tuple[float, float, float, float]:
    """``(min_x, min_y, max_x, max_y)`` of every outer ring's points (holes lie inside them)."""
    xs = [x for p in shape for x, _ in p[0]]
    ys = [y for p in shape for _, y in p[0]]
    return min(xs), min(ys), max(xs), max(ys)


def _clip_half(ring: Ring, axis: int, bound: float, keep_above: bool) -> Ring:
    """The part of ``ring`` on one side of the line ``coordinate[axis] == bound`` (the line included)."""
    if not ring:
        return ring
    out: Ring = []

    def inside(p: Point) -> bool:
        return p[axis] >= bound if keep_above else p[axis] <= bound

    prev = ring[-1]
    prev_in = inside(prev)
    for cur in ring:
        cur_in = inside(cur)
        if cur_in != prev_in:
            out.append(_crossing(prev, cur, axis, bound))
        if cur_in:
            out.append(cur)
        prev, prev_in = cur, cur_in
    return out


def _crossing(a: Point, b: Point, axis: int, bound: float) -> Point:
    """Where segment ``a``-``b`` crosses the line; the crossing lies exactly on it (no drift off the edge)."""
    t = (bound - a[axis]) / (b[axis] - a[axis])
    other = 1 - axis
    value = a[other] + t * (b[other] - a[other])
    return (bound, value) if axis == 0 else (value, bound)


def _clip_ring(ring: Ring, axis: int, low: float, high: float) -> Ring:
    return _clip_half(_clip_half(ring, axis, low, True), axis, high, False)


def clip_shape(shape: Shape, axis: int, low: float, high: float) -> Shape:
    """Every ring clipped to the band ``low <= coordinate[axis] <= high`` (polygons wholly outside dropped).

    The result is for measuring areas (see the module docstring), not for drawing.
    """
    out: Shape = []
    for polygon in shape:
        coords = [pt[axis] for pt in polygon[0]]
        if not coords or min(coords) >= high or max(coords) <= low:
            continue  # outer ring outside the band (or touching it only): no area in it
        outer = _clip_ring(polygon[0], axis, low, high)
        if len(outer) < 3:
            continue
        holes = (_clip_ring(ring, axis, low, high) for ring in polygon[1:])
        out.append([outer, *(h for h in holes if len(h) >= 3)])
    return out


def clipped_area(shape: Shape, min_x: float, min_y: float, max_x: float, max_y: float) -> float:
    """The area of ``shape`` inside the box."""
    return shape_area(clip_shape(clip_shape(shape, 1, min_y, max_y), 0, min_x, max_x))


def transform_shape(
    shape: Shape, project: Callable[[float, float], tuple[float, float]], *, max_step: float
) -> Shape:
    """``shape`` with every point projected, edges first cut into pieces of at most ``max_step``.

    A straight edge in one CRS is a curve in another; the extra points keep the
    projected edge within a few centimetres of that curve.
    """
    return [[_project_ring(ring, project, max_step) for ring in polygon] for polygon in shape]


def _project_ring(
    ring: Ring, project: Callable[[float, float], tuple[float, float]], max_step: float
) -> Ring:
    return [project(x, y) for x, y in _densified(ring, max_step)]


def _densified(ring: Ring, max_step: float) -> Iterable[Point]:
    for i, (ax, ay) in enumerate(ring):
        bx, by = ring[(i + 1) % len(ring)]
        pieces = max(1, math.ceil(math.hypot(bx - ax, by - ay) / max_step))
        yield ax, ay
        for k in range(1, pieces):
            t = k / pieces
            yield ax + t * (bx - ax), ay + t * (by - ay)
