"""sentinelhub-py parity against the emulator: DataCollection everywhere, deployments, statistics retries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from eoclient._http.retry import RetryPolicy
from eoclient.emulator import Emulator
from eoclient.emulator.sentinelhub.statistics import interval_fails
from eoclient.errors import BadRequestError, ValidationError
from eoclient.sentinelhub import (
    Bounds,
    DataCollection,
    InputData,
    OutputFormat,
    OutputResponse,
    ProcessInput,
    ProcessOutput,
    ProcessRequest,
    SentinelHub,
    StatisticsRequest,
    TimeRange,
    bbox_to_dimensions,
)
from eoclient.sentinelhub.data_collections import CREODIAS_URL, USWEST_URL
from eoclient.sentinelhub.statistics_models import AggregationInterval, StatisticsAggregation
from tests.contract.openapi import require_spec, validate_recorded

pytestmark = pytest.mark.integration

EVALSCRIPT = """//VERSION=3
function setup() {
  return {
    input: [{bands: ["B04", "B08", "dataMask"]}],
    output: [{id: "default", bands: 1, sampleType: "FLOAT32"}, {id: "dataMask", bands: 1}]
  };
}
function evaluatePixel(s) { return {default: [(s.B08 - s.B04) / (s.B08 + s.B04)], dataMask: [s.dataMask]}; }
"""
BBOX = [14.0, 46.0, 14.1, 46.1]
PROCESS = "/api/v1/process"
STATISTICS = "/api/v1/statistics"
SEARCH = "/api/v1/catalog/1.0.0/search"


def client(emu: Emulator, **kwargs: Any) -> SentinelHub:
    return SentinelHub(
        emu.credentials.sh_client_id,
        emu.credentials.sh_client_secret,
        base_url=emu.sentinelhub_url,
        token_url=emu.sentinelhub_token_url,
        **kwargs,
    )


@pytest.fixture
async def sh(eo_emulator: Emulator) -> AsyncIterator[SentinelHub]:
    async with client(eo_emulator) as c:
        yield c


def sent(emu: Emulator, path: str) -> list[dict[str, Any]]:
    return [msgspec.json.decode(r.body) for r in emu.requests if r.path == path and r.body]


def stats_request(data: InputData, start: datetime, days: int) -> StatisticsRequest:
    return StatisticsRequest(
        input=ProcessInput(bounds=Bounds.from_bbox(BBOX), data=[data]),
        aggregation=StatisticsAggregation(
            time_range=TimeRange.of(start, start + timedelta(days=days)),
            aggregation_interval=AggregationInterval(of="P1D"),
            evalscript=EVALSCRIPT,
            width=16,
            height=16,
        ),
    )


# -- DataCollection in Process, Statistical and Catalog requests ------------------------------------


async def test_process_with_data_collections(sh: SentinelHub, eo_emulator: Emulator) -> None:
    require_spec()
    width, height = bbox_to_dimensions(BBOX, 60)  # sentinelhub-py's way of sizing an output
    typed = await sh.process(
        ProcessRequest(
            input=ProcessInput(
                bounds=Bounds.from_bbox(BBOX),
                data=[
                    InputData.of(
                        DataCollection.SENTINEL2_L2A,
                        time_range=("2024-06-01", "2024-06-30"),
                        max_cloud_coverage=20,
                        mosaicking_order="leastCC",
                    )
                ],
            ),
            output=ProcessOutput(
                width=width,
                height=height,
                responses=[OutputResponse(identifier="default", format=OutputFormat(type="image/tiff"))],
            ),
            evalscript=EVALSCRIPT,
        )
    )
    assert typed.content_type == "image/tiff" and typed.content
    await sh.process(
        {
            "input": {
                "bounds": {"bbox": BBOX},
                "data": [
                    {"type": DataCollection.SENTINEL1_IW, "dataFilter": {"orbitDirection": "ASCENDING"}}
                ],
            },
            "output": {"width": 8, "height": 8},
            "evalscript": EVALSCRIPT,
        }
    )
    first, second = sent(eo_emulator, PROCESS)
    assert (first["output"]["width"], first["output"]["height"]) == (131, 184)
    assert first["input"]["data"] == [
        {
            "type": "sentinel-2-l2a",
            "dataFilter": {
                "timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-30T23:59:59.999999Z"},
                "maxCloudCoverage": 20,
                "mosaickingOrder": "leastCC",
            },
        }
    ]
    assert second["input"]["data"] == [
        {"type": "sentinel-1-grd", "dataFilter": {"acquisitionMode": "IW", "orbitDirection": "ASCENDING"}}
    ]
    assert validate_recorded(eo_emulator.requests, path_prefix=PROCESS) == 2


async def test_statistics_with_a_data_collection(sh: SentinelHub, eo_emulator: Emulator) -> None:
    require_spec()
    data = InputData.of(DataCollection.SENTINEL2_L2A, max_cloud_coverage=50)
    answer = await sh.statistics(stats_request(data, datetime(2024, 6, 1, tzinfo=UTC), 7))
    assert len(answer.data) == 7
    (body,) = sent(eo_emulator, STATISTICS)
    assert body["input"]["data"] == [{"type": "sentinel-2-l2a", "dataFilter": {"maxCloudCoverage": 50}}]
    assert validate_recorded(eo_emulator.requests, path_prefix=STATISTICS) == 1


async def test_catalog_search_with_data_collections(sh: SentinelHub, eo_emulator: Emulator) -> None:
    require_spec()
    items = await sh.catalog.search(
        DataCollection.SENTINEL2_L2A, bbox=[13, 45, 16, 48], datetime="2023", max_items=5
    ).collect()
    assert items and {item.collection for item in items} == {"sentinel-2-l2a"}
    # Landsat lives on US West, which this client does not reach: refused, nothing sent...
    with pytest.raises(ValidationError) as info:
        sh.catalog.search(DataCollection.LANDSAT_OT_L2, max_items=1)
    assert info.value.field == "collections" and USWEST_URL in str(info.value)
    assert len(sent(eo_emulator, SEARCH)) == 1
    # ...a collection defined on a deployment it reaches is searched there.
    uswest = eo_emulator.deployment_urls[USWEST_URL]
    there = DataCollection.LANDSAT_OT_L2.define_from("LANDSAT_OT_L2_EMULATOR", service_url=uswest)
    async with client(eo_emulator, deployments={uswest: uswest}) as routed:
        landsat = await routed.catalog.search([there], datetime=("2023-01-01", None), max_items=3).collect()
    assert len(landsat) == 3 and {item.collection for item in landsat} == {"landsat-ot-l2"}
    assert sent(eo_emulator, SEARCH)[-1]["collections"] == ["landsat-ot-l2"]
    assert [r.deployment for r in eo_emulator.requests if r.path == SEARCH] == [
        "https://services.sentinel-hub.com",
        USWEST_URL,
    ]
    assert validate_recorded(eo_emulator.requests, path_prefix=SEARCH) == 2


# -- a deployment the client does not reach ----------------------------------------------------------
# (routing to the deployments a client reaches: tests/integration/test_deployment_routing.py)


async def test_a_deployment_the_client_does_not_reach_is_refused_with_nothing_sent(
    sh: SentinelHub, eo_emulator: Emulator, tmp_path: Path
) -> None:
    with pytest.raises(ValidationError) as info:
        await sh.process(
            {
                "input": {
                    "bounds": {"bbox": BBOX},
                    "data": [{"type": DataCollection.SENTINEL2_L2A}, {"type": DataCollection.LANDSAT_OT_L2}],
                },
                "evalscript": EVALSCRIPT,
            }
        )
    assert info.value.field == "input.data[1].type"
    assert USWEST_URL in info.value.message and "landsat-ot-l2" in info.value.message

    target = tmp_path / "olci.tif"
    request = ProcessRequest(
        input=ProcessInput(bounds=Bounds.from_bbox(BBOX), data=[InputData.of(DataCollection.SENTINEL3_OLCI)]),
        evalscript=EVALSCRIPT,
    )
    with pytest.raises(ValidationError) as info:
        await sh.process_to_file(request, target)
    assert info.value.field == "input.data[0].type" and CREODIAS_URL in info.value.message
    assert not target.exists() and not list(tmp_path.iterdir())  # noqa: ASYNC240 - a tiny test directory

    with pytest.raises(ValidationError) as info:
        await sh.statistics(
            stats_request(InputData.of(DataCollection.MODIS), datetime(2024, 6, 1, tzinfo=UTC), 2),
            retry_failed=2,
        )
    assert info.value.field == "input.data[0].type" and USWEST_URL in info.value.message
    assert eo_emulator.requests == []  # not even a token request


# -- statistics: retrying failed intervals ------------------------------------------------------------


def expected_retries(seed: int, starts: list[datetime], rounds: int) -> tuple[int, set[datetime]]:
    """Requests the client should send, and the intervals still failing, per the emulator's rule."""
    requests = 1
    failing = {t for t in starts if interval_fails(seed, t, 0)}
    for attempt in range(1, rounds + 1):
        if not failing:
            break
        requests += len(failing)
        failing = {t for t in failing if interval_fails(seed, t, attempt)}
    return requests, failing


