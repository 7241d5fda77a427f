"""Time helpers: intervals, thinning timestamps, serializing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from eoclient.errors import ValidationError
from eoclient.timeutils import filter_times, parse_time, parse_time_interval, serialize_time

END_OF_DAY = timedelta(days=1, microseconds=-1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-06-01", (utc(2024, 6, 1), utc(2024, 6, 1) + END_OF_DAY)),
        (date(2024, 2, 28), (utc(2024, 2, 28), utc(2024, 2, 28) + END_OF_DAY)),
        ("2024-02", (utc(2024, 2, 1), utc(2024, 2, 29) + END_OF_DAY)),
        ("2023", (utc(2023, 1, 1), utc(2023, 12, 31) + END_OF_DAY)),
        (("2024-06-01", "2024-06-30"), (utc(2024, 6, 1), utc(2024, 6, 30) + END_OF_DAY)),
        ((date(2024, 6, 1), date(2024, 6, 1)), (utc(2024, 6, 1), utc(2024, 6, 1) + END_OF_DAY)),
        ("2024-06-01T10:00:00Z", (utc(2024, 6, 1, 10), utc(2024, 6, 1, 10))),
        (datetime(2024, 6, 1, 10), (utc(2024, 6, 1, 10), utc(2024, 6, 1, 10))),  # naive is UTC
        (
            ("2024-06-01T12:00:00+02:00", datetime(2024, 6, 2, tzinfo=timezone(timedelta(hours=-1)))),
            (utc(2024, 6, 1, 10), utc(2024, 6, 2, 1)),
        ),
        ("2024-06-01T00:00:00Z/2024-06-03", (utc(2024, 6, 1), utc(2024, 6, 3) + END_OF_DAY)),
        (["2024-06-01", None], (utc(2024, 6, 1), None)),
        (("..", "2024-06-01T00:00:00Z"), (None, utc(2024, 6, 1))),
        ("2024-06-01/..", (utc(2024, 6, 1), None)),
        (None, (None, None)),
    ],
)
def test_parse_time_interval(value: object, expected: tuple[datetime | None, datetime | None]) -> None:
    start, end = parse_time_interval(value)  # type: ignore[arg-type]
    assert (start, end) == expected
    for moment in (start, end):
        assert moment is None or moment.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        ("2024-06-02", "2024-06-01"),  # starts after it ends
        ("2024-06-01",),
        ("a", "b", "c"),
        "2024-13",
        "yesterday",
        "2024-06-01/2024-06-02/2024-06-03",
        ("..", None),  # no end at all
        "",
        42,
    ],
)
def test_parse_time_interval_rejects(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        parse_time_interval(value, field="time_range")  # type: ignore[arg-type]
    assert info.value.field == "time_range"


def test_closed_intervals_only_when_asked() -> None:
    with pytest.raises(ValidationError, match="needs both"):
        parse_time_interval(("2024-06-01", None), allow_open=False)
    with pytest.raises(ValidationError):
        parse_time_interval(None, allow_open=False)
    assert parse_time_interval("2024-06-01", allow_open=False)[0] == utc(2024, 6, 1)


def test_parse_time() -> None:
    assert parse_time("2024-06-01") == utc(2024, 6, 1)
    assert parse_time("2024-06-01T12:00:00+02:00") == utc(2024, 6, 1, 10)
    assert parse_time(date(2024, 6, 1)) == utc(2024, 6, 1)
    with pytest.raises(ValidationError):
        parse_time("..")


def test_filter_times_keeps_the_first_of_each_close_group() -> None:
    stamps = [
        "2024-06-01T10:20:00Z",
        utc(2024, 6, 1, 10),  # first of the first group (given out of order)
        "2024-06-01T10:59:59Z",
        utc(2024, 6, 1, 11),  # exactly one hour after the kept 10:00: kept
        utc(2024, 6, 1, 11),  # duplicate
        datetime(2024, 6, 3, 9, 30),  # naive: UTC
    ]
    assert filter_times(stamps, timedelta(hours=1)) == [
        utc(2024, 6, 1, 10),
        utc(2024, 6, 1, 11),
        utc(2024, 6, 3, 9, 30),
    ]
    assert filter_times([], timedelta(hours=1)) == []
    assert filter_times(stamps, timedelta(0)) == sorted({parse_time(s) for s in stamps})  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        filter_times(stamps, timedelta(seconds=-1))


def test_serialize_time() -> None:
    assert serialize_time(utc(2024, 6, 1)) == "2024-06-01T00:00:00Z"
    assert (
        serialize_time(datetime(2024, 6, 1, 12, tzinfo=timezone(timedelta(hours=2))))
        == "2024-06-01T10:00:00Z"
    )
    assert serialize_time(utc(2024, 6, 1) + END_OF_DAY) == "2024-06-01T23:59:59.999999Z"
    assert serialize_time(date(2024, 6, 1)) == "2024-06-01"
    assert serialize_time(None) == ".."
    assert serialize_time((utc(2024, 6, 1), None)) == ("2024-06-01T00:00:00Z", "..")
    # what parse_time_interval reads, serialize_time writes back
    interval = parse_time_interval(("2024-06-01T10:00:00Z", "2024-06-02"))
    assert parse_time_interval(serialize_time(interval)) == interval
