"""The Async Process API: a Process request rendered in the background and delivered to object storage.

Reached as ``sh.async_process``; every request is a :class:`~eoclient.jobs.Job`::

    job = await sh.async_process.create(request, delivery=ObjectStorage.from_s3(
        "s3://my-bucket/async", access_key=KEY, secret_access_key=SECRET))
    delivery = await job            # AsyncProcessDelivery, read from the bucket
    for out in delivery.objects:    # what is there: Output(key=".../<id>/default.tif", size=...)
        print(out.output, out.url, out.size)
    await job.download("images/")   # fetched: atomic, resumed, skipped when already there

How the end of a request is known
---------------------------------
The API has two operations: create (answers ``{"id", "status": "RUNNING"}``)
and a status call that answers ``RUNNING`` while the request runs and **404
once it has finished, whether it succeeded or failed** (OpenAPI
``getStatusAsyncRequest``). There is no terminal status and no result
endpoint; the outcome exists only in the bucket. So the client reads it:

* after the 404 the job lists the store (with the client's ``storage=``
  settings, else the ``AWS_*`` environment; the ``s3`` extra) for the
  outputs the request must write — one per response, their keys known
  exactly. All there: the job ends SUCCEEDED (raw ``FINISHED``) and
  ``await job`` returns the :class:`AsyncProcessDelivery` with the objects
  found (``verified=True``). Not yet: the job stays RUNNING (raw
  ``FINISHED``, the message says how many are missing) and looks again
  every half second — objects may appear late — for up to ``grace``
  seconds (default 60) after the 404;
* outputs still missing then: the service failed the request (it writes
  nothing when it fails). The job ends FAILED and ``await job`` raises
  :class:`~eoclient.errors.JobFailedError` naming the missing objects. It is
  not :class:`~eoclient.errors.MissingOutputsError` because here the missing
  outputs *are* the only sign of the failure, and ``job.outputs()`` (which
  :func:`~eoclient.storage.outputs.follow` ends with the job's own error)
  raises the same JobFailedError: both ways of waiting agree;
* ``read=False`` is for users who cannot read the bucket (or deliver to
  ``gs://``, which is refused otherwise, before anything is sent): the 404
  then ends the job SUCCEEDED with ``verified=False`` and no ``objects``,
  as the API says no more. ``verify=`` replaces the reading with the user's
  own check: an async callable given the delivery that returns ``True`` if
  the outputs are there; ``False`` ends the job FAILED. Without the ``s3``
  extra, reading is a :class:`~eoclient.errors.ConfigurationError` raised
  before anything is sent;
* a job re-attached by id (``sh.async_process.job(id)``, resume tokens) also
  reads a 404 as *finished*: the API cannot tell a finished request from an
  unknown id, which is why ids are checked to be UUIDs before anything is
  sent. Given its delivery URL and responses, it reads the store as above
  (and an unknown id ends FAILED: nothing was delivered); without them it
  cannot;
* the service offers no way to cancel a request: ``job.cancel()`` stops
  polling and returns ``False``.

``job.outputs()`` / ``job.results()`` yield each delivered object
(:class:`~eoclient.storage.outputs.Output`, ``output`` = the response
identifier) once the request has finished; ``job.download(dest)`` fetches
them. For a job that does not read at its end they wait up to their own
``grace`` for the expected keys and raise
:class:`~eoclient.errors.MissingOutputsError`, as every family does.

A create whose answer is lost (connection dropped after sending, read
timeout, 500/502/503/504) is not sent again — a second request would be
processed, and paid, twice — and cannot be looked up: the API lists no
requests. :class:`~eoclient.errors.OutcomeUnknownError` says where it would
show: a new ``<request id>/`` folder under the delivery URL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import aclosing
from typing import Any, Final

import anyio

from eoclient._context import ServiceContext
from eoclient._http import media
from eoclient._models import Model, from_wire
from eoclient._outcome import create_or_find
from eoclient.errors import ResponseDecodeError, UnsupportedOperationError, ValidationError
from eoclient.jobs import Job, JobState, JobStatus, PollPolicy, register_job_kind
from eoclient.monitor import JobMonitor
from eoclient.sentinelhub.async_process_models import (
    AsyncProcessDelivery,
    AsyncProcessRequest,
    output_locations,
    prepare_async_request,
)
from eoclient.sentinelhub.byoc_models import uuid_id
from eoclient.sentinelhub.data_collections import (
    Deployment,
    deployment_path,
    deployment_resume_data,
    resolve_deployment,
    resumed_deployment,
    route_request,
)
from eoclient.sentinelhub.deliveries import Stores, readable
from eoclient.storage.outputs import DEFAULT_GRACE, Layout, Output, Sweep, follow, output_of
from eoclient.storage.store import ObjectStore, StoredObject

__all__ = ["ASYNC_PROCESS_PATH", "KIND", "AsyncProcess", "AsyncProcessJob", "Verify"]

ASYNC_PROCESS_PATH: Final = "/api/v1/async/process"
KIND: Final = "sentinelhub.async_process"
FINISHED: Final = "FINISHED"
"""``JobStatus.raw`` of a request the service no longer reports (status 404): it has finished."""
RECHECK: Final = 0.5
"""Seconds between two looks at the store while a finished request's outputs are still missing."""

