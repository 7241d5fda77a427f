"""Batch Process requests (v2 and legacy) driven by the one :class:`~eoclient.jobs.Job` handle.

A batch request moves CREATED → ANALYSING → ANALYSIS_DONE → PROCESSING →
DONE (or FAILED, STOPPED; the legacy API also has PARTIAL and CANCELED). The
service moves it on its own only after the user's ANALYSE or START; a job
made by ``run()`` therefore *drives* the request: when a poll sees ANALYSIS_DONE
and nobody started the request yet, the strategy's ``drive()`` hook POSTs START
and the job reads the request again (``start=True`` in the resume token, so a
resumed job keeps doing it). ``poll()`` itself only asks.

How statuses read as job states:

========================  =====================================================
CREATED                   PENDING (waiting for ANALYSE or START)
ANALYSING, PROCESSING     RUNNING (``progress`` = completion percentage / 100)
ANALYSIS_DONE             RUNNING; SUCCEEDED when the job was asked to stop
                          after the analysis (``run(..., start=False)``)
DONE                      SUCCEEDED (a DONE with an ``error`` text: some tiles
                          failed, said in ``message``)
PARTIAL (legacy)          SUCCEEDED with ``message`` naming the failed tiles;
                          FAILED when ``allow_partial=False``
FAILED                    FAILED (``error`` is the service's text)
STOPPED / CANCELED        CANCELLED; FAILED when the *service* stopped it
                          (``stoppedStatusReason`` OUT_OF_PU or UNHEALTHY)
========================  =====================================================

Answers lost on the way back (see :mod:`eoclient._outcome`):

* a create whose answer was lost (connection dropped after sending, read
  timeout, 500/502/503/504) is looked up in the listing: the one request
  newer than the newest listed just before the create and holding every
  field that was sent is returned as if the answer had arrived; otherwise
  :class:`~eoclient.errors.OutcomeUnknownError` lists the candidates (or
  says that none was found) and how to look;
* an action (analyse, start, stop/cancel, restartpartial) whose answer was
  lost is checked by reading the request: if its ``userAction`` (or, for
  restartpartial, its status) shows the action, it succeeded; if not, the
  original error is raised with a note that it can be sent again;
* ``run()`` never drops a request it created: when the ANALYSE or START that
  follows the create fails, the error carries the request's id
  (``exc.resource_id`` and a note saying how to continue it).
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Final, Generic, Protocol, TypeVar

import msgspec

from eoclient._context import ServiceContext
from eoclient._http.media import JSON
from eoclient._http.transport import Transport
from eoclient._models import from_json
from eoclient._outcome import Claims, act_or_check, create_or_find, note_created
from eoclient.errors import BadRequestError, ConflictError, UnsupportedOperationError, ValidationError
from eoclient.jobs import Job, JobState, JobStatus, PollPolicy, register_job_kind
from eoclient.monitor import JobMonitor, scan_listing
from eoclient.sentinelhub._lookup import body_key, fenced_finder
from eoclient.sentinelhub._paging import view_paginator
from eoclient.sentinelhub.batch_models import BatchRequest, BatchRequestHead
from eoclient.sentinelhub.batch_outputs import BatchPlan, plan_of
from eoclient.sentinelhub.batch_v1_models import BatchV1Request, BatchV1RequestHead
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
    "LEGACY",
    "V2",
    "BatchAPIBase",
    "BatchJobStrategy",
    "BatchListing",
    "Surface",
    "batch_job_status",
    "request_id",
]


class _Record(Protocol):
    """What the strategy reads of a v2 or legacy batch request."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def user_action(self) -> str | None: ...
    @property
    def progress(self) -> float | None: ...


R = TypeVar("R", bound=_Record)

_SERVICE_STOPS: Final = frozenset({"OUT_OF_PU", "UNHEALTHY"})
_ENDED: Final = frozenset(state for state in JobState if state.terminal)
_AFTER_ANALYSIS: Final = frozenset({"ANALYSIS_DONE", "PROCESSING", "DONE", "PARTIAL"})
UNTIL: Final = ("done", "analysis")


