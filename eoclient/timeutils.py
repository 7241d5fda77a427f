"""Time instants and intervals as Sentinel Hub takes them: parsing, thinning, serializing.

Everything returned is a timezone-aware ``datetime`` in UTC (a naive value is
taken as UTC). A date, or a partial date (``"2024"``, ``"2024-06"``), stands
for the whole period: as the start of an interval it is its first instant, as
the end its last (``23:59:59.999999`` of the last day).

Example::

    parse_time_interval("2024-06-01")               # the whole day
    parse_time_interval(("2024-06-01", "2024-06-30"))  # June 1 00:00 to June 30 23:59:59.999999
    parse_time_interval(("2024-06-01T12:00:00Z", None))  # open end
    filter_times(acquisitions, timedelta(hours=1))  # one timestamp per overpass
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any, Final, TypeAlias, overload

from eoclient.errors import ValidationError

__all__ = [
    "TimeEnd",
    "TimeInterval",
    "TimeLike",
    "filter_times",
    "parse_time",
    "parse_time_interval",
    "serialize_time",
]

TimeEnd: TypeAlias = str | dt.datetime | dt.date | None
"""One end of an interval: ISO-8601 text, a datetime, a date, or ``None`` / ``".."`` for open."""
TimeLike: TypeAlias = TimeEnd | tuple[TimeEnd, TimeEnd] | Sequence[TimeEnd]
"""A single instant or date, ``"start/end"`` text, or a ``(start, end)`` pair."""
TimeInterval: TypeAlias = tuple[dt.datetime | None, dt.datetime | None]

_PARTIAL_DATE: Final = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_OPEN: Final = frozenset({"", ".."})


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _whole_period(value: str | dt.date, field: str) -> tuple[dt.datetime, dt.datetime]:
    """First and last instant of a date or a partial date (year, month or day)."""
    if isinstance(value, dt.date):
        first = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
        return first, first + dt.timedelta(days=1, microseconds=-1)
    match = _PARTIAL_DATE.match(value)
    assert match is not None
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    try:
        first = dt.datetime(year, month or 1, day or 1, tzinfo=dt.UTC)
    except ValueError as exc:
        raise ValidationError(field, f"not a date: {value!r} ({exc})") from None
    if day is not None:
        following = first + dt.timedelta(days=1)
    elif month is not None:
        following = first + dt.timedelta(days=calendar.monthrange(year, month)[1])
    else:
        following = first.replace(year=year + 1)
    return first, following - dt.timedelta(microseconds=1)


def _end(value: Any, field: str, *, start: bool) -> dt.datetime | None:
    """One end of an interval (``None`` when open); a date covers its whole period."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return _utc(value)
    if isinstance(value, dt.date):
        return _whole_period(value, field)[0 if start else 1]
    if not isinstance(value, str):
        raise ValidationError(field, f"expected a string, datetime or date, got {type(value).__name__}")
    text = value.strip()
    if text in _OPEN:
        return None
    if _PARTIAL_DATE.match(text):
        return _whole_period(text, field)[0 if start else 1]
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(field, f"not an ISO-8601 date or date-time: {value!r}") from None
    return _utc(parsed)


def parse_time(value: str | dt.datetime | dt.date, *, field: str = "time") -> dt.datetime:
    """One instant as an aware UTC datetime; a date (or ``"2024-06"``) is its first instant.

    >>> parse_time("2024-06-01T12:00:00+02:00")
    datetime.datetime(2024, 6, 1, 10, 0, tzinfo=datetime.timezone.utc)
    """
    parsed = _end(value, field, start=True)
    if parsed is None:
        raise ValidationError(field, "is empty")
    return parsed