_PROBE_ID: Final = "00000000-0000-0000-0000-000000000000"  # stands for the id before create answers

Verify = Callable[[AsyncProcessDelivery], Awaitable[bool]]
"""``verify(delivery) -> bool``: are the outputs in the bucket? (the user's own storage check)."""


class _Status(Model):
    status: str
    id: str | None = None


def _running(raw: str) -> JobStatus:
    return JobStatus(state=JobState.RUNNING, raw=raw, message="running")


def _grace(value: float | None) -> float:
    grace = DEFAULT_GRACE if value is None else value
    if isinstance(grace, bool) or not isinstance(grace, int | float) or not 0 <= grace < float("inf"):
        raise ValidationError("grace", f"must be a number of seconds >= 0, got {value!r}")
    return float(grace)


class AsyncProcessJob:
    """Job strategy of one Async Process request (see the module docstring for how it ends).

    ``read``: look for the outputs in the store once the request has finished
    (ignored with a ``verify`` hook, impossible without the delivery URL and
    responses). ``grace``: seconds the outputs may take to appear after that.
    ``deployment``: where the request was sent (``None``: the client's own);
    its status is asked there.
    The store is opened here, so that a missing ``s3`` extra is a
    :class:`~eoclient.errors.ConfigurationError` before anything is sent.
    """

    kind = KIND

    def __init__(
        self,
        ctx: ServiceContext[Any],
        request_id: str,
        *,
        url: str | None = None,
        responses: Sequence[tuple[str, str]] = (),
        verify: Verify | None = None,
        read: bool = True,
        grace: float | None = None,
        stores: Stores | None = None,
        deployment: Deployment | None = None,
    ) -> None:
        self._ctx = ctx
        self.deployment = deployment
        self.job_id = request_id
        self.url = url
        self.responses = [(str(i), str(f)) for i, f in responses]
        self._verify = verify
        self.read = bool(read)
        self.grace = _grace(grace)
        self._grace_given = grace is not None
        self.stores = stores if stores is not None else Stores(ctx)
        self.locations = output_locations(request_id, url, self.responses)
        self._delivery: AsyncProcessDelivery | None = None
        self._finished_at: float | None = None  # when the status call first answered 404
        if self.reads:
            try:
                layouts = self._layouts()
            except UnsupportedOperationError as exc:  # gs://: say how to go without reading
                raise UnsupportedOperationError(
                    f"{exc.message}; pass read=False to follow it without reading its outputs"
                ) from None
            for layout in layouts.values():
                self.stores(layout.bucket)  # ConfigurationError now, without the s3 extra

    def __repr__(self) -> str:
        return f"AsyncProcessJob({self.job_id!r}, url={self.url!r})"

    @property
    def reads(self) -> bool:
        """Whether the end of the job reads the store (read on, no verify hook, keys known)."""
        return self.read and self._verify is None and bool(self.locations)

    def _path(self) -> str:
        return deployment_path(self.deployment, f"{ASYNC_PROCESS_PATH}/{self.job_id}")

    def _layouts(self) -> dict[str, Layout]:
        """One layout per expected output (its exact key), by response identifier."""
        what = (
            "the Async Process request"
            if self.job_id == _PROBE_ID
            else f"Async Process request {self.job_id}"
        )
        readable(self.url, what)
        return {ident: Layout(readable(url, what)) for ident, url in self.locations.items()}

    async def poll(self) -> JobStatus:
        if self._finished_at is None:
            resp = await self._ctx.transport.request(
                "GET", self._path(), operation="async_process.status", ok={404: True}, expect=media.JSON
            )
            if resp.status != 404:
                data = from_wire(resp.json(), _Status, operation="async_process.status", path=resp.path)
                return _running(data.status)
            # 404: the request has finished (succeeded or failed: the API does not say which).
            self._finished_at = anyio.current_time()
        return await self._finished()

    async def _finished(self) -> JobStatus:
        delivery = AsyncProcessDelivery(request_id=self.job_id, url=self.url, outputs=self.locations)
        if self._verify is not None:
            if not await self._verify(delivery):
                return JobStatus(
                    state=JobState.FAILED,
                    raw=FINISHED,
                    error=f"the request finished but its outputs are not at {self.url or 'the delivery URL'}",
                )
            self._delivery = dataclasses.replace(delivery, verified=True)
            return JobStatus(state=JobState.SUCCEEDED, raw=FINISHED, message="finished; outputs verified")
        if not self.reads:
            self._delivery = delivery
            return JobStatus(
                state=JobState.SUCCEEDED,
                raw=FINISHED,
                message="finished; the API does not say how: the outputs should be at the delivery URL",
            )
        found = await self._look()
        missing = [url for ident, url in self.locations.items() if ident not in found]
        if not missing:
            objects = tuple(found[ident] for ident in self.locations)
            self._delivery = dataclasses.replace(delivery, objects=objects, verified=True)
            return JobStatus(
                state=JobState.SUCCEEDED,
                raw=FINISHED,
                message=f"finished; {len(objects)} output(s) in the store",
            )
        assert self._finished_at is not None
        waited = anyio.current_time() - self._finished_at
        if waited >= self.grace:
            return JobStatus(
                state=JobState.FAILED,
                raw=FINISHED,
                error=(
                    f"the request finished, but {len(missing)} of its outputs did not appear in the "
                    f"store within {self.grace:g} s: {', '.join(missing)}"
                ),
            )
        return JobStatus(
            state=JobState.RUNNING,
            raw=FINISHED,
            message=f"finished; waiting for {len(missing)} of its outputs to appear in the store",
            retry_after=min(RECHECK, self.grace - waited),
        )

    async def _look(self) -> dict[str, Output]:
        """The expected outputs in the store now, by response identifier."""
        sweep = Sweep(self.stores, list(self._layouts().values()), self._describe)
        return {out.output: out async for out in sweep() if out.output is not None}

    def _describe(
        self, store: ObjectStore, obj: StoredObject, fields: Mapping[str, str], path: str
    ) -> Output | None:
        for ident, url in self.locations.items():
            if url == f"s3://{store.bucket}/{obj.key}":
                return output_of(store, obj, fields, path, output=ident)
        return None

    async def result(self, final: JobStatus) -> AsyncProcessDelivery:
        if self._delivery is None:  # cannot happen through Job, which polls before it ends
            self._delivery = AsyncProcessDelivery(
                request_id=self.job_id, url=self.url, outputs=self.locations
            )
        return self._delivery

    async def cancel(self) -> bool:
        return False  # the API has no way to stop a request; the handle just stops polling

    def resume_data(self) -> dict[str, Any]:
        # The delivery URL and the response formats: never the bucket credentials.
        data: dict[str, Any] = {
            "url": self.url,
            "responses": [list(r) for r in self.responses],
            "read": self.read,
        }
        if self._grace_given:
            data["grace"] = self.grace
        data.update(deployment_resume_data(self.deployment))
        return data

    # -- what it delivered (Job.outputs / results / download) --------------------------

    async def outputs(
        self, job: Job[Any], *, grace: float | None, timeout: float | None
    ) -> AsyncGenerator[Output, None]:
        """Each delivered object (one per response) once the request has finished.

        A job that reads at its end has already waited for them (and failed
        naming them); otherwise they are waited for up to ``grace``
        (:class:`~eoclient.errors.MissingOutputsError`).
        """
        layouts = self._layouts()
        if not layouts:
            raise UnsupportedOperationError(
                f"Async Process request {self.job_id} was re-attached without its responses: "
                "the keys of its outputs are not known"
            )
        expected = [layout.prefix for layout in layouts.values()]  # exact keys: no placeholder left

        def missing(seen: Sequence[Output]) -> list[str]:
            status = job.status
            if status is not None and status.state is JobState.FAILED:
                return []  # the end of the job already waited, and its error names them
            have = {out.key for out in seen}
            return [key for key in expected if key not in have]

        async with aclosing(
            follow(
                job,
                self.stores,
                list(layouts.values()),
                self._describe,
                missing=missing,
                grace=grace,
                timeout=timeout,
            )
        ) as found:
            async for out in found:
                yield out

    def results(
        self, job: Job[Any], *, grace: float | None, timeout: float | None
    ) -> AsyncGenerator[Any, None]:
        """The delivered outputs (see :meth:`outputs`)."""
        return self.outputs(job, grace=grace, timeout=timeout)


