"""Imagery models decode the reference's own answers."""

from __future__ import annotations

import datetime as dt

import msgspec

from eoclient._models import from_wire
from eoclient.spaceknow.imagery_models import (
    GetImageResult,
    IngestResult,
    Provider,
    Scene,
    SearchResults,
)

BAND = {
    "bitDepth": 8,
    "gsd": 0.5,
    "names": ["r", "red"],
    "pixelSizeX": 0.00000513212977069823,
    "pixelSizeY": -0.000004511257496082,
}
FOOTPRINT = {
    "type": "MultiPolygon",
    "coordinates": [[[[115.84, -31.95], [115.85, -31.96], [115.84, -31.96], [115.84, -31.95]]]],
}
SEARCH_ANSWER = {
    "results": [
        {
            "bands": [BAND],
            "clippedImagery": True,
            "crsEpsg": 4326,
            "dataset": "idaho-pansharpened",
            "datetime": "2015-11-13 02:34:12",
            "downloadable": True,
            "footprint": FOOTPRINT,
            "foreignId": "1",
            "minArea": 5.5,
            "offNadir": 23.135675,
            "provider": "gbdx",
            "satellite": "WV02",
            "satelliteAzimuth": 104.794,
            "sceneId": "GuoBFqtuBllGqZWHb395VXytBgtnXKV7fg",
            "sunAzimuth": 59.614758,
            "sunElevation": 65.935,
            "somethingNew": {"the": "server added it"},
        }
    ]
}


def test_search_page() -> None:
    page = msgspec.json.decode(msgspec.json.encode(SEARCH_ANSWER), type=SearchResults)
    assert page.cursor is None
    [scene] = page.results
    assert scene.scene_id == "GuoBFqtuBllGqZWHb395VXytBgtnXKV7fg"
    assert scene.datetime == dt.datetime(2015, 11, 13, 2, 34, 12, tzinfo=dt.UTC)
    assert scene.bands[0].name == "r" and scene.bands[0].bit_depth == 8
    assert scene.bands[0].pixel_size_y == -0.000004511257496082
    assert scene.min_area == 5.5 and scene.clipped_imagery is True and scene.satellite_azimuth == 104.794
    assert scene.__geo_interface__["geometry"] == FOOTPRINT
    assert scene.__geo_interface__["id"] == scene.scene_id
    wire = scene.to_dict()
    assert wire["sceneId"] == scene.scene_id and wire["datetime"] == "2015-11-13T02:34:12Z"
    assert from_wire({**SEARCH_ANSWER, "cursor": 50}, SearchResults).cursor == 50


def test_get_image_result() -> None:
    band = {
        **BAND,
        "approximateResolutionX": 0.497,
        "approximateResolutionY": 0.499,
        "crsOriginX": -7.48,
        "crsOriginY": 0.0002,
    }
    answer = {
        "extent": {"type": "GeometryCollection", "geometries": [{"type": "Polygon", "coordinates": []}]},
        "meta": {
            "bands": [band],
            "crsEpsg": 4326,
            "dataset": "idaho-pansharpened",
            "datetime": "2015-11-13 02:34:12",
            "footprint": FOOTPRINT,
            "foreignId": "1",
            "offNadir": 23.135675,
            "provider": "gbdx",
            "satellite": "WV02",
            "sceneId": "GuoBFqtuBllGqZWHb395VXytBgtnXKV7fg",
            "sunAzimuth": 59.614758,
            "sunElevation": 65.935,
        },
    }
    image = from_wire(answer, GetImageResult)
    assert (
        image.meta.bands[0].approximate_resolution_x == 0.497 and image.meta.bands[0].crs_origin_y == 0.0002
    )
    assert image.meta.datetime is not None and image.meta.datetime.tzinfo is dt.UTC
    assert image.extent is not None and image.extent["type"] == "GeometryCollection"
    assert image.url is None


def test_scene_info_answer_with_a_polygon_footprint() -> None:
    info = from_wire(
        {
            "bands": [
                {"bitDepth": 16, "gsd": 0.507, "names": ["blue"], "crsOriginX": -0.27, "crsOriginY": 51.58}
            ],
            "crsEpsg": 4326,
            "dataset": "SkySatScene",
            "datetime": "2015-11-13 02:34:12",
            "footprint": {
                "type": "Polygon",
                "coordinates": [[[14.39, 50.10], [14.52, 50.03], [14.39, 50.10]]],
            },
            "provider": "pl",
            "sceneId": "DXc_f1UsDLmqr3aA2rC9Dg",
        },
        Scene,
    )
    assert info.band_names == ["blue"] and info.bands[0].pixel_size_x is None


def test_providers_with_tasking_info() -> None:
    answer = [
        {
            "attribution": "NewSat Surface Reflectance",
            "changeGroup": "satellogic_newsat_sr",
            "clip": "disallowed",
            "dataset": "newsat_sr",
            "datasetName": "NewSat Surface Reflectance",
            "datasetType": "optical",
            "downloadable": False,
            "exportable": True,
            "maxMbrSide": 400000,
            "provider": "satellogic",
            "providerName": "Satellogic",
            "requiresSeparateSearch": False,
            "resolution": [0.5, 0.7],
            "taskingInfo": {
                "feasibilityDayRange": {"max": 8, "min": 0},
                "preallocationAreaKm2": 50,
                "taskingDayRange": {"max": 100, "min": 1},
                "taskingResolution": {"max": 0.7, "min": 0.5},
            },
            "thumbnail": False,
            "visualizationBands": ["red", "green", "blue"],
        }
    ]
    [provider] = msgspec.json.decode(msgspec.json.encode(answer), type=list[Provider])
    assert provider.key.pair == ("satellogic", "newsat_sr")
    assert provider.tasking_info is not None
    assert provider.tasking_info.preallocation_area_km2 == 50
    assert provider.tasking_info.feasibility_day_range is not None
    assert provider.tasking_info.feasibility_day_range.max == 8
    assert provider.visualization_bands == ["red", "green", "blue"] and provider.max_mbr_side == 400000


def test_ingest_answer() -> None:
    answer = {
        "ingestedScenes": [
            {
                "duplicate": False,
                "sceneId": "HJYSLdFQcPLBI0BXokBsb0rUnsL_iCD1izvSyTsBNjzzrSas52bCwL6Z4pzloLow",
            }
        ]
    }
    result = from_wire(answer, IngestResult)
    assert result.ingested_scenes[0].duplicate is False
    assert result.ingested_scenes[0].scene_id.startswith("HJYSL")
