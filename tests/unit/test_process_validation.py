"""Client-side checks of Process and Statistical requests: the field is named and nothing is sent."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from eoclient.emulator import Emulator
from eoclient.errors import ValidationError
from eoclient.geo import CRS84, BBox
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.prepared import prepare_process, prepare_statistics
from eoclient.sentinelhub.process_models import (
    Bounds,
    DataFilter,
    InputData,
    OutputFormat,
    OutputResponse,
    ProcessInput,
    ProcessOutput,
    ProcessRequest,
    TimeRange,
    resolve_accept,
)
from eoclient.sentinelhub.statistics_models import parse_duration, split_time_range

EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: ["B02", "B03", "B04"], output: {bands: 3}};
}
function evaluatePixel(s) { return [s.B04, s.B03, s.B02]; }
"""


def process_body() -> dict[str, Any]:
    return {
        "input": {
            "bounds": {"bbox": [13.8, 45.8, 14.5, 46.2], "properties": {"crs": CRS84}},
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
            "width": 64,
            "height": 64,
            "responses": [{"identifier": "default", "format": {"type": "image/tiff"}}],
        },
        "evalscript": EVALSCRIPT,
    }


def statistics_body() -> dict[str, Any]:
    return {
        "input": {"bounds": {"bbox": [13.8, 45.8, 14.5, 46.2]}, "data": [{"type": "sentinel-2-l2a"}]},
        "aggregation": {
            "timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-30T00:00:00Z"},
            "aggregationInterval": {"of": "P1D"},
            "evalscript": EVALSCRIPT,
            "width": 32,
            "height": 32,
        },
        "calculations": {"default": {"statistics": {"default": {"percentiles": {"k": [0.1, 0.9]}}}}},
    }


Mutation = Callable[[dict[str, Any]], Any]


def edit(path: str, value: Any = ..., *, drop: bool = False) -> Mutation:
    """A mutation setting (or dropping) ``a.b[0].c`` in a request dict."""

    def apply(body: dict[str, Any]) -> None:
        keys: list[Any] = []
        for part in path.split("."):
            name, _, index = part.partition("[")
            keys.append(name)
            if index:
                keys.append(int(index.rstrip("]")))
        target: Any = body
        for key in keys[:-1]:
            target = target[key]
        if drop:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value

    return apply


PROCESS_CASES: list[tuple[str, Mutation, str]] = [
    ("no evalscript", edit("evalscript", drop=True), "evalscript"),
    ("empty evalscript", edit("evalscript", "  \n"), "evalscript"),
    ("no bounds", edit("input.bounds", drop=True), "input.bounds"),
    ("empty bounds", edit("input.bounds", {}), "input.bounds"),
    ("bbox min_x > max_x", edit("input.bounds.bbox", [14.5, 45.8, 13.8, 46.2]), "input.bounds.bbox"),
    ("bbox min_y > max_y", edit("input.bounds.bbox", [13.8, 46.2, 14.5, 45.8]), "input.bounds.bbox"),
    ("bbox of three numbers", edit("input.bounds.bbox", [1, 2, 3]), "input.bounds.bbox"),
    ("size and resolution", edit("output.resx", 0.001), "output"),
    ("resx without resy", lambda b: b["output"].update(width=None, height=None, resx=0.01), "output.resy"),
    (
        "unknown format",
        edit("output.responses[0].format.type", "image/gif"),
        "output.responses[0].format.type",
    ),
    (
        "octet-stream is an Accept, not a format",
        edit("output.responses[0].format.type", "application/octet-stream"),
        "output.responses[0].format.type",
    ),
    ("width too large", edit("output.width", 2501), "output.width"),
    ("height zero", edit("output.height", 0), "output.height"),
    ("width not a number", edit("output.width", "wide"), "output.width"),
    (
        "resolution too fine",
        lambda b: b["output"].update(width=None, height=None, resx=1e-6, resy=1e-6),
        "output.resx",
    ),
    ("empty data", edit("input.data", []), "input.data"),
    ("no data", edit("input.data", drop=True), "input.data"),
    ("data without type", edit("input.data[0].type", drop=True), "input.data[0].type"),
    (
        "timeRange from after to",
        edit("input.data[0].dataFilter.timeRange.from", "2024-07-01T00:00:00Z"),
        "input.data[0].dataFilter.timeRange",
    ),
    (
        "timeRange not a date-time",
        edit("input.data[0].dataFilter.timeRange.to", "June"),
        "input.data[0].dataFilter.timeRange.to",
    ),
    (
        "cloud coverage above 100",
        edit("input.data[0].dataFilter.maxCloudCoverage", 120),
        "input.data[0].dataFilter.maxCloudCoverage",
    ),
    (
        "unknown mosaicking order",
        edit("input.data[0].dataFilter.mosaickingOrder", "newest"),
        "input.data[0].dataFilter.mosaickingOrder",
    ),
    (
        "point geometry",
        edit("input.bounds.geometry", {"type": "Point", "coordinates": [14, 46]}),
        "input.bounds.geometry",
    ),
    ("bad CRS", edit("input.bounds.properties.crs", "EPSG:lots"), "input.bounds.properties.crs"),
    (
        "duplicate identifiers",
        edit("output.responses", [{"identifier": "a"}, {"identifier": "a"}]),
        "output.responses[1].identifier",
    ),
    ("empty responses", edit("output.responses", []), "output.responses"),
]


