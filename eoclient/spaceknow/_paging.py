"""SpaceKnow listings (``{"results": [...], "cursor": ...}``) as Paginators over ``cursor``.

The SpaceKnow counterpart of :mod:`eoclient.sentinelhub._paging`: every
cursor listing of every SpaceKnow family pages through :func:`cursor_paginator`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from eoclient._http.transport import Transport
from eoclient._models import from_wire
from eoclient.errors import ResponseDecodeError
from eoclient.paging import Page, Paginator, SkCursor

__all__ = ["cursor_paginator"]

T = TypeVar("T")


def cursor_paginator(
    transport: Transport,
    path: str,
    item_type: type[T],
    body: Mapping[str, Any],
    *,
    operation: str,
    max_items: int | None = None,
) -> Paginator[T, SkCursor]:
    """A :class:`Paginator` over a SpaceKnow ``{"results": [...], "cursor": ...}`` listing.

    Each page is one POST of ``body`` plus the previous answer's ``cursor``;
    an answer without a cursor (or with no results) is the last page. Its
    cursors are :class:`~eoclient.paging.SkCursor`.
    """
    base = {k: v for k, v in body.items() if v is not None}

    async def fetch(cursor: SkCursor | None) -> Page[T, SkCursor]:
        payload = dict(base)
        if cursor is not None:
            payload["cursor"] = str(cursor)
        data = await transport.request_json("POST", path, operation=operation, json=payload, idempotent=True)
        if not isinstance(data, dict):
            raise ResponseDecodeError('expected {"results": [...]}', operation=operation, path=path)
        if "results" not in data:
            raise ResponseDecodeError(
                "unexpected response shape: Object missing required field `results`",
                operation=operation,
                path=path,
            )
        items = from_wire(data["results"], list[item_type], operation=operation, path=path)  # type: ignore[valid-type]
        nxt = data.get("cursor")
        return Page(items, SkCursor(nxt) if isinstance(nxt, str) and nxt and items else None)

    return Paginator(fetch, cursor_kind=SkCursor, max_items=max_items)
