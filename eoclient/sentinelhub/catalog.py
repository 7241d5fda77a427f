"""Sentinel Hub Catalog: the STAC API 1.0 (landing page, collections, items, item search).

Every listing is a :class:`~eoclient.paging.Paginator` that follows the
service's ``next`` links, GET or POST, the way the STAC API specifies them: a
link's ``method`` (default GET), ``headers`` and ``body`` are honoured, and
``merge: true`` merges the link's body into the previous request body (Sentinel
Hub sends ``{"next": N}`` that way) while a body without ``merge`` replaces it.
Links are always followed on the configured host, so the bearer token never
travels anywhere else (and a proxy that reports the wrong scheme does no harm).

Example::

    async with SentinelHub() as sh:
        search = sh.catalog.search(
            "sentinel-2-l2a",
            bbox=[13, 45, 14, 46],
            datetime=("2023-06-01", "2023-06-30"),
            filter="eo:cloud_cover < 20",
        )
        async for item in search:
            print(item.id, item.datetime, item.properties["eo:cloud_cover"])
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, Literal, TypeVar, overload
from urllib.parse import urljoin

import msgspec

from eoclient._context import ServiceContext
from eoclient._http import media
from eoclient._http.transport import Response
from eoclient._models import Model, from_json, from_wire
from eoclient._paths import segment
from eoclient.errors import ResponseDecodeError, ValidationError
from eoclient.paging import Paginator, StacNext
from eoclient.sentinelhub.catalog_models import (
    Collection,
    Conformance,
    Item,
    LandingPage,
    Link,
    SearchContext,
    SearchPage,
)
from eoclient.sentinelhub.catalog_query import (
    MAX_LIMIT,
    CollectionsLike,
    DatetimeLike,
    FieldsLike,
    SearchQuery,
    format_datetime,
    format_number,
    page_size,
    query_bbox,
)
from eoclient.sentinelhub.data_collections import catalog_collection_ids, deployment_path, route_collections

__all__ = ["CATALOG_PATH", "MAX_LIMIT", "Catalog", "format_datetime"]

CATALOG_PATH: Final = "/api/v1/catalog/1.0.0"

_T = TypeVar("_T")


class _WirePage(Model):
    """A FeatureCollection page; ``features`` stay raw until we know what they are."""

    features: list[Any]
    links: list[Link] = msgspec.field(default_factory=list)
    context: SearchContext | None = None
    number_matched: int | None = None
    number_returned: int | None = None


class _WireCollections(Model):
    collections: list[Collection]
    links: list[Link] = msgspec.field(default_factory=list)
    context: SearchContext | None = None
    number_matched: int | None = None
    number_returned: int | None = None


class _StacPaginator(Paginator[_T, StacNext]):
    """A :class:`Paginator` whose pages are typed as :class:`SearchPage` (with context and links)."""

    def __init__(
        self,
        fetch: Callable[[StacNext | None], Awaitable[SearchPage[_T]]],
        *,
        first: StacNext,
        max_items: int | None = None,
    ) -> None:
        super().__init__(fetch, cursor_kind=StacNext, first=first, max_items=max_items)

    async def pages(self, *, start: StacNext | None = None) -> AsyncIterator[SearchPage[_T]]:
        """Yield whole :class:`SearchPage` objects (the last one trimmed to ``max_items``)."""
        async for page in super().pages(start=start):
            assert isinstance(page, SearchPage)  # every fetch of this module builds one
            yield page


# A request: method, url and params/body/headers; the paginator's cursor is its StacNext text.
_Request = dict[str, Any]


class Catalog:
    """The Sentinel Hub STAC catalog, reached as ``sh.catalog``.

    Example::

        page = await sh.catalog.landing_page()
        s2 = await sh.catalog.collection("sentinel-2-l2a")
        items = await sh.catalog.search("sentinel-2-l2a", datetime="2023-06", max_items=50).collect()
    """

    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self._ctx = ctx

    # -- core ----------------------------------------------------------------------

    async def landing_page(self) -> LandingPage:
        """The catalog root: its conformance classes and links."""
        return await self._get(f"{CATALOG_PATH}/", LandingPage, operation="catalog.landing_page")

    async def conformance(self) -> Conformance:
        """The conformance classes the service implements (``"...#filter" in conformance``)."""
        return await self._get(f"{CATALOG_PATH}/conformance", Conformance, operation="catalog.conformance")

    # -- collections ---------------------------------------------------------------

    def collections(self, *, max_items: int | None = None) -> Paginator[Collection, StacNext]:
        """Every collection the account can search (``next`` links followed).

        The service chooses the page size: its contract gives this listing no
        query parameters (so none is sent).

        Example::

            async for collection in sh.catalog.collections():
                print(collection.id, collection.title)
        """
        first = StacNext.of({"method": "GET", "url": f"{CATALOG_PATH}/collections", "params": None})

        def decode(resp: Response) -> SearchPage[Collection]:
            page = from_json(resp.body, _WireCollections, operation="catalog.collections", path=resp.path)
            return SearchPage(
                page.collections,
                None,
                links=page.links,
                context=page.context,
                number_matched=page.number_matched,
                number_returned=page.number_returned,
            )

        return _StacPaginator(self._fetcher("catalog.collections", decode), first=first, max_items=max_items)

    async def collection(self, collection_id: str) -> Collection:
        """One collection's full description (extent, summaries, links)."""
        path = self._collection_path(collection_id)
        return await self._get(path, Collection, operation="catalog.collection")

    async def queryables(self, collection_id: str) -> dict[str, Any]:
        """The JSON Schema of the properties a ``filter`` may use for this collection."""
        path = self._collection_path(collection_id, "/queryables")
        result = await self._get(path, dict, operation="catalog.queryables")
        return {str(k): v for k, v in result.items()}

    # -- features --------------------------------------------------------------------

    def items(
        self,
        collection_id: str,
        *,
        bbox: Any = None,
        datetime: DatetimeLike = None,
        limit: int | None = None,
        max_items: int | None = None,
    ) -> Paginator[Item, StacNext]:
        """The items of one collection (the OGC API Features endpoint), page by page.

        ``bbox`` and ``datetime`` as for :meth:`search`; ``limit`` is the page size (1..100).
        """
        path = self._collection_path(collection_id, "/items")
        params: dict[str, str] = {}
        if bbox is not None:
            params["bbox"] = ",".join(format_number(v) for v in query_bbox(bbox))
        if datetime is not None:
            params["datetime"] = format_datetime(datetime)
        size = page_size(limit, max_items)
        if size is not None:
            params["limit"] = str(size)
        first = StacNext.of({"method": "GET", "url": path, "params": params or None})
        return _StacPaginator(
            self._fetcher("catalog.items", _item_page_decoder("catalog.items", distinct=False)),
            first=first,
            max_items=max_items,
        )

    async def item(self, collection_id: str, item_id: str) -> Item:
        """One item by id (:class:`~eoclient.errors.NotFoundError` when there is none)."""
        path = self._collection_path(collection_id, f"/items/{segment(item_id, 'item_id')}")
        return await self._get(path, Item, operation="catalog.item")

    # -- search ----------------------------------------------------------------------

    @overload
    def search(
        self,
        collections: CollectionsLike,
        *,
        bbox: Any = ...,
        intersects: Any = ...,
        datetime: DatetimeLike = ...,
        ids: str | Sequence[str] | None = ...,
        filter: str | Mapping[str, Any] | None = ...,
        filter_lang: str | None = ...,
        fields: FieldsLike | None = ...,
        distinct: None = ...,
        limit: int | None = ...,
        max_items: int | None = ...,
        method: Literal["POST", "GET", "post", "get"] = ...,
    ) -> Paginator[Item, StacNext]: ...

    @overload
    def search(
        self,
        collections: CollectionsLike,
        *,
        bbox: Any = ...,
        intersects: Any = ...,
        datetime: DatetimeLike = ...,
        ids: str | Sequence[str] | None = ...,
        filter: str | Mapping[str, Any] | None = ...,
        filter_lang: str | None = ...,
        fields: FieldsLike | None = ...,
        distinct: str,
        limit: int | None = ...,
        max_items: int | None = ...,
        method: Literal["POST", "GET", "post", "get"] = ...,
    ) -> Paginator[Any, StacNext]: ...

    def search(
        self,
        collections: CollectionsLike,
        *,
        bbox: Any = None,
        intersects: Any = None,
        datetime: DatetimeLike = None,
        ids: str | Sequence[str] | None = None,
        filter: str | Mapping[str, Any] | None = None,
        filter_lang: str | None = None,
        fields: FieldsLike | None = None,
        distinct: str | None = None,
        limit: int | None = None,
        max_items: int | None = None,
        method: Literal["POST", "GET", "post", "get"] = "POST",
    ) -> Paginator[Any, StacNext]:
        """Search items (STAC item search); an async iterator of :class:`Item`.

        * ``collections``: the collection id (Sentinel Hub searches exactly one), or a list of one;
          a :class:`~eoclient.sentinelhub.data_collections.DataCollection` stands for its catalog id;
          a collection of another deployment is searched there (and its pages read there), as
          :func:`~eoclient.sentinelhub.data_collections.route_collections` says.
        * ``bbox``: ``[min_x, min_y, max_x, max_y]`` in WGS84, a :class:`~eoclient.geo.BBox`, or
          anything with ``.bounds``; ``intersects``: a GeoJSON geometry or any object with
          ``__geo_interface__`` (not both).
        * ``datetime`` (required by the service): an RFC 3339 string or interval
          (``"2023-01-01T00:00:00Z/.."``), a date (``"2023-06"`` is all of June), a ``datetime``
          (naive means UTC) or ``date``, or a ``(start, end)`` pair where ``None`` or ``".."``
          leaves a side open (``("2020-01-01", None)``: from 2020 on).
        * ``filter``: CQL2 text (``"eo:cloud_cover < 20"``) or CQL2 JSON (a dict);
          ``filter_lang`` defaults from its type. Either is checked here (:mod:`eoclient.cql2`:
          ``and or not = <> < <= > >= between isNull``) and sent as the method wants it: a POST
          search sends CQL2 JSON, a GET search CQL2 text.
        * ``fields``: ``{"include": [...], "exclude": [...]}``, or names where ``-name`` excludes.
        * ``distinct``: a property name (``"date"``): the iterator then yields the distinct values
          instead of items.
        * ``limit``: page size, 1..100 (default: ``max_items`` if smaller, else 100);
          ``max_items``: stop after this many, without fetching further pages.
        * ``method``: ``"POST"`` (default) or ``"GET"``; ``next`` links are followed either way.

        Invalid input raises :class:`~eoclient.errors.ValidationError` here, before anything is sent.
        ``.pages()`` yields :class:`~eoclient.sentinelhub.catalog_models.SearchPage` objects
        with the service's ``context`` and links.

        Example::

            found = sh.catalog.search(
                "sentinel-2-l2a",
                intersects=field_polygon,
                datetime=("2023-06-01", None),
                filter={"op": "<", "args": [{"property": "eo:cloud_cover"}, 20]},
                fields={"include": ["id", "properties.datetime"], "exclude": ["assets"]},
                max_items=200,
            )
            async for page in found.pages():
                print(len(page.items), page.context)
        """
        verb = method.upper() if isinstance(method, str) else method
        if verb not in ("POST", "GET"):
            raise ValidationError("method", f"must be 'POST' or 'GET', got {method!r}")
        where = route_collections(collections, self._ctx.transport)
        query = SearchQuery.build(
            collections=catalog_collection_ids(collections),
            bbox=bbox,
            intersects=intersects,
            datetime=datetime,
            ids=ids,
            filter=filter,
            filter_lang=filter_lang,
            fields=fields,
            distinct=distinct,
            limit=page_size(limit, max_items),
        )
        path = deployment_path(where, f"{CATALOG_PATH}/search")
        if verb == "POST":
            first = StacNext.of({"method": "POST", "url": path, "body": query.body()})
        else:
            first = StacNext.of({"method": "GET", "url": path, "params": query.params()})
        decode = _item_page_decoder("catalog.search", distinct=distinct is not None)
        return _StacPaginator(self._fetcher("catalog.search", decode), first=first, max_items=max_items)

    # -- plumbing ----------------------------------------------------------------------

    def _collection_path(self, collection_id: str, tail: str = "") -> str:
        """A collection's path, on the deployment where the collection lives (a built-in one's)."""
        path = f"{CATALOG_PATH}/collections/{segment(collection_id, 'collection_id')}{tail}"
        return deployment_path(
            route_collections(collection_id, self._ctx.transport, field="collection_id"), path
        )

    async def _get(self, path: str, type_: type[_T], *, operation: str) -> _T:
        resp = await self._ctx.transport.request("GET", path, operation=operation, expect=media.JSON)
        return from_wire(resp.json(), type_, operation=operation, path=resp.path)

    def _fetcher(
        self, operation: str, decode: Callable[[Response], SearchPage[Any]]
    ) -> Callable[[StacNext | None], Awaitable[SearchPage[Any]]]:
        async def fetch(cursor: StacNext | None) -> SearchPage[Any]:
            assert cursor is not None  # every listing of this module starts from its first request
            request = cursor.request()
            # A resumed cursor is user text: its URL must be ours before the bearer goes with it.
            self._ctx.transport.check_own_host(request["url"], operation=operation)
            resp = await self._ctx.transport.request(
                request["method"],
                request["url"],
                operation=operation,
                params=request.get("params"),
                json=request.get("body"),
                headers=request.get("headers"),
                idempotent=True,  # a search only reads
                expect=media.JSON,  # GeoJSON (application/geo+json) is JSON
            )
            page = decode(resp)
            following = self._follow(_next_link(page.links), request, operation=operation, path=resp.path)
            return SearchPage(
                page.items,
                following,
                links=page.links,
                context=page.context,
                number_matched=page.number_matched,
                number_returned=page.number_returned,
            )

        return fetch

    def _follow(self, link: Link | None, current: _Request, *, operation: str, path: str) -> StacNext | None:
        """The request a ``next`` link asks for, given the request that produced the page."""
        if link is None:
            return None
        verb = (link.method or "GET").upper()
        url = self._on_our_host(link.href, current["url"], operation)
        request: _Request = {"method": verb, "url": url}
        if link.headers:
            request["headers"] = dict(link.headers)
        if verb == "GET":
            return StacNext.of(request)  # the href carries the whole query
        if verb != "POST":
            raise ResponseDecodeError(
                f"a next link asks for {verb}, expected GET or POST", operation=operation, path=path
            )
        previous = current.get("body") or {}
        if link.body is None:
            request["body"] = dict(previous)  # same search, new URL
        elif link.merge:
            request["body"] = {**previous, **link.body}
        else:
            request["body"] = dict(link.body)
        return StacNext.of(request)

    def _on_our_host(self, href: str, current: str, operation: str) -> str:
        # A link elsewhere (another host, or http where we speak https) would take the bearer with it.
        absolute = urljoin(self._ctx.transport.url(current), href)
        return self._ctx.transport.check_own_host(absolute, operation=operation)


def _next_link(links: Sequence[Link]) -> Link | None:
    for link in links:
        if link.rel == "next":
            return link
    return None


def _item_page_decoder(operation: str, *, distinct: bool) -> Callable[[Response], SearchPage[Any]]:
    def decode(resp: Response) -> SearchPage[Any]:
        page = from_json(resp.body, _WirePage, operation=operation, path=resp.path)
        items: list[Any] = (
            page.features
            if distinct
            else from_wire(page.features, list[Item], operation=operation, path=resp.path)
        )
        return SearchPage(
            items,
            None,
            links=page.links,
            context=page.context,
            number_matched=page.number_matched,
            number_returned=page.number_returned,
        )

    return decode
