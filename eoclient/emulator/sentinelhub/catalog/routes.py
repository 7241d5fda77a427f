"""The Catalog routes: landing page, conformance, collections, items, search (GET and POST).

Every route answers a :class:`~eoclient.emulator.core.refusal.Refusal` as a
STAC exception (``shape=``:func:`~.stac.stac_shape`); its query parameters are
declared here and checked by :mod:`eoclient.emulator.core.routing`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler

from eoclient.emulator.core.paging import page
from eoclient.emulator.core.refusal import Refusal, json_body
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import PUBLIC_PATHS_KEY, EmulatorState, get_state
from eoclient.emulator.sentinelhub.catalog.data import CatalogData, catalog_data
from eoclient.emulator.sentinelhub.catalog.query import (
    NEXT_TOKEN,
    Query,
    distinct,
    fields_of,
    get_params,
    matching,
    search_query,
)
from eoclient.emulator.sentinelhub.catalog.stac import GEOJSON, STAC_VERSION, stac_json, stac_shape

__all__ = ["BASE_PATH", "COLLECTION_PAGE_SIZE", "CONFORMS_TO", "setup"]

BASE_PATH: Final = "/api/v1/catalog/1.0.0"
COLLECTION_PAGE_SIZE: Final = 4

CONFORMS_TO: Final = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#fields",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#context",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#filter",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#fields",
    "https://api.stacspec.org/v1.0.0/item-search#context",
    "https://api.stacspec.org/v1.0.0/item-search#filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
)


def _root(request: web.Request) -> str:
    return f"{request.url.origin()}{BASE_PATH}"


def _search_page(request: web.Request, data: CatalogData, query: Query, *, method: str) -> dict[str, Any]:
    root = _root(request)
    records = matching(data, query)
    features: list[Any]
    following: int | None
    if query.distinct is not None:
        window = page(distinct(data, query, records), query.offset, query.limit)
        features, following = window.items, window.next
    else:
        found = page(records, query.offset, query.limit)
        features = [
            fields_of(data.render(query.collection, rec, root), query.include, query.exclude)
            for rec in found.items
        ]
        following = found.next
    context: dict[str, Any] = {"limit": query.limit, "returned": len(features)}
    links: list[dict[str, Any]] = [{"href": f"{root}/search", "rel": "self", "type": GEOJSON}]
    if following is not None:
        context = {"next": following, **context}
        if method == "POST":
            links.append(
                {
                    "href": f"{root}/search",
                    "rel": "next",
                    "type": GEOJSON,
                    "title": "Next set of results",
                    "method": "POST",
                    "body": {"next": following},
                    "merge": True,
                }
            )
        else:
            href = str(request.url.update_query(next=str(following)))
            links.append({"href": href, "rel": "next", "type": GEOJSON, "title": "Next set of results"})
    if method == "GET":
        links[0]["href"] = str(request.url)
    return {"type": "FeatureCollection", "features": features, "links": links, "context": context}


def _known_collection(data: CatalogData, request: web.Request) -> str:
    collection_id = request.match_info["collection_id"]
    if collection_id not in data.specs:
        raise Refusal(404, "NotFound", f"Collection {collection_id} not found")
    return collection_id


def _data(request: web.Request) -> CatalogData:
    return catalog_data(get_state(request))


async def _landing(request: web.Request) -> web.Response:
    data = _data(request)
    root = _root(request)
    links: list[dict[str, Any]] = [
        {"href": f"{root}/", "rel": "root", "type": "application/json"},
        {"href": f"{root}/", "rel": "self", "type": "application/json"},
        {"href": f"{root}/collections", "rel": "data", "type": "application/json"},
        {
            "href": f"{root}/conformance",
            "rel": "conformance",
            "type": "application/json",
            "title": "STAC conformance classes implemented by this server",
        },
        {
            "href": f"{root}/search",
            "rel": "search",
            "type": GEOJSON,
            "title": "STAC search",
            "method": "GET",
        },
        {
            "href": f"{root}/search",
            "rel": "search",
            "type": GEOJSON,
            "title": "STAC search",
            "method": "POST",
        },
    ]
    for spec in data.specs.values():
        links.append(
            {
                "href": f"{root}/collections/{spec.id}",
                "rel": "child",
                "type": "application/json",
                "title": spec.title,
            }
        )
    return stac_json(
        {
            "type": "Catalog",
            "stac_version": STAC_VERSION,
            "id": "sentinel-hub",
            "title": "Sentinel Hub STAC catalog",
            "description": "STAC v1.0.0 implementation by Sentinel Hub (emulated)",
            "conformsTo": list(CONFORMS_TO),
            "links": links,
        }
    )


async def _conformance(request: web.Request) -> web.Response:
    return stac_json({"conformsTo": list(CONFORMS_TO)})


async def _collections(request: web.Request) -> web.Response:
    data = _data(request)
    root = _root(request)
    offset = NEXT_TOKEN.decode(request.query.get("next"))
    window = page(data.collection_ids, offset, COLLECTION_PAGE_SIZE)
    links: list[dict[str, Any]] = [
        {"href": f"{root}/", "rel": "root", "type": "application/json"},
        {"href": str(request.url), "rel": "self", "type": "application/json"},
        {"href": f"{root}/", "rel": "parent", "type": "application/json"},
    ]
    if window.next is not None:
        href = str(request.url.update_query(next=str(window.next)))
        links.append({"href": href, "rel": "next", "type": "application/json"})
    return stac_json({"collections": [data.collection(cid, root) for cid in window.items], "links": links})


async def _collection(request: web.Request) -> web.Response:
    data = _data(request)
    return stac_json(data.collection(_known_collection(data, request), _root(request)))


async def _queryables(request: web.Request) -> web.Response:
    data = _data(request)
    collection_id = _known_collection(data, request)
    return stac_json(data.queryables(collection_id, _root(request)), content_type="application/schema+json")


async def _items(request: web.Request) -> web.Response:
    data = _data(request)
    collection_id = _known_collection(data, request)
    params = get_params(request.query)
    query = search_query(data, {**params, "collections": [collection_id]}, from_get=True, search=False)
    root = _root(request)
    window = page(matching(data, query), query.offset, query.limit)
    collection_url = f"{root}/collections/{collection_id}"
    links: list[dict[str, Any]] = [
        {"href": f"{root}/", "rel": "root", "type": "application/json"},
        {"href": str(request.url), "rel": "self", "type": GEOJSON},
        {"href": collection_url, "rel": "parent", "type": "application/json"},
    ]
    if window.next is not None:
        href = str(request.url.update_query(next=str(window.next)))
        links.append({"href": href, "rel": "next", "type": GEOJSON, "title": "Next set of results"})
    return stac_json(
        {
            "type": "FeatureCollection",
            "features": [data.render(collection_id, rec, root) for rec in window.items],
            "links": links,
            "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "numberReturned": len(window.items),
        },
        content_type=GEOJSON,
    )


async def _item(request: web.Request) -> web.Response:
    data = _data(request)
    collection_id = _known_collection(data, request)
    item_id = request.match_info["item_id"]
    rec = data.record(collection_id, item_id)
    if rec is None:
        raise Refusal(404, "NotFound", f"Item {item_id} not found in {collection_id}")
    return stac_json(data.render(collection_id, rec, _root(request)), content_type=GEOJSON)


async def _search_get(request: web.Request) -> web.Response:
    data = _data(request)
    query = search_query(data, get_params(request.query), from_get=True)
    return stac_json(_search_page(request, data, query, method="GET"), content_type=GEOJSON)


async def _search_post(request: web.Request) -> web.Response:
    data = _data(request)
    body = await json_body(request)  # a Refusal is answered in the route's STAC shape
    query = search_query(data, body, from_get=False)
    return stac_json(_search_page(request, data, query, method="POST"), content_type=GEOJSON)


# The query parameters of each GET operation, as the OpenAPI document lists them; any other is
# refused (eoclient.emulator.core.routing). ``next`` is the page token of the links this catalog
# answers with (the document's own example links carry it; its CatalogLink ``merge`` note
# turns a body ``{"next": ...}`` into ``&next=``); ``filter-lang`` is not a GET parameter.
ITEMS_QUERY: Final = ("limit", "bbox", "datetime", "next")
SEARCH_QUERY: Final = (
    "bbox",
    "intersects",
    "datetime",
    "limit",
    "ids",
    "collections",
    "fields",
    "filter",
    "distinct",
    "next",
)


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the Catalog routes to the Sentinel Hub app."""
    del state  # the data is created in the state's store on first request
    base = BASE_PATH
    routes: list[tuple[str, str, Handler, Sequence[str]]] = [
        ("GET", f"{base}/", _landing, ()),
        ("GET", base, _landing, ()),
        ("GET", f"{base}/conformance", _conformance, ()),
        ("GET", f"{base}/collections", _collections, ("next",)),
        ("GET", f"{base}/collections/{{collection_id}}", _collection, ()),
        ("GET", f"{base}/collections/{{collection_id}}/queryables", _queryables, ()),
        ("GET", f"{base}/collections/{{collection_id}}/items", _items, ITEMS_QUERY),
        ("GET", f"{base}/collections/{{collection_id}}/items/{{item_id}}", _item, ()),
        ("GET", f"{base}/search", _search_get, SEARCH_QUERY),
        ("POST", f"{base}/search", _search_post, ()),
    ]
    for method, path, func, query in routes:
        add_route(app, method, path, func, query=query, shape=stac_shape)
    # Public on the live service too (the OpenAPI gives them no security).
    app[PUBLIC_PATHS_KEY].update({f"{base}/", base, f"{base}/conformance"})
