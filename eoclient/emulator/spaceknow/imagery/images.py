"""Imagery of one scene: ``/imagery/get-image/initiate``, ``/imagery/scene-info``, ``/imagery/providers``.

A get-image pipeline over a scene that is not downloadable ends FAILED
(``SCENE-NOT-DOWNLOADABLE``); an image over :data:`MAX_PIXELS` is refused. A
resolved one's answer carries the ``url`` of its exported GeoTIFF
(:mod:`.export`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.jobs import Phase
from eoclient.emulator.core.refusal import Refusal, json_body
from eoclient.emulator.core.state import get_state
from eoclient.emulator.spaceknow import scenes as sk_scenes
from eoclient.emulator.spaceknow.accounts import current_user, require
from eoclient.emulator.spaceknow.common import scene_not_found
from eoclient.emulator.spaceknow.imagery.export import export_url
from eoclient.emulator.spaceknow.imagery.extent import extent_bounds, mbr_sides_km, overlap
from eoclient.emulator.spaceknow.imagery.store import pop_failure
from eoclient.emulator.spaceknow.pipelines import create_pipeline, initiate_response

__all__ = ["MAX_PIXELS", "get_image_initiate", "providers", "scene_info"]


MAX_PIXELS: Final = 3_000_000


IMAGE_PHASES: Final = (
    Phase("NEW", 2.0, "Export queued"),
    Phase("PROCESSING", 4.0, "Downloading data from provider"),
    Phase("PROCESSING", 4.0, "Exporting SKI"),
)


def _with_raster_meta(scene: dict[str, Any], resolution: float | None) -> dict[str, Any]:
    """A scene as get-image and scene-info describe it: bands with CRS origin and resolution."""
    x0, _, _, y1 = sk_scenes.scene_bbox(scene)
    out = dict(scene)
    out["bands"] = [
        {
            **band,
            "approximateResolutionX": resolution or band["gsd"],
            "approximateResolutionY": resolution or band["gsd"],
            "crsOriginX": x0,
            "crsOriginY": y1,
        }
        for band in scene["bands"]
    ]
    return out


def _pixels(common: Sequence[float], scene: dict[str, Any], resolution: float | None) -> float:
    """Pixels of the image over ``common`` (the finest band decides; rescaled when asked)."""
    size_x = min(abs(float(b["pixelSizeX"])) for b in scene["bands"])
    size_y = min(abs(float(b["pixelSizeY"])) for b in scene["bands"])
    native: float = math.ceil((common[2] - common[0]) / size_x) * math.ceil((common[3] - common[1]) / size_y)
    if resolution is None:
        return native
    width_km, height_km = mbr_sides_km(common)
    scaled: float = math.ceil(width_km * 1000 / resolution) * math.ceil(height_km * 1000 / resolution)
    return max(native, scaled)


async def get_image_initiate(request: web.Request) -> web.Response:
    """``POST /imagery/get-image/initiate``: an export pipeline of a scene over the extent."""
    state = get_state(request)
    body = await json_body(request)
    scene_id = body.get("sceneId")
    if not isinstance(scene_id, str) or not scene_id:
        raise Refusal(400, "BAD-REQUEST", "sceneId: a non-empty string is required")
    if body.get("extent") is None:
        raise Refusal(400, "BAD-REQUEST", "extent: required")
    bounds = extent_bounds(body["extent"])
    resolution, export_raster = body.get("resolution"), body.get("exportRaster")
    if resolution is not None and (
        isinstance(resolution, bool) or not isinstance(resolution, int | float) or resolution <= 0
    ):
        raise Refusal(400, "BAD-REQUEST", "resolution: must be a positive number of meters")
    if export_raster is not None and (not isinstance(export_raster, str) or not export_raster):
        raise Refusal(400, "BAD-REQUEST", "exportRaster: must be a non-empty string")
    if resolution is not None and export_raster is not None:
        raise Refusal(400, "BAD-REQUEST", "resolution cannot be used together with exportRaster")
    scene = sk_scenes.find_scene(scene_id, state)
    if scene is None:
        raise scene_not_found(scene_id)
    require(request, f"imagery.images.{scene['provider']}.{scene['dataset']}")
    common = overlap(sk_scenes.scene_bbox(scene), bounds)
    if common is None:
        raise Refusal(400, "EXTENT-OUTSIDE-SCENE", "extent does not intersect the scene's footprint")
    pixels = _pixels(common, scene, resolution)
    if pixels > MAX_PIXELS:
        raise Refusal(400, "IMAGE-TOO-LARGE", f"the image would have {pixels:.0f} pixels; at most 3 MPx")
    error = pop_failure(state, "imagery/get-image")
    if error is None and not scene.get("downloadable"):
        error = f"SCENE-NOT-DOWNLOADABLE: scene {scene_id} cannot be downloaded from its provider"
    scale = float(resolution) if resolution is not None else None
    meta = _with_raster_meta(scene, scale)
    meta.pop("downloadable", None)
    result: dict[str, Any] = {
        "extent": {"type": "GeometryCollection", "geometries": [body["extent"]]},
        "meta": meta,
    }
    job = create_pipeline(state, "imagery/get-image", result=result, phases=IMAGE_PHASES, error=error)
    if error is None:  # the link names the pipeline, so it is added to the result once that exists
        result["url"] = export_url(request, job.id, scene, common, scale)
    return initiate_response(job, state)


async def scene_info(request: web.Request) -> web.Response:
    """``POST /imagery/scene-info``: a scene with its raster metadata."""
    require(request, "imagery.scene-info")
    body = await json_body(request)
    scene_id = body.get("sceneId")
    if not isinstance(scene_id, str) or not scene_id:
        raise Refusal(400, "BAD-REQUEST", "sceneId: a non-empty string is required")
    tiles = body.get("tiles")
    if tiles is not None and not (
        isinstance(tiles, list)
        and all(
            isinstance(t, list)
            and len(t) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in t)
            for t in tiles
        )
    ):
        raise Refusal(400, "BAD-REQUEST", "tiles: must be a list of [x, y] integer pairs")
    scene = sk_scenes.find_scene(scene_id, get_state(request))
    if scene is None:
        raise scene_not_found(scene_id)
    return web.json_response(_with_raster_meta(scene, None))


async def providers(request: web.Request) -> web.Response:
    """``POST /imagery/providers``: the datasets the caller may use."""
    require(request, "imagery.availability")
    allowed = current_user(request).permissions
    visible = [
        p for p in sk_scenes.all_providers() if f"imagery.images.{p['provider']}.{p['dataset']}" in allowed
    ]
    return web.json_response(visible)