def parse_time_interval(
    value: TimeLike, *, allow_open: bool = True, field: str = "time_interval"
) -> TimeInterval:
    """``(start, end)`` as aware UTC datetimes, both ends inclusive.

    * a date, a partial date (``"2024-06"``) or a ``date``: that whole period;
    * a single date-time (text or ``datetime``): the instant, ``(t, t)``;
    * ``"start/end"`` text or a ``(start, end)`` pair of any of those, where
      ``None``, ``""`` or ``".."`` leaves that end open (refused when
      ``allow_open`` is false).

    Raises :class:`~eoclient.errors.ValidationError` naming ``field`` when the
    value cannot be read or the interval starts after it ends.

    >>> parse_time_interval("2024-06-01")[1].isoformat()
    '2024-06-01T23:59:59.999999+00:00'
    """
    if isinstance(value, str) and "/" in value:
        parts = value.split("/")
        if len(parts) != 2:
            raise ValidationError(field, f"an interval has one '/', got {value!r}")
        start, end = _end(parts[0], field, start=True), _end(parts[1], field, start=False)
    elif isinstance(value, str | dt.date):
        start, end = _end(value, field, start=True), _end(value, field, start=False)
        if start is None:
            raise ValidationError(field, "is empty")
    elif value is None:
        start = end = None
    elif isinstance(value, Sequence) and not isinstance(value, bytes):
        if len(value) != 2:
            raise ValidationError(field, f"an interval is (start, end), got {len(value)} values")
        start, end = _end(value[0], field, start=True), _end(value[1], field, start=False)
    else:
        raise ValidationError(
            field, f"expected a date, datetime, string or (start, end), got {type(value).__name__}"
        )
    if not allow_open and (start is None or end is None):
        raise ValidationError(field, "needs both a start and an end")
    if start is None and end is None and value is not None:
        raise ValidationError(field, "an interval needs at least one end")
    if start is not None and end is not None and start > end:
        raise ValidationError(
            field, f"starts after it ends ({serialize_time(start)} > {serialize_time(end)})"
        )
    return start, end


def filter_times(
    timestamps: Iterable[str | dt.datetime | dt.date], min_gap: dt.timedelta
) -> list[dt.datetime]:
    """Sorted timestamps without those closer than ``min_gap`` to the previous one kept.

    The first of each close group is kept (``min_gap=timedelta(hours=1)`` keeps
    one timestamp per satellite overpass). A gap of exactly ``min_gap`` is kept.

    >>> [t.hour for t in filter_times(["2024-06-01T10:00Z", "2024-06-01T10:20Z",
    ...                                 "2024-06-01T11:30Z"], dt.timedelta(hours=1))]
    [10, 11]
    """
    if min_gap < dt.timedelta(0):
        raise ValidationError("min_gap", f"must not be negative, got {min_gap}")
    kept: list[dt.datetime] = []
    for moment in sorted({parse_time(t, field="timestamps") for t in timestamps}):
        if not kept or moment - kept[-1] >= min_gap:
            kept.append(moment)
    return kept


@overload
def serialize_time(value: dt.datetime | dt.date | None) -> str: ...


@overload
def serialize_time(value: tuple[dt.datetime | dt.date | None, ...]) -> tuple[str, ...]: ...


def serialize_time(
    value: dt.datetime | dt.date | tuple[dt.datetime | dt.date | None, ...] | None,
) -> str | tuple[str, ...]:
    """ISO-8601 text in UTC with a ``Z`` (``..`` for an open end); a tuple gives a tuple.

    Microseconds appear only when there are some; a ``date`` stays a date.

    >>> serialize_time((dt.datetime(2024, 6, 1), None))
    ('2024-06-01T00:00:00Z', '..')
    """
    if isinstance(value, tuple):
        return tuple(serialize_time(v) for v in value)
    if value is None:
        return ".."
    if isinstance(value, dt.datetime):
        naive = _utc(value).replace(tzinfo=None)
        return naive.isoformat(timespec="microseconds" if naive.microsecond else "seconds") + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    raise ValidationError("time", f"expected a datetime or date, got {type(value).__name__}")
