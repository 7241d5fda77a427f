"""Imagery request building: datetimes, datasets, extent limits, the search body."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from eoclient.errors import ValidationError
from eoclient.geo import BBox
from eoclient.spaceknow.imagery import (
    MAX_MBR_SIDE_KM,
    format_datetime,
    mbr_sides_km,
    parse_datasets,
    search_request,
)
from eoclient.spaceknow.imagery_models import Dataset

PERTH = {
    "type": "Polygon",
    "coordinates": [
        [
            [115.84512233734131, -31.96024562403475],
            [115.84490776062012, -31.96559774488045],
            [115.84851264953612, -31.965452113067933],
            [115.84842681884766, -31.96053690394404],
            [115.84512233734131, -31.96024562403475],
        ]
    ],
}


@pytest.mark.parametrize(
    ("value", "end", "expected"),
    [
        ("2015-11-19 17:52:14", False, "2015-11-19 17:52:14"),
        ("2015-11-19T17:52:14Z", False, "2015-11-19 17:52:14"),
        ("2015-11-19T18:52:14+01:00", False, "2015-11-19 17:52:14"),
        ("2015-11-19", False, "2015-11-19 00:00:00"),
        ("2015-11-19", True, "2015-11-19 23:59:59"),
        (dt.date(2015, 11, 19), True, "2015-11-19 23:59:59"),
        (dt.datetime(2015, 11, 19, 17, 52, 14), False, "2015-11-19 17:52:14"),
        (
            dt.datetime(2015, 11, 19, 12, 52, 14, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            False,
            "2015-11-19 17:52:14",
        ),
        # sub-seconds are rounded inwards: the range never grows
        (dt.datetime(2015, 11, 19, 17, 52, 14, 1), False, "2015-11-19 17:52:15"),
        (dt.datetime(2015, 11, 19, 17, 52, 14, 999_999), True, "2015-11-19 17:52:14"),
    ],
)
def test_format_datetime(value: Any, end: bool, expected: str) -> None:
    assert format_datetime(value, field="start", end=end) == expected


@pytest.mark.parametrize("value", ["", "yesterday", "2015-02-30", "19.11.2015", 2015, None, 1.5])
def test_format_datetime_refuses(value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        format_datetime(value, field="start_datetime")
    assert info.value.field == "start_datetime"


def test_parse_datasets_accepts_every_documented_form() -> None:
    parsed = parse_datasets(
        [
            ("gbdx", "idaho-pansharpened"),
            ["pl", "PSScene"],
            {"provider": "ee", "dataset": "COPERNICUS/S1_GRD"},
            Dataset(provider="airbus", dataset="pleiades"),
        ]
    )
    assert [d.pair for d in parsed] == [
        ("gbdx", "idaho-pansharpened"),
        ("pl", "PSScene"),
        ("ee", "COPERNICUS/S1_GRD"),
        ("airbus", "pleiades"),
    ]
    # generators are fine too
    assert len(parse_datasets(d for d in [("pl", "PSScene")])) == 1


def test_parse_datasets_separate_search() -> None:
    ch4 = ("ee", "COPERNICUS/S5P/OFFL/L3_CH4")
    assert parse_datasets([ch4, ch4])[0].pair == ch4  # the same dataset twice is still alone
    with pytest.raises(ValidationError, match="on its own"):
        parse_datasets([ch4, ("noaa", "VIIRS/Monthly")])
    # VIIRS is world-wide but may be searched with others
    assert len(parse_datasets([("noaa", "VIIRS/Monthly"), ("pl", "PSScene")])) == 2


def test_mbr_sides() -> None:
    width, height = mbr_sides_km([0.0, 0.0, 1.0, 1.0])
    assert width == pytest.approx(111.32) and height == pytest.approx(111.32)
    # measured where the rectangle is widest: the parallel nearest the equator
    north, _ = mbr_sides_km([0.0, 60.0, 1.0, 61.0])
    assert north == pytest.approx(111.32 * 0.5, rel=1e-6)
    south, _ = mbr_sides_km([0.0, -61.0, 1.0, -60.0])
    assert south == pytest.approx(north)
    across, _ = mbr_sides_km([0.0, -10.0, 1.0, 70.0])
    assert across == pytest.approx(111.32)


def test_search_request_body() -> None:
    body = search_request(
        [("gbdx", "idaho-pansharpened")],
        PERTH,
        start_datetime="2014-09-05 08:55:40",
        end_datetime="2015-11-19 17:52:14",
        min_intersection=0.5,
        only_downloadable=False,
        only_ingested=False,
        scene_coverage=False,
        force_refresh=False,
    )
    # the reference's own example, minus the cursor
    assert body == {
        "datasets": [{"provider": "gbdx", "dataset": "idaho-pansharpened"}],
        "extent": PERTH,
        "startDatetime": "2014-09-05 08:55:40",
        "endDatetime": "2015-11-19 17:52:14",
        "minIntersection": 0.5,
        "onlyDownloadable": False,
        "onlyIngested": False,
        "sceneCoverage": False,
        "forceRefresh": False,
    }
    minimal = search_request([("pl", "PSScene")], BBox(14.0, 50.0, 14.5, 50.5))
    assert set(minimal) == {"datasets", "extent"}
    assert minimal["extent"]["type"] == "Polygon"


def test_area_limit_is_400_km_a_side_unless_scene_coverage_or_world_wide() -> None:
    side = MAX_MBR_SIDE_KM / 111.32  # degrees at the equator
    fits = BBox(0.0, 0.0, side * 0.99, side * 0.99)
    too_wide = BBox(0.0, 0.0, side * 1.01, 0.1)
    assert search_request([("pl", "PSScene")], fits)
    with pytest.raises(ValidationError) as info:
        search_request([("pl", "PSScene")], too_wide)
    assert info.value.field == "extent" and "scene_coverage" in info.value.message
    assert search_request([("pl", "PSScene")], too_wide, scene_coverage=True)
    world = BBox(-180, -90, 180, 90)
    assert search_request([("noaa", "VIIRS/Monthly")], world)["extent"]["type"] == "Polygon"
    assert search_request([("ee", "JAXA/GPM_L3/GSMaP/v6/operational")]) == {
        "datasets": [{"provider": "ee", "dataset": "JAXA/GPM_L3/GSMaP/v6/operational"}]
    }
    with pytest.raises(ValidationError):  # mixed with a regional dataset, the limit applies
        search_request([("noaa", "VIIRS/Monthly"), ("pl", "PSScene")], world)
    with pytest.raises(ValidationError) as missing:
        search_request([("noaa", "VIIRS/Monthly"), ("pl", "PSScene")])
    assert missing.value.field == "extent"


def test_extent_accepts_geo_interface_and_features() -> None:
    class Shape:
        @property
        def __geo_interface__(self) -> dict[str, Any]:
            ring = ((14.0, 50.0), (14.1, 50.0), (14.1, 50.1), (14.0, 50.0))
            return {"type": "Polygon", "coordinates": (ring,)}

    body = search_request([("pl", "PSScene")], Shape())
    assert body["extent"]["coordinates"][0][0] == [14.0, 50.0]  # tuples became lists
    feature = {"type": "Feature", "properties": {}, "geometry": PERTH}
    assert search_request([("pl", "PSScene")], feature)["extent"] == PERTH
