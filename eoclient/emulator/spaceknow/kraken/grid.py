"""Kraken's released maps served: ``/kraken/map-classes/{map_id}`` and the grid tiles.

Grid files are real PNG/GeoTIFF/GeoJSON/JSON rendered by
:mod:`eoclient.emulator.spaceknow.tiles` (cached per map, tile and options),
streamed with ``Content-Length``, ``ETag`` and single-range ``Range`` /
``If-Range`` support, honouring the test knobs of :class:`~.maps.KrakenStore`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import re
from collections.abc import Mapping
from typing import Final

from aiohttp import web

from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.core.state import get_state
from eoclient.emulator.spaceknow.accounts import require
from eoclient.emulator.spaceknow.algorithms import ALGORITHMS, MapType
from eoclient.emulator.spaceknow.kraken.inputs import intersection
from eoclient.emulator.spaceknow.kraken.maps import KrakenMap, KrakenStore, kraken_store
from eoclient.emulator.spaceknow.tiles import TileSpec, detection_filter, render, tile_bounds

__all__ = ["GRID_CHUNK", "GRID_QUERY", "grid_file", "map_classes", "send_bytes"]


GRID_CHUNK: Final = 4 * 1024


_CACHE_SIZE: Final = 256


GRID_QUERY: Final = (
    "user_threshold",
    "download_unclipped",
    "force_download",
    "classification",
    "detection_filters",
)


def _find_map(request: web.Request) -> KrakenMap:
    map_id = request.match_info["map_id"]
    kmap = kraken_store(get_state(request)).maps.get(map_id)
    if kmap is None:
        raise Refusal(404, "MAP-NOT-FOUND", f"map {map_id} does not exist")
    return kmap


def _primary(kmap: KrakenMap) -> MapType:
    analyses = [ALGORITHMS[n] for n in kmap.map_types if n != "imagery"]
    return analyses[0] if analyses else ALGORITHMS[kmap.map_types[0]]


async def map_classes(request: web.Request) -> web.StreamResponse:
    """``GET /kraken/map-classes/{map_id}``: the classes of a released map's main map type."""
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


def _threshold(query: Mapping[str, str], owner: MapType) -> float | None:
    """``user_threshold``, for map types with a pixel index only."""
    if query.get("user_threshold") in (None, ""):
        return None
    try:
        threshold = float(query["user_threshold"])
    except ValueError:
        threshold = math.nan
    if not -1.0 <= threshold <= 1.0:  # NaN fails this too
        raise Refusal(400, "BAD-REQUEST", "user_threshold must be a number in [-1, 1]")
    if not owner.pixel_index:
        raise Refusal(400, "USER-THRESHOLD-NOT-SUPPORTED", f"map type {owner.name} has no user threshold")
    return threshold


async def grid_file(request: web.Request) -> web.StreamResponse:
    """``GET /kraken/grid/...``: one file of one tile of a released map."""
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
    if zoom > kmap.max_zoom or intersection(area, tile_bounds(zoom, x, y)) is None:
        raise Refusal(404, "TILE-NOT-FOUND", f"map {kmap.map_id} has no tile {zoom}/{x}/{y}")
    file_name = info["file_name"]
    owner = next((ALGORITHMS[n] for n in kmap.map_types if file_name in ALGORITHMS[n].file_names), None)
    if owner is None:
        raise Refusal(404, "FILE-NOT-FOUND", f"map {kmap.map_id} has no grid file {file_name}")

    query = request.query
    threshold = _threshold(query, owner)
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
    return await send_bytes(request, body, media, etag, attachment=file_name if force else None, store=store)


async def send_bytes(
    request: web.Request,
    body: bytes,
    media: str,
    etag: str,
    *,
    attachment: str | None = None,
    store: KrakenStore | None = None,
) -> web.StreamResponse:
    """Stream ``body`` chunk by chunk with ``ETag`` and single-range ``Range`` / ``If-Range`` (206, 416).

    ``store`` (the grid's) records the ranges asked for and holds a body at
    its ``stall_after`` byte until released; other files pass none.
    """
    span: tuple[int, int] | None = None
    header = request.headers.get("Range")
    if header is not None:
        if store is not None:
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
        stall = store.stall_after if store is not None else None
        if store is not None and stall is not None and sent < stall <= sent + len(chunk):
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
