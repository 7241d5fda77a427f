"""The Metadata API against the emulator: locations, and metadata of BYOC, batch and Zarr collections."""

from __future__ import annotations

import uuid

import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.sentinelhub.deployments import DEPLOYMENTS, MAIN
from eoclient.emulator.sentinelhub.zarr_import import INGEST_SECONDS
from eoclient.errors import NotFoundError, ValidationError
from eoclient.sentinelhub import SentinelHub
from tests.integration.zarr_groups import CRS_4326, write_group


async def test_locations(sh: SentinelHub) -> None:
    locations = await sh.metadata.locations().collect()
    assert [loc.id for loc in locations] == ["aws-eu-central-1", "aws-us-west-2", "creo"]
    assert [loc.url for loc in locations] == list(DEPLOYMENTS)
    main = await sh.metadata.location("aws-eu-central-1")
    assert main == locations[0]
    assert (
        main.process_url == f"{MAIN}/api/v1/process"
        and main.at_id
        and main.at_id.endswith("/aws-eu-central-1")
    )
    with pytest.raises(NotFoundError):
        await sh.metadata.location("mars-1")


async def test_byoc_collection_metadata(sh: SentinelHub) -> None:
    bands = {
        "B1": {"bitDepth": 16, "sampleFormat": "UINT"},
        "NDVI": {"bitDepth": 32, "sampleFormat": "FLOAT"},
    }
    coll = await sh.byoc.create_collection({"name": "m", "s3Bucket": "b", "additionalData": {"bands": bands}})
    meta = await sh.metadata.byoc_collection(coll.id)
    assert meta.id == coll.id and meta.dataset_type == "custom"
    assert meta.location is not None and meta.location.id == "aws-eu-central-1"
    assert [(b.name, b.sample_type) for b in meta.bands or []] == [("B1", "UINT16"), ("NDVI", "FLOAT32")]
    assert await sh.metadata.collection(f"byoc-{coll.id}") == meta
    with pytest.raises(NotFoundError):
        await sh.metadata.zarr_collection(coll.id)  # a BYOC id is no Zarr collection


async def test_batch_collection_metadata(sh: SentinelHub) -> None:
    coll = await sh.batch.v1.create_collection({"name": "out", "s3Bucket": "b"})
    assert coll.id is not None
    meta = await sh.metadata.collection(f"batch-{coll.id}")
    assert meta.id == coll.id and meta.bands == []
    with pytest.raises(NotFoundError):
        await sh.metadata.batch_collection(uuid.uuid4())


async def test_zarr_collection_metadata_once_ingested(sh: SentinelHub, eo_emulator: Emulator) -> None:
    write_group(eo_emulator.objects, "zb", "g/", data={"sst": "<f8", "mask": "<u4"})
    coll = await sh.zarr.create_collection({"name": "g", "s3Bucket": "zb", "path": "g/", "crs": CRS_4326})
    assert (await sh.metadata.zarr_collection(coll.id)).bands == []
    eo_emulator.clock.advance(INGEST_SECONDS + 1)
    meta = await sh.metadata.collection(coll.data_type)
    assert meta.band_names == ["mask", "sst"]
    assert [b.sample_type for b in meta.bands or []] == ["UINT32", "FLOAT64"]


async def test_validation_before_sending(sh: SentinelHub, eo_emulator: Emulator) -> None:
    before = len(eo_emulator.requests)
    for bad in ("sentinel-2-l2a", "byoc-", "zarr-not-a-uuid", 7):
        with pytest.raises(ValidationError) as info:
            await sh.metadata.collection(bad)  # type: ignore[arg-type]
        assert info.value.field == "data_type"
    with pytest.raises(ValidationError) as info:
        await sh.metadata.byoc_collection("nope")
    assert info.value.field == "collection_id"
    with pytest.raises(ValidationError):
        await sh.metadata.location(" ")
    assert len(eo_emulator.requests) == before


async def test_emulator_answers_404_for_a_non_uuid(sh: SentinelHub) -> None:
    with pytest.raises(NotFoundError):
        await sh.context.transport.request_json(
            "GET", "/api/v1/metadata/collection/zarr-xyz", operation="test"
        )


pytestmark = pytest.mark.eo_emulator(seed=5)
