"""The one paging mechanism: pages fetched on demand, items as an async iterator.

Every list endpoint of every service is a :class:`Paginator`: a service module
supplies ``fetch(cursor) -> Page`` (Sentinel Hub ``viewtoken``, STAC ``next``
links, SpaceKnow ``cursor``, or anything else that says where the next page
is) and gets item iteration, whole pages, ``max_items`` that stops without
fetching further pages, and ``collect()``.

Each family's cursor has its own kind (:class:`ViewToken`, :class:`StacNext`,
:class:`SkCursor`, :class:`SceneCursor`; :class:`NoCursor` for listings that
come in one answer), all of them ``str`` subclasses: a cursor is saved as its
text (``str(page.next)``, or put in JSON as it is) and restored with its kind
(``ViewToken(text)``). ``Paginator.pages(start=...)`` refuses a cursor of
another kind before anything is sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Self

import msgspec

if sys.version_info >= (3, 13):
    from typing import TypeVar
else:  # TypeVar defaults (PEP 696) arrived in 3.13
    from typing_extensions import TypeVar

from eoclient.errors import ResponseDecodeError, ValidationError

__all__ = [
    "Cursor",
    "NoCursor",
    "Page",
    "Paginator",
    "SceneCursor",
    "SkCursor",
    "StacNext",
    "ViewToken",
]

T = TypeVar("T")
C = TypeVar("C", default=Any)  # a cursor kind; untyped (Any) for a Paginator built without one


# -- cursor kinds --------------------------------------------------------------------------


class Cursor(str):
    """Where a listing goes on: text, so it is saved and restored as it is.

    The base of every family's cursor kind. ``str(cursor)`` is the text to
    save; ``Kind(text)`` (e.g. ``ViewToken(text)``) restores it, checking the
    text (:class:`~eoclient.errors.ValidationError` naming ``cursor``).
    """

    __slots__ = ()
    what: ClassVar[str] = "cursor"
    """How errors name this kind."""

    def __new__(cls, text: str) -> Self:
        if not isinstance(text, str) or not text:
            raise ValidationError("cursor", f"a {cls.__name__} is non-empty text, got {text!r:.80}")
        cls._check(text)
        return super().__new__(cls, text)

    @classmethod
    def _check(cls, text: str) -> None:
        """Refuse text that cannot be a cursor of this kind (hook for the kinds)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str.__repr__(self)})"


class ViewToken(Cursor):
    """A Sentinel Hub listing's cursor (BYOC, Batch, tiling grids...).

    Its text is the ``viewtoken`` the service handed out (``links.nextToken``),
    or the absolute ``links.next`` URL when the service gave only that (such a
    URL is followed only on the client's own host).
    """

    __slots__ = ()
    what = "Sentinel Hub viewtoken"

    @property
    def is_url(self) -> bool:
        """Whether the text is a ``links.next`` URL rather than a token."""
        return self.startswith(("https://", "http://"))


class StacNext(Cursor):
    """The Sentinel Hub catalog's cursor: the request a STAC ``next`` link asks for.

    Its text is that request as JSON (``{"method": "GET"|"POST", "url": ...,
    "params"|"body"|"headers": ...}``), keys sorted.
    """

    __slots__ = ()
    what = "STAC next request"

    @classmethod
    def _check(cls, text: str) -> None:
        try:
            request = msgspec.json.decode(str(text))
        except msgspec.DecodeError:
            raise ValidationError(
                "cursor", "a StacNext is a JSON request, got text that is not JSON"
            ) from None
        if not (
            isinstance(request, dict)
            and request.get("method") in ("GET", "POST")
            and isinstance(request.get("url"), str)
            and all(isinstance(request.get(k) or {}, dict) for k in ("params", "body", "headers"))
        ):
            raise ValidationError("cursor", 'a StacNext is {"method": "GET"|"POST", "url": ..., ...} as JSON')

    @classmethod
    def of(cls, request: dict[str, Any]) -> StacNext:
        """The cursor of a request (``method``, ``url`` and ``params``/``body``/``headers``)."""
        return cls(msgspec.json.encode(request, order="sorted").decode())

    def request(self) -> dict[str, Any]:
        """The request this cursor stands for."""
        decoded: dict[str, Any] = msgspec.json.decode(str(self))
        return decoded


class SkCursor(Cursor):
    """A SpaceKnow listing's ``cursor`` (credit transactions, allocations...), as the service gave it."""

    __slots__ = ()
    what = "SpaceKnow cursor"


class SceneCursor(Cursor):
    """SpaceKnow imagery search's cursor: the next page's offset, as decimal text (``"50"``)."""

    __slots__ = ()
    what = "SpaceKnow imagery search cursor"

    @classmethod
    def _check(cls, text: str) -> None:
        if not (text.isascii() and text.isdigit()):
            raise ValidationError("cursor", f"a SceneCursor is a non-negative integer, got {text!r:.80}")

    @property
    def offset(self) -> int:
        """The cursor as the integer the service takes."""
        return int(self)


class NoCursor(Cursor):
    """The kind of a listing that comes in one answer: it has no cursor, so nothing to resume from."""

    __slots__ = ()
    what = "single-page listing"

    @classmethod
    def _check(cls, text: str) -> None:
        raise ValidationError("cursor", "this listing comes in one page: it has no cursor to resume from")


