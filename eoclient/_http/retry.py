"""Retry policy for transient failures of one HTTP call, and ``Retry-After`` parsing."""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from eoclient._checks import check_int, check_seconds
from eoclient.errors import ValidationError

__all__ = ["DEFAULT_RETRY_STATUSES", "RetryPolicy", "parse_retry_after"]

DEFAULT_RETRY_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How one request is retried on transient failures.

    ``attempts`` counts every try, the first included (``attempts=1`` never
    retries). Between tries the client sleeps a full-jitter exponential
    backoff, ``uniform(0, min(max_backoff, initial_backoff * multiplier**n))``,
    unless the service said how long to wait with ``Retry-After``: then that
    wins, up to ``max_retry_after``; a longer demand ends the retries with a
    :class:`~eoclient.errors.RateLimitError` carrying the hint instead of
    silently parking the caller.

    Idempotent requests are retried on connection errors and on
    ``retry_statuses``. A request that may create something (a plain POST) is
    retried only when the service provably did not act on it: the connection
    was never established, or the service answered 429.

    Every field is checked when the policy is made: a wrong type or value
    (``attempts="3"``, ``max_backoff=-1``) is a
    :class:`~eoclient.errors.ValidationError` naming it (``RetryPolicy.attempts``).

    Example::

        RetryPolicy(attempts=8, initial_backoff=0.2, max_backoff=10)
    """

    attempts: int = 5
    initial_backoff: float = 0.5
    multiplier: float = 2.0
    max_backoff: float = 30.0
    max_retry_after: float = 300.0
    retry_statuses: frozenset[int] = field(default=DEFAULT_RETRY_STATUSES)

    def __post_init__(self) -> None:
        check_int("RetryPolicy.attempts", self.attempts, minimum=1)
        for name in ("initial_backoff", "max_backoff", "max_retry_after"):
            check_seconds(f"RetryPolicy.{name}", getattr(self, name))
        check_seconds("RetryPolicy.multiplier", self.multiplier, minimum=1.0)
        statuses = self.retry_statuses
        if isinstance(statuses, str | bytes) or not isinstance(statuses, Iterable):
            raise ValidationError(
                "RetryPolicy.retry_statuses", f"expected a set of HTTP statuses, got {statuses!r}"
            )
        statuses = frozenset(statuses)
        for status in statuses:
            if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
                raise ValidationError("RetryPolicy.retry_statuses", f"{status!r} is not an HTTP status")
        object.__setattr__(self, "retry_statuses", statuses)  # a list or set given: frozen like the rest

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that tries once."""
        return cls(attempts=1)

    def backoff(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Full-jitter delay before retry ``retry_number`` (0 for the first retry)."""
        ceiling = min(self.max_backoff, self.initial_backoff * self.multiplier**retry_number)
        return (rng or random).uniform(0.0, ceiling)


def parse_retry_after(value: str | None, *, unit: float = 1.0, now: float | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header, or ``None``.

    A number is multiplied by ``unit`` (1.0 for the standard seconds, 0.001 for
    Sentinel Hub, which sends milliseconds); an HTTP-date is measured from
    ``now`` (default: the current time). Garbage yields ``None`` so the caller
    falls back to its backoff.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if math.isnan(number) or number < 0:
            return None
        return number * unit
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
