"""An imagery request's extent: checked as a WGS84 GeoJSON geometry, measured, intersected."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

from eoclient.emulator.core.geojson import GeoJSONError, geojson_bounds
from eoclient.emulator.core.refusal import Refusal

__all__ = ["KM_PER_DEGREE", "extent_bounds", "mbr_sides_km", "overlap"]


KM_PER_DEGREE: Final = 111.32


def mbr_sides_km(bounds: Sequence[float]) -> tuple[float, float]:
    """East-west and north-south sides, in km, of the minimum bounding rectangle ``bounds`` (lon/lat).

    The east-west side is measured along the parallel nearest the equator,
    where the rectangle is widest.
    """
    x0, y0, x1, y1 = bounds
    nearest = 0.0 if y0 <= 0.0 <= y1 else min(abs(y0), abs(y1))
    width = (x1 - x0) * KM_PER_DEGREE * math.cos(math.radians(nearest))
    return width, (y1 - y0) * KM_PER_DEGREE


def extent_bounds(extent: Any, name: str = "extent") -> tuple[float, float, float, float]:
    """The bounds of a GeoJSON extent; 400 when it is not a geometry or not WGS84."""
    try:
        x0, y0, x1, y1 = geojson_bounds(extent)
    except GeoJSONError as exc:
        raise Refusal(400, "BAD-REQUEST", f"{name}: not a valid GeoJSON geometry ({exc})") from None
    if not (-180.0 <= x0 <= x1 <= 180.0 and -90.0 <= y0 <= y1 <= 90.0):
        raise Refusal(400, "BAD-REQUEST", f"{name}: coordinates must be WGS84 longitude/latitude")
    return x0, y0, x1, y1


def overlap(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float, float] | None:
    """The common rectangle of two bounds, ``None`` when they do not meet."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    if x0 > x1 or y0 > y1:
        return None
    return x0, y0, x1, y1
