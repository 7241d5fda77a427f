"""Bad input is named before anything is sent (issue #10): geometries and request field types.

Every call here goes to a live emulator; each bad one must raise
:class:`~eoclient.errors.ValidationError` naming the field and leave the
emulator's request log empty (not even a login).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from eoclient.emulator import Emulator
from eoclient.errors import APIError, ValidationError
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.process_models import Bounds, InputData, ProcessInput, ProcessOutput, ProcessRequest
from eoclient.spaceknow import SpaceKnow

EVALSCRIPT = """//VERSION=3
function setup() { return {input: ["B04", "dataMask"], output: {bands: 1}}; }
function evaluatePixel(s) { return [s.B04]; }
"""
RING = [[14.3, 49.9], [14.6, 49.9], [14.6, 50.2], [14.3, 50.2], [14.3, 49.9]]
POLYGON = {"type": "Polygon", "coordinates": [RING]}
FEATURE = {"type": "Feature", "properties": {"name": "Prague"}, "geometry": POLYGON}
UID = "0e6c4a3d-5a4a-4b0e-9a3c-4d2f8e7c1a11"
ROLE = "arn:aws:iam::123456789012:role/batch"
TIME_RANGE = {"from": "2020-06-01T00:00:00Z", "to": "2020-06-05T00:00:00Z"}
PSSCENE = ("pl", "PSScene")

Call = Callable[[SentinelHub, SpaceKnow], Awaitable[Any]]


def bounds_request(bounds: dict[str, Any], **output: Any) -> dict[str, Any]:
    """A Process API request over ``bounds`` (the documentation's shape)."""
    return {
        "input": {
            "bounds": bounds,
            "data": [{"type": "sentinel-2-l2a", "dataFilter": {"timeRange": TIME_RANGE}}],
        },
        "output": {"width": 16, "height": 16, **output},
        "evalscript": EVALSCRIPT,
    }


def statistics_request(bounds: dict[str, Any], **aggregation: Any) -> dict[str, Any]:
    return {
        "input": bounds_request(bounds)["input"],
        "aggregation": {
            "timeRange": TIME_RANGE,
            "aggregationInterval": {"of": "P1D"},
            "evalscript": EVALSCRIPT,
            "resx": 0.01,
            "resy": 0.01,
            **aggregation,
        },
    }


def batch_spec(bounds: dict[str, Any], **grid: Any) -> dict[str, Any]:
    request = bounds_request(bounds)
    request["output"] = {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]}
    return {
        "processRequest": request,
        "input": {"type": "tiling-grid", "id": 0, "resolution": 60.0, **grid},
        "output": {
            "type": "raster",
            "delivery": {"s3": {"url": "s3://bucket/<tileName>/<outputId>.tif", "iamRoleARN": ROLE}},
        },
    }


def datapoints_filters(geometry: Any) -> list[dict[str, Any]]:
    return [
        {"type": "value-list", "field": "project", "params": {"values": ["coal"]}},
        {"type": "value-list", "field": "algorithm", "params": {"values": ["ndmi_mean"]}},
        {"type": "geo-intersects", "field": "aoi", "params": {"geometry": geometry}},
    ]