@dataclass(frozen=True, slots=True)
class Surface:
    """One batch API: its paths, the name of its stop action and how its answers decode."""

    kind: str  # job registry key
    base: str  # URL path of the request collection
    family: str  # prefix of operation names
    stop_action: str  # "stop" (v2) or "cancel" (legacy)
    decode: type[Any]
    body_field: str | None  # where a listed request shows what was submitted (None: at the top)
    accessor: str  # how users reach this API, for messages ("sh.batch")
    head: type[Any]  # the status fields of ``decode`` alone: what a status poll decodes
    head_decoder: msgspec.json.Decoder[Any] = dataclasses.field(init=False, repr=False, compare=False)
    get_operation: str = dataclasses.field(init=False, repr=False, compare=False)  # "batch.get"

    def __post_init__(self) -> None:
        object.__setattr__(self, "head_decoder", msgspec.json.Decoder(self.head))
        object.__setattr__(self, "get_operation", f"{self.family}.get")


_CANONICAL: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def request_id(value: Any, field: str = "request_id") -> str:
    """A batch request id (a UUID, its text, or a batch request model) as canonical text."""
    if type(value) is str and _CANONICAL.fullmatch(value):
        # Already canonical (what the service and str(UUID) write): as it is, without parsing it
        # into a UUID and formatting it back (each Job reads its id twice; thousands are made).
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    ident = getattr(value, "id", value)
    if not isinstance(ident, str):
        raise ValidationError(field, f"expected a batch request id (UUID), got {type(value).__name__}")
    try:
        return str(uuid.UUID(ident.strip()))
    except ValueError:
        raise ValidationError(field, f"not a UUID: {ident!r}") from None


def batch_job_status(
    record: _Record,
    *,
    until: str = "done",
    allow_partial: bool = True,
    stopped_reason: str | None = None,
) -> JobStatus:
    """How one observation of a batch request reads as a :class:`JobStatus` (see the module table)."""
    raw = record.status or "UNKNOWN"
    progress = record.progress
    error = record.error
    if raw == "FAILED":
        return JobStatus(JobState.FAILED, raw, progress=progress, error=error or "the batch request failed")
    if raw in ("STOPPED", "CANCELED"):
        if stopped_reason in _SERVICE_STOPS:
            return JobStatus(
                JobState.FAILED, raw, progress=progress, error=f"stopped by the service: {stopped_reason}"
            )
        return JobStatus(JobState.CANCELLED, raw, progress=progress, message=stopped_reason)
    if until == "analysis" and raw in _AFTER_ANALYSIS:
        return JobStatus(JobState.SUCCEEDED, raw, progress=progress, message="analysis done")
    if raw == "PARTIAL" or (raw == "DONE" and error):
        text = error or "some tiles failed"
        if not allow_partial:
            return JobStatus(
                JobState.FAILED, raw, progress=progress, error=f"finished with failed tiles: {text}"
            )
        return JobStatus(
            JobState.SUCCEEDED, raw, progress=progress, message=f"finished with failed tiles: {text}"
        )
    if raw == "DONE":
        return JobStatus(JobState.SUCCEEDED, raw, progress=1.0)
    if raw == "CREATED":
        return JobStatus(JobState.PENDING, raw, progress=progress, message="waiting for ANALYSE or START")
    if raw == "ANALYSING":
        return JobStatus(JobState.RUNNING, raw, progress=progress, message="analysing")
    if raw == "ANALYSIS_DONE":
        waiting = "waiting for START" if record.user_action != "START" else "starting"
        return JobStatus(JobState.RUNNING, raw, progress=progress, message=waiting)
    # PROCESSING, or a status newer than this client: keep polling.
    return JobStatus(JobState.RUNNING, raw, progress=progress)


LIST_PAGE: Final = 100  # the most a listing page holds


@dataclass(frozen=True, slots=True, eq=True)
class BatchListing:
    """A batch API's request listing read for many jobs at once (:class:`~eoclient.monitor.JobMonitor`).

    Newest first, 100 a page, until every wanted request was seen: jobs
    created lately are on the first page or two, whatever the account's
    history. Equal for the same client and API, so one read serves them all.
    """

    transport: Transport
    surface: Surface
    root: str = ""  # the deployment's URL when not the client's own (one listing per deployment)

    async def statuses(self, wanted: Mapping[str, Any]) -> dict[str, JobStatus]:
        """The status of each wanted request (lower-case id -> its strategy) the listing shows."""
        paginator = view_paginator(
            self.transport,
            self.root + self.surface.base,
            self.surface.decode,
            operation=f"{self.surface.family}.list",
            params={"sort": "created:desc", "count": LIST_PAGE},
        )

        def status_of(strategy: BatchJobStrategy[Any], record: Any) -> JobStatus:
            strategy.last = record  # what result() returns, and what drive() looks at
            return strategy.status_of(record)

        return await scan_listing(paginator.pages(), wanted, status_of)


