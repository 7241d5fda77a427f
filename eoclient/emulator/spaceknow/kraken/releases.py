"""Kraken releases and dry runs: ``/kraken/release/initiate`` and ``/kraken/dry-run/initiate``.

A release checks its map types against its scenes, makes the
:class:`~.maps.KrakenMap` (map id from a hash of the request, ``maxZoom`` from
the finest scene, the tiles listed at the deepest zoom where at most
:data:`MAX_LISTED_TILES` cover the area), ingests its scenes and answers a
pipeline that FAILS deterministically when :func:`_release_failure` says so.
A dry run prices the scenes with the credits cost model
(:func:`eoclient.emulator.spaceknow.credits.engine.quote`) and, with
``allocate``, allocates them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.jobs import Phase
from eoclient.emulator.core.refusal import Refusal, json_body
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.spaceknow import scenes as sk_scenes
from eoclient.emulator.spaceknow.accounts import current_user, require
from eoclient.emulator.spaceknow.algorithms import MapType, dataset_permission
from eoclient.emulator.spaceknow.credits import engine as sk_credits
from eoclient.emulator.spaceknow.kraken.inputs import (
    deepest_zoom,
    digest,
    find_scenes,
    geometry_bbox,
    gsd,
    intersection,
    km2,
    read_map_types,
    read_scene_ids,
    same_datetime,
)
from eoclient.emulator.spaceknow.kraken.maps import BBox, KrakenMap, kraken_store
from eoclient.emulator.spaceknow.pipelines import create_pipeline, initiate_response
from eoclient.emulator.spaceknow.scenes import scene_bbox
from eoclient.emulator.spaceknow.tiles import tiles_covering

__all__ = ["MAX_LISTED_TILES", "dry_run_initiate", "release_initiate"]


MAX_LISTED_TILES: Final = 16


_RELEASE_PHASES: Final = (
    Phase("NEW", 2.0, "Pipeline queued"),
    Phase("PROCESSING", 4.0, "Ingesting imagery"),
    Phase("PROCESSING", 8.0, "Running analysis"),
)


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


def _listed_tiles(area: BBox, max_zoom: int) -> list[tuple[int, int, int]]:
    for zoom in range(max_zoom, -1, -1):
        tiles = tiles_covering(area, zoom)
        if len(tiles) <= MAX_LISTED_TILES:
            return tiles
    return tiles_covering(area, 0)


def _release_map(
    body: Mapping[str, Any], types: Sequence[MapType], scenes: Sequence[dict[str, Any]]
) -> KrakenMap:
    """The map a valid release request makes (refused if the geometries do not meet)."""
    if "extent" not in body:
        raise Refusal(400, "BAD-REQUEST", "extent is required")
    area: BBox | None = geometry_bbox(body["extent"], "extent")
    for scene in scenes:
        area = intersection(area, scene_bbox(scene)) if area is not None else None
        if area is None:
            raise Refusal(400, "EXTENT-OUTSIDE-SCENE", f"extent does not intersect scene {scene['sceneId']}")
    assert area is not None
    sub = body.get("subGeometry")
    sub_id, sub_area = "-", None
    if sub is not None:
        sub_area = intersection(area, geometry_bbox(sub, "subGeometry"))
        if sub_area is None:
            raise Refusal(400, "SUBGEOMETRY-OUTSIDE-EXTENT", "subGeometry does not meet the analysed area")
        sub_id = digest(sub, 12)
    ids = [s["sceneId"] for s in scenes]
    names = [t.name for t in types]
    max_zoom = deepest_zoom(scenes)
    return KrakenMap(
        map_id=digest({"mapTypes": names, "sceneIds": ids, "extent": body["extent"], "sub": sub}, 22),
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
    mpix = km2(kmap.sub_area or kmap.area) / min(gsd(s) for s in scenes) ** 2
    for t in types:
        if mpix > t.max_mpix:
            return f"AREA-TOO-LARGE: {mpix:.0f} Mpix to analyse, map type {t.name} allows {t.max_mpix:.0f}"
    return same_datetime(scenes) if len(scenes) > 1 else None


async def release_initiate(request: web.Request) -> web.StreamResponse:
    """``POST /kraken/release/initiate``: a map release pipeline."""
    require(request, "kraken.release")
    state = get_state(request)
    store = kraken_store(state)
    body = await json_body(request)
    types = read_map_types(body)
    scenes = find_scenes(state, read_scene_ids(body))
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
    job = create_pipeline(state, "kraken/release", result=result, phases=_RELEASE_PHASES, error=error)
    return initiate_response(job, state)


async def dry_run_initiate(request: web.Request) -> web.StreamResponse:
    """``POST /kraken/dry-run/initiate``: what releases would analyse and cost; ``allocate`` allocates it."""
    require(request, "kraken.dry-run")
    state = get_state(request)
    body = await json_body(request)
    runs = body.get("dryRuns")
    if not isinstance(runs, list) or not runs:
        raise Refusal(400, "BAD-REQUEST", "dryRuns must be a non-empty list")
    if "extent" not in body:
        raise Refusal(400, "BAD-REQUEST", "extent is required")
    extent = geometry_bbox(body["extent"], "extent")
    scene_ids: dict[str, None] = {}  # every scene once, in order
    analyzed = kraken = 0.0
    for i, run in enumerate(runs):
        if not isinstance(run, dict):
            raise Refusal(400, "BAD-REQUEST", f"dryRuns[{i}] must be an object")
        types = read_map_types(run)
        groups = run.get("scenes")
        if not isinstance(groups, list) or not groups:
            raise Refusal(400, "BAD-REQUEST", f"dryRuns[{i}].scenes must be a non-empty list of lists")
        for group in groups:
            scenes = find_scenes(state, read_scene_ids({"scenes": group}, "scenes"))
            area: BBox | None = extent
            for scene in scenes:
                scene_ids[scene["sceneId"]] = None
                area = intersection(area, scene_bbox(scene)) if area is not None else None
            group_km2 = km2(area)
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
