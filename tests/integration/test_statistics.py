"""The Statistical API against the emulator: intervals, percentiles, histograms, interval errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from eoclient.emulator import Emulator
from eoclient.errors import BadRequestError
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.process_models import Bounds, InputData, ProcessInput, TimeRange
from eoclient.sentinelhub.statistics_models import (
    AggregationInterval,
    CalculationDefinition,
    HistogramDefinition,
    Percentiles,
    StatisticsAggregation,
    StatisticsDefinition,
    StatisticsIntervalError,
    StatisticsRequest,
)

pytestmark = pytest.mark.integration

EVALSCRIPT = """//VERSION=3
function setup() {
  return {
    input: [{bands: ["B04", "B08", "dataMask"]}],
    output: [
      {id: "ndvi", bands: 1, sampleType: "FLOAT32"},
      {id: "rgb", bands: 2, sampleType: "FLOAT32"},
      {id: "dataMask", bands: 1}
    ]
  };
}
function evaluatePixel(s) {
  let ndvi = (s.B08 - s.B04) / (s.B08 + s.B04);
  return {ndvi: [ndvi], rgb: [s.B04, s.B08], dataMask: [s.dataMask]};
}
"""

BBOX = [13.8, 45.8, 14.5, 46.2]


def typed_request(days: int = 30) -> StatisticsRequest:
    return StatisticsRequest(
        input=ProcessInput(bounds=Bounds.from_bbox(BBOX), data=[InputData(type="sentinel-2-l2a")]),
        aggregation=StatisticsAggregation(
            time_range=TimeRange.of(
                datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC) + timedelta(days=days)
            ),
            aggregation_interval=AggregationInterval(of="P1D"),
            evalscript=EVALSCRIPT,
            width=64,
            height=32,
        ),
        calculations={
            "ndvi": CalculationDefinition(
                statistics={"default": StatisticsDefinition(percentiles=Percentiles(k=[0.1, 0.5, 0.9]))},
                histograms={"default": HistogramDefinition(n_bins=8, low_edge=-1.0, high_edge=1.0)},
            ),
            "default": CalculationDefinition(
                histograms={"B1": HistogramDefinition(bins=[0.0, 0.2, 0.5, 1.0])}
            ),
        },
    )


def dict_request(start: str, end: str, interval: str, **extra: Any) -> dict[str, Any]:
    return {
        "input": {"bounds": {"bbox": BBOX}, "data": [{"type": "sentinel-2-l2a"}]},
        "aggregation": {
            "timeRange": {"from": start, "to": end},
            "aggregationInterval": {"of": interval, **extra},
            "evalscript": EVALSCRIPT,
            "resx": 0.01,
            "resy": 0.01,
        },
    }


@pytest.fixture
async def sh(eo_emulator: Emulator) -> AsyncIterator[SentinelHub]:
    creds = eo_emulator.credentials
    async with SentinelHub(
        creds.sh_client_id,
        creds.sh_client_secret,
        base_url=eo_emulator.sentinelhub_url,
        token_url=eo_emulator.sentinelhub_token_url,
    ) as client:
        yield client


async def test_statistics_per_interval_with_percentiles_and_histograms(sh: SentinelHub) -> None:
    answer = await sh.statistics(typed_request(30))
    assert len(answer.data) == 30
    assert [d.interval.from_.day for d in answer.data] == list(range(1, 31))
    assert answer.processing_units is not None and answer.processing_units > 0
    good = [d for d in answer.data if d.error is None]
    assert good, "the seeded emulator computes most intervals"
    for item in good:
        assert set(item.outputs) == {"ndvi", "rgb"}  # dataMask is not an output of statistics
        ndvi = item.outputs["ndvi"].bands["B0"]
        assert ndvi.stats is not None and ndvi.histogram is not None
        stats = ndvi.stats
        assert stats.sample_count == 64 * 32
        assert stats.min is not None and stats.max is not None and stats.mean is not None
        assert stats.min <= stats.mean <= stats.max
        p10, p50, p90 = (stats.percentile(k) for k in (0.1, 0.5, 0.9))
        assert p10 is not None and p50 is not None and p90 is not None
        assert stats.min <= p10 <= p50 <= p90 <= stats.max
        hist = ndvi.histogram
        assert len(hist.bins) == 8
        assert hist.bins[0].low_edge == -1.0 and hist.bins[-1].high_edge == 1.0
        assert stats.no_data_count is not None
        valid = stats.sample_count - stats.no_data_count
        assert (
            sum(b.count for b in hist.bins) + (hist.overflow_count or 0) + (hist.underflow_count or 0)
            == valid
        )
        rgb = item.outputs["rgb"].bands
        assert set(rgb) == {"B0", "B1"}
        assert rgb["B0"].histogram is None  # only B1 asked for one, via the "default" output
        assert rgb["B1"].histogram is not None
        assert [b.low_edge for b in rgb["B1"].histogram.bins] == [0.0, 0.2, 0.5]
        assert rgb["B1"].stats is not None and rgb["B1"].stats.percentiles is None


async def test_interval_errors_are_surfaced_not_dropped(sh: SentinelHub) -> None:
    answer = await sh.statistics(typed_request(30))
    errors = answer.errors
    assert errors, "about one interval in five has no data in the emulator"
    assert len(errors) < len(answer.data)
    assert answer.status == "PARTIAL"
    assert not answer.ok
    for item in errors:
        assert item.failed
        assert item.error is not None and item.error.type == "EXECUTION_ERROR"
        assert item.error.message
        assert item.outputs == {}
    with pytest.raises(StatisticsIntervalError) as info:
        answer.raise_for_errors()
    assert info.value.errors == errors
    assert "EXECUTION_ERROR" in str(info.value)


async def test_dict_request_and_last_interval_behavior(sh: SentinelHub, eo_emulator: Emulator) -> None:
    start, end = "2024-01-01T00:00:00Z", "2024-01-24T00:00:00Z"  # 23 days: three weeks and two days
    skip = await sh.statistics(dict_request(start, end, "P1W"))
    shorten = await sh.statistics(dict_request(start, end, "P1W", lastIntervalBehavior="SHORTEN"))
    extend = await sh.statistics(dict_request(start, end, "P1W", lastIntervalBehavior="EXTEND"))
    assert len(skip.data) == 3
    assert len(shorten.data) == 4
    assert shorten.data[-1].interval.to == datetime(2024, 1, 24, tzinfo=UTC)
    assert extend.data[-1].interval.to == datetime(2024, 1, 29, tzinfo=UTC)
    sent = [
        msgspec.json.decode(r.body) for r in eo_emulator.requests if r.path == "/api/v1/statistics" and r.body
    ]
    assert sent[1]["aggregation"]["aggregationInterval"] == {"of": "P1W", "lastIntervalBehavior": "SHORTEN"}
    assert "calculations" not in sent[0]


async def test_statistics_without_errors_are_ok(sh: SentinelHub) -> None:
    # A month-long interval: a single interval; find one the seeded emulator computes.
    for month in range(1, 13):
        start = f"2023-{month:02d}-01T00:00:00Z"
        end = f"{2023 + month // 12}-{month % 12 + 1:02d}-01T00:00:00Z"
        answer = await sh.statistics(dict_request(start, end, "P1M"))
        if answer.ok:
            assert answer.status == "OK"
            assert answer.raise_for_errors() is answer
            assert answer.data[0].outputs["ndvi"].bands["B0"].stats is not None
            return
    pytest.fail("every month failed in the emulator")


async def test_service_rejects_unknown_output(sh: SentinelHub) -> None:
    body = dict_request("2024-01-01T00:00:00Z", "2024-01-03T00:00:00Z", "P1D")
    body["calculations"] = {"evi": {"statistics": {"default": {"percentiles": {"k": [0.5]}}}}}
    with pytest.raises(BadRequestError) as info:
        await sh.statistics(body)
    assert info.value.code == "COMMON_BAD_PAYLOAD"
    assert "evi" in str(info.value)


@pytest.mark.parametrize(
    ("edit", "parameter"),
    [
        ({"aggregationInterval": {"of": "1 day"}}, "aggregation->aggregationInterval->of"),
        (
            {"aggregationInterval": {"of": "P1D", "lastIntervalBehavior": "DROP"}},
            "aggregation->aggregationInterval",
        ),
        (
            {"timeRange": {"from": "2024-02-01T00:00:00Z", "to": "2024-01-01T00:00:00Z"}},
            "aggregation->timeRange",
        ),
        ({"evalscript": ""}, "aggregation->evalscript"),
        ({"width": 10}, "aggregation"),
    ],
)
async def test_emulator_rejects_bad_aggregations(
    sh: SentinelHub, edit: dict[str, Any], parameter: str
) -> None:
    body = dict_request("2024-01-01T00:00:00Z", "2024-01-03T00:00:00Z", "P1D")
    body["aggregation"].update(edit)
    with pytest.raises(BadRequestError) as info:
        await sh.request("POST", "/api/v1/statistics", json=body)  # raw: skips the client's checks
    assert info.value.code == "COMMON_BAD_PAYLOAD"
    assert info.value.details[0]["parameter"].startswith(parameter)