class BatchJobStrategy(Generic[R]):
    """Job strategy for one batch request of either surface.

    ``start``: POST START once the analysis is done (the request is not yet
    started). ``until``: ``"done"`` waits for the end of processing,
    ``"analysis"`` for the end of the analysis. ``allow_partial``: whether a
    request that finished with failed tiles is a success (see
    :func:`batch_job_status`). ``deployment``: where the request lives
    (``None``: the client's own); every call about it goes there. The result
    is the last observed request.
    """

    def __init__(
        self,
        ctx: ServiceContext[Any],
        surface: Surface,
        job_id: str,
        *,
        start: bool = False,
        until: str = "done",
        allow_partial: bool = True,
        deployment: Deployment | None = None,
    ) -> None:
        if until not in UNTIL:
            raise ValidationError("until", f"must be one of {', '.join(UNTIL)}")
        self._ctx = ctx
        self.deployment = deployment
        self.surface = surface
        self.job_id = request_id(job_id)
        self.start = start
        self.until = until
        self.allow_partial = allow_partial
        self._status_path: str | None = None  # the request's URL path, once polled
        self._last: R | None = None
        # The last status answer (its body and path) while only its status fields are decoded:
        # :attr:`last` decodes the rest when first read. None: ``_last`` is the last observation.
        self._answer: tuple[bytes, str] | None = None
        # The status fields of the last observation (a poll's head, or the whole record).
        self._head: _Record | None = None
        self.stores: Stores | None = None

    @property
    def kind(self) -> str:
        return self.surface.kind

    @property
    def last(self) -> R | None:
        """The last observed request in full (``None`` before the first observation).

        A status poll decodes only the status fields of its answer; the rest is
        decoded from the same bytes when this is first read (no request is sent):
        an answer whose other fields do not decode raises
        :class:`~eoclient.errors.ResponseDecodeError` here, as the poll would
        have. A terminal status is always decoded in full by its poll.
        """
        answer = self._answer
        if answer is not None:
            record: R = from_json(
                answer[0], self.surface.decode, operation=self.surface.get_operation, path=answer[1]
            )
            self._answer = None
            self._last = record
        return self._last

    @last.setter
    def last(self, record: R | None) -> None:
        self._last = record
        self._head = record
        self._answer = None

    @property
    def _path(self) -> str:
        return deployment_path(self.deployment, f"{self.surface.base}/{self.job_id}")

    async def _get(self) -> R:
        record: R = await self._ctx.transport.request_json(
            "GET", self._path, operation=self.surface.get_operation, type=self.surface.decode
        )
        return record

    async def _action(self, action: str) -> None:
        await send_action(self._ctx.transport, self.surface, self.job_id, action, self.deployment)

    def status_of(self, record: _Record) -> JobStatus:
        """How ``record`` reads as a job status for this job's goal."""
        return batch_job_status(
            record,
            until=self.until,
            allow_partial=self.allow_partial,
            stopped_reason=getattr(record, "stopped_status_reason", None),
        )

    def poll(self) -> Coroutine[Any, Any, JobStatus]:
        """GET the request (only asks: starting it is :meth:`drive`); a coroutine: await it.

        Only the status fields are decoded (thousands of jobs poll); :attr:`last`
        decodes the rest of the answer when read. A terminal answer is decoded in
        full at once: it is what the job returns, and one the record refuses fails
        this poll, as every answer's did when each poll decoded the whole record.
        """
        path = self._status_path
        if path is None:
            path = self._status_path = self._path
        # Not a coroutine of its own: the transport's request is the poll's one coroutine, and the
        # status is read from the answer in it (_polled); a waiting job resumes one level less.
        return self._ctx.transport.request_with(
            _polled, self, "GET", path, operation=self.surface.get_operation, expect=JSON
        )

    @property
    def may_drive(self) -> bool:
        """Whether :meth:`drive` may act: only for a job that starts the request and waits for its end."""
        return self.start and self.until == "done"

    async def drive(self, status: JobStatus) -> bool:
        """POST START once the analysis is done, if this job starts the request; ``True`` if it did.

        The Job calls it after each poll and polls again at once when it returns ``True``.
        """
        record = self._head  # the status fields are enough: the record is decoded only if it starts
        if not (
            self.start
            and self.until == "done"
            and record is not None
            and record.status == "ANALYSIS_DONE"
            and record.user_action != "START"
        ):
            return False
        try:
            await self._action("start")
        except (BadRequestError, ConflictError):
            # Someone else may have started it meanwhile; a GET tells.
            record = await self._get()
            self.last = record
            if record.status == "ANALYSIS_DONE" and record.user_action != "START":
                raise
        return True

    async def result(self, final: JobStatus) -> R:
        last = self.last
        if last is not None and last.status == final.raw:
            return last
        record = await self._get()
        self.last = record
        return record

    async def cancel(self) -> bool:
        try:
            await self._action(self.surface.stop_action)
        except (BadRequestError, ConflictError):
            return False  # it had already ended (or had not been started)
        return True

    def resume_data(self) -> dict[str, Any]:
        data = {"start": self.start, "until": self.until, "allowPartial": self.allow_partial}
        return {**data, **deployment_resume_data(self.deployment)}

    def monitor_listing(self) -> BatchListing:
        """The listing a :class:`~eoclient.monitor.JobMonitor` reads this request's status from."""
        root = self.deployment.root if self.deployment is not None else ""
        return BatchListing(self._ctx.transport, self.surface, root)

    # -- what it delivered (Job.outputs / results / download) --------------------------

    async def plan(self) -> BatchPlan:
        """Where this request writes (read from its record; one GET if none was seen yet)."""
        record = self.last
        if record is None:
            record = self.last = await self._get()
        plan = plan_of(record)
        if plan is None:
            where = f"{self.surface.accessor} request {self.job_id}"
            raise UnsupportedOperationError(f"{where} delivers to no s3:// location this client can read")
        return plan

    async def outputs(
        self, job: Job[Any], *, grace: float | None, timeout: float | None
    ) -> AsyncGenerator[Output, None]:
        """Each tile's delivered files (or the Zarr group's arrays and chunks) as they appear."""
        plan = await self.plan()
        stores = self.stores or Stores(self._ctx)
        self.stores = stores
        ticks = None
        if self.surface is LEGACY:  # no progress while PROCESSING: the store is listed at each poll
            from eoclient.sentinelhub.batch_v1_outputs import processing_ticks  # noqa: PLC0415

            ticks = processing_ticks(job, self._ctx.poll, timeout)
        async with aclosing(
            follow(
                job,
                stores,
                plan.layouts,
                plan.describe,
                missing=plan.missing,
                grace=grace,
                timeout=timeout,
                ticks=ticks,
            )
        ) as found:
            async for out in found:
                yield out

    def results(
        self, job: Job[Any], *, grace: float | None, timeout: float | None
    ) -> AsyncGenerator[Any, None]:
        """The delivered outputs (see :meth:`outputs`); legacy: each tile with its outputs (TileOutputs)."""
        if self.surface is LEGACY:
            from eoclient.sentinelhub.batch_v1_outputs import tile_results  # noqa: PLC0415 - it imports batch_v1

            return tile_results(self, job, grace=grace, timeout=timeout)
        return self.outputs(job, grace=grace, timeout=timeout)


