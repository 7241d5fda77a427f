"""Every Process and Statistical request body the client sends fits the official OpenAPI document."""

from __future__ import annotations

import pytest

from eoclient.emulator import Emulator
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.process_models import (
    Bounds,
    DataFilter,
    InputData,
    OutputFormat,
    OutputResponse,
    Processing,
    ProcessInput,
    ProcessOutput,
    ProcessRequest,
    TimeRange,
)
from eoclient.sentinelhub.statistics_models import (
    AggregationInterval,
    CalculationDefinition,
    HistogramDefinition,
    Percentiles,
    StatisticsAggregation,
    StatisticsDefinition,
    StatisticsRequest,
)
from tests.contract.openapi import require_spec, validate_recorded

EVALSCRIPT = """//VERSION=3
function setup() {
  return {
    input: [{bands: ["B02", "B03", "B04", "dataMask"]}],
    output: [{id: "default", bands: 3}, {id: "dataMask", bands: 1}],
  };
}
function evaluatePixel(s) { return {default: [s.B04, s.B03, s.B02], dataMask: [s.dataMask]}; }
"""
BBOX = [13.8, 45.8, 14.5, 46.2]
POLYGON = {
    "type": "Polygon",
    "coordinates": [[[13.9, 45.9], [14.4, 45.9], [14.4, 46.1], [13.9, 45.9]]],
}


@pytest.mark.integration
async def test_process_and_statistics_bodies_fit_the_openapi(eo_emulator: Emulator) -> None:
    require_spec()
    creds = eo_emulator.credentials
    async with SentinelHub(
        creds.sh_client_id,
        creds.sh_client_secret,
        base_url=eo_emulator.sentinelhub_url,
        token_url=eo_emulator.sentinelhub_token_url,
    ) as sh:
        # a docs-style dict: bbox, filters, two responses
        await sh.process(
            {
                "input": {
                    "bounds": {"bbox": BBOX, "properties": {"crs": 4326}},
                    "data": [
                        {
                            "type": "sentinel-2-l2a",
                            "dataFilter": {
                                "timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-30T00:00:00Z"},
                                "maxCloudCoverage": 20,
                                "mosaickingOrder": "leastCC",
                            },
                            "processing": {"upsampling": "BILINEAR", "harmonizeValues": True},
                        }
                    ],
                },
                "output": {
                    "width": 32,
                    "height": 32,
                    "responses": [
                        {"identifier": "default", "format": {"type": "image/tiff"}},
                        {"identifier": "userdata", "format": {"type": "application/json"}},
                    ],
                },
                "evalscript": EVALSCRIPT,
            }
        )
        # typed, with a geometry, resolution and JPEG quality
        await sh.process(
            ProcessRequest(
                input=ProcessInput(
                    bounds=Bounds.from_geometry(POLYGON, crs=4326),
                    data=[
                        InputData(
                            type="sentinel-2-l1c",
                            data_filter=DataFilter(
                                time_range=TimeRange.of("2024-06-01T00:00:00Z", "2024-06-02T00:00:00Z")
                            ),
                            processing=Processing(downsampling="BICUBIC"),
                        )
                    ],
                ),
                output=ProcessOutput(
                    resx=0.01,
                    resy=0.01,
                    responses=[
                        OutputResponse(
                            identifier="default", format=OutputFormat(type="image/jpeg", quality=80)
                        )
                    ],
                ),
                evalscript=EVALSCRIPT,
            )
        )
        # the bare minimum: no output at all
        await sh.process(
            {
                "input": {"bounds": {"bbox": BBOX}, "data": [{"type": "sentinel-2-l2a"}]},
                "evalscript": EVALSCRIPT,
            },
            accept="image/png",
        )
        await sh.statistics(
            StatisticsRequest(
                input=ProcessInput(bounds=Bounds.from_bbox(BBOX), data=[InputData(type="sentinel-2-l2a")]),
                aggregation=StatisticsAggregation(
                    time_range=TimeRange.of("2024-06-01T00:00:00Z", "2024-06-11T00:00:00Z"),
                    aggregation_interval=AggregationInterval(of="P5D", last_interval_behavior="SHORTEN"),
                    evalscript=EVALSCRIPT,
                    width=20,
                    height=20,
                ),
                calculations={
                    "default": CalculationDefinition(
                        statistics={"default": StatisticsDefinition(percentiles=Percentiles(k=[0.25, 0.75]))},
                        histograms={
                            "B0": HistogramDefinition(n_bins=4),
                            "B1": HistogramDefinition(bins=[0, 0.5, 1]),
                        },
                    )
                },
            )
        )
        await sh.statistics(
            {
                "input": {"bounds": {"geometry": POLYGON}, "data": [{"type": "sentinel-2-l2a"}]},
                "aggregation": {
                    "timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-07-01T00:00:00Z"},
                    "aggregationInterval": {"of": "P1M"},
                    "evalscript": EVALSCRIPT,
                    "resx": 0.01,
                    "resy": 0.01,
                },
            }
        )

    records = eo_emulator.requests
    assert validate_recorded(records, path_prefix="/api/v1/process") == 3
    assert validate_recorded(records, path_prefix="/api/v1/statistics") == 2
