"""The Zarr Import routes: collections, reingestion and arrays (see the package docstring)."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from eoclient.emulator.core.refusal import Refusal, json_body
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.sentinelhub.byoc.data import matches, new_id, required_str
from eoclient.emulator.sentinelhub.common import view_page
from eoclient.emulator.sentinelhub.zarr_import.data import (
    ZarrRecord,
    check_crs,
    check_path,
    collection_json,
    find,
    ingestion,
    zarr_store,
)

__all__ = ["BASE", "setup"]

BASE: Final = "/api/v1/zarr/collections"


async def _create(request: web.Request) -> web.Response:
    state = get_state(request)
    store = zarr_store(state)
    body = await json_body(request)  # read-only fields sent back are ignored, as on BYOC
    now = state.clock.now()
    record = ZarrRecord(
        id=new_id(state),
        account_id=store.account_id,
        name=required_str(body, "name"),
        s3_bucket=required_str(body, "s3Bucket"),
        path=check_path(body.get("path")),
        crs=check_crs(body.get("crs")),
        created=now,
        ingest_started=now,
    )
    store.collections[record.id] = record
    return web.json_response({"data": await collection_json(record, state)}, status=201)


async def _list(request: web.Request) -> web.Response:
    state = get_state(request)
    store = zarr_store(state)
    search = request.query.get("search", "").strip()
    items = [
        await collection_json(r, state)
        for r in list(store.collections.values())
        if not search or matches(search, r.name, "", r.id)
    ]
    return web.json_response(view_page(request, items, store.default_page))


async def _get(request: web.Request) -> web.Response:
    state = get_state(request)
    return web.json_response({"data": await collection_json(find(state, request.match_info["cid"]), state)})


async def _update(request: web.Request) -> web.Response:
    record = find(get_state(request), request.match_info["cid"])
    body = await json_body(request)
    record.name = required_str(body, "name")
    return web.Response(status=204)


async def _delete(request: web.Request) -> web.Response:
    state = get_state(request)
    record = find(state, request.match_info["cid"])
    del zarr_store(state).collections[record.id]
    return web.Response(status=204)


async def _reingest(request: web.Request) -> web.Response:
    state = get_state(request)
    record = find(state, request.match_info["cid"])
    # The document lists no refusal for a reingest: one during an ingestion starts it over.
    record.previous = await ingestion(record, state)
    record.result = None
    record.ingest_started = state.clock.now()
    return web.json_response({"data": await collection_json(record, state)})


async def _arrays(request: web.Request) -> tuple[ZarrRecord, list[dict[str, object]]]:
    state = get_state(request)
    record = find(state, request.match_info["cid"])
    found = await ingestion(record, state)
    arrays = found.arrays if found is not None and found.error is None else []
    return record, [
        {
            "name": a["name"],
            "s3Bucket": record.s3_bucket,
            "path": f"{record.path}{a['name']}/",
            "zarray": a["zarray"],
            "zattrs": a["zattrs"],
        }
        for a in arrays
    ]


async def _list_arrays(request: web.Request) -> web.Response:
    _, arrays = await _arrays(request)
    search = request.query.get("search", "").strip()
    items = [a for a in arrays if not search or matches(search, str(a["name"]), "", "")]
    return web.json_response(view_page(request, items, zarr_store(get_state(request)).default_page))


async def _get_array(request: web.Request) -> web.Response:
    record, arrays = await _arrays(request)
    name = request.match_info["name"]
    found = next((a for a in arrays if a["name"] == name), None)
    if found is None:
        raise Refusal(404, None, f"Array {name} not found in Zarr collection {record.id}")
    return web.json_response({"data": found})


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the Zarr Import routes to the Sentinel Hub app."""
    del state
    one = BASE + "/{cid}"
    routes = [
        ("POST", BASE, _create, ()),
        ("GET", BASE, _list, ("count", "viewtoken", "search")),
        ("GET", one, _get, ()),
        ("PUT", one, _update, ()),
        ("DELETE", one, _delete, ()),
        ("PUT", one + "/reingest", _reingest, ()),
        ("GET", one + "/arrays", _list_arrays, ("count", "viewtoken", "search")),
        ("GET", one + "/arrays/{name}", _get_array, ()),
    ]
    for method, path, func, query in routes:
        add_route(app, method, path, func, query=query, allow_head=False)
