"""Statistical and Batch Statistical answers as tidy pandas DataFrames.

pandas is optional (``pip install 'eoclient[pandas]'``) and imported on first
use; without it, :func:`require_pandas` raises a
:class:`~eoclient.errors.ConfigurationError` that says what to install.

:func:`statistics_rows` walks an answer into one row per interval x output x
band x statistic; the columns are :data:`STATISTICS_COLUMNS`:

==============  =================================================================
interval_from   start of the interval (timezone-aware UTC)
interval_to     end of the interval (timezone-aware UTC)
output          the evalscript output (``default``...)
band            the band (``B0``... unless the evalscript names them)
statistic       ``min``, ``max``, ``mean``, ``stDev``, ``sampleCount``,
                ``noDataCount``, and each percentile as ``p50``, ``p2.5``...
value           the number (float64; ``NaN`` where the service said so)
error           ``"TYPE: message"`` of an interval the service could not compute
==============  =================================================================

An interval that failed is kept: it gives ONE row with ``error`` set and
``output``, ``band``, ``statistic`` empty and ``value`` NaN. A statistic the
answer does not carry gives no row. Batch Statistical frames lead with a
``feature`` column (the feature's ``id``, else its ``identifier``).

Percentile names follow the answer's keys, which repeat the request's ``k``:
the service takes fractions (``0.5``) or percents (``50``), so a band whose
keys are all at most 1 is read as fractions (``"0.5"`` → ``p50``), otherwise
as percents (``"50.0"`` → ``p50``, ``"2.5"`` → ``p2.5``).

Histograms are a frame of their own (:data:`HISTOGRAM_COLUMNS`), one row per
bin: ``low_edge``, ``high_edge`` (float64), ``count`` (nullable Int64); a
failed interval gives one row with ``error`` set there too. Under- and
overflow counts stay on the model (``Histogram.underflow_count``).

This module reads the answers through the small protocols below, so it knows
nothing of the service modules that build them.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import AsyncIterable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, Final, Protocol, runtime_checkable

from eoclient.errors import ConfigurationError, ValidationError

__all__ = [
    "HISTOGRAM_COLUMNS",
    "INSTALL_PANDAS",
    "STATISTICS_COLUMNS",
    "FeatureAnswer",
    "StatisticsAnswer",
    "answer_frame",
    "feature_frame",
    "frame_of",
    "histogram_frame",
    "histogram_rows",
    "percentile_name",
    "require_pandas",
    "statistics_frame",
    "statistics_rows",
]

INSTALL_PANDAS: Final = "pip install 'eoclient[pandas]'"
STATISTICS_COLUMNS: Final = ("interval_from", "interval_to", "output", "band", "statistic", "value", "error")
HISTOGRAM_COLUMNS: Final = (
    "interval_from",
    "interval_to",
    "output",
    "band",
    "low_edge",
    "high_edge",
    "count",
    "error",
)
_TEXT_COLUMNS: Final = frozenset({"feature", "output", "band", "statistic", "error"})
# The fixed statistics, in the order the rows come, with the name the service gives them.
_NAMED: Final = (
    ("min", "min"),
    ("max", "max"),
    ("mean", "mean"),
    ("st_dev", "stDev"),
    ("sample_count", "sampleCount"),
    ("no_data_count", "noDataCount"),
)


# -- what the rows are read from -------------------------------------------------------


class _Stats(Protocol):
    @property
    def min(self) -> float | None: ...
    @property
    def max(self) -> float | None: ...
    @property
    def mean(self) -> float | None: ...
    @property
    def st_dev(self) -> float | None: ...
    @property
    def sample_count(self) -> int | None: ...
    @property
    def no_data_count(self) -> int | None: ...
    @property
    def percentiles(self) -> Mapping[str, float] | None: ...


class _Bin(Protocol):
    @property
    def low_edge(self) -> float: ...
    @property
    def high_edge(self) -> float: ...
    @property
    def count(self) -> int: ...


class _Histogram(Protocol):
    @property
    def bins(self) -> Iterable[_Bin]: ...


class _Band(Protocol):
    @property
    def stats(self) -> _Stats | None: ...
    @property
    def histogram(self) -> _Histogram | None: ...


class _Output(Protocol):
    @property
    def bands(self) -> Mapping[str, _Band]: ...


class _Span(Protocol):
    @property
    def from_(self) -> datetime: ...
    @property
    def to(self) -> datetime: ...


class _Error(Protocol):
    @property
    def type(self) -> str | None: ...
    @property
    def message(self) -> str | None: ...


class _Interval(Protocol):
    @property
    def interval(self) -> _Span: ...
    @property
    def outputs(self) -> Mapping[str, _Output]: ...
    @property
    def error(self) -> _Error | None: ...


@runtime_checkable
class StatisticsAnswer(Protocol):
    """A Statistical API answer (:class:`~eoclient.sentinelhub.statistics_models.StatisticsResponse`)."""

    @property
    def data(self) -> Iterable[_Interval]: ...


@runtime_checkable
class FeatureAnswer(Protocol):
    """One feature's answer of a Batch Statistical request (``FeatureStatistics``)."""

    @property
    def feature(self) -> str | None: ...
    @property
    def statistics(self) -> StatisticsAnswer: ...


