"""The Data Import routes (see the package docstring)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from aiohttp import web

from eoclient.emulator.core.refusal import Refusal, invalid, json_body
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.sentinelhub.byoc import byoc_store
from eoclient.emulator.sentinelhub.byoc.data import iso, matches, new_id
from eoclient.emulator.sentinelhub.byoc.files import byte_range
from eoclient.emulator.sentinelhub.common import view_page
from eoclient.emulator.sentinelhub.dataimport.data import (
    MAXAR_MIN_SQKM,
    Archive,
    Delivery,
    Parent,
    archive_bytes,
    archive_status,
    bounds_km2,
    check_query,
    check_subscription_input,
    dataimport_store,
    delivery_files,
    delivery_json,
    delivery_status,
    file_bytes,
    new_collection,
    order_deliveries,
    parent_json,
    parent_status,
    quota_refusal,
    search_features,
    settle,
    thumbnail_png,
    tiles_json,
)

__all__ = ["setup"]

_BASE: Final = "/api/v1/dataimport"
_UUID_CHARS: Final = frozenset("0123456789abcdef-")
_ORDER_STATUSES: Final = ("CREATED", "CANCELLED", "RUNNING", "DONE", "PARTIAL", "FAILED")
_SUBSCRIPTION_STATUSES: Final = ("CREATED", "RUNNING", "CANCELLED", "COMPLETED", "FAILED")
_DELIVERY_STATUSES: Final = (
    "WAITING",
    "DELIVERED",
    "DELIVERY_FAILED",
    "PREPARING",
    "INGESTING",
    "DONE",
    "IMPORT_FAILED",
    "NON_INGESTIBLE",
)


def _parents(state: EmulatorState, kind: str) -> dict[str, Parent]:
    store = dataimport_store(state)
    return store.orders if kind == "order" else store.subscriptions


def _find_parent(request: web.Request, kind: str) -> Parent:
    state = get_state(request)
    key = "orderId" if kind == "order" else "subscriptionId"
    pid = request.match_info[key]
    parent = _parents(state, kind).get(pid)
    if parent is None:
        raise Refusal(404, None, f"{kind.capitalize()} {pid} not found")
    settle(state, parent, state.clock.now())
    return parent


def _kind(request: web.Request) -> str:
    return "order" if "orderId" in request.match_info else "subscription"


def _find_delivery(request: web.Request) -> tuple[Parent, Delivery]:
    parent = _find_parent(request, _kind(request))
    did = request.match_info["deliveryId"]
    for delivery in parent.deliveries:
        if delivery.id == did:
            return parent, delivery
    raise Refusal(404, None, f"Delivery {did} not found")


def _done_delivery(request: web.Request) -> tuple[Parent, Delivery]:
    parent, delivery = _find_delivery(request)
    state = get_state(request)
    status = delivery_status(state, delivery, state.clock.now())
    if status != "DONE":
        raise Refusal(409, None, f"Delivery {delivery.id} is {status}, not DONE")
    return parent, delivery


def _format(request: web.Request) -> None:
    if request.query.get("format", "zip") != "zip":
        raise invalid("format", request.query["format"], "must be zip")


def _status_filter(request: web.Request, allowed: tuple[str, ...]) -> str | None:
    status = request.query.get("status")
    if status is not None and status not in allowed:
        raise invalid("status", status, f"must be one of {list(allowed)}")
    return status


def _listed(request: web.Request, kind: str, allowed: tuple[str, ...]) -> web.Response:
    state = get_state(request)
    now = state.clock.now()
    status = _status_filter(request, allowed)
    collection = request.query.get("collectionId")
    deleted = request.query.get("deleted", "false")
    if deleted not in ("true", "false"):
        raise invalid("deleted", deleted, "must be true or false")
    search = request.query.get("search", "").strip()
    items = []
    for parent in _parents(state, kind).values():
        settle(state, parent, now)
        if parent.deleted != (deleted == "true"):
            continue
        if collection is not None and parent.collection_id != collection:
            continue
        if search and not matches(search, parent.name, "", parent.id):
            continue
        shown = parent_json(state, parent, now)
        if status is None or shown["status"] == status:
            items.append(shown)
    return web.json_response(view_page(request, items, dataimport_store(state).default_page))


def _new_parent(state: EmulatorState, kind: str, body: dict[str, object], sqkm: float) -> Parent:
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise invalid("name", name, "must be text")
    collection = body.get("collectionId")
    if collection is not None:
        if not isinstance(collection, str) or not set(collection) <= _UUID_CHARS:
            raise invalid("collectionId", collection, "must be a UUID")
        if collection not in byoc_store(state).collections:
            raise Refusal(404, None, f"BYOC collection {collection} not found")
    assert isinstance(body["input"], dict)
    return Parent(
        kind=kind,
        id=new_id(state),
        name=name or "",
        account_id=byoc_store(state).account_id,
        collection_id=collection if isinstance(collection, str) else None,
        input=dict(body["input"]),
        sqkm=sqkm,
        created=state.clock.now(),
    )


# -- search, thumbnails, quotas --------------------------------------------------------------


async def _search(request: web.Request) -> web.Response:
    state = get_state(request)
    body = await json_body(request)
    spec = check_query(body, "query", order=False)
    found = search_features(body, spec, state.clock.now())
    if body["provider"] == "MAXAR":
        return web.json_response({"features": found})  # Maxar does not page
    page = view_page(request, found, dataimport_store(state).default_page)
    return web.json_response({"type": "FeatureCollection", "features": page["data"], "links": page["links"]})


async def _native_search(request: web.Request) -> web.Response:
    state = get_state(request)
    body = await json_body(request)
    provider = body.get("provider")
    if provider not in ("PLANET", "MAXAR"):
        raise invalid("provider", provider, "must be PLANET or MAXAR")
    bbox = body.get("bbox") or [0.0, 0.0, 0.01, 0.01]
    spec = {"itemType": (body.get("item_types") or ["PSScene"])[0]}
    query = {"provider": provider, "bounds": {"bbox": bbox}}
    found = search_features(query, spec, state.clock.now())
    return web.json_response({"features": found})


async def _thumbnail(request: web.Request) -> web.Response:
    collection = request.match_info["collectionId"]
    if collection not in ("PLANET_SCOPE", "PLANET_SKYSAT", "MAXAR_WORLDVIEW"):
        raise Refusal(404, None, f"Collection {collection} not found")
    return web.Response(body=thumbnail_png(request.match_info["productId"]), content_type="image/png")


def _quota_json(collection: str, quota: list[float]) -> dict[str, object]:
    return {"collectionId": collection, "quotaSqkm": quota[0], "quotaUsed": round(quota[1], 6)}


async def _quotas(request: web.Request) -> web.Response:
    store = dataimport_store(get_state(request))
    return web.json_response({"data": [_quota_json(c, q) for c, q in store.quotas.items()]})


async def _quota(request: web.Request) -> web.Response:
    store = dataimport_store(get_state(request))
    collection = request.match_info["collectionId"]
    if collection not in store.quotas:
        raise Refusal(404, None, f"No quota for collection {collection}")
    return web.json_response(_quota_json(collection, store.quotas[collection]))


# -- orders --------------------------------------------------------------------------------


async def _create_order(request: web.Request) -> web.Response:
    state = get_state(request)
    body = await json_body(request)
    if body.get("input") is None:
        raise invalid("input", None, "is required")
    spec = check_query(body["input"], "input", order=True)
    area = bounds_km2(body["input"]["bounds"])
    if body["input"]["provider"] == "PLANET":
        # Each item is charged for its part of the area: the whole area here.
        sqkm = area * len(spec.get("itemIds") or [None, None])
    else:
        sqkm = max(area, MAXAR_MIN_SQKM)
    order = _new_parent(state, "order", body, sqkm)
    dataimport_store(state).orders[order.id] = order
    return web.json_response(parent_json(state, order, state.clock.now()))


async def _list_orders(request: web.Request) -> web.Response:
    return _listed(request, "order", _ORDER_STATUSES)


async def _get_order(request: web.Request) -> web.Response:
    state = get_state(request)
    return web.json_response(parent_json(state, _find_parent(request, "order"), state.clock.now()))


async def _delete(request: web.Request) -> web.Response:
    state = get_state(request)
    kind = _kind(request)
    parent = _find_parent(request, kind)
    status = parent_status(state, parent, state.clock.now())
    if status in ("RUNNING", "PARTIAL"):
        raise Refusal(409, None, f"{kind.capitalize()} {parent.id} is {status} and cannot be deleted")
    if status == "CREATED":
        del _parents(state, kind)[parent.id]
    else:
        parent.deleted = True
    return web.Response(status=204)


async def _confirm_order(request: web.Request) -> web.Response:
    state = get_state(request)
    store = dataimport_store(state)
    order = _find_parent(request, "order")
    now = state.clock.now()
    if order.status != "CREATED" or order.deleted:
        raise Refusal(409, None, f"Order {order.id} is {parent_status(state, order, now)}, not CREATED")
    if order.input["provider"] == "MAXAR":
        bought, used = store.quotas["MAXAR_WORLDVIEW"]
        if bought - used < order.sqkm:
            raise quota_refusal(round(bought - used, 6), round(order.sqkm, 6))
        store.quotas["MAXAR_WORLDVIEW"][1] = used + order.sqkm
    if order.collection_id is None:
        order.collection_id = new_collection(state, order, now)
    spec = order.input["data"][0]
    order.deliveries = order_deliveries(state, order, spec, now)
    order.status, order.confirmed = "RUNNING", now
    return web.json_response(parent_json(state, order, now))


# -- subscriptions ---------------------------------------------------------------------------


async def _create_subscription(request: web.Request) -> web.Response:
    state = get_state(request)
    body = await json_body(request)
    if body.get("input") is None:
        raise invalid("input", None, "is required")
    spec = check_subscription_input(body["input"])
    sub = _new_parent(state, "subscription", body, bounds_km2(body["input"]["bounds"]))
    to = spec["dataFilter"]["timeRange"].get("to")
    if to is not None:
        sub.ends = datetime.fromisoformat(to.replace("Z", "+00:00")).timestamp()
    dataimport_store(state).subscriptions[sub.id] = sub
    return web.json_response(parent_json(state, sub, state.clock.now()))


async def _list_subscriptions(request: web.Request) -> web.Response:
    return _listed(request, "subscription", _SUBSCRIPTION_STATUSES)


async def _get_subscription(request: web.Request) -> web.Response:
    state = get_state(request)
    return web.json_response(parent_json(state, _find_parent(request, "subscription"), state.clock.now()))


async def _confirm_subscription(request: web.Request) -> web.Response:
    state = get_state(request)
    sub = _find_parent(request, "subscription")
    now = state.clock.now()
    if sub.status != "CREATED" or sub.deleted:
        raise Refusal(409, None, f"Subscription {sub.id} is {parent_status(state, sub, now)}, not CREATED")
    if sub.collection_id is None:
        sub.collection_id = new_collection(state, sub, now)
    sub.status, sub.confirmed = "RUNNING", now
    return web.json_response(parent_json(state, sub, now))


async def _cancel_subscription(request: web.Request) -> web.Response:
    state = get_state(request)
    sub = _find_parent(request, "subscription")
    now = state.clock.now()
    status = parent_status(state, sub, now)
    if status != "RUNNING":
        raise Refusal(409, None, f"Subscription {sub.id} is {status}, not RUNNING")
    sub.cancelled = now
    return web.json_response(parent_json(state, sub, now))


# -- deliveries ------------------------------------------------------------------------------


async def _list_deliveries(request: web.Request) -> web.Response:
    state = get_state(request)
    now = state.clock.now()
    parent = _find_parent(request, _kind(request))
    status = _status_filter(request, _DELIVERY_STATUSES)
    items = [delivery_json(state, parent, d, now) for d in parent.deliveries]
    items = [d for d in items if status is None or d["status"] == status]
    return web.json_response(view_page(request, items, dataimport_store(state).default_page))


async def _get_delivery(request: web.Request) -> web.Response:
    state = get_state(request)
    parent, delivery = _find_delivery(request)
    return web.json_response(delivery_json(state, parent, delivery, state.clock.now()))


async def _list_files(request: web.Request) -> web.Response:
    _, delivery = _done_delivery(request)
    return web.json_response(list(delivery_files(delivery)))


def _ranged(request: web.Request, content: bytes, content_type: str) -> web.Response:
    header = request.headers.get("Range")
    span = byte_range(header, len(content)) if header is not None else None
    start, end = span if span is not None else (0, len(content) - 1)
    resp = web.Response(
        status=206 if span is not None else 200,
        body=b"" if request.method == "HEAD" else content[start : end + 1],
        content_type=content_type,
        headers={"Accept-Ranges": "bytes"},
    )
    if request.method == "HEAD":
        resp.headers["Content-Length"] = str(len(content))
    if span is not None:
        resp.headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
    return resp


async def _get_file(request: web.Request) -> web.Response:
    _, delivery = _done_delivery(request)
    name = request.match_info["file"]
    size = delivery_files(delivery).get(name)
    if size is None:
        raise Refusal(404, None, f"File {name} not found in delivery {delivery.id}")
    return _ranged(request, file_bytes(delivery, name, size), "application/octet-stream")


async def _create_archive(request: web.Request) -> web.Response:
    state = get_state(request)
    _format(request)
    _, delivery = _done_delivery(request)
    store = dataimport_store(state)
    if delivery.id in store.archives:
        raise Refusal(409, None, f"an archive of delivery {delivery.id} in zip format was already requested")
    archive = Archive(requested=state.clock.now(), content=archive_bytes(delivery))
    store.archives[delivery.id] = archive
    return web.json_response(_archive_json(delivery, archive, state.clock.now()))


def _archive_json(delivery: Delivery, archive: Archive, now: float) -> dict[str, object]:
    status = archive_status(archive, now)
    out: dict[str, object] = {
        "deliveryId": delivery.id,
        "format": "zip",
        "requested": iso(archive.requested),
        "status": status,
    }
    if status == "DONE":
        out["size"] = len(archive.content)
    return out


def _find_archive(request: web.Request) -> tuple[Delivery, Archive]:
    _format(request)
    _, delivery = _find_delivery(request)
    archive = dataimport_store(get_state(request)).archives.get(delivery.id)
    if archive is None:
        raise Refusal(404, None, f"No archive of delivery {delivery.id} was requested")
    return delivery, archive


async def _archive_status(request: web.Request) -> web.Response:
    delivery, archive = _find_archive(request)
    return web.json_response(_archive_json(delivery, archive, get_state(request).clock.now()))


async def _get_archive(request: web.Request) -> web.Response:
    delivery, archive = _find_archive(request)
    if archive_status(archive, get_state(request).clock.now()) != "DONE":
        raise Refusal(404, None, f"The archive of delivery {delivery.id} is not ready")
    return _ranged(request, archive.content, "application/zip")


async def _list_tiles(request: web.Request) -> web.Response:
    state = get_state(request)
    _, delivery = _find_delivery(request)
    return web.json_response({"data": tiles_json(state, delivery, state.clock.now())})


async def _get_tile(request: web.Request) -> web.Response:
    state = get_state(request)
    _, delivery = _find_delivery(request)
    tid = request.match_info["tileId"]
    for tile in tiles_json(state, delivery, state.clock.now()):
        if tile["id"] == tid:
            return web.json_response(tile)
    raise Refusal(404, None, f"Tile {tid} not found in delivery {delivery.id}")


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the Data Import routes to the Sentinel Hub app."""
    del state
    listing = ("status", "collectionId", "count", "viewtoken", "search", "deleted")
    routes: list[tuple[str, str, object, tuple[str, ...]]] = [
        ("POST", "/search", _search, ("count", "viewtoken")),
        ("POST", "/nativesearch", _native_search, ()),
        ("GET", "/collections/{collectionId}/products/{productId}/thumbnail", _thumbnail, ("planetApiKey",)),
        ("GET", "/accountquotas", _quotas, ()),
        ("GET", "/accountquotas/{collectionId}", _quota, ()),
        ("POST", "/orders", _create_order, ()),
        ("GET", "/orders", _list_orders, listing),
        ("GET", "/orders/{orderId}", _get_order, ()),
        ("DELETE", "/orders/{orderId}", _delete, ()),
        ("POST", "/orders/{orderId}/confirm", _confirm_order, ()),
        ("POST", "/subscriptions", _create_subscription, ()),
        ("GET", "/subscriptions", _list_subscriptions, listing),
        ("GET", "/subscriptions/{subscriptionId}", _get_subscription, ()),
        ("DELETE", "/subscriptions/{subscriptionId}", _delete, ()),
        ("POST", "/subscriptions/{subscriptionId}/confirm", _confirm_subscription, ()),
        ("POST", "/subscriptions/{subscriptionId}/cancel", _cancel_subscription, ()),
    ]
    for parent in ("/orders/{orderId}", "/subscriptions/{subscriptionId}"):
        deliveries = parent + "/deliveries"
        one = deliveries + "/{deliveryId}"
        routes += [
            ("GET", deliveries, _list_deliveries, ("status", "count", "viewtoken")),
            ("GET", one, _get_delivery, ()),
            ("GET", one + "/files", _list_files, ()),
            ("GET", one + "/files/{file:.+}", _get_file, ()),
            ("HEAD", one + "/files/{file:.+}", _get_file, ()),
            ("POST", one + "/archive/create", _create_archive, ("format",)),
            ("GET", one + "/archive", _get_archive, ("format",)),
            ("HEAD", one + "/archive", _get_archive, ("format",)),
            ("GET", one + "/archive/status", _archive_status, ("format",)),
            ("GET", one + "/tiles", _list_tiles, ()),
            ("GET", one + "/tiles/{tileId}", _get_tile, ()),
        ]
    for method, path, func, query in routes:
        add_route(app, method, _BASE + path, func, query=query, allow_head=False)  # type: ignore[arg-type]
