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

from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal, TypeVar, overload

import msgspec

from eoclient._context import ServiceContext
from eoclient._http import media
from eoclient._http.transport import Response
from eoclient._models import Model, from_json, from_wire
from eoclient._paths import segment
from eoclient.errors import ValidationError
from eoclient.paging import Paginator, StacNext
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
from eoclient.stac.models import Collection, Conformance, Item, LandingPage, Link, SearchContext, SearchPage
from eoclient.stac.paging import FeaturePaginator, ItemSearch, StacPaginator, StacPaging, raw_page_decoder

__all__ = ["CATALOG_PATH", "MAX_LIMIT", "Catalog", "format_datetime"]

CATALOG_PATH: Final = "/api/v1/catalog/1.0.0"

_T = TypeVar("_T")


class _WireCollections(Model):
    collections: list[Collection]
    links: list[Link] = msgspec.field(default_factory=list)
    context: SearchContext | None = None
    number_matched: int | None = None
    number_returned: int | None = None


class Catalog:
    """The Sentinel Hub STAC catalog, reached as ``sh.catalog``.

    Example::

        page = await sh.catalog.landing_page()
        s2 = await sh.catalog.collection("sentinel-2-l2a")
        items = await sh.catalog.search("sentinel-2-l2a", datetime="2023-06", max_items=50).collect()
    """

    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self._ctx = ctx
        self._paging = StacPaging(ctx.transport)

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

        fetch = self._paging.fetcher("catalog.collections", decode)
        return StacPaginator(fetch, first=first, max_items=max_items)

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
    ) -> ItemSearch:
        """The items of one collection (the OGC API Features endpoint), page by page.

        ``bbox`` and ``datetime`` as for :meth:`search`; ``limit`` is the page size (1..100).
        ``.dicts()`` gives the same items as plain dicts.
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
        return ItemSearch(self._paging, "catalog.items", first=first, max_items=max_items)

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
    ) -> ItemSearch: ...

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
        if distinct is None:
            return ItemSearch(self._paging, "catalog.search", first=first, max_items=max_items)
        decode = raw_page_decoder("catalog.search")
        return FeaturePaginator(self._paging, "catalog.search", decode, first=first, max_items=max_items)

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
