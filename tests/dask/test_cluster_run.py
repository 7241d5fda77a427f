"""Renders across 2 worker processes: every item done once, within the account's limits, skipped on rerun."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from eoclient.bulk import Downloaded, Failure
from eoclient.dask import AccountLimits, ClientSpec, ClusterAccount, Progress
from eoclient.errors import ValidationError
from tests.dask.conftest import Emulator
from tests.dask.requests import render

pytestmark = pytest.mark.timeout(120)


def spec_of(info: dict[str, Any]) -> ClientSpec:
    creds = info["credentials"]
    return ClientSpec.sentinelhub(
        creds["sh_client_id"],
        creds["sh_client_secret"],
        base_url=info["sentinelhub_url"],
        token_url=info["sentinelhub_token_url"],
    )


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


async def test_every_item_once_within_concurrency_then_a_rerun_sends_nothing(
    dask_client: Any, emulator: dict[str, Any], emu: Emulator, tmp_path: Path
) -> None:
    requests = {f"r{i:03d}": render(i) for i in range(24)}
    limits = AccountLimits(concurrency=3)
    seen: list[int] = []

    def on_progress(progress: Progress) -> None:
        seen.append(progress.done)

    async with ClusterAccount(dask_client, spec_of(emulator), limits=limits, per_worker=4) as account:
        outcomes = [o async for o in account.process_each(requests, tmp_path, on_progress=on_progress)]
        after_first = await emu.stats()
        again = await account.process_all(requests, tmp_path)
        stats = await account.stats()

    assert all(isinstance(o, Downloaded) and not o.skipped for o in outcomes), outcomes
    assert sorted(o.path.name for o in outcomes if isinstance(o, Downloaded)) == [
        f"{n}.tif" for n in requests
    ]
    assert [p.name for p in files_in(tmp_path)] == [f"{n}.tif" for n in requests]  # no .part left
    assert all(p.stat().st_size > 0 for p in files_in(tmp_path))
    assert seen == list(range(1, 25))
    # The emulator saw each render once, never more than 3 at a time across both workers.
    assert after_first["requests"] == 24
    assert after_first["statuses"] == {"200": 24}
    assert 1 <= after_first["max_in_flight"] <= 3
    # The rerun skips every file and sends nothing.
    assert len(again.skipped) == 24 and again.downloaded == [] and again.ok
    assert (await emu.stats())["requests"] == 24
    assert stats["reservations"] == 0  # no request pace: no round trip to the scheduler per request


async def test_both_workers_share_one_request_pace(
    dask_client: Any, emulator: dict[str, Any], emu: Emulator, tmp_path: Path
) -> None:
    limits = AccountLimits(concurrency=8, requests_per_second=10)
    start = time.time()
    async with ClusterAccount(dask_client, spec_of(emulator), limits=limits, per_worker=4) as account:
        report = await account.process_all([render(i) for i in range(30)], tmp_path, chunk_size=4)
    seen = await emu.stats(since=start)
    assert report.ok and len(report.downloaded) == 30
    assert len(report.workers) == 2  # both workers rendered
    assert seen["requests"] == 30
    # 10 a second for the cluster, not 10 per worker (20). The scheduler's slots are exactly 0.1 s
    # apart and none is sent early, but a loaded machine sends some late, bunching them into the
    # next second: a window holds 10, one at its edge, and those up to 0.4 s late. A pace per
    # worker puts 20 in a window.
    assert seen["max_per_second"] <= 15


async def test_a_bad_request_is_refused_before_anything_is_submitted(
    dask_client: Any, emulator: dict[str, Any], emu: Emulator, tmp_path: Path
) -> None:
    bad = render(1)
    bad["output"]["width"] = -5
    async with ClusterAccount(dask_client, spec_of(emulator)) as account:
        with pytest.raises(ValidationError) as caught:
            await account.process_all({"good": render(0), "bad": bad}, tmp_path)
    assert "requests['bad'].output.width" in str(caught.value)
    assert (await emu.stats())["requests"] == 0
    assert files_in(tmp_path) == []


async def test_a_failed_item_is_reported_with_its_typed_error(
    dask_client: Any, emulator: dict[str, Any], emu: Emulator, tmp_path: Path
) -> None:
    await emu.inject(kind="server_error", status=400, count=1, path_prefix="/api/v1/process")
    async with ClusterAccount(dask_client, spec_of(emulator)) as account:
        report = await account.process_all({f"r{i}": render(i) for i in range(6)}, tmp_path)
    assert len(report.downloaded) == 5
    (failure,) = report.failures
    assert isinstance(failure, Failure)
    assert type(failure.error).__name__ in {"BadRequestError", "APIError", "WorkerItemError"}
    assert not (tmp_path / failure.item.dest.name).exists()


async def test_downloads_run_on_the_workers_once_each_and_are_skipped_on_rerun(
    dask_client: Any, emulator: dict[str, Any], emu: Emulator, tmp_path: Path
) -> None:
    path = "/api/v1/catalog/1.0.0/collections/sentinel-2-l2a"
    items = [(path, tmp_path / f"c{i:02d}" / "collection.json") for i in range(12)]
    async with ClusterAccount(dask_client, spec_of(emulator), limits=AccountLimits(concurrency=2)) as account:
        report = await account.download_all(items, chunk_size=3)
        again = await account.download_all(items)
    seen = await emu.stats(path_prefix=path)
    assert report.ok and len(report.downloaded) == 12 and len(report.workers) == 2
    assert sorted(f.path for f in report.files) == sorted(dest for _, dest in items)
    assert all(dest.read_bytes().startswith(b"{") for _, dest in items)
    assert seen["requests"] == 12 and seen["max_in_flight"] <= 2
    assert len(again.skipped) == 12


async def test_a_download_source_that_cannot_travel_is_refused(
    dask_client: Any, emulator: dict[str, Any], tmp_path: Path
) -> None:
    from eoclient.bulk import Download
    from eoclient.sentinelhub.process_area import TileSource

    async with ClusterAccount(dask_client, spec_of(emulator)) as account:
        source = TileSource.__new__(TileSource)  # any Source object: never sent
        with pytest.raises(ValidationError) as caught:
            await account.download_all([("/a", tmp_path / "a"), Download(source, tmp_path / "b")])
    assert caught.value.field == "items[1].source"


@pytest.fixture
def blocking_client(cluster: Any) -> Any:
    """A ``distributed.Client`` as a notebook makes it: blocking, its loop in a thread of its own."""
    import distributed

    with distributed.Client(cluster.scheduler_address) as client:
        client.wait_for_workers(2)
        yield client


async def test_a_blocking_dask_client_works_from_async_code(
    blocking_client: Any, emulator: dict[str, Any], emu: Emulator, tmp_path: Path
) -> None:
    assert not blocking_client.asynchronous
    limits = AccountLimits(concurrency=2, requests_per_second=100)
    async with ClusterAccount(blocking_client, spec_of(emulator), limits=limits) as account:
        names = [
            o.path.name async for o in account.process_each({f"b{i}": render(i) for i in range(6)}, tmp_path)
        ]
        stats = await account.stats()
    assert sorted(names) == [f"b{i}.tif" for i in range(6)]
    assert stats["reservations"] == 6  # each request reserved its slot on the scheduler
    assert (await emu.stats())["requests"] == 6
