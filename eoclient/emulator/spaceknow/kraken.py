"""Emulated SpaceKnow Kraken: map releases, dry runs, scene pairing and grouping, algorithms, grid tiles.

Routes (SpaceKnow app, bearer required like every emulated route)::

    POST /kraken/release/initiate   {mapTypes, sceneIds, extent[, subGeometry, onlyIngested]}
    POST /kraken/release/retrieve   -> {mapId, maxZoom, status, subGeometryId, tiles: [[z, x, y]]}
    POST /kraken/dry-run/initiate   {dryRuns: [{mapTypes, scenes: [[id, ...]]}], extent[, allocate, ...]}
    POST /kraken/dry-run/retrieve   -> {allocatedCredits, allocatedKm2, analyzedKm2, ingestedKm2, krakenKm2,
                                        scenes: [{cost, costPerKm2, dataset, km2, provider, sceneId}]}
    POST /kraken/pairs/initiate     {sceneIds, extent[, pairingType, periodicity, minIntersection, ...]}
    POST /kraken/pairs/retrieve     -> {pairwise: [{newSceneId, oldSceneId}]}
    POST /kraken/nwise/initiate     {groupingType: "cumulated", sceneIds (>= 3), extent[, minScenes]}
    POST /kraken/nwise/retrieve     -> {nwise: [[id, ...]]}
    POST /kraken/algorithms         {} -> [{mapType, availableDatasets, gridFiles, maxMpix, ...}]
    GET  /kraken/map-classes/{signed_map_id}
    GET  /kraken/grid/{signed_map_id}/{request_geometry_id}/{zoom}/{x}/{y}/{file_name}
         ?user_threshold=&download_unclipped=&force_download=&classification=&detection_filters=

The scenes are those of :mod:`eoclient.emulator.spaceknow.scenes`, including the
ones ingested into this emulator (unknown ids: 404 ``SCENE-NOT-FOUND``).
Permissions are checked as the reference lists them
(:mod:`eoclient.emulator.spaceknow.accounts`): ``kraken.release`` plus
``imagery.images.<provider>.<dataset>`` (map type ``imagery``) or
``algorithms.<map type>.<provider>.<dataset>`` per scene for a release,
``kraken.dry-run``, ``imagery.availability`` for pairs and n-wise,
``kraken.download-unclipped`` for unclipped grid files; ``/kraken/algorithms``
lists only what the caller may run.

A release gets a map id derived from a hash of its request, ``maxZoom`` from
the finest scene resolution, and lists the tiles covering the analysed area
(extent ∩ footprints, or the sub-geometry) at the deepest zoom where at most
:data:`MAX_LISTED_TILES` tiles do; its scenes become ingested
(:func:`~eoclient.emulator.spaceknow.scenes.add_ingested`, also what imagery's
``onlyIngested`` search lists). Its pipeline FAILS (deterministically) with
``NO-INGESTED-IMAGERY`` when ``onlyIngested`` is set and a commercial scene is
not ingested (Earth Engine scenes always count as ingested),
``AREA-TOO-LARGE`` when the analysed megapixels exceed the map type's
``maxMpix``, and ``SCENES-WITH-SAME-DATETIME`` when two scenes of one orbit
group share a datetime (pairwise releases, pairs, n-wise).

A dry run prices each scene with the credits service's cost model
(:func:`eoclient.emulator.spaceknow.credits.quote`: the group's price for the extent's
tiles it has not allocated yet); with ``allocate`` it allocates them through
:func:`eoclient.emulator.spaceknow.credits.allocate` (balance, transactions and
allocations change; ``CREDIT-LIMIT-EXCEEDED`` / ``INSUFFICIENT-CREDIT`` come
back as the initiate's error). A release allocates nothing: the reference
ties credit to ``check-area`` and the dry run's ``allocate`` only.

Grid files are real PNG/GeoTIFF/GeoJSON/JSON (:mod:`eoclient.emulator.spaceknow.tiles`),
streamed with ``Content-Length``, ``ETag`` and single-range ``Range`` /
``If-Range`` support.

Test knobs on :func:`kraken_store`: ``stall_after`` (bytes of every grid body
sent before the handler waits for ``release_stalled()``; ``stalled`` counts the
responses that got there), ``range_requests`` (``(path, Range header)`` seen).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import math
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.jobs import Phase
from eoclient.emulator.core.refusal import Refusal, json_body
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.spaceknow import credits as sk_credits
from eoclient.emulator.spaceknow import scenes as sk_scenes
from eoclient.emulator.spaceknow.accounts import current_user, require
from eoclient.emulator.spaceknow.algorithms import (
    ALGORITHMS,
    MapType,
    algorithm_permissions,
    dataset_permission,
)
from eoclient.emulator.spaceknow.common import scene_not_found
from eoclient.emulator.spaceknow.pipelines import create_pipeline, initiate_response, retrieve_handler
from eoclient.emulator.spaceknow.scenes import DATETIME_FORMAT, scene_bbox
from eoclient.emulator.spaceknow.tiles import TileSpec, detection_filter, render, tile_bounds, tiles_covering

__all__ = [
    "ALGORITHMS",
    "MAX_LISTED_TILES",
    "KrakenMap",
    "KrakenStore",
    "MapType",
    "algorithm_permissions",
    "kraken_store",
    "setup",
]

MAX_LISTED_TILES: Final = 16
GRID_CHUNK: Final = 4 * 1024
_CACHE_SIZE: Final = 256
# What the reference lists besides the required fields (table and example); others are refused.
OPTIONAL_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "release": ("subGeometry", "onlyIngested"),
    "dry-run": ("allocate", "ignoreCache", "onlyIngested"),
    "pairs": (
        "minIntersection",
        "pairingType",
        "periodicity",
        "minDayDelta",
        "maxDayDelta",
        "onlyTopOrbitNumber",
        "maxYoyDelta",
    ),
    "nwise": ("minScenes",),
}
GRID_QUERY: Final = (
    "user_threshold",
    "download_unclipped",
    "force_download",
    "classification",
    "detection_filters",
)
_KM_PER_DEG: Final = 111.32

BBox = tuple[float, float, float, float]


_PERIODS: Final = ("daily", "weekly", "monthly", "quarterly", "yearly")
_PAIRING_TYPES: Final = ("consecutive", "yoy", "all")
_RELEASE_PHASES: Final = (
    Phase("NEW", 2.0, "Pipeline queued"),
    Phase("PROCESSING", 4.0, "Ingesting imagery"),
    Phase("PROCESSING", 8.0, "Running analysis"),
)


# -- state ------------------------------------------------------------------------------------------------


@dataclass
class KrakenMap:
    """A released map: what the grid endpoint serves."""

    map_id: str
    map_types: list[str]
    scene_ids: list[str]
    area: BBox
    max_zoom: int
    tiles: list[tuple[int, int, int]]
    sub_geometry_id: str = "-"
    sub_area: BBox | None = None


@dataclass
class KrakenStore:
    """The Kraken part of the emulator state (see the module docstring for the test knobs)."""

    maps: dict[str, KrakenMap] = field(default_factory=dict)
    range_requests: list[tuple[str, str]] = field(default_factory=list)
    stall_after: int | None = None
    stalled: int = 0
    _stalled: asyncio.Event | None = None
    tile_cache: OrderedDict[tuple[Any, ...], tuple[bytes, str, str]] = field(default_factory=OrderedDict)

    def stall_event(self) -> asyncio.Event:
        if self._stalled is None:
            self._stalled = asyncio.Event()
        return self._stalled

    def release_stalled(self) -> None:
        """Let every grid response held by ``stall_after`` go on (and stop stalling new ones)."""
        self.stall_after = None
        self.stall_event().set()


def kraken_store(state: EmulatorState) -> KrakenStore:
    """The :class:`KrakenStore` of an emulator."""
    return state.store("sk.kraken", KrakenStore)


# -- request parsing --------------------------------------------------------------------------------------


def _coords(value: Any, where: str) -> Iterable[tuple[float, float]]:
    if isinstance(value, list) and len(value) >= 2 and all(isinstance(v, int | float) for v in value[:2]):
        yield float(value[0]), float(value[1])
        return
    if not isinstance(value, list) or not value:
        raise Refusal(400, "BAD-REQUEST", f"{where}: malformed coordinates")
    for item in value:
        yield from _coords(item, where)


def _geometry_bbox(geometry: Any, where: str) -> BBox:
    if not isinstance(geometry, dict):
        raise Refusal(400, "BAD-REQUEST", f"{where} must be a GeoJSON geometry")
    kind = geometry.get("type")
    if kind == "Feature":
        return _geometry_bbox(geometry.get("geometry"), where)
    points: list[tuple[float, float]] = []
    if kind == "GeometryCollection":
        parts = geometry.get("geometries")
        if not isinstance(parts, list) or not parts:
            raise Refusal(400, "BAD-REQUEST", f"{where}: a GeometryCollection needs geometries")
        boxes = [_geometry_bbox(p, where) for p in parts]
        return (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
    if kind not in ("Polygon", "MultiPolygon"):
        raise Refusal(400, "BAD-REQUEST", f"{where} must be a Polygon or MultiPolygon, not {kind!r}")
    points = list(_coords(geometry.get("coordinates"), where))
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    box = (min(xs), min(ys), max(xs), max(ys))
    if box[0] < -180 or box[2] > 180 or box[1] < -90 or box[3] > 90:
        raise Refusal(400, "BAD-REQUEST", f"{where} must be in WGS84 longitude/latitude")
    if box[0] == box[2] or box[1] == box[3]:
        raise Refusal(400, "BAD-REQUEST", f"{where} has no area")
    return box


def _scene_ids(body: Mapping[str, Any], key: str = "sceneIds", minimum: int = 1) -> list[str]:
    ids = body.get(key)
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        raise Refusal(400, "BAD-REQUEST", f"{key} must be a list of scene ids")
    if len(ids) < minimum:
        raise Refusal(400, "BAD-REQUEST", f"{key} needs at least {minimum} scene id(s)")
    return ids


def _scenes(state: EmulatorState, ids: Sequence[str]) -> list[dict[str, Any]]:
    out = []
    for scene_id in ids:
        scene = sk_scenes.find_scene(scene_id, state)
        if scene is None:
            raise scene_not_found(scene_id)
        out.append(scene)
    return out


def _map_types(body: Mapping[str, Any]) -> list[MapType]:
    names = body.get("mapTypes")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise Refusal(400, "BAD-REQUEST", "mapTypes must be a non-empty list of map type names")
    unknown = [n for n in names if n not in ALGORITHMS]
    if unknown:
        raise Refusal(
            400, "UNKNOWN-MAP-TYPE", f"unknown map type(s) {', '.join(unknown)}; see /kraken/algorithms"
        )
    return [ALGORITHMS[n] for n in names]


def _number(body: Mapping[str, Any], key: str, default: float | None = None) -> float | None:
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Refusal(400, "BAD-REQUEST", f"{key} must be a number")
    return float(value)


# -- geometry helpers -------------------------------------------------------------------------------------


def _intersection(a: BBox, b: BBox) -> BBox | None:
    box = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return box if box[0] < box[2] and box[1] < box[3] else None


def _km2(box: BBox | None) -> float:
    if box is None:
        return 0.0
    mid = math.radians((box[1] + box[3]) / 2)
    return (box[2] - box[0]) * _KM_PER_DEG * math.cos(mid) * (box[3] - box[1]) * _KM_PER_DEG


def _gsd(scene: Mapping[str, Any]) -> float:
    return min(float(b["gsd"]) for b in scene["bands"])


def _max_zoom(scenes: Sequence[dict[str, Any]]) -> int:
    # Web-mercator ground resolution at zoom z is 156543 / 2**z metres per pixel (256 px tiles).
    finest = min(_gsd(s) for s in scenes)
    return max(10, min(19, math.ceil(math.log2(156543.03 / finest))))


def _listed_tiles(area: BBox, max_zoom: int) -> list[tuple[int, int, int]]:
    for zoom in range(max_zoom, -1, -1):
        tiles = tiles_covering(area, zoom)
        if len(tiles) <= MAX_LISTED_TILES:
            return tiles
    return tiles_covering(area, 0)


def _when(scene: Mapping[str, Any]) -> datetime:
    return datetime.strptime(scene["datetime"], DATETIME_FORMAT)


def _orbit_group(scene: Mapping[str, Any]) -> tuple[str, str, str]:
    # The synthetic world has one relative orbit per dataset and area (foreignId is "<area>-<time>").
    return scene["provider"], scene["dataset"], str(scene["foreignId"]).rsplit("-", 1)[0]


def _same_datetime(scenes: Sequence[dict[str, Any]]) -> str | None:
    seen: dict[tuple[tuple[str, str, str], str], str] = {}
    for scene in scenes:
        key = (_orbit_group(scene), scene["datetime"])
        if key in seen:
            return (
                f"SCENES-WITH-SAME-DATETIME: scenes {seen[key]} and {scene['sceneId']} share the datetime "
                f"{scene['datetime']}; deduplicate scenes on datetime first"
            )
        seen[key] = scene["sceneId"]
    return None


def _digest(value: Any, length: int) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).decode().rstrip("=")[:length]


# -- handlers ---------------------------------------------------------------------------------------------


def _check_inputs(types: Sequence[MapType], scenes: Sequence[dict[str, Any]]) -> str:
    """The input kind shared by ``types`` ("single", "pairwise", "nwise"), checked against ``scenes``."""
    kinds = {t.inputs for t in types}
    if len(kinds) > 1:
        raise Refusal(400, "WRONG-NUMBER-OF-SCENES", "map types with different numbers of input scenes")
    kind = kinds.pop()
    n = len(scenes)
    need = {"single": "exactly 1", "pairwise": "exactly 2", "nwise": "at least 3"}[kind]
    if not {"single": n == 1, "pairwise": n == 2, "nwise": n >= 3}[kind]:
        raise Refusal(400, "WRONG-NUMBER-OF-SCENES", f"{kind} map types take {need} scene(s), got {n}")
    for t in types:
        for scene in scenes:
            if (scene["provider"], scene["dataset"]) not in t.datasets:
                where = f"{scene['provider']}/{scene['dataset']}"
                raise Refusal(400, "DATASET-NOT-SUPPORTED", f"map type {t.name} does not run on {where}")
    return kind


def _release_map(
    body: Mapping[str, Any], types: Sequence[MapType], scenes: Sequence[dict[str, Any]]
) -> KrakenMap:
    """The map a valid release request makes (refused if the geometries do not meet)."""
    if "extent" not in body:
        raise Refusal(400, "BAD-REQUEST", "extent is required")
    area: BBox | None = _geometry_bbox(body["extent"], "extent")
    for scene in scenes:
        area = _intersection(area, scene_bbox(scene)) if area is not None else None
        if area is None:
            raise Refusal(400, "EXTENT-OUTSIDE-SCENE", f"extent does not intersect scene {scene['sceneId']}")
    assert area is not None
    sub = body.get("subGeometry")
    sub_id, sub_area = "-", None
    if sub is not None:
        sub_area = _intersection(area, _geometry_bbox(sub, "subGeometry"))
        if sub_area is None:
            raise Refusal(400, "SUBGEOMETRY-OUTSIDE-EXTENT", "subGeometry does not meet the analysed area")
        sub_id = _digest(sub, 12)
    ids = [s["sceneId"] for s in scenes]
    names = [t.name for t in types]
    max_zoom = _max_zoom(scenes)
    return KrakenMap(
        map_id=_digest({"mapTypes": names, "sceneIds": ids, "extent": body["extent"], "sub": sub}, 22),
        map_types=names,
        scene_ids=ids,
        area=area,
        max_zoom=max_zoom,
        tiles=_listed_tiles(sub_area or area, max_zoom),
        sub_geometry_id=sub_id,
        sub_area=sub_area,
    )


def _release_failure(
    state: EmulatorState,
    body: Mapping[str, Any],
    kmap: KrakenMap,
    types: Sequence[MapType],
    scenes: Sequence[dict[str, Any]],
) -> str | None:
    """Why the release pipeline will FAIL, if it will."""
    if body.get("onlyIngested"):
        ingested = sk_scenes.ingested(state)
        for scene in scenes:
            if scene["provider"] != "ee" and scene["sceneId"] not in ingested:
                return f"NO-INGESTED-IMAGERY: scene {scene['sceneId']} has not been ingested yet"
    mpix = _km2(kmap.sub_area or kmap.area) / min(_gsd(s) for s in scenes) ** 2
    for t in types:
        if mpix > t.max_mpix:
            return f"AREA-TOO-LARGE: {mpix:.0f} Mpix to analyse, map type {t.name} allows {t.max_mpix:.0f}"
    return _same_datetime(scenes) if len(scenes) > 1 else None


async def _release_initiate(request: web.Request) -> web.StreamResponse:
    require(request, "kraken.release")
    state = get_state(request)
    store = kraken_store(state)
    body = await json_body(request)
    types = _map_types(body)
    scenes = _scenes(state, _scene_ids(body))
    _check_inputs(types, scenes)
    require(
        request,
        *dict.fromkeys(
            dataset_permission(t.name, s["provider"], s["dataset"]) for t in types for s in scenes
        ),
    )
    kmap = _release_map(body, types, scenes)
    error = _release_failure(state, body, kmap, types, scenes)
    if error is None:
        store.maps[kmap.map_id] = kmap
        # Released imagery is ingested: later releases with onlyIngested, and imagery searches, find it.
        for scene in scenes:
            sk_scenes.add_ingested(state, scene)
    result = {
        "mapId": kmap.map_id,
        "maxZoom": kmap.max_zoom,
        "status": "succeeded",
        "subGeometryId": kmap.sub_geometry_id,
        "tiles": [list(t) for t in kmap.tiles],
    }
    job = create_pipeline(
        state,
        "kraken/release",
        result=result,
        phases=_RELEASE_PHASES,
        outcome="FAILED" if error else "RESOLVED",
        error=error,
    )
    return initiate_response(job, state)


async def _dry_run_initiate(request: web.Request) -> web.StreamResponse:
    require(request, "kraken.dry-run")
    state = get_state(request)
    body = await json_body(request)
    runs = body.get("dryRuns")
    if not isinstance(runs, list) or not runs:
        raise Refusal(400, "BAD-REQUEST", "dryRuns must be a non-empty list")
    if "extent" not in body:
        raise Refusal(400, "BAD-REQUEST", "extent is required")
    extent = _geometry_bbox(body["extent"], "extent")
    scene_ids: dict[str, None] = {}  # every scene once, in order
    analyzed = kraken = 0.0
    for i, run in enumerate(runs):
        if not isinstance(run, dict):
            raise Refusal(400, "BAD-REQUEST", f"dryRuns[{i}] must be an object")
        types = _map_types(run)
        groups = run.get("scenes")
        if not isinstance(groups, list) or not groups:
            raise Refusal(400, "BAD-REQUEST", f"dryRuns[{i}].scenes must be a non-empty list of lists")
        for group in groups:
            scenes = _scenes(state, _scene_ids({"scenes": group}, "scenes"))
            area: BBox | None = extent
            for scene in scenes:
                scene_ids[scene["sceneId"]] = None
                area = _intersection(area, scene_bbox(scene)) if area is not None else None
            group_km2 = _km2(area)
            for t in types:
                kraken += group_km2
                if t.name != "imagery":
                    analyzed += group_km2
    # The price is the credits service's: what allocating the extent in each scene costs the group now.
    user_id = current_user(request).id
    quotes = sk_credits.quote(state, list(scene_ids), body["extent"], user_id)
    allocated_credits = allocated_km2 = 0.0
    if body.get("allocate"):
        allocated_km2 = sum(q.new_km2 for q in quotes if q.tiles)
        allocated_credits = sk_credits.allocate(state, list(scene_ids), body["extent"], user_id)
    result = {
        "allocatedCredits": allocated_credits,
        "allocatedKm2": round(allocated_km2, 4),
        "analyzedKm2": round(analyzed, 4),
        "ingestedKm2": round(sum(q.km2 for q in quotes), 4),
        "krakenKm2": round(kraken, 4),
        "scenes": [
            {
                "cost": round(q.cost, 4),
                "costPerKm2": q.rate,
                "dataset": q.scene["dataset"],
                "km2": round(q.km2, 4),
                "provider": q.scene["provider"],
                "sceneId": q.scene["sceneId"],
            }
            for q in quotes
        ],
    }
    job = create_pipeline(state, "kraken/dry-run", result=result)
    return initiate_response(job, state)


def _usable(scenes: Sequence[dict[str, Any]], extent: BBox, min_km2: float) -> list[dict[str, Any]]:
    out = []
    for scene in scenes:
        box = _intersection(extent, scene_bbox(scene))
        if box is not None and _km2(box) >= min_km2:
            out.append(scene)
    return out


def _groups(scenes: Sequence[dict[str, Any]], top_only: bool) -> list[list[dict[str, Any]]]:
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for scene in scenes:
        groups.setdefault(_orbit_group(scene), []).append(scene)
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


async def _pairs_initiate(request: web.Request) -> web.StreamResponse:
    require(request, "imagery.availability")
    state = get_state(request)
    body = await json_body(request)
    ids = _scene_ids(body)
    if "extent" not in body:
        raise Refusal(400, "BAD-REQUEST", "extent is required")
    extent = _geometry_bbox(body["extent"], "extent")
    pairing = body.get("pairingType") or "consecutive"
    if pairing not in _PAIRING_TYPES:
        raise Refusal(400, "BAD-REQUEST", f"pairingType must be one of {', '.join(_PAIRING_TYPES)}")
    periodicity = body.get("periodicity")
    if periodicity is not None and periodicity not in _PERIODS:
        raise Refusal(400, "BAD-REQUEST", f"periodicity must be one of {', '.join(_PERIODS)}")
    min_km2 = _number(body, "minIntersection", 0.0) or 0.0
    min_days = _number(body, "minDayDelta", 0.0) or 0.0
    max_days = _number(body, "maxDayDelta")
    max_yoy = _number(body, "maxYoyDelta", 15.0) or 15.0
    scenes = _usable(_scenes(state, ids), extent, min_km2)
    error = _same_datetime(scenes)
    pairs: list[dict[str, str]] = []
    for group in _groups(scenes, bool(body.get("onlyTopOrbitNumber"))):
        slots = group
        if periodicity is not None:
            latest: dict[tuple[int, ...], dict[str, Any]] = {}
            for scene in group:
                latest[_slot(_when(scene), periodicity)] = scene
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
                    key=lambda old: abs((_when(new) - _when(old)).days - 365),
                    default=None,
                )
                if best is not None and abs((_when(new) - _when(best)).days - 365) <= max_yoy:
                    candidates.append((best, new))
        for old, new in candidates:
            days = (_when(new) - _when(old)).total_seconds() / 86400
            if days < min_days or (max_days is not None and days > max_days):
                continue
            both = _intersection(scene_bbox(old), scene_bbox(new))
            overlap = _intersection(both, extent) if both is not None else None
            if overlap is None or _km2(overlap) < min_km2:
                continue
            pairs.append({"newSceneId": new["sceneId"], "oldSceneId": old["sceneId"]})
    job = create_pipeline(
        state,
        "kraken/pairs",
        result={"pairwise": pairs},
        outcome="FAILED" if error else "RESOLVED",
        error=error,
    )
    return initiate_response(job, state)


async def _nwise_initiate(request: web.Request) -> web.StreamResponse:
    require(request, "imagery.availability")
    state = get_state(request)
    body = await json_body(request)
    if body.get("groupingType") != "cumulated":
        raise Refusal(400, "BAD-REQUEST", "groupingType must be 'cumulated'")
    ids = _scene_ids(body, minimum=3)
    if "extent" not in body:
        raise Refusal(400, "BAD-REQUEST", "extent is required")
    extent = _geometry_bbox(body["extent"], "extent")
    min_scenes = body.get("minScenes", 3)
    if isinstance(min_scenes, bool) or not isinstance(min_scenes, int) or min_scenes < 3:
        raise Refusal(400, "BAD-REQUEST", "minScenes must be an integer >= 3")
    scenes = _usable(_scenes(state, ids), extent, 0.0)
    error = _same_datetime(scenes)
    groups = [
        [s["sceneId"] for s in group[:size]]
        for group in _groups(scenes, False)
        for size in range(min_scenes, len(group) + 1)
    ]
    job = create_pipeline(
        state,
        "kraken/nwise",
        result={"nwise": groups},
        outcome="FAILED" if error else "RESOLVED",
        error=error,
    )
    return initiate_response(job, state)


async def _algorithms(request: web.Request) -> web.StreamResponse:
    require(request, "kraken.release")
    await json_body(request, required=False)
    held = current_user(request).permissions
    # Only the map types, and datasets, the caller may run are listed.
    listed = []
    for m in ALGORITHMS.values():
        datasets = [d for d in m.datasets if dataset_permission(m.name, *d) in held]
        if datasets:
            listed.append(m.wire(datasets))
    return web.json_response(listed)


def _find_map(request: web.Request) -> KrakenMap:
    map_id = request.match_info["map_id"]
    kmap = kraken_store(get_state(request)).maps.get(map_id)
    if kmap is None:
        raise Refusal(404, "MAP-NOT-FOUND", f"map {map_id} does not exist")
    return kmap


def _primary(kmap: KrakenMap) -> MapType:
    analyses = [ALGORITHMS[n] for n in kmap.map_types if n != "imagery"]
    return analyses[0] if analyses else ALGORITHMS[kmap.map_types[0]]


async def _map_classes(request: web.Request) -> web.StreamResponse:
    kind = _primary(_find_map(request))
    wire = kind.wire()
    keys = ("deprecatedClasses", "mapType", "segmentationClassification", "segmentationMetadata")
    return web.json_response({k: wire[k] for k in keys if k in wire})


def _int(text: str, name: str) -> int:
    if not re.fullmatch(r"\d{1,10}", text):
        raise Refusal(400, "BAD-REQUEST", f"{name} must be a non-negative integer, got {text!r}")
    return int(text)


def _flag(query: Mapping[str, str], name: str) -> bool:
    value = query.get(name, "0")
    if value not in ("0", "1"):
        raise Refusal(400, "BAD-REQUEST", f"{name} must be 0 or 1")
    return value == "1"


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header)
    if match is None or not (match.group(1) or match.group(2)):
        return None  # several or malformed ranges: a server may ignore them
    first, last = match.group(1), match.group(2)
    if not first:
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise Refusal(
            416,
            "RANGE-NOT-SATISFIABLE",
            f"range {header!r} is outside the {size} bytes of the file",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return start, end


def _unclipped(request: web.Request) -> bool:
    """Whether ``download_unclipped=1`` was asked (it needs kraken.download-unclipped)."""
    if _flag(request.query, "download_unclipped"):
        require(request, "kraken.download-unclipped")
        return True
    return False


async def _grid(request: web.Request) -> web.StreamResponse:
    store = kraken_store(get_state(request))
    kmap = _find_map(request)
    info = request.match_info
    geometry = info["geometry_id"]
    if geometry not in ("-", kmap.sub_geometry_id):
        raise Refusal(404, "GEOMETRY-NOT-FOUND", f"map {kmap.map_id} has no geometry {geometry}")
    zoom, x, y = _int(info["zoom"], "zoom"), _int(info["x"], "x"), _int(info["y"], "y")
    if x >= 2**zoom or y >= 2**zoom:
        raise Refusal(400, "BAD-REQUEST", f"tile {zoom}/{x}/{y} does not exist at zoom {zoom}")
    area = kmap.sub_area if geometry != "-" and kmap.sub_area is not None else kmap.area
    if zoom > kmap.max_zoom or _intersection(area, tile_bounds(zoom, x, y)) is None:
        raise Refusal(404, "TILE-NOT-FOUND", f"map {kmap.map_id} has no tile {zoom}/{x}/{y}")
    file_name = info["file_name"]
    owner = next((ALGORITHMS[n] for n in kmap.map_types if file_name in ALGORITHMS[n].file_names), None)
    if owner is None:
        raise Refusal(404, "FILE-NOT-FOUND", f"map {kmap.map_id} has no grid file {file_name}")

    query = request.query
    threshold: float | None = None
    if query.get("user_threshold") not in (None, ""):
        try:
            threshold = float(query["user_threshold"])
        except ValueError:
            threshold = math.nan
        if not -1.0 <= threshold <= 1.0:  # NaN fails this too
            raise Refusal(400, "BAD-REQUEST", "user_threshold must be a number in [-1, 1]")
        if not owner.pixel_index:
            raise Refusal(400, "USER-THRESHOLD-NOT-SUPPORTED", f"map type {owner.name} has no user threshold")
    unclipped = _unclipped(request)
    force = _flag(query, "force_download")
    classification = query.get("classification") or None
    if classification is not None and owner.classes:  # map types without classes ignore it
        known = owner.segmentation().get("segmentationClassification", {})
        if classification not in known:
            raise Refusal(400, "UNKNOWN-CLASSIFICATION", f"map type {owner.name} has no {classification!r}")
    try:
        filters = detection_filter(query.get("detection_filters", ""))
    except ValueError as exc:
        raise Refusal(400, "INVALID-DETECTION-FILTERS", str(exc)) from None

    key = (kmap.map_id, geometry, zoom, x, y, file_name, threshold, unclipped, classification, filters)
    cached = store.tile_cache.get(key)
    if cached is None:
        spec = TileSpec(
            map_id=kmap.map_id,
            map_type=owner.name,
            zoom=zoom,
            x=x,
            y=y,
            area=area,
            classes=owner.colors(classification),
            pixel_index=owner.pixel_index,
            unclipped=unclipped,
            user_threshold=threshold,
            detection_filters=filters if file_name.endswith(".geojson") else (),
            metadata={"mapTypes": kmap.map_types, "sceneIds": kmap.scene_ids, "maxZoom": kmap.max_zoom},
        )
        body, media = await asyncio.to_thread(render, spec, file_name)
        cached = (body, media, '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:20] + '"')
        store.tile_cache[key] = cached
        while len(store.tile_cache) > _CACHE_SIZE:
            store.tile_cache.popitem(last=False)
    else:
        store.tile_cache.move_to_end(key)
    body, media, etag = cached
    return await _send(request, store, body, media, etag, attachment=file_name if force else None)


async def _send(
    request: web.Request, store: KrakenStore, body: bytes, media: str, etag: str, *, attachment: str | None
) -> web.StreamResponse:
    span: tuple[int, int] | None = None
    header = request.headers.get("Range")
    if header is not None:
        store.range_requests.append((request.path, header))
        if_range = request.headers.get("If-Range")
        if if_range is None or if_range == etag:
            span = _byte_range(header, len(body))
    start, end = span if span is not None else (0, len(body) - 1)
    resp = web.StreamResponse(status=206 if span is not None else 200)
    resp.content_type = media
    resp.content_length = end - start + 1
    resp.headers["Accept-Ranges"] = "bytes"
    resp.headers["ETag"] = etag
    if span is not None:
        resp.headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
    if attachment is not None:
        resp.headers["Content-Disposition"] = f'attachment; filename="{attachment}"'
    await resp.prepare(request)
    sent = 0
    view = memoryview(body)[start : end + 1]
    for offset in range(0, len(view), GRID_CHUNK):
        chunk = view[offset : offset + GRID_CHUNK]
        stall = store.stall_after
        if stall is not None and sent < stall <= sent + len(chunk):
            await resp.write(bytes(chunk[: stall - sent]))
            chunk = chunk[stall - sent :]
            sent = stall
            store.stalled += 1
            # Held until the test releases it (bounded, so a forgotten release cannot hang the server).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(30.0):  # no helper task, unlike wait_for on 3.11
                    await store.stall_event().wait()
        # Written chunk by chunk: a dropped connection surfaces as ConnectionError here.
        await resp.write(bytes(chunk))
        sent += len(chunk)
        # Let the client read as a network would deliver it (client and server often share one loop).
        await asyncio.sleep(0)
    await resp.write_eof()
    return resp


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the Kraken routes to the SpaceKnow app."""
    del state
    initiates = {
        "release": (_release_initiate, "kraken.release", ("mapTypes", "extent", "sceneIds")),
        "dry-run": (_dry_run_initiate, "kraken.dry-run", ("dryRuns", "extent")),
        "pairs": (_pairs_initiate, "imagery.availability", ("sceneIds", "extent")),
        "nwise": (_nwise_initiate, "imagery.availability", ("groupingType", "sceneIds", "extent")),
    }
    for name, (initiate, permission, required) in initiates.items():
        add_route(
            app,
            "POST",
            f"/kraken/{name}/initiate",
            initiate,
            required_fields=required,
            fields=OPTIONAL_FIELDS[name],
        )
        add_route(
            app,
            "POST",
            f"/kraken/{name}/retrieve",
            retrieve_handler(f"kraken/{name}", permission),
            required_fields=("pipelineId",),
            fields=(),
        )
    add_route(app, "POST", "/kraken/algorithms", _algorithms, fields=())
    add_route(app, "GET", "/kraken/map-classes/{map_id}", _map_classes, allow_head=False)
    add_route(
        app,
        "GET",
        "/kraken/grid/{map_id}/{geometry_id}/{zoom}/{x}/{y}/{file_name}",
        _grid,
        query=GRID_QUERY,
        allow_head=False,
    )
