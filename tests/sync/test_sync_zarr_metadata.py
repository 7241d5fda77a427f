"""Zarr Import and Metadata without asyncio: the ingestion Job and the listings through the sync client."""

from __future__ import annotations

import eoclient.sync
from eoclient.emulator.sentinelhub.zarr_import import INGEST_SECONDS
from tests.integration.zarr_groups import CRS_4326, write_group
from tests.sync.conftest import ThreadedEmulator


def test_zarr_ingestion_and_metadata(emulator: ThreadedEmulator, sh: eoclient.sync.SentinelHub) -> None:
    emulator.call(lambda: write_group(emulator.emu.objects, "b", "g/"))
    coll = sh.zarr.create_collection({"name": "g", "s3Bucket": "b", "path": "g/", "crs": CRS_4326})
    emulator.call(emulator.emu.clock.advance, INGEST_SECONDS + 1)
    done = sh.zarr.ingestion(coll.id).wait()
    assert done.status == "INGESTED"
    assert [a.name for a in sh.zarr.arrays(coll.id)] == ["temp", "x", "y"]
    assert sh.metadata.collection(done.data_type).band_names == ["temp"]
    assert [loc.id for loc in sh.metadata.locations()] == ["aws-eu-central-1", "aws-us-west-2", "creo"]
