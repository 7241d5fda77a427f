"""Request and response models of the Statistical API (``POST /api/v1/statistics``), and their checks.

The request reuses the Process API's ``input``
(:class:`~eoclient.sentinelhub.process_models.ProcessInput`); ``aggregation``
says over which time intervals and at which resolution the evalscript runs,
``calculations`` which percentiles and histograms to compute per output and
band. A plain dict written as in the documentation is accepted too.

The response lists one entry per interval. An interval the service could not
compute carries an ``error`` instead of ``outputs``; such intervals are kept
(:attr:`StatisticsResponse.errors`), never dropped, and
:meth:`StatisticsResponse.raise_for_errors` turns them into an exception.

Example::

    request = StatisticsRequest(
        input=ProcessInput(bounds=Bounds.from_bbox([13.8, 45.8, 14.5, 46.2]),
                           data=[InputData(type="sentinel-2-l2a")]),
        aggregation=StatisticsAggregation(
            time_range=TimeRange.of("2024-06-01T00:00:00Z", "2024-07-01T00:00:00Z"),
            aggregation_interval=AggregationInterval(of="P1D"),
            evalscript=EVALSCRIPT, resx=0.001, resy=0.001),
        calculations={"default": CalculationDefinition(
            statistics={"default": StatisticsDefinition(percentiles=Percentiles(k=[0.1, 0.5, 0.9]))})},
    )
"""

from __future__ import annotations

import calendar
import math
import re
from datetime import datetime, timedelta
from typing import Any, Final

import msgspec

from eoclient._models import Model
from eoclient.errors import EOClientError, ValidationError
from eoclient.sentinelhub.process_models import (
    ProcessInput,
    TimeRange,
    check_evalscript,
    check_input,
    check_size,
    check_time_range,
)
from eoclient.tables import answer_frame

__all__ = [
    "LAST_INTERVAL_BEHAVIORS",
    "AggregationInterval",
    "BandStatistics",
    "CalculationDefinition",
    "Duration",
    "Histogram",
    "HistogramBin",
    "HistogramDefinition",
    "Interval",
    "IntervalError",
    "OutputStatistics",
    "Percentiles",
    "Stats",
    "StatisticsAggregation",
    "StatisticsDefinition",
    "StatisticsInterval",
    "StatisticsIntervalError",
    "StatisticsRequest",
    "StatisticsResponse",
    "parse_duration",
    "split_time_range",
    "validate_statistics_request",
]

LAST_INTERVAL_BEHAVIORS: Final = frozenset({"SKIP", "SHORTEN", "EXTEND"})
_DURATION_RE: Final = re.compile(
    r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)
_MAX_COUNTED_INTERVALS: Final = 100_000


# -- durations -------------------------------------------------------------------


class Duration(msgspec.Struct, frozen=True):
    """An ISO-8601 duration split into calendar months and a fixed time span."""

    months: int
    span: timedelta

    def add_to(self, moment: datetime) -> datetime:
        """``moment`` plus this duration (month ends clamp: Jan 31 + P1M is Feb 28/29)."""
        if self.months:
            total = moment.month - 1 + self.months
            year, month = moment.year + total // 12, total % 12 + 1
            day = min(moment.day, calendar.monthrange(year, month)[1])
            moment = moment.replace(year=year, month=month, day=day)
        return moment + self.span


def parse_duration(text: str, *, field: str = "aggregationInterval.of") -> Duration:
    """Parse ``P1D``, ``P2W``, ``P1M``, ``P1Y``, ``PT12H``... (the duration must not be zero)."""
    match = _DURATION_RE.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValidationError(field, f"not an ISO-8601 duration such as P1D, P1W or P1M: {text!r}")
    years, months, weeks, days, hours, minutes = (int(g) if g else 0 for g in match.groups()[:6])
    seconds = float(match.group(7) or 0)
    span = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    duration = Duration(months=years * 12 + months, span=span)
    if duration.months == 0 and span <= timedelta(0):
        raise ValidationError(field, f"must be longer than zero: {text!r}")
    return duration


def split_time_range(
    start: datetime, end: datetime, duration: Duration, behavior: str = "SKIP", *, limit: int | None = None
) -> list[tuple[datetime, datetime]]:
    """The intervals ``[from, to)`` the service computes, honouring ``lastIntervalBehavior``."""
    out: list[tuple[datetime, datetime]] = []
    cursor = start
    while cursor < end and (limit is None or len(out) < limit):
        nxt = duration.add_to(cursor)
        if nxt > end:
            if behavior == "SHORTEN":
                out.append((cursor, end))
            elif behavior == "EXTEND":
                out.append((cursor, nxt))
            break
        out.append((cursor, nxt))
        cursor = nxt
    return out


# -- request ---------------------------------------------------------------------


class AggregationInterval(Model):
    """``{"of": "P1D"}``; ``last_interval_behavior`` is ``SKIP`` (default), ``SHORTEN`` or ``EXTEND``."""

    of: str
    last_interval_behavior: str | None = None


