"""The Statistical API: statistics and histograms of an evalscript's outputs over time intervals.

Reached through :meth:`eoclient.SentinelHub.statistics`; models are in
:mod:`eoclient.sentinelhub.statistics_models`.

Intervals the service could not compute come back with an ``error``. Those
of a transient kind (``EXECUTION_ERROR``, ``TIMEOUT``) can be asked for again
with ``retry_failed=N``: each such interval is re-requested on its own (the
same request with that interval's ``timeRange``), concurrently, for up to N
rounds, and the answers are merged back in interval order. An interval still
failing after the last round keeps its error.

With a :class:`~eoclient.sentinelhub.cache.ResponseCache`, the answer is kept
under the key of the request as the caller wrote it (``refresh=True`` asks
again and rewrites it). Only that final answer is cached, merged after
``retry_failed`` rounds; the per-interval retry requests are not: an entry is
one caller's request, and a transient interval failure must not be replayed
from disk by the next retry. A hit that still carries retryable interval
errors is the starting point of the ``retry_failed`` rounds (only the failed
intervals are requested), and the improved answer replaces the entry.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

import anyio
import msgspec

from eoclient._http import media
from eoclient._log import log_event
from eoclient._models import from_wire
from eoclient.errors import (
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    TransportError,
    ValidationError,
)
from eoclient.sentinelhub.cache import ResponseCache, encode_answer, optional_cache_key
from eoclient.sentinelhub.data_collections import Deployment, deployment_path
from eoclient.sentinelhub.prepared import PreparedStatistics, prepare_statistics
from eoclient.sentinelhub.process import ChargedAPI
from eoclient.sentinelhub.statistics_models import (
    Interval,
    StatisticsInterval,
    StatisticsRequest,
    StatisticsResponse,
)
from eoclient.timeutils import serialize_time

__all__ = ["RETRYABLE_INTERVAL_ERRORS", "STATISTICS_PATH", "StatisticsAPI"]

STATISTICS_PATH: Final = "/api/v1/statistics"
RETRYABLE_INTERVAL_ERRORS: Final = frozenset({"EXECUTION_ERROR", "TIMEOUT"})
"""Interval error types worth asking for again (``BAD_REQUEST`` would fail the same way)."""

_RETRY_CONCURRENCY: Final = 4  # interval retries in flight at once, per call
# A retry that still fails this way after the transport's own retries leaves the interval's
# error in place instead of discarding the answers already in hand.
_TRANSIENT: Final = (ServerError, RateLimitError, TransportError)


class StatisticsAPI(ChargedAPI):
    """Statistical API calls of one client (use :meth:`eoclient.SentinelHub.statistics`)."""

    async def statistics(
        self,
        request: StatisticsRequest | Mapping[str, Any],
        *,
        retry_failed: int,
        refresh: bool,
        deployment: Deployment | None = None,
    ) -> StatisticsResponse:
        """Compute the statistics of ``request``; failed intervals are in ``.errors``.

        ``retry_failed`` rounds re-request the intervals that failed with a
        transient error (see the module docstring); 0 sends one request only.
        """
        if isinstance(retry_failed, bool) or not isinstance(retry_failed, int) or retry_failed < 0:
            raise ValidationError("retry_failed", f"must be a whole number >= 0, got {retry_failed!r}")
        prepared = prepare_statistics(request)
        target = deployment_path(deployment, STATISTICS_PATH)
        url = self._context.transport.url(target)
        key = optional_cache_key(self.cache, url=url, accept=prepared.accept, body=prepared.body)
        cached = None if self.cache is None or refresh else await _cached_answer(self.cache, key)
        answer = cached[0] if cached is not None else await self._send(prepared, target)
        data = list(answer.data)
        units: list[float | None] = [answer.processing_units]
        for round_ in range(1, retry_failed + 1):
            failed = [i for i, item in enumerate(data) if _retryable(item)]
            if not failed:
                break
            log_event(logging.INFO, "statistics.retry", round=round_, intervals=len(failed))
            retried = await self._retry(prepared, [data[i].interval for i in failed], target)
            by_index = dict(zip(failed, retried, strict=True))
            merged: list[StatisticsInterval] = []
            for i, item in enumerate(data):
                sub = by_index.get(i)
                if sub is None:
                    merged.append(item)  # not retried, or the retry itself failed: keep what we had
                else:
                    merged.extend(sub.data)  # the interval's new answer (none: no data after all)
                    units.append(sub.processing_units)
            data = merged
        final = answer
        if len(units) > 1:
            final = msgspec.structs.replace(
                answer, data=data, status=_status(data, answer.status), processing_units=_total(units)
            )
        if self.cache is not None and (cached is None or len(units) > 1):
            # Stored with what producing it cost in all (a hit's own cost and the new retries).
            spent = final.processing_units if cached is None else _total([cached[1], *units[1:]])
            content = encode_answer(final)
            await self.cache.put(
                key,
                url=url,
                accept=prepared.accept,
                request=prepared.body,
                content=content,
                content_type=prepared.accept,
                processing_units=spent,
                headers={},
            )
        return final

    async def _send(self, prepared: PreparedStatistics, target: str) -> StatisticsResponse:
        resp, spent = await self._post(target, prepared, operation="statistics.request")
        # Decoded loosely: the service writes "NaN" (a string) for statistics without data.
        answer = from_wire(resp.json(), StatisticsResponse, operation="statistics.request", path=resp.path)
        return msgspec.structs.replace(answer, processing_units=spent)

    async def _retry(
        self, prepared: PreparedStatistics, intervals: Sequence[Interval], target: str
    ) -> list[StatisticsResponse | None]:
        """One request per interval, a few at a time; ``None`` where the request failed transiently."""
        results: list[StatisticsResponse | None] = [None] * len(intervals)
        fatal: list[Exception] = []
        limiter = anyio.CapacityLimiter(_RETRY_CONCURRENCY)

        async def one(index: int, interval: Interval, scope: anyio.CancelScope) -> None:
            async with limiter:
                try:
                    results[index] = await self._send(prepared.for_interval(interval), target)
                except _TRANSIENT as exc:
                    log_event(
                        logging.WARNING,
                        "statistics.retry_failed",
                        interval=serialize_time(interval.from_),
                        error=str(exc),
                    )
                except Exception as exc:  # anything else ends the call, raised as itself (no group)
                    fatal.append(exc)
                    scope.cancel()

        async with anyio.create_task_group() as tg:
            for index, interval in enumerate(intervals):
                tg.start_soon(one, index, interval, tg.cancel_scope)
        if fatal:
            raise fatal[0]
        return results


async def _cached_answer(cache: ResponseCache, key: str) -> tuple[StatisticsResponse, float | None] | None:
    """``(answer, what it cost when computed)`` from the cache (this call spends nothing), or ``None``."""
    hit = await cache.get(key, expect=media.JSON)
    if hit is None:
        return None
    try:
        answer = from_wire(msgspec.json.decode(hit.content), StatisticsResponse, operation="statistics.cache")
    except (msgspec.DecodeError, ResponseDecodeError):
        log_event(logging.WARNING, "cache.unusable_entry", key=key)
        return None
    return msgspec.structs.replace(answer, processing_units=0.0), hit.meta.processing_units


def _retryable(item: StatisticsInterval) -> bool:
    return item.error is not None and (item.error.type or "") in RETRYABLE_INTERVAL_ERRORS


def _status(data: Sequence[StatisticsInterval], original: str | None) -> str | None:
    if not data:
        return original
    failed = sum(item.error is not None for item in data)
    if failed == 0:
        return "OK"
    return "FAILED" if failed == len(data) else "PARTIAL"


def _total(units: Sequence[float | None]) -> float | None:
    known = [u for u in units if u is not None]
    return sum(known) if known else None
