"""Kraken wire models decode the reference's examples; docs-style dicts are accepted as input."""

from __future__ import annotations

import pytest

from eoclient._models import from_user, from_wire
from eoclient.errors import ResponseDecodeError, ValidationError
from eoclient.spaceknow.kraken_models import (
    Algorithm,
    DryRun,
    DryRunResult,
    MapClasses,
    NwiseResult,
    PairsResult,
    ReleaseResult,
)
from eoclient.spaceknow.pipelines import _RESULTS

RELEASE = {
    "mapId": "xyz",
    "maxZoom": 19,
    "status": "succeeded",
    "subGeometryId": "-",
    "tiles": [[19, 83861, 202628]],
}

DRY_RUN = {
    "allocatedCredits": 1.06,
    "allocatedKm2": 100.69,
    "analyzedKm2": 50.23,
    "ingestedKm2": 100.69,
    "krakenKm2": 75.434,
    "scenes": [
        {
            "cost": 1.06,
            "costPerKm2": 0.010527361207667098,
            "dataset": "SkySatCollect",
            "km2": 100.69,
            "provider": "pl",
            "sceneId": "DXc_f1UsDLmqvwlUy7tMaR7F",
        }
    ],
}

CLASSES = {
    "deprecatedClasses": {"430.2": {"mig-23": [255, 193, 7]}},
    "mapType": "aircraft",
    "segmentationClassification": {
        "custom_classification": {
            "an-124": {
                "class": "transport",
                "color": [255, 88, 151],
                "master_class": "aircraft",
                "parent_class": "transport-heavy",
            },
            "undefined": {},
        },
        "default": {
            "an-124": {
                "color": [255, 88, 151],
                "master_class": "aircraft",
                "parent_class": "transport-heavy",
            },
            "undefined": {"color": [200, 200, 200], "master_class": "aircraft"},
        },
    },
    "segmentationMetadata": {"segmentationColors": {"aircraft": [255, 193, 7]}},
}

ALGORITHM = {
    "availableDatasets": {
        "gbdx": [
            [
                "idaho-pansharpened",
                {"isGlobal": True, "marginPx": 80, "minSizePx": 0, "version": "some-number"},
            ]
        ],
        "pl": [
            [
                "PSScene4Band",
                {
                    "isGlobal": False,
                    "marginPx": 80,
                    "maxGsd": 4.5,
                    "minSizePx": 0,
                    "resolution": 3.125,
                    "version": "some-number2",
                },
            ]
        ],
    },
    "description": "Aircraft detection algorithm",
    "gridFiles": {
        "geojson": ["detections.geojson"],
        "geotiff": ["analysis.geotiff", "visualization.geotiff"],
        "json": ["metadata.json"],
        "png": ["segmentation.png", "transport.png", "fighter.png", "rotary-wing.png"],
        "ski": ["segmentation.ski"],
    },
    "mapType": "aircraft",
    "maxMpix": 14400,
    **{k: v for k, v in CLASSES.items() if k != "mapType"},
    "supportsUserThreshold": False,
    "somethingNew": {"tolerated": True},
}


def test_release_result() -> None:
    result = from_wire(RELEASE, ReleaseResult)
    assert result.map_id == "xyz" and result.max_zoom == 19
    assert result.tiles == [(19, 83861, 202628)]
    assert result.geometry_id == "-"
    assert from_wire({"mapId": "a", "maxZoom": 3, "tiles": []}, ReleaseResult).geometry_id == "-"
    assert from_wire({**RELEASE, "subGeometryId": "g1"}, ReleaseResult).geometry_id == "g1"
    with pytest.raises(ResponseDecodeError):
        from_wire({"maxZoom": 19}, ReleaseResult)
    with pytest.raises(ResponseDecodeError):
        from_wire({**RELEASE, "tiles": [[19, 1]]}, ReleaseResult)


def test_dry_run_result_and_request() -> None:
    result = from_wire(DRY_RUN, DryRunResult)
    assert result.kraken_km2 == 75.434 and result.allocated_km2 == 100.69
    (scene,) = result.scenes
    assert scene.cost_per_km2 == pytest.approx(0.0105, rel=0.01) and scene.dataset == "SkySatCollect"
    assert result.cost == 1.06
    run = from_user({"mapTypes": ["change"], "scenes": [["a", "b"]]}, DryRun, field="dry_runs[0]")
    assert run.to_dict() == {"mapTypes": ["change"], "scenes": [["a", "b"]]}
    with pytest.raises(ValidationError) as info:
        from_user({"mapTypes": ["change"], "scenes": "a"}, DryRun, field="dry_runs[0]")
    assert info.value.field == "dry_runs[0].scenes"


def test_pairs_and_nwise() -> None:
    pairs = from_wire(
        {
            "pairwise": [
                {"newSceneId": "E", "oldSceneId": "H"},
                {"newSceneId": "C", "oldSceneId": "F"},
            ]
        },
        PairsResult,
    )
    assert [p.scene_ids for p in pairs.pairwise] == [["H", "E"], ["F", "C"]]
    groups = from_wire({"nwise": [["H", "E", "F"], ["C", "D", "A"]]}, NwiseResult)
    assert groups.nwise[1] == ["C", "D", "A"]
    assert from_wire({"pairwise": []}, PairsResult).pairwise == []
    assert from_wire({"nwise": []}, NwiseResult).nwise == []


def test_map_classes_keep_snake_case_class_fields() -> None:
    classes = from_wire(CLASSES, MapClasses)
    assert classes.map_type == "aircraft"
    assert classes.segmentation_classification is not None
    custom = classes.segmentation_classification["custom_classification"]["an-124"]
    assert (custom.class_, custom.master_class, custom.parent_class) == (
        "transport",
        "aircraft",
        "transport-heavy",
    )
    assert classes.segmentation_classification["custom_classification"]["undefined"].color is None
    assert classes.segmentation_metadata is not None
    assert classes.segmentation_metadata.segmentation_colors["aircraft"] == [255, 193, 7]
    assert classes.deprecated_classes == {"430.2": {"mig-23": [255, 193, 7]}}


def test_algorithm() -> None:
    algo = from_wire(ALGORITHM, Algorithm)
    assert algo.map_type == "aircraft" and algo.max_mpix == 14400
    assert "segmentation.ski" in algo.files and len(algo.files) == 9
    assert algo.supports("pl", "PSScene4Band") and not algo.supports("pl", "PSScene")
    name, info = algo.available_datasets["pl"][0]
    assert name == "PSScene4Band" and info.max_gsd == 4.5 and info.resolution == 3.125
    assert algo.available_datasets["gbdx"][0][1].is_global is True
    assert algo.segmentation_classification is not None
    assert algo.segmentation_classification["default"]["undefined"].color == [200, 200, 200]
    assert from_wire({"mapType": "ships"}, Algorithm).files == []


def test_retrieve_results_are_registered_for_resumed_jobs() -> None:
    import eoclient.spaceknow.kraken  # noqa: F401 - registers on import

    for path, model, data in [
        ("/kraken/release/retrieve", ReleaseResult, RELEASE),
        ("/kraken/dry-run/retrieve", DryRunResult, DRY_RUN),
        ("/kraken/pairs/retrieve", PairsResult, {"pairwise": []}),
        ("/kraken/nwise/retrieve", NwiseResult, {"nwise": [["a", "b", "c"]]}),
    ]:
        assert isinstance(_RESULTS[path](data), model)
