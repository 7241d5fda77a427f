"""The job handle: the one abstraction for every long-running operation.

Sentinel Hub Async Process, Batch v2, Batch Statistical and every SpaceKnow
initiate/retrieve pipeline are driven by one :class:`Job`. Each service plugs
in a small :class:`JobStrategy` (how to ask for the status, how to fetch the
result, how to cancel, what to remember to re-attach later); the Job does the
rest: the poll cadence (:class:`PollPolicy`, server hints win), deadlines,
sharing one cadence between many waiters, status-change streams, result
caching, cancellation and resume tokens. The schedule and the one shared
status call live in a small coordinator (``eoclient._cadence.Cadence``, the
Job's private base class); the Job is the façade that records statuses,
results and cancellation.

The Job never retries a failed status call: strategies call the client's
transport, which already retries transient errors of each call. A status call
that still fails is raised to the waiters that were waiting for it.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Coroutine,
    Generator,
    Mapping,
)
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeVar, cast, runtime_checkable

import msgspec

from eoclient._cadence import Cadence, Deadline, event_loop_time
from eoclient._context import ServiceContext
from eoclient._log import log_enabled, log_event
from eoclient._polling import PollPolicy, RandomLike
from eoclient._redact import scrub
from eoclient.errors import (
    ClientRateLimitError,
    JobCancelledError,
    JobError,
    JobFailedError,
    JobTimeoutError,
    UnsupportedOperationError,
    ValidationError,
)

if TYPE_CHECKING:
    import os

    from eoclient.bulk import BulkReport, Downloaded, Failure
    from eoclient.storage.outputs import Output

__all__ = [
    "DeliveringStrategy",
    "DrivingStrategy",
    "Job",
    "JobFactory",
    "JobState",
    "JobStatus",
    "JobStrategy",
    "PollPolicy",
    "job_service",
    "register_job_kind",
    "resume_job",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

_TOKEN_VERSION: Final = 1
_TOKEN_MAX_BYTES: Final = 64 * 1024
_HISTORY_LEN: Final = 256
_DEFAULT_POLICY: Final = PollPolicy()
_FETCHING: Final[tuple[()]] = ()  # a result fetch is in flight and nobody else waits for it


class JobState(enum.Enum):
    """The service-independent state of a job."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    # Members are singletons and equal only to themselves: the identity hash is right, and
    # C-level (Enum's hashes the name in Python; a Job asks whether a state is terminal often).
    __hash__ = object.__hash__

    @property
    def terminal(self) -> bool:
        """Whether the job can no longer change (SUCCEEDED, FAILED, CANCELLED)."""
        return self in _TERMINAL


_TERMINAL: Final = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class JobStatus(msgspec.Struct, frozen=True, gc=False):
    """One observation of a job's status.

    ``raw`` is the service's own status text (``PROCESSING``, ``RESOLVED``...);
    ``progress`` is 0..1 where the service reports it; ``message``/``step`` are
    the service's progress text and step number (SpaceKnow); ``error`` is the
    service's error text on FAILED; ``retry_after`` is the service's hint, in
    seconds, for the next poll (it is not part of what counts as a change).
    """

    # gc=False: not tracked by the garbage collector (it holds only text and numbers, so it is
    # never part of a cycle); thousands of jobs make one per poll.

    state: JobState
    raw: str
    progress: float | None = None
    message: str | None = None
    step: int | None = None
    error: str | None = None
    retry_after: float | None = None


def _wake(waker: asyncio.Future[None]) -> None:
    """The end of a Job's sleep (the timer's callback); a cancelled sleep is left alone."""
    if not waker.done():
        waker.set_result(None)


def _driver(strategy: JobStrategy[Any]) -> DrivingStrategy[Any] | None:
    """``strategy`` if it has a ``drive()`` step that may act (see :class:`DrivingStrategy`); else None."""
    if getattr(strategy, "drive", None) is None or getattr(strategy, "may_drive", True) is False:
        return None
    return cast("DrivingStrategy[Any]", strategy)


def _changed(old: JobStatus, new: JobStatus) -> bool:
    """Whether ``new`` is a change worth reporting (everything but ``retry_after``)."""
    return (
        old.state is not new.state
        or old.raw != new.raw
        or old.progress != new.progress
        or old.message != new.message
        or old.step != new.step
        or old.error != new.error
    )


