"""A job driven through Job against the emulator: each terminal state, watch, cancel, resume."""

from __future__ import annotations

import itertools

import anyio
import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.sample_client import submit_sample_job
from eoclient.errors import JobCancelledError, JobFailedError, JobTimeoutError
from eoclient.jobs import JobState, PollPolicy
from eoclient.sentinelhub import SentinelHub
from tests.integration.conftest import sh_client

pytestmark = pytest.mark.eo_emulator(clock_speed=200.0)

PHASES = [("QUEUED", 2.0), ("RUNNING", 6.0)]


async def test_success_returns_paged_results(eo_emulator: Emulator, sh: SentinelHub) -> None:
    job = await submit_sample_job(sh, phases=PHASES, results=7, page_size=3)
    pages = await job
    items = await pages.collect()
    assert [i.index for i in items] == list(range(7))
    assert job.status is not None and job.status.state is JobState.SUCCEEDED
    result_pages = [r for r in eo_emulator.requests if r.path.endswith("/results")]
    assert len(result_pages) == 3  # fetched on demand, page by page


async def test_results_iterates_items(sh: SentinelHub) -> None:
    job = await submit_sample_job(sh, phases=PHASES, results=4, page_size=3)
    assert [item.index async for item in job.results()] == [0, 1, 2, 3]


async def test_failed_raises_with_service_error_text(sh: SentinelHub) -> None:
    job = await submit_sample_job(sh, phases=PHASES, outcome="FAILED", error="evalscript exploded")
    with pytest.raises(JobFailedError) as info:
        await job
    assert info.value.error == "evalscript exploded"
    assert info.value.job_id == job.id
    assert info.value.status == "FAILED"


async def test_cancelled_by_service_raises(sh: SentinelHub) -> None:
    job = await submit_sample_job(sh, phases=PHASES, outcome="CANCELLED")
    with pytest.raises(JobCancelledError):
        await job.wait()


async def test_watch_yields_each_change_then_ends(sh: SentinelHub) -> None:
    # RUNNING lasts 2 real seconds here: long enough for a poll to see it on a loaded machine.
    job = await submit_sample_job(sh, phases=[("QUEUED", 2.0), ("RUNNING", 400.0)])
    seen = [s async for s in job.watch()]
    states = [s.raw for s in seen]
    assert states[0] == "QUEUED"
    assert states[-1] == "SUCCEEDED"
    assert "RUNNING" in states
    assert all(a != b for a, b in itertools.pairwise(seen))
    progress = [s.progress for s in seen if s.progress is not None]
    assert progress == sorted(progress)


async def test_cancel_stops_remote_job_and_waiters(eo_emulator: Emulator, sh: SentinelHub) -> None:
    job = await submit_sample_job(sh, phases=[("QUEUED", 1000.0), ("RUNNING", 1000.0)])
    outcome: list[BaseException] = []

    async def waiter() -> None:
        try:
            await job
        except JobCancelledError as exc:
            outcome.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        tg.start_soon(waiter)
        await anyio.sleep(0.05)
        assert await job.cancel() is True
    assert len(outcome) == 2
    status = (await sh.request("GET", f"/_sample/jobs/{job.id}")).json()
    assert status["status"] == "CANCELLED"


async def test_cancel_after_the_end_is_false(sh: SentinelHub) -> None:
    job = await submit_sample_job(sh, phases=PHASES)
    await job
    assert await job.cancel() is False


async def test_resume_token_reattaches_from_a_new_client(eo_emulator: Emulator, sh: SentinelHub) -> None:
    job = await submit_sample_job(sh, phases=PHASES, results=3)
    token = job.resume_token
    assert job.id in token
    async with sh_client(eo_emulator) as other:  # e.g. another process after a restart
        again = other.resume_job(token)
        assert again.id == job.id
        items = await (await again).collect()
    assert len(items) == 3


async def test_deadline_raises_timeout_and_job_keeps_running(sh: SentinelHub) -> None:
    job = await submit_sample_job(sh, phases=[("QUEUED", 10_000.0)])
    with pytest.raises(JobTimeoutError):
        await job.wait(timeout=0.1)
    assert job.status is not None and job.status.raw == "QUEUED"


async def test_many_jobs_concurrently(eo_emulator: Emulator, sh: SentinelHub) -> None:
    jobs = [await submit_sample_job(sh, phases=PHASES, results=1) for _ in range(30)]
    results: list[int] = []

    async def finish(job) -> None:  # type: ignore[no-untyped-def]
        results.extend([item.index async for item in job.results()])

    async with anyio.create_task_group() as tg:
        for job in jobs:
            tg.start_soon(finish, job)
    assert results == [0] * 30
    # polling backs off: far fewer status calls than a busy loop would make
    polls = [r for r in eo_emulator.requests if r.method == "GET" and not r.path.endswith("/results")]
    assert len(polls) < 30 * 40


async def test_server_hint_drives_the_cadence(eo_emulator: Emulator) -> None:
    # policy asks for 5 s between polls; the server's nextTry (a few ms) must win
    async with sh_client(eo_emulator, poll=PollPolicy(initial=5.0, max_delay=5.0)) as sh:
        job = await submit_sample_job(sh, phases=PHASES)
        with anyio.fail_after(5):
            await job
