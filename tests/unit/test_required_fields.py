"""A 200 answer missing a field the contract requires is a ResponseDecodeError naming it, not an empty model.

Each row is a complete answer of one family's response model and the field that
is dropped from it. Models users also build (BYOC collections and tiles, legacy
batch collections) stay buildable without the service's fields.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from eoclient._models import from_json, from_user, from_wire
from eoclient.errors import ResponseDecodeError
from eoclient.sentinelhub.batch_models import BatchRequest
from eoclient.sentinelhub.batch_statistics_models import BatchStatisticsTask
from eoclient.sentinelhub.batch_v1_models import BatchCollection, BatchV1Request
from eoclient.sentinelhub.byoc_models import Collection as ByocCollection
from eoclient.sentinelhub.byoc_models import Tile, tile_body
from eoclient.sentinelhub.catalog_models import Collection as StacCollection
from eoclient.sentinelhub.catalog_models import Conformance, Item, LandingPage
from eoclient.sentinelhub.statistics_models import StatisticsResponse
from eoclient.spaceknow.credits_models import AreaCheck, CreditUserInfo
from eoclient.spaceknow.datacube_models import Datapoints, Product
from eoclient.spaceknow.imagery_models import IngestResult, Scene, SearchResults
from eoclient.spaceknow.kraken_models import (
    Algorithm,
    DryRunResult,
    NwiseResult,
    PairsResult,
    ReleaseResult,
)

UID = "3f2a6c1e-8d4b-4e57-9a61-0c2b7d9e5f10"
SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}

ITEM = {
    "type": "Feature",
    "stac_version": "1.0.0",
    "id": "S2A_MSIL2A_20230601",
    "collection": "sentinel-2-l2a",
    "geometry": SQUARE,
    "bbox": [0, 0, 1, 1],
    "properties": {"datetime": "2023-06-01T10:00:00Z"},
    "assets": {},
    "links": [],
}
STATISTICS = {
    "status": "OK",
    "data": [
        {
            "interval": {"from": "2023-06-01T00:00:00Z", "to": "2023-06-02T00:00:00Z"},
            "outputs": {"default": {"bands": {"B0": {"stats": {"min": 0.1, "max": 0.9, "mean": 0.5}}}}},
        }
    ],
}
BYOC_TILE = {"id": UID, "path": "folder/tile_(BAND)", "status": "INGESTED", "coverGeometry": SQUARE}
BYOC_COLLECTION = {"id": UID, "name": "ndvi", "s3Bucket": "bucket", "isConfigured": True}
BATCH = {"id": UID, "status": "CREATED", "completionPercentage": 0}
BATCH_V1 = {"id": UID, "status": "CREATED", "tileCount": 4}
BATCH_COLLECTION = {"id": UID, "name": "first", "s3Bucket": "bucket-a"}
BATCH_STATISTICS = {"id": UID, "status": "CREATED"}
RELEASE = {"mapId": "xyz", "maxZoom": 19, "status": "succeeded", "tiles": [[19, 83861, 202628]]}
DRY_RUN_SCENE = {"sceneId": "s1", "cost": 1.06, "km2": 100.69, "provider": "pl"}
DRY_RUN = {
    "allocatedCredits": 1.06,
    "allocatedKm2": 100.69,
    "analyzedKm2": 50.23,
    "ingestedKm2": 100.69,
    "krakenKm2": 75.434,
    "scenes": [DRY_RUN_SCENE],
}
SCENE = {"sceneId": "s1", "provider": "pl", "dataset": "PSScene", "datetime": "2023-06-01 10:00:00"}

# (model, complete answer, field dropped): fields that were defaulted before and are required now.
NEWLY_REQUIRED: list[tuple[Any, dict[str, Any], str]] = [
    (Item, ITEM, "id"),
    (LandingPage, {"id": "sentinel-hub", "type": "Catalog", "links": []}, "id"),
    (Conformance, {"conformsTo": ["https://api.stacspec.org/v1.0.0/core"]}, "conformsTo"),
    (StatisticsResponse, STATISTICS, "data"),
    (Tile, BYOC_TILE, "id"),
    (Tile, BYOC_TILE, "status"),
    (ByocCollection, BYOC_COLLECTION, "id"),
    (BatchRequest, BATCH, "status"),
    (BatchV1Request, BATCH_V1, "status"),
    (BatchCollection, BATCH_COLLECTION, "id"),
    (ReleaseResult, RELEASE, "tiles"),
    (DryRunResult, DRY_RUN, "allocatedCredits"),
    (DryRunResult, DRY_RUN, "scenes"),
    (PairsResult, {"pairwise": [{"oldSceneId": "a", "newSceneId": "b"}]}, "pairwise"),
    (NwiseResult, {"nwise": [["a", "b", "c"]]}, "nwise"),
    (SearchResults, {"results": [SCENE], "cursor": None}, "results"),
    (IngestResult, {"ingestedScenes": [{"sceneId": "s1", "duplicate": False}]}, "ingestedScenes"),
    (Datapoints, {"totalRows": 1, "data": [{"value": 1}]}, "totalRows"),
]

# Required already: kept as guards so that a default added later does not bring empty models back.
ALREADY_REQUIRED: list[tuple[Any, dict[str, Any], str]] = [
    (StacCollection, {"id": "sentinel-2-l2a", "type": "Collection", "links": []}, "id"),
    (BatchRequest, BATCH, "id"),
    (BatchV1Request, BATCH_V1, "id"),
    (BatchStatisticsTask, BATCH_STATISTICS, "id"),
    (BatchStatisticsTask, BATCH_STATISTICS, "status"),
    (ReleaseResult, RELEASE, "mapId"),
    (Scene, SCENE, "sceneId"),
    (AreaCheck, {"cost": 1.5, "km2": 3.0}, "cost"),
    (CreditUserInfo, {"id": "u1", "email": "a@b.c"}, "id"),
    (Product, {"productId": "SK ABAI AR", "active": True}, "productId"),
    (Algorithm, {"mapType": "aircraft", "gridFiles": {}}, "mapType"),
]

ROWS = NEWLY_REQUIRED + ALREADY_REQUIRED


def _row_id(row: tuple[Any, dict[str, Any], str]) -> str:
    return f"{row[0].__module__.rsplit('.', 1)[-1]}.{row[0].__name__}-{row[2]}"


def _without(answer: dict[str, Any], field: str) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != field}


@pytest.mark.parametrize(("model", "answer", "field"), ROWS, ids=[_row_id(r) for r in ROWS])
def test_complete_answer_decodes_and_tolerates_unknown_fields(
    model: Any, answer: dict[str, Any], field: str
) -> None:
    decoded = from_wire({**answer, "addedByTheServiceLater": {"x": 1}}, model, operation="op")
    assert isinstance(decoded, model)


@pytest.mark.parametrize(("model", "answer", "field"), ROWS, ids=[_row_id(r) for r in ROWS])
def test_missing_field_is_a_decode_error_naming_it(model: Any, answer: dict[str, Any], field: str) -> None:
    with pytest.raises(ResponseDecodeError, match=f"`{field}`") as info:
        from_wire(_without(answer, field), model, operation="family.get", path="/api/x")
    assert info.value.operation == "family.get"
    assert "family.get" in str(info.value)


@pytest.mark.parametrize(("model", "answer", "field"), ROWS, ids=[_row_id(r) for r in ROWS])
def test_missing_field_in_a_json_body_too(model: Any, answer: dict[str, Any], field: str) -> None:
    body = msgspec.json.encode(_without(answer, field))
    with pytest.raises(ResponseDecodeError, match=f"`{field}`"):
        from_json(body, model, operation="family.get")


@pytest.mark.parametrize("model", sorted({r[0] for r in ROWS}, key=lambda m: m.__qualname__))
def test_an_empty_answer_is_never_a_model(model: Any) -> None:
    with pytest.raises(ResponseDecodeError, match="missing required field"):
        from_wire({}, model, operation="family.get")


def test_a_null_service_field_is_missing_too() -> None:
    with pytest.raises(ResponseDecodeError, match="`id`"):
        from_wire({**BYOC_TILE, "id": None}, Tile, operation="byoc.tile")


def test_the_error_says_where_in_a_listing() -> None:
    tiles = [BYOC_TILE, _without(BYOC_TILE, "id")]
    with pytest.raises(ResponseDecodeError, match=r"`id` - at `\$\[1\]`"):
        from_wire(tiles, list[Tile], operation="byoc.tiles")
    pages = {"first": [BYOC_COLLECTION], "second": [_without(BYOC_COLLECTION, "id")]}
    with pytest.raises(ResponseDecodeError, match=r"`id` - at `\$\['second'\]\[0\]`"):
        from_wire(pages, dict[str, list[ByocCollection]], operation="byoc.collections")
    with pytest.raises(ResponseDecodeError, match=r"`id` - at `\$\[0\]`"):
        from_wire([_without(BYOC_TILE, "id")], list[Tile | None], operation="byoc.tiles")
    assert from_wire([BYOC_TILE, None], list[Tile | None], operation="byoc.tiles")[1] is None


def test_nested_required_fields_are_named_with_their_path() -> None:
    scenes = [DRY_RUN_SCENE, _without(DRY_RUN_SCENE, "cost")]
    with pytest.raises(ResponseDecodeError, match=r"`cost` - at `\$\.scenes\[1\]`"):
        from_wire({**DRY_RUN, "scenes": scenes}, DryRunResult, operation="kraken.dry_run")


def test_users_still_build_the_models_the_service_completes() -> None:
    assert Tile(path="a/b").id is None
    assert tile_body(Tile(path="a/b")) == {"path": "a/b"}
    assert tile_body({"path": "a/b"}) == {"path": "a/b"}
    assert ByocCollection(name="n", s3_bucket="b").id is None
    assert from_user({"name": "n", "s3Bucket": "b"}, ByocCollection, field="collection").id is None
    assert BatchCollection(name="first", s3_bucket="bucket-a").id is None
    assert from_user({"name": "first", "s3Bucket": "b"}, BatchCollection, field="collection").id is None
