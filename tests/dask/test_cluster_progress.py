"""Each item's outcome reaches the caller as the worker completes it, once, also when its worker dies.

A small file server in the test's loop holds the second file of a chunk
until the test lets it go: the first file's outcome must reach the caller
while the chunk is still running (it would never come, were outcomes only
sent with the chunk's end).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from eoclient.bulk import Downloaded
from eoclient.dask import AccountLimits, ClientSpec, ClusterAccount, Progress
from tests.dask.test_cluster_run import files_in, spec_of

pytestmark = pytest.mark.timeout(120)

HOLD = 60.0  # seconds a held answer waits at most (the test fails long before)


@dataclass
class Files:
    """Serves ``/fast/<name>`` at once and ``/held/<name>``: its first GET waits for ``release``."""

    url: str = ""
    release: asyncio.Event = field(default_factory=asyncio.Event)
    held: asyncio.Event = field(default_factory=asyncio.Event)  # the held GET has arrived
    gets: Counter[str] = field(default_factory=Counter)

    def spec(self, emulator: dict[str, Any]) -> ClientSpec:
        """The workers' clients: signed in at the emulator, asking this server (their base URL)."""
        return replace(spec_of(emulator), base_url=self.url)

    async def serve(self, request: web.Request) -> web.Response:
        path = request.path
        self.gets[path] += 1
        if path.startswith("/held/") and self.gets[path] == 1:
            self.held.set()
            await asyncio.wait_for(self.release.wait(), HOLD)
        return web.json_response({"path": path, "filler": "x" * 512})


@pytest.fixture
async def files() -> AsyncIterator[Files]:
    served = Files()
    app = web.Application()
    app.router.add_get("/{kind}/{name}", served.serve)
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    served.url = f"http://127.0.0.1:{port}"
    try:
        yield served
    finally:
        served.release.set()
        await runner.cleanup()


async def test_an_items_outcome_arrives_while_its_chunk_still_runs(
    dask_client: Any, emulator: dict[str, Any], files: Files, tmp_path: Path
) -> None:
    items = [
        ("/fast/a", tmp_path / "a.json"),
        ("/held/b", tmp_path / "b.json"),
    ]
    seen: list[tuple[int, bool]] = []  # (done, the held file still held) at each callback

    def on_progress(progress: Progress) -> None:
        seen.append((progress.done, not files.release.is_set()))

    outcomes: list[Any] = []
    async with ClusterAccount(dask_client, files.spec(emulator), per_worker=1) as account:
        async for outcome in account.download_each(items, chunk_size=2, on_progress=on_progress):
            outcomes.append(outcome)
            if len(outcomes) == 1:
                files.release.set()  # only now may the chunk end
    assert [o.path.name for o in outcomes] == ["a.json", "b.json"]
    assert seen == [(1, True), (2, False)]  # a.json was told while b.json was held
    assert files.gets == {"/fast/a": 1, "/held/b": 1}


async def test_an_item_told_by_a_worker_that_died_is_not_told_again_when_its_chunk_reruns(
    dask_client: Any, emulator: dict[str, Any], files: Files, tmp_path: Path
) -> None:
    items = [
        ("/fast/a", tmp_path / "a.json"),
        ("/held/b", tmp_path / "b.json"),
    ]
    pids: dict[str, int] = await dask_client.run(os.getpid)
    outcomes: list[Downloaded] = []
    done: list[int] = []
    limits = AccountLimits(concurrency=4)
    async with ClusterAccount(dask_client, files.spec(emulator), limits=limits, per_worker=1) as account:
        each = account.download_each(items, chunk_size=2, on_progress=lambda p: done.append(p.done))
        async for outcome in each:
            assert isinstance(outcome, Downloaded), outcome
            outcomes.append(outcome)
            if len(outcomes) == 1:
                # a.json is whole and told; its worker now holds b.json: kill that worker.
                await asyncio.wait_for(files.held.wait(), 30)
                processing: dict[str, list[str]] = await dask_client.processing()
                (running,) = [address for address, keys in processing.items() if keys]
                os.kill(pids[running], signal.SIGKILL)
                # The chunk runs again elsewhere: a.json skipped there (not told twice), b.json fetched.
    await dask_client.wait_for_workers(2)  # the nanny restarts it for the next tests

    assert [(o.path.name, o.skipped) for o in outcomes] == [("a.json", False), ("b.json", False)]
    assert done == [1, 2]
    assert files.gets["/fast/a"] == 1  # never fetched again
    assert files.gets["/held/b"] == 2  # the dead worker's attempt, and the rerun's
    assert [p.name for p in files_in(tmp_path)] == ["a.json", "b.json"]
