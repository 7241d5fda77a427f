"""The BYOC routes: collections, tiles, copies and Planet tile files (see the package docstring)."""

from __future__ import annotations

import asyncio
from typing import Final

from aiohttp import web

from eoclient.emulator.core.refusal import Refusal, json_body
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.sentinelhub.byoc.data import (
    INGEST_SECONDS,
    PATH_RE,
    PLANET_BUCKET_PREFIX,
    TILE_STATUSES,
    Collection,
    Tile,
    band_types,
    byoc_store,
    collection_json,
    default_cover,
    matches,
    new_id,
    number,
    parse_bands,
    parse_geometry,
    parse_sensing_time,
    required_str,
    tile_json,
    tile_status,
    updated_bands,
)
from eoclient.emulator.sentinelhub.byoc.files import (
    PlanetFile,
    byte_range,
    file_chunks,
    file_content,
    planet_files,
)
from eoclient.emulator.sentinelhub.common import view_page

__all__ = ["setup"]

_BASE: Final = "/api/v1/byoc/collections"


def _find_collection(request: web.Request, key: str = "cid") -> Collection:
    store = byoc_store(get_state(request))
    cid = request.match_info[key]
    coll = store.collections.get(cid)
    if coll is None:
        raise Refusal(404, None, f"Collection {cid} not found")
    return coll


async def _create_collection(request: web.Request) -> web.Response:
    state = get_state(request)
    store = byoc_store(state)
    body = await json_body(request)
    name = required_str(body, "name")
    bucket = required_str(body, "s3Bucket")
    no_data = number(body.get("noData"), "noData")
    bands = parse_bands(body, no_data) or {}
    coll = Collection(
        id=new_id(state),
        account_id=store.account_id,
        name=name,
        s3_bucket=bucket,
        created=state.clock.now(),
        no_data=no_data,
        bands={n: {**b, "source": b.get("source", n)} for n, b in bands.items()},
    )
    store.collections[coll.id] = coll
    store.tiles[coll.id] = {}
    return web.json_response({"data": collection_json(coll, store, state.clock.now())}, status=201)


async def _list_collections(request: web.Request) -> web.Response:
    state = get_state(request)
    store = byoc_store(state)
    search = request.query.get("search", "").strip()
    now = state.clock.now()
    items = [
        collection_json(c, store, now)
        for c in store.collections.values()
        if not search or matches(search, c.name, c.s3_bucket, c.id)
    ]
    return web.json_response(view_page(request, items, store.default_page))


async def _get_collection(request: web.Request) -> web.Response:
    state = get_state(request)
    coll = _find_collection(request)
    return web.json_response({"data": collection_json(coll, byoc_store(state), state.clock.now())})


async def _update_collection(request: web.Request) -> web.Response:
    store = byoc_store(get_state(request))
    coll = _find_collection(request)
    body = await json_body(request)
    name = required_str(body, "name")
    bucket = required_str(body, "s3Bucket")
    no_data = number(body.get("noData"), "noData")
    has_tiles = bool(store.tiles.get(coll.id))
    if bucket != coll.s3_bucket and has_tiles:
        raise Refusal(400, None, "s3Bucket can only be changed if the collection is empty")
    new_bands = parse_bands(body, no_data)
    if new_bands is None:
        if no_data is not None and any("noData" in b for b in coll.bands.values()):
            raise Refusal(400, None, "noData can be defined either per band or per collection, but not both")
        bands = coll.bands
    else:
        bands = updated_bands(coll, new_bands, has_tiles)
    coll.name, coll.s3_bucket, coll.no_data, coll.bands = name, bucket, no_data, bands
    return web.Response(status=204)


async def _delete_collection(request: web.Request) -> web.Response:
    store = byoc_store(get_state(request))
    coll = _find_collection(request)
    del store.collections[coll.id]
    store.tiles.pop(coll.id, None)
    return web.Response(status=204)


async def _copy_tiles(request: web.Request) -> web.Response:
    state = get_state(request)
    store = byoc_store(state)
    source = _find_collection(request)
    target_id = request.query.get("toCollection", "")
    if not target_id:
        raise Refusal(400, None, "the toCollection query parameter is required")
    target = store.collections.get(target_id)
    if target is None:
        raise Refusal(404, None, f"Collection {target_id} not found")
    if target.id == source.id:
        raise Refusal(400, None, "cannot copy tiles of a collection into itself")
    if target.bands and band_types(target) != band_types(source):
        raise Refusal(
            400,
            None,
            "the target collection must have the same band names and types as the source, or no bands",
        )
    now = state.clock.now()
    present = {t.path for t in store.tiles[target.id].values()}
    copied = 0
    for tile in sorted(store.tiles[source.id].values(), key=lambda t: t.seq):
        if tile.path in present or tile_status(tile, now) != "INGESTED":
            continue
        new = Tile(
            id=new_id(state),
            path=tile.path,
            seq=store.next_seq(),
            created=now,
            ingest_started=now - INGEST_SECONDS,  # already ingested
            cover_geometry=tile.cover_geometry or default_cover(tile),
            sensing_time=tile.sensing_time,
        )
        store.tiles[target.id][new.id] = new
        copied += 1
    if copied and not target.bands:
        target.bands = {name: dict(band) for name, band in source.bands.items()}
    return web.Response(status=204)


