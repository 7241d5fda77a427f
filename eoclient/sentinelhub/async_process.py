"""The Async Process API: a Process request rendered in the background and delivered to object storage.

Reached as ``sh.async_process``; every request is a :class:`~eoclient.jobs.Job`::

    job = await sh.async_process.create(request, delivery=ObjectStorage.from_s3(
        "s3://my-bucket/async", access_key=KEY, secret_access_key=SECRET))
    delivery = await job            # AsyncProcessDelivery
    delivery.outputs["default"]     # "s3://my-bucket/async/<id>/default.tif"

How the end of a request is known
---------------------------------
The API has two operations: create (answers ``{"id", "status": "RUNNING"}``)
and a status call that answers ``RUNNING`` while the request runs and **404
once it has finished, whether it succeeded or failed** (OpenAPI
``getStatusAsyncRequest``). There is no terminal status and no result
endpoint; the outcome exists only in the bucket (the outputs, and the copy of
the request the service stores there). So:

* a 404 from the status call means *finished*; the job ends SUCCEEDED and
  ``await job`` returns the :class:`AsyncProcessDelivery` (where the outputs
  are), with ``verified=False``: the API has not said it went well;
* to know, pass ``verify=``: an async callable that looks into the bucket
  with the user's own storage client (this client holds no S3 code) and
  returns ``True`` if the outputs are there. ``False`` ends the job FAILED
  (``await job`` raises :class:`~eoclient.errors.JobFailedError`); whatever it
  raises is raised to the waiters;
* a job re-attached by id (``sh.async_process.job(id)``, resume tokens) also
  reads a 404 as *finished*: the API cannot tell a finished request from an
  unknown id, which is why ids are checked to be UUIDs before anything is
  sent. ``verify`` tells them apart if it matters;
* the service offers no way to cancel a request: ``job.cancel()`` stops
  polling and returns ``False``.

A create whose answer is lost (connection dropped after sending, read
timeout, 500/502/503/504) is not sent again — a second request would be
processed, and paid, twice — and cannot be looked up: the API lists no
requests. :class:`~eoclient.errors.OutcomeUnknownError` says where it would
show: a new ``<request id>/`` folder under the delivery URL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from eoclient._context import ServiceContext
from eoclient._http import media
from eoclient._models import Model, from_wire
from eoclient._outcome import create_or_find
from eoclient.errors import ResponseDecodeError, ValidationError
from eoclient.jobs import Job, JobState, JobStatus, PollPolicy, register_job_kind
from eoclient.monitor import JobMonitor
from eoclient.sentinelhub.async_process_models import (
    AsyncProcessDelivery,
    AsyncProcessRequest,
    output_locations,
    prepare_async_request,
)
from eoclient.sentinelhub.byoc_models import uuid_id
from eoclient.sentinelhub.data_collections import check_deployment

__all__ = ["ASYNC_PROCESS_PATH", "KIND", "AsyncProcess", "AsyncProcessJob", "Verify"]

ASYNC_PROCESS_PATH: Final = "/api/v1/async/process"
KIND: Final = "sentinelhub.async_process"
FINISHED: Final = "FINISHED"
"""``JobStatus.raw`` of a request the service no longer reports (status 404): it has finished."""

Verify = Callable[[AsyncProcessDelivery], Awaitable[bool]]
"""``verify(delivery) -> bool``: are the outputs in the bucket? (the user's own storage check)."""


class _Status(Model):
    status: str
    id: str | None = None


def _running(raw: str) -> JobStatus:
    return JobStatus(state=JobState.RUNNING, raw=raw, message="running")


class AsyncProcessJob:
    """Job strategy of one Async Process request (see the module docstring for how it ends)."""

    kind = KIND

    def __init__(
        self,
        ctx: ServiceContext[Any],
        request_id: str,
        *,
        url: str | None = None,
        responses: Sequence[tuple[str, str]] = (),
        verify: Verify | None = None,
    ) -> None:
        self._ctx = ctx
        self.job_id = request_id
        self.url = url
        self.responses = [(str(i), str(f)) for i, f in responses]
        self._verify = verify
        self._delivery: AsyncProcessDelivery | None = None

    def __repr__(self) -> str:
        return f"AsyncProcessJob({self.job_id!r}, url={self.url!r})"

    def _path(self) -> str:
        return f"{ASYNC_PROCESS_PATH}/{self.job_id}"

    async def poll(self) -> JobStatus:
        resp = await self._ctx.transport.request(
            "GET", self._path(), operation="async_process.status", ok={404: True}, expect=media.JSON
        )
        if resp.status != 404:
            data = from_wire(resp.json(), _Status, operation="async_process.status", path=resp.path)
            return _running(data.status)
        # 404: the request has finished (succeeded or failed: the API does not say which).
        delivery = AsyncProcessDelivery(
            request_id=self.job_id,
            url=self.url,
            outputs=output_locations(self.job_id, self.url, self.responses),
        )
        if self._verify is None:
            self._delivery = delivery
            return JobStatus(
                state=JobState.SUCCEEDED,
                raw=FINISHED,
                message="finished; the API does not say how: the outputs should be at the delivery URL",
            )
        if not await self._verify(delivery):
            return JobStatus(
                state=JobState.FAILED,
                raw=FINISHED,
                error=f"the request finished but its outputs are not at {self.url or 'the delivery URL'}",
            )
        self._delivery = dataclasses.replace(delivery, verified=True)
        return JobStatus(state=JobState.SUCCEEDED, raw=FINISHED, message="finished; outputs verified")

    async def result(self, final: JobStatus) -> AsyncProcessDelivery:
        if self._delivery is None:  # cannot happen through Job, which polls before it ends
            self._delivery = AsyncProcessDelivery(
                request_id=self.job_id,
                url=self.url,
                outputs=output_locations(self.job_id, self.url, self.responses),
            )
        return self._delivery

    async def cancel(self) -> bool:
        return False  # the API has no way to stop a request; the handle just stops polling

    def resume_data(self) -> dict[str, Any]:
        # The delivery URL and the response formats: never the bucket credentials.
        return {"url": self.url, "responses": [list(r) for r in self.responses]}


def _resume(ctx: ServiceContext[Any], job_id: str, data: Mapping[str, Any]) -> AsyncProcessJob:
    url = data.get("url")
    raw = data.get("responses") or []
    if (url is not None and not isinstance(url, str)) or not isinstance(raw, list):
        raise ValidationError("resume_token", "malformed Async Process data")
    responses: list[tuple[str, str]] = []
    for item in raw:
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            raise ValidationError("resume_token", "malformed Async Process responses")
        responses.append((item[0], item[1]))
    return AsyncProcessJob(
        ctx, uuid_id(job_id, field="resume_token", prefix=""), url=url, responses=responses
    )


register_job_kind(KIND, _resume, service="sentinelhub")


class AsyncProcess:
    """Async Process API requests as Jobs. Reached as ``sh.async_process``.

    Example::

        job = await sh.async_process.create(request, delivery="s3://my-bucket/async")
        async for status in job.watch():
            print(status.raw)            # RUNNING, then FINISHED
        delivery = await job
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
        and never appear in logs, reprs or errors. ``verify``: see the module
        docstring. The service answers 429 when too many requests of the
        account run at once (retried as its ``Retry-After`` says, then
        :class:`~eoclient.errors.RateLimitError`). A lost answer raises
        :class:`~eoclient.errors.OutcomeUnknownError` (see the module docstring).
        """
        check_deployment(request, self._ctx.transport.base_url)
        model, wire = prepare_async_request(request, delivery)
        assert model.output is not None and model.output.delivery is not None
        op = "async_process.create"

        async def send() -> _Status:
            data: _Status = await self._ctx.transport.request_json(
                "POST", ASYNC_PROCESS_PATH, operation=op, json=wire, type=_Status
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
            self._ctx, data.id, url=model.output.delivery.url, responses=model.responses, verify=verify
        )
        return Job(strategy, poll=poll or self._ctx.poll, initial_status=_running(data.status))

    def job(
        self,
        request_id: Any,
        *,
        url: str | None = None,
        responses: Sequence[tuple[str, str]] = (),
        verify: Verify | None = None,
        poll: PollPolicy | None = None,
    ) -> Job[AsyncProcessDelivery]:
        """Re-attach to a request by its id (a UUID; nothing is sent until the Job polls).

        ``url`` (the delivery URL) and ``responses`` (``(identifier, format
        type)`` pairs) let the result name the output locations. A 404 means
        the request has finished, or never existed: the API cannot tell.
        """
        rid = uuid_id(request_id, field="request_id", prefix="")
        strategy = AsyncProcessJob(self._ctx, rid, url=url, responses=responses, verify=verify)
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
