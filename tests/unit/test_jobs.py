"""Unit tests of eoclient.jobs: fake strategies with scripted statuses, no HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import anyio
import anyio.lowlevel
import pytest
import structlog

from eoclient.errors import JobCancelledError, JobFailedError, JobTimeoutError, ValidationError
from eoclient.jobs import (
    Job,
    JobState,
    JobStatus,
    PollPolicy,
    register_job_kind,
    resume_job,
)

P, R, S, F, C = (
    JobState.PENDING,
    JobState.RUNNING,
    JobState.SUCCEEDED,
    JobState.FAILED,
    JobState.CANCELLED,
)
FAST = PollPolicy(initial=0.001, multiplier=1.0, max_delay=0.001, jitter=0.0)


def st(state: JobState, raw: str | None = None, **kw: Any) -> JobStatus:
    return JobStatus(state=state, raw=raw or state.name, **kw)


class Scripted:
    """A strategy that answers polls from a script (repeating the last entry)."""

    kind = "test.scripted"

    def __init__(
        self,
        statuses: Sequence[JobStatus | BaseException],
        *,
        result: Any = "RESULT",
        job_id: str = "job-1",
        strict: bool = False,
        cancel_ok: bool = True,
    ) -> None:
        self.job_id = job_id
        self.statuses = list(statuses)
        self.result_value = result
        self.strict = strict  # polling past the script is a test failure
        self.cancel_ok = cancel_ok
        self.polls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.result_calls = 0
        self.cancel_calls = 0
        self.poll_gate: anyio.Event | None = None  # when set, polls wait for it
        self.entered = anyio.Event()  # a poll call started
        self.returned = anyio.Event()  # a poll call returned a status
        self.result_gate: anyio.Event | None = None
        self.result_error: Exception | None = None

    async def poll(self) -> JobStatus:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.entered.set()
        try:
            await anyio.lowlevel.checkpoint()
            if self.poll_gate is not None:
                await self.poll_gate.wait()
            i = self.polls
            self.polls += 1
            if i >= len(self.statuses):
                assert not self.strict, f"polled {i + 1} times, script has {len(self.statuses)}"
                i = len(self.statuses) - 1
            entry = self.statuses[i]
            if isinstance(entry, BaseException):
                raise entry
            self.returned.set()
            return entry
        finally:
            self.in_flight -= 1

    async def result(self, final: JobStatus) -> Any:
        self.result_calls += 1
        await anyio.lowlevel.checkpoint()
        if self.result_gate is not None:
            await self.result_gate.wait()
        if self.result_error is not None:
            raise self.result_error
        return self.result_value

    async def cancel(self) -> bool:
        self.cancel_calls += 1
        await anyio.lowlevel.checkpoint()
        return self.cancel_ok

    def resume_data(self) -> dict[str, Any]:
        return {"collection": "c-1"}


class FakeClock:
    """A clock that only moves when the job sleeps; records every requested sleep."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        target = self.t + seconds
        await anyio.lowlevel.checkpoint()
        self.t = max(self.t, target)


def fake_job(strategy: Scripted, policy: PollPolicy, **kw: Any) -> tuple[Job[Any], FakeClock]:
    clock = FakeClock()
    job: Job[Any] = Job(strategy, poll=policy, sleep=clock.sleep, clock=clock.now, **kw)
    return job, clock


# -- terminal states ---------------------------------------------------------


async def test_succeeded_returns_result() -> None:
    strat = Scripted([st(P), st(R), st(S)], strict=True)
    job, clock = fake_job(strat, PollPolicy(initial=1, multiplier=2, jitter=0))
    assert job.status is None and not job.done
    assert await job == "RESULT"
    assert strat.polls == 3
    assert clock.sleeps == [1.0, 2.0]  # first poll immediate
    assert job.done and job.status is not None and job.status.state is S
    assert job.id == "job-1" and job.kind == "test.scripted"


async def test_failed_raises_with_service_error() -> None:
    strat = Scripted([st(R), st(F, "ERROR", error="out of credits")])
    job: Job[Any] = Job(strat, poll=FAST)
    with pytest.raises(JobFailedError) as info:
        await job.wait()
    assert info.value.error == "out of credits"
    assert info.value.job_id == "job-1" and info.value.status == "ERROR"
    assert "out of credits" in str(info.value)
    assert strat.result_calls == 0
    with pytest.raises(JobFailedError):  # stays failed, no more polls
        await job
    assert strat.polls == 2


