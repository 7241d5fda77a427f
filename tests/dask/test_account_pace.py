"""The account's pace as the scheduler holds it (no cluster: a fake clock), and the spec's secrecy."""

from __future__ import annotations

import pickle

import pytest

from eoclient.dask import AccountLimits, AccountPace, ClientSpec
from eoclient.errors import ValidationError


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_reservations_are_spaced_at_the_rate_after_the_burst() -> None:
    clock = Clock()
    pace = AccountPace(AccountLimits(requests_per_second=10, burst=2), clock)
    waits = [pace.reserve() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.1, 0.2, 0.3])
    clock.now += 10  # idle: the burst is back, not ten seconds' worth
    assert [pace.reserve() for _ in range(3)] == pytest.approx([0.0, 0.0, 0.1])


def test_the_slower_of_two_request_limits_holds() -> None:
    clock = Clock()
    pace = AccountPace(AccountLimits(requests_per_second=100, requests_per_minute=60), clock)
    assert [pace.reserve() for _ in range(3)] == pytest.approx([0.0, 1.0, 2.0])


def test_processing_units_are_reserved_and_corrected_by_the_charge() -> None:
    clock = Clock()
    pace = AccountPace(AccountLimits(pu_per_minute=60, pu_burst=1), clock)  # 1 PU a second
    assert pace.reserve(requests=0, pu=1.0) == 0.0
    assert pace.reserve(requests=0, pu=1.0) == pytest.approx(1.0)
    pace.correct(2.0)  # the first two cost 4 PU, not 2
    assert pace.reserve(requests=0, pu=1.0) == pytest.approx(4.0)
    assert pace.stats["pu"] == pytest.approx(5.0)


def test_a_429_pauses_every_worker_and_halves_the_pace_once_per_storm() -> None:
    clock = Clock()
    pace = AccountPace(AccountLimits(requests_per_second=10), clock)
    assert pace.reserve(worker="a") == 0.0
    pace.rate_limited(retry_after=2.0)
    pace.rate_limited(retry_after=2.0)  # the same storm: one slowdown
    assert pace.stats["slowdowns"] == 1
    assert pace.reserve(worker="a") == pytest.approx(2.0)
    assert pace.reserve(worker="b") == pytest.approx(2.0 + 0.2)  # 5 a second now, after the pause
    assert pace.longest_wait == {"a": pytest.approx(2.0), "b": pytest.approx(2.2)}
    clock.now += 10  # a second per halving: long recovered
    gap = pace.reserve(worker="a")
    assert pace.reserve(worker="a") - gap == pytest.approx(0.1)


def test_a_429_without_retry_after_pauses_for_the_configured_pause() -> None:
    clock = Clock()
    pace = AccountPace(AccountLimits(pause=0.5), clock)  # no pace configured: only the pause
    assert pace.reserve() == 0.0
    pace.rate_limited(None)
    assert pace.reserve() == pytest.approx(0.5)
    assert pace.stats["slowdowns"] == 0


def test_the_slowdown_stops_at_min_fraction() -> None:
    clock = Clock()
    pace = AccountPace(AccountLimits(requests_per_second=8, min_fraction=0.25), clock)
    for _ in range(6):
        clock.now += 0.5
        pace.rate_limited(retry_after=0.0)
    first = pace.reserve()
    assert pace.reserve() - first == pytest.approx(0.5, rel=0.2)  # 2 a second, not 8/64


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"concurrency": 0}, "AccountLimits.concurrency"),
        ({"requests_per_second": -1}, "AccountLimits.requests_per_second"),
        ({"pu_per_minute": 0}, "AccountLimits.pu_per_minute"),
        ({"min_fraction": 2}, "AccountLimits.min_fraction"),
    ],
)
def test_bad_limits_name_the_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AccountLimits(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_the_spec_travels_without_showing_its_secret() -> None:
    spec = ClientSpec.sentinelhub("my-id", "s3cr3t-value-123", base_url="http://127.0.0.1:1")
    assert "s3cr3t" not in repr(spec)
    back = pickle.loads(pickle.dumps(spec))
    assert back == spec and back.secret is not None and back.secret.reveal() == "s3cr3t-value-123"
    assert "s3cr3t" not in repr(back)


def test_a_spec_of_an_unknown_service_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        ClientSpec("planet")  # type: ignore[arg-type]
    assert caught.value.field == "service"
