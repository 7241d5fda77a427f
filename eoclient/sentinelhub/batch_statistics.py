"""The Batch Statistical API: statistics over every feature of a GeoPackage, written to object storage.

Reached as ``sh.batch_statistics``. A request is created (CREATED), optionally
analysed, started, and then runs to DONE (or PARTIAL, FAILED, STOPPED); its
:class:`~eoclient.jobs.Job` follows it::

    job = await sh.batch_statistics.create(request)      # CREATED
    await sh.batch_statistics.analyse(job)               # optional: ANALYSING -> ANALYSIS_DONE
    await sh.batch_statistics.start(job)                 # PROCESSING (analyses first if needed)
    async for status in job.watch():
        print(status.raw, status.progress)               # completionPercentage / 100
    task = await job                                     # BatchStatisticsTask, status DONE

or ``await sh.batch_statistics.create(request, start=True)``. The results,
one JSON object per feature in the request's ``output`` bucket, are read
back as they appear, while the request runs and after it ends::

    async for item in job.results():                     # FeatureStatistics
        print(item.feature, item.statistics.data[0].outputs["default"].bands["B0"].stats.mean)
    async for out in job.outputs():                      # the objects themselves (Output)
        print(out.feature, out.key, out.size)
    report = await job.download("stats/")                # <id>.json files, atomic and resumed

``item.statistics`` is the Statistical API's answer for that feature, the
same :class:`~eoclient.sentinelhub.statistics_models.StatisticsResponse`
that ``sh.statistics`` returns; an object that is not one is a
:class:`~eoclient.errors.ResponseDecodeError` naming its key. The service
does not say how many features there are: the results are complete at the
first listing after the end that finds nothing new (see
:mod:`eoclient.sentinelhub.batch_statistics_outputs`). The store is read
with the client's ``storage=`` settings (else the ``AWS_*`` environment);
it needs the ``s3`` extra. A request is
never processed without ``start`` (processing costs processing units), so a
job that was not started waits in CREATED or ANALYSIS_DONE (its status
message says so).

How the service's statuses end a Job:

* ``DONE`` -> the result: the request as :class:`BatchStatisticsTask`;
* ``PARTIAL`` (some features failed, the others were written) -> also the
  result: check ``task.status`` (and ``task.error``);
* ``FAILED`` -> :class:`~eoclient.errors.JobFailedError` with the service's ``error``;
* ``STOPPED`` by a user (``stoppedStatusReason`` ``USER_ACTION``, also
  ``job.cancel()``, which calls stop) -> :class:`~eoclient.errors.JobCancelledError`;
  stopped by the service for lack of processing units (``OUT_OF_PU``) ->
  :class:`~eoclient.errors.JobFailedError`.

Answers lost on the way back (connection dropped after sending, read
timeout, 500/502/503/504; see :mod:`eoclient._outcome`): a create is looked
up as Batch v2's is (the one request newer than the newest listed just
before sending, holding every field sent), else
:class:`~eoclient.errors.OutcomeUnknownError`; an analyse or start is
checked against the request's ``userAction``; ``create(..., start=True)``
whose start fails puts the created request's id on the error
(``exc.resource_id`` and a note).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Final

from eoclient._context import ServiceContext
from eoclient._http.transport import Transport
from eoclient._models import from_wire
from eoclient._outcome import Claims, act_or_check, create_or_find, note_created
from eoclient.errors import (
    BadRequestError,
    ConflictError,
    ResponseDecodeError,
    ValidationError,
)
from eoclient.jobs import Job, JobState, JobStatus, PollPolicy, register_job_kind
from eoclient.monitor import JobMonitor, scan_listing
from eoclient.paging import Paginator, ViewToken
from eoclient.sentinelhub._lookup import body_key, fenced_finder
from eoclient.sentinelhub._paging import view_paginator
from eoclient.sentinelhub.batch_statistics_models import (
    BatchStatisticsRequest,
    BatchStatisticsStatus,
    BatchStatisticsTask,
    FeatureStatistics,
    prepare_batch_statistics_request,
)
from eoclient.sentinelhub.batch_statistics_outputs import StatisticsPlan, feature_statistics, statistics_plan
from eoclient.sentinelhub.byoc_models import page_count, uuid_id
from eoclient.sentinelhub.data_collections import (
    Deployment,
    deployment_path,
    deployment_resume_data,
    resolve_deployment,
    resumed_deployment,
    route_request,
)
from eoclient.sentinelhub.deliveries import Stores
from eoclient.storage.outputs import Output, follow

__all__ = [
    "BATCH_STATISTICS_PATH",
    "KIND",
    "SORTS",
    "BatchStatistics",
    "BatchStatisticsJob",
    "BatchStatisticsListing",
]

BATCH_STATISTICS_PATH: Final = "/api/v1/statistics/batch"
KIND: Final = "sentinelhub.batch_statistics"
SORTS: Final = frozenset({"created", "created:desc", "status", "status:desc"})
"""``sort`` values of the listing."""

_STATES: Final = {
    "CREATED": JobState.PENDING,
    "ANALYSING": JobState.RUNNING,
    "ANALYSIS_DONE": JobState.PENDING,
    "PROCESSING": JobState.RUNNING,
    "DONE": JobState.SUCCEEDED,
    "PARTIAL": JobState.SUCCEEDED,
    "FAILED": JobState.FAILED,
    "STOPPED": JobState.CANCELLED,
}
_MESSAGES: Final = {
    "CREATED": "created; processing begins after start()",
    "ANALYSING": "analysing the features",
    "ANALYSIS_DONE": "analysis done; processing begins after start()",
    "PROCESSING": "processing",
    "DONE": "done",
    "PARTIAL": "done, but some features failed",
}


def to_job_status(data: BatchStatisticsStatus, *, operation: str = "batch_statistics.status") -> JobStatus:
    """The :class:`~eoclient.jobs.JobStatus` of a service status (progress = completionPercentage / 100)."""
    state = _STATES.get(data.status)
    if state is None:
        raise ResponseDecodeError(
            f"unknown Batch Statistical status {data.status!r}",
            operation=operation,
            path=BATCH_STATISTICS_PATH,
        )
    message = _MESSAGES.get(data.status)
    error: str | None = None
    if data.status == "STOPPED":
        reason = data.stopped_status_reason or "USER_ACTION"
        message = f"stopped ({reason})"
        if reason != "USER_ACTION":
            # Stopped by the service (e.g. out of processing units): a failure, not a cancellation.
            state = JobState.FAILED
            error = data.error or f"stopped by the service: {reason}"
    elif state is JobState.FAILED:
        error = data.error or "the request failed (the service gave no reason)"
    elif data.status == "PARTIAL" and data.error:
        message = f"{message}: {data.error}"
    pct = data.completion_percentage
    progress = None if pct is None else min(1.0, max(0.0, pct / 100))
    return JobStatus(state=state, raw=data.status, progress=progress, message=message, error=error)


def _request_id(value: Any) -> str:
    """A request id from a UUID, its text, or a :class:`~eoclient.jobs.Job` of this API."""
    if isinstance(value, Job):
        if value.kind != KIND:
            raise ValidationError("request_id", f"a {value.kind} job is not a Batch Statistical request")
        value = value.id
    return uuid_id(value, field="request_id", prefix="")


@dataclass(frozen=True, slots=True, eq=True)
class BatchStatisticsListing:
    """The request listing read for many jobs at once (:class:`~eoclient.monitor.JobMonitor`).

    Newest first, 100 a page, until every wanted request was seen.
    """

    transport: Transport
    root: str = ""  # the deployment's URL when not the client's own (one listing per deployment)

    async def statuses(self, wanted: Mapping[str, Any]) -> dict[str, JobStatus]:
        """The status of each wanted request (lower-case id -> its strategy) the listing shows."""
        paginator = view_paginator(
            self.transport,
            self.root + BATCH_STATISTICS_PATH,
            BatchStatisticsTask,
            operation="batch_statistics.list",
            params={"sort": "created:desc", "count": 100},
        )
        return await scan_listing(
            paginator.pages(),
            wanted,
            lambda _strategy, task: to_job_status(task, operation="batch_statistics.list"),
        )


class BatchStatisticsJob:
    """Job strategy of one Batch Statistical request: polls ``.../status``; cancel is ``stop``.

    It delivers: :meth:`outputs` and :meth:`results` read the per-feature
    objects the request writes (see the module docstring). ``deployment``:
    where the request lives (``None``: the client's own); every call about it goes there.
    """

    kind = KIND

    def __init__(
        self, ctx: ServiceContext[Any], request_id: str, deployment: Deployment | None = None
    ) -> None:
        self._ctx = ctx
        self.deployment = deployment
        self.job_id = request_id
        self.last: BatchStatisticsTask | None = None  # the last record read (where it writes)
        self.stores: Stores | None = None

    def __repr__(self) -> str:
        return f"BatchStatisticsJob({self.job_id!r})"

    async def poll(self) -> JobStatus:
        data = await self._ctx.transport.request_json(
            "GET",
            deployment_path(self.deployment, f"{BATCH_STATISTICS_PATH}/{self.job_id}/status"),
            operation="batch_statistics.status",
            type=BatchStatisticsStatus,
        )
        return to_job_status(data)

    async def _get(self) -> BatchStatisticsTask:
        path = deployment_path(self.deployment, f"{BATCH_STATISTICS_PATH}/{self.job_id}")
        body = await self._ctx.transport.request_json("GET", path, operation="batch_statistics.get")
        task = from_wire(body, BatchStatisticsTask, operation="batch_statistics.get", path=path)
        self.last = task
        return task

    async def result(self, final: JobStatus) -> BatchStatisticsTask:
        return await self._get()

    async def cancel(self) -> bool:
        try:
            await self._ctx.transport.request(
                "POST",
                deployment_path(self.deployment, f"{BATCH_STATISTICS_PATH}/{self.job_id}/stop"),
                operation="batch_statistics.stop",
                idempotent=True,  # stopping twice stops once
            )
        except (BadRequestError, ConflictError):
            return False  # it had already ended
        return True

    def resume_data(self) -> dict[str, Any]:
        return deployment_resume_data(self.deployment)

    def monitor_listing(self) -> BatchStatisticsListing:
        """The listing a :class:`~eoclient.monitor.JobMonitor` reads this request's status from."""
        root = self.deployment.root if self.deployment is not None else ""
        return BatchStatisticsListing(self._ctx.transport, root)

    # -- what it delivered (Job.outputs / results / download) --------------------------

    async def plan(self) -> StatisticsPlan:
        """Where this request writes, read from its record (one GET if none was read yet)."""
        return statistics_plan(self.last if self.last is not None else await self._get())

    async def outputs(
        self, job: Job[Any], *, grace: float | None, timeout: float | None
    ) -> AsyncGenerator[Output, None]:
        """Each feature's JSON object as it appears (``Output.feature`` = its ``<ID>`` or ``<IDENTIFIER>``).

        The number of features is not known: the iterator ends at the first
        listing after the end of the job that finds nothing new.
        """
        plan = await self.plan()
        stores = self.stores = self.stores or Stores(self._ctx)
        async with aclosing(
            follow(job, stores, (plan.layout,), plan.describe, grace=grace, timeout=timeout)
        ) as found:
            async for out in found:
                yield out

    async def results(
        self, job: Job[Any], *, grace: float | None, timeout: float | None
    ) -> AsyncGenerator[FeatureStatistics, None]:
        """Each feature's statistics, read and decoded as its object appears."""
        async with aclosing(self.outputs(job, grace=grace, timeout=timeout)) as found:
            async for out in found:
                yield await feature_statistics(out)


def _resume(ctx: ServiceContext[Any], job_id: str, data: Mapping[str, Any]) -> BatchStatisticsJob:
    return BatchStatisticsJob(
        ctx, uuid_id(job_id, field="resume_token", prefix=""), resumed_deployment(ctx.transport, data)
    )


register_job_kind(KIND, _resume, service="sentinelhub")


class BatchStatistics:
    """Batch Statistical requests as Jobs. Reached as ``sh.batch_statistics``.

    Ids are UUIDs (a :class:`uuid.UUID`, its text, or the request's Job) and
    are checked before anything is sent. The service refuses actions out of
    order (analysing twice, starting a running request) with
    :class:`~eoclient.errors.BadRequestError`.
    """

    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self._ctx = ctx
        self._claims = Claims()
        # Requests this client created on another deployment: calls by their id go there.
        self._homes: dict[str, Deployment] = {}

    def _path(self, ident: str, tail: str = "") -> str:
        return deployment_path(self._homes.get(ident), f"{BATCH_STATISTICS_PATH}/{ident}{tail}")

    def _job(
        self,
        request_id: str,
        status: BatchStatisticsStatus | None,
        poll: PollPolicy | None,
        deployment: Deployment | None = None,
    ) -> Job[Any]:
        initial = to_job_status(status) if status is not None else None
        return Job(
            BatchStatisticsJob(self._ctx, request_id, deployment or self._homes.get(request_id)),
            poll=poll or self._ctx.poll,
            initial_status=initial,
        )

    async def create(
        self,
        request: BatchStatisticsRequest | Mapping[str, Any],
        *,
        start: bool = False,
        poll: PollPolicy | None = None,
    ) -> Job[BatchStatisticsTask]:
        """Create a request (status CREATED) and return its Job; ``start=True`` also starts it.

        ``request`` is a :class:`~eoclient.sentinelhub.batch_statistics_models.BatchStatisticsRequest`
        or a dict as in the documentation. Required fields (``input.features``,
        ``input.data``, ``aggregation`` with ``timeRange``, ``aggregationInterval``
        and an evalscript, ``output``) and the Statistical API's checks of
        ``aggregation`` and ``calculations`` run before anything is sent
        (:class:`~eoclient.errors.ValidationError`). Bucket keys are secrets:
        never in logs, reprs or errors.

        A lost answer is looked up (see the module docstring); if ``start``
        fails, the error carries the created request's id (``exc.resource_id``
        and a note) so that it can be started or stopped later.

        Example::

            job = await sh.batch_statistics.create(request, start=True)
            task = await job
            print(task.status, task.cost_pu)
        """
        where = route_request(request, self._ctx.transport)
        _, wire = prepare_batch_statistics_request(request)
        created = await self._create(wire, where)
        job: Job[BatchStatisticsTask] = self._job(created.id, created, poll)
        if start:
            try:
                await self.start(created.id)
            except BaseException as exc:
                # The request exists; without its id the caller could neither retry nor clean up.
                note_created(
                    exc,
                    resource="batch statistical request",
                    resource_id=created.id,
                    hint=f"its start did not complete: sh.batch_statistics.start({created.id!r}) starts it",
                )
                raise
        return job

    async def _create(self, wire: dict[str, Any], deployment: Deployment | None) -> BatchStatisticsTask:
        transport, op, listing = self._ctx.transport, "batch_statistics.create", "batch_statistics.list"
        path = deployment_path(deployment, BATCH_STATISTICS_PATH)
        # Taken before sending: whatever the create made is newer than the fence.
        find = await fenced_finder(
            transport, path, wire, BatchStatisticsTask, operation=listing, body_field="request"
        )

        async def send() -> BatchStatisticsTask:
            body = await transport.request_json("POST", path, operation=op, json=wire)
            return from_wire(body, BatchStatisticsTask, operation=op, path=path)

        task = await create_or_find(
            send,
            find=find,
            identify=lambda task: task.id,
            operation=op,
            resource="batch statistical request",
            how_to_find=(
                "Look for a CREATED request with the same body in "
                "sh.batch_statistics.list(sort='created:desc') before creating it again"
            ),
            claims=self._claims,
            key=body_key(wire),
            retry=transport.retry,
        )
        if deployment is not None:
            self._homes[task.id] = deployment
        return task

    def job(
        self, request_id: Any, *, poll: PollPolicy | None = None, deployment: str | None = None
    ) -> Job[BatchStatisticsTask]:
        """Re-attach to a request by its id (nothing is sent until the Job polls).

        A request this client created on another deployment is followed there;
        ``deployment`` (its public URL) says where one created elsewhere lives.
        """
        where = resolve_deployment(self._ctx.transport, deployment, field="deployment")
        return self._job(_request_id(request_id), None, poll, where)

    def watch_many(self, jobs: Iterable[Job[Any] | Any], *, poll: PollPolicy | None = None) -> JobMonitor:
        """Follow many requests at once; ``async for job, status in ...`` yields each change.

        ``jobs``: Jobs or request ids (attached as :meth:`job` does). Statuses
        come from the listing, 100 a page, newest first; each Job's own
        ``await``/``watch()`` is fed from the rounds. See
        :class:`~eoclient.monitor.JobMonitor`.
        """
        handles = [job if isinstance(job, Job) else self.job(job) for job in jobs]
        return JobMonitor(handles, poll=poll or self._ctx.poll)

    async def get(self, request_id: Any) -> BatchStatisticsTask:
        """The whole request: status, cost, the request body, the last user action."""
        path = self._path(_request_id(request_id))
        body = await self._ctx.transport.request_json("GET", path, operation="batch_statistics.get")
        return from_wire(body, BatchStatisticsTask, operation="batch_statistics.get", path=path)

    async def status(self, request_id: Any) -> BatchStatisticsStatus:
        """The request's status (``status``, ``completionPercentage``, ``costPu``, ``error``...)."""
        path = self._path(_request_id(request_id), "/status")
        return await self._ctx.transport.request_json(  # type: ignore[no-any-return]
            "GET", path, operation="batch_statistics.status", type=BatchStatisticsStatus
        )

    async def _action(self, request_id: Any, action: str) -> None:
        ident = _request_id(request_id)
        path = self._path(ident)
        transport, op = self._ctx.transport, f"batch_statistics.{action}"

        # Not retried on 5xx: the service may have acted, and a repeated action is refused (400);
        # a lost answer is checked against the request's last user action instead.
        async def send() -> None:
            await transport.request("POST", f"{path}/{action}", operation=op)

        async def took_effect() -> bool:
            return (await self.get(ident)).user_action == action.upper()

        await act_or_check(
            send,
            took_effect=took_effect,
            operation=op,
            resource="batch statistical request",
            resource_id=ident,
            how_to_find=f"sh.batch_statistics.get({ident!r}) shows its userAction and status",
        )

    async def analyse(self, request_id: Any) -> None:
        """Analyse a CREATED request (ANALYSING, then ANALYSIS_DONE): checks features, estimates the cost."""
        await self._action(request_id, "analyse")

    async def start(self, request_id: Any) -> None:
        """Start processing (a CREATED request is analysed first; a STOPPED one resumes)."""
        await self._action(request_id, "start")

    async def stop(self, request_id: Any) -> None:
        """Stop a request (STOPPED, ``stoppedStatusReason`` USER_ACTION); ``job.cancel()`` does this."""
        path = self._path(_request_id(request_id), "/stop")
        await self._ctx.transport.request("POST", path, operation="batch_statistics.stop", idempotent=True)

    def list(
        self, *, sort: str | None = None, count: int | None = None, max_items: int | None = None
    ) -> Paginator[BatchStatisticsTask, ViewToken]:
        """Every request of the account, page by page (``viewtoken`` paging).

        ``sort``: ``created``, ``created:desc``, ``status`` or ``status:desc``;
        ``count``: page size (1..100); ``max_items``: stop after that many.

        Example::

            async for task in sh.batch_statistics.list(sort="created:desc", max_items=20):
                print(task.id, task.status)
        """
        if sort is not None and sort not in SORTS:
            raise ValidationError("sort", f"must be one of {', '.join(sorted(SORTS))}")
        return view_paginator(
            self._ctx.transport,
            BATCH_STATISTICS_PATH,
            BatchStatisticsTask,
            operation="batch_statistics.list",
            params={"sort": sort, "count": page_count(count)},
            max_items=max_items,
        )
