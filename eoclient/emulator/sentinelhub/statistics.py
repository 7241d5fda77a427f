"""Emulated Sentinel Hub Statistical API: ``POST /api/v1/statistics``.

The body is checked like the real service checks it (``input`` as for the
Process API, ``aggregation`` with ``timeRange``, ``aggregationInterval.of`` as
an ISO-8601 duration, ``lastIntervalBehavior``, ``evalscript``, width/height or
resx/resy; ``calculations`` percentiles and histograms); a bad one gets a 400
in Sentinel Hub's error shape.

The time range is split by the aggregation interval (``SKIP``, ``SHORTEN`` or
``EXTEND`` for a last partial interval). Each interval gets deterministic
synthetic statistics for every evalscript output except ``dataMask`` and every
band (``B0``, ``B1``...): min, max, mean, stDev, sampleCount (the sample
matrix size), noDataCount, the requested percentiles (keyed as the request
wrote them, ``"0.5"`` or ``"50.0"``) and the requested histograms (``nBins``,
``binWidth`` or explicit ``bins``; edges default to min and max) with
``overflowCount``/``underflowCount``.

About one interval in five fails, for a reason fixed by the emulator seed,
the interval's start and the attempt: it carries ``error`` (type
``EXECUTION_ERROR``) instead of ``outputs``, and ``status`` becomes ``PARTIAL``
(``FAILED`` when every interval failed). The emulator counts the failures of
each interval start (in its store): the first request of an interval decides
as the seed says, and each later request of an interval that failed before
decides afresh for its attempt number (see :func:`interval_fails`), so a
retry can succeed; an interval that succeeded keeps succeeding.
``x-processingunits-spent`` is the Process API formula times the number of
intervals.
"""

from __future__ import annotations

import asyncio
import bisect
import calendar
import hashlib
import itertools
import json
import math
import random
import re
import threading
from datetime import datetime, timedelta
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.refusal import Refusal, invalid, json_body
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.sentinelhub.common import derived_seed
from eoclient.emulator.sentinelhub.process.evalscript import (
    ScriptOutput,
    check_script,
    input_bands,
    script_outputs,
)
from eoclient.emulator.sentinelhub.process.units import PU_HEADER, processing_units
from eoclient.emulator.sentinelhub.process.validation import (
    parse_input,
    parse_size,
    parse_time,
)

__all__ = ["PATH", "interval_fails", "setup"]

PATH: Final = "/api/v1/statistics"
MAX_INTERVALS: Final = 5000
_SEED_KEY: Final = "sh_statistics.seed"
_ATTEMPTS_KEY: Final = "sh_statistics.attempts"
_SAMPLES: Final = 1000  # values drawn per band and interval; counts are scaled to the matrix
_DURATION_RE: Final = re.compile(
    r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)
_BEHAVIORS: Final = frozenset({"SKIP", "SHORTEN", "EXTEND"})
_ERROR_SHARE: Final = 51  # of 256: about one interval in five has no data


def interval_fails(base_seed: int, start: datetime, attempt: int = 0) -> bool:
    """Whether the interval starting at ``start`` fails on its ``attempt``-th request (0 first)."""
    key = f"{base_seed}:{_iso(start)}" + (f":{attempt}" if attempt else "")
    return hashlib.sha256(key.encode()).digest()[0] < _ERROR_SHARE


class _Attempts:
    """How often each interval start has failed so far (requests are computed in threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}

    def fails(self, base_seed: int, start: datetime) -> bool:
        """Decide this request's outcome for ``start`` and count it if it fails."""
        key = _iso(start)
        with self._lock:
            attempt = self._failures.get(key, 0)
            failed = interval_fails(base_seed, start, attempt)
            if failed:
                self._failures[key] = attempt + 1
            return failed


