"""Zarr Import and Metadata models: bodies sent, answers read, the emulator's Zarr reader."""

from __future__ import annotations

import json

import pytest

from eoclient._models import from_wire
from eoclient.emulator.core.clock import EmulatorClock
from eoclient.emulator.core.objects import ObjectStore
from eoclient.emulator.sentinelhub.zarr_import.reader import read_group
from eoclient.errors import ResponseDecodeError, ValidationError
from eoclient.sentinelhub.metadata_models import CollectionMetadata, Location
from eoclient.sentinelhub.zarr_import_models import (
    ZarrCollection,
    zarr_collection_body,
    zarr_update_body,
)
from tests.integration.zarr_groups import CRS_4326, write_group

BODY = {"name": "n", "s3Bucket": "b", "path": "a/b.zarr/", "crs": CRS_4326}


def test_create_body_keeps_only_writable_fields() -> None:
    answer = {**BODY, "id": "x", "status": "INGESTED", "width": 4, "additionalData": {"bands": {}}}
    assert zarr_collection_body(answer) == BODY
    assert (
        zarr_collection_body(ZarrCollection(name="n", s3_bucket="b", path="a/b.zarr/", crs=CRS_4326)) == BODY
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"path": "a"}, "collection.path"),
        ({"path": "/a/"}, "collection.path"),
        ({"path": "a//b/"}, "collection.path"),
        ({"name": "  "}, "collection.name"),
        ({"s3Bucket": ""}, "collection.s3Bucket"),
        ({"crs": 4326}, "collection.crs"),
    ],
)
def test_create_body_names_the_bad_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        zarr_collection_body({**BODY, **change})
    assert info.value.field == field


def test_update_body() -> None:
    assert zarr_update_body("new") == {"name": "new"}
    assert zarr_update_body({"name": "new"}) == {"name": "new"}
    assert zarr_update_body(ZarrCollection(**{**_snake(BODY), "name": "m"})) == {"name": "m"}
    for bad, field in [
        ({"path": "x/"}, "collection.path"),
        ({}, "collection.name"),
        ("", "collection.name"),
        (3, "collection"),
    ]:
        with pytest.raises(ValidationError) as info:
            zarr_update_body(bad)
        assert info.value.field == field


def _snake(body: dict[str, str]) -> dict[str, str]:
    return {"name": body["name"], "s3_bucket": body["s3Bucket"], "path": body["path"], "crs": body["crs"]}


def test_answers_need_an_id_and_tolerate_unknown_fields() -> None:
    coll = from_wire({**BODY, "id": "i", "status": "CREATED", "future": 1, "width": None}, ZarrCollection)
    assert coll.id == "i" and not coll.is_final and coll.data_type == "zarr-i"
    with pytest.raises(ResponseDecodeError):
        from_wire(BODY, ZarrCollection)
    with pytest.raises(ValidationError):
        _ = ZarrCollection(**_snake(BODY)).data_type


def test_metadata_reads_at_id() -> None:
    meta = from_wire(
        {
            "@id": "u",
            "id": "c",
            "location": {"@id": "l", "id": "creo", "wmsUrl": "w"},
            "bands": [{"name": "B1"}],
        },
        CollectionMetadata,
    )
    assert meta.at_id == "u" and meta.location == Location(id="creo", at_id="l", wms_url="w")
    assert meta.band_names == ["B1"]


def _store() -> ObjectStore:
    return ObjectStore(EmulatorClock(speed=1.0))


def test_reader_decodes_zlib_coordinates_and_reports_layout_errors() -> None:
    store = _store()
    write_group(store, "b", "g/", compress=True, xs=[1.0, 2.0, 3.0], ys=[10.0, 11.0])
    done = read_group(store, "b", "g/", CRS_4326)
    assert done.error is None and (done.width, done.height) == (3, 2)
    assert done.envelope == {
        "type": "Polygon",
        "coordinates": [[[0.5, 9.5], [3.5, 9.5], [3.5, 11.5], [0.5, 11.5], [0.5, 9.5]]],
    }
    store.put(
        "b",
        "g/temp/.zarray",
        json.dumps({**json.loads(store.get("b", "g/temp/.zarray").body), "order": "F"}).encode(),
    )  # type: ignore[union-attr]
    assert "row-major" in (read_group(store, "b", "g/", CRS_4326).error or "")
    assert "does not exist" in (read_group(store, "nobucket", "g/", CRS_4326).error or "")
    write_group(store, "b", "h/", data={"function": "<f4"})
    assert "JavaScript identifier" in (read_group(store, "b", "h/", CRS_4326).error or "")
