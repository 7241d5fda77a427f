"""Cancelling a caller mid-request or mid-poll leaves no task and no connection behind."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import anyio
import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.sample_client import submit_sample_job
from eoclient.sentinelhub import SentinelHub

pytestmark = pytest.mark.eo_emulator(clock_speed=50.0)


def connections_in_use(sh: SentinelHub) -> int:
    session = sh.transport._session
    assert session is not None
    connector = session.connector
    assert connector is not None
    return len(connector._acquired)  # aiohttp's set of connections handed out


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_cancel_mid_request(
    eo_emulator: Emulator, sh: SentinelHub, no_leaked_tasks: Callable[[], None]
) -> None:
    job = await submit_sample_job(sh)
    eo_emulator.faults.inject("latency", path_prefix=f"/_sample/jobs/{job.id}", seconds=1.0)
    with anyio.move_on_after(0.1) as scope:
        await sh.request("GET", f"/_sample/jobs/{job.id}")
    assert scope.cancelled_caught
    await settle()
    assert connections_in_use(sh) == 0
    no_leaked_tasks()
    # the client stays usable
    assert (await sh.request("GET", f"/_sample/jobs/{job.id}")).status == 200


async def test_cancel_task_mid_request(eo_emulator: Emulator, sh: SentinelHub, no_leaked_tasks) -> None:
    job = await submit_sample_job(sh)
    eo_emulator.faults.inject("latency", path_prefix=f"/_sample/jobs/{job.id}", seconds=1.0)
    task = asyncio.create_task(sh.request("GET", f"/_sample/jobs/{job.id}"))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await settle()
    assert connections_in_use(sh) == 0
    no_leaked_tasks()


async def test_cancel_mid_poll(sh: SentinelHub, no_leaked_tasks) -> None:
    job = await submit_sample_job(sh, phases=[("QUEUED", 10_000.0)])
    with anyio.move_on_after(0.1):
        await job
    await settle()
    assert connections_in_use(sh) == 0
    no_leaked_tasks()
    # the job handle is still usable by someone else
    status = await job.refresh()
    assert status.raw == "QUEUED"


async def test_cancel_mid_poll_while_a_status_call_hangs(
    eo_emulator: Emulator, sh: SentinelHub, no_leaked_tasks
) -> None:
    job = await submit_sample_job(sh, phases=[("QUEUED", 10_000.0)])
    eo_emulator.faults.inject("latency", path_prefix=f"/_sample/jobs/{job.id}", seconds=1.0, count=3)
    task = asyncio.create_task(job.wait())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await settle()
    assert connections_in_use(sh) == 0
    no_leaked_tasks()


async def test_cancel_mid_stream(eo_emulator: Emulator, sh: SentinelHub, no_leaked_tasks) -> None:
    job = await submit_sample_job(sh, results=50, page_size=50)
    await job
    async with sh.transport.stream("GET", f"/_sample/jobs/{job.id}/results", operation="t") as resp:
        with anyio.move_on_after(0):
            async for _ in resp.iter_chunks(16):
                await anyio.sleep(1)
    await settle()
    assert connections_in_use(sh) == 0
    no_leaked_tasks()


async def test_closed_client_is_a_clear_error_not_a_hang(sh: SentinelHub) -> None:
    from eoclient.errors import ClientClosedError

    await sh.aclose()
    with anyio.fail_after(1), pytest.raises(ClientClosedError):
        await sh.request("GET", "/_sample/jobs/x")
