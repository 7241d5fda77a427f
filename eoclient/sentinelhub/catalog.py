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

import datetime as dt
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, Literal, TypeVar, overload
from urllib.parse import urljoin

import msgspec

from eoclient._http import media
from eoclient._http.transport import Response, Transport
from eoclient._models import Model, from_json, from_wire
from eoclient._paths import segment
from eoclient.errors import ResponseDecodeError, ValidationError
from eoclient.geo import CRS84, BBox, as_geojson, bbox_of
from eoclient.paging import Paginator
from eoclient.sentinelhub.catalog_models import (
    Collection,
    Conformance,
    Item,
    LandingPage,
    Link,
    SearchContext,
    SearchPage,
)
from eoclient.sentinelhub.data_collections import DataCollection, catalog_collection_ids
from eoclient.timeutils import parse_time, parse_time_interval, serialize_time

__all__ = ["CATALOG_PATH", "MAX_LIMIT", "Catalog", "format_datetime"]

CATALOG_PATH: Final = "/api/v1/catalog/1.0.0"
MAX_LIMIT: Final = 100
"""Sentinel Hub's largest page size (``limit``)."""

_T = TypeVar("_T")

FILTER_LANGS: Final = ("cql2-text", "cql2-json")
_OPEN_ENDS: Final = frozenset({"", ".."})

DatetimeEnd = str | dt.datetime | dt.date | None
DatetimeLike = DatetimeEnd | tuple[DatetimeEnd, DatetimeEnd] | Sequence[DatetimeEnd]
FieldsLike = Mapping[str, Sequence[str]] | Sequence[str] | str
CollectionsLike = str | DataCollection | Sequence[str | DataCollection]


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


class _StacPaginator(Paginator[_T]):
    """A :class:`Paginator` whose pages are typed as :class:`SearchPage` (with context and links)."""

    async def pages(self) -> AsyncIterator[SearchPage[_T]]:
        """Yield whole :class:`SearchPage` objects (the last one trimmed to ``max_items``)."""
        async for page in super().pages():
            assert isinstance(page, SearchPage)  # every fetch of this module builds one
            yield page


# A request as the paginator's cursor: a plain dict so that it is hashable by value
# (the paginator detects a service that hands out the same "next" twice).
_Request = dict[str, Any]


