"""Scene ingestion: ``/imagery/ingest-scene?provider=…`` with the scene file as a streamed body.

The body is read chunk by chunk (hashed and counted, never held); the scene
id is derived from the content, so the same file twice is a ``duplicate``. A
refused upload is read to its end first, so the client is never cut off.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.core.state import get_state
from eoclient.emulator.spaceknow import scenes as sk_scenes
from eoclient.emulator.spaceknow.accounts import require
from eoclient.emulator.spaceknow.imagery.store import imagery_store

__all__ = ["ingest"]


_CHUNK: Final = 1 << 16


def _ingested_scene(provider: str, digest: bytes) -> dict[str, Any]:
    """A scene for an ingested file: dataset of the provider, place and time derived from the content."""
    template = next(p for p in sk_scenes.all_providers() if p["provider"] == provider)
    scene_id = base64.urlsafe_b64encode(digest).decode()  # 48 bytes: 64 characters, no padding
    centre = list(sk_scenes.AREAS.values())[digest[0] % len(sk_scenes.AREAS)]
    half = 0.02 + digest[1] / 255 * 0.05
    lon, lat = centre
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
    ]
    ring.append(ring[0])
    when = datetime(2018, 1, 1) + timedelta(seconds=int.from_bytes(digest[2:6], "big") % (7 * 365 * 86400))
    gsd = float(template["resolution"][0])
    pixel = gsd / 111_320.0
    return {
        "bands": [
            {"bitDepth": 16, "gsd": gsd, "names": [short, long], "pixelSizeX": pixel, "pixelSizeY": -pixel}
            for short, long in (("r", "red"), ("g", "green"), ("b", "blue"))
        ],
        "clippedImagery": False,
        "crsEpsg": 4326,
        "dataset": template["dataset"],
        "datetime": when.strftime(sk_scenes.DATETIME_FORMAT),
        "downloadable": True,
        "footprint": {
            "type": "MultiPolygon",
            "coordinates": [[[[round(x, 6), round(y, 6)] for x, y in ring]]],
        },
        "foreignId": f"ingested-{scene_id[:12]}",
        "minArea": 0.5,
        "offNadir": 0.0,
        "provider": provider,
        "satellite": "ingested",
        "sceneId": scene_id,
    }


def _ingest_provider(request: web.Request) -> str:
    require(request, "ingest-scene")
    provider = request.query.get("provider", "")
    if not provider:
        raise Refusal(400, "BAD-REQUEST", "provider: required")
    if provider not in {p["provider"] for p in sk_scenes.all_providers()}:
        raise Refusal(400, "PROVIDER-NOT-FOUND", f"provider {provider!r} does not exist")
    return provider


async def ingest(request: web.Request) -> web.Response:
    """``POST /imagery/ingest-scene``: the uploaded scene file ingested (or found a duplicate)."""
    try:
        provider = _ingest_provider(request)
    except Refusal:
        # Read the upload to its end before refusing it, so the client is never cut off mid-send.
        async for _ in request.content.iter_chunked(_CHUNK):
            pass
        raise
    hasher = hashlib.sha384(provider.encode() + b"\0")
    size = 0
    # Chunk by chunk: a scene file may be gigabytes and is never held whole.
    async for chunk in request.content.iter_chunked(_CHUNK):
        hasher.update(chunk)
        size += len(chunk)
    if size == 0:
        raise Refusal(400, "EMPTY-FILE", "the request body must be the scene file")
    state = get_state(request)
    scene = _ingested_scene(provider, hasher.digest())
    duplicate = not sk_scenes.add_ingested(state, scene)
    imagery_store(state).ingests.append(
        {"sceneId": scene["sceneId"], "provider": provider, "bytes": size, "duplicate": duplicate}
    )
    return web.json_response({"ingestedScenes": [{"duplicate": duplicate, "sceneId": scene["sceneId"]}]})
