"""Unit tests of JobMonitor and the Job/Cadence hook it feeds through: fake strategies, no HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from eoclient.errors import NotFoundError, PermissionDeniedError, ServerError, ValidationError
from eoclient.jobs import Job, JobState, JobStatus, PollPolicy
from eoclient.monitor import JobMonitor

FAST = PollPolicy(initial=0.001, multiplier=1.0, max_delay=0.001, jitter=0.0)
RUNNING = JobStatus(JobState.RUNNING, "PROCESSING")
DONE = JobStatus(JobState.SUCCEEDED, "DONE")


@dataclass(eq=False)
class Board:
    """The 'service': each job's status, and what was asked."""

    statuses: dict[str, JobStatus | Exception] = field(default_factory=dict)
    list_calls: int = 0
    get_calls: dict[str, int] = field(default_factory=dict)
    list_errors: list[Exception] = field(default_factory=list)


@dataclass(frozen=True)
class FakeListing:
    board: Board

    def __hash__(self) -> int:
        return id(self.board)

    async def statuses(self, wanted: Mapping[str, Any]) -> dict[str, JobStatus]:
        self.board.list_calls += 1
        await anyio.lowlevel.checkpoint()
        if self.board.list_errors:
            raise self.board.list_errors.pop(0)
        return {k: s for k, s in self.board.statuses.items() if k in wanted and isinstance(s, JobStatus)}


class Fake:
    kind = "test.fake"

    def __init__(self, board: Board, job_id: str, *, listed: bool = True) -> None:
        self.board, self.job_id, self.listed = board, job_id, listed

    async def poll(self) -> JobStatus:
        self.board.get_calls[self.job_id] = self.board.get_calls.get(self.job_id, 0) + 1
        await anyio.lowlevel.checkpoint()
        status = self.board.statuses[self.job_id]
        if isinstance(status, Exception):
            raise status
        return status

    async def result(self, final: JobStatus) -> str:
        return f"result {self.job_id}"

    async def cancel(self) -> bool:
        return True

    def resume_data(self) -> dict[str, Any]:
        return {}

    def monitor_listing(self) -> FakeListing | None:
        return FakeListing(self.board) if self.listed else None


def jobs_on(board: Board, n: int, *, listed: bool = True) -> list[Job[str]]:
    jobs = []
    for i in range(n):
        board.statuses[f"j{i}"] = RUNNING
        jobs.append(Job(Fake(board, f"j{i}", listed=listed), poll=FAST))
    return jobs


def not_found() -> NotFoundError:
    return NotFoundError(status=404, operation="test.get")


def finish_after(board: Board, pauses: int) -> Any:
    """The monitor's ``sleep`` hook: after ``pauses`` pauses every job that still runs is DONE."""
    count = 0

    async def sleep(seconds: float) -> None:
        nonlocal count
        count += 1
        if count >= pauses:
            for key, status in board.statuses.items():
                if status is RUNNING:
                    board.statuses[key] = DONE
        await anyio.lowlevel.checkpoint()

    return sleep


async def _append(results: list[str], job: Job[str]) -> None:
    results.append(await job)


async def test_listed_jobs_are_read_once_per_round_and_waiters_send_nothing() -> None:
    board = Board()
    jobs = jobs_on(board, 5)
    results: list[str] = []
    async with anyio.create_task_group() as tg, JobMonitor(jobs, sleep=finish_after(board, 3)) as monitor:
        async for _job, _status in monitor:
            if monitor.rounds == 1 and not tg.cancel_scope.cancel_called and not results:
                for job in jobs:
                    tg.start_soon(_append, results, job)
                results.append("started")
    assert sorted(results) == ["result j0", "result j1", "result j2", "result j3", "result j4", "started"]
    assert board.get_calls == {}  # no job polled on its own
    assert board.list_calls == monitor.rounds == 4