class Catalog:
    """The Sentinel Hub STAC catalog, reached as ``sh.catalog``.

    Example::

        page = await sh.catalog.landing_page()
        s2 = await sh.catalog.collection("sentinel-2-l2a")
        items = await sh.catalog.search("sentinel-2-l2a", datetime="2023-06", max_items=50).collect()
    """

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    # -- core ----------------------------------------------------------------------

    async def landing_page(self) -> LandingPage:
        """The catalog root: its conformance classes and links."""
        return await self._get(f"{CATALOG_PATH}/", LandingPage, operation="catalog.landing_page")

    async def conformance(self) -> Conformance:
        """The conformance classes the service implements (``"...#filter" in conformance``)."""
        return await self._get(f"{CATALOG_PATH}/conformance", Conformance, operation="catalog.conformance")

    # -- collections ---------------------------------------------------------------

    def collections(self, *, max_items: int | None = None) -> Paginator[Collection]:
        """Every collection the account can search (``next`` links followed).

        The operation takes no query parameter (no page size), as the OpenAPI document says.

        Example::

            async for collection in sh.catalog.collections():
                print(collection.id, collection.title)
        """
        first: _Request = {"method": "GET", "url": f"{CATALOG_PATH}/collections", "params": None}

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
        path = f"{CATALOG_PATH}/collections/{segment(collection_id, 'collection_id')}"
        return await self._get(path, Collection, operation="catalog.collection")

    async def queryables(self, collection_id: str) -> dict[str, Any]:
        """The JSON Schema of the properties a ``filter`` may use for this collection."""
        path = f"{CATALOG_PATH}/collections/{segment(collection_id, 'collection_id')}/queryables"
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
    ) -> Paginator[Item]:
        """The items of one collection (the OGC API Features endpoint), page by page.

        ``bbox`` and ``datetime`` as for :meth:`search`; ``limit`` is the page size (1..100).
        """
        path = f"{CATALOG_PATH}/collections/{segment(collection_id, 'collection_id')}/items"
        params: dict[str, str] = {}
        if bbox is not None:
            params["bbox"] = ",".join(_number(v) for v in _bbox(bbox))
        if datetime is not None:
            params["datetime"] = format_datetime(datetime)
        page_size = _page_size(limit, max_items)
        if page_size is not None:
            params["limit"] = str(page_size)
        first: _Request = {"method": "GET", "url": path, "params": params or None}
        return _StacPaginator(
            self._fetcher("catalog.items", _item_page_decoder("catalog.items", distinct=False)),
            first=first,
            max_items=max_items,
        )

    async def item(self, collection_id: str, item_id: str) -> Item:
        """One item by id (:class:`~eoclient.errors.NotFoundError` when there is none)."""
        path = (
            f"{CATALOG_PATH}/collections/{segment(collection_id, 'collection_id')}"
            f"/items/{segment(item_id, 'item_id')}"
        )
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
    ) -> Paginator[Item]: ...

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
    ) -> Paginator[Any]: ...

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
    ) -> Paginator[Any]:
        """Search items (STAC item search); an async iterator of :class:`Item`.

        * ``collections``: the collection id (Sentinel Hub searches exactly one), or a list of one;
          a :class:`~eoclient.sentinelhub.data_collections.DataCollection` stands for its catalog id
          (refused when another deployment than this client's serves it).
        * ``bbox``: ``[min_x, min_y, max_x, max_y]`` in WGS84, a :class:`~eoclient.geo.BBox`, or
          anything with ``.bounds``; ``intersects``: a GeoJSON geometry or any object with
          ``__geo_interface__`` (not both).
        * ``datetime``: an RFC 3339 string or interval (``"2023-01-01T00:00:00Z/.."``), a date
          (``"2023-06"`` is all of June), a ``datetime`` (naive means UTC) or ``date``, or a
          ``(start, end)`` pair where ``None`` or ``".."`` leaves a side open.
        * ``filter``: CQL2 text (``"eo:cloud_cover < 20"``) or CQL2 JSON (a dict);
          ``filter_lang`` defaults from its type.
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
        query = _SearchQuery.build(
            collections=catalog_collection_ids(collections, self._transport.base_url),
            bbox=bbox,
            intersects=intersects,
            datetime=datetime,
            ids=ids,
            filter=filter,
            filter_lang=filter_lang,
            fields=fields,
            distinct=distinct,
            limit=_page_size(limit, max_items),
        )
        path = f"{CATALOG_PATH}/search"
        first: _Request
        if verb == "POST":
            first = {"method": "POST", "url": path, "body": query.body()}
        else:
            first = {"method": "GET", "url": path, "params": query.params()}
        decode = _item_page_decoder("catalog.search", distinct=distinct is not None)
        return _StacPaginator(self._fetcher("catalog.search", decode), first=first, max_items=max_items)

    # -- plumbing ----------------------------------------------------------------------

    async def _get(self, path: str, type_: type[_T], *, operation: str) -> _T:
        resp = await self._transport.request("GET", path, operation=operation, expect=media.JSON)
        return from_wire(resp.json(), type_, operation=operation, path=resp.path)

    def _fetcher(
        self, operation: str, decode: Callable[[Response], SearchPage[Any]]
    ) -> Callable[[_Request], Awaitable[SearchPage[Any]]]:
        async def fetch(request: _Request) -> SearchPage[Any]:
            resp = await self._transport.request(
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

    def _follow(self, link: Link | None, current: _Request, *, operation: str, path: str) -> _Request | None:
        """The request a ``next`` link asks for, given the request that produced the page."""
        if link is None:
            return None
        verb = (link.method or "GET").upper()
        url = self._on_our_host(link.href, current["url"], operation)
        request: _Request = {"method": verb, "url": url}
        if link.headers:
            request["headers"] = dict(link.headers)
        if verb == "GET":
            return request  # the href carries the whole query
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
        return request

    def _on_our_host(self, href: str, current: str, operation: str) -> str:
        # A link elsewhere (another host, or http where we speak https) would take the bearer with it.
        absolute = urljoin(self._transport.url(current), href)
        return self._transport.check_own_host(absolute, operation=operation)


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


# -- request building ------------------------------------------------------------------


class _SearchQuery:
    """Validated search parameters, rendered as a POST body or GET query."""

    def __init__(self) -> None:
        self.collections: list[str] = []
        self.bbox: list[float] | None = None
        self.intersects: dict[str, Any] | None = None
        self.datetime: str | None = None
        self.ids: list[str] | None = None
        self.filter: str | dict[str, Any] | None = None
        self.filter_lang: str | None = None
        self.include: list[str] = []
        self.exclude: list[str] = []
        self.fields = False
        self.distinct: str | None = None
        self.limit: int | None = None

    @classmethod
    def build(
        cls,
        *,
        collections: Any,
        bbox: Any,
        intersects: Any,
        datetime: Any,
        ids: Any,
        filter: Any,
        filter_lang: Any,
        fields: Any,
        distinct: Any,
        limit: int | None,
    ) -> _SearchQuery:
        q = cls()
        q.collections = _names(collections, "collections")
        if len(q.collections) != 1:
            raise ValidationError("collections", "Sentinel Hub searches exactly one collection at a time")
        if bbox is not None and intersects is not None:
            raise ValidationError("intersects", "give either bbox or intersects, not both")
        if bbox is not None:
            q.bbox = _bbox(bbox)
        if intersects is not None:
            q.intersects = as_geojson(intersects, field="intersects")
        if datetime is not None:
            q.datetime = format_datetime(datetime)
        if ids is not None:
            q.ids = _names(ids, "ids")
        q.filter, q.filter_lang = _filter(filter, filter_lang)
        if fields is not None:
            q.include, q.exclude = _fields(fields)
            q.fields = True
        if distinct is not None:
            if not isinstance(distinct, str) or not distinct.strip():
                raise ValidationError("distinct", "must be a property name such as 'date'")
            q.distinct = distinct.strip()
        q.limit = limit
        return q

    def body(self) -> dict[str, Any]:
        """The POST body (``filter-lang`` and ``fields`` spelled as on the wire)."""
        body: dict[str, Any] = {"collections": list(self.collections)}
        if self.bbox is not None:
            body["bbox"] = self.bbox
        if self.intersects is not None:
            body["intersects"] = self.intersects
        if self.datetime is not None:
            body["datetime"] = self.datetime
        if self.ids is not None:
            body["ids"] = self.ids
        if self.filter is not None:
            body["filter"] = self.filter
            body["filter-lang"] = self.filter_lang
        if self.fields:
            fields: dict[str, list[str]] = {}
            if self.include:
                fields["include"] = self.include
            if self.exclude:
                fields["exclude"] = self.exclude
            body["fields"] = fields
        if self.distinct is not None:
            body["distinct"] = self.distinct
        if self.limit is not None:
            body["limit"] = self.limit
        return body

    def params(self) -> dict[str, str]:
        """The GET query: lists comma-separated, geometry and CQL2 JSON as JSON text."""
        params: dict[str, str] = {"collections": ",".join(self.collections)}
        if self.bbox is not None:
            params["bbox"] = ",".join(_number(v) for v in self.bbox)
        if self.intersects is not None:
            params["intersects"] = json.dumps(self.intersects, separators=(",", ":"))
        if self.datetime is not None:
            params["datetime"] = self.datetime
        if self.ids is not None:
            params["ids"] = ",".join(self.ids)
        if self.filter is not None:
            if isinstance(self.filter, str):
                params["filter"] = self.filter  # cql2-text is GET's default language
            else:
                params["filter"] = json.dumps(self.filter, separators=(",", ":"))
                params["filter-lang"] = "cql2-json"
        if self.fields:
            params["fields"] = ",".join([*self.include, *(f"-{name}" for name in self.exclude)])
        if self.distinct is not None:
            params["distinct"] = self.distinct
        if self.limit is not None:
            params["limit"] = str(self.limit)
        return params


def _names(value: Any, field: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or isinstance(value, bytes):
        raise ValidationError(field, f"expected a string or a list of strings, got {type(value).__name__}")
    names = list(value)
    if not names:
        raise ValidationError(field, "must not be empty")
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"{field}[{i}]", f"must be a non-empty string, got {name!r}")
    return [name.strip() for name in names]


def _bbox(value: Any) -> list[float]:
    if isinstance(value, BBox) and value.crs != CRS84:
        raise ValidationError("bbox", "the catalog takes WGS84 longitude/latitude (CRS84) boxes only")
    return bbox_of(value, field="bbox")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise ValidationError("limit", f"must be an integer, got {type(limit).__name__}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError("limit", f"must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


def _page_size(limit: int | None, max_items: int | None) -> int:
    """``limit`` checked; by default the largest page, or ``max_items`` when that is smaller."""
    if limit is not None:
        return _check_limit(limit)
    if max_items is not None and isinstance(max_items, int) and 0 < max_items < MAX_LIMIT:
        return max_items
    return MAX_LIMIT


def _filter(value: Any, lang: Any) -> tuple[str | dict[str, Any] | None, str | None]:
    if lang is not None and lang not in FILTER_LANGS:
        raise ValidationError("filter_lang", f"must be one of {', '.join(FILTER_LANGS)}, got {lang!r}")
    if value is None:
        return None, None
    if isinstance(value, str):
        if not value.strip():
            raise ValidationError("filter", "is empty")
        if lang == "cql2-json":
            try:
                decoded = json.loads(value)
            except ValueError:
                raise ValidationError(
                    "filter", "filter_lang is cql2-json but the filter is not JSON"
                ) from None
            if not isinstance(decoded, dict):
                raise ValidationError("filter", "a CQL2 JSON filter is an object")
            return decoded, "cql2-json"
        return value.strip(), "cql2-text"
    if isinstance(value, Mapping):
        if lang == "cql2-text":
            raise ValidationError("filter_lang", "a dict filter is CQL2 JSON; pass a string for cql2-text")
        if "op" not in value:
            raise ValidationError("filter", "a CQL2 JSON expression needs 'op' (and 'args')")
        plain = msgspec.to_builtins(dict(value))
        assert isinstance(plain, dict)
        return plain, "cql2-json"
    raise ValidationError(
        "filter", f"expected CQL2 text (str) or CQL2 JSON (dict), got {type(value).__name__}"
    )


def _fields(value: Any) -> tuple[list[str], list[str]]:
    include: list[str] = []
    exclude: list[str] = []
    if isinstance(value, Mapping):
        unknown = set(value) - {"include", "exclude"}
        if unknown:
            raise ValidationError(
                "fields", f"only 'include' and 'exclude' are allowed, got {sorted(unknown)}"
            )
        include = _field_names(value.get("include") or [], "fields.include")
        exclude = _field_names(value.get("exclude") or [], "fields.exclude")
        return include, exclude
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    for name in _field_names(value, "fields"):
        if name.startswith("-"):
            exclude.append(name[1:])
        else:
            include.append(name.removeprefix("+"))
    if any(not name for name in (*include, *exclude)):
        raise ValidationError("fields", "a field name is empty")
    return include, exclude


def _field_names(value: Any, field: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValidationError(field, "expected a list of field names")
    out: list[str] = []
    for i, name in enumerate(value):
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"{field}[{i}]", f"must be a non-empty string, got {name!r}")
        out.append(name.strip())
    return out


# -- datetime ------------------------------------------------------------------------


def format_datetime(value: Any, *, field: str = "datetime") -> str:
    """An RFC 3339 instant or interval as the STAC API takes it, in UTC.

    Accepts an RFC 3339 string or ``start/end`` interval (``..`` or empty for an
    open end), a date or partial date (``"2023"``, ``"2023-06"``,
    ``"2023-06-01"``, a ``date``) meaning the whole period, a ``datetime``
    (naive means UTC), or a ``(start, end)`` pair whose ends are any of those or
    ``None`` for open. The parsing is :mod:`eoclient.timeutils`'.

    >>> format_datetime(("2023-06-01", None))
    '2023-06-01T00:00:00Z/..'
    >>> format_datetime("2023-06")
    '2023-06-01T00:00:00Z/2023-06-30T23:59:59.999999Z'
    """
    if isinstance(value, dt.datetime) or (
        isinstance(value, str) and "/" not in value and "T" in value.upper()
    ):
        return serialize_time(parse_time(value, field=field))
    if value is None or (isinstance(value, str) and value.strip() in _OPEN_ENDS):
        raise ValidationError(field, "is empty")
    if isinstance(value, bytes) or not isinstance(value, str | dt.date | Sequence):
        raise ValidationError(
            field, f"expected a string, datetime, date or (start, end), got {type(value).__name__}"
        )
    start, end = parse_time_interval(value, field=field)
    return f"{serialize_time(start)}/{serialize_time(end)}"
