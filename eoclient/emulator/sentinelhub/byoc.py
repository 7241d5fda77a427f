"""Emulated Sentinel Hub BYOC API: collections, tiles, copies, and the files of Planet tiles.

Routes (Sentinel Hub app, bearer required), as the live service serves them::

    POST   /api/v1/byoc/collections                        -> 201 {"data": collection}
    GET    /api/v1/byoc/collections?search&count&viewtoken -> {"data": [...], "links": {...}}
    GET    /api/v1/byoc/collections/{cid}                  -> {"data": collection}
    PUT    /api/v1/byoc/collections/{cid}                  -> 204   (band rules below)
    DELETE /api/v1/byoc/collections/{cid}                  -> 204   (its tiles go too)
    POST   /api/v1/byoc/collections/{cid}/copyTiles?toCollection=<uuid> -> 204
    POST   /api/v1/byoc/collections/{cid}/tiles            -> 201 {"data": tile}; 409 if the path exists
    GET    /api/v1/byoc/collections/{cid}/tiles?sort&path&status&count&viewtoken
    GET|PUT|DELETE /api/v1/byoc/collections/{cid}/tiles/{tid}
    POST   /api/v1/byoc/collections/{cid}/tiles/{tid}/reingest -> 204; 409 while ingesting
    GET    /api/v1/byoc/collections/{cid}/tiles/{tid}/files    -> ["name", ...]
    GET    /api/v1/byoc/collections/{cid}/tiles/{tid}/files/{path} -> bytes; Range -> 206
    HEAD   /api/v1/byoc/collections/{cid}/tiles/{tid}/files/{path} -> Content-Length

Behaviour:

* Paging: ``viewtoken`` (opaque) with ``links.nextToken`` and ``links.next``;
  the default page is small (:attr:`ByocStore.default_page`, 5) so that
  clients page; ``count`` is 1..100. ``search`` matches words against name,
  bucket (or equal the id; ``a|b`` or, ``a&b`` and; ``&`` binds tighter).
* Tile status follows the emulated clock from creation (or reingestion):
  ``WAITING`` (2 s), ``QUEUED`` (3 s), ``INGESTING`` (10 s), then
  ``INGESTED`` — or ``FAILED`` (with ``additionalData.failedIngestionCause``)
  when the path contains ``fail``. :data:`INGEST_SECONDS` in total.
* Bands (the reference's rules): at most 100; ``noData`` per band or per
  collection, not both; a band's ``sampleFormat`` never changes. Once the
  collection has a tile: bands cannot be added nor their ``bitDepth``,
  ``sampleFormat``, ``bandIndex`` or ``source`` changed (renaming, setting
  ``noData`` and removing are allowed), all bands can only be removed from
  an empty collection, and ``s3Bucket`` cannot change. Violations are 400.
* Copying tiles takes the INGESTED tiles whose path is not in the target;
  the target must have the same band names and types (``sampleFormat``,
  ``bitDepth``) or no bands (then it gets the source's bands), else 400.
* Planet collections are those whose ``s3Bucket`` starts with ``sh.tpdi.``
  (the buckets of Planet subscriptions/orders): each tile has four files
  named from the last segment of its path (``<id>.json``,
  ``<id>_metadata.json``, ``<id>_ortho_analytic_4b_sr.tif`` of 3-4 MiB,
  ``<id>_ortho_udm2.tif``). Their bytes derive from a hash of (tile, file,
  block), are the same on every request and are streamed block by block.
  Other collections answer 404 for files.
* Test knobs in :func:`byoc_store` (``state.stores["sh_byoc"]``):
  ``head_size_skew[name] = n`` makes ``HEAD`` of file ``name`` report ``n``
  bytes more than the file has; ``ignore_range`` (file names) makes ``GET``
  ignore ``Range`` and answer the whole file with 200; ``range_requests``
  logs every ``Range`` header received as ``(path, header)``.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.errors import sh_error
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.sentinelhub.common import Refused, handler, json_object, view_page

__all__ = [
    "INGEST_SECONDS",
    "PLANET_BUCKET_PREFIX",
    "ByocStore",
    "byoc_store",
    "file_bytes",
    "setup",
]

_BASE: Final = "/api/v1/byoc/collections"
_PHASES: Final = (("WAITING", 2.0), ("QUEUED", 3.0), ("INGESTING", 10.0))
INGEST_SECONDS: Final = sum(seconds for _, seconds in _PHASES)
"""Emulated seconds from creation (or reingestion) to a final tile status."""
PLANET_BUCKET_PREFIX: Final = "sh.tpdi."
_MAX_BANDS: Final = 100
_BLOCK: Final = 1 << 16  # file bytes are generated (and streamed) in blocks of this size
_PATH_RE: Final = re.compile(r"^([^/](/?[^/])*)?$")
_BIT_DEPTHS: Final = (8, 16, 32)
_SAMPLE_FORMATS: Final = ("UINT", "INT", "FLOAT")
_TILE_STATUSES: Final = ("WAITING", "QUEUED", "INGESTING", "INGESTED", "FAILED")


@dataclass
class _Collection:
    id: str
    account_id: str
    name: str
    s3_bucket: str
    created: float
    no_data: float | None = None
    bands: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class _Tile:
    id: str
    path: str
    seq: int
    created: float
    ingest_started: float
    cover_geometry: dict[str, Any] | None = None
    sensing_time: str | None = None


@dataclass
class ByocStore:
    """The emulated BYOC data of one emulator, plus test knobs (see the module docstring)."""

    account_id: str
    collections: dict[str, _Collection] = field(default_factory=dict)
    tiles: dict[str, dict[str, _Tile]] = field(default_factory=dict)
    seq: int = 0
    default_page: int = 5
    head_size_skew: dict[str, int] = field(default_factory=dict)
    ignore_range: set[str] = field(default_factory=set)
    range_requests: list[tuple[str, str]] = field(default_factory=list)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


def byoc_store(state: EmulatorState) -> ByocStore:
    """The BYOC store of an emulator's state (created on first use)."""
    return state.store("sh_byoc", lambda: ByocStore(account_id=_new_id(state)))


