"""Exported images: the file get-image's ``url`` points to, served like a signed storage link.

The retrieve answer of a get-image pipeline carries ``url``:
``<origin>/imagery/exports/<pipelineId>.tif?signature=<hmac>`` on the SpaceKnow
app. Like a signed link of a storage service it needs no bearer (the path is
public; a wrong signature is refused with 403 ``ACCESS-DENIED``) and another
host may serve it: ``imagery_store(state).export_origin`` puts the link on
another origin (e.g. ``http://localhost:<port>`` for a client of
``127.0.0.1``), which tests use to check that no bearer goes there. Until the
pipeline is RESOLVED the file does not exist (404 ``EXPORT-NOT-FOUND``).

The file is a baseline GeoTIFF (EPSG:3857) of the image's area, RGB when the
scene has three bands or more, at most :data:`EXPORT_MAX_SIDE` pixels a side,
streamed with ``Content-Length``, ``ETag`` and ``Range`` / ``If-Range``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
from collections.abc import Sequence
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.fields import Grid, Landscape, seed_from
from eoclient.emulator.core.rasters import Raster
from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.core.state import PUBLIC_PATHS_KEY, EmulatorState, get_state
from eoclient.emulator.spaceknow.imagery.extent import mbr_sides_km
from eoclient.emulator.spaceknow.imagery.store import ExportSpec, imagery_store
from eoclient.emulator.spaceknow.kraken.grid import send_bytes
from eoclient.emulator.spaceknow.pipelines import KIND
from eoclient.emulator.spaceknow.tiles import geotiff

__all__ = ["EXPORT_MAX_SIDE", "EXPORT_PATH", "export_file", "export_url", "render_export"]

EXPORT_PATH: Final = "/imagery/exports/{name}"
EXPORT_MAX_SIDE: Final = 256
_EARTH_RADIUS: Final = 6378137.0
_CACHE_SIZE: Final = 32


def _signature(state: EmulatorState, pipeline_id: str) -> str:
    # Keyed by this emulator's credentials: stable for a seed, unguessable without them.
    key = hashlib.sha256(repr(state.credentials).encode()).digest()
    return hmac.new(key, pipeline_id.encode(), hashlib.sha256).hexdigest()[:32]


def _size(common: Sequence[float], scene: dict[str, Any], resolution: float | None) -> tuple[int, int]:
    """The image's pixel size over ``common`` (finest band, or ``resolution``), scaled to fit the cap."""
    if resolution is None:
        size_x = min(abs(float(b["pixelSizeX"])) for b in scene["bands"])
        size_y = min(abs(float(b["pixelSizeY"])) for b in scene["bands"])
        width, height = (common[2] - common[0]) / size_x, (common[3] - common[1]) / size_y
    else:
        width_km, height_km = mbr_sides_km(common)
        width, height = width_km * 1000 / resolution, height_km * 1000 / resolution
    scale = min(1.0, EXPORT_MAX_SIDE / max(width, height, 1.0))
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def export_url(
    request: web.Request,
    pipeline_id: str,
    scene: dict[str, Any],
    common: Sequence[float],
    resolution: float | None,
) -> str:
    """Register the export of pipeline ``pipeline_id`` and return its signed link."""
    state = get_state(request)
    store = imagery_store(state)
    width, height = _size(common, scene, resolution)
    samples = 3 if len(scene["bands"]) >= 3 else 1
    store.exports[pipeline_id] = ExportSpec(scene["sceneId"], tuple(common), width, height, samples)
    path = EXPORT_PATH.format(name=f"{pipeline_id}.tif")
    request.app[PUBLIC_PATHS_KEY].add(path)  # a signed link: no bearer needed
    origin = store.export_origin or str(request.url.origin())
    return f"{origin}{path}?signature={_signature(state, pipeline_id)}"


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    x = math.radians(lon) * _EARTH_RADIUS
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * _EARTH_RADIUS
    return x, y


def render_export(spec: ExportSpec) -> bytes:
    """The GeoTIFF of an export: the scene's landscape over its area in EPSG:3857."""
    west, south, east, north = spec.bounds
    x0, y0 = _mercator(west, south)
    x1, y1 = _mercator(east, north)
    grid = Grid((x0, y0, x1, y1), spec.width, spec.height, 3857)
    raster = Raster(grid, Landscape(seed_from(spec.scene_id)), ("visual",) * spec.samples, "UINT8")
    pixels = b"".join(raster.rows())
    return geotiff(spec.width, spec.height, pixels, bounds_3857=(x0, y0, x1, y1), samples=spec.samples)


async def export_file(request: web.Request) -> web.StreamResponse:
    """``GET /imagery/exports/{pipelineId}.tif?signature=``: the exported image of a resolved pipeline."""
    state = get_state(request)
    store = imagery_store(state)
    pipeline_id = request.match_info["name"].removesuffix(".tif")
    given = request.query.get("signature", "")
    if not hmac.compare_digest(given, _signature(state, pipeline_id)):
        raise Refusal(403, "ACCESS-DENIED", "the signature of this link is not valid")
    job = state.jobs.get(pipeline_id, KIND)
    spec = store.exports.get(pipeline_id)
    if job is None or spec is None or job.view().state != "RESOLVED":
        raise Refusal(404, "EXPORT-NOT-FOUND", f"pipeline {pipeline_id} has no exported image (yet)")
    cached = store.rendered.get(pipeline_id)
    if cached is None:
        body = await asyncio.to_thread(render_export, spec)
        cached = (body, '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:20] + '"')
        store.rendered[pipeline_id] = cached
        while len(store.rendered) > _CACHE_SIZE:
            store.rendered.popitem(last=False)
    body, etag = cached
    return await send_bytes(request, body, "image/tiff", etag)