Answers = Iterable[StatisticsAnswer | FeatureAnswer] | Mapping[str, StatisticsAnswer]


# -- rows ------------------------------------------------------------------------------


def percentile_name(key: str, *, fractions: bool) -> str:
    """``p50`` for the key ``"50.0"`` (percents) or ``"0.5"`` (``fractions``); other keys as given."""
    try:
        number = float(key)
    except ValueError:
        return f"p{key}"
    if fractions:
        number *= 100
    # 0.333 * 100 is 33.300000000000004: round away the float noise, keep real digits.
    return f"p{round(number, 9):g}"


def _percentile_rows(percentiles: Mapping[str, float] | None) -> list[tuple[str, float | None]]:
    if not percentiles:
        return []
    numbered: list[tuple[float, str, float | None]] = []
    for key, value in percentiles.items():
        try:
            number = float(key)
        except ValueError:
            number = math.inf  # an unexpected key sorts last, kept under its own name
        numbered.append((number, key, value))
    fractions = all(number <= 1 for number, _, _ in numbered)
    numbered.sort(key=lambda row: row[0])
    return [(percentile_name(key, fractions=fractions), value) for _, key, value in numbered]


def _error_text(error: _Error) -> str:
    parts = [p for p in (error.type, error.message) if p]
    return ": ".join(parts) if parts else "error"


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def statistics_rows(answer: StatisticsAnswer) -> Iterator[tuple[Any, ...]]:
    """The rows of one answer, as tuples in the order of :data:`STATISTICS_COLUMNS`."""
    for entry in answer.data:
        start, end = entry.interval.from_, entry.interval.to
        if entry.error is not None:
            yield (start, end, None, None, None, math.nan, _error_text(entry.error))
            continue
        for output, out in entry.outputs.items():
            for band, stats in out.bands.items():
                if stats.stats is None:
                    continue
                s = stats.stats
                for attr, name in _NAMED:
                    value = getattr(s, attr)
                    if value is not None:
                        yield (start, end, output, band, name, _float(value), None)
                for name, pvalue in _percentile_rows(s.percentiles):
                    yield (start, end, output, band, name, _float(pvalue), None)


def histogram_rows(answer: StatisticsAnswer) -> Iterator[tuple[Any, ...]]:
    """The histogram bins of one answer, as tuples in the order of :data:`HISTOGRAM_COLUMNS`."""
    for entry in answer.data:
        start, end = entry.interval.from_, entry.interval.to
        if entry.error is not None:
            yield (start, end, None, None, math.nan, math.nan, None, _error_text(entry.error))
            continue
        for output, out in entry.outputs.items():
            for band, stats in out.bands.items():
                if stats.histogram is None:
                    continue
                for b in stats.histogram.bins:
                    low, high = float(b.low_edge), float(b.high_edge)
                    yield (start, end, output, band, low, high, int(b.count), None)


# -- frames ----------------------------------------------------------------------------