# Every place a geometry is taken, and the field that names it.
GEOMETRY_CALLS: dict[str, tuple[Callable[[Any], Call], str]] = {
    "process": (
        lambda g: lambda sh, sk: sh.process(bounds_request({"geometry": g})),
        "input.bounds.geometry",
    ),
    "statistics": (
        lambda g: lambda sh, sk: sh.statistics(statistics_request({"geometry": g})),
        "input.bounds.geometry",
    ),
    "batch": (
        lambda g: lambda sh, sk: sh.batch.create(batch_spec({"geometry": g})),
        "processRequest.input.bounds.geometry",
    ),
    "async_process": (
        lambda g: (
            lambda sh, sk: sh.async_process.create(
                bounds_request({"geometry": g}), delivery="s3://bucket/out"
            )
        ),
        "input.bounds.geometry",
    ),
    "catalog": (
        lambda g: (
            lambda sh, sk: sh.catalog.search(
                "sentinel-2-l2a", intersects=g, datetime="2020-06-01T00:00:00Z/2020-06-30T00:00:00Z"
            ).collect()
        ),
        "intersects",
    ),
    "byoc": (
        lambda g: lambda sh, sk: sh.byoc.create_tile(UID, {"path": "tiles/t1", "coverGeometry": g}),
        "tile.coverGeometry",
    ),
    "sk_imagery": (lambda g: lambda sh, sk: sk.imagery.search_job([PSSCENE], g), "extent"),
    "sk_kraken": (lambda g: lambda sh, sk: sk.kraken.release("imagery", ["scene-1"], g), "extent"),
    "sk_credits": (lambda g: lambda sh, sk: sk.credits.check_area(["scene-1"], g), "geojson"),
    "sk_datacube": (
        lambda g: lambda sh, sk: sk.datacube.datapoints(datapoints_filters(g)),
        "filters[2].params.geometry",
    ),
}


