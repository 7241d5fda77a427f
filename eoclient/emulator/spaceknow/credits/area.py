"""The geometry of credit: an area as polygons, and the 0.01° tiles of a scene's footprint it touches.

Credit is counted in tiles of :data:`TILE_DEG` degrees laid over each scene's
footprint (row 0 at its north edge); :func:`area_polygons` refuses (400
``BAD-REQUEST``) what is not a WGS84 (Multi)Polygon within ±85° latitude.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, Final

from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.spaceknow.scenes import scene_bbox

__all__ = ["MAX_LATITUDE", "TILE_DEG", "area_polygons", "scene_tiles", "tile_km2"]


TILE_DEG: Final = 0.01


MAX_LATITUDE: Final = 85.0


def area_polygons(geojson: Any) -> list[list[list[list[float]]]]:
    """Polygons (lists of rings) of a (Multi)Polygon, a Feature or a GeometryCollection of them."""
    if not isinstance(geojson, dict):
        raise Refusal(400, "BAD-REQUEST", "geojson must be a GeoJSON geometry object")
    kind, coords = geojson.get("type"), geojson.get("coordinates")
    polygons: list[Any]
    if kind == "Feature":
        return area_polygons(geojson.get("geometry"))
    if kind == "GeometryCollection" and isinstance(geojson.get("geometries"), list):
        return [p for part in geojson["geometries"] for p in area_polygons(part)]
    if kind == "Polygon" and isinstance(coords, list):
        polygons = [coords]
    elif kind == "MultiPolygon" and isinstance(coords, list):
        polygons = coords
    else:
        raise Refusal(400, "BAD-REQUEST", "geojson must be a Polygon or a MultiPolygon")
    try:
        out = [[[[float(p[0]), float(p[1])] for p in ring] for ring in polygon] for polygon in polygons]
    except (TypeError, ValueError, IndexError):
        raise Refusal(400, "BAD-REQUEST", "geojson coordinates must be [lon, lat] pairs") from None
    points = [p for polygon in out for ring in polygon for p in ring]
    if not points or any(len(ring) < 4 for polygon in out for ring in polygon):
        raise Refusal(400, "BAD-REQUEST", "geojson rings need at least 4 positions")
    for lon, lat in points:
        if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lon) > 180:
            raise Refusal(400, "BAD-REQUEST", "geojson coordinates must be WGS84 lon/lat")
        if abs(lat) > MAX_LATITUDE:
            raise Refusal(400, "BAD-REQUEST", "The GeoJSON must be within -85 to 85 degrees of latitude")
    return out


def _in_ring(x: float, y: float, ring: Sequence[Sequence[float]]) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _in_polygons(x: float, y: float, polygons: list[list[list[list[float]]]]) -> bool:
    return any(
        _in_ring(x, y, poly[0]) and not any(_in_ring(x, y, hole) for hole in poly[1:]) for poly in polygons
    )


def scene_tiles(scene: dict[str, Any], polygons: list[list[list[list[float]]]]) -> set[tuple[int, int]]:
    """Tiles ``(column, row)`` of the scene's 0.01° grid (row 0 at the north edge) the area touches."""
    x0, y0, x1, y1 = scene_bbox(scene)
    points = [p for polygon in polygons for ring in polygon for p in ring]
    gx0, gy0 = max(x0, min(p[0] for p in points)), max(y0, min(p[1] for p in points))
    gx1, gy1 = min(x1, max(p[0] for p in points)), min(y1, max(p[1] for p in points))
    if gx0 > gx1 or gy0 > gy1:
        return set()
    cols = range(
        int((gx0 - x0) / TILE_DEG), min(math.ceil((gx1 - x0) / TILE_DEG), math.ceil((x1 - x0) / TILE_DEG))
    )
    rows = range(
        int((y1 - gy1) / TILE_DEG), min(math.ceil((y1 - gy0) / TILE_DEG), math.ceil((y1 - y0) / TILE_DEG))
    )
    tiles: set[tuple[int, int]] = set()
    for i in cols:
        for j in rows:
            cx, cy = x0 + (i + 0.5) * TILE_DEG, y1 - (j + 0.5) * TILE_DEG
            if _in_polygons(cx, cy, polygons):
                tiles.add((i, j))
    if tiles:
        return tiles
    # An area too small to hold a tile centre still touches the tiles its corners are in.
    for px, py in points:
        if x0 <= px <= x1 and y0 <= py <= y1:
            i = min(int((px - x0) / TILE_DEG), max(math.ceil((x1 - x0) / TILE_DEG) - 1, 0))
            j = min(int((y1 - py) / TILE_DEG), max(math.ceil((y1 - y0) / TILE_DEG) - 1, 0))
            tiles.add((i, j))
    return tiles


def tile_km2(scene: dict[str, Any], row: int) -> float:
    """The area in km² of one tile of ``row`` of the scene's grid."""
    lat = scene_bbox(scene)[3] - (row + 0.5) * TILE_DEG
    return (TILE_DEG * 111.32 * math.cos(math.radians(lat))) * (TILE_DEG * 110.574)