def parse_interval_duration(text: Any) -> tuple[int, timedelta]:
    """``aggregationInterval.of`` as months and a fixed span."""
    where = "aggregation->aggregationInterval->of"
    match = _DURATION_RE.match(text) if isinstance(text, str) else None
    if match is None:
        raise invalid(where, text, "must be an ISO-8601 duration, e.g. P1D")
    years, months, weeks, days, hours, minutes = (int(g) if g else 0 for g in match.groups()[:6])
    span = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=float(match.group(7) or 0))
    total_months = years * 12 + months
    if total_months == 0 and span <= timedelta(0):
        raise invalid(where, text, "must be longer than zero")
    return total_months, span


def _add(moment: datetime, months: int, span: timedelta) -> datetime:
    if months:
        total = moment.month - 1 + months
        year, month = moment.year + total // 12, total % 12 + 1
        moment = moment.replace(
            year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1])
        )
    return moment + span


def split_intervals(
    start: datetime, end: datetime, months: int, span: timedelta, behavior: str
) -> list[tuple[datetime, datetime]]:
    """The intervals of ``[start, end)``, the last one handled by ``behavior``."""
    out: list[tuple[datetime, datetime]] = []
    cursor = start
    while cursor < end:
        if len(out) >= MAX_INTERVALS:
            raise invalid(
                "aggregation->aggregationInterval", None, f"more than {MAX_INTERVALS} intervals requested"
            )
        nxt = _add(cursor, months, span)
        if nxt > end:
            if behavior == "SHORTEN":
                out.append((cursor, end))
            elif behavior == "EXTEND":
                out.append((cursor, nxt))
            break
        out.append((cursor, nxt))
        cursor = nxt
    return out


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def parse_window(agg: dict[str, Any]) -> tuple[datetime, datetime, int, timedelta, str]:
    """``aggregation.timeRange`` and ``aggregationInterval``: start, end, the interval (months and
    a fixed span) and the last-interval behaviour, checked as the service checks them."""
    time_range = agg.get("timeRange")
    if not isinstance(time_range, dict):
        raise invalid("aggregation->timeRange", time_range, "must not be null")
    start = parse_time(time_range.get("from"), "aggregation->timeRange->from")
    end = parse_time(time_range.get("to"), "aggregation->timeRange->to")
    if start >= end:
        raise invalid("aggregation->timeRange", time_range, "'from' must be before 'to'")
    interval = agg.get("aggregationInterval")
    if not isinstance(interval, dict):
        raise invalid("aggregation->aggregationInterval", interval, "must not be null")
    months, span = parse_interval_duration(interval.get("of"))
    behavior = interval.get("lastIntervalBehavior", "SKIP")
    if behavior not in _BEHAVIORS:
        raise invalid(
            "aggregation->aggregationInterval->lastIntervalBehavior",
            behavior,
            f"must be one of {sorted(_BEHAVIORS)}",
        )
    return start, end, months, span, behavior


def check_calculations(calculations: Any, outputs: dict[str, ScriptOutput]) -> dict[str, Any]:
    """Check ``calculations`` against the evalscript's outputs; returns it (``{}`` if absent)."""
    if calculations is None:
        return {}
    if not isinstance(calculations, dict):
        raise invalid("calculations", calculations, "must be an object")
    for name, calc in calculations.items():
        where = f"calculations->{name}"
        if name != "default" and name not in outputs:
            raise invalid(where, name, f"output {name!r} is not defined in the evalscript")
        if not isinstance(calc, dict):
            raise invalid(where, calc, "must be an object")
        for band, stat in (calc.get("statistics") or {}).items():
            ks = ((stat or {}).get("percentiles") or {}).get("k")
            if ks is None:
                continue
            if (
                not isinstance(ks, list)
                or not ks
                or not all(isinstance(k, int | float) and 0 <= k <= 100 for k in ks)
            ):
                raise invalid(
                    f"{where}->statistics->{band}->percentiles->k", ks, "must be numbers in [0, 1]"
                )  # percents up to 100 pass too
        for band, hist in (calc.get("histograms") or {}).items():
            _check_histogram(hist, f"{where}->histograms->{band}")
    return calculations


