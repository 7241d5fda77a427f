"""BYOC wire bodies and input checks (no HTTP)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from eoclient.errors import ValidationError
from eoclient.sentinelhub.byoc_models import (
    BandFormat,
    Collection,
    CollectionAdditionalData,
    Tile,
    collection_body,
    file_list,
    tile_body,
    tile_update_body,
    uuid_id,
    wire_time,
)

UID = "3c3b5d6e-1f0a-4b8e-9a4e-2b1d0c9e8f7a"


def test_uuid_id_accepts_uuid_text_and_byoc_prefix() -> None:
    assert uuid_id(uuid.UUID(UID), field="x") == UID
    assert uuid_id(UID.upper(), field="x") == UID
    assert uuid_id(f"byoc-{UID}", field="x") == UID
    with pytest.raises(ValidationError, match=r"tile_id"):
        uuid_id(f"byoc-{UID}", field="tile_id", prefix="")


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (datetime(2024, 8, 24, 14, 15, 22, 123456, tzinfo=UTC), "2024-08-24T14:15:22.123Z"),
        (datetime(2024, 8, 24, 14, 15, 22), "2024-08-24T14:15:22Z"),  # naive means UTC
        (datetime(2024, 8, 24, 16, 15, 22, tzinfo=timezone(timedelta(hours=2))), "2024-08-24T14:15:22Z"),
        ("2024-08-24T14:15:22.5Z", "2024-08-24T14:15:22.500Z"),
        (None, None),
    ],
)
def test_wire_time_is_utc_with_milliseconds_at_most(value: object, wire: str | None) -> None:
    assert wire_time(value, field="t") == wire  # type: ignore[arg-type]


def test_collection_body_sends_only_writable_fields() -> None:
    coll = Collection(
        name="n",
        s3_bucket="b",
        id=UID,
        account_id=UID,
        created=datetime.now(UTC),
        is_configured=True,
        requires_metadata_update=False,
        additional_data=CollectionAdditionalData(
            bands={"B1": BandFormat(bit_depth=8, sample_format="UINT", aliases=["red"])},
            max_meters_per_pixel=500.0,
            extent={"type": "Polygon", "coordinates": []},
            has_sensing_times="YES",
        ),
    )
    assert collection_body(coll) == {
        "name": "n",
        "s3Bucket": "b",
        "isConfigured": True,
        "additionalData": {"bands": {"B1": {"bitDepth": 8, "sampleFormat": "UINT"}}},
    }
    update = collection_body(coll, update=True)
    assert "isConfigured" not in update and update["additionalData"]["bands"]["B1"] == {
        "bitDepth": 8,
        "sampleFormat": "UINT",
    }
    # additionalData without bands means "remove all bands" on update.
    assert (
        collection_body({"name": "n", "s3Bucket": "b", "additionalData": {}}, update=True)["additionalData"]
        == {}
    )


def test_models_are_checked_like_dicts() -> None:
    bad = Collection(
        name="n",
        s3_bucket="b",
        additional_data=CollectionAdditionalData(
            bands={"B1": BandFormat(bit_depth=12, sample_format="UINT")}  # type: ignore[arg-type]
        ),
    )
    with pytest.raises(ValidationError) as err:
        collection_body(bad)
    assert err.value.field == "collection.additionalData.bands.B1.bitDepth"


def test_tile_bodies() -> None:
    assert tile_body(Tile(path="a/b", status="INGESTED", id=UID, tile_geometry={"x": 1})) == {"path": "a/b"}
    assert tile_body({"path": ""}) == {"path": ""}  # the bucket root matches the OpenAPI pattern
    with pytest.raises(ValidationError, match=r"tile\.path"):
        tile_body({"path": "a/"})
    assert tile_update_body({"sensingTime": None}) == {"sensingTime": None}
    assert tile_update_body(Tile(path="p")) == {"sensingTime": None}


def test_file_list_accepts_the_documented_object_form() -> None:
    assert file_list({"1": "b", "0": "a", "10": "k", "2": "c"}) == ["a", "b", "c", "k"]
    assert file_list(["a"]) == ["a"]
