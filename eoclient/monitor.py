"""One monitor for many jobs: their statuses read together, on one cadence, as an async iterator.

Following hundreds of batch requests with one :class:`~eoclient.jobs.Job`
each costs one status call per job per poll. :class:`JobMonitor` reads them
together instead: jobs whose strategy offers a :class:`Listing` (Batch v2,
legacy batch, Batch Statistical: the service's paged list endpoint) are read
a page of 100 at a time, newest first, stopping as soon as every job still
running was seen; the others (Async Process, SpaceKnow pipelines) fall back to
one status call each, a bounded number at a time. Rounds follow one
:class:`~eoclient.jobs.PollPolicy` (backoff, jitter, the service's hints)::

    jobs = [await sh.batch.run(spec) for spec in specs]
    async for job, status in sh.batch.watch_many(jobs):    # a JobMonitor
        print(job.id, status.raw, status.progress)
    results = [await job for job in jobs]                   # no further call: cached

While the monitor runs, each Job's own ``await job`` / ``job.watch()`` is
fed from its rounds (they send nothing themselves; see
:meth:`~eoclient.jobs.Job.observe` and :class:`~eoclient._cadence.Feed`).
The iteration ends when every job has ended. A job absent from its listing
(deleted) is read on its own; if that fails for good (e.g.
:class:`~eoclient.errors.NotFoundError`), that job alone ends: the error is
in :attr:`JobMonitor.errors` and ``await job`` raises it. Transient failures
(no answer, 5xx, 429 after the transport's retries) lose no job: the round is
tried again after the next, longer, pause. A listing the service refuses
(403, a malformed page) is not used again: its jobs are read one by one.
Leaving the ``async for`` (break, cancellation) hands every job back to its
own polling.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Hashable, Iterable, Mapping
from typing import Any, Final, Protocol, Self, TypeVar

import anyio
import anyio.lowlevel

from eoclient._cadence import Feed
from eoclient._log import log_event
from eoclient._polling import PollPolicy, RandomLike
from eoclient.errors import EOClientError, RateLimitError, ServerError, TransportError, ValidationError
from eoclient.jobs import Job, JobStatus
from eoclient.paging import Page

__all__ = ["JobMonitor", "Listing", "scan_listing"]

R = TypeVar("R")
S = TypeVar("S")

TRANSIENT: Final = (TransportError, ServerError, RateLimitError)
"""Failures that a later round may not meet (the transport already retried them once each)."""
_SLACK: Final = 60.0  # seconds a waiter allows a round beyond the pause before it polls on its own

Change = tuple[Job[Any], JobStatus]


class Listing(Protocol):
    """A family's list endpoint, read for many jobs at once.

    Strategies offer one with ``monitor_listing()`` (``None``: no listing);
    listings are hashable, and equal ones (same client, same endpoint) are
    read once per round for all their jobs.
    """

    def __hash__(self) -> int: ...

    async def statuses(self, wanted: Mapping[str, Any]) -> dict[str, JobStatus]:
        """The status of each wanted job (lower-case id -> its strategy) that the listing shows.

        Ids the listing does not show are left out. The listing tells each
        found strategy about its record (what ``result()`` returns).
        """
        ...


async def scan_listing(
    pages: AsyncIterator[Page[R, Any]],
    wanted: Mapping[str, S],
    status_of: Callable[[S, R], JobStatus],
) -> dict[str, JobStatus]:
    """Read ``pages`` until every wanted id was seen (or the listing ends).

    ``status_of(strategy, record)`` reads one listed record for its strategy.
    Put the jobs' newest first (``sort=created:desc``): recent jobs are then on
    the first pages and the rest of the account's history is never asked for.
    """
    found: dict[str, JobStatus] = {}
    try:
        async for page in pages:
            for record in page.items:
                key = str(getattr(record, "id", "")).lower()
                strategy = wanted.get(key)
                if strategy is not None and key not in found:
                    found[key] = status_of(strategy, record)
            if len(found) >= len(wanted):
                break
    finally:
        aclose = getattr(pages, "aclose", None)
        if aclose is not None:
            await aclose()
    return found


class JobMonitor:
    """Follows many :class:`~eoclient.jobs.Job` handles together; ``async for job, status in monitor``.

    Yields each job's known status first, then every change of status, of
    any job, as rounds see them; ends when every job has ended (terminal,
    cancelled with ``job.cancel()``, or failed for good: :attr:`errors`). Jobs
    of any family may be mixed. ``poll`` is the cadence of the rounds (default:
    the first job's); ``concurrency`` bounds the single status calls of jobs
    without a listing. ``add()`` takes more jobs, also while iterating.

    ``sleep`` and ``rng`` are hooks for tests (default ``anyio.sleep``).
    """

    def __init__(
        self,
        jobs: Iterable[Job[Any]] = (),
        *,
        poll: PollPolicy | None = None,
        concurrency: int = 16,
        rng: RandomLike | None = None,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValidationError("concurrency", "must be an integer >= 1")
        self._pending: dict[Job[Any], None] = {}
        self._policy = poll
        self._concurrency = concurrency
        self._rng = rng
        self._sleep = sleep if sleep is not None else anyio.sleep
        self._feed: Feed | None = None
        self._broken: set[Hashable] = set()
        self._iterating = False
        self._closed = False
        self.errors: dict[Job[Any], Exception] = {}
        """Jobs that ended in an error of their own (e.g. NotFoundError: deleted), and the error."""
        self.rounds = 0
        """Rounds made so far."""
        for job in jobs:
            self.add(job)

    # -- what is followed --------------------------------------------------------------

    def add(self, job: Job[Any]) -> None:
        """Follow ``job`` too (from the next round when iterating)."""
        if not isinstance(job, Job):
            raise ValidationError("jobs", f"expected a Job, got {type(job).__name__}")
        if job not in self.errors:
            self._pending.setdefault(job, None)

    @property
    def jobs(self) -> list[Job[Any]]:
        """The jobs still followed (not ended)."""
        return [job for job in self._pending if not job.done]

    @property
    def policy(self) -> PollPolicy:
        """The cadence of the rounds."""
        if self._policy is not None:
            return self._policy
        first = next(iter(self._pending), None)
        return first.policy if first is not None else PollPolicy()

    def __repr__(self) -> str:
        return f"<JobMonitor {len(self.jobs)} jobs, {self.rounds} rounds, {len(self.errors)} errors>"

    # -- iterating ---------------------------------------------------------------------

    def __aiter__(self) -> AsyncGenerator[Change, None]:
        return self._changes()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop: every job goes back to its own polling now, and the iteration ends.

        Leaving an ``async for`` by ``break`` or an exception closes the
        iteration only when the event loop finalizes it (soon, but not at
        once); ``async with monitor:`` around the loop, or this, is immediate.
        """
        self._closed = True
        feed = self._feed
        if feed is not None:
            for job in self._pending:
                self._release(job, feed)
            feed.tick()
        await anyio.lowlevel.checkpoint()

    async def _changes(self) -> AsyncGenerator[Change, None]:
        if self._iterating:
            raise ValidationError("monitor", "is already being iterated (one `async for` at a time)")
        self._iterating, self._closed = True, False
        policy = self.policy
        feed = self._feed = Feed(patience=policy.initial + _SLACK)
        try:
            self._adopt(feed)
            for job in list(self._pending):
                if job.status is not None:
                    yield job, job.status
            self._settle(feed)
            sleeps, hint = 0, None
            first = any(job.status is None for job in self._pending)
            while self._pending and not self._closed:
                if not first:
                    delay = policy.delay(sleeps, hint, self._rng)
                    sleeps += 1
                    await self._sleep(delay)
                    if self._closed:
                        break
                first = False
                self._adopt(feed)
                started = time.monotonic()
                changes, hint = await self._round()
                # A waiter allows the next pause, a round like this one, and some slack.
                feed.patience = policy.max_delay + 2 * (time.monotonic() - started) + _SLACK
                self._settle(feed)
                feed.tick()
                for change in changes:
                    if self._closed:
                        break
                    yield change
        finally:
            for job in self._pending:
                self._release(job, feed)
            feed.tick()
            self._feed = None
            self._iterating = False

    # -- one round ---------------------------------------------------------------------

    async def _round(self) -> tuple[list[Change], float | None]:
        self.rounds += 1
        changes: list[Change] = []
        hints: list[float] = []
        groups: dict[Listing, dict[str, Job[Any]]] = {}
        singles: list[Job[Any]] = []
        for job in self._pending:
            if job.done:
                continue
            listing = self._listing_of(job)
            if listing is None:
                singles.append(job)
            else:
                groups.setdefault(listing, {})[job.id.lower()] = job
        for listing, members in groups.items():
            found = await self._list(listing, members, hints)
            if found is None:
                continue
            for key, job in members.items():
                status = found.get(key)
                if status is None:
                    singles.append(job)  # not listed: deleted, or it moved between two pages
                else:
                    await self._record(job, status, changes, hints)
        if singles:
            limiter = anyio.CapacityLimiter(self._concurrency)
            async with anyio.create_task_group() as tg:
                for job in singles:
                    tg.start_soon(self._single, job, limiter, changes, hints)
        for job in self._pending:
            status = job.status
            if status is not None and not job.done and status.retry_after is not None:
                hints.append(status.retry_after)
        log_event(
            logging.DEBUG,
            "monitor.round",
            round=self.rounds,
            jobs=len(self._pending),
            listings=len(groups),
            singles=len(singles),
            changes=len(changes),
        )
        return changes, min(hints) if hints else None

    def _listing_of(self, job: Job[Any]) -> Listing | None:
        offer = getattr(job.strategy, "monitor_listing", None)
        listing = offer() if offer is not None else None
        if listing is None or listing in self._broken:
            return None
        return listing  # type: ignore[no-any-return]

    async def _list(
        self, listing: Listing, members: Mapping[str, Job[Any]], hints: list[float]
    ) -> dict[str, JobStatus] | None:
        """The listing's statuses; ``None`` when it failed (its jobs wait for the next round)."""
        try:
            return await listing.statuses({key: job.strategy for key, job in members.items()})
        except TRANSIENT as exc:
            _note_hint(exc, hints)
            log_event(logging.WARNING, "monitor.listing_failed", jobs=len(members), error=type(exc).__name__)
            return None
        except EOClientError as exc:
            # Refused or unreadable for good: its jobs are read one by one from now on.
            self._broken.add(listing)
            log_event(logging.WARNING, "monitor.listing_refused", jobs=len(members), error=type(exc).__name__)
            return {}

    async def _single(
        self,
        job: Job[Any],
        limiter: anyio.CapacityLimiter,
        changes: list[Change],
        hints: list[float],
    ) -> None:
        async with limiter:
            try:
                status = await job.strategy.poll()
            except TRANSIENT as exc:
                _note_hint(exc, hints)
                log_event(logging.INFO, "monitor.poll_failed", job_id=job.id, error=type(exc).__name__)
                return
            except Exception as exc:
                await job.observe(exc)  # raised to the job's own waiters
                self._failed(job, exc)
                return
            await self._record(job, status, changes, hints)

    async def _record(
        self, job: Job[Any], status: JobStatus, changes: list[Change], hints: list[float]
    ) -> None:
        try:
            changed = await job.observe(status)
        except TRANSIENT as exc:  # the strategy's own step (Batch START) could not be sent this round
            _note_hint(exc, hints)
            return
        except Exception as exc:
            self._failed(job, exc)
            return
        if changed and job.status is not None:
            changes.append((job, job.status))

    def _failed(self, job: Job[Any], exc: Exception) -> None:
        self.errors[job] = exc
        log_event(
            logging.WARNING, "monitor.job_failed", job_id=job.id, kind=job.kind, error=type(exc).__name__
        )

    # -- handing jobs over -------------------------------------------------------------

    def _adopt(self, feed: Feed) -> None:
        for job in self._pending:
            if not job.done:
                job._feed = feed

    @staticmethod
    def _release(job: Job[Any], feed: Feed) -> None:
        if job._feed is feed:
            job._feed = None

    def _settle(self, feed: Feed) -> None:
        """Stop following the jobs that ended (their waiters wake at the tick that follows)."""
        for job in [j for j in self._pending if j.done or j in self.errors]:
            self._release(job, feed)
            del self._pending[job]


def _note_hint(exc: Exception, hints: list[float]) -> None:
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int | float) and not math.isnan(retry_after):
        hints.append(float(retry_after))
