"""Wire models and input checks of SpaceKnow Credits."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

from eoclient._models import Model
from eoclient.errors import ValidationError
from eoclient.geo import as_geojson

__all__ = [
    "MAX_LATITUDE",
    "TRANSACTION_KINDS",
    "AreaCheck",
    "CreditAllocation",
    "CreditTransaction",
    "CreditUserInfo",
    "check_area_geojson",
    "check_credit_limit",
    "check_scene_ids",
]

MAX_LATITUDE: Final = 85.0
"""Check-area geometries must stay within ±85° of latitude (the reference says so)."""

TRANSACTION_KINDS: Final = ("credit.allocate", "credit.preallocate", "credit.return", "credit.update")
"""The transaction kinds the reference shows (others are passed through unchanged)."""


class AreaCheck(Model):
    """What allocating an area in some scenes would cost: credits and square kilometres."""

    cost: float
    km2: float


class CreditTransaction(Model):
    """One entry of a group's credit history.

    ``kind`` is ``credit.allocate`` (an area of a scene was allocated: ``scene_id``,
    ``tiles``), ``credit.preallocate`` (an order reserved credit for
    ``allocations``), ``credit.return`` (credit given back) or ``credit.update``
    (the group's credit was changed by SpaceKnow). Allocations sharing one
    preallocation share its ``credit``.
    """

    id: str
    kind: str
    credit: float = 0.0
    area_km2: float | None = None
    group_id: str | None = None
    user_id: str | None = None
    time: str | None = None
    provider: str | None = None
    dataset: str | None = None
    scene_id: str | None = None
    tiles: list[list[int]] | None = None
    allocations: list[str] | None = None
    order_reference_id: str | None = None


class CreditAllocation(Model):
    """An allocated area of one scene: the scene and the tiles of it the group paid for."""

    id: str
    group_id: str | None = None
    scene_id: str | None = None
    tiles: list[list[int]] | None = None


class CreditUserInfo(Model):
    """Credit information of one user (``/credits/user-info``)."""

    id: str
    email: str | None = None
    name: str | None = None
    group_id: str | None = None
    credits_tier: str | None = None
    remaining_credit: float | None = None
    used_credit: float | None = None


def check_scene_ids(scene_ids: Any, *, field: str = "scene_ids") -> list[str]:
    """A non-empty list of non-empty scene id strings (one string is refused: a common slip)."""
    if isinstance(scene_ids, str | bytes) or not isinstance(scene_ids, Sequence):
        raise ValidationError(field, "expected a list of scene ids")
    if len(scene_ids) == 0:
        raise ValidationError(field, "must not be empty")
    for i, scene_id in enumerate(scene_ids):
        if not isinstance(scene_id, str) or not scene_id:
            raise ValidationError(f"{field}[{i}]", "must be a non-empty string")
    return list(scene_ids)


def check_area_geojson(geometry: Any, *, field: str = "geojson") -> dict[str, Any]:
    """A GeoJSON geometry in WGS84 whose latitudes all lie within ±85 degrees."""
    geojson = as_geojson(geometry, field=field)
    for lon, lat in _positions(geojson):
        if not -180.0 <= lon <= 180.0:
            raise ValidationError(field, f"longitude {lon} is outside [-180, 180]")
        if not -MAX_LATITUDE <= lat <= MAX_LATITUDE:
            raise ValidationError(
                field, f"latitude {lat} is outside [-{MAX_LATITUDE:g}, {MAX_LATITUDE:g}] degrees"
            )
    return geojson


def _positions(geojson: dict[str, Any]) -> list[tuple[float, float]]:
    """Every (lon, lat) of a geometry (``as_geojson`` already checked they are finite numbers)."""
    if geojson["type"] == "GeometryCollection":
        out: list[tuple[float, float]] = []
        for part in geojson["geometries"]:
            out.extend(_positions(as_geojson(part)))
        return out
    found: list[tuple[float, float]] = []
    stack: list[Any] = [geojson["coordinates"]]
    while stack:
        item = stack.pop()
        if item and all(isinstance(v, int | float) for v in item):
            if len(item) < 2:
                raise ValidationError("geojson", "a position needs a longitude and a latitude")
            found.append((float(item[0]), float(item[1])))
        else:
            stack.extend(item)
    return found


def check_credit_limit(limit: Any, *, field: str = "credit_limit") -> float | None:
    """``None`` (no limit) or a finite number >= 0."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int | float) or not math.isfinite(limit):
        raise ValidationError(field, f"must be a finite number or None, got {limit!r}")
    if limit < 0:
        raise ValidationError(field, "must be >= 0")
    return float(limit)
