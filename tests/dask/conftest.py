"""A Dask cluster of 2 worker processes and an emulator in a process of its own, shared per module.

The emulator runs as ``python -m eoclient.emulator`` so the worker processes
reach it over TCP whatever the test's event loop is doing; its control routes
(``/_emulator/stats``, ``/_emulator/faults``) let a test count what the
workers sent and inject faults.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def emulator() -> Iterator[dict[str, Any]]:
    """The emulator in a process of its own (20 ms latency a request): its JSON line (URLs, credentials)."""
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "eoclient.emulator", "--port", "0", "--latency", "0.02"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        assert line, f"the emulator exited early (code {proc.poll()})"
        yield json.loads(line)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """2 worker processes of 1 thread each."""
    with distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        dashboard_address=":0",  # the scheduler's HTTP server on a free port: 8787 may be taken
    ) as local:
        yield local


@pytest.fixture
async def dask_client(cluster: Any) -> AsyncIterator[Any]:
    async with distributed.Client(cluster.scheduler_address, asynchronous=True) as client:
        await client.wait_for_workers(2)
        yield client


class Emulator:
    """The emulator's control routes."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.url = info["sentinelhub_url"]
        self.since = 0.0  # stats count requests from the last reset on

    async def stats(self, path_prefix: str = "/api/v1/process", since: float | None = None) -> dict[str, Any]:
        params = {"path_prefix": path_prefix, "since": repr(self.since if since is None else since)}
        async with aiohttp.ClientSession() as s, s.get(f"{self.url}/_emulator/stats", params=params) as r:
            r.raise_for_status()
            return dict(await r.json())

    async def reset(self) -> None:
        self.since = time.time()  # same host: the emulator stamps requests with this clock
        async with aiohttp.ClientSession() as s:
            async with s.delete(f"{self.url}/_emulator/stats") as r:
                r.raise_for_status()
            async with s.delete(f"{self.url}/_emulator/faults") as r:
                r.raise_for_status()

    async def inject(self, **fault: Any) -> None:
        async with aiohttp.ClientSession() as s, s.post(f"{self.url}/_emulator/faults", json=fault) as r:
            r.raise_for_status()


@pytest.fixture
async def emu(emulator: dict[str, Any]) -> Emulator:
    control = Emulator(emulator)
    await control.reset()
    return control