def _polled(headers: Mapping[str, str], body: bytes, path: str, strategy: BatchJobStrategy[Any]) -> JobStatus:
    """:meth:`BatchJobStrategy.poll`'s status, read from the answer's body (``path``: for errors)."""
    surface = strategy.surface
    try:
        head: _Record = surface.head_decoder.decode(body)
    except msgspec.MsgspecError:
        # Refused: from_json raises it as it raises every answer's (the same typed error and text).
        head = from_json(body, surface.head, operation=surface.get_operation, path=path)
    # strategy.status_of(head), inlined: one call less on every poll.
    status = batch_job_status(
        head,
        until=strategy.until,
        allow_partial=strategy.allow_partial,
        stopped_reason=getattr(head, "stopped_status_reason", None),
    )
    if status.state in _ENDED:  # not the property: a Python call, on every poll
        strategy.last = from_json(body, surface.decode, operation=surface.get_operation, path=path)
    else:
        strategy._head = head
        strategy._answer = (body, path)
    return status


_ACTIONS_SHOWN: Final = {"analyse": "ANALYSE", "start": "START", "stop": "STOP", "cancel": "CANCEL"}


async def send_action(
    transport: Transport, surface: Surface, ident: str, action: str, deployment: Deployment | None = None
) -> None:
    """POST an action (on ``deployment``); a lost answer is checked against the request's state first."""
    path = deployment_path(deployment, f"{surface.base}/{ident}")

    async def send() -> None:
        await transport.request("POST", f"{path}/{action}", operation=f"{surface.family}.{action}")

    async def took_effect() -> bool:
        record = await transport.request_json(
            "GET", path, operation=f"{surface.family}.get", type=surface.decode
        )
        if action == "restartpartial":
            return bool(record.status != "PARTIAL")
        # userAction is the last action the service accepted; a repeated one is refused anyway.
        return bool(record.user_action == _ACTIONS_SHOWN[action])

    await act_or_check(
        send,
        took_effect=took_effect,
        operation=f"{surface.family}.{action}",
        resource="batch request",
        resource_id=ident,
        how_to_find=f"{surface.accessor}.get({ident!r}) shows its userAction and status",
    )