# -- pages and paginators ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page(Generic[T, C]):
    """One page: its items and where the next page is (``None`` on the last)."""

    items: Sequence[T]
    next: C | None = None


class Paginator(Generic[T, C]):
    """Items of a paged listing, fetched page by page as they are consumed.

    Iterating starts from the first page each time. ``max_items`` trims the
    last page exactly and no page beyond it is requested. ``cursor_kind`` is
    the :class:`Cursor` kind of the listing's pages (``None``: any cursor,
    unchecked); ``pages(start=...)`` refuses a cursor of another kind.

    Example::

        async for item in paginator:          # items
            ...
        async for page in paginator.pages():  # whole pages
            ...
        first_100 = await paginator.collect()
    """

    def __init__(
        self,
        fetch: Callable[[C | None], Awaitable[Page[T, C]]],
        *,
        cursor_kind: type[C] | None = None,
        first: C | None = None,
        max_items: int | None = None,
    ) -> None:
        if max_items is not None and max_items < 0:
            raise ValidationError("max_items", "must be >= 0 or None")
        self._fetch = fetch
        self._first = first
        self.cursor_kind = cursor_kind
        self.max_items = max_items

    async def pages(self, *, start: C | None = None) -> AsyncIterator[Page[T, C]]:
        """Yield whole pages (the last one trimmed to ``max_items``).

        ``start`` is a page's ``next`` kept from an earlier listing: the listing
        goes on from there (``max_items`` then counts from that page) instead
        of starting over. Cursors are ``str`` subclasses: save ``str(page.next)``,
        restore with the listing's kind (``ViewToken(text)``; the text itself is
        accepted too). A cursor of another kind (a SpaceKnow cursor given to a
        Sentinel Hub listing) is a :class:`~eoclient.errors.ValidationError`
        naming ``start`` and both kinds, raised before anything is sent.

        Example::

            async for page in listing.pages():
                save(str(page.next))                 # ... the process stops here ...
            async for page in listing.pages(start=ViewToken(load())):
                ...
        """
        async for page in self._pages(start, read_ahead=False):
            yield page

    # Read-ahead (collect() only): a subclass whose pages are cheap to fetch but costly to decode
    # splits fetching in two, ``_fetch_head`` (the answer, its item count and ``next``) and
    # ``_settle`` (its items decoded), so that the next page is asked for before this one is decoded.
    _read_ahead: ClassVar[bool] = False

    async def _fetch_head(self, cursor: C | None) -> Page[Any, C]:
        """A page whose ``next`` is known and whose items :meth:`_settle` finishes (here: the page)."""
        return await self._fetch(cursor)

    def _settle(self, page: Page[Any, C]) -> Page[T, C]:
        """The page :meth:`_fetch_head` gave, with its items in their final form."""
        return page

    async def _pages(self, start: C | None, *, read_ahead: bool) -> AsyncIterator[Page[T, C]]:
        remaining = self.max_items
        cursor = self._first if start is None else self._resumed(start)
        seen: set[Any] = set()
        ahead: asyncio.Future[Page[Any, C]] | None = None
        try:
            while remaining is None or remaining > 0:
                if not read_ahead:
                    page = await self._fetch(cursor)
                else:
                    head = await (ahead if ahead is not None else self._fetch_head(cursor))
                    ahead = None
                    more = remaining is None or len(head.items) < remaining
                    if more and head.next is not None and _hashable(head.next) not in seen:
                        # Only a page the listing goes on to anyway: max_items still stops the paging.
                        ahead = asyncio.ensure_future(self._fetch_head(head.next))
                        await asyncio.sleep(0)  # let it send its request before this page is decoded
                    page = self._settle(head)
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
        finally:
            if ahead is not None:  # this page failed (or the listing was closed): drop the next one
                ahead.cancel()
                await asyncio.wait([ahead])  # raises nothing of the task's; our own cancellation passes
                if not ahead.cancelled():
                    ahead.exception()  # retrieved: asyncio logs no "exception was never retrieved"

    def _resumed(self, start: Any) -> C:
        """``start`` as this listing's cursor kind, or a ValidationError naming both kinds."""
        kind = self.cursor_kind
        if kind is None or isinstance(start, kind):
            return start  # type: ignore[no-any-return]
        if type(start) is str:  # saved text read back (e.g. from JSON): restore it as our kind
            try:
                return kind(start)  # type: ignore[call-arg]
            except ValidationError as exc:
                raise ValidationError("start", str(exc).removeprefix("cursor: ")) from None
        raise ValidationError(
            "start",
            f"a {_kind_name(type(start))} cannot resume this listing, which pages by "
            f"{_kind_name(kind)}: give a cursor this listing's pages handed out",
        )

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    async def collect(self) -> list[T]:
        """All items (up to ``max_items``) as a list.

        Every page up to ``max_items`` is needed, so a listing that decodes
        its pages itself asks for the next page before decoding this one:
        the service prepares it meanwhile. No page beyond ``max_items`` is asked for.
        """
        items: list[T] = []
        async for page in self._pages(None, read_ahead=self._read_ahead):
            items.extend(page.items)
        return items


def _kind_name(kind: type) -> str:
    what = getattr(kind, "what", None)
    return f"{kind.__name__} ({what})" if isinstance(what, str) else kind.__name__


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value
