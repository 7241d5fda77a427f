"""STAC ``next`` links followed over one transport: the paging of every STAC API listing.

A listing starts from a request (a :class:`~eoclient.paging.StacNext`) and
each page's ``next`` link says what to ask for next, GET or POST, the way the
STAC API specifies it: a link's ``method`` (default GET), ``headers`` and
``body`` are honoured, and ``merge: true`` merges the link's body into the
previous request body while a body without ``merge`` replaces it. Links are
followed on the transport's own hosts only, so credentials never travel
anywhere else. Sentinel Hub's Catalog and :class:`~eoclient.stac.StacClient`
page this way alike.

A page is decoded in one pass, straight from the answer's bytes into typed
:class:`~eoclient.stac.models.Item` objects (or plain dicts): no intermediate
builtins converted a second time, and without the garbage collector walking
the thousands of containers while they are being built. ``collect()`` reads
one page ahead: it finds the ``next`` link first (a light scan of the
answer), asks for that page, and decodes this one while the server prepares
the next.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import urljoin

import msgspec

from eoclient._http import media
from eoclient._http.transport import Response, Transport
from eoclient._models import Model, from_json
from eoclient.errors import ResponseDecodeError
from eoclient.paging import Page, Paginator, StacNext
from eoclient.stac.models import Item, Link, SearchContext, SearchPage

__all__ = [
    "Decode",
    "FeaturePaginator",
    "ItemSearch",
    "StacPaginator",
    "StacPaging",
    "dict_page_decoder",
    "item_page_decoder",
    "raw_page_decoder",
]

T = TypeVar("T")
F = TypeVar("F")

# A request: method, url and params/body/headers; the paginator's cursor is its StacNext text.
Request = dict[str, Any]
Decode = Callable[[Response], SearchPage[Any]]
Fetch = Callable[[StacNext | None], Awaitable[SearchPage[Any]]]


class _WirePage(Model, Generic[F]):
    """A FeatureCollection page, its features decoded as ``F`` in the same pass."""

    features: list[F]
    links: list[Link] = msgspec.field(default_factory=list)
    context: SearchContext | None = None
    number_matched: int | None = None
    number_returned: int | None = None


class _Head(Model):
    """What a page says besides its items: enough to ask for the next page before decoding this one."""

    features: list[msgspec.Raw] = msgspec.field(default_factory=list)  # counted, not decoded
    links: list[Link] = msgspec.field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Fetched(Page[msgspec.Raw, StacNext]):
    """A page read but not decoded yet: its ``next`` request and its answer."""

    resp: Response | None = None


def _decode_page(resp: Response, wire: Any, operation: str) -> Any:
    # A page is a tree of thousands of new containers, and JSON has no reference cycles: while it is
    # built, the collector would walk it again and again for nothing (half the decoding time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return from_json(resp.body, wire, operation=operation, path=resp.path)
    finally:
        if collecting:
            gc.enable()


def _decoder(wire: Any, operation: str) -> Decode:
    def decode(resp: Response) -> SearchPage[Any]:
        page = _decode_page(resp, wire, operation)
        return SearchPage(
            page.features,
            None,
            links=page.links,
            context=page.context,
            number_matched=page.number_matched,
            number_returned=page.number_returned,
        )

    return decode


def item_page_decoder(operation: str) -> Decode:
    """A FeatureCollection page whose features become :class:`Item` objects."""
    return _decoder(_WirePage[Item], operation)


def dict_page_decoder(operation: str) -> Decode:
    """A FeatureCollection page whose features stay plain dicts (each must be a JSON object)."""
    return _decoder(_WirePage[dict[str, Any]], operation)


def raw_page_decoder(operation: str) -> Decode:
    """A FeatureCollection page whose features are kept as they are (a ``distinct`` search's values)."""
    return _decoder(_WirePage[Any], operation)


class StacPaginator(Paginator[T, StacNext]):
    """A :class:`Paginator` whose pages are typed as :class:`SearchPage` (with context and links)."""

    def __init__(
        self,
        fetch: Callable[[StacNext | None], Awaitable[SearchPage[T]]],
        *,
        first: StacNext,
        max_items: int | None = None,
    ) -> None:
        super().__init__(fetch, cursor_kind=StacNext, first=first, max_items=max_items)

    async def pages(self, *, start: StacNext | None = None) -> AsyncIterator[SearchPage[T]]:
        """Yield whole :class:`SearchPage` objects (the last one trimmed to ``max_items``)."""
        async for page in super().pages(start=start):
            assert isinstance(page, SearchPage)  # every fetch of this module builds one
            yield page


class FeaturePaginator(StacPaginator[T]):
    """A listing of FeatureCollection pages, each feature decoded as ``decode`` says.

    ``collect()`` reads ahead: a page's ``next`` link is found by a light scan
    of the answer, the next page is asked for, and only then is this page
    decoded, while the server prepares the next one.
    """

    _read_ahead: ClassVar[bool] = True

    def __init__(
        self, paging: StacPaging, operation: str, decode: Decode, *, first: StacNext, max_items: int | None
    ) -> None:
        super().__init__(paging.fetcher(operation, decode), first=first, max_items=max_items)
        self._paging, self._operation, self._decode = paging, operation, decode

    async def _fetch_head(self, cursor: StacNext | None) -> _Fetched:
        request, resp = await self._paging.send(cursor, self._operation)
        head = from_json(resp.body, _Head, operation=self._operation, path=resp.path)
        following = self._paging.follow(
            _next_link(head.links), request, operation=self._operation, path=resp.path
        )
        return _Fetched(head.features, following, resp=resp)

    def _settle(self, page: Page[Any, StacNext]) -> SearchPage[T]:
        assert isinstance(page, _Fetched) and page.resp is not None  # what _fetch_head gives
        decoded = self._decode(page.resp)
        return SearchPage(
            decoded.items,
            page.next,
            links=decoded.links,
            context=decoded.context,
            number_matched=decoded.number_matched,
            number_returned=decoded.number_returned,
        )


class ItemSearch(FeaturePaginator[Item]):
    """The items a search (or a collection's items listing) finds, as typed :class:`Item` objects.

    :meth:`dicts` is the same listing with each item as the plain dict the
    service sent (no model built: the cheapest way to page through items).

    Example::

        async for item in search:              # Item objects
            ...
        rows = await search.dicts().collect()  # the same items as dicts
    """

    def __init__(self, paging: StacPaging, operation: str, *, first: StacNext, max_items: int | None) -> None:
        super().__init__(paging, operation, item_page_decoder(operation), first=first, max_items=max_items)

    def dicts(self) -> FeaturePaginator[dict[str, Any]]:
        """The same listing (same request, same ``max_items``), each item a plain dict."""
        assert self._first is not None  # an ItemSearch always knows its first request
        decode = dict_page_decoder(self._operation)
        return FeaturePaginator(
            self._paging, self._operation, decode, first=self._first, max_items=self.max_items
        )


class StacPaging:
    """Fetches a STAC listing's pages on ``transport`` and works out each page's ``next`` request."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def send(self, cursor: StacNext | None, operation: str) -> tuple[Request, Response]:
        """Send the request ``cursor`` stands for; the request and its (JSON) answer."""
        assert cursor is not None  # every listing starts from its first request
        request = cursor.request()
        transport = self._transport
        # A resumed cursor is user text: its URL must be ours before any credential goes with it.
        transport.check_own_host(request["url"], operation=operation)
        resp = await transport.request(
            request["method"],
            request["url"],
            operation=operation,
            params=request.get("params"),
            json=request.get("body"),
            headers=request.get("headers"),
            idempotent=True,  # a search only reads
            expect=media.JSON,  # GeoJSON (application/geo+json) is JSON
        )
        return request, resp

    def fetcher(self, operation: str, decode: Decode) -> Fetch:
        """The ``fetch`` of a :class:`StacPaginator`: send the cursor's request, decode, find ``next``."""

        async def fetch(cursor: StacNext | None) -> SearchPage[Any]:
            request, resp = await self.send(cursor, operation)
            page = decode(resp)
            following = self.follow(_next_link(page.links), request, operation=operation, path=resp.path)
            return SearchPage(
                page.items,
                following,
                links=page.links,
                context=page.context,
                number_matched=page.number_matched,
                number_returned=page.number_returned,
            )

        return fetch

    def follow(self, link: Link | None, current: Request, *, operation: str, path: str) -> StacNext | None:
        """The request a ``next`` link asks for, given the request that produced the page."""
        if link is None:
            return None
        verb = (link.method or "GET").upper()
        url = self._on_our_host(link.href, current["url"], operation)
        request: Request = {"method": verb, "url": url}
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
        # A link elsewhere (another host, or http where we speak https) would take the credentials with it.
        absolute = urljoin(self._transport.url(current), href)
        return self._transport.check_own_host(absolute, operation=operation)


def _next_link(links: Sequence[Link]) -> Link | None:
    for link in links:
        if link.rel == "next":
            return link
    return None