async def test_cancelled_by_service_raises() -> None:
    strat = Scripted([st(R), st(C, "CANCELED")])
    job: Job[Any] = Job(strat, poll=FAST)
    with pytest.raises(JobCancelledError) as info:
        await job
    assert info.value.status == "CANCELED"
    assert strat.cancel_calls == 0


async def test_initial_status_skips_the_immediate_poll() -> None:
    strat = Scripted([st(S)], strict=True)
    job, clock = fake_job(strat, PollPolicy(initial=1, jitter=0), initial_status=st(P, "NEW", retry_after=14))
    assert job.status is not None and job.status.raw == "NEW"
    assert await job == "RESULT"
    assert clock.sleeps == [14.0]
    assert strat.polls == 1


async def test_initial_terminal_status_needs_no_poll() -> None:
    strat = Scripted([], strict=True)
    job: Job[Any] = Job(strat, initial_status=st(S))
    assert await job == "RESULT"
    assert strat.polls == 0


# -- watch -------------------------------------------------------------------


async def test_watch_yields_each_change_once_and_stops() -> None:
    script = [
        st(P),
        st(P, retry_after=0.002),  # retry_after alone is no change
        st(R, progress=0.1),
        st(R, progress=0.1),
        st(R, progress=0.5),  # progress change
        st(R, progress=0.5, message="tiling", step=2),  # message/step change
        st(R, progress=0.5, message="tiling", step=2),
        st(S, progress=1.0),
    ]
    strat = Scripted(script, strict=True)
    job: Job[Any] = Job(strat, poll=FAST)
    seen = [s async for s in job.watch()]
    assert seen == [script[0], script[2], script[4], script[5], script[7]]
    assert strat.polls == len(script)
    # Watching a finished job yields its final status only.
    assert [s async for s in job.watch()] == [script[7]]


async def test_watch_ends_on_failure_without_raising() -> None:
    strat = Scripted([st(R), st(F, error="boom")])
    job: Job[Any] = Job(strat, poll=FAST)
    seen = [s.state async for s in job.watch()]
    assert seen == [R, F]


async def test_watch_starts_from_the_known_status() -> None:
    strat = Scripted([st(R, progress=0.5), st(S)])
    job: Job[Any] = Job(strat, poll=FAST, initial_status=st(P, "NEW"))
    seen = [s.raw async for s in job.watch()]
    assert seen == ["NEW", "RUNNING", "SUCCEEDED"]


async def test_a_watcher_behind_gets_every_change_others_polled_meanwhile() -> None:
    script = [st(R, progress=i / 10) for i in range(10)] + [st(S)]
    job: Job[Any] = Job(Scripted(script, strict=True), poll=FAST)
    slow = job.watch()
    assert (await slow.__anext__()).progress == 0.0
    for _ in range(5):  # polled elsewhere while the slow watcher does not ask
        await job.refresh()
    late = [s.progress async for s in job.watch()]  # starts from the newest change
    assert late == [0.5, 0.6, 0.7, 0.8, 0.9, None]
    rest = [s.progress async for s in slow]
    assert rest == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, None]


# -- cadence -----------------------------------------------------------------


async def test_server_hint_wins_over_policy() -> None:
    script = [
        st(P, retry_after=7.0),
        st(R, retry_after=0.5),
        st(R),  # no hint: back to the policy
        st(R, retry_after=-3),  # clamped to 0
        st(R, retry_after=10_000),  # clamped to max_hint
        st(S),
    ]
    strat = Scripted(script, strict=True)
    policy = PollPolicy(initial=2, multiplier=2, max_delay=30, jitter=0, max_hint=100)
    job, clock = fake_job(strat, policy)
    await job
    # The attempt counter counts sleeps, whoever chose their length.
    assert clock.sleeps == [7.0, 0.5, 8.0, 100.0]  # 0 is not slept, only a checkpoint
    assert strat.polls == len(script)


def test_backoff_grows_and_caps() -> None:
    policy = PollPolicy(initial=1, multiplier=2, max_delay=5, jitter=0)
    assert [policy.delay(n) for n in range(6)] == [1, 2, 4, 5, 5, 5]
    assert policy.delay(100_000) == 5  # no overflow
    jittery = PollPolicy(initial=1, multiplier=2, max_delay=5, jitter=0.1)
    rng = random.Random(42)
    for n in range(50):
        d = jittery.delay(n, rng=rng)
        expected = min(2**n, 5)
        assert expected * 0.9 <= d <= min(expected * 1.1, 5)
    assert jittery.delay(0, hint=3, rng=rng) == 3  # no jitter on hints


