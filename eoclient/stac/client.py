"""A client of any STAC API (earth-search, Planetary Computer, stac-fastapi, rustac...): search, paged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from eoclient._checks import check_instance
from eoclient._client import BaseClient
from eoclient._http import media
from eoclient._http.dialects import ServiceDialect, parse_sentinelhub_error
from eoclient._http.retry import RetryPolicy
from eoclient._http.transport import ConnectionLimits, Timeouts, Transport
from eoclient._models import from_json
from eoclient._paths import segment
from eoclient.errors import ValidationError
from eoclient.paging import StacNext
from eoclient.sentinelhub.catalog_query import DatetimeLike, FieldsLike, SearchQuery
from eoclient.stac.models import Collection, LandingPage
from eoclient.stac.paging import ItemSearch, StacPaging

__all__ = ["STAC", "StacClient"]

# Errors as the STAC API writes them ({"code", "description"}); a bare HTTP error keeps its text.
STAC: Final = ServiceDialect("stac", 1.0, parse_sentinelhub_error)


class StacClient(BaseClient):
    """A STAC API at ``url`` (its landing page), searched with every transport guarantee.

    Retries, timeouts and connection limits are those of the other clients;
    no credentials are sent. ``next`` links are followed on ``url``'s host
    only. Use with ``async with``.

    Example::

        async with StacClient("https://earth-search.aws.element84.com/v1") as stac:
            search = stac.search(collections="sentinel-2-l2a", bbox=[13, 45, 14, 46],
                                 datetime="2023-06", limit=100, max_items=500)
            async for item in search:          # typed Items
                print(item.id, item.datetime)
            rows = await search.dicts().collect()  # the same items as plain dicts
    """

    def __init__(
        self,
        url: str,
        *,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        limits: ConnectionLimits | None = None,
    ) -> None:
        check_instance("url", url, str)
        if not url.startswith(("http://", "https://")):
            raise ValidationError("url", f"must be an http(s) URL of a STAC API, got {url!r:.80}")
        super().__init__(Transport(base_url=url, dialect=STAC, retry=retry, timeouts=timeouts, limits=limits))
        self._paging = StacPaging(self.transport)

    async def landing_page(self) -> LandingPage:
        """The API's root: its conformance classes and links."""
        resp = await self.transport.request("GET", "/", operation="stac.landing_page", expect=media.JSON)
        return from_json(resp.body, LandingPage, operation="stac.landing_page", path=resp.path)  # type: ignore[no-any-return]

    async def collection(self, collection_id: str) -> Collection:
        """One collection's description (:class:`~eoclient.errors.NotFoundError` when there is none)."""
        path = f"/collections/{segment(collection_id, 'collection_id')}"
        resp = await self.transport.request("GET", path, operation="stac.collection", expect=media.JSON)
        return from_json(resp.body, Collection, operation="stac.collection", path=resp.path)  # type: ignore[no-any-return]

    def search(
        self,
        collections: str | Sequence[str] | None = None,
        *,
        bbox: Any = None,
        intersects: Any = None,
        datetime: DatetimeLike = None,
        ids: str | Sequence[str] | None = None,
        filter: str | Mapping[str, Any] | None = None,
        filter_lang: str | None = None,
        fields: FieldsLike | None = None,
        limit: int | None = None,
        max_items: int | None = None,
        method: Literal["POST", "GET", "post", "get"] = "POST",
    ) -> ItemSearch:
        """Search items (``/search``); an async iterator of :class:`~eoclient.stac.models.Item`.

        The arguments are those of :meth:`eoclient.sentinelhub.catalog.Catalog.search`,
        except that ``collections`` and ``datetime`` are optional and any number
        of collections may be searched. ``limit`` is the page size the server is
        asked for (the server may cap it; default: the server's), ``max_items``
        stops without fetching further pages. ``.dicts()`` pages through the
        same items as plain dicts. Invalid input raises
        :class:`~eoclient.errors.ValidationError` here, before anything is sent.
        """
        verb = method.upper() if isinstance(method, str) else method
        if verb not in ("POST", "GET"):
            raise ValidationError("method", f"must be 'POST' or 'GET', got {method!r}")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValidationError("limit", f"must be a positive integer, got {limit!r}")
        query = SearchQuery.build(
            collections=collections,
            bbox=bbox,
            intersects=intersects,
            datetime=datetime,
            ids=ids,
            filter=filter,
            filter_lang=filter_lang,
            fields=fields,
            distinct=None,
            limit=limit,
            sentinelhub=False,
        )
        url = "/search"
        if verb == "POST":
            first = StacNext.of({"method": "POST", "url": url, "body": query.body()})
        else:
            first = StacNext.of({"method": "GET", "url": url, "params": query.params()})
        return ItemSearch(self._paging, "stac.search", first=first, max_items=max_items)

    def items(
        self, collection_id: str, *, limit: int | None = None, max_items: int | None = None
    ) -> ItemSearch:
        """The items of one collection (``/collections/{id}/items``), page by page."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValidationError("limit", f"must be a positive integer, got {limit!r}")
        url = f"/collections/{segment(collection_id, 'collection_id')}/items"
        params = {"limit": str(limit)} if limit is not None else None
        first = StacNext.of({"method": "GET", "url": url, "params": params})
        return ItemSearch(self._paging, "stac.items", first=first, max_items=max_items)