class JobStrategy(Protocol[T_co]):
    """What one kind of long-running operation plugs into :class:`Job`.

    A strategy does the HTTP (through the client's transport, which retries
    transient errors of each call); it holds ids, never credentials.
    ``poll()`` only asks for the status: a strategy that must also act on the
    remote job implements :class:`DrivingStrategy`'s ``drive()`` hook.
    """

    @property
    def kind(self) -> str:
        """Registry key, e.g. ``"spaceknow.pipeline"`` or ``"sentinelhub.async_process"``."""
        ...

    @property
    def job_id(self) -> str:
        """The service's id of the job."""
        ...

    async def poll(self) -> JobStatus:
        """Ask the service for the status, once."""
        ...

    async def result(self, final: JobStatus) -> T_co:
        """Fetch or build the result of a SUCCEEDED job (may be an async iterable of pages)."""
        ...

    async def cancel(self) -> bool:
        """Ask the service to stop the job; ``False`` if the service cannot."""
        ...

    def resume_data(self) -> dict[str, Any]:
        """JSON-able data (ids, not secrets) to re-create this strategy elsewhere."""
        ...


class DrivingStrategy(JobStrategy[T_co], Protocol[T_co]):
    """A strategy whose job needs a step from the client to go on (Batch: START after the analysis).

    ``poll()`` only asks; a step that changes the remote job is this explicit hook.
    A strategy may also have a ``may_drive`` attribute: ``False`` says that ``drive()``
    would return ``False`` whatever the status (a batch job that only watches), and
    the Job does not call it (a coroutine less on every poll).
    """

    async def drive(self, status: JobStatus) -> bool:
        """Change the remote job if ``status`` calls for it; ``True`` if it did (then the Job polls again)."""
        ...


@runtime_checkable
class DeliveringStrategy(Protocol):
    """A strategy whose job writes its results to object storage (Batch, Async Process, Batch Statistical).

    ``outputs`` yields each delivered object as it appears (see
    :func:`eoclient.storage.outputs.follow`); ``results`` the family's own
    items built from them (tiles with their records, typed statistics...).
    """

    def outputs(
        self, job: Job[Any], *, grace: float | None, timeout: float | None
    ) -> AsyncGenerator[Output, None]:
        """Each delivered object, once, while the job runs and after it ends."""
        ...

    def results(
        self, job: Job[Any], *, grace: float | None, timeout: float | None
    ) -> AsyncGenerator[Any, None]:
        """The family's results, as they appear."""
        ...


JobFactory = Callable[[Any, str, Mapping[str, Any]], JobStrategy[Any]]
"""``factory(ctx, job_id, data)`` re-creating a strategy from a resume token.

``ctx`` is the client's :class:`~eoclient._context.ServiceContext` (what the
strategy's family holds), or whatever was passed to :func:`resume_job` when
that is not a client.
"""

_REGISTRY: dict[str, JobFactory] = {}
_SERVICES: dict[str, str] = {}  # kind -> the service whose client runs it
_SERVICE_NAMES: Final = {"sentinelhub": "Sentinel Hub", "spaceknow": "SpaceKnow"}


def job_service(kind: str) -> str | None:
    """The service a job kind belongs to (``"sentinelhub"``, ``"spaceknow"``; ``None`` if not known).

    Registered with the kind, else read from its prefix (``"spaceknow.pipeline"``).
    """
    found = _SERVICES.get(kind)
    if found is not None:
        return found
    prefix = kind.partition(".")[0]
    return prefix if prefix in _SERVICE_NAMES else None


def _service_name(service: str) -> str:
    return _SERVICE_NAMES.get(service, repr(service))


@dataclass(frozen=True, slots=True)
class _Err:
    error: Exception


class _Unset:
    """The type of :data:`_UNSET`: no outcome yet."""

    __slots__ = ()


# A Job's outcome before its result is fetched. A result is kept as it is (not wrapped: one object
# less per finished Job), a failure to fetch it as an _Err.
_UNSET: Final = _Unset()


