"""Emulated SpaceKnow Imagery (Ragnar): search, get-image, scene info, providers, ingest.

Routes (SpaceKnow app, bearer required; permissions as in the reference,
checked with :func:`eoclient.emulator.spaceknow.accounts.require`)::

    POST /imagery/search/initiate     search body -> {nextTry, pipelineId, status}
                                      (imagery.images.<provider>.<dataset> per dataset;
                                       phoenix.ingested with onlyIngested)
    POST /imagery/search/retrieve     {pipelineId} -> {"results": [scene...], "cursor": int|null}
                                      (imagery.availability; PAGE_SIZE scenes a page; the cursor
                                       goes into the next initiate)
    POST /imagery/get-image/initiate  {sceneId, extent, resolution?, exportRaster?} -> pipeline
    POST /imagery/get-image/retrieve  {pipelineId} -> {"extent", "meta"}           (imagery.images)
    POST /imagery/scene-info          {sceneId, tiles?, forceOffline?} -> scene    (imagery.scene-info)
    POST /imagery/providers           {} -> [provider...], the datasets the caller may use
                                      (imagery.availability)
    POST /imagery/ingest-scene?provider=pl   streamed binary body
                                      -> {"ingestedScenes": [{"duplicate", "sceneId"}]} (ingest-scene)

Scenes come from :mod:`eoclient.emulator.spaceknow.scenes` (the same world Kraken
and credits use) plus the scenes ingested into this emulator (uploaded
here; world scenes a Kraken release ingested are searched with
``onlyIngested`` too). Input the reference forbids is refused with an SK error at initiate: empty or unknown
datasets, world-wide datasets mixed with others, bad or inverted datetimes,
``minIntersection`` outside [0, 1], a missing extent or one whose minimum
bounding rectangle has a side over 400 km (4000 km with ``sceneCoverage``;
no limit for the world-wide datasets), an extent outside the scene, an image
over 3 MPx.

A get-image pipeline over a scene that is not downloadable ends FAILED
(``SCENE-NOT-DOWNLOADABLE``); :func:`fail_next` makes the next pipeline of an
operation fail with a given text, for tests.

The ingest body is read chunk by chunk (hashed and counted, never held);
the scene id is derived from the content, so the same file twice is a
``duplicate``.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.jobs import Phase
from eoclient.emulator.core.refusal import Refusal, json_body
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.spaceknow import scenes as sk_scenes
from eoclient.emulator.spaceknow.accounts import current_user, require
from eoclient.emulator.spaceknow.common import scene_not_found
from eoclient.emulator.spaceknow.pipelines import create_pipeline, initiate_response, retrieve_handler
from eoclient.errors import ValidationError
from eoclient.geo import geometry_bounds

__all__ = [
    "MAX_MBR_SIDE_KM",
    "MAX_PIXELS",
    "PAGE_SIZE",
    "SCENE_COVERAGE_MBR_SIDE_KM",
    "ImageryStore",
    "fail_next",
    "imagery_store",
    "mbr_sides_km",
    "setup",
]

PAGE_SIZE: Final = 50
MAX_MBR_SIDE_KM: Final = 400.0
SCENE_COVERAGE_MBR_SIDE_KM: Final = 4000.0
MAX_PIXELS: Final = 3_000_000
KM_PER_DEGREE: Final = 111.32
_CHUNK: Final = 1 << 16
# What the reference lists besides ``datasets`` (table, example, the sceneCoverage note); others are refused.
SEARCH_FIELDS: Final = (
    "extent",
    "startDatetime",
    "endDatetime",
    "cursor",
    "minIntersection",
    "forceRefresh",
    "onlyDownloadable",
    "onlyIngested",
    "sceneCoverage",
)

SEARCH_PHASES: Final = (Phase("NEW", 1.0, "Search queued"), Phase("PROCESSING", 3.0, "Searching imagery"))
IMAGE_PHASES: Final = (
    Phase("NEW", 2.0, "Export queued"),
    Phase("PROCESSING", 4.0, "Downloading data from provider"),
    Phase("PROCESSING", 4.0, "Exporting SKI"),
)


@dataclass
class ImageryStore:
    """This emulator's imagery bookkeeping: injected failures and what was ingested."""

    failures: dict[str, list[str]] = field(default_factory=dict)
    ingests: list[dict[str, Any]] = field(default_factory=list)