def _resume(ctx: ServiceContext[Any], job_id: str, data: Mapping[str, Any]) -> AsyncProcessJob:
    url = data.get("url")
    raw = data.get("responses") or []
    # Tokens written before the store was read have no "read": read when it is an s3:// location.
    read = data.get("read", isinstance(url, str) and url.startswith("s3://"))
    grace = data.get("grace")
    if (
        (url is not None and not isinstance(url, str))
        or not isinstance(raw, list)
        or not isinstance(read, bool)
        or (grace is not None and (isinstance(grace, bool) or not isinstance(grace, int | float)))
    ):
        raise ValidationError("resume_token", "malformed Async Process data")
    responses: list[tuple[str, str]] = []
    for item in raw:
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            raise ValidationError("resume_token", "malformed Async Process responses")
        responses.append((item[0], item[1]))
    return AsyncProcessJob(
        ctx,
        uuid_id(job_id, field="resume_token", prefix=""),
        url=url,
        responses=responses,
        read=read,
        grace=grace,
        deployment=resumed_deployment(ctx.transport, data),
    )


register_job_kind(KIND, _resume, service="sentinelhub")


class AsyncProcess:
    """Async Process API requests as Jobs. Reached as ``sh.async_process``.

    Example::

        job = await sh.async_process.create(request, delivery="s3://my-bucket/async")
        async for status in job.watch():
            print(status.raw)            # RUNNING, then FINISHED
        delivery = await job             # delivery.objects: what the store holds
        token = job.resume_token         # re-attach elsewhere: sh.resume_job(token)
    """

    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self._ctx = ctx

    async def create(
        self,
        request: AsyncProcessRequest | Mapping[str, Any],
        *,
        delivery: Any = None,
        verify: Verify | None = None,
        read: bool = True,
        grace: float | None = None,
        poll: PollPolicy | None = None,
    ) -> Job[AsyncProcessDelivery]:
        """Submit a request; returns its Job (status RUNNING).

        ``request`` is an :class:`~eoclient.sentinelhub.async_process_models.AsyncProcessRequest`,
        a Process API request model, or a dict as in the documentation.
        ``delivery`` (an :class:`~eoclient.sentinelhub.storage.ObjectStorage`,
        its dict, or an ``s3://`` URL) sets ``output.delivery``; one of them
        is required. The request is checked like a Process request (sizes up
        to 10000 pixels) plus the delivery before anything is sent
        (:class:`~eoclient.errors.ValidationError`); bucket keys are secrets
        and never appear in logs, reprs or errors.

        ``await job`` reads the outputs from the store once the request has
        finished, waiting up to ``grace`` seconds (default 60) for them;
        ``read=False`` does not (for a bucket this client cannot read),
        ``verify`` replaces the reading with the user's own check: see the
        module docstring. Reading needs the ``s3`` extra and an ``s3://``
        delivery: without them :class:`~eoclient.errors.ConfigurationError`
        or :class:`~eoclient.errors.UnsupportedOperationError` is raised
        before anything is sent. The service answers 429 when too many
        requests of the account run at once (retried as its ``Retry-After``
        says, then :class:`~eoclient.errors.RateLimitError`). A lost answer
        raises :class:`~eoclient.errors.OutcomeUnknownError` (see the module docstring).
        """
        where = route_request(request, self._ctx.transport)
        target = deployment_path(where, ASYNC_PROCESS_PATH)
        model, wire = prepare_async_request(request, delivery)
        assert model.output is not None and model.output.delivery is not None
        url, responses = model.output.delivery.url, model.responses
        # Before sending: what the job will read must be readable (the request id only names a folder).
        stores = Stores(self._ctx)
        AsyncProcessJob(
            self._ctx,
            _PROBE_ID,
            url=url,
            responses=responses,
            verify=verify,
            read=read,
            grace=grace,
            stores=stores,
        )
        op = "async_process.create"

        async def send() -> _Status:
            data: _Status = await self._ctx.transport.request_json(
                "POST", target, operation=op, json=wire, type=_Status
            )
            if not data.id:
                raise ResponseDecodeError(
                    "the answer has no request id", operation=op, path=ASYNC_PROCESS_PATH
                )
            return data

        data = await create_or_find(
            send,
            find=None,  # the API lists no requests
            identify=lambda status: status.id or "",
            operation=op,
            resource="Async Process request",
            how_to_find=(
                f"The API lists no requests: a new <request id>/ folder under "
                f"{model.output.delivery.url} shows it ran; check there before sending it again"
            ),
        )
        assert data.id is not None
        strategy = AsyncProcessJob(
            self._ctx,
            data.id,
            url=url,
            responses=responses,
            verify=verify,
            read=read,
            grace=grace,
            stores=stores,
            deployment=where,
        )
        return Job(strategy, poll=poll or self._ctx.poll, initial_status=_running(data.status))

    def job(
        self,
        request_id: Any,
        *,
        url: str | None = None,
        responses: Sequence[tuple[str, str]] = (),
        verify: Verify | None = None,
        read: bool = True,
        grace: float | None = None,
        poll: PollPolicy | None = None,
        deployment: str | None = None,
    ) -> Job[AsyncProcessDelivery]:
        """Re-attach to a request by its id (a UUID; nothing is sent until the Job polls).

        ``url`` (the delivery URL) and ``responses`` (``(identifier, format
        type)`` pairs) name the outputs: with them the end of the job reads
        the store as :meth:`create`'s does (``read``, ``grace``, ``verify``);
        without them it cannot, and a 404 means the request has finished, or
        never existed: the API cannot tell. ``deployment``: the public URL of
        the deployment it was sent to (``DataCollection.LANDSAT_OT_L2.service_url``),
        when not this client's own.
        """
        rid = uuid_id(request_id, field="request_id", prefix="")
        where = resolve_deployment(self._ctx.transport, deployment, field="deployment")
        strategy = AsyncProcessJob(
            self._ctx,
            rid,
            url=url,
            responses=responses,
            verify=verify,
            read=read,
            grace=grace,
            deployment=where,
        )
        return Job(strategy, poll=poll or self._ctx.poll)

    def watch_many(
        self, jobs: Iterable[Job[Any]], *, poll: PollPolicy | None = None, concurrency: int = 16
    ) -> JobMonitor:
        """Follow many requests at once; ``async for job, status in ...`` yields each change.

        The API lists no requests: each round reads every running request's
        status on its own (``concurrency`` at a time), on one cadence; each
        Job's own ``await``/``watch()`` is fed from the rounds. See
        :class:`~eoclient.monitor.JobMonitor`.
        """
        return JobMonitor(jobs, poll=poll or self._ctx.poll, concurrency=concurrency)

    async def status(self, request_id: Any) -> str | None:
        """``"RUNNING"`` while the request runs; ``None`` once it has finished (the service answers 404)."""
        rid = uuid_id(request_id, field="request_id", prefix="")
        resp = await self._ctx.transport.request(
            "GET",
            f"{ASYNC_PROCESS_PATH}/{rid}",
            operation="async_process.status",
            ok={404: True},
            expect=media.JSON,
        )
        if resp.status == 404:
            return None
        return from_wire(resp.json(), _Status, operation="async_process.status", path=resp.path).status