async def test_backoff_through_the_job() -> None:
    strat = Scripted([st(R)] * 7 + [st(S)], strict=True)
    job, clock = fake_job(strat, PollPolicy(initial=1, multiplier=2, max_delay=10, jitter=0))
    await job
    assert clock.sleeps == [1, 2, 4, 8, 10, 10, 10]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial": -1},
        {"multiplier": 0.5},
        {"max_delay": float("nan")},
        {"jitter": 2},
        {"deadline": -1},
        {"grace": float("inf")},
    ],
)
def test_policy_validation(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        PollPolicy(**kwargs)
    assert info.value.field == f"PollPolicy.{next(iter(kwargs))}"


# -- deadlines ---------------------------------------------------------------


async def test_deadline_no_sleep_past_it_and_timeout() -> None:
    strat = Scripted([st(R, "PROCESSING")])
    policy = PollPolicy(initial=1, multiplier=2, max_delay=30, jitter=0, deadline=5)
    job, clock = fake_job(strat, policy)
    with pytest.raises(JobTimeoutError) as info:
        await job
    assert clock.sleeps == [1, 2, 2]  # the third sleep (4) is cut at the deadline
    assert sum(clock.sleeps) == 5
    assert strat.polls == 4  # including one last poll at the deadline
    assert info.value.status == "PROCESSING" and info.value.job_id == "job-1"
    # The job is still usable: a later wait polls again.
    strat.statuses.append(st(S))
    strat.polls = len(strat.statuses) - 1
    assert await job.wait() == "RESULT"


async def test_wait_timeout_is_the_smaller_of_timeout_and_policy_deadline() -> None:
    strat = Scripted([st(R)])
    policy = PollPolicy(initial=10, jitter=0, deadline=100)
    job, clock = fake_job(strat, policy)
    with pytest.raises(JobTimeoutError):
        await job.wait(timeout=3)
    assert clock.sleeps == [3]
    assert strat.polls == 2


async def test_deadline_hint_is_cut_too() -> None:
    strat = Scripted([st(R, retry_after=60)])
    job, clock = fake_job(strat, PollPolicy(deadline=5))
    with pytest.raises(JobTimeoutError):
        await job
    assert clock.sleeps == [5]


async def test_zero_timeout_polls_once() -> None:
    strat = Scripted([st(R)])
    job, clock = fake_job(strat, PollPolicy())
    with pytest.raises(JobTimeoutError):
        await job.wait(timeout=0)
    assert strat.polls == 1 and clock.sleeps == []


async def test_watch_times_out() -> None:
    strat = Scripted([st(R)])
    job, _ = fake_job(strat, PollPolicy(initial=1, jitter=0))
    seen: list[JobStatus] = []

    async def consume() -> None:
        async for s in job.watch(timeout=3):
            seen.append(s)

    with pytest.raises(JobTimeoutError):
        await consume()
    assert [s.state for s in seen] == [R]


async def test_hanging_poll_is_bounded_by_the_deadline() -> None:
    strat = Scripted([st(R), st(S)])
    policy = PollPolicy(initial=0.001, jitter=0, deadline=0.05, grace=0.01)
    job: Job[Any] = Job(strat, poll=policy)
    await job.refresh()
    strat.poll_gate = anyio.Event()  # never set: the next poll hangs
    with anyio.fail_after(5):  # the test fails rather than hangs
        with pytest.raises(JobTimeoutError):
            await job
    assert strat.in_flight == 0  # the hanging call was cancelled


async def test_waiting_for_a_hanging_poll_of_another_waiter_is_bounded() -> None:
    strat = Scripted([st(R), st(S)])
    job: Job[Any] = Job(strat, poll=PollPolicy(initial=0.001, jitter=0, grace=0.01))
    await job.refresh()
    strat.poll_gate = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(job.wait)  # no deadline: polls and hangs
        await strat.entered.wait()
        with anyio.fail_after(5), pytest.raises(JobTimeoutError):
            await job.wait(timeout=0.02)
        strat.poll_gate.set()
    assert strat.polls == 2


# -- sharing one job ---------------------------------------------------------


async def test_concurrent_waiters_share_one_cadence() -> None:
    script = [st(P), st(R, progress=0.2), st(R, progress=0.4), st(R, progress=0.8), st(S)]
    strat = Scripted(script, strict=True)
    job: Job[Any] = Job(strat, poll=FAST)
    results: list[Any] = []
    watched: list[list[JobStatus]] = []

    async def waiter() -> None:
        results.append(await job)

    async def watcher() -> None:
        watched.append([s async for s in job.watch()])

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(waiter)
        for _ in range(3):
            tg.start_soon(watcher)
    assert strat.polls == len(script)
    assert strat.max_in_flight == 1
    assert results == ["RESULT"] * 5
    assert strat.result_calls == 1
    assert watched == [script] * 3


async def test_waiters_with_different_deadlines() -> None:
    strat = Scripted([st(R)] * 20 + [st(S)])
    job: Job[Any] = Job(strat, poll=PollPolicy(initial=0.002, multiplier=1, jitter=0))
    outcome: dict[str, Any] = {}

    async def short() -> None:
        try:
            await job.wait(timeout=0.005)
        except JobTimeoutError as exc:
            outcome["short"] = exc

    async def long() -> None:
        outcome["long"] = await job.wait()

    async with anyio.create_task_group() as tg:
        tg.start_soon(short)
        tg.start_soon(long)
    assert isinstance(outcome["short"], JobTimeoutError)
    assert outcome["long"] == "RESULT"
    assert strat.max_in_flight == 1


async def test_failed_poll_is_not_retried_and_reaches_every_waiter() -> None:
    boom = RuntimeError("transport gave up")
    strat = Scripted([boom, st(S)], strict=True)
    job: Job[Any] = Job(strat, poll=FAST)
    errors: list[BaseException] = []

    async def waiter() -> None:
        try:
            await job
        except RuntimeError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(waiter)
    assert errors == [boom] * 3
    assert strat.polls == 1
    assert await job == "RESULT"  # a new wait polls again
    assert strat.polls == 2


async def test_stale_poll_failure_is_not_raised_to_a_later_waiter() -> None:
    # A's last poll (at its deadline) fails while B sleeps; B polls itself when due.
    strat = Scripted([st(R), RuntimeError("gave up"), st(S)], strict=True)
    b_due = anyio.Event()

    async def sleep(seconds: float) -> None:
        if seconds > 1:  # B's policy sleep
            await b_due.wait()
        else:  # A's sleep, cut at its deadline
            await anyio.lowlevel.checkpoint()

    job: Job[Any] = Job(strat, poll=PollPolicy(initial=10, jitter=0), sleep=sleep)
    await job.refresh()
    got: dict[str, Any] = {}

    async def b() -> None:
        got["b"] = await job

    async with anyio.create_task_group() as tg:
        tg.start_soon(b)
        with pytest.raises(RuntimeError):
            await job.wait(timeout=0.5)
        await anyio.sleep(0.001)
        b_due.set()
    assert got == {"b": "RESULT"}
    assert strat.polls == 3


async def test_refresh_polls_once() -> None:
    strat = Scripted([st(R, progress=0.3), st(S)], strict=True)
    job: Job[Any] = Job(strat, poll=FAST)
    status = await job.refresh()
    assert status.progress == 0.3 and job.status == status
    assert strat.polls == 1


async def test_many_jobs_concurrently() -> None:
    strategies = [
        Scripted([st(P), st(R, progress=0.5), st(S)], result=i, job_id=f"job-{i}", strict=True)
        for i in range(200)
    ]
    policy = PollPolicy(initial=0.001, multiplier=2, max_delay=0.004, jitter=0.5)
    jobs: list[Job[Any]] = [Job(s, poll=policy) for s in strategies]
    results: dict[int, Any] = {}

    async def run(i: int) -> None:
        results[i] = await jobs[i]

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for i in range(len(jobs)):
                tg.start_soon(run, i)
    assert results == {i: i for i in range(200)}
    assert all(s.polls == 3 for s in strategies)


# -- cancellation ------------------------------------------------------------


async def test_job_cancel_ends_pending_waiters_and_cancels_once() -> None:
    strat = Scripted([st(R, "PROCESSING")])
    job: Job[Any] = Job(strat, poll=PollPolicy(initial=60, jitter=0))
    outcomes: list[BaseException] = []

    async def waiter() -> None:
        try:
            await job
        except JobCancelledError as exc:
            outcomes.append(exc)

    async def watcher() -> None:
        try:
            async for _ in job.watch():
                pass
        except JobCancelledError as exc:
            outcomes.append(exc)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(waiter)
            tg.start_soon(watcher)
            await strat.returned.wait()
            await anyio.sleep(0.01)  # all asleep until the next poll in 60 s
            answers = list(await asyncio.gather(job.cancel(), job.cancel()))
    assert answers == [True, True]
    assert strat.cancel_calls == 1
    assert len(outcomes) == 4
    assert all(isinstance(e, JobCancelledError) and e.status == "PROCESSING" for e in outcomes)
    assert job.done
    with pytest.raises(JobCancelledError):
        await job
    assert await job.cancel() is True and strat.cancel_calls == 1
    assert strat.polls == 1


async def test_job_cancel_mid_poll() -> None:
    strat = Scripted([st(R)], cancel_ok=False)
    strat.poll_gate = anyio.Event()
    job: Job[Any] = Job(strat, poll=FAST)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:

            async def waiter() -> None:
                with pytest.raises(JobCancelledError):
                    await job

            tg.start_soon(waiter)
            await strat.entered.wait()
            assert await job.cancel() is False  # the service cannot cancel
    assert strat.in_flight == 0 and strat.polls == 0


async def test_cancel_after_the_end_does_nothing() -> None:
    strat = Scripted([st(S)])
    job: Job[Any] = Job(strat, poll=FAST)
    await job
    assert await job.cancel() is False
    assert strat.cancel_calls == 0
    assert await job == "RESULT"


async def test_caller_cancelled_mid_sleep_leaves_no_task_and_job_usable() -> None:
    strat = Scripted([st(R), st(S)])
    gate = anyio.Event()

    async def sleep(seconds: float) -> None:
        if not gate.is_set():
            await anyio.sleep_forever()

    # A long first pause, so the job surely sleeps (with FAST's 1 ms, a loaded machine can be
    # past it before sleeping, and the job polls again at once and ends).
    job: Job[Any] = Job(strat, poll=PollPolicy(initial=60.0, jitter=0.0), sleep=sleep)
    before = asyncio.all_tasks()
    task = asyncio.create_task(job.wait())
    await strat.returned.wait()
    await asyncio.sleep(0.01)  # now asleep
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert asyncio.all_tasks() == before
    gate.set()
    assert await job == "RESULT"
    assert strat.polls == 2


async def test_cancel_scope_mid_poll_leaves_job_usable() -> None:
    strat = Scripted([st(S)], strict=True)
    strat.poll_gate = anyio.Event()
    job: Job[Any] = Job(strat, poll=FAST)
    before = asyncio.all_tasks()
    with anyio.move_on_after(0.02) as scope:
        await job
    assert scope.cancelled_caught
    assert strat.in_flight == 0 and strat.polls == 0
    assert asyncio.all_tasks() == before
    strat.poll_gate.set()
    assert await job == "RESULT"


async def test_cancel_scope_mid_sleep_of_one_waiter_keeps_others() -> None:
    strat = Scripted([st(R), st(R), st(S)], strict=True)
    job: Job[Any] = Job(strat, poll=PollPolicy(initial=0.03, multiplier=1, jitter=0))
    got: list[Any] = []

    async def patient() -> None:
        got.append(await job)

    async with anyio.create_task_group() as tg:
        tg.start_soon(patient)
        with anyio.move_on_after(0.01):
            await job
    assert got == ["RESULT"]
    assert strat.polls == 3


# -- result ------------------------------------------------------------------


async def test_result_fetched_once_for_concurrent_waiters() -> None:
    strat = Scripted([st(S)])
    strat.result_gate = anyio.Event()
    job: Job[Any] = Job(strat, poll=FAST)
    got: list[Any] = []

    async def waiter() -> None:
        got.append(await job)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(waiter)
        await anyio.sleep(0.01)
        strat.result_gate.set()
    assert got == ["RESULT"] * 3
    assert strat.result_calls == 1
    assert await job == "RESULT" and strat.result_calls == 1


async def test_result_error_reaches_every_waiter_once() -> None:
    strat = Scripted([st(S)])
    strat.result_error = LookupError("no such output")
    job: Job[Any] = Job(strat, poll=FAST)
    errors: list[BaseException] = []

    async def waiter() -> None:
        try:
            await job
        except LookupError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(waiter)
    assert len(errors) == 3 and all(e is strat.result_error for e in errors)
    assert strat.result_calls == 1


async def test_cancelled_result_fetch_is_not_cached() -> None:
    strat = Scripted([st(S)])
    strat.result_gate = anyio.Event()
    job: Job[Any] = Job(strat, poll=FAST)
    with anyio.move_on_after(0.01):
        await job
    assert strat.result_calls == 1
    strat.result_gate.set()
    assert await job == "RESULT"
    assert strat.result_calls == 2


class Pages:
    """A paged result: each iteration fetches the pages again."""

    def __init__(self, pages: list[list[int]]) -> None:
        self.pages = pages

    async def __aiter_pages(self) -> AsyncIterator[int]:
        for page in self.pages:
            await anyio.lowlevel.checkpoint()
            for item in page:
                yield item

    def __aiter__(self) -> AsyncIterator[int]:
        return self.__aiter_pages()


async def test_results_iterates_a_paged_result() -> None:
    strat = Scripted([st(R), st(S)], result=Pages([[1, 2], [3], [4, 5]]))
    job: Job[Any] = Job(strat, poll=FAST)
    assert [x async for x in job.results()] == [1, 2, 3, 4, 5]
    assert [x async for x in job.results()] == [1, 2, 3, 4, 5]
    assert strat.result_calls == 1


async def test_results_closes_the_page_iterator_on_break() -> None:
    closed: list[bool] = []

    async def pages() -> AsyncIterator[int]:
        try:
            for i in range(100):
                await anyio.lowlevel.checkpoint()
                yield i
        finally:
            closed.append(True)

    strat = Scripted([st(S)], result=pages())
    job: Job[Any] = Job(strat, poll=FAST)
    async with contextlib.aclosing(job.results()) as items:
        async for item in items:
            if item == 2:
                break
    assert closed == [True]


async def test_results_yields_a_plain_result_once() -> None:
    strat = Scripted([st(S)], result={"url": "s3://x"})
    job: Job[Any] = Job(strat, poll=FAST)
    assert [x async for x in job.results()] == [{"url": "s3://x"}]


# -- resume tokens -----------------------------------------------------------


def _factory(client: Any, job_id: str, data: Mapping[str, Any]) -> Scripted:
    strat = Scripted([st(S)], result=(client, dict(data)), job_id=job_id)
    return strat


async def test_resume_token_round_trip() -> None:
    register_job_kind("test.scripted", _factory)
    job: Job[Any] = Job(Scripted([st(R)], job_id="abcdefabcdefabcdefab"))
    token = job.resume_token
    assert json.loads(token) == {
        "v": 1,
        "kind": "test.scripted",
        "id": "abcdefabcdefabcdefab",
        "data": {"collection": "c-1"},
    }
    client = object()
    for raw in (token, token.encode()):
        again = resume_job(raw, client, poll=FAST)
        assert again.id == "abcdefabcdefabcdefab" and again.kind == "test.scripted"
        assert again.policy is FAST
        assert await again == (client, {"collection": "c-1"})


@pytest.mark.parametrize(
    "token",
    [
        "not json",
        b"\xff\xfe",
        "[1, 2]",
        '{"kind": "test.scripted", "id": "x", "data": {}}',
        '{"v": 2, "kind": "test.scripted", "id": "x", "data": {}}',
        '{"v": true, "kind": "test.scripted", "id": "x", "data": {}}',
        '{"v": 1, "kind": "no.such.kind", "id": "x", "data": {}}',
        '{"v": 1, "kind": "test.scripted", "id": 5, "data": {}}',
        '{"v": 1, "kind": "test.scripted", "id": "", "data": {}}',
        '{"v": 1, "kind": "test.scripted", "id": "x", "data": []}',
        "x" * 100_000,
    ],
)
def test_resume_job_rejects_bad_tokens(token: str | bytes) -> None:
    register_job_kind("test.scripted", _factory)
    with pytest.raises(ValidationError) as info:
        resume_job(token, object())
    assert info.value.field == "resume_token"


def test_register_job_kind_validates() -> None:
    with pytest.raises(ValidationError):
        register_job_kind("", _factory)


# -- logs --------------------------------------------------------------------


async def test_log_events_without_resume_data() -> None:
    strat = Scripted([st(R, progress=0.5), st(F, error="bad input")])
    job: Job[Any] = Job(strat, poll=FAST)
    with structlog.testing.capture_logs() as logs, pytest.raises(JobFailedError):
        await job
    events = [e["event"] for e in logs]
    assert events == ["job.poll", "job.poll", "job.done"]
    first = logs[0]
    assert first["job_id"] == "job-1" and first["kind"] == "test.scripted"
    assert first["state"] == "RUNNING" and first["progress"] == 0.5
    assert first["next_delay"] is not None
    assert logs[2]["error"] == "bad input" and logs[2]["polls"] == 2
    assert "c-1" not in repr(logs)


async def test_a_saturated_client_limiter_defers_the_poll_instead_of_failing_the_job() -> None:
    # Thousands of jobs under a configured pace: the limiter refuses to queue one more poll for
    # longer than RateLimit.max_wait. Nothing was sent; the job polls again later and completes.
    from eoclient.errors import ClientRateLimitError

    refused = ClientRateLimitError(retry_after=0.002, service_message="limiter full")
    strategy = Scripted([refused, st(R), refused, st(S)])
    job = Job(strategy, poll=FAST)
    assert await job.wait(timeout=5) == "RESULT"
    assert strategy.polls == 4
    assert job.status is not None and job.status.state is S


async def test_every_job_error_carries_the_resume_token() -> None:
    register_job_kind("test.scripted", _factory)
    client = object()
    # Timeout: the caller re-attaches with the token and gets the result.
    slow, _ = fake_job(Scripted([st(R, "PROCESSING")]), PollPolicy(initial=5, jitter=0))
    with pytest.raises(JobTimeoutError) as timed_out:
        await slow.wait(timeout=1)
    assert timed_out.value.resume_token == slow.resume_token
    assert timed_out.value.resume_token is not None
    again = resume_job(timed_out.value.resume_token, client, poll=FAST)
    assert await again == (client, {"collection": "c-1"})
    # FAILED, CANCELLED by the service, and cancelled by this client.
    failed, _ = fake_job(Scripted([st(F, error="boom")]), FAST)
    with pytest.raises(JobFailedError) as info_failed:
        await failed
    assert info_failed.value.resume_token == failed.resume_token
    stopped, _ = fake_job(Scripted([st(C, "STOPPED")]), FAST)
    with pytest.raises(JobCancelledError) as info_stopped:
        await stopped
    assert info_stopped.value.resume_token == stopped.resume_token
    mine, _ = fake_job(Scripted([st(R)]), FAST)
    await mine.cancel()
    with pytest.raises(JobCancelledError) as info_mine:
        await mine
    assert info_mine.value.resume_token == mine.resume_token


class Driving(Scripted):
    """Needs a step from the client once it reads ``READY`` (as Batch needs START)."""

    def __init__(self, statuses: Sequence[JobStatus | BaseException]) -> None:
        super().__init__(statuses, strict=True)
        self.drives: list[str] = []

    async def drive(self, status: JobStatus) -> bool:
        self.drives.append(status.raw)
        return status.raw == "READY"


async def test_a_driving_strategy_acts_after_a_poll_and_the_job_polls_again_at_once() -> None:
    strat = Driving([st(P, "CREATED"), st(R, "READY"), st(R, "PROCESSING"), st(S, "DONE")])
    job, clock = fake_job(strat, PollPolicy(initial=1, multiplier=1, max_delay=1, jitter=0))
    raws = [s.raw async for s in job.watch()]
    # The status read right after the step is what the job reports: READY is never seen.
    assert raws == ["CREATED", "PROCESSING", "DONE"]
    assert strat.drives == ["CREATED", "READY"]  # not after the re-poll, not on the terminal status
    assert clock.sleeps == [1, 1] and strat.polls == 4


async def test_a_strategy_that_says_it_may_not_drive_is_not_asked_to() -> None:
    strat = Driving([st(P, "CREATED"), st(R, "READY"), st(S, "DONE")])
    strat.may_drive = False  # type: ignore[attr-defined]  # e.g. a batch job that only watches
    job, _ = fake_job(strat, PollPolicy(initial=1, multiplier=1, max_delay=1, jitter=0))
    await job.wait()
    assert strat.drives == [] and strat.polls == 3
    assert job.status is not None and job.status.raw == "DONE"