def _new_id(state: EmulatorState) -> str:
    return str(uuid.UUID(int=state.rng.getrandbits(128), version=4))


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _matches(search: str, name: str, bucket: str, ident: str) -> bool:
    """A word matches a part of the name or bucket, or the whole id."""

    def word(term: str) -> bool:
        term = term.strip().lower()
        return term in name.lower() or term in bucket.lower() or term == ident

    return any(all(word(t) for t in group.split("&") if t.strip()) for group in search.split("|"))


# -- collections ---------------------------------------------------------------------------


def _tile_status(tile: _Tile, now: float) -> str:
    elapsed = now - tile.ingest_started
    for status, seconds in _PHASES:
        if elapsed < seconds:
            return status
        elapsed -= seconds
    return "FAILED" if "fail" in tile.path.lower() else "INGESTED"


def _bounds(geometry: dict[str, Any] | None) -> tuple[float, float, float, float] | None:
    if not geometry:
        return None
    flat: list[float] = []
    stack: list[Any] = [geometry.get("coordinates")]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            if len(item) == 2 and all(isinstance(v, int | float) for v in item):
                flat.extend(float(v) for v in item)
            else:
                stack.extend(item)
    if not flat:
        return None
    xs, ys = flat[0::2], flat[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def _box(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def _default_cover(tile: _Tile) -> dict[str, Any]:
    """A small lon/lat box somewhere in Europe, fixed per path."""
    h = int.from_bytes(hashlib.sha256(tile.path.encode()).digest()[:8], "big")
    lon = 5.0 + (h % 2000) / 100.0
    lat = 40.0 + (h // 2000 % 1500) / 100.0
    return _box(round(lon, 4), round(lat, 4), round(lon + 0.2, 4), round(lat + 0.2, 4))


def _collection_json(coll: _Collection, store: ByocStore, now: float) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if coll.bands:
        extra["bands"] = {name: dict(band) for name, band in coll.bands.items()}
    ingested = [t for t in store.tiles.get(coll.id, {}).values() if _tile_status(t, now) == "INGESTED"]
    if ingested:
        boxes = [b for b in (_bounds(t.cover_geometry or _default_cover(t)) for t in ingested) if b]
        if boxes:
            extra["extent"] = _box(
                min(b[0] for b in boxes),
                min(b[1] for b in boxes),
                max(b[2] for b in boxes),
                max(b[3] for b in boxes),
            )
        times = sorted(t.sensing_time for t in ingested if t.sensing_time)
        extra["hasSensingTimes"] = "YES" if len(times) == len(ingested) else "PARTIALLY" if times else "NO"
        if times:
            extra["fromSensingTime"], extra["toSensingTime"] = times[0], times[-1]
    out: dict[str, Any] = {
        "id": coll.id,
        "accountId": coll.account_id,
        "name": coll.name,
        "s3Bucket": coll.s3_bucket,
        "isConfigured": bool(coll.bands),
        "created": _iso(coll.created),
        "requiresMetadataUpdate": False,
        "additionalData": extra,
    }
    if coll.no_data is not None:
        out["noData"] = coll.no_data
    return out


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Refused(f"{where} must be a number")
    return float(value)


def _required_str(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise Refused(f"{name} is required and must be a non-empty string")
    return value


def _parse_bands(body: dict[str, Any], collection_no_data: float | None) -> dict[str, dict[str, Any]] | None:
    """The bands of a create/update body (``None``: no ``additionalData`` given), checked."""
    extra = body.get("additionalData")
    if extra is None:
        return None
    if not isinstance(extra, dict):
        raise Refused("additionalData must be an object")
    raw = extra.get("bands") or {}
    if not isinstance(raw, dict):
        raise Refused("additionalData.bands must be an object")
    if len(raw) > _MAX_BANDS:
        raise Refused(f"a collection can have at most {_MAX_BANDS} bands")
    bands: dict[str, dict[str, Any]] = {}
    for name, band in raw.items():
        where = f"additionalData.bands.{name}"
        if not isinstance(band, dict) or not name.strip():
            raise Refused(f"{where} must be an object with a non-empty name")
        if band.get("bitDepth") not in _BIT_DEPTHS:
            raise Refused(f"{where}.bitDepth must be one of {list(_BIT_DEPTHS)}")
        if band.get("sampleFormat") not in _SAMPLE_FORMATS:
            raise Refused(f"{where}.sampleFormat must be one of {list(_SAMPLE_FORMATS)}")
        index = band.get("bandIndex", 1)
        if isinstance(index, bool) or not isinstance(index, int) or index < 1:
            raise Refused(f"{where}.bandIndex must be an integer >= 1")
        source = band.get("source")
        if source is not None and not isinstance(source, str):
            raise Refused(f"{where}.source must be a string")
        clean: dict[str, Any] = {
            "bitDepth": band["bitDepth"],
            "sampleFormat": band["sampleFormat"],
            "bandIndex": index,
        }
        if source is not None:
            clean["source"] = source
        no_data = _number(band.get("noData"), f"{where}.noData")
        if no_data is not None:
            if collection_no_data is not None:
                raise Refused("noData can be defined either per band or per collection, but not both")
            clean["noData"] = no_data
        bands[name] = clean
    return bands


_FIXED_PROPS: Final = ("bitDepth", "sampleFormat", "bandIndex", "source")


def _same_band(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """The first fixed property in which ``new`` differs from ``old`` (``source`` only if given)."""
    for prop in _FIXED_PROPS:
        if prop == "source" and "source" not in new:
            continue
        if old.get(prop) != new.get(prop):
            return prop
    return None


def _updated_bands(
    coll: _Collection, new: dict[str, dict[str, Any]], has_tiles: bool
) -> dict[str, dict[str, Any]]:
    """Apply the reference's band rules to an update; returns the bands to store."""
    old = coll.bands
    for name, band in new.items():
        if name in old and old[name]["sampleFormat"] != band["sampleFormat"]:
            raise Refused(f"band {name}: once the sample format is set it cannot be changed")
    if not has_tiles:
        return {name: {**band, "source": band.get("source", name)} for name, band in new.items()}
    if old and not new:
        raise Refused("to remove all bands, first empty the collection (it has tiles)")
    result: dict[str, dict[str, Any]] = {}
    renamed_from = [name for name in old if name not in new]
    for name, band in new.items():
        if name in old:
            base = old[name]
        else:
            # A new name is a rename of a vanished band with the same fixed properties.
            match = next((o for o in renamed_from if _same_band(old[o], band) is None), None)
            if match is None:
                raise Refused(f"band {name}: bands cannot be added once the collection has tiles")
            renamed_from.remove(match)
            base = old[match]
        prop = _same_band(base, band)
        if prop is not None:
            raise Refused(f"band {name}: {prop} cannot be changed once the collection has tiles")
        merged = {k: v for k, v in base.items() if k != "noData"}
        if "noData" in band:
            merged["noData"] = band["noData"]
        result[name] = merged
    return result


def _find_collection(request: web.Request, key: str = "cid") -> _Collection:
    store = byoc_store(get_state(request))
    cid = request.match_info[key]
    coll = store.collections.get(cid)
    if coll is None:
        raise Refused(f"Collection {cid} not found", 404)
    return coll


async def _create_collection(request: web.Request) -> web.Response:
    state = get_state(request)
    store = byoc_store(state)
    body = await json_object(request)
    name = _required_str(body, "name")
    bucket = _required_str(body, "s3Bucket")
    no_data = _number(body.get("noData"), "noData")
    bands = _parse_bands(body, no_data) or {}
    coll = _Collection(
        id=_new_id(state),
        account_id=store.account_id,
        name=name,
        s3_bucket=bucket,
        created=state.clock.now(),
        no_data=no_data,
        bands={n: {**b, "source": b.get("source", n)} for n, b in bands.items()},
    )
    store.collections[coll.id] = coll
    store.tiles[coll.id] = {}
    return web.json_response({"data": _collection_json(coll, store, state.clock.now())}, status=201)


async def _list_collections(request: web.Request) -> web.Response:
    state = get_state(request)
    store = byoc_store(state)
    search = request.query.get("search", "").strip()
    now = state.clock.now()
    items = [
        _collection_json(c, store, now)
        for c in store.collections.values()
        if not search or _matches(search, c.name, c.s3_bucket, c.id)
    ]
    return web.json_response(view_page(request, items, store.default_page))


async def _get_collection(request: web.Request) -> web.Response:
    state = get_state(request)
    coll = _find_collection(request)
    return web.json_response({"data": _collection_json(coll, byoc_store(state), state.clock.now())})


async def _update_collection(request: web.Request) -> web.Response:
    store = byoc_store(get_state(request))
    coll = _find_collection(request)
    body = await json_object(request)
    name = _required_str(body, "name")
    bucket = _required_str(body, "s3Bucket")
    no_data = _number(body.get("noData"), "noData")
    has_tiles = bool(store.tiles.get(coll.id))
    if bucket != coll.s3_bucket and has_tiles:
        raise Refused("s3Bucket can only be changed if the collection is empty")
    new_bands = _parse_bands(body, no_data)
    if new_bands is None:
        if no_data is not None and any("noData" in b for b in coll.bands.values()):
            raise Refused("noData can be defined either per band or per collection, but not both")
        bands = coll.bands
    else:
        bands = _updated_bands(coll, new_bands, has_tiles)
    coll.name, coll.s3_bucket, coll.no_data, coll.bands = name, bucket, no_data, bands
    return web.Response(status=204)


async def _delete_collection(request: web.Request) -> web.Response:
    store = byoc_store(get_state(request))
    coll = _find_collection(request)
    del store.collections[coll.id]
    store.tiles.pop(coll.id, None)
    return web.Response(status=204)


def _band_types(coll: _Collection) -> dict[str, tuple[Any, Any]]:
    return {name: (b["sampleFormat"], b["bitDepth"]) for name, b in coll.bands.items()}


async def _copy_tiles(request: web.Request) -> web.Response:
    state = get_state(request)
    store = byoc_store(state)
    source = _find_collection(request)
    target_id = request.query.get("toCollection", "")
    if not target_id:
        raise Refused("the toCollection query parameter is required")
    target = store.collections.get(target_id)
    if target is None:
        raise Refused(f"Collection {target_id} not found", 404)
    if target.id == source.id:
        raise Refused("cannot copy tiles of a collection into itself")
    if target.bands and _band_types(target) != _band_types(source):
        raise Refused(
            "the target collection must have the same band names and types as the source, or no bands"
        )
    now = state.clock.now()
    present = {t.path for t in store.tiles[target.id].values()}
    copied = 0
    for tile in sorted(store.tiles[source.id].values(), key=lambda t: t.seq):
        if tile.path in present or _tile_status(tile, now) != "INGESTED":
            continue
        new = _Tile(
            id=_new_id(state),
            path=tile.path,
            seq=store.next_seq(),
            created=now,
            ingest_started=now - INGEST_SECONDS,  # already ingested
            cover_geometry=tile.cover_geometry or _default_cover(tile),
            sensing_time=tile.sensing_time,
        )
        store.tiles[target.id][new.id] = new
        copied += 1
    if copied and not target.bands:
        target.bands = {name: dict(band) for name, band in source.bands.items()}
    return web.Response(status=204)


# -- tiles ---------------------------------------------------------------------------------


def _tile_json(tile: _Tile, now: float) -> dict[str, Any]:
    status = _tile_status(tile, now)
    out: dict[str, Any] = {
        "id": tile.id,
        "path": tile.path,
        "status": status,
        "created": _iso(tile.created),
        "sensingTime": tile.sensing_time,
        "additionalData": {},
    }
    if tile.cover_geometry is not None:
        out["coverGeometry"] = tile.cover_geometry
    if status == "INGESTED":
        cover = tile.cover_geometry or _default_cover(tile)
        out["coverGeometry"] = cover
        bounds = _bounds(cover)
        if bounds:
            out["tileGeometry"] = _box(*bounds)
    elif status == "FAILED":
        out["additionalData"]["failedIngestionCause"] = (
            f"Could not read {tile.path}: the file is not a Cloud Optimized GeoTIFF"
        )
    return out


def _geometry(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or value.get("type") not in ("Polygon", "MultiPolygon")
        or not isinstance(value.get("coordinates"), list)
        or _bounds(value) is None
    ):
        raise Refused("coverGeometry must be a GeoJSON Polygon or MultiPolygon")
    return value


def _sensing_time(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Refused("sensingTime must be an ISO 8601 date-time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Refused(f"sensingTime is not an ISO 8601 date-time: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return _iso(parsed.timestamp())


def _find_tile(request: web.Request) -> tuple[_Collection, _Tile]:
    store = byoc_store(get_state(request))
    coll = _find_collection(request)
    tid = request.match_info["tid"]
    tile = store.tiles[coll.id].get(tid)
    if tile is None:
        raise Refused(f"Tile {tid} not found in collection {coll.id}", 404)
    return coll, tile


async def _create_tile(request: web.Request) -> web.Response:
    state = get_state(request)
    store = byoc_store(state)
    coll = _find_collection(request)
    body = await json_object(request)
    path = body.get("path")
    if not isinstance(path, str) or not _PATH_RE.match(path):
        raise Refused("path is required: a path in the bucket without leading/trailing slashes")
    if any(t.path == path for t in store.tiles[coll.id].values()):
        raise Refused(f"a tile with path {path!r} already exists in this collection", 409)
    now = state.clock.now()
    tile = _Tile(
        id=_new_id(state),
        path=path,
        seq=store.next_seq(),
        created=now,
        ingest_started=now,
        cover_geometry=_geometry(body.get("coverGeometry")),
        sensing_time=_sensing_time(body.get("sensingTime")),
    )
    store.tiles[coll.id][tile.id] = tile
    return web.json_response({"data": _tile_json(tile, now)}, status=201)


async def _list_tiles(request: web.Request) -> web.Response:
    state = get_state(request)
    store = byoc_store(state)
    coll = _find_collection(request)
    now = state.clock.now()
    sort = request.query.get("sort", "created:asc")
    if sort not in ("created:asc", "created:desc"):
        raise Refused("sort must be created:asc or created:desc")
    # The OpenAPI document declares status as JSON content: accept "INGESTED" with or without quotes.
    status = request.query.get("status", "").strip().strip('"') or None
    if status is not None and status not in _TILE_STATUSES:
        raise Refused(f"status must be one of {list(_TILE_STATUSES)}")
    path = request.query.get("path")
    tiles = sorted(
        store.tiles[coll.id].values(), key=lambda t: (t.created, t.seq), reverse=sort.endswith("desc")
    )
    items = [
        _tile_json(t, now)
        for t in tiles
        if (path is None or t.path == path) and (status is None or _tile_status(t, now) == status)
    ]
    return web.json_response(view_page(request, items, store.default_page))


async def _get_tile(request: web.Request) -> web.Response:
    _, tile = _find_tile(request)
    return web.json_response({"data": _tile_json(tile, get_state(request).clock.now())})


async def _update_tile(request: web.Request) -> web.Response:
    _, tile = _find_tile(request)
    body = await json_object(request)
    unknown = set(body) - {"coverGeometry", "sensingTime"}
    if unknown:
        raise Refused(f"only coverGeometry and sensingTime can be updated, not {sorted(unknown)}")
    if "coverGeometry" in body:
        tile.cover_geometry = _geometry(body["coverGeometry"])
    if "sensingTime" in body:
        tile.sensing_time = _sensing_time(body["sensingTime"])
    return web.Response(status=204)


async def _delete_tile(request: web.Request) -> web.Response:
    coll, tile = _find_tile(request)
    del byoc_store(get_state(request)).tiles[coll.id][tile.id]
    return web.Response(status=204)


async def _reingest_tile(request: web.Request) -> web.Response:
    now = get_state(request).clock.now()
    _, tile = _find_tile(request)
    if _tile_status(tile, now) not in ("INGESTED", "FAILED"):
        raise Refused(f"tile {tile.id} is still being ingested", 409)
    tile.ingest_started = now
    return web.Response(status=204)


# -- files of Planet tiles -----------------------------------------------------------------


@dataclass(frozen=True)
class _File:
    name: str
    size: int
    key: bytes
    text: bytes | None = None  # small JSON files are built whole; images are generated in blocks


def _planet_files(tile: _Tile) -> dict[str, _File]:
    stem = tile.path.rsplit("/", 1)[-1].replace("(BAND)", "").strip("_.-") or "tile"
    files: dict[str, _File] = {}
    meta = {"id": stem, "tile": tile.id, "item_type": "PSScene", "sensing_time": tile.sensing_time}
    for name, doc in ((f"{stem}.json", {"type": "Feature", "id": stem}), (f"{stem}_metadata.json", meta)):
        text = json.dumps(doc, sort_keys=True).encode()
        files[name] = _File(name, len(text), b"", text)
    for suffix, base, spread in (
        ("_ortho_analytic_4b_sr.tif", 3 << 20, 1 << 20),
        ("_ortho_udm2.tif", 1 << 19, 1 << 18),
    ):
        name = stem + suffix
        key = hashlib.sha256(f"{tile.id}|{name}".encode()).digest()
        size = base + int.from_bytes(key[:4], "big") % spread
        files[name] = _File(name, size, key)
    return files


def _block(key: bytes, index: int) -> bytes:
    seed = int.from_bytes(hashlib.blake2b(key + index.to_bytes(8, "big"), digest_size=16).digest(), "big")
    data = random.Random(seed).randbytes(_BLOCK)
    return b"II*\x00" + data[4:] if index == 0 else data  # a TIFF's magic number, for looks


def _chunks(spec: _File, start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start..end-1`` of a file, one generated block at a time."""
    if spec.text is not None:
        yield spec.text[start:end]
        return
    pos = start
    while pos < end:
        index, skip = divmod(pos, _BLOCK)
        piece = _block(spec.key, index)[skip : skip + (end - pos)]
        yield piece
        pos += len(piece)


def file_bytes(tile_id: str, tile_path: str, name: str, start: int = 0, end: int | None = None) -> bytes:
    """The bytes of a Planet tile's file as the emulator serves them (for tests; small ranges only)."""
    spec = _planet_files(_Tile(tile_id, tile_path, 0, 0.0, 0.0))[name]
    return b"".join(_chunks(spec, start, spec.size if end is None else min(end, spec.size)))


def _planet_tile(request: web.Request) -> _Tile:
    coll, tile = _find_tile(request)
    if not coll.s3_bucket.startswith(PLANET_BUCKET_PREFIX):
        raise Refused(f"Collection {coll.id} was not created by a Planet subscription or order", 404)
    return tile


def _find_file(request: web.Request) -> _File:
    tile = _planet_tile(request)
    name = request.match_info["path"]
    spec = _planet_files(tile).get(name)
    if spec is None:
        raise Refused(f"File {name} not found in tile {tile.id}", 404)
    return spec


async def _list_files(request: web.Request) -> web.Response:
    return web.json_response(list(_planet_files(_planet_tile(request))))


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """``(start, end)`` inclusive for one ``bytes=`` range; ``None`` to serve the whole file.

    Raises ``Refused(416)`` when the range lies beyond the file.
    """
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if match is None or not (match.group(1) or match.group(2)):
        return None  # several or malformed ranges: RFC 7233 lets a server ignore them
    first, last = match.group(1), match.group(2)
    if not first:
        start, end = max(0, size - int(last)), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise Refused(f"range {header!r} is not satisfiable for {size} bytes", 416)
    return start, end


async def _get_file(request: web.Request) -> web.StreamResponse:
    store = byoc_store(get_state(request))
    spec = _find_file(request)
    header = request.headers.get("Range")
    span: tuple[int, int] | None = None
    if header is not None:
        store.range_requests.append((request.path, header))
    if header is not None and spec.name not in store.ignore_range:
        try:
            span = _byte_range(header, spec.size)
        except Refused as exc:
            return sh_error(416, str(exc), headers={"Content-Range": f"bytes */{spec.size}"})
    start, end = span if span is not None else (0, spec.size - 1)
    resp = web.StreamResponse(status=206 if span is not None else 200)
    resp.content_type = "application/json" if spec.text is not None else "application/octet-stream"
    resp.content_length = end - start + 1
    resp.headers["Accept-Ranges"] = "bytes"
    if span is not None:
        resp.headers["Content-Range"] = f"bytes {start}-{end}/{spec.size}"
    await resp.prepare(request)
    # Written block by block: a dropped connection surfaces as ConnectionError here.
    for chunk in _chunks(spec, start, end + 1):
        await resp.write(chunk)
    await resp.write_eof()
    return resp


async def _head_file(request: web.Request) -> web.StreamResponse:
    store = byoc_store(get_state(request))
    spec = _find_file(request)
    resp = web.StreamResponse(status=200)
    resp.content_type = "application/json" if spec.text is not None else "application/octet-stream"
    resp.content_length = spec.size + store.head_size_skew.get(spec.name, 0)
    resp.headers["Accept-Ranges"] = "bytes"
    await resp.prepare(request)
    await resp.write_eof()
    return resp


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the BYOC routes to the Sentinel Hub app."""
    del state
    tiles = _BASE + "/{cid}/tiles"
    tile = tiles + "/{tid}"
    # Query parameters as the OpenAPI document lists them per operation; any other is refused.
    routes = [
        ("POST", _BASE, _create_collection, ()),
        ("GET", _BASE, _list_collections, ("count", "viewtoken", "search")),
        ("GET", _BASE + "/{cid}", _get_collection, ()),
        ("PUT", _BASE + "/{cid}", _update_collection, ()),
        ("DELETE", _BASE + "/{cid}", _delete_collection, ()),
        ("POST", tiles, _create_tile, ()),
        ("GET", tiles, _list_tiles, ("count", "viewtoken", "sort", "path", "status")),
        ("GET", tile, _get_tile, ()),
        ("PUT", tile, _update_tile, ()),
        ("DELETE", tile, _delete_tile, ()),
        ("POST", tile + "/reingest", _reingest_tile, ()),
        ("GET", tile + "/files", _list_files, ()),
        ("GET", tile + "/files/{path:.+}", _get_file, ()),
        ("HEAD", tile + "/files/{path:.+}", _head_file, ()),
    ]
    for method, path, func, query in routes:
        add_route(app, method, path, handler(func), query=query, allow_head=False)
    add_route(app, "POST", _BASE + "/{cid}/copyTiles", handler(_copy_tiles), required_query=("toCollection",))