def _check_histogram(hist: Any, where: str) -> None:
    if not isinstance(hist, dict):
        raise invalid(where, hist, "must be an object")
    n_bins, width, bins = hist.get("nBins"), hist.get("binWidth"), hist.get("bins")
    if sum(v is not None for v in (n_bins, width, bins)) > 1:
        raise invalid(where, hist, "only one of nBins, binWidth and bins may be set")
    if n_bins is not None and (not isinstance(n_bins, int | float) or n_bins < 1):
        raise invalid(f"{where}->nBins", n_bins, "must be at least 1")
    if width is not None and (not isinstance(width, int | float) or width <= 0):
        raise invalid(f"{where}->binWidth", width, "must be positive")
    if bins is not None and (
        not isinstance(bins, list) or len(bins) < 2 or any(b <= a for a, b in itertools.pairwise(bins))
    ):
        raise invalid(f"{where}->bins", bins, "must be at least two increasing edges")


def _definition(calculations: dict[str, Any], output: str, kind: str, band: str) -> Any:
    """The statistics/histogram definition for a band: exact output and band first, then "default"."""
    for out_key in (output, "default"):
        per_band = (calculations.get(out_key) or {}).get(kind) or {}
        for band_key in (band, "default"):
            if band_key in per_band:
                return per_band[band_key]
    return None