def _find_tile(request: web.Request) -> tuple[Collection, Tile]:
    store = byoc_store(get_state(request))
    coll = _find_collection(request)
    tid = request.match_info["tid"]
    tile = store.tiles[coll.id].get(tid)
    if tile is None:
        raise Refusal(404, None, f"Tile {tid} not found in collection {coll.id}")
    return coll, tile


async def _create_tile(request: web.Request) -> web.Response:
    state = get_state(request)
    store = byoc_store(state)
    coll = _find_collection(request)
    body = await json_body(request)
    path = body.get("path")
    if not isinstance(path, str) or not PATH_RE.match(path):
        raise Refusal(400, None, "path is required: a path in the bucket without leading/trailing slashes")
    if any(t.path == path for t in store.tiles[coll.id].values()):
        raise Refusal(409, None, f"a tile with path {path!r} already exists in this collection")
    now = state.clock.now()
    tile = Tile(
        id=new_id(state),
        path=path,
        seq=store.next_seq(),
        created=now,
        ingest_started=now,
        cover_geometry=parse_geometry(body.get("coverGeometry")),
        sensing_time=parse_sensing_time(body.get("sensingTime")),
    )
    store.tiles[coll.id][tile.id] = tile
    return web.json_response({"data": tile_json(tile, now)}, status=201)


async def _list_tiles(request: web.Request) -> web.Response:
    state = get_state(request)
    store = byoc_store(state)
    coll = _find_collection(request)
    now = state.clock.now()
    sort = request.query.get("sort", "created:asc")
    if sort not in ("created:asc", "created:desc"):
        raise Refusal(400, None, "sort must be created:asc or created:desc")
    # The OpenAPI document declares status as JSON content: accept "INGESTED" with or without quotes.
    status = request.query.get("status", "").strip().strip('"') or None
    if status is not None and status not in TILE_STATUSES:
        raise Refusal(400, None, f"status must be one of {list(TILE_STATUSES)}")
    path = request.query.get("path")
    tiles = sorted(
        store.tiles[coll.id].values(), key=lambda t: (t.created, t.seq), reverse=sort.endswith("desc")
    )
    items = [
        tile_json(t, now)
        for t in tiles
        if (path is None or t.path == path) and (status is None or tile_status(t, now) == status)
    ]
    return web.json_response(view_page(request, items, store.default_page))


async def _get_tile(request: web.Request) -> web.Response:
    _, tile = _find_tile(request)
    return web.json_response({"data": tile_json(tile, get_state(request).clock.now())})


async def _update_tile(request: web.Request) -> web.Response:
    _, tile = _find_tile(request)
    body = await json_body(request)
    unknown = set(body) - {"coverGeometry", "sensingTime"}
    if unknown:
        raise Refusal(400, None, f"only coverGeometry and sensingTime can be updated, not {sorted(unknown)}")
    if "coverGeometry" in body:
        tile.cover_geometry = parse_geometry(body["coverGeometry"])
    if "sensingTime" in body:
        tile.sensing_time = parse_sensing_time(body["sensingTime"])
    return web.Response(status=204)


async def _delete_tile(request: web.Request) -> web.Response:
    coll, tile = _find_tile(request)
    del byoc_store(get_state(request)).tiles[coll.id][tile.id]
    return web.Response(status=204)


async def _reingest_tile(request: web.Request) -> web.Response:
    now = get_state(request).clock.now()
    _, tile = _find_tile(request)
    if tile_status(tile, now) not in ("INGESTED", "FAILED"):
        raise Refusal(409, None, f"tile {tile.id} is still being ingested")
    tile.ingest_started = now
    return web.Response(status=204)


def _planet_tile(request: web.Request) -> Tile:
    coll, tile = _find_tile(request)
    if not coll.s3_bucket.startswith(PLANET_BUCKET_PREFIX):
        raise Refusal(404, None, f"Collection {coll.id} was not created by a Planet subscription or order")
    return tile


def _find_file(request: web.Request) -> PlanetFile:
    tile = _planet_tile(request)
    name = request.match_info["path"]
    spec = planet_files(tile).get(name)
    if spec is None:
        raise Refusal(404, None, f"File {name} not found in tile {tile.id}")
    return spec


async def _list_files(request: web.Request) -> web.Response:
    return web.json_response(list(planet_files(_planet_tile(request))))


async def _get_file(request: web.Request) -> web.StreamResponse:
    store = byoc_store(get_state(request))
    spec = _find_file(request)
    header = request.headers.get("Range")
    span: tuple[int, int] | None = None
    if header is not None:
        store.range_requests.append((request.path, header))
    if header is not None and spec.name not in store.ignore_range:
        span = byte_range(header, spec.size)
    start, end = span if span is not None else (0, spec.size - 1)
    resp = web.StreamResponse(status=206 if span is not None else 200)
    resp.content_type = "application/json" if spec.text is not None else "application/octet-stream"
    resp.content_length = end - start + 1
    resp.headers["Accept-Ranges"] = "bytes"
    if span is not None:
        resp.headers["Content-Range"] = f"bytes {start}-{end}/{spec.size}"
    await asyncio.to_thread(file_content, spec)  # an image is drawn once, off the event loop
    await resp.prepare(request)
    # Written block by block: a dropped connection surfaces as ConnectionError here.
    for chunk in file_chunks(spec, start, end + 1):
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
        add_route(app, method, path, func, query=query, allow_head=False)
    add_route(app, "POST", _BASE + "/{cid}/copyTiles", _copy_tiles, required_query=("toCollection",))
