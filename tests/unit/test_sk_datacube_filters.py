"""Datacube filters and the datapoints body: wire form, dict parsing, errors naming the field."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from eoclient.errors import ValidationError
from eoclient.spaceknow.datacube_models import (
    CatalogueEntry,
    Datapoints,
    GeoIntersects,
    Product,
    TimeRange,
    ValueList,
    ValueRange,
    datapoints_body,
    format_datetime,
    parse_filter,
)

BASE = [ValueList("project", ["coal"]), ValueList("algorithm", ["ndmi_mean"])]


class Shape:
    @property
    def __geo_interface__(self) -> dict[str, Any]:
        return {"type": "Polygon", "coordinates": (((0, 0), (1, 0), (1, 1), (0, 0)),)}


def test_wire_forms_match_the_reference() -> None:
    assert TimeRange(start="2018-01-01 00:10:00").to_wire() == {
        "field": "startDatetime",
        "params": {"from": "2018-01-01 00:10:00"},
        "type": "time-range",
    }
    assert ValueRange("cloudCover", max=0.05).to_wire() == {
        "field": "cloudCover",
        "params": {"max": 0.05},
        "type": "value-range",
    }
    assert ValueList("tag", ["mine", "mining", "ore"]).to_wire() == {
        "field": "tag",
        "params": {"values": ["mine", "mining", "ore"]},
        "type": "value-list",
    }
    assert GeoIntersects(label="cz").to_wire() == {
        "field": "aoi",
        "params": {"geometryLabel": "cz"},
        "type": "geo-intersects",
    }
    geo = GeoIntersects(geometry=Shape()).to_wire()
    assert geo["params"]["geometry"]["coordinates"] == [[[0, 0], [1, 0], [1, 1], [0, 0]]]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019-03-04", "2019-03-04 00:00:00"),
        ("2019-03-04 05:06:07", "2019-03-04 05:06:07"),
        ("2019-03-04T05:06:07Z", "2019-03-04 05:06:07"),
        (date(2019, 3, 4), "2019-03-04 00:00:00"),
        (datetime(2019, 3, 4, 5, 6, 7), "2019-03-04 05:06:07"),
        (datetime(2019, 3, 4, 7, 6, 7, tzinfo=timezone(timedelta(hours=2))), "2019-03-04 05:06:07"),
        (datetime(2019, 3, 4, 5, 6, 7, tzinfo=UTC), "2019-03-04 05:06:07"),
    ],
)
def test_datetimes_are_sent_in_the_service_format(value: Any, expected: str) -> None:
    assert format_datetime(value, field="x") == expected


def test_dicts_parse_into_the_same_filters() -> None:
    reference = [
        {"field": "startDatetime", "params": {"from": "2018-01-01 00:10:00"}, "type": "time-range"},
        {"field": "cloudCover", "params": {"max": 0.05}, "type": "value-range"},
        {"field": "project", "params": {"values": ["industrial_production"]}, "type": "value-list"},
        {"field": "algorithm", "params": {"values": ["ndmi_mean"]}, "type": "value-list"},
        {"field": "tag", "params": {"values": ["mine", "mining", "ore"]}, "type": "value-list"},
        {"field": "aoi", "params": {"geometryLabel": "cz"}, "type": "geo-intersects"},
    ]
    body = datapoints_body(reference, {})
    assert body == {"filters": reference}
    assert isinstance(parse_filter(reference[1]), ValueRange)
    filt = TimeRange(end="2019-01-01")
    assert parse_filter(filt) is filt


def test_options_go_to_their_wire_names() -> None:
    body = datapoints_body(
        BASE,
        {
            "aggregator": "sum",
            "resample": "monthly",
            "columns": ("aoi", "value"),
            "show_aoi_positions": True,
            "show_aoi_tags": False,
            "postprocess_type": "something",
            "keep_duplicates": True,
            "keep_all_versions": True,
            "ignored_when_none": None,
        },
    )
    assert {k: v for k, v in body.items() if k != "filters"} == {
        "aggregator": "sum",
        "resample": "monthly",
        "columns": ["aoi", "value"],
        "showAoiPositions": True,
        "showAoiTags": False,
        "postprocessType": "something",
        "keepDuplicates": True,
        "keepAllVersions": True,
    }


def test_a_whole_query_dict_is_accepted_and_keywords_fill_in() -> None:
    query = {"filters": [f.to_wire() for f in BASE], "resample": "weekly", "keepAllVersions": True}
    body = datapoints_body(query, {"aggregator": "mean"})
    assert body["resample"] == "weekly" and body["keepAllVersions"] is True and body["aggregator"] == "mean"
    with pytest.raises(ValidationError) as info:
        datapoints_body({"filters": query["filters"], "resampel": "weekly"}, {})
    assert info.value.field == "resampel"
    with pytest.raises(ValidationError) as missing:
        datapoints_body({"resample": "weekly"}, {})
    assert missing.value.field == "filters"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"type": "value-between", "field": "v", "params": {}}, "filters[2].type"),
        ({"type": "value-range", "field": "v", "params": {"min": 2, "max": 1}}, "filters[2].params.min"),
        ({"type": "value-range", "field": "v", "params": {}}, "filters[2].params"),
        ({"type": "value-range", "field": "v", "params": {"max": True}}, "filters[2].params.max"),
        ({"type": "value-range", "field": "v", "params": {"max": float("inf")}}, "filters[2].params.max"),
        ({"type": "value-range", "field": "v", "params": {"mx": 1}}, "filters[2].params.mx"),
        ({"type": "time-range", "field": "t", "params": {"from": "2019-02-02", "to": "2019-02-01"}},
         "filters[2].params.to"),
        ({"type": "time-range", "field": "t", "params": {"from": "yesterday"}}, "filters[2].params.from"),
        ({"type": "time-range", "field": "t", "params": {}}, "filters[2].params"),
        ({"type": "value-list", "field": "t", "params": {"values": "mine"}}, "filters[2].params.values"),
        ({"type": "value-list", "field": "t", "params": {}}, "filters[2].params.values"),
        ({"type": "value-list", "field": "t", "params": {"values": [None]}}, "filters[2].params.values[0]"),
        ({"type": "geo-intersects", "field": "aoi", "params": {"geometryLabel": "cz", "geometry": {}}},
         "filters[2].params"),
        ({"type": "geo-intersects", "field": "aoi", "params": {"geometry": {"type": "Blob"}}},
         "filters[2].params.geometry"),
        ({"type": "value-list", "params": {"values": ["x"]}}, "filters[2].field"),
        ({"type": "value-list", "field": "", "params": {"values": ["x"]}}, "filters[2].field"),
        ({"type": "value-list", "field": "x"}, "filters[2].params"),
        ({"type": "value-list", "field": "x", "params": {"values": ["x"]}, "op": "and"}, "filters[2].op"),
        ("not a filter", "filters[2]"),
    ],
)  # fmt: skip
def test_bad_filters_name_their_field(extra: Any, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        datapoints_body([*BASE, extra], {})
    assert info.value.field == field


@pytest.mark.parametrize(
    ("filters", "options", "field"),
    [
        ([], {}, "filters"),
        ("project", {}, "filters"),
        ([BASE[1]], {}, "filters"),
        ([BASE[0]], {}, "filters"),
        ([ValueList("project", ["a", "b"]), BASE[1]], {}, "filters"),
        ([*BASE, ValueList("project", ["c"])], {}, "filters"),
        (BASE, {"resample": "daily"}, "resample"),
        (BASE, {"columns": []}, "columns"),
        (BASE, {"columns": "aoi"}, "columns"),
        (BASE, {"columns": ["aoi", 3]}, "columns[1]"),
        (BASE, {"aggregator": ""}, "aggregator"),
        (BASE, {"show_aoi_tags": 1}, "show_aoi_tags"),
        (BASE, {"nonsense": 1}, "nonsense"),
    ],
)
def test_bad_queries(filters: Any, options: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        datapoints_body(filters, options)
    assert info.value.field == field


def test_filters_check_themselves_when_built() -> None:
    with pytest.raises(ValidationError):
        TimeRange(start=datetime(2019, 2, 1), end=date(2019, 1, 1))
    with pytest.raises(ValidationError):
        ValueRange("x")
    with pytest.raises(ValidationError):
        ValueList("x", [])
    with pytest.raises(ValidationError):
        GeoIntersects()
    with pytest.raises(ValidationError):
        GeoIntersects(label="cz", geometry=Shape())
    assert ValueList("x", ["a"]).values == ("a",)


def test_answers_decode_tolerantly() -> None:
    import msgspec

    entry = msgspec.convert(
        {
            "algorithm": "ndmi_mean",
            "aoi_label": "cz",
            "date_ranges": [{"from": "2010-01-01", "to": "2019-02-28"}],
            "last_update": "2019-02-27 17:39:56",
            "new_field": 1,
        },
        CatalogueEntry,
    )
    assert entry.aoi_label == "cz" and entry.date_ranges[0].start == "2010-01-01"
    product = msgspec.convert(
        {
            "productId": "SK ABAI AR",
            "metadata": {"productName": "SpaceKnow Argentina Monthly"},
            "salesInfo": {},
        },
        Product,
    )
    assert product.name == "SpaceKnow Argentina Monthly" and product.active is None
    points = msgspec.convert({"totalRows": 2648}, Datapoints)
    assert points.total_rows == 2648 and points.data == []
    assert Datapoints(total_rows=2, data=[{"value": 1}, {}]).column("value") == [1, None]