def _how_to_find(surface: Surface, wire: dict[str, Any]) -> str:
    description = wire.get("description")
    which = f"description {description!r}" if isinstance(description, str) and description else "same body"
    return (
        f"Look for a CREATED request with this {which} in "
        f"{surface.accessor}.requests(sort='created:desc') before creating it again; "
        f"{surface.accessor}.run(id) continues it"
    )


def _factory(surface_name: str) -> Any:
    def resume(ctx: ServiceContext[Any], job_id: str, data: Mapping[str, Any]) -> BatchJobStrategy[Any]:
        surface = V2 if surface_name == "v2" else LEGACY
        until = data.get("until", "done")
        if until not in UNTIL:
            raise ValidationError("resume_token", f"unknown batch goal {until!r}")
        return BatchJobStrategy(
            ctx,
            surface,
            job_id,
            start=bool(data.get("start", False)),
            until=until,
            allow_partial=bool(data.get("allowPartial", True)),
            deployment=resumed_deployment(ctx.transport, data),
        )

    return resume


V2: Final[Surface] = Surface(
    "sentinelhub.batch",
    "/api/v2/batch/process",
    "batch",
    "stop",
    BatchRequest,
    "request",
    "sh.batch",
    BatchRequestHead,
)
"""Batch Process API v2 (``/api/v2/batch/process``)."""
LEGACY: Final[Surface] = Surface(
    "sentinelhub.batch_v1",
    "/api/v1/batch/process",
    "batch_v1",
    "cancel",
    BatchV1Request,
    None,
    "sh.batch.v1",
    BatchV1RequestHead,
)
"""The legacy Batch Process API (``/api/v1/batch/process``)."""

register_job_kind(V2.kind, _factory("v2"), service="sentinelhub")
register_job_kind(LEGACY.kind, _factory("v1"), service="sentinelhub")


