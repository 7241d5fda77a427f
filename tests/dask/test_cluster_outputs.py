"""A batch job's outputs downloaded by the workers from a real S3 server (moto), skipped on rerun."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from eoclient.bulk import Downloaded
from eoclient.dask import ClusterAccount, StoreSpec
from eoclient.emulator.clients import sentinelhub_client
from eoclient.errors import ValidationError
from tests.dask.test_cluster_run import files_in, spec_of
from tests.extras import need
from tests.integration.test_batch_outputs import moto_emulator, spec

need("obstore")
need("moto")

pytestmark = pytest.mark.timeout(180)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _set_env(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


async def test_a_jobs_outputs_download_on_the_workers_as_they_appear_then_a_rerun_skips_them(
    dask_client: Any, emulator: dict[str, Any], s3: Any, tmp_path: Path
) -> None:
    bucket = s3.bucket("dask-outputs")
    async with (
        moto_emulator(s3, seed=21, clock_speed=200.0) as emu,
        sentinelhub_client(emu) as sh,
        ClusterAccount(dask_client, spec_of(emulator), per_worker=2) as account,
    ):
        job = await sh.batch.run(spec(f"s3://{bucket}/runs", "default", "ndvi"))
        storage = StoreSpec.of(sh.context.storage, credentials=True)
        outcomes = [
            o async for o in account.download_outputs(job.outputs(), tmp_path, storage=storage, chunk_size=2)
        ]
        listed = s3.client().list_objects_v2(Bucket=bucket, Prefix=f"runs/{job.id}/")["Contents"]
        again = await account.download_outputs_all(job.outputs(), tmp_path, storage=storage)
        # The same objects named by their folder's URL: listed here, fetched by the workers.
        by_url = await account.download_outputs_all(
            f"s3://{bucket}/runs/{job.id}/", tmp_path / "by-url", storage=storage
        )

    objects = {o["Key"].removeprefix(f"runs/{job.id}/"): o for o in listed}
    assert len(objects) >= 4
    assert all(isinstance(o, Downloaded) and not o.skipped for o in outcomes), outcomes
    assert sorted(o.path for o in outcomes if isinstance(o, Downloaded)) == sorted(
        tmp_path / path for path in objects
    )  # each output once
    for path, obj in objects.items():
        assert _md5(tmp_path / path) == obj["ETag"].strip('"')
        assert _md5(tmp_path / "by-url" / path) == obj["ETag"].strip('"')
    assert not [p for p in files_in(tmp_path) if p.name.endswith(".part")]
    assert again.ok and len(again.skipped) == len(objects) and not again.downloaded
    assert by_url.ok and len(by_url.downloaded) == len(objects)
    assert len(by_url.workers) == 2  # listed at once, the objects were split over both workers


async def test_by_default_each_worker_signs_in_with_its_own_environment(
    dask_client: Any, emulator: dict[str, Any], s3: Any, tmp_path: Path
) -> None:
    bucket = s3.bucket("dask-env")
    client = s3.client()
    for i in range(6):
        client.put_object(Bucket=bucket, Key=f"out/tile-{i}/default.tif", Body=f"tile {i}".encode() * 100)
    # The workers are told the store's keys through their environment, as a cluster's hosts would be.
    await dask_client.run(_set_env, s3.env())
    try:
        async with (
            moto_emulator(s3, seed=22) as emu,
            sentinelhub_client(emu) as sh,
            ClusterAccount(dask_client, spec_of(emulator)) as account,
        ):
            store = sh.open_store(f"s3://{bucket}")
            outputs = [
                o async for o in _outputs_of(store, "out/")
            ]  # Outputs whose store holds the caller's keys
            report = await account.download_outputs_all(outputs, tmp_path, chunk_size=2)
    finally:
        await dask_client.run(_set_env, dict.fromkeys(s3.env()))
    assert report.ok and len(report.downloaded) == 6
    assert (tmp_path / "tile-3" / "default.tif").read_bytes() == b"tile 3" * 100
    # What travels to the workers by default holds no secret.
    default = StoreSpec.of(sh.context.storage)
    assert default.secret_key is None and default.endpoint == s3.endpoint
    assert s3.secret_key.encode() not in pickle.dumps(default)
    explicit = StoreSpec.of(sh.context.storage, credentials=True)
    assert s3.secret_key not in repr(explicit) and "***" not in repr(explicit)  # not even masked: left out


async def _outputs_of(store: Any, prefix: str) -> Any:
    from eoclient.storage.outputs import output_of

    async for obj in store.list(prefix):
        yield output_of(store, obj, {}, obj.key.removeprefix(prefix))


async def test_bad_outputs_are_refused_before_anything_is_submitted(
    dask_client: Any, emulator: dict[str, Any], tmp_path: Path
) -> None:
    async with ClusterAccount(dask_client, spec_of(emulator)) as account:
        with pytest.raises(ValidationError) as caught:
            await account.download_outputs_all(["s3://b/k"], tmp_path)  # type: ignore[list-item]
        assert caught.value.field == "outputs[0]"
        with pytest.raises(ValidationError) as caught:
            account.download_outputs(42, tmp_path)  # type: ignore[arg-type]
        assert caught.value.field == "outputs"
    with pytest.raises(ValidationError):
        StoreSpec(access_key="AKIAONLYHALF")
