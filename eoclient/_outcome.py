"""Creates and actions whose answer was lost: find out what happened before giving up.

The transport re-sends a create (a plain POST) only when it provably did not
reach the service. After a connection lost once the request was sent, a read
timeout, or a 500/502/503/504, the create may or may not have happened: its
*outcome is unknown*, and sending it again could make a second resource (and
spend processing units or credits twice). Service modules therefore wrap
their creates in :func:`create_or_find`, which looks the resource up (through
the normal transport, a bounded number of times) and returns it, or raises
:class:`~eoclient.errors.OutcomeUnknownError` saying how to find it; and
their actions in :func:`act_or_check`, which reads the resource's state to
see whether the action took effect. A 4xx is a definite refusal and is
re-raised unchanged, as is a connection that was never made.

When a later step fails after a create succeeded (``batch.run()`` creating a
request and then failing to analyse it), :func:`note_created` puts the id of
the created resource on the error, so it is never dropped silently.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Final, TypeVar

from eoclient._http.retry import RetryPolicy
from eoclient._log import log_event
from eoclient.errors import (
    APIError,
    EOClientError,
    OutcomeUnknownError,
    ResponseDecodeError,
    TransportError,
)

__all__ = [
    "RESOURCE_ID",
    "UNKNOWN_OUTCOME_STATUSES",
    "Claims",
    "act_or_check",
    "create_or_find",
    "created_id",
    "note_created",
    "outcome_unknown",
]

T = TypeVar("T")

UNKNOWN_OUTCOME_STATUSES: Final = frozenset({500, 502, 503, 504})
"""Statuses after which a create may have happened (a gateway answering for a service that acted)."""

RESOURCE_ID: Final = "resource_id"
"""Attribute :func:`note_created` sets on an error: the id of a resource the failed call had created."""

LOOKUP_TRIES: Final = 2
_LOOKUP_PAUSE: Final = RetryPolicy(initial_backoff=0.25, max_backoff=2.0)
_MAX_CLAIMS: Final = 10_000
_rng = random.Random()  # noqa: S311 - jitter, not cryptography


def outcome_unknown(exc: BaseException) -> bool:
    """Whether ``exc`` leaves open whether the request was acted on.

    True for a lost or timed-out connection once the request could have been
    sent, a 500/502/503/504, and a 2xx whose body could not be read. False for
    a 4xx (a definite refusal) and for a connection that was never made.
    """
    if isinstance(exc, TransportError):
        return exc.sent  # the transport knows whether a connection was ever made

    if isinstance(exc, APIError):
        return exc.status in UNKNOWN_OUTCOME_STATUSES
    return isinstance(exc, ResponseDecodeError)


class Claims:
    """Per client and per kind of resource: ids this client already holds, creates being sent.

    A lookup must not return a resource that another create of the same
    client got (or adopted) — two callers would then drive one request — so
    it leaves claimed ids out, and it waits until no identical create (same
    ``key``, e.g. a digest of the body) is being sent: once they have
    answered, their ids are claimed and what is left is the caller's.
    """

    def __init__(self) -> None:
        self._ids: dict[str, None] = {}  # insertion-ordered set, oldest dropped first
        self._sending: Counter[str] = Counter()
        self._quiet: dict[str, asyncio.Event] = {}

    def claim(self, ident: str) -> None:
        """Record ``ident`` as held by a caller of this client."""
        self._ids[ident] = None
        if len(self._ids) > _MAX_CLAIMS:
            del self._ids[next(iter(self._ids))]

    def claimed(self, ident: str) -> bool:
        return ident in self._ids

    @contextmanager
    def sending(self, key: str) -> Iterator[None]:
        """Count a create of ``key`` as being sent for the duration of the block."""
        if not self._sending[key]:
            self._quiet[key] = asyncio.Event()
        self._sending[key] += 1
        try:
            yield
        finally:
            self._sending[key] -= 1
            if not self._sending[key]:
                del self._sending[key]
                self._quiet.pop(key).set()

    def busy(self, key: str) -> bool:
        """A create of ``key`` is being sent."""
        return self._sending[key] > 0

    async def quiet(self, key: str) -> None:
        """Wait until no create of ``key`` is being sent (each has its own timeouts)."""
        while (event := self._quiet.get(key)) is not None:
            await event.wait()


async def create_or_find(
    send: Callable[[], Awaitable[T]],
    *,
    find: Callable[[], Awaitable[Sequence[T]]] | None,
    identify: Callable[[T], str],
    operation: str,
    resource: str,
    how_to_find: str,
    claims: Claims | None = None,
    key: str = "",
    tries: int = LOOKUP_TRIES,
    retry: RetryPolicy | None = None,
) -> T:
    """``await send()``; if its outcome is unknown, look the resource up with ``find`` and return it.

    ``find`` returns what this create may have made (the caller narrows it:
    same body, newer than what existed before, same path...). The lookup
    first waits until no identical create of this client (same ``key``) is
    being sent, and leaves out the ids such creates got. Exactly one left is
    returned (and claimed). Several (or one while an identical create started
    meanwhile) are ambiguous; none after ``tries`` lookups (paused by
    ``retry``'s backoff: the service may lag behind its create) is not found:
    both raise :class:`OutcomeUnknownError` from the original error, with
    ``how_to_find`` (and the ``candidates``). ``find=None``: the API offers
    no lookup; raise at once.
    """
    book = claims or Claims()
    with book.sending(key):
        try:
            created = await send()
        except EOClientError as exc:
            if not outcome_unknown(exc):
                raise
            lost = exc
        else:
            book.claim(identify(created))
            return created
    log_event(logging.WARNING, "outcome.unknown", operation=operation, error=type(lost).__name__)
    if find is None:
        raise OutcomeUnknownError(
            f"the answer was lost ({lost}); the {resource} may have been created",
            operation=operation,
            resource=resource,
            how_to_find=how_to_find,
        ) from lost
    lookup_error: EOClientError | None = None
    for attempt in range(tries):
        if attempt:
            await asyncio.sleep((retry or _LOOKUP_PAUSE).backoff(attempt - 1, _rng))
        await book.quiet(key)  # identical creates of this client answer first, and claim theirs
        try:
            found = [r for r in await find() if not book.claimed(identify(r))]
        except EOClientError as exc:
            lookup_error = exc
            continue
        if len(found) == 1 and not book.busy(key):
            ident = identify(found[0])
            book.claim(ident)
            log_event(logging.INFO, "outcome.found", operation=operation, resource_id=ident)
            return found[0]
        if found:
            raise OutcomeUnknownError(
                f"the answer was lost ({lost}) and the lookup cannot tell which {resource} is this one",
                operation=operation,
                resource=resource,
                how_to_find=how_to_find,
                candidates=[identify(r) for r in found],
            ) from lost
    why = f"the lookup failed: {lookup_error}" if lookup_error else "the lookup did not find it"
    raise OutcomeUnknownError(
        f"the answer was lost ({lost}) and {why}; the {resource} may still have been created",
        operation=operation,
        resource=resource,
        how_to_find=how_to_find,
    ) from lost


async def act_or_check(
    send: Callable[[], Awaitable[object]],
    *,
    took_effect: Callable[[], Awaitable[bool]],
    operation: str,
    resource: str,
    resource_id: str,
    how_to_find: str,
) -> None:
    """``await send()``; if its outcome is unknown, read the resource's state to see whether it acted.

    ``took_effect()`` reads the state (e.g. the request's ``userAction``).
    True: the action happened, return normally. False: it did not; the
    original error is raised, with a note saying it is safe to send again.
    If the state cannot be read, :class:`OutcomeUnknownError` carries
    ``resource_id``.
    """
    try:
        await send()
        return
    except EOClientError as exc:
        if not outcome_unknown(exc):
            raise
        lost = exc
    try:
        moved = await took_effect()
    except EOClientError as exc:
        raise OutcomeUnknownError(
            f"the answer was lost ({lost}) and reading the {resource}'s state failed ({exc})",
            operation=operation,
            resource=resource,
            how_to_find=how_to_find,
            resource_id=resource_id,
        ) from lost
    if moved:
        log_event(logging.INFO, "outcome.took_effect", operation=operation, resource_id=resource_id)
        return
    lost.add_note(
        f"{resource} {resource_id}: its state shows that {operation} did not happen; it can be sent again"
    )
    raise lost


def note_created(exc: BaseException, *, resource: str, resource_id: str, hint: str) -> None:
    """Mark ``exc`` (raised after a successful create) with the created resource's id.

    Sets ``exc.resource_id`` and adds a note naming the resource and what to
    do with it (``hint``), so that a caller never loses track of something it
    created. Used the same way by every family.
    """
    setattr(exc, RESOURCE_ID, resource_id)
    exc.add_note(f"{resource} {resource_id} was created; {hint}")
    log_event(logging.WARNING, "outcome.created_not_finished", resource=resource, resource_id=resource_id)


def created_id(exc: BaseException) -> str | None:
    """The id :func:`note_created` (or :class:`OutcomeUnknownError`) put on ``exc``, if any."""
    value = getattr(exc, RESOURCE_ID, None)
    return value if isinstance(value, str) else None