class BatchAPIBase(Generic[R]):
    """What the v2 and the legacy batch clients share: paths, actions, and the Job flow."""

    _surface: Surface

    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self._ctx = ctx
        self._claims = Claims()
        # Requests this client created on another deployment: calls by their id go there.
        self._homes: dict[str, Deployment] = {}

    def _route(self, request: Any) -> Deployment | None:
        """Where a batch request (model or dict) goes: where its ``processRequest``'s collections live."""
        inner = (
            request.get("processRequest")
            if isinstance(request, Mapping)
            else getattr(request, "process_request", None)
        )
        return route_request(inner, self._ctx.transport, prefix="processRequest.")

    def _home(self, request: Any) -> Deployment | None:
        return self._homes.get(request_id(request))

    def _path(self, request: Any, action: str | None = None) -> str:
        path = deployment_path(self._home(request), f"{self._surface.base}/{request_id(request)}")
        return f"{path}/{action}" if action else path

    async def _fetch(self, request: Any) -> R:
        record: R = await self._ctx.transport.request_json(
            "GET", self._path(request), operation=f"{self._surface.family}.get", type=self._surface.decode
        )
        return record

    async def _post(self, request: Any, action: str) -> None:
        ident = request_id(request)
        await send_action(self._ctx.transport, self._surface, ident, action, self._homes.get(ident))

    async def _create(self, wire: dict[str, Any], deployment: Deployment | None = None) -> R:
        """POST a checked request body (to ``deployment``); a lost answer is looked up (module docstring)."""
        surface, transport = self._surface, self._ctx.transport
        operation, listing = f"{surface.family}.create", f"{surface.family}.list"
        base = deployment_path(deployment, surface.base)
        # Taken before sending: whatever the create made is newer than the fence.
        find = await fenced_finder(
            transport, base, wire, surface.decode, operation=listing, body_field=surface.body_field
        )

        async def send() -> R:
            record: R = await transport.request_json(
                "POST", base, operation=operation, json=wire, type=surface.decode
            )
            return record

        record: R = await create_or_find(
            send,
            find=find,
            identify=lambda record: record.id,
            operation=operation,
            resource="batch request",
            how_to_find=_how_to_find(surface, wire),
            claims=self._claims,
            key=body_key(wire),
            retry=transport.retry,
        )
        if deployment is not None:
            self._homes[record.id] = deployment
        return record

    async def _run(
        self,
        request_or_id: Any,
        create: Callable[[Any], Awaitable[R]],
        *,
        analyse_first: bool,
        start: bool,
        allow_partial: bool,
    ) -> Job[R]:
        if not start and not analyse_first:
            raise ValidationError("start", "start=False waits for the analysis: it needs analyse_first=True")
        created = not isinstance(request_or_id, (str, uuid.UUID, self._surface.decode))
        record = await (create(request_or_id) if created else self._fetch(request_or_id))
        acted = False
        if record.status == "CREATED":
            action = "analyse" if analyse_first else "start"
            try:
                await self._post(record.id, action)
            except BaseException as exc:
                if created:
                    note_created(
                        exc,
                        resource="batch request",
                        resource_id=record.id,
                        hint=(
                            f"its {action} did not complete: "
                            f"{self._surface.accessor}.run({record.id!r}) continues it"
                        ),
                    )
                raise
            acted = True
        elif record.status == "STOPPED" and start:
            await self._post(record.id, "start")  # v2: a stopped request resumes
            acted = True
        strategy: BatchJobStrategy[R] = BatchJobStrategy(
            self._ctx,
            self._surface,
            record.id,
            start=start,
            until="done" if start else "analysis",
            allow_partial=allow_partial,
            deployment=self._home(record.id),
        )
        initial = None
        if not acted:
            strategy.last = record
            initial = strategy.status_of(record)
        return Job(strategy, poll=self._ctx.poll, initial_status=initial)

    def watch_many(self, jobs: Iterable[Job[Any] | Any], *, poll: PollPolicy | None = None) -> JobMonitor:
        """Follow many requests at once; ``async for job, status in ...`` yields each change.

        ``jobs``: Jobs (of this API, or any other family: they are read their
        own way) or request ids (attached as :meth:`job` does). The requests'
        statuses come from the listing, 100 a page, newest first (a request
        the listing does not show is read on its own), one round per ``poll``
        step (default: the client's); each Job's own ``await``/``watch()`` is
        fed from the rounds. See :class:`~eoclient.monitor.JobMonitor`
        (``monitor.errors``: the jobs that ended in an error of their own).

        Example::

            jobs = [await sh.batch.run(spec) for spec in specs]
            async for job, status in sh.batch.watch_many(jobs):
                print(job.id, status.raw, status.progress)
        """
        handles = [
            job if isinstance(job, Job) else self._attach(job, start=False, until="done", allow_partial=True)
            for job in jobs
        ]
        return JobMonitor(handles, poll=poll or self._ctx.poll)

    def _attach(
        self,
        request: Any,
        *,
        start: bool,
        until: str,
        allow_partial: bool,
        deployment: str | None = None,
    ) -> Job[R]:
        ident = request_id(request)
        home = self._homes.get(ident)
        if deployment is not None:
            home = resolve_deployment(self._ctx.transport, deployment, field="deployment")
        strategy: BatchJobStrategy[R] = BatchJobStrategy(
            self._ctx,
            self._surface,
            ident,
            start=start,
            until=until,
            allow_partial=allow_partial,
            deployment=home,
        )
        return Job(strategy, poll=self._ctx.poll)