def polygon(*ring: tuple[float, float]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


# A bad geometry, where in it the mistake is, and what the message says.
BAD_GEOMETRIES: dict[str, tuple[Any, str, str]] = {
    "latitude_95": (
        polygon((14.3, 49.9), (14.6, 49.9), (14.6, 95.0), (14.3, 49.9)),
        ".coordinates[0][2][1]",
        "latitude 95 is outside [-90, 90]",
    ),
    "longitude_190": (
        polygon((14.3, 49.9), (190.0, 49.9), (14.6, 50.2), (14.3, 49.9)),
        ".coordinates[0][1][0]",
        "longitude 190 is outside [-180, 180]",
    ),
    "ring_not_closed": (
        polygon((14.3, 49.9), (14.6, 49.9), (14.6, 50.2), (14.3, 50.2)),
        ".coordinates[0]",
        "not closed",
    ),
    "ring_of_three": (
        polygon((14.3, 49.9), (14.6, 49.9), (14.3, 49.9)),
        ".coordinates[0]",
        "at least four positions",
    ),
    "two_features": (
        {"type": "FeatureCollection", "features": [FEATURE, FEATURE]},
        "",
        "FeatureCollection of 2 features",
    ),
}


@pytest.mark.parametrize("bad", BAD_GEOMETRIES)
@pytest.mark.parametrize("where", GEOMETRY_CALLS)
async def test_bad_geometries_are_named_before_sending(
    eo_emulator: Emulator, sh: SentinelHub, sk: SpaceKnow, where: str, bad: str
) -> None:
    make, field = GEOMETRY_CALLS[where]
    geometry, inside, message = BAD_GEOMETRIES[bad]
    with pytest.raises(ValidationError, match=re.escape(message)) as info:
        await make(geometry)(sh, sk)
    assert info.value.field == field + inside
    assert eo_emulator.requests == []


@pytest.mark.parametrize(
    ("bounds", "field", "message"),
    [
        ({"bbox": [14.3, 49.9, 14.6, 95.0]}, "input.bounds.bbox[3]", "latitude 95"),
        ({"bbox": [-190.0, 49.9, 14.6, 50.2]}, "input.bounds.bbox[0]", "longitude -190"),
        (  # a UTM box has its own range: eastings are never negative
            {"bbox": [-5000.0, 5_500_000.0, 10_000.0, 5_510_000.0], "properties": {"crs": "EPSG:32633"}},
            "input.bounds.bbox[0]",
            "easting -5000 is outside",
        ),
        (  # longitude/latitude written with a UTM CRS would be fine; northings past a pole are not
            {
                "geometry": polygon((500_000, 0), (501_000, 0), (501_000, 12_000_000), (500_000, 0)),
                "properties": {"crs": "http://www.opengis.net/def/crs/EPSG/0/32633"},
            },
            "input.bounds.geometry.coordinates[0][2][1]",
            "northing 12000000 is outside",
        ),
    ],
)
async def test_bboxes_are_checked_in_their_crs(
    eo_emulator: Emulator, sh: SentinelHub, bounds: dict[str, Any], field: str, message: str
) -> None:
    for call, prefix in (
        (lambda: sh.process(bounds_request(bounds)), ""),
        (lambda: sh.statistics(statistics_request(bounds)), ""),
        (lambda: sh.batch.create(batch_spec(bounds)), "processRequest."),
    ):
        with pytest.raises(ValidationError, match=re.escape(message)) as info:
            await call()
        assert info.value.field == prefix + field
    with pytest.raises(ValidationError, match="latitude 95") as info:
        await sh.catalog.search(
            "sentinel-2-l2a", bbox=[14.3, 49.9, 14.6, 95.0], datetime="2020-06-01/2020-06-30"
        )
    assert info.value.field == "bbox[3]"
    assert eo_emulator.requests == []


# -- a Feature where a geometry is expected: its geometry is sent, never its own keys -----------

# Where each call's geometry is in the JSON body it sends.
SENT_GEOMETRY: dict[str, Callable[[dict[str, Any]], Any]] = {
    "process": lambda body: body["input"]["bounds"]["geometry"],
    "statistics": lambda body: body["input"]["bounds"]["geometry"],
    "batch": lambda body: body["processRequest"]["input"]["bounds"]["geometry"],
    "async_process": lambda body: body["input"]["bounds"]["geometry"],
    "catalog": lambda body: body["intersects"],
    "byoc": lambda body: body["coverGeometry"],
    "sk_imagery": lambda body: body["extent"],
    "sk_kraken": lambda body: body["extent"],
    "sk_credits": lambda body: body["geojson"],
    "sk_datacube": lambda body: body["filters"][2]["params"]["geometry"],
}
ONE_FEATURE = {"type": "FeatureCollection", "features": [FEATURE]}


@pytest.mark.parametrize(
    ("where", "given"),
    [
        *((w, FEATURE) for w in ("process", "statistics", "batch", "async_process")),
        *((w, ONE_FEATURE) for w in GEOMETRY_CALLS),
    ],
)
async def test_a_feature_stands_for_its_geometry(
    eo_emulator: Emulator, sh: SentinelHub, sk: SpaceKnow, where: str, given: dict[str, Any]
) -> None:
    make, _ = GEOMETRY_CALLS[where]
    with contextlib.suppress(APIError):  # what the emulator answers is not the point: what was sent is
        await make(given)(sh, sk)
    bodies = [json.loads(r.body) for r in eo_emulator.requests if r.body and r.method in ("POST", "PUT")]
    assert bodies, "nothing was sent"
    assert SENT_GEOMETRY[where](bodies[-1]) == POLYGON


# -- wrong types in request fields ------------------------------------------------------------------

WRONG_TYPES: list[tuple[str, Call, str]] = [
    (
        "process width str",
        lambda sh, sk: sh.process(bounds_request({"geometry": POLYGON}, width="32")),
        "output.width",
    ),
    (
        "process model width str",
        lambda sh, sk: sh.process(
            ProcessRequest(
                input=ProcessInput(
                    bounds=Bounds.from_geometry(POLYGON), data=[InputData(type="sentinel-2-l2a")]
                ),
                output=ProcessOutput(width="32", height=16),  # type: ignore[arg-type]  # the mistake under test
                evalscript=EVALSCRIPT,
            )
        ),
        "output.width",
    ),
    (
        "process bbox str",
        lambda sh, sk: sh.process(bounds_request({"bbox": ["14.3", 49.9, 14.6, 50.2]})),
        "input.bounds.bbox[0]",
    ),
    (
        "process quality str",
        lambda sh, sk: sh.process(
            bounds_request(
                {"geometry": POLYGON},
                responses=[{"identifier": "default", "format": {"type": "image/jpeg", "quality": "90"}}],
            )
        ),
        "output.responses[0].format.quality",
    ),
    (
        "process time number",
        lambda sh, sk: sh.process(
            {
                **bounds_request({"geometry": POLYGON}),
                "input": {
                    "bounds": {"geometry": POLYGON},
                    "data": [{"type": "sentinel-2-l2a", "dataFilter": {"timeRange": {"from": 1590969600}}}],
                },
            }
        ),
        "input.data[0].dataFilter.timeRange.from",
    ),
    (
        "statistics resx str",
        lambda sh, sk: sh.statistics(statistics_request({"geometry": POLYGON}, resx="0.01")),
        "aggregation.resx",
    ),
    (
        "batch resolution str",
        lambda sh, sk: sh.batch.create(batch_spec({"geometry": POLYGON}, resolution="60")),
        "input.resolution",
    ),
    (
        "async height str",
        lambda sh, sk: sh.async_process.create(
            bounds_request({"geometry": POLYGON}, height="16"), delivery="s3://bucket/out"
        ),
        "output.height",
    ),
    (
        "batch statistics resy str",
        lambda sh, sk: sh.batch_statistics.create(
            {
                "input": {
                    "features": {"s3": {"url": "s3://bucket/fields.gpkg", "iamRoleARN": ROLE}},
                    "data": [{"type": "sentinel-2-l2a"}],
                },
                "aggregation": statistics_request({"geometry": POLYGON}, resy="10")["aggregation"],
                "output": {"s3": {"url": "s3://bucket/results", "iamRoleARN": ROLE}},
            }
        ),
        "aggregation.resy",
    ),
    (
        "byoc noData str",
        lambda sh, sk: sh.byoc.create_collection({"name": "c", "s3Bucket": "bucket", "noData": "0"}),
        "collection.noData",
    ),
    (
        "byoc sensingTime number",
        lambda sh, sk: sh.byoc.create_tile(UID, {"path": "tiles/t1", "sensingTime": 1590969600}),
        "tile.sensingTime",
    ),
    (
        "kraken only_ingested str",
        lambda sh, sk: sk.kraken.release("imagery", ["scene-1"], POLYGON, only_ingested="no"),
        "only_ingested",
    ),
    (
        "kraken allocate str",
        lambda sh, sk: sk.kraken.dry_run(
            [{"mapTypes": ["imagery"], "scenes": [["scene-1"]]}], POLYGON, allocate="no"
        ),
        "allocate",
    ),
    (
        "kraken only_top_orbit_number int",
        lambda sh, sk: sk.kraken.pairs(["scene-1", "scene-2"], POLYGON, only_top_orbit_number=1),
        "only_top_orbit_number",
    ),
]


@pytest.mark.parametrize(
    ("call", "field"), [(c, f) for _, c, f in WRONG_TYPES], ids=[n for n, _, _ in WRONG_TYPES]
)
async def test_wrong_types_are_named_before_sending(
    eo_emulator: Emulator, sh: SentinelHub, sk: SpaceKnow, call: Call, field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await call(sh, sk)
    assert info.value.field == field
    assert eo_emulator.requests == []


async def test_a_refused_process_request_raises_where_it_is_awaited(
    eo_emulator: Emulator, sh: SentinelHub
) -> None:
    # sh.process() checks the request when called but, like any coroutine function, raises when awaited
    # (a caller gathering several requests gets every error from gather, none at the call).
    call = sh.process(bounds_request({"bbox": ["14.3", 49.9, 14.6, 50.2]}))
    with pytest.raises(ValidationError, match=re.escape("input.bounds.bbox[0]")):
        await call
    assert not [r for r in eo_emulator.requests if r.path.endswith("/process")]  # nothing was sent