def imagery_store(state: EmulatorState) -> ImageryStore:
    """The :class:`ImageryStore` of this emulator."""
    return state.store("sk_imagery", ImageryStore)


def fail_next(state: EmulatorState, operation: str, error: str) -> None:
    """Make the next pipeline of ``operation`` (``"imagery/search"``, ``"imagery/get-image"``) end FAILED."""
    imagery_store(state).failures.setdefault(operation, []).append(error)


def _pop_failure(state: EmulatorState, operation: str) -> str | None:
    queue = imagery_store(state).failures.get(operation)
    return queue.pop(0) if queue else None


def mbr_sides_km(bounds: Sequence[float]) -> tuple[float, float]:
    """East-west and north-south sides, in km, of the minimum bounding rectangle ``bounds`` (lon/lat).

    The east-west side is measured along the parallel nearest the equator,
    where the rectangle is widest.
    """
    x0, y0, x1, y1 = bounds
    nearest = 0.0 if y0 <= 0.0 <= y1 else min(abs(y0), abs(y1))
    width = (x1 - x0) * KM_PER_DEGREE * math.cos(math.radians(nearest))
    return width, (y1 - y0) * KM_PER_DEGREE


def _extent_bounds(extent: Any, name: str = "extent") -> tuple[float, float, float, float]:
    try:
        x0, y0, x1, y1 = geometry_bounds(extent)
    except ValidationError as exc:
        raise Refusal(400, "BAD-REQUEST", f"{name}: not a valid GeoJSON geometry ({exc.message})") from None
    if not (-180.0 <= x0 <= x1 <= 180.0 and -90.0 <= y0 <= y1 <= 90.0):
        raise Refusal(400, "BAD-REQUEST", f"{name}: coordinates must be WGS84 longitude/latitude")
    return x0, y0, x1, y1


def _overlap(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float, float] | None:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    if x0 > x1 or y0 > y1:
        return None
    return x0, y0, x1, y1


def _datetime(body: dict[str, Any], key: str) -> datetime | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Refusal(400, "BAD-REQUEST", f"{key}: must be a string in format YYYY-MM-DD HH:MM:SS")
    try:
        return datetime.strptime(value, sk_scenes.DATETIME_FORMAT)
    except ValueError:
        raise Refusal(400, "BAD-REQUEST", f"{key}: {value!r} is not in format YYYY-MM-DD HH:MM:SS") from None


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise Refusal(400, "BAD-REQUEST", f"{key}: must be a boolean")
    return value


# -- search ----------------------------------------------------------------------------


@dataclass
class _Search:
    pairs: list[tuple[str, str]]
    bounds: tuple[float, float, float, float] | None
    start: datetime | None
    end: datetime | None
    min_intersection: float
    only_downloadable: bool
    only_ingested: bool
    cursor: int


def _parse_datasets(body: dict[str, Any]) -> list[tuple[str, str]]:
    datasets = body.get("datasets")
    if not isinstance(datasets, list) or not datasets:
        raise Refusal(400, "BAD-REQUEST", "datasets: a non-empty list of {provider, dataset} is required")
    pairs: list[tuple[str, str]] = []
    known = {(p["provider"], p["dataset"]) for p in sk_scenes.all_providers()}
    for i, item in enumerate(datasets):
        if not isinstance(item, dict):
            raise Refusal(400, "BAD-REQUEST", f"datasets[{i}]: must be an object with provider and dataset")
        provider, dataset = item.get("provider"), item.get("dataset")
        if not isinstance(provider, str) or not isinstance(dataset, str) or not provider or not dataset:
            raise Refusal(
                400, "BAD-REQUEST", f"datasets[{i}]: provider and dataset must be non-empty strings"
            )
        if (provider, dataset) not in known:
            raise Refusal(400, "DATASET-NOT-FOUND", f"dataset {provider} {dataset} does not exist")
        pairs.append((provider, dataset))
    separate = set(pairs) & sk_scenes.SEPARATE_SEARCH
    if separate and len(set(pairs)) > 1:
        names = ", ".join(sorted(f"{p} {d}" for p, d in separate))
        raise Refusal(
            400, "INCOMPATIBLE-DATASETS", f"{names} must be searched separately from other datasets"
        )
    return pairs


