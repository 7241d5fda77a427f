"""Kraken input checks: everything refused here is refused before a request is built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from eoclient.errors import ValidationError
from eoclient.geo import BBox
from eoclient.spaceknow.kraken import Kraken, _extent, _scene_ids
from eoclient.spaceknow.kraken_grid import (
    _tile,
    detection_filters_text,
    file_params,
    tile_params,
)
from eoclient.spaceknow.kraken_grid import check_map_types as _map_types

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[14.0, 50.0], [14.1, 50.0], [14.1, 50.1], [14.0, 50.1], [14.0, 50.0]]],
}


@pytest.mark.parametrize(
    ("given", "text"),
    [
        ("area gt 1000", "area gt 1000"),
        ("area gt 1000\nwidth lt 100", "area gt 1000\nwidth lt 100"),
        ("  area   gt 1000 \n\n width\tlt 100\n", "area gt 1000\nwidth lt 100"),
        (["area gt 1000", ("width", "lt", 100)], "area gt 1000\nwidth lt 100"),
        ([("score", "ge", 0.5)], "score ge 0.5"),
    ],
)
def test_detection_filters_are_normalised(given: Any, text: str) -> None:
    assert detection_filters_text(given) == text


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ("area gt", "detection_filters[0]"),
        ("area gt 1000 extra", "detection_filters[0]"),
        ("area gt 1\nwidth", "detection_filters[1]"),
        ([("area", "gt")], "detection_filters[0]"),
        ([("area", "gt", "10 20")], "detection_filters[0]"),
        ([("area", "", 1)], "detection_filters[0]"),
        ([42], "detection_filters[0]"),
        ("", "detection_filters"),
        ("\n \n", "detection_filters"),
    ],
)
def test_detection_filters_syntax_errors(given: Any, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        detection_filters_text(given)
    assert info.value.field == field


def test_tile_coordinates() -> None:
    assert _tile(0, 0, 0) == (0, 0, 0)
    assert _tile(19, 83861, 202628) == (19, 83861, 202628)
    for args, field in [
        ((31, 0, 0), "zoom"),
        ((-1, 0, 0), "zoom"),
        ((1.0, 0, 0), "zoom"),
        ((False, 0, 0), "zoom"),
        ((1, 2, 0), "x"),
        ((1, 0, 2), "y"),
        ((1, -1, 0), "x"),
        ((1, 0, "1"), "y"),
    ]:
        with pytest.raises(ValidationError) as info:
            _tile(*args)
        assert info.value.field == field, args


def test_tile_path_is_checked_and_quoted() -> None:
    assert Kraken.tile_path("abc", "-", 19, 83861, 202628, "truecolor.png") == (
        "/kraken/grid/abc/-/19/83861/202628/truecolor.png"
    )
    assert Kraken.tile_path("a b", "-", 1, 0, 1, "x y.png") == "/kraken/grid/a%20b/-/1/0/1/x%20y.png"
    for args, field in [
        (("a/b", "-", 1, 0, 0, "f.png"), "map_id"),
        (("..", "-", 1, 0, 0, "f.png"), "map_id"),
        (("m", "", 1, 0, 0, "f.png"), "geometry_id"),
        (("m", "-", 1, 0, 0, "../f.png"), "file_name"),
        (("m", "-", 1, 0, 0, "a\\f.png"), "file_name"),
    ]:
        with pytest.raises(ValidationError) as info:
            Kraken.tile_path(*args)
        assert info.value.field == field


def test_tile_params() -> None:
    none: dict[str, Any] = {
        "user_threshold": None,
        "download_unclipped": None,
        "force_download": None,
        "classification": None,
        "detection_filters": None,
    }
    assert tile_params(**none) == {}
    params = tile_params(
        user_threshold=-1,
        download_unclipped=True,
        force_download=0,
        classification="default",
        detection_filters=[("area", "gt", 10)],
    )
    assert params == {
        "user_threshold": "-1.0",
        "download_unclipped": "1",
        "force_download": "0",
        "classification": "default",
        "detection_filters": "area gt 10",
    }
    for key, value in [
        ("user_threshold", 1.01),
        ("user_threshold", True),
        ("user_threshold", "0.5"),
        ("user_threshold", float("inf")),
        ("download_unclipped", "yes"),
        ("force_download", 2),
        ("classification", "  "),
    ]:
        with pytest.raises(ValidationError) as info:
            tile_params(**{**none, key: value})
        assert info.value.field == key


def test_whole_map_options_go_to_the_files_they_concern() -> None:
    params = {
        "user_threshold": "0.5",
        "classification": "default",
        "detection_filters": "a gt 1",
        "force_download": "1",
    }
    assert file_params("ndvi.png", params) == {
        "user_threshold": "0.5",
        "classification": "default",
        "force_download": "1",
    }
    assert file_params("detections.geojson", params) == {"detection_filters": "a gt 1", "force_download": "1"}
    assert file_params("analysis.geotiff", params) == {"force_download": "1"}


@dataclass
class _Scene:
    scene_id: str


def test_scene_ids_and_map_types() -> None:
    assert _scene_ids("s1") == ["s1"]
    assert _scene_ids([{"sceneId": "s1"}, _Scene("s2"), "s3"]) == ["s1", "s2", "s3"]
    assert _map_types("imagery") == ["imagery"]
    assert _map_types(("imagery", "aircraft")) == ["imagery", "aircraft"]
    for value, field in [
        ([], "scene_ids"),
        ([""], "scene_ids[0]"),
        ([{"id": "x"}], "scene_ids[0]"),
        (7, "scene_ids"),
    ]:
        with pytest.raises(ValidationError) as info:
            _scene_ids(value)
        assert info.value.field == field
    with pytest.raises(ValidationError) as few:
        _scene_ids(["a", "b"], minimum=3)
    assert "at least 3" in str(few.value)
    for value in ([], "", [None], b"imagery"):
        with pytest.raises(ValidationError):
            _map_types(value)


def test_extent_forms() -> None:
    assert _extent(SQUARE) == SQUARE
    assert _extent({"type": "Feature", "properties": {}, "geometry": SQUARE}) == SQUARE
    assert _extent(BBox(14.0, 50.0, 14.1, 50.1))["type"] == "Polygon"
    multi = {"type": "MultiPolygon", "coordinates": [SQUARE["coordinates"]]}
    assert _extent(multi) == multi
    collection = {"type": "GeometryCollection", "geometries": [SQUARE, multi]}
    assert _extent(collection)["type"] == "GeometryCollection"
    for bad in [
        {"type": "Point", "coordinates": [14.0, 50.0]},
        {"type": "GeometryCollection", "geometries": []},
        {
            "type": "GeometryCollection",
            "geometries": [{"type": "LineString", "coordinates": [[0, 0], [1, 1]]}],
        },
        {"type": "Polygon", "coordinates": [[[14.0, 95.0], [14.1, 95.0], [14.1, 96.0], [14.0, 95.0]]]},
        {"type": "Polygon", "coordinates": [[[14.0, 50.0], [14.0, 50.0], [14.0, 50.0], [14.0, 50.0]]]},
        "POLYGON((14 50, 14.1 50, 14.1 50.1, 14 50))",
        None,
    ]:
        with pytest.raises(ValidationError) as info:
            _extent(bad)
        assert info.value.field.startswith("extent")
