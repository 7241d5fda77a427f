"""geo: GeoJSON coercion, bounds, bbox validation, CRS URLs."""

from __future__ import annotations

import pytest

from eoclient.errors import ValidationError
from eoclient.geo import CRS84, BBox, as_geojson, bbox_of, crs_url, geometry_bounds


class Shape:
    @property
    def __geo_interface__(self) -> dict[str, object]:
        return {"type": "Polygon", "coordinates": (((5, 44), (12, 44), (12, 50), (5, 44)),)}


def test_bounds_keep_axis_order() -> None:
    box = {"type": "Polygon", "coordinates": [[[5, 44], [12, 44], [12, 50], [5, 50], [5, 44]]]}
    assert geometry_bounds(box) == (5.0, 44.0, 12.0, 50.0)
    assert geometry_bounds(Shape()) == (5.0, 44.0, 12.0, 50.0)
    three_d = {"type": "LineString", "coordinates": [[1, 2, 100], [3, 4, 200]]}
    assert geometry_bounds(three_d) == (1.0, 2.0, 3.0, 4.0)


def test_geo_interface_becomes_plain_json() -> None:
    gj = as_geojson(Shape())
    assert gj["coordinates"][0][0] == [5, 44]
    feature = {"type": "Feature", "geometry": gj, "properties": {}}
    assert as_geojson(feature) == gj


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "Blob", "coordinates": [1, 2]},
        {"type": "Point", "coordinates": []},
        {"type": "Point", "coordinates": [1, "x"]},
        {"type": "Point", "coordinates": [1, float("nan")]},
        "POINT(1 2)",
    ],
)
def test_bad_geometries_are_validation_errors(bad: object) -> None:
    with pytest.raises(ValidationError) as info:
        as_geojson(bad, field="input.bounds.geometry")
    assert info.value.field.startswith("input.bounds.geometry")


def test_bbox_rules() -> None:
    assert bbox_of([1, 2, 3, 4]) == [1.0, 2.0, 3.0, 4.0]
    assert bbox_of(BBox(1, 2, 3, 4, crs=32633)) == [1.0, 2.0, 3.0, 4.0]
    for bad, field in [
        ([3, 2, 1, 4], "bbox"),
        ([1, 4, 3, 2], "bbox"),
        ([1, 2, 1, 4], "bbox"),
        ([1, 2, 3], "bbox"),
    ]:
        with pytest.raises(ValidationError) as info:
            bbox_of(bad)
        assert info.value.field == field
    with pytest.raises(ValidationError) as info:
        bbox_of([1, 2, "x", 4])
    assert info.value.field == "bbox[2]"


def test_crs_urls() -> None:
    assert crs_url(None) == CRS84
    assert crs_url(4326) == CRS84
    assert crs_url("EPSG:32633") == "http://www.opengis.net/def/crs/EPSG/0/32633"
    assert crs_url("http://www.opengis.net/def/crs/EPSG/0/3857").endswith("/3857")
    with pytest.raises(ValidationError):
        crs_url("mars")