def _parse_search(body: dict[str, Any]) -> _Search:
    pairs = _parse_datasets(body)
    start, end = _datetime(body, "startDatetime"), _datetime(body, "endDatetime")
    if start is not None and end is not None and end < start:
        raise Refusal(400, "BAD-REQUEST", "endDatetime: must not be before startDatetime")
    min_intersection = body.get("minIntersection", 0.0)
    if min_intersection is None:
        min_intersection = 0.0
    if isinstance(min_intersection, bool) or not isinstance(min_intersection, int | float):
        raise Refusal(400, "BAD-REQUEST", "minIntersection: must be a number")
    if not 0.0 <= min_intersection <= 1.0:
        raise Refusal(400, "BAD-REQUEST", "minIntersection: must be between 0 and 1")
    cursor = body.get("cursor")
    if cursor is None:
        cursor = 0
    if isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 0:
        raise Refusal(400, "BAD-REQUEST", "cursor: must be a non-negative integer")
    flags = {k: _flag(body, k) for k in ("onlyDownloadable", "onlyIngested", "sceneCoverage", "forceRefresh")}
    worldwide = all(p in sk_scenes.WORLDWIDE for p in pairs)
    bounds: tuple[float, float, float, float] | None = None
    if body.get("extent") is not None:
        bounds = _extent_bounds(body["extent"])
    elif not worldwide:
        raise Refusal(400, "BAD-REQUEST", "extent: required unless every dataset may be searched world-wide")
    if bounds is not None and not worldwide:
        limit = SCENE_COVERAGE_MBR_SIDE_KM if flags["sceneCoverage"] else MAX_MBR_SIDE_KM
        width, height = mbr_sides_km(bounds)
        if max(width, height) > limit:
            raise Refusal(
                400,
                "AREA-TOO-LARGE",
                f"search area must be smaller than {limit:g} x {limit:g} km "
                f"(the extent spans {width:.0f} x {height:.0f} km)",
            )
    return _Search(
        pairs=pairs,
        bounds=bounds,
        start=start,
        end=end,
        min_intersection=float(min_intersection),
        only_downloadable=flags["onlyDownloadable"] is True,
        only_ingested=flags["onlyIngested"] is True,
        cursor=cursor,
    )


def _ingested_matches(state: EmulatorState, search: _Search) -> list[dict[str, Any]]:
    wanted = set(search.pairs)
    low = None if search.start is None else search.start.strftime(sk_scenes.DATETIME_FORMAT)
    high = None if search.end is None else search.end.strftime(sk_scenes.DATETIME_FORMAT)
    out = []
    for scene in sk_scenes.ingested(state).values():
        when = scene["datetime"]
        if (scene["provider"], scene["dataset"]) not in wanted:
            continue
        if (low is not None and when < low) or (high is not None and when > high):
            continue
        if search.bounds is not None and _overlap(sk_scenes.scene_bbox(scene), search.bounds) is None:
            continue
        out.append(scene)
    return out


def _covers(scene: dict[str, Any], bounds: Sequence[float], fraction: float) -> bool:
    """Whether the scene covers at least ``fraction`` of the extent (measured on rectangles)."""
    common = _overlap(sk_scenes.scene_bbox(scene), bounds)
    if common is None:
        return False
    area = (bounds[2] - bounds[0]) * (bounds[3] - bounds[1])
    if area <= 0.0:
        return True
    return (common[2] - common[0]) * (common[3] - common[1]) / area >= fraction


def _results(state: EmulatorState, search: _Search) -> list[dict[str, Any]]:
    scenes = _ingested_matches(state, search)
    if not search.only_ingested:
        bbox = list(search.bounds) if search.bounds is not None else None
        world = sk_scenes.search(search.pairs, bbox=bbox, start=search.start, end=search.end)
        # A world scene released by Kraken is ingested too: listed once.
        scenes = [*world, *(s for s in scenes if sk_scenes.get_scene(s["sceneId"]) is None)]
        scenes.sort(key=lambda s: (s["datetime"], s["sceneId"]))
    if search.only_downloadable:
        scenes = [s for s in scenes if s.get("downloadable")]
    if search.bounds is not None and search.min_intersection > 0.0:
        scenes = [s for s in scenes if _covers(s, search.bounds, search.min_intersection)]
    return scenes


