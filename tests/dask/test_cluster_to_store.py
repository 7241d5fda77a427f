"""Renders uploaded by the workers to object storage (moto): each object once, a rerun renders nothing."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from eoclient.bulk import Downloaded
from eoclient.dask import AccountLimits, ClusterAccount, StoreSpec
from eoclient.errors import ValidationError
from tests.dask.conftest import Emulator
from tests.dask.requests import render
from tests.dask.test_cluster_run import spec_of
from tests.extras import need

need("obstore")
need("moto")

pytestmark = pytest.mark.timeout(180)


def storage_of(s3: Any) -> StoreSpec:
    return StoreSpec(s3.endpoint, s3.region, s3.access_key, s3.secret_key)


def objects(s3: Any, bucket: str, prefix: str) -> dict[str, bytes]:
    client = s3.client()
    listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


async def test_renders_land_in_the_store_once_each_and_a_rerun_renders_nothing(
    dask_client: Any, emulator: dict[str, Any], emu: Emulator, s3: Any, tmp_path: Path
) -> None:
    bucket = s3.bucket("dask-renders")
    requests = {f"r{i:02d}": render(i) for i in range(16)}
    limits = AccountLimits(concurrency=3)
    async with ClusterAccount(dask_client, spec_of(emulator), limits=limits, per_worker=2) as account:
        dest = f"s3://{bucket}/renders/"
        outcomes = [
            o async for o in account.process_each(requests, dest, storage=storage_of(s3), chunk_size=4)
        ]
        first = await emu.stats()
        again = await account.process_all(requests, dest, storage=storage_of(s3))
        after_rerun = await emu.stats()
        local = await account.process_all(requests, tmp_path)  # the same renders into a folder
    stored = objects(s3, bucket, "renders/")

    keys = sorted(f"renders/{name}.tif" for name in requests)
    assert sorted(stored) == keys
    assert all(isinstance(o, Downloaded) and not o.skipped for o in outcomes), outcomes
    assert sorted(o.path.as_posix() for o in outcomes if isinstance(o, Downloaded)) == keys
    assert first["requests"] == 16 and first["max_in_flight"] <= 3
    assert again.ok and len(again.skipped) == 16 and not again.downloaded
    assert after_rerun["requests"] == 16  # the rerun asked the store, not the service
    assert local.ok
    for name in requests:
        assert stored[f"renders/{name}.tif"] == (tmp_path / f"{name}.tif").read_bytes()


async def test_a_worker_killed_mid_upload_run_leaves_every_object_once(
    dask_client: Any, emulator: dict[str, Any], emu: Emulator, s3: Any
) -> None:
    bucket = s3.bucket("dask-kill")
    requests = {f"k{i:02d}": render(i) for i in range(40)}
    pids: dict[str, int] = await dask_client.run(os.getpid)
    names: list[str] = []
    async with ClusterAccount(
        dask_client, spec_of(emulator), limits=AccountLimits(concurrency=4), per_worker=2
    ) as account:
        dest = f"s3://{bucket}/run"
        async for outcome in account.process_each(requests, dest, storage=storage_of(s3), chunk_size=4):
            assert isinstance(outcome, Downloaded), outcome
            names.append(outcome.path.name)
            if len(names) == 6:
                os.kill(next(iter(pids.values())), signal.SIGKILL)
        during = await emu.stats()
        rerun = await account.process_all(requests, dest, storage=storage_of(s3))
    await dask_client.wait_for_workers(2)  # the nanny restarts it for the next tests

    assert sorted(names) == sorted(f"{n}.tif" for n in requests)  # each told once
    assert sorted(objects(s3, bucket, "run/")) == sorted(f"run/{n}.tif" for n in requests)
    assert 40 <= during["requests"] <= 40 + 4  # at most the renders in flight on the dead worker again
    assert len(rerun.skipped) == 40 and (await emu.stats())["requests"] == during["requests"]


async def test_a_store_destination_is_checked_before_anything_runs(
    dask_client: Any, emulator: dict[str, Any], tmp_path: Path
) -> None:
    async with ClusterAccount(dask_client, spec_of(emulator)) as account:
        with pytest.raises(ValidationError) as caught:
            await account.process_all({"a": render(0)}, tmp_path, storage=StoreSpec())
        assert caught.value.field == "storage"
        with pytest.raises(ValidationError) as caught:
            await account.process_all({"a": render(0)}, "s3://bucket/../up")
        assert caught.value.field == "dest"
