"""The one paging mechanism: pages fetched on demand, items as an async iterator.

Every list endpoint of every service is a :class:`Paginator`: a service module
supplies ``fetch(cursor) -> Page`` (Sentinel Hub ``viewtoken``, STAC ``next``
links, SpaceKnow ``cursor``, or anything else that says where the next page
is) and gets item iteration, whole pages, ``max_items`` that stops without
fetching further pages, and ``collect()``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from eoclient.errors import ResponseDecodeError, ValidationError

__all__ = ["Page", "Paginator"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page: its items and where the next page is (``None`` on the last)."""

    items: Sequence[T]
    next: Any = None


class Paginator(Generic[T]):
    """Items of a paged listing, fetched page by page as they are consumed.

    Iterating starts from the first page each time. ``max_items`` trims the
    last page exactly and no page beyond it is requested.

    Example::

        async for item in paginator:          # items
            ...
        async for page in paginator.pages():  # whole pages
            ...
        first_100 = await paginator.collect()
    """

    def __init__(
        self,
        fetch: Callable[[Any], Awaitable[Page[T]]],
        *,
        first: Any = None,
        max_items: int | None = None,
    ) -> None:
        if max_items is not None and max_items < 0:
            raise ValidationError("max_items", "must be >= 0 or None")
        self._fetch = fetch
        self._first = first
        self.max_items = max_items

    async def pages(self, *, start: Any = None) -> AsyncIterator[Page[T]]:
        """Yield whole pages (the last one trimmed to ``max_items``).

        ``start`` is a page's ``next`` kept from an earlier listing: the listing
        goes on from there (``max_items`` then counts from that page) instead
        of starting over. Cursors are plain values (a string, a URL, a request
        as a dict), so they can be saved as JSON between processes.

        Example::

            async for page in listing.pages():
                save(page.next)                      # ... the process stops here ...
            async for page in listing.pages(start=load()):
                ...
        """
        remaining = self.max_items
        cursor = self._first if start is None else start
        seen: set[Any] = set()
        while remaining is None or remaining > 0:
            page = await self._fetch(cursor)
            items = page.items
            if remaining is not None:
                if len(items) >= remaining:
                    # replace(), not Page(): a subclass's page metadata survives the trim.
                    yield dataclasses.replace(page, items=items[:remaining], next=None)
                    return
                remaining -= len(items)
            yield page
            if page.next is None:
                return
            # A service that hands out the same cursor twice would loop forever.
            key = _hashable(page.next)
            if key in seen:
                raise ResponseDecodeError("the service repeated a page cursor", operation="paging")
            seen.add(key)
            cursor = page.next

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    async def collect(self) -> list[T]:
        """All items (up to ``max_items``) as a list."""
        return [item async for item in self]


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value