def require_pandas() -> Any:
    """The pandas module, or a :class:`ConfigurationError` that says what to install."""
    try:
        # By name: pandas is optional, and its type stubs are a separate package.
        return importlib.import_module("pandas")
    except ImportError:
        raise ConfigurationError(f"DataFrames need pandas: {INSTALL_PANDAS}") from None


def _frame(columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> Any:
    """A DataFrame with the dtypes the module docstring promises, also when there are no rows."""
    pd = require_pandas()
    data = list(rows)
    cols: dict[str, Any] = {}
    for i, name in enumerate(columns):
        values = [row[i] for row in data]
        if name.startswith("interval_"):
            # Naive datetimes (an answer without a zone) are read as UTC, as the service means them.
            cols[name] = pd.to_datetime(pd.Series(values, dtype=object), utc=True)
        elif name in ("value", "low_edge", "high_edge"):
            cols[name] = pd.Series(values, dtype="float64")
        elif name == "count":
            cols[name] = pd.Series(values, dtype="Int64")
        else:
            assert name in _TEXT_COLUMNS
            cols[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(cols, columns=list(columns))


def _with_feature(feature: str | None, rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        yield (feature, *row)


def _answers(answers: Answers) -> Iterator[tuple[str | None, StatisticsAnswer]]:
    """``(feature, answer)`` pairs: a mapping names its answers, a FeatureStatistics names itself."""
    if isinstance(answers, Mapping):
        for name, answer in answers.items():
            yield str(name), _checked(answer, f"answers[{name!r}]")
        return
    for i, item in enumerate(answers):
        if isinstance(item, FeatureAnswer):
            yield item.feature, _checked(item.statistics, f"answers[{i}].statistics")
        else:
            yield None, _checked(item, f"answers[{i}]")


def _checked(answer: Any, field: str) -> StatisticsAnswer:
    if not isinstance(answer, StatisticsAnswer):
        raise ValidationError(
            field, f"expected a StatisticsResponse or FeatureStatistics, got {type(answer).__name__}"
        )
    return answer


def statistics_frame(answers: Answers) -> Any:
    """One tidy DataFrame of several answers, led by a ``feature`` column.

    ``answers`` holds Batch Statistical ``FeatureStatistics`` (the feature is
    their ``id``, else their ``identifier``), Statistical answers (the feature
    is ``None``), or is a mapping ``{name: answer}`` (the feature is the name).
    """
    rows = (row for name, answer in _answers(answers) for row in _with_feature(name, statistics_rows(answer)))
    return _frame(("feature", *STATISTICS_COLUMNS), rows)


def histogram_frame(answers: Answers) -> Any:
    """The histogram bins of several answers, led by a ``feature`` column (as :func:`statistics_frame`)."""
    rows = (row for name, answer in _answers(answers) for row in _with_feature(name, histogram_rows(answer)))
    return _frame(("feature", *HISTOGRAM_COLUMNS), rows)


def answer_frame(answer: StatisticsAnswer, *, histograms: bool = False) -> Any:
    """One answer's frame (no ``feature`` column): statistics, or with ``histograms`` its bins."""
    if histograms:
        return _frame(HISTOGRAM_COLUMNS, histogram_rows(answer))
    return _frame(STATISTICS_COLUMNS, statistics_rows(answer))


def feature_frame(feature: str | None, answer: StatisticsAnswer, *, histograms: bool = False) -> Any:
    """One feature's frame, led by a ``feature`` column."""
    if histograms:
        return _frame(("feature", *HISTOGRAM_COLUMNS), _with_feature(feature, histogram_rows(answer)))
    return _frame(("feature", *STATISTICS_COLUMNS), _with_feature(feature, statistics_rows(answer)))


async def frame_of(
    answers: AsyncIterable[StatisticsAnswer | FeatureAnswer], *, histograms: bool = False
) -> Any:
    """:func:`statistics_frame` (or :func:`histogram_frame`) of an async iterator, e.g. ``job.results()``."""
    collected = [answer async for answer in answers]
    return histogram_frame(collected) if histograms else statistics_frame(collected)
