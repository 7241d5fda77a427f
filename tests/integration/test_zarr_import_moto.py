"""Zarr ingestion reading its group from a real S3 server (moto, fixture ``s3``): ``s3_endpoint=``."""

from __future__ import annotations

from typing import Any

import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.core.clock import EmulatorClock
from eoclient.emulator.core.objects import ObjectStore
from eoclient.emulator.sentinelhub.zarr_import import INGEST_SECONDS
from eoclient.errors import JobFailedError
from tests.integration.conftest import sh_client
from tests.integration.zarr_groups import CRS_UTM33, write_group


def _upload(s3: Any, bucket: str, **layout: Any) -> int:
    """A group written as :func:`write_group` writes it, uploaded to ``bucket`` on the moto server."""
    local = ObjectStore(EmulatorClock())
    write_group(local, bucket, "deep/cube.zarr/", **layout)
    client = s3.client()
    objects = local.list(bucket)
    for obj in objects:
        client.put_object(Bucket=bucket, Key=obj.key, Body=obj.body)
    return len(objects)


async def test_ingestion_reads_the_group_from_the_real_store(s3: Any) -> None:
    bucket = s3.bucket("zarr")
    assert _upload(s3, bucket, times=3, compress=True, data={"a": "<f4", "b": "<u8"}) > 10
    async with (
        Emulator(
            s3_endpoint=s3.endpoint,
            s3_access_key=s3.access_key,
            s3_secret_key=s3.secret_key,
            s3_region=s3.region,
        ) as emu,
        sh_client(emu) as sh,
    ):
        spec = {"name": "moto", "s3Bucket": bucket, "path": "deep/cube.zarr/", "crs": CRS_UTM33}
        coll = await sh.zarr.create_collection(spec)
        emu.clock.advance(INGEST_SECONDS + 1)
        done = await sh.zarr.ingestion(coll.id)
        assert (done.width, done.height) == (4, 3) and set(done.bands) == {"a", "b"}
        assert done.envelope is not None  # the zlib-compressed coordinates were fetched and decoded
        assert emu.objects.buckets == []  # nothing was read from (or written to) the emulator's own store

        missing = await sh.zarr.create_collection({**spec, "s3Bucket": "no-such-zarr-bucket"})
        emu.clock.advance(INGEST_SECONDS + 1)
        with pytest.raises(JobFailedError, match="no-such-zarr-bucket"):
            await sh.zarr.ingestion(missing.id)