def window_needing_two_rounds(seed: int) -> list[datetime]:
    """40 daily interval starts of which one fails its first retry too (found by the emulator's rule)."""
    first = datetime(2024, 1, 1, tzinfo=UTC)
    for window in range(50):
        starts = [first + timedelta(days=40 * window + d) for d in range(40)]
        if any(interval_fails(seed, t, 0) and interval_fails(seed, t, 1) for t in starts):
            return starts
    pytest.fail("no interval of the seeded emulator fails twice")


@pytest.mark.parametrize("rounds", [3, 1])
async def test_retry_failed_recovers_intervals(sh: SentinelHub, eo_emulator: Emulator, rounds: int) -> None:
    require_spec()
    seed = eo_emulator.state.stores["sh_statistics.seed"]
    starts = window_needing_two_rounds(seed)
    first_failures = {t for t in starts if interval_fails(seed, t, 0)}
    want_requests, still_failing = expected_retries(seed, starts, rounds)
    if rounds == 1:
        assert still_failing, "one retry is not enough in this window"
    assert want_requests > 1 + len(first_failures) or rounds == 1  # a second round is needed

    data = InputData.of(DataCollection.SENTINEL2_L2A)
    answer = await sh.statistics(stats_request(data, starts[0], len(starts)), retry_failed=rounds)

    bodies = sent(eo_emulator, STATISTICS)
    assert len(bodies) == want_requests
    # one request per failed interval, for that interval only; the first round asks for every failure
    retried = [datetime.fromisoformat(b["aggregation"]["timeRange"]["from"]) for b in bodies[1:]]
    assert set(retried[: len(first_failures)]) == first_failures
    assert set(retried) == first_failures
    for body in bodies[1:]:
        time_range = body["aggregation"]["timeRange"]
        length = datetime.fromisoformat(time_range["to"]) - datetime.fromisoformat(time_range["from"])
        assert length == timedelta(days=1)
        assert body["aggregation"]["aggregationInterval"] == {"of": "P1D", "lastIntervalBehavior": "SHORTEN"}
        assert body["input"] == bodies[0]["input"]

    # merged in interval order; only the intervals that kept failing keep their error
    assert [item.interval.from_ for item in answer.data] == starts
    assert {item.interval.from_ for item in answer.errors} == still_failing
    assert all(e.error is not None and e.error.type == "EXECUTION_ERROR" for e in answer.errors)
    assert all(item.outputs for item in answer.data if item.error is None)
    assert answer.status == ("PARTIAL" if still_failing else "OK")
    # every request is charged (the emulator charges each interval alike)
    assert answer.processing_units is not None and answer.processing_units > 0
    single = await sh.statistics(stats_request(data, starts[0], 1))
    assert single.processing_units is not None
    assert answer.processing_units == pytest.approx(
        single.processing_units * (len(starts) + want_requests - 1)
    )
    assert validate_recorded(eo_emulator.requests, path_prefix=STATISTICS) == want_requests + 1


