"""Sentinel Hub listings (``{"data": [...], "links": {"nextToken"}}``) as Paginators over ``viewtoken``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from eoclient._http.transport import Transport
from eoclient._models import from_wire
from eoclient.errors import ResponseDecodeError
from eoclient.paging import Page, Paginator, ViewToken

__all__ = ["view_paginator"]

T = TypeVar("T")

_NO_DATA = "unexpected response shape: Object missing required field `data`"


def view_paginator(
    transport: Transport,
    path: str,
    item_type: type[T],
    *,
    operation: str,
    params: Mapping[str, Any] | None = None,
    max_items: int | None = None,
) -> Paginator[T, ViewToken]:
    """A :class:`Paginator` over a Sentinel Hub ``{"data": [...], "links": {...}}`` listing.

    The next page is asked for with ``viewtoken=<links.nextToken>`` and the
    same query; an answer that only gives a ``links.next`` URL is followed as is
    when it is on the client's own host (else
    :class:`~eoclient.errors.ForeignHostError`: the bearer stays home). Its
    cursors are :class:`~eoclient.paging.ViewToken` (the token, or that URL).
    """
    base_params = {k: v for k, v in (params or {}).items() if v is not None}

    async def fetch(cursor: ViewToken | None) -> Page[T, ViewToken]:
        url, query = path, dict(base_params)
        if cursor is not None and cursor.is_url:
            # A resumed cursor is user text: its host is checked again before the bearer goes with it.
            url, query = transport.check_own_host(cursor, operation=operation), {}
        elif cursor is not None:
            query["viewtoken"] = str(cursor)
        body = await transport.request_json(
            "GET", url, operation=operation, params=query, type=dict[str, Any]
        )
        if "data" not in body:
            raise ResponseDecodeError(_NO_DATA, operation=operation, path=path)
        items = from_wire(body["data"], list[item_type], operation=operation, path=path)  # type: ignore[valid-type]
        links = body.get("links")
        nxt: ViewToken | None = None
        if isinstance(links, dict):
            if isinstance(links.get("nextToken"), str) and links["nextToken"]:
                nxt = ViewToken(links["nextToken"])
            elif isinstance(links.get("next"), str) and links["next"]:
                # Followed only on the client's own host: the transport adds the bearer to it.
                nxt = ViewToken(transport.check_own_host(links["next"], operation=operation))
        # A last page may still carry a token; an empty page ends the listing regardless.
        return Page(items, nxt if items else None)

    return Paginator(fetch, cursor_kind=ViewToken, max_items=max_items)
