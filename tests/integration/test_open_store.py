"""``SentinelHub.open_store``: the bucket a job delivered into, read with the client's ``storage=`` settings.

The emulator's own S3 API plays the user's bucket (issue #12); the client built by
``eoclient.emulator.clients.sentinelhub_client`` is pointed at it with the
emulator's S3 keys, which are not the Sentinel Hub credentials.
"""

from __future__ import annotations

import pytest

from eoclient import SentinelHub
from eoclient.emulator import Emulator
from eoclient.emulator.clients import sentinelhub_client
from eoclient.errors import StorageAccessError, ValidationError
from eoclient.storage import StorageSettings
from tests.integration.test_batch import corsica


@pytest.mark.eo_emulator(seed=5, clock_speed=1000.0)
async def test_a_done_batch_request_is_listed_and_read_from_its_bucket(
    eo_emulator: Emulator, tmp_path
) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch.run(corsica("delivered"))
        done = await job
        store = sh.open_store("s3://my-bucket")
        objects = [obj async for obj in store.list(f"{done.id}/")]
        assert objects, "a DONE batch request delivered nothing"
        assert all(obj.key.endswith("/default.tif") and obj.size > 0 for obj in objects)
        first = objects[0]
        data = await store.read(first.key)
        assert data[:4] in (b"II*\x00", b"MM\x00*") and len(data) == first.size
        report = await store.download_prefix(f"{done.id}/", tmp_path)
        assert not report.failures and len(report.files) == len(objects)
        assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.tif")) == sorted(
            obj.key.removeprefix(f"{done.id}/") for obj in objects
        )


@pytest.mark.eo_emulator(seed=5)
async def test_the_store_wants_its_own_keys(eo_emulator: Emulator) -> None:
    wrong = StorageSettings(
        endpoint=eo_emulator.s3_url, access_key="AKIANOTTHEEMULATORS", secret_key="wrong-s3-secret-9d2e"
    )
    async with sentinelhub_client(eo_emulator, storage=wrong) as sh:
        with pytest.raises(StorageAccessError):
            await sh.open_store("s3://my-bucket").read("anything")
        assert "wrong-s3-secret-9d2e" not in repr(sh) + repr(sh.context.storage)


def test_storage_must_be_storage_settings() -> None:
    with pytest.raises(ValidationError) as caught:
        SentinelHub("id", "storage-test-client-secret-5f1c", storage={"endpoint": "http://x"})  # type: ignore[arg-type]
    assert caught.value.field == "storage"