class Job(Cadence, Generic[T]):
    """A handle on a long-running operation: awaitable, watchable, cancellable, resumable.

    ``await job`` (or ``await job.wait(timeout=...)``) polls until the job ends
    and returns its result, or raises :class:`~eoclient.errors.JobFailedError`
    (FAILED), :class:`~eoclient.errors.JobCancelledError` (CANCELLED, or
    :meth:`cancel` was called) or :class:`~eoclient.errors.JobTimeoutError`
    (deadline). ``async for status in job.watch()`` yields each change of
    status. Any number of tasks may wait on and watch the same Job at once:
    they share one polling cadence and one result.

    Example::

        job = await sk.kraken.release(...)            # a Job
        async for status in job.watch():
            print(status.state.name, status.progress, status.message)
        result = await job                            # cached: no second fetch
        token = job.resume_token                      # save it; in another process:
        job = resume_job(token, sk)
        result = await job.wait(timeout=600)

    ``sleep`` and ``clock`` (default: ``asyncio.sleep`` and the event loop's clock)
    are hooks for tests and simulations; ``rng`` drives the jitter.
    """

    # An idle handle is small (thousands of jobs are normal): slots, and the queues, the
    # change history and the set of waiting tasks are made when first needed. Waiting is
    # built on asyncio alone (futures, task cancellation): no lock, no cancel scope per wait.
    # Its cadence is its base class (its private half), not an object of its own: one object
    # per Job less for the garbage collector to walk while thousands of jobs wait.
    __slots__ = (
        "_cancel_lock",
        "_cancel_result",
        "_cancelled",
        "_change_seq",
        "_done_logged",
        "_fetching",
        "_history",
        "_outcome",
        "_status",
        "_strategy",
        "_waiting",
        "_watchers",
    )

    def __init__(
        self,
        strategy: JobStrategy[T],
        *,
        poll: PollPolicy | None = None,
        initial_status: JobStatus | None = None,
        rng: RandomLike | None = None,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._strategy = strategy
        Cadence.__init__(
            self,
            poll if poll is not None else _DEFAULT_POLICY,
            rng,
            sleep if sleep is not None else asyncio.sleep,  # anyio.sleep asks sniffio every time
            clock if clock is not None else event_loop_time,
        )
        # A result fetch in flight: _FETCHING, or the futures of who waits for it.
        self._fetching: list[asyncio.Future[None]] | tuple[()] | None = None
        self._cancel_lock: asyncio.Lock | None = None
        self._status: JobStatus | None = initial_status
        self._change_seq = 0
        # Changes (numbered) a running watch() has yet to yield, and the last; None while nobody
        # watches (a watch() starts from the current status).
        self._history: list[tuple[int, JobStatus]] | None = None
        if initial_status is not None:
            self._change_seq = 1
        self._outcome: T | _Err | _Unset = _UNSET
        self._cancelled = False
        self._cancel_result: bool | None = None
        # The tasks inside a wait()/watch() step (what cancel() cancels): one task, or a set of them.
        self._waiting: asyncio.Task[Any] | set[asyncio.Task[Any]] | None = None
        # The last change each running watch() has yielded: what the history must still hold.
        self._watchers: list[list[int]] | None = None
        self._done_logged = False

    # -- what is known ---------------------------------------------------

    @property
    def id(self) -> str:
        """The service's id of the job."""
        return self._strategy.job_id

    @property
    def kind(self) -> str:
        """The strategy's registry key (e.g. ``"spaceknow.pipeline"``)."""
        return self._strategy.kind

    @property
    def strategy(self) -> JobStrategy[T]:
        """The service strategy driving this job."""
        return self._strategy

    @property
    def policy(self) -> PollPolicy:
        """The poll cadence of this handle."""
        return self._policy

    @property
    def status(self) -> JobStatus | None:
        """The last known status (``None`` before the first poll)."""
        return self._status

    @property
    def done(self) -> bool:
        """The job reached a terminal state, or this handle was cancelled."""
        return self._cancelled or (self._status is not None and self._status.state.terminal)

    @property
    def resume_token(self) -> str:
        """Small versioned JSON to re-attach to this job elsewhere with :func:`resume_job`.

        ``{"v": 1, "service": ..., "kind": ..., "id": ..., "data": {...}}`` where
        ``service`` names the service whose client can resume it (left out for a
        kind of no known service) and ``data`` is the strategy's
        :meth:`~JobStrategy.resume_data` (ids, never credentials). Tokens written
        before ``service`` was added are still read: their kind says the service.
        """
        token: dict[str, Any] = {"v": _TOKEN_VERSION}
        service = job_service(self.kind)
        if service is not None:
            token["service"] = service
        token.update(kind=self.kind, id=self.id, data=self._strategy.resume_data())
        return msgspec.json.encode(token).decode()

    def __repr__(self) -> str:
        state = self._status.raw if self._status is not None else "unknown"
        return f"<Job {self.kind} {self.id} {state}{' cancelled' if self._cancelled else ''}>"

    # -- waiting ---------------------------------------------------------

    def __await__(self) -> Generator[Any, None, T]:
        return self.wait().__await__()

    def wait(self, timeout: float | None = None) -> Coroutine[Any, Any, T]:
        """Poll until the job ends; return its result (a coroutine: await it).

        ``timeout`` (seconds from now) and the policy's ``deadline``: the smaller
        wins. Raises JobFailedError, JobCancelledError or JobTimeoutError.
        """
        # Not a coroutine of its own: the polling loop's coroutine ends with the result, so a
        # waiting job is one coroutine (thousands wait at once; each level is resumed per poll).
        coro: Coroutine[Any, Any, T] = self._step(None, until_terminal=True, finish=True, timeout=timeout)
        return coro

    async def watch(self, timeout: float | None = None) -> AsyncGenerator[JobStatus, None]:
        """Yield the current status, then each change, ending after the terminal one.

        A FAILED or CANCELLED job ends the stream normally (the status says
        it); JobTimeoutError at the deadline, JobCancelledError after
        :meth:`cancel`. Changes of ``retry_after`` alone are not changes.
        """
        deadline = self._deadline(timeout)
        self._raise_if_cancelled()
        if self._status is None:
            await self._step(deadline)
        mark = [self._change_seq - 1]  # the last change yielded (shared with _record)
        if self._watchers is None:
            self._watchers = []
        if self._history is None and self._status is not None:
            self._history = [(self._change_seq, self._status)]
        watchers = self._watchers
        watchers.append(mark)
        try:
            while True:
                self._raise_if_cancelled()
                history = self._history or []
                # Numbered without gaps: the changes after mark[0] are a tail of the history.
                pending = history[max(0, mark[0] + 1 - history[0][0]) :] if history else []
                if not pending:
                    await self._step(deadline)
                    continue
                for seq, status in pending:
                    mark[0] = seq
                    yield status
                    if status.state.terminal:
                        return
                    self._raise_if_cancelled()
        finally:
            watchers.remove(mark)
            if not watchers and self._watchers is watchers:
                self._watchers = None
                self._history = None

    async def results(
        self, timeout: float | None = None, *, grace: float | None = None
    ) -> AsyncGenerator[Any, None]:
        """The job's results as an async iterator.

        A job that delivers to object storage yields its results as they
        appear, while it runs (Batch: each delivered output, or each legacy
        tile with its outputs; Async Process: each output; Batch Statistical:
        each feature's statistics): see :meth:`outputs`. Other jobs wait, then
        yield the items of the result if it is async-iterable, else the result::

            async for item in job.results():
                ...
        """
        strategy = self._strategy
        if isinstance(strategy, DeliveringStrategy):
            async with aclosing(strategy.results(self, grace=grace, timeout=timeout)) as items:
                async for item in items:
                    yield item
            return
        value: Any = await self.wait(timeout)
        if not isinstance(value, AsyncIterable):
            yield value
            return
        iterator = aiter(value)
        try:
            async for item in iterator:
                yield item
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()

    # -- what it delivered -------------------------------------------------

    def _delivering(self) -> DeliveringStrategy:
        strategy = self._strategy
        if not isinstance(strategy, DeliveringStrategy):
            raise UnsupportedOperationError(f"a {self.kind} job delivers nothing to object storage")
        return strategy

    def outputs(
        self, *, grace: float | None = None, timeout: float | None = None
    ) -> AsyncGenerator[Output, None]:
        """Each object the job delivered to object storage, as it appears: while it runs, and after.

        Every item is an :class:`~eoclient.storage.outputs.Output` (bucket, key,
        size, checksum, and what it holds: tile, output identifier, Zarr
        array, feature). The iterator ends once the job has ended and its
        outputs are all in the store; those still missing ``grace`` seconds
        after the end (default 60) raise
        :class:`~eoclient.errors.MissingOutputsError`. A job that failed or was
        cancelled yields what it delivered, then raises as ``await job`` does.
        The store is read with the client's ``storage=`` settings (else the
        ``AWS_*`` environment); it needs the ``s3`` extra.

        Example::

            async for out in job.outputs():
                print(out.tile, out.output, out.key, out.size)
        """
        return self._delivering().outputs(self, grace=grace, timeout=timeout)

    async def download_each(
        self,
        dest: str | os.PathLike[str],
        *,
        concurrency: int = 8,
        overwrite: bool = False,
        grace: float | None = None,
    ) -> AsyncGenerator[Downloaded | Failure, None]:
        """Download each output into ``dest`` (its path below the job's folder) as it appears; yield outcomes.

        Transfers start while the job runs, ``concurrency`` at a time; each is
        streamed into a ``.part`` file renamed when complete (nothing partial
        under the final name, also when cancelled), resumed with ``Range``
        after a drop, checked (size, and MD5 where the ETag is one), and
        skipped when the file on disk already matches (a rerun completes only
        what is missing). Failures are yielded, not raised.
        """
        from eoclient.storage.outputs import download_outputs  # noqa: PLC0415 - storage loads on use

        outputs = self.outputs(grace=grace)
        async with aclosing(
            download_outputs(outputs, dest, concurrency=concurrency, overwrite=overwrite)
        ) as outcomes:
            async for outcome in outcomes:
                yield outcome

    async def download(
        self,
        dest: str | os.PathLike[str],
        *,
        concurrency: int = 8,
        overwrite: bool = False,
        grace: float | None = None,
    ) -> BulkReport:
        """:meth:`download_each` run to the end: a :class:`~eoclient.bulk.BulkReport` of every file.

        Example::

            report = await job.download("ndvi/", concurrency=16)
            print(len(report.downloaded), "new files,", len(report.skipped), "already there")

        A job that failed or was cancelled raises once what it delivered is on
        disk; the error's ``report`` is this run's report.
        """
        from eoclient.bulk import BulkReport, Failure  # noqa: PLC0415 - loads on use

        report = BulkReport()
        try:
            async with aclosing(
                self.download_each(dest, concurrency=concurrency, overwrite=overwrite, grace=grace)
            ) as outcomes:
                async for outcome in outcomes:
                    if isinstance(outcome, Failure):
                        report.failures.append(outcome)
                    else:
                        report.files.append(outcome)
        except JobError as exc:
            exc.report = report
            raise
        return report

    async def refresh(self) -> JobStatus:
        """Poll once now (after any status call already in flight) and return the status."""
        await self._poll_now(self._poll)
        assert self._status is not None
        return self._status

    async def cancel(self) -> bool:
        """Stop polling and ask the service to stop the job.

        Every pending and later ``wait()``/``watch()`` of this handle raises
        JobCancelledError. Returns what the strategy's ``cancel()`` returned
        (``False``: the service cannot cancel); it is asked once per handle.
        A job that already ended is left alone and ``False`` is returned.
        """
        status = self._status
        if not self._cancelled and status is not None and status.state.terminal:
            return False
        if not self._cancelled:
            self._cancelled = True
            # Every task still in a step of this job is cancelled; each tells this cancellation
            # from any other by ``_cancelled`` (no step starts after it) and turns it into
            # JobCancelledError (see _step). ``_waiting`` keeps them until they leave.
            current = asyncio.current_task()
            if current is not None:
                self._unregister(current)  # called from within a step: not cancelled, it raises on
            waiting = self._waiting
            for task in waiting if isinstance(waiting, set) else (waiting,) if waiting else ():
                task.cancel()
            self._log(logging.INFO, "job.cancel")
        if self._cancel_lock is None:
            self._cancel_lock = asyncio.Lock()
        async with self._cancel_lock:
            if self._cancel_result is None:
                self._cancel_result = bool(await self._strategy.cancel())
            return self._cancel_result

    # -- fed from outside ------------------------------------------------

    async def observe(self, status: JobStatus | Exception) -> bool:
        """Record a status read elsewhere, as if this handle had polled it; ``True`` if it changed.

        The hook of :class:`~eoclient.monitor.JobMonitor`, which reads many
        jobs' statuses at once (a listing) and feeds each Job: the status is
        recorded like a poll's (waiters and ``watch()`` see it; a driving
        strategy still takes its step, e.g. Batch's START after the analysis,
        and then polls once). An exception is recorded as a failed status call:
        it is raised to the waiters of the monitor's round, not here. The
        strategy must have been told about the record behind ``status`` (the
        monitor's listing does that) when its ``result()`` relies on it.
        """
        if self.done:
            return False  # ended, or cancelled by this client: nothing more to record
        before = self._change_seq
        if isinstance(status, Exception):
            error = status

            async def fail() -> None:
                raise error

            try:
                await self._poll_now(fail)
            except Exception as exc:
                if exc is not error:
                    raise
            return False
        await self._poll_now(lambda: self._poll(status))
        return self._change_seq != before

    # -- internals -------------------------------------------------------

    def _log(self, level: int, event: str, **fields: Any) -> None:
        """Log ``event`` of this job: every job event names the job and its kind."""
        log_event(level, event, job_id=self.id, kind=self.kind, **fields)

    def _raise_if_cancelled(self) -> None:
        if self._cancelled:
            raise self._cancelled_error()

    def _cancelled_error(self) -> JobCancelledError:
        raw = self._status.raw if self._status is not None else None
        return JobCancelledError(
            f"job {self.id} was cancelled by this client",
            job_id=self.id,
            status=raw,
            resume_token=self.resume_token,
        )

    def _timeout_error(self, deadline: Deadline) -> JobTimeoutError:
        raw = self._status.raw if self._status is not None else None
        return JobTimeoutError(
            f"job {self.id} ({self.kind}) did not finish within {deadline.budget:g}s"
            f" (last status: {raw or 'unknown'})",
            job_id=self.id,
            status=raw,
            resume_token=self.resume_token,
        )

    # The per-poll path is kept in this one coroutine (see the comment inside): its statements are many.
    async def _step(  # noqa: PLR0915
        self,
        deadline: Deadline | None,
        *,
        until_terminal: bool = False,
        finish: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """Advance to a newer status than the one known now (one cadence step), or to a terminal one.

        The task is registered for :meth:`cancel` (which cancels it) for all the steps, not
        one per step; that cancellation comes out as JobCancelledError, any other as it was.
        ``finish`` (:meth:`wait`): the deadline is ``timeout``'s, and the job's result is returned.
        """
        if finish:
            deadline = self._deadline(timeout)
        self._raise_if_cancelled()
        task = self._register()
        strategy = self._strategy
        # Neither the strategy's drive() nor the loop's time() held as a bound method: each would
        # be one more object per waiting job for the garbage collector to walk while it sleeps.
        driving = _driver(strategy)
        clock = self._clock
        loop = asyncio.get_running_loop()
        loop_time = clock is event_loop_time  # the loop's own clock, read without looking the loop up
        try:
            while not self._cancelled:  # cancel() called by this very task (in a poll) ends it too
                status = self._status
                if status is not None and status.state in _TERMINAL:
                    break
                hint = None if status is None else status.retry_after
                if deadline is not None or self._feed is not None:
                    if await self._advance(status is not None, hint, deadline, self._poll):
                        status = self._status
                        if status is None or status.state not in _TERMINAL:
                            assert deadline is not None
                            raise self._timeout_error(deadline)
                    if not until_terminal:
                        break
                    continue
                # Cadence.advance() without a deadline or a feed (a waiter without a timeout, no
                # monitor), spelled out here with the status call made from this coroutine: every
                # level of awaiting between a waiter and the call is paid again at each resumption
                # of the call, and every call made per poll is paid by every job.
                seen = self._version
                target = self._next_at
                if target is None and status is not None:
                    target = self._schedule(hint)  # started from initial_status: sleep first
                if target is not None:
                    pause = target - (loop.time() if loop_time else clock())
                    if pause <= 0:
                        await asyncio.sleep(0)
                    elif self._sleep is not asyncio.sleep:
                        await self._sleep(pause)
                    else:
                        # asyncio.sleep() without its coroutine (one object and one level of
                        # awaiting less on every poll of every job): a future the loop's timer sets.
                        waker = loop.create_future()
                        timer = loop.call_later(pause, _wake, waker)
                        try:
                            await waker
                        except BaseException:
                            timer.cancel()
                            raise
                    if self._feed is not None:  # a monitor took over while this waiter slept
                        if not until_terminal:
                            break
                        continue  # wait for its rounds
                woke = loop.time() if loop_time else clock()
                if self._busy or self._version != seen:
                    await self._call_unless_fresh(self._poll, seen, woke, False)
                else:
                    self._busy = True  # Cadence.claim(), inlined
                    try:
                        status = await strategy.poll()
                        if (
                            driving is not None
                            and status.state not in _TERMINAL
                            and await driving.drive(status)
                        ):
                            status = await strategy.poll()  # what the step changed
                    except Exception as exc:
                        self._poll_failed(exc)
                        if not self._failed(exc, woke):
                            raise
                    else:
                        self._last_started = woke
                        self._record(status)
                    finally:
                        self._done()
                if not until_terminal:
                    break
        except asyncio.CancelledError:
            # Still registered once cancelled: cancel() cancelled this task (no step starts after
            # it). Only that cancellation becomes JobCancelledError; another one goes on.
            if self._cancelled and self._unregister(task) and task.uncancel() == 0:
                raise self._cancelled_error() from None
            raise
        finally:
            if self._unregister(task) and self._cancelled:
                task.uncancel()  # cancelled by cancel(), but the step ended without seeing it
        self._raise_if_cancelled()
        if not finish:
            return None
        status = self._status
        assert status is not None
        return await self._final(status, deadline)

    def _register(self) -> asyncio.Task[Any]:
        """Add the current task to the waiting tasks (what :meth:`cancel` cancels)."""
        task = asyncio.current_task()
        assert task is not None  # eoclient runs on asyncio (anyio's asyncio backend included)
        waiting = self._waiting
        if waiting is None:
            self._waiting = task
        elif isinstance(waiting, set):
            waiting.add(task)
        else:
            self._waiting = {waiting, task}
        return task

    def _unregister(self, task: asyncio.Task[Any]) -> bool:
        """Take ``task`` out of the waiting tasks; ``True`` if it was there."""
        waiting = self._waiting
        if waiting is task:
            self._waiting = None
            return True
        if isinstance(waiting, set) and task in waiting:
            waiting.discard(task)
            if not waiting:
                self._waiting = None
            return True
        return False

    async def _poll(self, observed: JobStatus | None = None) -> None:
        """One status call (the cadence has it in flight), then the strategy's step if it has one.

        ``observed``: a status someone else already read (:meth:`observe`) stands for the call.
        """
        try:
            status = observed if observed is not None else await self._strategy.poll()
            driving = _driver(self._strategy)
            if driving is not None and not status.state.terminal and await driving.drive(status):
                status = await self._strategy.poll()  # what the step changed
        except Exception as exc:
            self._poll_failed(exc)
            raise
        self._record(status)

    def _poll_failed(self, exc: Exception) -> None:
        if isinstance(exc, ClientRateLimitError):
            self._log(logging.INFO, "job.poll_deferred", seconds=exc.retry_after)
        else:
            self._log(logging.WARNING, "job.poll_failed", error=type(exc).__name__)

    def _record(self, status: JobStatus) -> None:
        previous = self._status
        self._status = status
        terminal = status.state in _TERMINAL  # not the property: a Python call, on every poll
        next_delay = self._polled(terminal=terminal, hint=status.retry_after)
        # Struct equality first (in C): an unchanged status, the usual poll, costs no call.
        if previous is None or (previous != status and _changed(previous, status)):
            self._change_seq += 1
            # Only what a running watch() has not yielded yet is kept (the last change always):
            # a Job nobody watches keeps none.
            watchers = self._watchers
            history = self._history
            if watchers and history is not None:
                history.append((self._change_seq, status))
                keep_after = min(mark[0] for mark in watchers)
                drop = max(len(history) - _HISTORY_LEN, keep_after + 1 - history[0][0], 0)
                if drop:
                    del history[: min(drop, len(history) - 1)]
        if log_enabled(logging.DEBUG):
            self._log(
                logging.DEBUG,
                "job.poll",
                state=status.state.name,
                raw=status.raw,
                progress=status.progress,
                step=status.step,
                next_delay=None if next_delay is None else round(next_delay, 3),
            )
        if terminal and not self._done_logged:
            self._done_logged = True
            if log_enabled(logging.INFO):
                self._log(
                    logging.INFO,
                    "job.done",
                    state=status.state.name,
                    raw=status.raw,
                    error=scrub(status.error) if status.error else None,
                    polls=self._polls,
                )

    async def _final(self, status: JobStatus, deadline: Deadline | None) -> T:
        if status.state is JobState.FAILED:
            raise JobFailedError(
                job_id=self.id, status=status.raw, error=status.error, resume_token=self.resume_token
            )
        if status.state is JobState.CANCELLED:
            why = f": {status.message}" if status.message else ""
            raise JobCancelledError(
                f"job {self.id} was cancelled ({status.raw}){why}",
                job_id=self.id,
                status=status.raw,
                resume_token=self.resume_token,
            )
        outcome = self._outcome
        if isinstance(outcome, _Unset):
            if deadline is None:  # nothing to cut off: no timeout for every job that ends
                outcome = await self._outcome_once(status)
            else:
                cutoff = asyncio.timeout_at(self._bound(deadline))
                try:
                    async with cutoff:
                        outcome = await self._outcome_once(status)
                except TimeoutError:
                    if not cutoff.expired():
                        raise  # the strategy's own
                    raise self._timeout_error(deadline) from None
        if isinstance(outcome, _Err):
            raise outcome.error
        return outcome

    async def _outcome_once(self, status: JobStatus) -> T | _Err:
        """The strategy's result for ``status``, asked once however many wait for it."""
        while isinstance(outcome := self._outcome, _Unset):
            fetching = self._fetching
            if fetching is None:
                self._fetching = _FETCHING
                try:
                    value = await self._strategy.result(status)
                except Exception as exc:
                    self._outcome = _Err(exc)
                else:
                    self._outcome = value
                finally:
                    # Made, failed or cancelled: who waited takes the outcome, or fetches it.
                    queue = self._fetching
                    self._fetching = None
                    if isinstance(queue, list):
                        for queued in queue:
                            if not queued.done():
                                queued.set_result(None)
                continue
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if isinstance(fetching, tuple):
                fetching = self._fetching = []
            fetching.append(waiter)
            try:
                await waiter
            finally:
                if waiter in fetching:
                    fetching.remove(waiter)
        return outcome


def register_job_kind(kind: str, factory: JobFactory, *, service: str | None = None) -> None:
    """Make ``kind`` resumable: ``factory(ctx, job_id, data)`` re-creates its strategy.

    ``service`` is the service whose client runs the kind (default: the
    kind's prefix when it names one, ``"sentinelhub.batch"`` -> ``"sentinelhub"``);
    :func:`resume_job` refuses a client of another service. Service modules call
    this at import time; a later registration of the same kind replaces the earlier one.
    """
    if not isinstance(kind, str) or not kind:
        raise ValidationError("kind", "must be a non-empty string")
    if not callable(factory):
        raise ValidationError("factory", "must be callable")
    if service is not None and (not isinstance(service, str) or not service):
        raise ValidationError("service", "must be a non-empty string or None")
    _REGISTRY[kind] = factory
    if service is not None:
        _SERVICES[kind] = service
    else:
        _SERVICES.pop(kind, None)


class _Token(msgspec.Struct):
    v: int
    kind: str
    id: str
    data: dict[str, Any] = msgspec.field(default_factory=dict)
    service: str | None = None  # added within version 1: older tokens lack it, older readers ignore it


def _parse_token(token: str | bytes) -> _Token:
    field = "resume_token"
    if not isinstance(token, str | bytes):
        raise ValidationError(field, "must be a str or bytes")
    if len(token) > _TOKEN_MAX_BYTES:
        raise ValidationError(field, "is too large")
    try:
        obj = msgspec.json.decode(token)
    except msgspec.DecodeError:
        raise ValidationError(field, "is not valid JSON") from None
    if not isinstance(obj, dict):
        raise ValidationError(field, "must be a JSON object")
    version = obj.get("v")
    if type(version) is not int or version != _TOKEN_VERSION:
        raise ValidationError(field, f"unsupported version (expected {_TOKEN_VERSION})")
    try:
        parsed = msgspec.convert(obj, _Token)
    except msgspec.ValidationError as exc:
        raise ValidationError(field, str(exc)) from None
    if not parsed.kind or not parsed.id:
        raise ValidationError(field, "kind and id must be non-empty")
    by_kind = job_service(parsed.kind)
    if parsed.service is not None and by_kind is not None and parsed.service != by_kind:
        raise ValidationError(
            field,
            f"says service {parsed.service!r} but its kind {parsed.kind!r} is a "
            f"{_service_name(by_kind)} job: the token was altered",
        )
    return parsed


def _check_client(parsed: _Token, client: Any) -> None:
    """The client must be one of the token's service (any client, for a kind of no known service)."""
    service = parsed.service or job_service(parsed.kind)
    what = f"a {_service_name(service)} job's token" if service else f"the token of a {parsed.kind!r} job"
    if client is None:
        need = f"the {_service_name(service)} client" if service else "the client"
        raise ValidationError("resume_token", f"{what}: give {need} to resume it on, not None")
    if service is None:
        return
    have = getattr(client, "service", None)
    if not isinstance(have, str):
        raise ValidationError(
            "resume_token",
            f"{what} needs a {_service_name(service)} client to resume on, got {type(client).__name__}",
        )
    if have != service:
        raise ValidationError(
            "resume_token",
            f"{what} (kind {parsed.kind!r}) cannot be resumed on a {_service_name(have)} client; "
            f"resume it with a {_service_name(service)} client",
        )


def resume_job(token: str | bytes, client: Any, *, poll: PollPolicy | None = None) -> Job[Any]:
    """Re-attach to a job from its :attr:`Job.resume_token`, e.g. in another process.

    ``client`` is the client to resume on (or its ``context``): one of the
    service the token names (a SpaceKnow pipeline's token needs a SpaceKnow
    client). The strategy is given the client's context, as its family is. Raises
    ValidationError (field ``resume_token``) for a malformed token, an unknown
    version, a kind no imported module registered, no client, or a client of
    another service (naming both services).

    Example::

        job = resume_job(saved_token, sk)
        result = await job
    """
    parsed = _parse_token(token)
    _check_client(parsed, client)
    factory = _REGISTRY.get(parsed.kind)
    if factory is None:
        raise ValidationError("resume_token", f"unknown job kind {parsed.kind!r}")
    return Job(factory(_context_of(client), parsed.id, parsed.data), poll=poll)


def _context_of(client: Any) -> Any:
    """A client's :class:`ServiceContext`; anything else (a context, a test's stand-in) as it is."""
    ctx = getattr(client, "context", None)
    return ctx if isinstance(ctx, ServiceContext) else client
