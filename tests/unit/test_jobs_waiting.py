"""How Job waiters share the status call and the result on asyncio, and how cancel() reaches them.

Job.cancel() cancels the tasks waiting on the job and turns that cancellation
(and only that one) into JobCancelledError: these tests check that any other
cancellation still goes on, and that a task leaves no cancellation request behind.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from eoclient.errors import JobCancelledError, JobTimeoutError
from eoclient.jobs import Job, JobStatus, PollPolicy
from tests.unit.test_jobs import FAST, R, S, Scripted, st

SLOW = PollPolicy(initial=60.0, multiplier=1.0, jitter=0.0)


async def _asleep(strat: Scripted) -> None:
    """Until the job's first poll returned and its waiters sleep until the next one."""
    await strat.returned.wait()
    await asyncio.sleep(0.01)


async def test_job_cancel_leaves_the_waiting_task_free_to_go_on() -> None:
    strat = Scripted([st(R)])
    job: Job[Any] = Job(strat, poll=SLOW)
    after: list[int] = []

    async def waiter() -> None:
        with pytest.raises(JobCancelledError):
            await job
        task = asyncio.current_task()
        assert task is not None
        after.append(task.cancelling())
        await asyncio.sleep(0.001)  # not cancelled again
        async with asyncio.timeout(5):  # asyncio's own timeouts still work in this task
            await asyncio.sleep(0)
        after.append(task.cancelling())

    task = asyncio.create_task(waiter())
    await _asleep(strat)
    assert await job.cancel() is True
    await task
    assert after == [0, 0]


async def test_an_outer_cancellation_at_the_same_time_as_job_cancel_goes_on() -> None:
    strat = Scripted([st(R)])
    job: Job[Any] = Job(strat, poll=SLOW)
    task = asyncio.create_task(job.wait())
    await _asleep(strat)
    task.cancel()  # the caller's own cancellation, before the job's
    await job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_anyio_scope_cancelled_with_the_job_still_catches_its_cancellation() -> None:
    strat = Scripted([st(R)])
    job: Job[Any] = Job(strat, poll=SLOW)
    caught: list[bool] = []

    async def waiter() -> None:
        with anyio.CancelScope() as scope:
            scopes.append(scope)
            await job
        caught.append(scope.cancelled_caught)
        await anyio.lowlevel.checkpoint()  # the task goes on, not cancelled

    scopes: list[anyio.CancelScope] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await _asleep(strat)
        scopes[0].cancel()
        await job.cancel()
    assert caught == [True]


async def test_cancel_called_from_inside_a_poll_ends_that_wait_too() -> None:
    strat = Scripted([st(R)])
    job: Job[Any] = Job(strat, poll=FAST)
    inner = strat.poll

    async def poll() -> JobStatus:
        status = await inner()
        await job.cancel()  # the waiting task cancels its own job
        return status

    strat.poll = poll  # type: ignore[method-assign]
    with pytest.raises(JobCancelledError):
        await job
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    await asyncio.sleep(0)


async def test_a_poll_swallowing_the_cancellation_still_ends_in_job_cancelled() -> None:
    strat = Scripted([st(R)])
    job: Job[Any] = Job(strat, poll=FAST)
    gate = asyncio.Event()
    inner = strat.poll

    async def poll() -> JobStatus:
        with contextlib.suppress(asyncio.CancelledError):  # a badly behaved strategy
            await gate.wait()
        return await inner()

    strat.poll = poll  # type: ignore[method-assign]
    errors: list[BaseException] = []

    async def waiter() -> None:
        try:
            await job
        except JobCancelledError as exc:
            errors.append(exc)
        task = asyncio.current_task()
        assert task is not None
        errors.append(AssertionError(task.cancelling()) if task.cancelling() else StopIteration())
        await asyncio.sleep(0)

    task = asyncio.create_task(waiter())
    await asyncio.sleep(0.01)  # in the poll
    await job.cancel()
    await asyncio.wait_for(task, 5)
    assert isinstance(errors[0], JobCancelledError)
    assert isinstance(errors[1], StopIteration), errors[1]


async def test_a_waiter_cancelled_while_queued_for_the_call_does_not_disturb_the_others() -> None:
    strat = Scripted([st(R), st(S)], strict=True)
    strat.poll_gate = anyio.Event()
    job: Job[Any] = Job(strat, poll=FAST)
    got: list[Any] = []

    async def patient() -> None:
        got.append(await job)

    async with anyio.create_task_group() as tg:
        tg.start_soon(patient)
        await strat.entered.wait()  # patient's call is in flight
        impatient = asyncio.create_task(job.refresh())  # queued behind it
        also = asyncio.create_task(job.wait())  # queued too
        await asyncio.sleep(0.01)
        impatient.cancel()
        with pytest.raises(asyncio.CancelledError):
            await impatient
        strat.poll_gate.set()
        got.append(await also)
    assert got == ["RESULT", "RESULT"]
    assert strat.polls == 2 and strat.max_in_flight == 1


async def test_a_cancelled_result_fetch_passes_to_another_waiter() -> None:
    strat = Scripted([st(S)])
    strat.result_gate = anyio.Event()
    job: Job[Any] = Job(strat, poll=FAST)
    first = asyncio.create_task(job.wait())
    await asyncio.sleep(0.01)  # first fetches the result
    second = asyncio.create_task(job.wait())
    await asyncio.sleep(0.01)  # second waits for first's fetch
    assert strat.result_calls == 1
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.sleep(0.01)
    assert strat.result_calls == 2  # second fetches it now
    strat.result_gate.set()
    assert await asyncio.wait_for(second, 5) == "RESULT"
    assert strat.result_calls == 2


async def test_a_result_fetch_past_the_deadline_is_a_job_timeout() -> None:
    strat = Scripted([st(S)])
    strat.result_gate = anyio.Event()
    job: Job[Any] = Job(strat, poll=PollPolicy(initial=0.001, jitter=0.0, grace=0.0))
    with pytest.raises(JobTimeoutError):
        await job.wait(timeout=0.02)
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0


async def test_a_timeout_error_of_the_strategy_is_not_taken_for_the_deadline() -> None:
    strat = Scripted([st(S)])
    strat.result_error = TimeoutError("the strategy's own")
    job: Job[Any] = Job(strat, poll=FAST)
    with pytest.raises(TimeoutError) as caught:
        await job.wait(timeout=30)
    assert caught.value is strat.result_error
    assert not isinstance(caught.value, JobTimeoutError)
