"""Processing-unit and request budgets: the PU estimate and pacing on a fake clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from eoclient.errors import BadRequestError, ValidationError
from eoclient.sentinelhub.budget import (
    ProcessingBudget,
    charged,
    count_input_bands,
    processing_units,
    uses_float32,
)
from eoclient.sentinelhub.prepared import prepare_process, prepare_statistics
from eoclient.sentinelhub.statistics_models import Interval


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def budget(clock: FakeClock, **kwargs: float) -> ProcessingBudget:
    return ProcessingBudget(clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


# -- the estimate ---------------------------------------------------------------------


def test_pu_formula() -> None:
    assert processing_units(512, 512) == pytest.approx(1.0)
    assert processing_units(1024, 1024) == pytest.approx(4.0)
    assert processing_units(512, 512, input_bands=6) == pytest.approx(2.0)
    assert processing_units(512, 512, float32=True) == pytest.approx(2.0)
    assert processing_units(512, 512, collections=2, samples=3) == pytest.approx(6.0)
    # Small areas count as at least 0.01 of 512 x 512; a request costs at least 0.005 PU.
    assert processing_units(10, 10) == pytest.approx(0.01)
    assert processing_units(10, 10, input_bands=1) == pytest.approx(0.005)


@pytest.mark.parametrize(
    ("script", "bands"),
    [
        ('function setup() { return { input: ["B02", "B03", "B04"], output: { bands: 3 } }; }', 3),
        ("setup = () => ({input: [{bands: ['B04', 'B08', 'dataMask'], units: 'REFLECTANCE'}]})", 2),
        ('input: [{datasource: "s1", bands: ["VV", "VH"]}, {datasource: "l2a", bands: ["B02"]}]', 3),
        ("function setup() { return {output: {bands: 1}} }", None),
        ('input: ["dataMask"]', None),
    ],
)
def test_count_input_bands(script: str, bands: int | None) -> None:
    assert count_input_bands(script) == bands


def test_uses_float32() -> None:
    assert uses_float32('output: {bands: 1, sampleType: "FLOAT32"}')
    assert uses_float32("output: {bands: 1, sampleType: SampleType.FLOAT32}")
    assert not uses_float32('output: {bands: 1, sampleType: "UINT8"}')


SCRIPT = '//VERSION=3\nfunction setup(){return {input:["B02","B03","B04","B08","B11","B12"], output:{bands:3, sampleType:"FLOAT32"}}}\nfunction evaluatePixel(s){return [s.B02,s.B03,s.B04]}'  # noqa: E501


def test_estimate_of_a_process_request() -> None:
    tiff = prepare_process(
        {
            "input": {"bounds": {"bbox": [0, 0, 1, 1]}, "data": [{"type": "sentinel-2-l2a"}]},
            "output": {"resx": 1 / 512, "resy": 1 / 256, "responses": [{"format": {"type": "image/tiff"}}]},
            "evalscript": SCRIPT,
        }
    )
    # 512 x 256 px = 0.5, six bands = x2, FLOAT32 TIFF = x2
    assert tiff.cost.estimate() == pytest.approx(2.0)
    png = prepare_process(
        {
            "input": {"bounds": {"bbox": [0, 0, 1, 1]}, "data": [{"type": "a"}, {"type": "b"}]},
            "evalscript": SCRIPT,
        }
    )
    # default 256 x 256 = 0.25, x2 bands, PNG (no float factor), two collections
    assert png.cost.estimate() == pytest.approx(1.0)


def test_estimate_of_a_statistics_request() -> None:
    prepared = prepare_statistics(
        {
            "input": {"bounds": {"bbox": [0, 0, 1, 1]}, "data": [{"type": "sentinel-2-l2a"}]},
            "aggregation": {
                "timeRange": {"from": "2024-01-01T00:00:00Z", "to": "2024-01-11T00:00:00Z"},
                "aggregationInterval": {"of": "P1D"},
                "evalscript": SCRIPT,
                "width": 512,
                "height": 512,
            },
        }
    )
    assert prepared.intervals == 10
    assert prepared.cost.estimate() == pytest.approx(2.0 * 10)
    day = Interval(from_=datetime(2024, 1, 3, tzinfo=UTC), to=datetime(2024, 1, 4, tzinfo=UTC))
    one = prepared.for_interval(day)  # a failed interval asked for again: one sample
    assert one.cost.estimate() == pytest.approx(2.0)
    assert one.wire["aggregation"]["timeRange"] == {
        "from": "2024-01-03T00:00:00Z",
        "to": "2024-01-04T00:00:00Z",
    }
    assert one.wire["aggregation"]["aggregationInterval"] == {"of": "P1D", "lastIntervalBehavior": "SHORTEN"}


# -- pacing -----------------------------------------------------------------------------


async def test_requests_per_minute_are_spaced(clock: FakeClock) -> None:
    b = budget(clock, requests_per_minute=60, request_burst=1)
    for _ in range(4):
        await b.acquire(0.1)
    assert clock.sleeps == pytest.approx([1.0, 1.0, 1.0])
    assert b.requests == 4
    assert b.waited == pytest.approx(3.0)


async def test_pu_per_minute_paces_by_cost(clock: FakeClock) -> None:
    b = budget(clock, pu_per_minute=60, pu_burst=2)  # 1 PU a second, 2 at once
    await b.acquire(2.0)
    assert clock.sleeps == []
    await b.acquire(0.5)  # the bucket is empty: half a second for half a PU
    assert clock.sleeps == pytest.approx([0.5])
    await b.acquire(5.0)  # more than the bucket holds: waits until full, then goes into debt
    assert sum(clock.sleeps) == pytest.approx(2.5)
    await b.acquire(1.0)  # pays back the debt of 3 PU, then 1 PU more
    assert sum(clock.sleeps) == pytest.approx(6.5)


async def test_both_limits_apply(clock: FakeClock) -> None:
    b = budget(clock, pu_per_minute=60, requests_per_minute=30, pu_burst=1, request_burst=1)
    await b.acquire(1.0)
    await b.acquire(1.0)  # 2 s for the next request token; the PU refilled meanwhile
    await b.acquire(3.0)  # 2 s again; 3 PU is beyond the bucket: it goes 2 PU into debt
    await b.acquire(0.5)  # 2 s for the request token pays the debt; 0.5 s more for the PU
    assert clock.sleeps == pytest.approx([2.0, 2.0, 2.0, 0.5])


async def test_actual_charge_corrects_the_bucket(clock: FakeClock) -> None:
    b = budget(clock, pu_per_minute=60, pu_burst=1)
    async with b.charge(1.0) as charge:
        charge.actual = 4.0  # ORBIT mosaicking: the service counted 4 samples
    assert b.spent == pytest.approx(4.0)
    await b.acquire(1.0)
    assert clock.sleeps == pytest.approx([4.0])  # 3 PU of debt plus the 1 PU asked for

    clock.sleeps.clear()
    clock.now += 100
    async with b.charge(1.0) as charge:
        charge.actual = 0.25  # cheaper than estimated: the difference is given back
    await b.acquire(0.75)
    assert clock.sleeps == []


async def test_refused_request_is_refunded(clock: FakeClock) -> None:
    b = budget(clock, pu_per_minute=60, pu_burst=1)
    with pytest.raises(BadRequestError):
        async with b.charge(1.0):
            raise BadRequestError(status=400, code="COMMON_BAD_PAYLOAD")
    await b.acquire(1.0)
    assert clock.sleeps == []
    assert b.spent == pytest.approx(0.0)


async def test_other_failures_keep_the_estimate(clock: FakeClock) -> None:
    b = budget(clock, pu_per_minute=60, pu_burst=1)
    with pytest.raises(RuntimeError):
        async with b.charge(1.0):
            raise RuntimeError("connection lost mid-body")
    assert b.spent == pytest.approx(1.0)
    await b.acquire(1.0)
    assert clock.sleeps == pytest.approx([1.0])


async def test_concurrent_callers_share_the_budget(clock: FakeClock) -> None:
    b = budget(clock, pu_per_minute=120, pu_burst=1)  # 2 PU a second
    await asyncio.gather(*(b.acquire(1.0) for _ in range(5)))
    assert sum(clock.sleeps) == pytest.approx(2.0)  # 4 PU beyond the burst at 2 PU/s
    assert b.requests == 5


async def test_charged_without_budget_is_a_no_op_and_estimates_nothing() -> None:
    def estimate() -> float:
        raise AssertionError("the cost is computed only for a budget")

    async with charged(None, estimate) as charge:
        charge.actual = 1.0
    assert charge.estimate == 0.0 and charge.actual == 1.0


async def test_charged_with_a_budget_estimates_once(clock) -> None:
    calls: list[int] = []

    def estimate() -> float:
        calls.append(1)
        return 3.0

    async with charged(budget(clock, pu_per_minute=600), estimate) as charge:
        pass
    assert calls == [1] and charge.estimate == 3.0


def test_budget_rejects_nonsense() -> None:
    with pytest.raises(ValidationError, match="pu_per_minute"):
        ProcessingBudget(pu_per_minute=0)
    with pytest.raises(ValidationError, match="request_burst"):
        ProcessingBudget(requests_per_minute=10, request_burst=-1)