@pytest.mark.parametrize(
    ("mutate", "field"), [c[1:] for c in PROCESS_CASES], ids=[c[0] for c in PROCESS_CASES]
)
def test_process_request_checks_name_the_field(mutate: Mutation, field: str) -> None:
    body = process_body()
    mutate(body)
    with pytest.raises(ValidationError) as info:
        prepare_process(body)
    assert info.value.field == field


def test_a_valid_request_passes_and_keeps_unknown_keys() -> None:
    body = process_body()
    body["input"]["data"][0]["dataFilter"]["someNewFilter"] = {"x": [1, 2]}
    body["input"]["data"][0]["processing"] = {"upsampling": "BICUBIC", "futureOption": True}
    body["input"]["bounds"]["properties"]["crs"] = 32633  # an EPSG code becomes the OGC URL
    body["input"]["bounds"]["bbox"] = [500000, 5000000, 510000, 5010000]
    body["customTopLevel"] = "kept"
    prepared = prepare_process(body)
    model, wire = prepared.model, prepared.wire
    assert wire["input"]["data"][0]["dataFilter"]["someNewFilter"] == {"x": [1, 2]}
    assert wire["input"]["data"][0]["processing"] == {"upsampling": "BICUBIC", "futureOption": True}
    assert wire["input"]["bounds"]["properties"]["crs"] == "http://www.opengis.net/def/crs/EPSG/0/32633"
    assert wire["customTopLevel"] == "kept"
    assert model.input is not None and model.input.data is not None
    flt = model.input.data[0].data_filter
    assert flt is not None and flt.time_range is not None
    assert flt.time_range.from_ == datetime(2024, 6, 1, tzinfo=UTC)


def test_typed_request_checks_too() -> None:
    good = ProcessRequest(
        input=ProcessInput(
            bounds=Bounds.from_bbox(BBox(13.8, 45.8, 14.5, 46.2, crs=4326)),
            data=[
                InputData(
                    type="sentinel-2-l2a",
                    data_filter=DataFilter(
                        time_range=TimeRange.of(datetime(2024, 6, 1), "2024-06-30T00:00:00+02:00")
                    ),
                )
            ],  # naive datetimes are UTC
        ),
        output=ProcessOutput(
            width=10, height=10, responses=[OutputResponse(format=OutputFormat(type="image/png"))]
        ),
        evalscript=EVALSCRIPT,
    )
    wire = prepare_process(good).wire
    assert wire["input"]["bounds"] == {"bbox": [13.8, 45.8, 14.5, 46.2], "properties": {"crs": CRS84}}
    assert wire["input"]["data"][0]["dataFilter"]["timeRange"] == {
        "from": "2024-06-01T00:00:00Z",
        "to": "2024-06-30T00:00:00+02:00",
    }
    with pytest.raises(ValidationError) as info:
        prepare_process(ProcessRequest(input=good.input, output=ProcessOutput(width=3000), evalscript="x"))
    assert info.value.field == "output.width"
    with pytest.raises(ValidationError, match=r"timeRange\.from"):
        TimeRange.of("yesterday", "2024-06-30T00:00:00Z")


def test_resolve_accept() -> None:
    single = prepare_process(process_body()).model
    assert resolve_accept(single, None) == "image/tiff"
    assert resolve_accept(single, "image/png") == "image/png"
    body = process_body()
    body["output"]["responses"].append({"identifier": "userdata", "format": {"type": "application/json"}})
    multi = prepare_process(body).model
    assert resolve_accept(multi, None) == "application/x-tar"  # the name the contract lists for 200
    assert resolve_accept(multi, "multipart/mixed") == "multipart/mixed"
    with pytest.raises(ValidationError, match="2 responses"):
        resolve_accept(multi, "image/tiff")
    with pytest.raises(ValidationError) as info:
        resolve_accept(single, "text/html")
    assert info.value.field == "accept"
    default = prepare_process({k: v for k, v in process_body().items() if k != "output"}).model
    assert resolve_accept(default, None) == "image/png"


