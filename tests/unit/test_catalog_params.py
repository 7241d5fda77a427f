"""Catalog search parameters: datetime formatting, validation before sending, body and query rendering."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from eoclient._context import ServiceContext
from eoclient._polling import PollPolicy
from eoclient.errors import ValidationError
from eoclient.geo import BBox
from eoclient.paging import StacNext
from eoclient.sentinelhub.catalog import Catalog, format_datetime


class ScriptedTransport:
    """Records requests; validation errors must leave it untouched."""

    base_url = "https://sh.example.com"

    def __init__(self, pages: list[Any]) -> None:
        self.calls: list[Any] = []

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        raise AssertionError("nothing should be sent")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-06-01T10:00:00Z", "2023-06-01T10:00:00Z"),
        ("2023-06-01T12:00:00+02:00", "2023-06-01T10:00:00Z"),
        ("2023-06-01T10:00:00.250Z", "2023-06-01T10:00:00.250000Z"),
        ("2023-06-01T10:00:00", "2023-06-01T10:00:00Z"),  # naive means UTC
        ("2023-06-01T00:00:00Z/2023-06-30T00:00:00Z", "2023-06-01T00:00:00Z/2023-06-30T00:00:00Z"),
        ("2023-06-01T00:00:00Z/..", "2023-06-01T00:00:00Z/.."),
        ("../2023-06-30T00:00:00Z", "../2023-06-30T00:00:00Z"),
        ("/2023-06-30T00:00:00Z", "../2023-06-30T00:00:00Z"),
        ("2023-06-01", "2023-06-01T00:00:00Z/2023-06-01T23:59:59.999999Z"),
        ("2023-02", "2023-02-01T00:00:00Z/2023-02-28T23:59:59.999999Z"),
        ("2024-02", "2024-02-01T00:00:00Z/2024-02-29T23:59:59.999999Z"),
        ("2023", "2023-01-01T00:00:00Z/2023-12-31T23:59:59.999999Z"),
        ("2023-01-01/2023-01-31", "2023-01-01T00:00:00Z/2023-01-31T23:59:59.999999Z"),
        (dt.datetime(2023, 6, 1, 10, 30), "2023-06-01T10:30:00Z"),
        (
            dt.datetime(2023, 6, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2023-06-01T10:30:00Z",
        ),
        (dt.date(2023, 6, 1), "2023-06-01T00:00:00Z/2023-06-01T23:59:59.999999Z"),
        ((dt.datetime(2023, 1, 1), dt.datetime(2023, 2, 1)), "2023-01-01T00:00:00Z/2023-02-01T00:00:00Z"),
        (("2023-01-01", None), "2023-01-01T00:00:00Z/.."),
        ((None, dt.date(2023, 1, 31)), "../2023-01-31T23:59:59.999999Z"),
        ([dt.date(2023, 1, 1), ".."], "2023-01-01T00:00:00Z/.."),
    ],
)
def test_format_datetime(value: Any, expected: str) -> None:
    assert format_datetime(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2023-13-01",
        "2023-06-01T25:00:00Z",
        "2023/2024/2025",
        "../..",
        "",
        (None, None),
        ("2023-02-01", "2023-01-01"),
        ("2023-01-01",),
        42,
        "2023-06-01 garbage",
    ],
)
def test_malformed_datetime_names_the_field(value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        format_datetime(value)
    assert info.value.field == "datetime"


@pytest.fixture
def cat() -> tuple[Catalog, ScriptedTransport]:
    transport = ScriptedTransport([])
    return Catalog(ServiceContext(transport, PollPolicy(), None)), transport  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"collections": []}, "collections"),
        ({"collections": ["a", "b"]}, "collections"),
        ({"collections": None}, "collections"),
        ({"collections": [""]}, "collections[0]"),
        ({"bbox": [10, 0, 5, 1]}, "bbox"),
        ({"bbox": [0, 10, 1, 5]}, "bbox"),
        ({"bbox": [0, 1, 2]}, "bbox"),
        ({"bbox": BBox(0, 0, 1, 1, crs=32633)}, "bbox"),
        ({"bbox": [0, 0, 1, 1], "intersects": {"type": "Point", "coordinates": [0, 0]}}, "intersects"),
        ({"intersects": {"type": "Circle"}}, "intersects"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": 2.5}, "limit"),
        ({"limit": True}, "limit"),
        ({"filter": "eo:cloud_cover < 5", "filter_lang": "cql-text"}, "filter_lang"),
        ({"filter": {"op": "<", "args": [{"property": "x"}, 1]}, "filter_lang": "cql2-text"}, "filter_lang"),
        ({"filter": "not json", "filter_lang": "cql2-json"}, "filter"),
        ({"filter": {"args": []}}, "filter"),
        ({"filter": 5}, "filter"),
        ({"datetime": "2023-02-30"}, "datetime"),
        ({"datetime": ("2023-02-01", "2023-01-01")}, "datetime"),
        ({"ids": []}, "ids"),
        ({"fields": {"include": ["id"], "only": ["x"]}}, "fields"),
        ({"fields": {"include": "id"}}, "fields.include"),
        ({"distinct": ""}, "distinct"),
        ({"method": "PUT"}, "method"),
        ({"max_items": -1}, "max_items"),
    ],
)
def test_invalid_search_raises_before_sending(
    cat: tuple[Catalog, ScriptedTransport], kwargs: dict[str, Any], field: str
) -> None:
    catalog, transport = cat
    args = {"collections": "sentinel-2-l2a", "datetime": "2023", **kwargs}
    with pytest.raises(ValidationError) as info:
        catalog.search(**args)
    assert info.value.field == field
    assert transport.calls == []


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_search_without_datetime_is_refused_saying_how_to_leave_it_open(
    cat: tuple[Catalog, ScriptedTransport], method: str
) -> None:
    catalog, transport = cat
    with pytest.raises(ValidationError) as info:
        catalog.search("sentinel-2-l2a", bbox=[13, 45, 14, 46], method=method)  # type: ignore[arg-type]
    assert info.value.field == "datetime"
    assert 'datetime=("2020-01-01", None)' in str(info.value) and "/.." in str(info.value)
    assert transport.calls == []
    catalog.items("sentinel-2-l2a")  # the items listing takes none: nothing to refuse


@pytest.mark.parametrize(
    ("flt", "says"),
    [
        ("platform LIKE 'sentinel%'", "LIKE"),
        ("platform IN ('a', 'b')", "OR"),
        ("eo:cloud_cover <", "ends too early"),
        ({"op": "in", "args": [{"property": "platform"}, ["a"]]}, "not supported"),
        ({"op": "<", "args": [{"property": "eo:cloud_cover"}]}, "takes 2 arguments"),
        ({"op": "=", "args": [{"property": "x"}, object()]}, "JSON"),
    ],
)
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_filter_outside_the_subset_names_the_filter(
    cat: tuple[Catalog, ScriptedTransport], flt: Any, says: str, method: str
) -> None:
    catalog, transport = cat
    with pytest.raises(ValidationError, match=says) as info:
        catalog.search("sentinel-2-l2a", datetime="2023", filter=flt, method=method)  # type: ignore[arg-type]
    assert info.value.field == "filter"
    assert transport.calls == []


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.items("s2", limit=0), "limit"),
        (lambda c: c.items("s2", bbox=[1, 1, 0, 0]), "bbox"),
        (lambda c: c.items("s2", datetime="soon"), "datetime"),
    ],
)
def test_invalid_listing_raises_before_sending(cat: tuple[Catalog, ScriptedTransport], call, field) -> None:
    catalog, transport = cat
    with pytest.raises(ValidationError) as info:
        call(catalog)
    assert info.value.field == field
    assert transport.calls == []


async def test_invalid_ids_in_paths(cat: tuple[Catalog, ScriptedTransport]) -> None:
    catalog, transport = cat
    with pytest.raises(ValidationError):
        await catalog.item("sentinel-2-l2a", "")
    assert transport.calls == []


def _first_request(catalog: Catalog, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("datetime", "2023-06")
    paginator = catalog.search("sentinel-2-l2a", **kwargs)
    first = paginator._first
    assert isinstance(first, StacNext)
    return first.request()


class GeoThing:
    @property
    def __geo_interface__(self) -> dict[str, Any]:
        return {"type": "Polygon", "coordinates": (((0, 0), (1, 0), (1, 1), (0, 0)),)}


def test_post_body_spelling(cat: tuple[Catalog, ScriptedTransport]) -> None:
    catalog, _ = cat
    first = _first_request(
        catalog,
        intersects=GeoThing(),
        datetime=("2023-01-01", None),
        ids="one",
        filter={"op": "<", "args": [{"property": "eo:cloud_cover"}, 20]},
        fields=["id", "-assets", "+properties.datetime"],
        distinct="date",
        limit=5,
    )
    assert first["method"] == "POST"
    assert first["body"] == {
        "collections": ["sentinel-2-l2a"],
        "intersects": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
        "datetime": "2023-01-01T00:00:00Z/..",
        "ids": ["one"],
        "filter": {"op": "<", "args": [{"property": "eo:cloud_cover"}, 20]},
        "filter-lang": "cql2-json",
        "fields": {"include": ["id", "properties.datetime"], "exclude": ["assets"]},
        "distinct": "date",
        "limit": 5,
    }


def test_a_post_search_sends_every_filter_as_cql2_json(cat: tuple[Catalog, ScriptedTransport]) -> None:
    catalog, _ = cat
    body = _first_request(catalog, filter="eo:cloud_cover < 20 AND platform = 'sentinel-2a'")["body"]
    assert body["filter"] == {
        "op": "and",
        "args": [
            {"op": "<", "args": [{"property": "eo:cloud_cover"}, 20]},
            {"op": "=", "args": [{"property": "platform"}, "sentinel-2a"]},
        ],
    }
    assert (body["filter-lang"], body["limit"]) == ("cql2-json", 100)
    body = _first_request(catalog, filter="eo:cloud_cover < 20", filter_lang="cql2-text")["body"]
    assert body["filter"] == {"op": "<", "args": [{"property": "eo:cloud_cover"}, 20]}
    assert body["filter-lang"] == "cql2-json"
    text = '{"op": "=", "args": [{"property": "platform"}, "x"]}'
    body = _first_request(catalog, filter=text, filter_lang="cql2-json", max_items=7)["body"]
    assert body["filter"] == {"op": "=", "args": [{"property": "platform"}, "x"]}
    assert body["limit"] == 7


def test_get_query_spelling(cat: tuple[Catalog, ScriptedTransport]) -> None:
    catalog, _ = cat
    first = _first_request(
        catalog,
        method="GET",
        bbox=BBox(13, 45.5, 14, 46),
        datetime="2023-06",
        ids=["a", "b"],
        filter={"op": "<", "args": [{"property": "eo:cloud_cover"}, 20]},
        fields={"include": ["id"], "exclude": ["geometry", "links"]},
        limit=3,
    )
    assert first["method"] == "GET"
    assert first["params"] == {
        "collections": "sentinel-2-l2a",
        "bbox": "13,45.5,14,46",
        "datetime": "2023-06-01T00:00:00Z/2023-06-30T23:59:59.999999Z",
        "ids": "a,b",
        "filter": "eo:cloud_cover < 20",  # a JSON filter, written as cql2-text: GET takes no other
        "fields": "id,-geometry,-links",
        "limit": "3",
    }
    text = _first_request(
        catalog, method="get", filter="eo:cloud_cover<5 or platform != 'x'", intersects=GeoThing()
    )
    assert text["params"]["filter"] == "eo:cloud_cover < 5 OR platform <> 'x'"
    assert "filter-lang" not in text["params"]  # not a GET parameter of the contract
    assert text["params"]["intersects"] == '{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}'