def _apportion(counts: list[int], total: int) -> list[int]:
    """Scale ``counts`` to sum to ``total`` (largest remainder, deterministic)."""
    base = sum(counts)
    if base == 0:
        return counts
    exact = [c * total / base for c in counts]
    floors = [math.floor(x) for x in exact]
    left = total - sum(floors)
    order = sorted(range(len(counts)), key=lambda i: (floors[i] - exact[i], i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def _edges(values: list[float], definition: dict[str, Any]) -> list[float]:
    if definition.get("bins") is not None:
        return [float(b) for b in definition["bins"]]
    low = float(definition.get("lowEdge", values[0]))
    high = float(definition.get("highEdge", values[-1]))
    if definition.get("binWidth") is not None:
        step = float(definition["binWidth"])
        n = max(1, math.ceil((high - low) / step))
        return [low + i * step for i in range(n + 1)]
    n = max(1, int(definition.get("nBins", 10)))
    step = (high - low) / n if high > low else 1.0
    return [low + i * step for i in range(n)] + [high if high > low else low + step]


def _histogram(values: list[float], definition: dict[str, Any], valid: int) -> dict[str, Any]:
    edges = _edges(values, definition)
    counts = [0] * (len(edges) - 1)
    under = over = 0
    for v in values:
        if v < edges[0]:
            under += 1
        elif v > edges[-1]:
            over += 1
        else:
            # Bins are [low, high) except the last, which includes its high edge.
            counts[min(bisect.bisect_right(edges, v) - 1, len(counts) - 1)] += 1
    scaled = _apportion([*counts, under, over], valid)
    return {
        "bins": [
            {"lowEdge": edges[i], "highEdge": edges[i + 1], "count": scaled[i]} for i in range(len(counts))
        ],
        "overflowCount": scaled[-1],
        "underflowCount": scaled[-2],
    }


def _percentile(values: list[float], k: float) -> float:
    """Linear interpolation between closest ranks; ``k`` as a fraction (or a percent when above 1)."""
    q = k / 100 if k > 1 else k
    pos = q * (len(values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def _band_stats(rng: random.Random, pixels: int, stat_def: Any, hist_def: Any) -> dict[str, Any]:
    no_data = int(pixels * rng.uniform(0.0, 0.3))
    valid = pixels - no_data
    center, spread = rng.uniform(0.1, 0.6), rng.uniform(0.02, 0.2)
    values = sorted(rng.gauss(center, spread) for _ in range(min(max(valid, 1), _SAMPLES)))
    mean = sum(values) / len(values)
    stats: dict[str, Any] = {
        "min": values[0],
        "max": values[-1],
        "mean": mean,
        "stDev": math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)),
        "sampleCount": pixels,
        "noDataCount": no_data,
    }
    ks = ((stat_def or {}).get("percentiles") or {}).get("k")
    if ks:
        stats["percentiles"] = {str(float(k)): _percentile(values, float(k)) for k in ks}
    band: dict[str, Any] = {"stats": stats}
    if hist_def is not None:
        band["histogram"] = _histogram(values, hist_def, valid)
    return band


def compute(body: Any, base_seed: int, attempts: _Attempts | None = None) -> tuple[dict[str, Any], float]:
    """Check the request like the service and compute the answer and its PU; a bad one raises a ``Refusal``.

    Without ``attempts`` every interval is on its first attempt.
    """
    if not isinstance(body, dict):
        raise Refusal(400, None, "The request body must be a JSON object")
    extent, data = parse_input(body)
    agg = body.get("aggregation")
    if not isinstance(agg, dict):
        raise invalid("aggregation", agg, "must not be null")
    evalscript = agg.get("evalscript")
    if not isinstance(evalscript, str) or not evalscript.strip():
        raise invalid("aggregation->evalscript", evalscript, "must not be blank")
    start, end, months, span, behavior = parse_window(agg)
    width, height = parse_size(agg, extent, "aggregation")
    check_script(evalscript)
    outputs = {o.id: o for o in script_outputs(evalscript) if o.id != "dataMask"}
    calculations = check_calculations(body.get("calculations"), outputs)
    intervals = split_intervals(start, end, months, span, behavior)

    request_key = json.dumps({"input": body["input"], "aggregation": agg}, sort_keys=True)
    entries: list[dict[str, Any]] = []
    for t0, t1 in intervals:
        digest = hashlib.sha256(f"{base_seed}:{_iso(t0)}".encode()).digest()
        span_json = {"from": _iso(t0), "to": _iso(t1)}
        if attempts.fails(base_seed, t0) if attempts is not None else interval_fails(base_seed, t0):
            entries.append(
                {
                    "interval": span_json,
                    "error": {
                        "type": "EXECUTION_ERROR",
                        "message": "Failed to process the interval: no acquisition with valid data",
                    },
                }
            )
            continue
        rng = random.Random(hashlib.sha256(digest + request_key.encode()).digest())
        result: dict[str, Any] = {}
        for name, out in outputs.items():
            bands = {}
            for b in range(out.bands):
                band = f"B{b}"
                bands[band] = _band_stats(
                    rng,
                    width * height,
                    _definition(calculations, name, "statistics", band),
                    _definition(calculations, name, "histograms", band),
                )
            result[name] = {"bands": bands}
        entries.append({"interval": span_json, "outputs": result})
    failed = sum("error" in e for e in entries)
    status = "OK" if failed == 0 else ("FAILED" if failed == len(entries) else "PARTIAL")
    per_interval = processing_units(
        width, height, input_bands(evalscript), float32=False, collections=len(data), samples=1
    )
    return {"data": entries, "status": status}, per_interval * max(len(intervals), 1)


async def _statistics(request: web.Request) -> web.StreamResponse:
    state = get_state(request)
    body = await json_body(request, media_type=True)
    seed = state.store(_SEED_KEY, lambda: derived_seed(state, _SEED_KEY))
    attempts = state.store(_ATTEMPTS_KEY, _Attempts)
    # Off the loop: a long time range is real work, and tests share the loop with the emulator.
    answer, units = await asyncio.to_thread(compute, body, seed, attempts)
    return web.json_response(answer, headers={PU_HEADER: repr(units)})


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add ``POST /api/v1/statistics`` to the Sentinel Hub app."""
    state.store(_SEED_KEY, lambda: derived_seed(state, _SEED_KEY))
    state.store(_ATTEMPTS_KEY, _Attempts)
    add_route(app, "POST", PATH, _statistics)