STATISTICS_CASES: list[tuple[str, Mutation, str]] = [
    ("no evalscript", edit("aggregation.evalscript", drop=True), "aggregation.evalscript"),
    ("blank evalscript", edit("aggregation.evalscript", ""), "aggregation.evalscript"),
    ("no aggregation", edit("aggregation", drop=True), "aggregation"),
    ("no bounds", edit("input.bounds", drop=True), "input.bounds"),
    ("bad bbox", edit("input.bounds.bbox", [14.5, 45.8, 13.8, 46.2]), "input.bounds.bbox"),
    ("no timeRange", edit("aggregation.timeRange", drop=True), "aggregation.timeRange"),
    ("open timeRange", edit("aggregation.timeRange.to", drop=True), "aggregation.timeRange"),
    ("from after to", edit("aggregation.timeRange.from", "2024-07-01T00:00:00Z"), "aggregation.timeRange"),
    ("empty timeRange", edit("aggregation.timeRange.to", "2024-06-01T00:00:00Z"), "aggregation.timeRange"),
    ("no interval", edit("aggregation.aggregationInterval", drop=True), "aggregation.aggregationInterval"),
    (
        "interval not ISO-8601",
        edit("aggregation.aggregationInterval.of", "1 day"),
        "aggregation.aggregationInterval.of",
    ),
    (
        "zero interval",
        edit("aggregation.aggregationInterval.of", "P0D"),
        "aggregation.aggregationInterval.of",
    ),
    (
        "bad last interval behavior",
        edit("aggregation.aggregationInterval.lastIntervalBehavior", "DROP"),
        "aggregation.aggregationInterval.lastIntervalBehavior",
    ),
    ("size and resolution", edit("aggregation.resx", 0.01), "aggregation"),
    ("width too large", edit("aggregation.width", 5000), "aggregation.width"),
    ("empty data", edit("input.data", []), "input.data"),
    (
        "percentile out of range",
        edit("calculations.default.statistics.default.percentiles.k", [-0.5]),
        "calculations.default.statistics.default.percentiles.k",
    ),
    (
        "two histogram kinds",
        edit("calculations.default.histograms", {"B0": {"nBins": 4, "binWidth": 0.1}}),
        "calculations.default.histograms.B0",
    ),
    (
        "histogram bins not increasing",
        edit("calculations.default.histograms", {"B0": {"bins": [0, 0.5, 0.2]}}),
        "calculations.default.histograms.B0.bins",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "field"), [c[1:] for c in STATISTICS_CASES], ids=[c[0] for c in STATISTICS_CASES]
)
def test_statistics_request_checks_name_the_field(mutate: Mutation, field: str) -> None:
    body = statistics_body()
    mutate(body)
    with pytest.raises(ValidationError) as info:
        prepare_statistics(body)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("text", "months", "seconds"),
    [
        ("P1D", 0, 86400),
        ("P2W", 0, 14 * 86400),
        ("P1M", 1, 0),
        ("P1Y2M", 14, 0),
        ("PT12H", 0, 43200),
        ("P1DT0.5S", 0, 86400.5),
    ],
)
def test_parse_duration(text: str, months: int, seconds: float) -> None:
    duration = parse_duration(text)
    assert duration.months == months
    assert duration.span.total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "P", "PT", "1D", "P1H", "PT1D", "P-1D", "P0D"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_duration(text)


def test_split_time_range_honours_last_interval_behavior() -> None:
    start, end = datetime(2024, 1, 31, tzinfo=UTC), datetime(2024, 4, 15, tzinfo=UTC)
    month = parse_duration("P1M")
    skip = split_time_range(start, end, month)
    assert [a.date().isoformat() for a, _ in skip] == ["2024-01-31", "2024-02-29"]  # month ends clamp
    assert skip[-1][1] == datetime(2024, 3, 29, tzinfo=UTC)
    assert split_time_range(start, end, month, "SHORTEN")[-1] == (datetime(2024, 3, 29, tzinfo=UTC), end)
    assert split_time_range(start, end, month, "EXTEND")[-1][1] == datetime(2024, 4, 29, tzinfo=UTC)


# -- nothing reaches the service ----------------------------------------------------------


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


@pytest.mark.parametrize(
    ("mutate", "field"), [c[1:] for c in PROCESS_CASES], ids=[c[0] for c in PROCESS_CASES]
)
async def test_invalid_process_requests_send_nothing(
    sh: SentinelHub, eo_emulator: Emulator, mutate: Mutation, field: str
) -> None:
    body = process_body()
    mutate(body)
    with pytest.raises(ValidationError) as info:
        await sh.process(body)
    assert info.value.field == field
    with pytest.raises(ValidationError):
        await sh.process_to_file(copy.deepcopy(body), "never-written.tif")
    assert eo_emulator.requests == []  # not even a token request


async def test_invalid_accept_sends_nothing(sh: SentinelHub, eo_emulator: Emulator) -> None:
    with pytest.raises(ValidationError) as info:
        await sh.process(process_body(), accept="image/gif")
    assert info.value.field == "accept"
    assert eo_emulator.requests == []


@pytest.mark.parametrize(
    ("mutate", "field"), [c[1:] for c in STATISTICS_CASES], ids=[c[0] for c in STATISTICS_CASES]
)
async def test_invalid_statistics_requests_send_nothing(
    sh: SentinelHub, eo_emulator: Emulator, mutate: Mutation, field: str
) -> None:
    body = statistics_body()
    mutate(body)
    with pytest.raises(ValidationError) as info:
        await sh.statistics(body)
    assert info.value.field == field
    assert eo_emulator.requests == []