async def test_no_retry_by_default(sh: SentinelHub, eo_emulator: Emulator) -> None:
    start = datetime(2024, 6, 1, tzinfo=UTC)
    answer = await sh.statistics(stats_request(InputData(type="sentinel-2-l2a"), start, 30))
    assert answer.errors and answer.status == "PARTIAL"
    assert len(sent(eo_emulator, STATISTICS)) == 1
    for bad in (-1, True, 1.5):
        with pytest.raises(ValidationError) as info:
            await sh.statistics(stats_request(InputData(type="sentinel-2-l2a"), start, 3), retry_failed=bad)  # type: ignore[arg-type]
        assert info.value.field == "retry_failed"


async def test_a_retry_that_fails_keeps_the_interval_error(eo_emulator: Emulator) -> None:
    start, days = datetime(2024, 6, 1, tzinfo=UTC), 30
    seed = eo_emulator.state.stores["sh_statistics.seed"]
    starts = [start + timedelta(days=d) for d in range(days)]
    first_failures = {t for t in starts if interval_fails(seed, t, 0)}
    assert len(first_failures) > 1
    # The first request passes (a zero latency fault takes its turn), the next one gets a 500.
    eo_emulator.faults.inject("latency", path_prefix=STATISTICS, seconds=0)
    eo_emulator.faults.inject("server_error", path_prefix=STATISTICS, status=500)
    async with client(eo_emulator, retry=RetryPolicy(attempts=1)) as sh:
        answer = await sh.statistics(
            stats_request(InputData(type="sentinel-2-l2a"), start, days), retry_failed=1
        )
    records = [r for r in eo_emulator.requests if r.path == STATISTICS]
    assert len(records) == 1 + len(first_failures)
    (broken,) = [r for r in records if r.fault == "server_error"]
    lost = datetime.fromisoformat(msgspec.json.decode(broken.body or b"")["aggregation"]["timeRange"]["from"])
    errors = {item.interval.from_: item.error for item in answer.data if item.error is not None}
    assert lost in errors and errors[lost] is not None and errors[lost].type == "EXECUTION_ERROR"
    recovered = {t for t in first_failures if t != lost and not interval_fails(seed, t, 1)}
    assert set(errors) == first_failures - recovered
    assert [item.interval.from_ for item in answer.data] == starts


async def test_a_rejected_retry_raises_itself(
    sh: SentinelHub, eo_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only transient failures of a retry are absorbed; anything else ends the call as itself.
    real = sh.transport.request
    calls = 0

    async def request(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise BadRequestError(status=400, code="COMMON_BAD_PAYLOAD", operation="statistics.request")
        return await real(*args, **kwargs)

    monkeypatch.setattr(sh.transport, "request", request)
    with pytest.raises(BadRequestError):
        await sh.statistics(
            stats_request(InputData(type="sentinel-2-l2a"), datetime(2024, 6, 1, tzinfo=UTC), 30),
            retry_failed=2,
        )
    assert calls > 1