async def test_per_job_fallback_and_a_missing_job_ends_alone() -> None:
    board = Board()
    jobs = [Job(Fake(board, f"j{i}"), poll=FAST, initial_status=RUNNING) for i in range(3)]
    board.statuses.update(j0=RUNNING, j1=not_found(), j2=RUNNING)  # j1: not listed, and a GET is 404
    errors: list[BaseException] = []

    async def wait(job: Job[str]) -> None:
        try:
            await job
        except NotFoundError as exc:
            errors.append(exc)

    monitor = JobMonitor(jobs, sleep=finish_after(board, 2))
    async with anyio.create_task_group() as tg:
        async for job, _status in monitor:
            if job is jobs[0] and monitor.rounds == 0:  # the known statuses come first
                tg.start_soon(wait, jobs[1])
    assert list(monitor.errors) == [jobs[1]]
    assert isinstance(monitor.errors[jobs[1]], NotFoundError)
    assert board.get_calls == {"j1": 1}  # read once on its own; its waiter got the monitor's error
    assert len(errors) == 1 and errors[0] is monitor.errors[jobs[1]]
    assert [j.status for j in (jobs[0], jobs[2])] == [DONE, DONE]


async def test_transient_listing_errors_lose_no_job_and_a_refused_listing_falls_back() -> None:
    board = Board(list_errors=[ServerError(status=503), ServerError(status=503)])
    jobs = jobs_on(board, 2)
    monitor = JobMonitor(jobs, sleep=finish_after(board, 3))
    seen = [(job.id, status.raw) async for job, status in monitor]
    assert ("j0", "DONE") in seen and ("j1", "DONE") in seen and not monitor.errors
    assert board.get_calls == {}
    assert board.list_calls == monitor.rounds

    board = Board(list_errors=[PermissionDeniedError(status=403)])
    jobs = jobs_on(board, 2)
    monitor = JobMonitor(jobs, sleep=finish_after(board, 2))
    seen = [(job.id, status.raw) async for job, status in monitor]
    assert ("j0", "DONE") in seen and ("j1", "DONE") in seen and not monitor.errors
    assert board.list_calls == 1  # refused once: never asked again
    assert board.get_calls == {"j0": monitor.rounds, "j1": monitor.rounds}


async def test_unlisted_jobs_poll_one_by_one() -> None:
    board = Board()
    jobs = jobs_on(board, 6, listed=False)
    monitor = JobMonitor(jobs, concurrency=2, sleep=finish_after(board, 2))
    changes = [c async for c in monitor]
    assert {job for job, s in changes if s is DONE} == set(jobs)
    assert board.list_calls == 0
    assert all(n == monitor.rounds for n in board.get_calls.values())


async def test_a_quiet_feed_lets_the_waiter_poll_on_its_own() -> None:
    board = Board()
    (job,) = jobs_on(board, 1)
    monitor = JobMonitor([job])
    iterator = aiter(monitor)
    await iterator.__anext__()  # the first round: the job is taken over
    assert job._feed is not None
    job._feed.patience = 0.01  # the consumer stops iterating from here
    board.statuses["j0"] = DONE
    with anyio.fail_after(30):  # a safety net, not a timing assertion
        assert await job == "result j0"
    assert board.get_calls == {"j0": 1}
    await iterator.aclose()
    assert job._feed is None


async def test_observe_records_a_change_and_skips_an_ended_job() -> None:
    board = Board()
    (job,) = jobs_on(board, 1)
    assert await job.observe(RUNNING) is True
    assert await job.observe(RUNNING) is False
    assert await job.observe(DONE) is True
    assert await job.observe(RUNNING) is False  # ended: nothing more is recorded
    assert job.status is DONE and await job == "result j0"


async def test_one_iteration_at_a_time_and_only_jobs() -> None:
    board = Board()
    monitor = JobMonitor(jobs_on(board, 1))
    first = aiter(monitor)
    await first.__anext__()
    with pytest.raises(ValidationError, match="monitor"):
        await aiter(monitor).__anext__()
    await first.aclose()
    with pytest.raises(ValidationError, match="jobs"):
        JobMonitor(["not a job"])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="concurrency"):
        JobMonitor(concurrency=0)
