"""Every request the Zarr Import and Metadata clients send validates against the official OpenAPI document."""

from __future__ import annotations

import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.sentinelhub.zarr_import import INGEST_SECONDS
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.zarr_import_models import ZarrCollection
from tests.contract.openapi import require_spec, spec_path_for, validate_recorded
from tests.integration.zarr_groups import CRS_4326, write_group


def _client(emu: Emulator) -> SentinelHub:
    return SentinelHub(
        emu.credentials.sh_client_id,
        emu.credentials.sh_client_secret,
        base_url=emu.sentinelhub_url,
        token_url=emu.sentinelhub_token_url,
    )


async def test_zarr_requests_match_the_openapi(eo_emulator: Emulator) -> None:
    require_spec()
    write_group(eo_emulator.objects, "bucket", "cube.zarr/", data={"a": "<f4", "b": "<i8"})
    async with _client(eo_emulator) as sh:
        zarr = sh.zarr
        coll = await zarr.create_collection(
            ZarrCollection(name="model", s3_bucket="bucket", path="cube.zarr/", crs=CRS_4326)
        )
        await zarr.create_collection({"name": "dict", "s3Bucket": "bucket", "path": "x/y/", "crs": CRS_4326})
        eo_emulator.clock.advance(INGEST_SECONDS + 1)
        done = await zarr.ingestion(coll.id)
        done.name = "renamed"
        await zarr.update_collection(coll.id, done)  # a fetched model carries read-only fields
        await zarr.update_collection(coll.id, "again")
        assert len(await zarr.collections(search="dict", count=1).collect()) == 1
        assert len(await zarr.arrays(coll.id, search="a", count=1).collect()) == 1
        assert len(await zarr.arrays(coll.id, count=2).collect()) == 4
        assert (await zarr.array(coll.id, "b")).name == "b"
        job = await zarr.reingest(coll.id)
        eo_emulator.clock.advance(INGEST_SECONDS + 1)
        await job
        await zarr.delete_collection(coll.id)

    assert validate_recorded(eo_emulator.requests, path_prefix="/api/v1/zarr") == 4
    templates = {spec_path_for(r.path) for r in eo_emulator.requests if r.path.startswith("/api/v1/zarr")}
    assert templates == {
        "/zarr/v1/collections",
        "/zarr/v1/collections/{collectionId}",
        "/zarr/v1/collections/{collectionId}/reingest",
        "/zarr/v1/collections/{collectionId}/arrays",
        "/zarr/v1/collections/{collectionId}/arrays/{arrayName}",
    }


async def test_metadata_requests_match_the_openapi(eo_emulator: Emulator) -> None:
    require_spec()
    write_group(eo_emulator.objects, "bucket", "g/")
    async with _client(eo_emulator) as sh:
        byoc = await sh.byoc.create_collection({"name": "b", "s3Bucket": "bucket"})
        batch = await sh.batch.v1.create_collection({"name": "o", "s3Bucket": "bucket"})
        zarr = await sh.zarr.create_collection(
            {"name": "z", "s3Bucket": "bucket", "path": "g/", "crs": CRS_4326}
        )
        eo_emulator.clock.advance(INGEST_SECONDS + 1)
        locations = await sh.metadata.locations().collect()
        await sh.metadata.location(locations[-1].id or "")
        await sh.metadata.byoc_collection(byoc.id)
        await sh.metadata.batch_collection(batch.id)
        await sh.metadata.zarr_collection(zarr.id)

    templates = {spec_path_for(r.path) for r in eo_emulator.requests if r.path.startswith("/api/v1/metadata")}
    assert templates == {
        "/api/v1/metadata/location",
        "/api/v1/metadata/location/{locationId}",
        "/api/v1/metadata/collection/byoc-{collectionId}",
        "/api/v1/metadata/collection/batch-{collectionId}",
        "/api/v1/metadata/collection/zarr-{collectionId}",
    }
    # Their path parameters (UUIDs) are validated against the document on teardown (conftest).


pytestmark = pytest.mark.eo_emulator(seed=7)