class StatisticsAggregation(Model):
    """``aggregation``: time range, interval length, evalscript and sample-matrix size."""

    time_range: TimeRange | None = None
    aggregation_interval: AggregationInterval | None = None
    evalscript: str | None = None
    width: int | None = None
    height: int | None = None
    resx: float | None = None
    resy: float | None = None


class Percentiles(Model):
    """``{"k": [0.1, 0.5, 0.9]}``: percentiles as fractions in [0, 1] (the service also takes percents)."""

    k: list[float]
    interpolation: str | None = None


class StatisticsDefinition(Model):
    """Extra statistics of one band (or of every band, under the key ``"default"``)."""

    percentiles: Percentiles | None = None


class HistogramDefinition(Model):
    """A band's histogram: ``n_bins`` or ``bin_width`` between the edges, or explicit ``bins``."""

    bin_width: float | None = None
    n_bins: int | None = None
    bins: list[float] | None = None
    low_edge: float | None = None
    high_edge: float | None = None


class CalculationDefinition(Model):
    """What to compute for one output (or every output, under the key ``"default"``), per band."""

    statistics: dict[str, StatisticsDefinition] | None = None
    histograms: dict[str, HistogramDefinition] | None = None


class StatisticsRequest(Model):
    """A whole Statistical API request."""

    input: ProcessInput | None = None
    aggregation: StatisticsAggregation | None = None
    calculations: dict[str, CalculationDefinition] | None = None


def check_calculations(calculations: dict[str, CalculationDefinition] | None) -> None:
    for output, calc in (calculations or {}).items():
        base = f"calculations.{output}"
        for band, stat in (calc.statistics or {}).items():
            if stat.percentiles is None:
                continue
            where = f"{base}.statistics.{band}.percentiles.k"
            if not stat.percentiles.k:
                raise ValidationError(where, "must list at least one percentile")
            # The OpenAPI document says fractions in [0, 1]; the service's own examples use
            # percents ([5, 50, 95]). Both are let through; anything else is refused.
            bad = [k for k in stat.percentiles.k if not (math.isfinite(k) and 0 <= k <= 100)]
            if bad:
                raise ValidationError(where, f"percentiles are fractions in [0, 1] (or percents), got {bad}")
        for band, hist in (calc.histograms or {}).items():
            _check_histogram(hist, f"{base}.histograms.{band}")


def _check_histogram(hist: HistogramDefinition, where: str) -> None:
    given = [
        n
        for n, v in (("binWidth", hist.bin_width), ("nBins", hist.n_bins), ("bins", hist.bins))
        if v is not None
    ]
    if len(given) > 1:
        raise ValidationError(where, f"give one of binWidth, nBins or bins, not {' and '.join(given)}")
    if hist.n_bins is not None and hist.n_bins < 1:
        raise ValidationError(f"{where}.nBins", "must be at least 1")
    if hist.bin_width is not None and not (math.isfinite(hist.bin_width) and hist.bin_width > 0):
        raise ValidationError(f"{where}.binWidth", "must be a positive number")
    if hist.bins is not None:
        if len(hist.bins) < 2:
            raise ValidationError(f"{where}.bins", "needs at least two edges")
        if any(high <= low for low, high in zip(hist.bins, hist.bins[1:], strict=False)):
            raise ValidationError(f"{where}.bins", "edges must increase")
    if hist.low_edge is not None and hist.high_edge is not None and hist.low_edge >= hist.high_edge:
        raise ValidationError(f"{where}.lowEdge", "must be below highEdge")


def validate_statistics_request(request: StatisticsRequest) -> tuple[int, tuple[int, int]]:
    """Every client-side check of a Statistical request: ``(time intervals, sample size in pixels)``.

    Requests are prepared (checked, normalized, encoded) by
    :func:`eoclient.sentinelhub.prepared.prepare_statistics`.
    """
    agg = request.aggregation
    if agg is None:
        raise ValidationError("aggregation", "is required (timeRange, aggregationInterval, evalscript)")
    check_evalscript(agg.evalscript, "aggregation.evalscript")
    extent = check_input(request.input, "input")
    check_time_range(agg.time_range, "aggregation.timeRange", required=True)
    assert agg.time_range is not None and agg.time_range.from_ is not None and agg.time_range.to is not None
    if agg.time_range.from_ == agg.time_range.to:
        raise ValidationError("aggregation.timeRange", "'from' and 'to' are equal: the range is empty")
    if agg.aggregation_interval is None:
        raise ValidationError("aggregation.aggregationInterval", "is required, e.g. {'of': 'P1D'}")
    duration = parse_duration(agg.aggregation_interval.of, field="aggregation.aggregationInterval.of")
    behavior = agg.aggregation_interval.last_interval_behavior or "SKIP"
    if behavior not in LAST_INTERVAL_BEHAVIORS:
        raise ValidationError(
            "aggregation.aggregationInterval.lastIntervalBehavior",
            f"must be one of {', '.join(sorted(LAST_INTERVAL_BEHAVIORS))}",
        )
    size = check_size(agg.width, agg.height, agg.resx, agg.resy, extent=extent, field="aggregation")
    check_calculations(request.calculations)
    intervals = split_time_range(
        agg.time_range.from_, agg.time_range.to, duration, behavior, limit=_MAX_COUNTED_INTERVALS
    )
    return len(intervals), size


