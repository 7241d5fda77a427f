"""Every JSON body the Async Process and Batch Statistical clients send validates against the OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest

from eoclient._redact import Secret
from eoclient.emulator import Emulator
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.async_process_models import AsyncProcessOutput, AsyncProcessRequest
from eoclient.sentinelhub.batch_statistics_models import (
    BatchStatisticsAggregation,
    BatchStatisticsInput,
    BatchStatisticsRequest,
)
from eoclient.sentinelhub.process_models import (
    Bounds,
    DataFilter,
    InputData,
    OutputFormat,
    OutputResponse,
    ProcessInput,
    TimeRange,
)
from eoclient.sentinelhub.statistics_models import (
    AggregationInterval,
    CalculationDefinition,
    HistogramDefinition,
    Percentiles,
    StatisticsDefinition,
)
from eoclient.sentinelhub.storage import ObjectStorage
from tests.contract.openapi import require_spec, spec_path_for, validate_recorded

pytestmark = pytest.mark.eo_emulator(clock_speed=400.0)

EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: ["B04", "B08", "dataMask"],
          output: [{id: "default", bands: 1, sampleType: "FLOAT32"}, {id: "dataMask", bands: 1}]};
}
function evaluatePixel(s) { return {default: [(s.B08 - s.B04) / (s.B08 + s.B04)], dataMask: [s.dataMask]}; }
"""
GEOMETRY = {"type": "Polygon", "coordinates": [[[14.0, 46.0], [14.2, 46.0], [14.2, 46.2], [14.0, 46.0]]]}


def client(emu: Emulator) -> SentinelHub:
    return SentinelHub(
        emu.credentials.sh_client_id,
        emu.credentials.sh_client_secret,
        base_url=emu.sentinelhub_url,
        token_url=emu.sentinelhub_token_url,
    )


def async_dict() -> dict[str, Any]:
    return {
        "input": {
            "bounds": {
                "bbox": [13.8, 45.8, 14.5, 46.2],
                "properties": {"crs": "http://www.opengis.net/def/crs/EPSG/0/4326"},
            },
            "data": [
                {
                    "type": "sentinel-2-l2a",
                    "dataFilter": {
                        "timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-30T00:00:00Z"}
                    },
                }
            ],
        },
        "output": {
            "resx": 0.0001,
            "resy": 0.0001,
            "responses": [{"identifier": "default", "format": {"type": "image/tiff"}}],
        },
        "evalscript": EVALSCRIPT,
    }


def batch_dict() -> dict[str, Any]:
    keys = {"accessKey": "AKIACONTRACTKEY00001", "secretAccessKey": "contract-secret-access-key-0001"}
    return {
        "input": {
            "features": {"s3": {"url": "s3://my-bucket/fields.gpkg", **keys}},
            "data": [{"type": "sentinel-2-l2a", "dataFilter": {"mosaickingOrder": "leastCC"}}],
        },
        "aggregation": {
            "timeRange": {"from": "2020-06-01T00:00:00Z", "to": "2020-07-31T00:00:00Z"},
            "aggregationInterval": {"of": "P30D", "lastIntervalBehavior": "SHORTEN"},
            "evalscript": EVALSCRIPT,
            "resx": 10,
            "resy": 10,
        },
        "calculations": {"default": {"histograms": {"default": {"nBins": 5, "lowEdge": -1, "highEdge": 1}}}},
        "output": {"s3": {"url": "s3://my-bucket/results/<ID>.json", **keys, "region": "eu-central-1"}},
    }


async def test_async_and_batch_statistics_bodies_match_the_openapi(eo_emulator: Emulator) -> None:
    require_spec()
    async with client(eo_emulator) as sh:
        # Async Process: a docs-style dict, a typed model, every delivery flavour.
        jobs = [
            # read=False: this test is about the bodies; reading the outputs is tested elsewhere.
            await sh.async_process.create(async_dict(), delivery="s3://my-bucket/async", read=False),
            await sh.async_process.create(
                async_dict(),
                delivery=ObjectStorage.from_s3(
                    "s3://my-bucket/<REQUEST_ID>/<OUTPUT>",
                    access_key="AKIACONTRACTKEY00002",
                    secret_access_key=Secret("contract-secret-access-key-0002"),
                    region="eu-central-1",
                ),
                read=False,
            ),
            await sh.async_process.create(
                AsyncProcessRequest(
                    input=ProcessInput(
                        bounds=Bounds.from_geometry(GEOMETRY, crs=4326),
                        data=[
                            InputData(type="sentinel-2-l1c", data_filter=DataFilter(max_cloud_coverage=30))
                        ],
                    ),
                    evalscript_reference=ObjectStorage.from_s3(
                        "s3://my-bucket/script.js", iam_role_arn="arn:aws:iam::123456789012:role/sh"
                    ),
                    output=AsyncProcessOutput(
                        width=6000,
                        height=6000,
                        responses=[
                            OutputResponse(identifier="default", format=OutputFormat(type="image/tiff")),
                            OutputResponse(
                                identifier="userdata", format=OutputFormat(type="application/json")
                            ),
                        ],
                        delivery=ObjectStorage.from_gs(
                            "gs://my-bucket/async", credentials="eyJ0eXBlIjogInNlcnZpY2UifQ=="
                        ),
                    ),
                ),
                read=False,
            ),
        ]
        for job in jobs:
            await job

        # Batch Statistical: dict and typed model, then every action.
        bs = sh.batch_statistics
        first = await bs.create(batch_dict())
        await bs.analyse(first)
        await bs.start(first)
        await first
        typed = BatchStatisticsRequest(
            input=BatchStatisticsInput(
                features=ObjectStorage.from_s3(
                    "s3://my-bucket/other.gpkg", iam_role_arn="arn:aws:iam::1:role/sh"
                ),
                data=[InputData.of("sentinel-2-l2a", time_range=("2024-01-01", "2024-01-31"))],
            ),
            aggregation=BatchStatisticsAggregation(
                time_range=TimeRange.of("2024-01-01T00:00:00Z", "2024-03-01T00:00:00Z"),
                aggregation_interval=AggregationInterval(of="P1M"),
                evalscript=EVALSCRIPT,
                width=100,
                height=100,
            ),
            calculations={
                "default": CalculationDefinition(
                    statistics={"default": StatisticsDefinition(percentiles=Percentiles(k=[0.25, 0.75]))},
                    histograms={"default": HistogramDefinition(bins=[-1.0, 0.0, 1.0])},
                )
            },
            output=ObjectStorage.from_s3("s3://my-bucket/typed-results"),
        )
        second = await bs.create(typed, start=True)
        await second.cancel()
        await bs.list(sort="created:desc").collect()

    sent = {(r.method, spec_path_for(r.path)) for r in eo_emulator.requests if r.path.startswith("/api/")}
    assert ("POST", "/async/v1/process") in sent and ("GET", "/async/v1/process/{requestId}") in sent
    assert ("POST", "/statistics/batch/v1") in sent and ("GET", "/statistics/batch/v1") in sent
    for action in ("analyse", "start", "stop"):
        assert ("POST", f"/statistics/batch/v1/{{requestId}}/{action}") in sent
    checked = validate_recorded(eo_emulator.requests, path_prefix="/api/v1/async/process")
    assert checked == 3
    checked = validate_recorded(eo_emulator.requests, path_prefix="/api/v1/statistics/batch")
    assert checked == 2
