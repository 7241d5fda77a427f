"""Kraken's scene pairing and grouping: ``/kraken/pairs/initiate`` and ``/kraken/nwise/initiate``.

Scenes are grouped by orbit (the synthetic world has one relative orbit per
dataset and area), kept when they meet the extent, and paired
(``consecutive``, ``yoy``, ``all``, optionally one a ``periodicity`` slot) or
grouped cumulatively (n-wise). Two scenes of one orbit group sharing a
datetime make the pipeline FAIL with ``SCENES-WITH-SAME-DATETIME``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.refusal import Refusal, json_body
from eoclient.emulator.core.state import get_state
from eoclient.emulator.spaceknow.accounts import require
from eoclient.emulator.spaceknow.kraken.inputs import (
    find_scenes,
    geometry_bbox,
    intersection,
    km2,
    orbit_group,
    read_number,
    read_scene_ids,
    same_datetime,
    scene_time,
)
from eoclient.emulator.spaceknow.kraken.maps import BBox
from eoclient.emulator.spaceknow.pipelines import create_pipeline, initiate_response
from eoclient.emulator.spaceknow.scenes import scene_bbox

__all__ = ["nwise_initiate", "pairs_initiate"]


_PERIODS: Final = ("daily", "weekly", "monthly", "quarterly", "yearly")


_PAIRING_TYPES: Final = ("consecutive", "yoy", "all")


def _usable(scenes: Sequence[dict[str, Any]], extent: BBox, min_km2: float) -> list[dict[str, Any]]:
    out = []
    for scene in scenes:
        box = intersection(extent, scene_bbox(scene))
        if box is not None and km2(box) >= min_km2:
            out.append(scene)
    return out


def _groups(scenes: Sequence[dict[str, Any]], top_only: bool) -> list[list[dict[str, Any]]]:
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for scene in scenes:
        groups.setdefault(orbit_group(scene), []).append(scene)
    ordered = [sorted(g, key=lambda s: (s["datetime"], s["sceneId"])) for g in groups.values()]
    if top_only and ordered:
        ordered = [max(ordered, key=len)]
    return ordered


def _slot(when: datetime, periodicity: str) -> tuple[int, ...]:
    if periodicity == "daily":
        return (when.year, when.month, when.day)
    if periodicity == "weekly":
        iso = when.isocalendar()
        return (iso.year, iso.week)
    if periodicity == "monthly":
        return (when.year, when.month)
    if periodicity == "quarterly":
        return (when.year, (when.month - 1) // 3)
    return (when.year,)


async def pairs_initiate(request: web.Request) -> web.StreamResponse:
    """``POST /kraken/pairs/initiate``: pairs of scenes for pairwise map types."""
    require(request, "imagery.availability")
    state = get_state(request)
    body = await json_body(request)
    ids = read_scene_ids(body)
    if "extent" not in body:
        raise Refusal(400, "BAD-REQUEST", "extent is required")
    extent = geometry_bbox(body["extent"], "extent")
    pairing = body.get("pairingType") or "consecutive"
    if pairing not in _PAIRING_TYPES:
        raise Refusal(400, "BAD-REQUEST", f"pairingType must be one of {', '.join(_PAIRING_TYPES)}")
    periodicity = body.get("periodicity")
    if periodicity is not None and periodicity not in _PERIODS:
        raise Refusal(400, "BAD-REQUEST", f"periodicity must be one of {', '.join(_PERIODS)}")
    min_km2 = read_number(body, "minIntersection", 0.0) or 0.0
    min_days = read_number(body, "minDayDelta", 0.0) or 0.0
    max_days = read_number(body, "maxDayDelta")
    max_yoy = read_number(body, "maxYoyDelta", 15.0) or 15.0
    scenes = _usable(find_scenes(state, ids), extent, min_km2)
    error = same_datetime(scenes)
    pairs: list[dict[str, str]] = []
    for group in _groups(scenes, bool(body.get("onlyTopOrbitNumber"))):
        slots = group
        if periodicity is not None:
            latest: dict[tuple[int, ...], dict[str, Any]] = {}
            for scene in group:
                latest[_slot(scene_time(scene), periodicity)] = scene
            slots = list(latest.values())
        candidates: list[tuple[dict[str, Any], dict[str, Any]]] = []
        if pairing == "consecutive":
            candidates = list(itertools.pairwise(slots))
        elif pairing == "all":
            candidates = [(a, b) for i, a in enumerate(slots) for b in slots[i + 1 :]]
        else:  # yoy: each scene with the one closest to a year before it
            for new in slots:
                best = min(
                    (old for old in slots if old is not new),
                    key=lambda old: abs((scene_time(new) - scene_time(old)).days - 365),
                    default=None,
                )
                if best is not None and abs((scene_time(new) - scene_time(best)).days - 365) <= max_yoy:
                    candidates.append((best, new))
        for old, new in candidates:
            days = (scene_time(new) - scene_time(old)).total_seconds() / 86400
            if days < min_days or (max_days is not None and days > max_days):
                continue
            both = intersection(scene_bbox(old), scene_bbox(new))
            overlap = intersection(both, extent) if both is not None else None
            if overlap is None or km2(overlap) < min_km2:
                continue
            pairs.append({"newSceneId": new["sceneId"], "oldSceneId": old["sceneId"]})
    job = create_pipeline(state, "kraken/pairs", result={"pairwise": pairs}, error=error)
    return initiate_response(job, state)


async def nwise_initiate(request: web.Request) -> web.StreamResponse:
    """``POST /kraken/nwise/initiate``: cumulated groups of scenes for n-wise map types."""
    require(request, "imagery.availability")
    state = get_state(request)
    body = await json_body(request)
    if body.get("groupingType") != "cumulated":
        raise Refusal(400, "BAD-REQUEST", "groupingType must be 'cumulated'")
    ids = read_scene_ids(body, minimum=3)
    if "extent" not in body:
        raise Refusal(400, "BAD-REQUEST", "extent is required")
    extent = geometry_bbox(body["extent"], "extent")
    min_scenes = body.get("minScenes", 3)
    if isinstance(min_scenes, bool) or not isinstance(min_scenes, int) or min_scenes < 3:
        raise Refusal(400, "BAD-REQUEST", "minScenes must be an integer >= 3")
    scenes = _usable(find_scenes(state, ids), extent, 0.0)
    error = same_datetime(scenes)
    groups = [
        [s["sceneId"] for s in group[:size]]
        for group in _groups(scenes, False)
        for size in range(min_scenes, len(group) + 1)
    ]
    job = create_pipeline(state, "kraken/nwise", result={"nwise": groups}, error=error)
    return initiate_response(job, state)
