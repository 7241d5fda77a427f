"""A worker killed mid-run, and 429s seen by one worker: the cluster keeps one account's budget."""

from __future__ import annotations

import os
import signal
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from eoclient import RetryPolicy
from eoclient.bulk import Downloaded
from eoclient.dask import AccountLimits, ClusterAccount
from tests.dask.conftest import Emulator
from tests.dask.requests import render
from tests.dask.test_cluster_run import files_in, spec_of

pytestmark = pytest.mark.timeout(180)


async def test_a_worker_killed_mid_run_loses_nothing_and_a_rerun_sends_nothing(
    dask_client: Any, emulator: dict[str, Any], emu: Emulator, tmp_path: Path
) -> None:
    requests = {f"r{i:03d}": render(i) for i in range(60)}
    limits = AccountLimits(concurrency=4)
    pids: dict[str, int] = await dask_client.run(os.getpid)
    killed = False
    first_seen: dict[str, int] = {}  # file -> inode when it was reported: never replaced afterwards
    names: list[str] = []
    async with ClusterAccount(dask_client, spec_of(emulator), limits=limits, per_worker=2) as account:
        async for outcome in account.process_each(requests, tmp_path, chunk_size=4):
            assert isinstance(outcome, Downloaded), outcome
            names.append(outcome.path.name)
            first_seen[outcome.path.name] = outcome.path.stat().st_ino
            if len(names) == 8 and not killed:
                os.kill(next(iter(pids.values())), signal.SIGKILL)
                killed = True
        during = await emu.stats()
        rerun = await account.process_all(requests, tmp_path)
    await dask_client.wait_for_workers(2)  # the nanny restarts it for the next tests

    assert killed
    assert sorted(names) == sorted(f"{n}.tif" for n in requests)  # each item reported once
    assert [p.name for p in files_in(tmp_path)] == sorted(f"{n}.tif" for n in requests)  # and no .part
    assert all((tmp_path / n).stat().st_ino == ino for n, ino in first_seen.items())
    # Only renders in flight on the dead worker were sent again (at most the account's concurrency).
    assert 60 <= during["requests"] <= 60 + limits.concurrency
    assert during["max_in_flight"] <= limits.concurrency
    assert len(rerun.skipped) == 60 and rerun.ok
    assert (await emu.stats())["requests"] == during["requests"]


async def test_one_workers_429_pauses_every_worker(
    dask_client: Any, emulator: dict[str, Any], emu: Emulator, tmp_path: Path
) -> None:
    limits = AccountLimits(concurrency=4, requests_per_second=40)
    async with ClusterAccount(dask_client, spec_of(emulator), limits=limits, per_worker=2) as account:
        # Warm up: both workers hold a token (a cold worker's first request may outlast the pause).
        warm = await account.process_all(
            [render(i) for i in range(100, 108)], tmp_path / "warm", chunk_size=2
        )
        assert len(warm.workers) == 2
        await emu.reset()
        await emu.inject(kind="rate_limit", count=1, retry_after=1.5, path_prefix="/api/v1/process")
        before = await account.stats()
        report = await account.process_all([render(i) for i in range(40)], tmp_path / "run", chunk_size=4)
        stats = await account.stats()
    seen = await emu.stats()
    assert report.ok and len(report.downloaded) == 40
    assert seen["statuses"] == {"200": 40, "429": 1}
    assert stats["rate_limited"] == 1 and stats["slowdowns"] == 1 and before["rate_limited"] == 0
    # The worker answered 429 pauses in its own limiter; the other was told to wait by the account.
    assert len(report.workers) == 2
    (answered,) = stats["rate_limited_by"]
    (other,) = set(report.workers) - {answered}
    assert stats["longest_wait"][other] >= 0.5, stats["longest_wait"]


def _paused(dask_worker: Any) -> float:
    """Seconds this worker's requests slept for pauses the scheduler broadcast."""
    return float(dask_worker.plugins["eoclient-default"].pace.paused)


async def test_without_a_pace_a_429s_pause_is_broadcast_to_every_worker(
    dask_client: Any, emulator: dict[str, Any], emu: Emulator, tmp_path: Path
) -> None:
    limits = AccountLimits(concurrency=4)  # no request pace: workers reserve nothing, pauses are pushed
    async with ClusterAccount(dask_client, spec_of(emulator), limits=limits, per_worker=2) as account:
        warm = await account.process_all(
            [render(i) for i in range(100, 108)], tmp_path / "warm", chunk_size=2
        )
        assert len(warm.workers) == 2
        await emu.reset()
        await emu.inject(kind="rate_limit", count=1, retry_after=1.5, path_prefix="/api/v1/process")
        report = await account.process_all([render(i) for i in range(40)], tmp_path / "run", chunk_size=4)
        stats = await account.stats()
        paused: dict[str, float] = await dask_client.run(_paused)
    assert report.ok and len(report.downloaded) == 40
    assert (await emu.stats())["statuses"] == {"200": 40, "429": 1}
    assert stats["reservations"] == 0  # no round trip to the scheduler per request
    (answered,) = stats["rate_limited_by"]
    (other,) = set(paused) - {answered}
    assert paused[other] >= 0.5, paused


async def test_a_429_storm_and_the_processing_units_stay_within_the_account(
    dask_client: Any, emulator: dict[str, Any], emu: Emulator, tmp_path: Path
) -> None:
    await emu.inject(kind="rate_limit", count=12, retry_after=0.2, path_prefix="/api/v1/process")
    limits = AccountLimits(concurrency=3, requests_per_second=50, pu_per_minute=6000)
    # The storm may land on one render several times in a row: enough attempts for all 12.
    spec = replace(spec_of(emulator), retry=RetryPolicy(attempts=16))
    async with ClusterAccount(dask_client, spec, limits=limits, per_worker=3) as account:
        report = await account.process_all([render(i, size=64) for i in range(30)], tmp_path, chunk_size=5)
        stats = await account.stats()
    seen = await emu.stats()
    assert report.ok and len(report.downloaded) == 30
    assert seen["statuses"] == {"200": 30, "429": 12}  # each 429 retried once, nothing more
    assert seen["max_in_flight"] <= 3
    assert stats["rate_limited"] == 12 and stats["slowdowns"] >= 1
    # The scheduler's PU account is what the service charged every worker (estimates corrected).
    assert report.processing_units > 0
    assert stats["pu"] == pytest.approx(report.processing_units)