async def _search_initiate(request: web.Request) -> web.Response:
    state = get_state(request)
    search = _parse_search(await json_body(request))
    needed = [f"imagery.images.{p}.{d}" for p, d in search.pairs]
    if search.only_ingested:
        needed.append("phoenix.ingested")
    require(request, *needed)
    scenes = _results(state, search)
    page = scenes[search.cursor : search.cursor + PAGE_SIZE]
    following = search.cursor + PAGE_SIZE
    result = {"results": page, "cursor": following if following < len(scenes) else None}
    error = _pop_failure(state, "imagery/search")
    job = create_pipeline(
        state,
        "imagery/search",
        result=result,
        phases=SEARCH_PHASES,
        outcome="FAILED" if error else "RESOLVED",
        error=error,
    )
    return initiate_response(job, state)


# -- get-image ---------------------------------------------------------------------------


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


async def _get_image_initiate(request: web.Request) -> web.Response:
    state = get_state(request)
    body = await json_body(request)
    scene_id = body.get("sceneId")
    if not isinstance(scene_id, str) or not scene_id:
        raise Refusal(400, "BAD-REQUEST", "sceneId: a non-empty string is required")
    if body.get("extent") is None:
        raise Refusal(400, "BAD-REQUEST", "extent: required")
    bounds = _extent_bounds(body["extent"])
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
    common = _overlap(sk_scenes.scene_bbox(scene), bounds)
    if common is None:
        raise Refusal(400, "EXTENT-OUTSIDE-SCENE", "extent does not intersect the scene's footprint")
    pixels = _pixels(common, scene, resolution)
    if pixels > MAX_PIXELS:
        raise Refusal(400, "IMAGE-TOO-LARGE", f"the image would have {pixels:.0f} pixels; at most 3 MPx")
    error = _pop_failure(state, "imagery/get-image")
    if error is None and not scene.get("downloadable"):
        error = f"SCENE-NOT-DOWNLOADABLE: scene {scene_id} cannot be downloaded from its provider"
    meta = _with_raster_meta(scene, float(resolution) if resolution is not None else None)
    meta.pop("downloadable", None)
    result = {"extent": {"type": "GeometryCollection", "geometries": [body["extent"]]}, "meta": meta}
    job = create_pipeline(
        state,
        "imagery/get-image",
        result=result,
        phases=IMAGE_PHASES,
        outcome="FAILED" if error else "RESOLVED",
        error=error,
    )
    return initiate_response(job, state)


# -- synchronous endpoints --------------------------------------------------------------


async def _scene_info(request: web.Request) -> web.Response:
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


async def _providers(request: web.Request) -> web.Response:
    require(request, "imagery.availability")
    allowed = current_user(request).permissions
    visible = [
        p for p in sk_scenes.all_providers() if f"imagery.images.{p['provider']}.{p['dataset']}" in allowed
    ]
    return web.json_response(visible)


# -- ingest -------------------------------------------------------------------------------


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


async def _ingest(request: web.Request) -> web.Response:
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


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the imagery routes to the SpaceKnow app."""
    del state
    add_route(
        app,
        "POST",
        "/imagery/search/initiate",
        _search_initiate,
        required_fields=("datasets",),
        fields=SEARCH_FIELDS,
    )
    add_route(
        app,
        "POST",
        "/imagery/get-image/initiate",
        _get_image_initiate,
        required_fields=("sceneId", "extent"),
        fields=("resolution", "exportRaster"),
    )
    for name, permission in (("search", "imagery.availability"), ("get-image", "imagery.images")):
        add_route(
            app,
            "POST",
            f"/imagery/{name}/retrieve",
            retrieve_handler(f"imagery/{name}", permission),
            required_fields=("pipelineId",),
            fields=(),
        )
    add_route(
        app,
        "POST",
        "/imagery/scene-info",
        _scene_info,
        required_fields=("sceneId",),
        fields=("tiles", "forceOffline"),
    )
    add_route(app, "POST", "/imagery/providers", _providers, fields=())
    # A streamed binary body: only the query is declared (the handler reads the file).
    add_route(app, "POST", "/imagery/ingest-scene", _ingest, required_query=("provider",))