# -- response --------------------------------------------------------------------


class Interval(Model):
    """A time interval of the answer, ``[from, to)``."""

    from_: datetime = msgspec.field(name="from")
    to: datetime


class HistogramBin(Model):
    """``[low_edge, high_edge)`` (the last bin includes its high edge) and its sample count."""

    low_edge: float
    high_edge: float
    count: int


class Histogram(Model):
    """Bins plus the samples below the first (``underflow_count``) and above the last (``overflow_count``)."""

    bins: list[HistogramBin] = msgspec.field(default_factory=list)
    overflow_count: int | None = None
    underflow_count: int | None = None
    # The OpenAPI document names them "overflow"/"underflow"; either spelling is read.
    overflow: int | None = None
    underflow: int | None = None

    def __post_init__(self) -> None:
        if self.overflow_count is None:
            self.overflow_count = self.overflow
        if self.underflow_count is None:
            self.underflow_count = self.underflow


class Stats(Model):
    """Statistics of one band in one interval; ``NaN`` where no sample had data."""

    min: float | None = None
    max: float | None = None
    mean: float | None = None
    st_dev: float | None = None
    sample_count: int | None = None
    no_data_count: int | None = None
    percentiles: dict[str, float] | None = None

    def percentile(self, k: float) -> float | None:
        """The percentile for ``k`` in [0, 1], whichever way the service spelled its key."""
        if not self.percentiles:
            return None
        numbered: list[tuple[float, float]] = []
        for key, value in self.percentiles.items():
            try:
                numbered.append((float(key), value))
            except ValueError:
                continue
        # As requested first ("0.5" for k=0.5), then as a percent ("50.0").
        for wanted in (k, k * 100):
            for number, value in numbered:
                if math.isclose(number, wanted, abs_tol=1e-9):
                    return value
        return None


class BandStatistics(Model):
    """``stats`` and, if requested, ``histogram`` of one band."""

    stats: Stats | None = None
    histogram: Histogram | None = None


class OutputStatistics(Model):
    """Per band statistics of one evalscript output (bands are ``B0``, ``B1``... unless named)."""

    bands: dict[str, BandStatistics] = msgspec.field(default_factory=dict)


class IntervalError(Model):
    """Why an interval has no statistics: ``type`` (``EXECUTION_ERROR``, ``BAD_REQUEST``, ``TIMEOUT``)."""

    type: str | None = None
    message: str | None = None


class StatisticsInterval(Model):
    """One interval of the answer: ``outputs``, or an ``error``."""

    interval: Interval
    outputs: dict[str, OutputStatistics] = msgspec.field(default_factory=dict)
    error: IntervalError | None = None

    @property
    def failed(self) -> bool:
        """True when the service reported an error for this interval."""
        return self.error is not None


class StatisticsIntervalError(EOClientError):
    """Some intervals of a Statistical answer carry an error (see ``errors``)."""

    def __init__(self, errors: list[StatisticsInterval]) -> None:
        self.errors = errors
        first = errors[0]
        assert first.error is not None
        when = first.interval.from_.isoformat()
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(
            f"statistics failed for the interval starting {when}: "
            f"{first.error.type}: {first.error.message}{more}"
        )


class StatisticsResponse(Model):
    """A Statistical API answer: ``data`` (one entry per interval with data) and ``status``.

    ``processing_units`` is filled in by the client from ``x-processingunits-spent``.
    """

    data: list[StatisticsInterval]
    status: str | None = None
    geometry_pixel_count: int | None = None
    processing_units: float | None = None

    @property
    def errors(self) -> list[StatisticsInterval]:
        """The intervals that carry an error (an empty list when all went well)."""
        return [d for d in self.data if d.error is not None]

    @property
    def ok(self) -> bool:
        """True when no interval carries an error."""
        return not self.errors

    def to_pandas(self, *, histograms: bool = False) -> Any:
        """The answer as a tidy pandas DataFrame (needs ``pip install 'eoclient[pandas]'``).

        One row per interval x output x band x statistic: ``interval_from``,
        ``interval_to``, ``output``, ``band``, ``statistic`` (``min``, ``max``,
        ``mean``, ``stDev``, ``sampleCount``, ``noDataCount``, ``p50``...),
        ``value`` and ``error``; a failed interval is one row with ``error``
        set. With ``histograms``, one row per histogram bin instead
        (``low_edge``, ``high_edge``, ``count``). See :mod:`eoclient.tables`.
        """
        return answer_frame(self, histograms=histograms)

    def raise_for_errors(self) -> StatisticsResponse:
        """Raise :class:`StatisticsIntervalError` if any interval failed; else return ``self``."""
        errors = self.errors
        if errors:
            raise StatisticsIntervalError(errors)
        return self
