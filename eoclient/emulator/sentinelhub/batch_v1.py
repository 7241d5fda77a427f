"""Emulated legacy Sentinel Hub Batch Process API (``/api/v1/batch/...``); set up by :mod:`.batch`.

Routes (Sentinel Hub app, bearer required)::

    POST   /api/v1/batch/process                         -> 201 request (CREATED)
    GET    /api/v1/batch/process?collectionId&search&sort&count&viewtoken
    GET    /api/v1/batch/process/{id}                    -> request; 404 if unknown
    PUT    /api/v1/batch/process/{id}  {"output", "description"} -> 200 request; 409 while running
    DELETE /api/v1/batch/process/{id}                    -> 204; 400 while running or with processed tiles
    POST   /api/v1/batch/process/{id}/analyse|start|cancel|restartpartial -> 204
    GET    /api/v1/batch/process/{id}/tiles?status&count&viewtoken -> tiles (none before analysis)
    GET    /api/v1/batch/process/{id}/tiles/{tileId}     -> tile; 404 if unknown
    POST   /api/v1/batch/collections  {"name", "s3Bucket"} -> 201 {"data": collection}
    GET    /api/v1/batch/collections?search&count&viewtoken
    GET    /api/v1/batch/collections/{id}                -> {"data": collection}
    PUT    /api/v1/batch/collections/{id}  {"name"}      -> 204
    DELETE /api/v1/batch/collections/{id}                -> 204; 400 while a request uses it

A request is its submitted body (``processRequest``, ``tilingGrid``,
``output``/``bucketName``/``zarrOutput``, ``description``) plus ``id``,
``userId``, ``accountId``, ``created``, ``status``, ``userAction``,
``userActionUpdated``, ``error`` and, once analysed, ``tileCount``,
``tileWidthPx``, ``tileHeightPx`` and ``valueEstimate``. Tiles are
``{"id", "requestId", "geometry", "origin", "status", "cost"}`` with statuses
PENDING after the analysis, QUEUED/PROCESSING/PROCESSED while processing and
FAILED for the failed ones. States, timing and the ``description`` triggers
(``fail``, ``analysis-fail``, ``partial``) are in :mod:`.batch_engine`.
``search`` matches words of the description (or the id); ``a|b`` is or,
``a&b`` is and.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.refusal import Refusal, invalid, json_body
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.sentinelhub.batch_engine import (
    BatchRecord,
    BatchStore,
    action_handler,
    add_record,
    batch_store,
    buffers_of,
    check_description,
    check_process_request,
    find_record,
    grid_of,
    iso,
    sorted_records,
    tiling,
)
from eoclient.emulator.sentinelhub.common import view_page
from eoclient.emulator.sentinelhub.storage import parse_storage

__all__ = ["COLLECTIONS", "PATH", "setup"]

PATH: Final = "/api/v1/batch/process"
COLLECTIONS: Final = "/api/v1/batch/collections"
TILE_STATUSES: Final = frozenset({"PENDING", "SCHEDULED", "QUEUED", "PROCESSING", "PROCESSED", "FAILED"})
_TILE_PLACEHOLDERS: Final = frozenset({"<requestId>", "<tileName>", "<tileId>", "<outputId>", "<format>"})
_SPEC_KEYS: Final = (
    "processRequest",
    "tilingGrid",
    "tilingGridId",
    "resolution",
    "output",
    "bucketName",
    "zarrOutput",
    "description",
)


def _matches(search: str, texts: tuple[str, ...], ident: str) -> bool:
    """Whether ``search`` (words, ``a|b`` or, ``a&b`` and) matches words of ``texts`` or is ``ident``."""
    words = " ".join(texts).lower().split()

    def term(t: str) -> bool:
        t = t.strip().lower()
        return t == ident.lower() or any(t in w for w in words)

    return any(all(term(t) for t in alt.split("&")) for alt in search.split("|"))


def _check_output(output: Any, store: BatchStore) -> None:
    if not isinstance(output, dict):
        raise invalid("output", output, "must be an object")
    path = output.get("defaultTilePath")
    parse_storage(
        {"s3": {"url": path}},
        "output->defaultTilePath",
        placeholders=_TILE_PLACEHOLDERS,
        require_one_of=frozenset({"<tileName>", "<tileId>"}),
    )
    collection = output.get("collectionId")
    if collection is not None and collection not in store.collections:
        raise invalid("output->collectionId", collection, f"batch collection {collection} does not exist")


def _check_v1(body: dict[str, Any], store: BatchStore) -> dict[str, Any]:
    """Check a legacy body; returns the tiling figures of the request."""
    given = [k for k in ("output", "bucketName", "zarrOutput") if body.get(k) is not None]
    if len(given) != 1:
        raise invalid("output", None, "exactly one of output, bucketName or zarrOutput must be specified")
    zarr = body.get("zarrOutput")
    process_request = check_process_request(
        body.get("processRequest"), zarr=zarr is not None, bounds_required=True
    )
    grid_settings = body.get("tilingGrid")
    if grid_settings is None and body.get("tilingGridId") is not None:
        grid_settings = {"id": body.get("tilingGridId"), "resolution": body.get("resolution")}
    if not isinstance(grid_settings, dict):
        raise invalid("tilingGrid", grid_settings, "must not be null")
    grid = grid_of(grid_settings.get("id"), grid_settings.get("resolution"), "tilingGrid")
    if body.get("output") is not None:
        _check_output(body["output"], store)
    elif zarr is not None:
        if not isinstance(zarr, dict):
            raise invalid("zarrOutput", zarr, "must be an object")
        parse_storage(
            {"s3": {"url": zarr.get("path")}}, "zarrOutput->path", placeholders=frozenset({"<requestId>"})
        )
        group = zarr.get("group")
        if not isinstance(group, dict) or group.get("zarr_format") != 2:
            raise invalid("zarrOutput->group->zarr_format", group, "only Zarr format 2 is supported")
    else:
        name = body.get("bucketName")
        if not isinstance(name, str) or not name.strip() or "/" in name:
            raise invalid("bucketName", name, "must be a bucket name")
    check_description(body)
    resolution = float(grid_settings["resolution"])
    return tiling(process_request, grid, resolution, buffers_of(grid_settings, "tilingGrid"))


def request_json(record: BatchRecord, store: BatchStore, now: float) -> dict[str, Any]:
    """A legacy request as the service answers it."""
    snap = record.snapshot(now)
    out: dict[str, Any] = {k: record.body[k] for k in _SPEC_KEYS if record.body.get(k) is not None}
    out.update(
        {
            "id": record.id,
            "userId": store.user_id,
            "accountId": store.account_id,
            "created": iso(record.created),
            "status": snap.status,
            "userAction": record.user_action,
        }
    )
    if record.user_action_at is not None:
        out["userActionUpdated"] = iso(record.user_action_at)
    if snap.error:
        out["error"] = snap.error
    if snap.analysed:
        out["tileCount"] = record.tiles
        out["tileWidthPx"] = record.tile_width_px
        out["tileHeightPx"] = record.tile_height_px
        out["valueEstimate"] = record.estimate
    return out


def _tile_json(record: BatchRecord, index: int, status: str) -> dict[str, Any]:
    ring = record.tile_geometry(index)
    x, y = ring["coordinates"][0][0]
    origin = {
        "type": "Point",
        "coordinates": [x, y],
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}},
    }
    cost = round(record.estimate / record.tiles, 4) if status == "PROCESSED" else 0.0
    return {
        "id": index,
        "requestId": record.id,
        "geometry": ring,
        "origin": origin,
        "status": status,
        "cost": cost,
    }


# -- request handlers ----------------------------------------------------------------------


async def _create(request: web.Request) -> web.Response:
    state = get_state(request)
    store = batch_store(state)
    body = await json_body(request)
    record = add_record(state, "v1", body, _check_v1(body, store))
    return web.json_response(request_json(record, store, record.created), status=201)


async def _list(request: web.Request) -> web.Response:
    state = get_state(request)
    store = batch_store(state)
    now = state.clock.now()
    records = [r for r in store.records.values() if r.api == "v1"]
    collection = request.query.get("collectionId")
    if collection is not None:
        records = [r for r in records if (r.body.get("output") or {}).get("collectionId") == collection]
    search = request.query.get("search")
    if search:
        records = [r for r in records if _matches(search, (r.description,), r.id)]
    records = sorted_records(records, request.query.get("sort"), now)
    page = view_page(request, [request_json(r, store, now) for r in records], store.default_page)
    return web.json_response(page)


async def _get(request: web.Request) -> web.Response:
    state = get_state(request)
    record = find_record(request, "v1")
    return web.json_response(request_json(record, batch_store(state), state.clock.now()))


async def _update(request: web.Request) -> web.Response:
    state = get_state(request)
    store = batch_store(state)
    record = find_record(request, "v1")
    body = await json_body(request)
    now = state.clock.now()
    record.check_updatable(now)
    if "output" in body:
        if record.body.get("output") is None:
            raise invalid("output", body["output"], "the request writes to bucketName or zarrOutput")
        merged = {**record.body["output"], **body["output"]} if isinstance(body["output"], dict) else None
        _check_output(merged, store)
        record.body["output"] = merged
    if "description" in body:
        if not isinstance(body["description"], str):
            raise invalid("description", body["description"], "must be a string")
        record.body["description"] = body["description"]
    record.updated = now
    return web.json_response(request_json(record, store, now))


async def _delete(request: web.Request) -> web.Response:
    state = get_state(request)
    record = find_record(request, "v1")
    now = state.clock.now()
    snap = record.settle(now)
    if record.busy(now):
        raise Refusal(400, None, f"Batch request {record.id} is {snap.status}; cancel it before deleting it")
    if snap.fraction > 0:
        raise Refusal(400, None, f"Batch request {record.id} has processed tiles and cannot be deleted")
    del batch_store(state).records[record.id]
    return web.Response(status=204)


async def _tiles(request: web.Request) -> web.Response:
    state = get_state(request)
    record = find_record(request, "v1")
    status = request.query.get("status")
    if status is not None and status not in TILE_STATUSES:
        raise Refusal(400, None, f"status must be one of {', '.join(sorted(TILE_STATUSES))}")
    snap = record.snapshot(state.clock.now())
    tiles = []
    for i in range(record.tiles if snap.analysed else 0):
        tile_status = record.tile_status(i, snap)
        if tile_status is not None and (status is None or tile_status == status):
            tiles.append(_tile_json(record, i, tile_status))
    return web.json_response(view_page(request, tiles, batch_store(state).default_page))


async def _tile(request: web.Request) -> web.Response:
    state = get_state(request)
    record = find_record(request, "v1")
    raw = request.match_info["tile"]
    snap = record.snapshot(state.clock.now())
    index = int(raw) if raw.isdigit() else -1
    tile_status = record.tile_status(index, snap) if 0 <= index < record.tiles else None
    if tile_status is None:
        raise Refusal(404, None, f"Tile {raw} of batch request {record.id} not found")
    return web.json_response(_tile_json(record, index, tile_status))


# -- batch collections ---------------------------------------------------------------------


def _find_collection(request: web.Request) -> dict[str, Any]:
    store = batch_store(get_state(request))
    found = store.collections.get(request.match_info["cid"])
    if found is None:
        raise Refusal(404, None, f"Batch collection {request.match_info['cid']} not found")
    return found


async def _create_collection(request: web.Request) -> web.Response:
    state = get_state(request)
    store = batch_store(state)
    body = await json_body(request)
    for key in ("name", "s3Bucket"):
        if not isinstance(body.get(key), str) or not body[key].strip():
            raise invalid(key, body.get(key), "must not be blank")
    ident = state.jobs.new_id()
    collection = {
        "id": ident,
        "accountId": store.account_id,
        "name": body["name"],
        "s3Bucket": body["s3Bucket"],
        "batchData": {},
        "additionalData": {"bands": {}},
        "created": iso(state.clock.now()),
    }
    store.collections[ident] = collection
    return web.json_response({"data": collection}, status=201)


async def _list_collections(request: web.Request) -> web.Response:
    store = batch_store(get_state(request))
    items = list(store.collections.values())
    search = request.query.get("search")
    if search:
        items = [c for c in items if _matches(search, (c["name"], c["s3Bucket"]), c["id"])]
    return web.json_response(view_page(request, items, store.default_page))


async def _get_collection(request: web.Request) -> web.Response:
    return web.json_response({"data": _find_collection(request)})


async def _update_collection(request: web.Request) -> web.Response:
    collection = _find_collection(request)
    body = await json_body(request)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise invalid("name", name, "must not be blank")
    collection["name"] = name
    return web.Response(status=204)


async def _delete_collection(request: web.Request) -> web.Response:
    state = get_state(request)
    store = batch_store(state)
    collection = _find_collection(request)
    now = state.clock.now()
    for record in store.records.values():
        uses = (record.body.get("output") or {}).get("collectionId") == collection["id"]
        if uses and record.snapshot(now).status not in ("FAILED", "CANCELED"):
            raise Refusal(
                400, None, f"Batch collection {collection['id']} is used by batch request {record.id}"
            )
    del store.collections[collection["id"]]
    return web.Response(status=204)


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the legacy batch routes to the Sentinel Hub app."""
    del state
    # Query parameters as the seed reference lists them (this API is not in the OpenAPI document).
    add_route(app, "POST", PATH, _create)
    add_route(app, "GET", PATH, _list, query=("collectionId", "count", "viewtoken", "search", "sort"))
    add_route(app, "GET", f"{PATH}/{{id}}", _get)
    add_route(app, "PUT", f"{PATH}/{{id}}", _update)
    add_route(app, "DELETE", f"{PATH}/{{id}}", _delete)
    actions = {"analyse": "analyse", "start": "start", "cancel": "stop", "restartpartial": "restart_partial"}
    for action, method in actions.items():
        add_route(app, "POST", f"{PATH}/{{id}}/{action}", action_handler("v1", method))
    add_route(app, "GET", f"{PATH}/{{id}}/tiles", _tiles, query=("status", "count", "viewtoken"))
    add_route(app, "GET", f"{PATH}/{{id}}/tiles/{{tile}}", _tile)
    add_route(app, "POST", COLLECTIONS, _create_collection)
    add_route(app, "GET", COLLECTIONS, _list_collections, query=("count", "viewtoken", "search"))
    add_route(app, "GET", f"{COLLECTIONS}/{{cid}}", _get_collection)
    add_route(app, "PUT", f"{COLLECTIONS}/{{cid}}", _update_collection)
    add_route(app, "DELETE", f"{COLLECTIONS}/{{cid}}", _delete_collection)
