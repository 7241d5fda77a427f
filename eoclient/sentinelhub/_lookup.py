"""Finding a Sentinel Hub request whose create answer was lost (see :mod:`eoclient._outcome`).

Batch v2 and Batch Statistical listings take no search, and nothing the user
sends is unique (a description is optional and free text). A request made by
a create whose answer was lost is recognised in the listing, newest first,
as one that

1. is newer than the newest request listed just before the create was sent
   (the :class:`Fence`: one ``GET ...?sort=created:desc&count=1`` per
   create), so an identical request made earlier is never taken for it; and
2. holds every field that was sent (:func:`holds`; storage keys aside, which
   the service never shows back).

Only a single such request is returned; the rest (several, or a create of
the same body in flight in this client) is left to the caller to sort out
with the ids the error lists.

Collections (BYOC, legacy batch) are found by name with the listing's
``search`` (:func:`named`); the ids that already had the name before the
create are the fence.

:func:`fenced_finder` and :func:`named_finder` are taken before a create is
sent and return the ``find`` that :func:`eoclient._outcome.create_or_find`
calls if its answer is lost.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeVar

import msgspec

from eoclient._http.transport import Transport
from eoclient._log import log_event
from eoclient._models import from_wire
from eoclient.errors import EOClientError
from eoclient.sentinelhub._paging import view_paginator

__all__ = [
    "SECRET_KEYS",
    "Fence",
    "body_key",
    "fenced_finder",
    "holds",
    "named",
    "named_finder",
    "newer_than",
    "take_fence",
]

T = TypeVar("T")

SECRET_KEYS: Final = frozenset({"accessKey", "secretAccessKey", "credentials"})
"""Fields a request is shown back without (storage credentials)."""

MAX_SCANNED: Final = 1000
"""Requests newer than the fence looked at, at most (a busy account creating many at once)."""


@dataclass(frozen=True, slots=True)
class Fence:
    """The newest request of a listing just before a create; ``None``: the listing was empty."""

    newest_id: str | None = None
    newest_created: datetime | None = None


def _created(item: Any) -> datetime | None:
    text = item.get("created") if isinstance(item, dict) else None
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _older(created: datetime | None, than: datetime | None) -> bool:
    if created is None or than is None:
        return False
    try:
        return created < than
    except TypeError:  # one with a time zone, one without: do not guess
        return False


async def take_fence(transport: Transport, path: str, *, operation: str) -> Fence | None:
    """The newest request listed at ``path`` (sorted by ``created:desc``).

    ``None`` when the listing cannot be read (an account that may create but
    not list): the create still goes, and a lost answer is then reported with
    how to find it instead of looked up.
    """
    try:
        body = await transport.request_json(
            "GET",
            path,
            operation=operation,
            params={"sort": "created:desc", "count": 1},
            type=dict[str, Any],
        )
    except EOClientError as exc:
        log_event(logging.WARNING, "outcome.no_fence", operation=operation, error=str(exc))
        return None
    data = body.get("data")
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        return Fence()
    newest = data[0]
    ident = newest.get("id")
    return Fence(ident if isinstance(ident, str) else None, _created(newest))


async def newer_than(
    transport: Transport, path: str, fence: Fence, *, operation: str
) -> list[dict[str, Any]]:
    """The requests listed at ``path`` that are newer than ``fence``, newest first."""
    items: list[dict[str, Any]] = []
    listing = view_paginator(
        transport,
        path,
        dict,
        operation=operation,
        params={"sort": "created:desc", "count": 100},
        max_items=MAX_SCANNED,
    )
    async for item in listing:
        if fence.newest_id is not None and item.get("id") == fence.newest_id:
            break
        if _older(_created(item), fence.newest_created):
            break
        items.append(item)
    return items


def holds(stored: Any, sent: Any) -> bool:
    """Whether ``stored`` (as the service shows a request) holds every field of ``sent``.

    Fields the service adds are ignored; storage keys it leaves out, and
    ``None`` values, need not be there.
    """
    if isinstance(sent, dict):
        if not isinstance(stored, dict):
            return False
        for key, value in sent.items():
            if key not in stored:
                if key in SECRET_KEYS or value is None:
                    continue
                return False
            if not holds(stored[key], value):
                return False
        return True
    if isinstance(sent, list):
        return (
            isinstance(stored, list)
            and len(stored) == len(sent)
            and all(holds(a, b) for a, b in zip(stored, sent, strict=True))
        )
    if isinstance(sent, bool) or isinstance(stored, bool):
        return stored is sent
    return bool(stored == sent)


def body_key(wire: Any) -> str:
    """A digest of a request body: creates of the same body share it."""
    return hashlib.sha256(msgspec.json.encode(wire, order="sorted")).hexdigest()


def _search_word(name: str) -> str | None:
    """The longest word of ``name``: ``search`` takes words, with ``|`` and ``&`` as operators."""
    words = [w for w in re.split(r"[\s|&]+", name) if w]
    return max(words, key=len) if words else None


async def named(
    transport: Transport,
    path: str,
    name: str,
    *,
    operation: str,
    match: Callable[[dict[str, Any]], bool],
) -> list[dict[str, Any]]:
    """The items listed at ``path`` found by searching for ``name`` that ``match`` accepts."""
    listing = view_paginator(
        transport,
        path,
        dict,
        operation=operation,
        params={"search": _search_word(name), "count": 100},
        max_items=MAX_SCANNED,
    )
    return [item async for item in listing if match(item)]


async def fenced_finder(
    transport: Transport, path: str, wire: Any, decode: type[T], *, operation: str, body_field: str | None
) -> Callable[[], Awaitable[list[T]]] | None:
    """Take the fence at ``path`` now, before the create of ``wire``; return the ``find`` behind it.

    ``find`` lists the requests newer than the fence that hold every field
    of ``wire`` (in their ``body_field``; ``None``: at the top), decoded as
    ``decode``. ``None`` when the listing cannot be read (see :func:`take_fence`).
    """
    fence = await take_fence(transport, path, operation=operation)
    if fence is None:
        return None

    async def find() -> list[T]:
        items = await newer_than(transport, path, fence, operation=operation)
        return [
            from_wire(item, decode, operation=operation, path=path)
            for item in items
            if holds(item.get(body_field) if body_field else item, wire)
        ]

    return find


async def named_finder(
    transport: Transport, path: str, name: str, bucket: str, decode: type[T], *, operation: str
) -> Callable[[], Awaitable[T]]:
    """Read the ids of the collections named ``name`` on ``bucket`` now, before the create.

    The ``find`` returned lists those with that name and bucket that were not
    among them, decoded as ``decode`` (a list type).
    """

    def same(item: dict[str, Any]) -> bool:
        return bool(item.get("name") == name and item.get("s3Bucket") == bucket)

    async def lookup() -> list[dict[str, Any]]:
        return await named(transport, path, name, operation=operation, match=same)

    before = {item.get("id") for item in await lookup()}

    async def find() -> T:
        found = [item for item in await lookup() if item.get("id") not in before]
        return from_wire(found, decode, operation=operation, path=path)

    return find
