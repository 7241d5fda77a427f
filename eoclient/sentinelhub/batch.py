"""Sentinel Hub Batch Process API v2: large areas processed tile by tile into your bucket.

Reached as ``sh.batch`` (the legacy API, a different contract, is ``sh.batch.v1``,
see :mod:`eoclient.sentinelhub.batch_v1`)::

    async with eoclient.SentinelHub() as sh:
        job = await sh.batch.run({
            "processRequest": {"input": {...}, "output": {"responses": [...]}, "evalscript": EVALSCRIPT},
            "input": {"type": "tiling-grid", "id": 0, "resolution": 60.0},
            "output": {"type": "raster", "delivery": {"s3": {"url": "s3://my-bucket/ndvi",
                                                            "iamRoleARN": ROLE}}},
            "description": "Max NDVI over Corsica",
        })
        token = job.resume_token                  # keep it to re-attach from another process
        async for status in job.watch():
            print(status.raw, status.progress)    # ANALYSING, ANALYSIS_DONE, PROCESSING 0.42...
        request = await job                       # the final BatchRequest

The life of a request: ``create`` (CREATED) → ``analyse`` (ANALYSING →
ANALYSIS_DONE) → ``start`` (PROCESSING → DONE or FAILED); ``stop`` makes it
STOPPED at any point and ``start`` resumes a STOPPED one. :meth:`Batch.run`
does all of it as one :class:`~eoclient.jobs.Job`; ``job.cancel()`` stops the
request. What the job's states mean, and how failed tiles are reported, is
in :mod:`eoclient.sentinelhub.batch_jobs`.

The API has no DELETE for v2 requests (the legacy one has), and only the
``description`` of a request can be changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from eoclient._context import ServiceContext
from eoclient._models import from_wire
from eoclient.errors import ValidationError
from eoclient.jobs import Job
from eoclient.paging import Paginator, ViewToken
from eoclient.sentinelhub._paging import view_paginator
from eoclient.sentinelhub.batch_jobs import V2, BatchAPIBase
from eoclient.sentinelhub.batch_models import BatchRequest, BatchSpec, prepare_batch_spec
from eoclient.sentinelhub.batch_v1 import BatchV1
from eoclient.sentinelhub.byoc_models import page_count
from eoclient.sentinelhub.tiling_grids import TilingGrid, TilingGrids

__all__ = ["SORTS", "Batch"]

SORTS: Final = ("created", "created:desc", "status", "status:desc")
"""The orderings ``requests(sort=...)`` takes."""


class Batch(BatchAPIBase[BatchRequest]):
    """Batch Process API v2. Reached as ``sh.batch``; the legacy API is :attr:`v1`.

    Every method taking a request also takes a docs-style dict; ids are UUIDs
    (text, :class:`uuid.UUID`, or a :class:`BatchRequest`). Bad input raises
    :class:`~eoclient.errors.ValidationError` before anything is sent; the
    service's refusals (e.g. START while the analysis runs) come back as
    :class:`~eoclient.errors.BadRequestError` or :class:`~eoclient.errors.ConflictError`.
    """

    _surface = V2

    def __init__(self, ctx: ServiceContext[Any]) -> None:
        super().__init__(ctx)
        self.v1 = BatchV1(ctx)
        """The legacy Batch Process API (``/api/v1/batch/...``)."""
        self._grids: dict[int, TilingGrid] = {}

    # -- requests ------------------------------------------------------------------------

    async def create(
        self, request: BatchSpec | Mapping[str, Any], *, check_grid: bool = False
    ) -> BatchRequest:
        """Submit a batch request; returns it CREATED, with its ``id``. Nothing is processed yet.

        ``check_grid=True`` also checks ``input.resolution`` against the tiling
        grid's resolutions (one ``GET`` of the grid per client, then cached).

        If the answer is lost (connection dropped after sending, read timeout,
        500/502/503/504), the request is looked up instead of being sent again:
        the listing takes no search, so before sending, the newest request is
        noted (one ``GET ...?count=1``), and afterwards the one request newer
        than it that holds every field sent is returned. Several such, or
        none: :class:`~eoclient.errors.OutcomeUnknownError` with the candidate
        ids (``candidates``) and how to look for it.

        Example::

            created = await sh.batch.create(spec)
            await sh.batch.analyse(created.id)
        """
        where = self._route(request)
        model, wire = prepare_batch_spec(request)
        if check_grid:
            await self._check_grid(model)
        return await self._create(wire, where)

    async def _check_grid(self, spec: BatchSpec) -> None:
        inp = spec.input
        if inp is None or inp.type != "tiling-grid" or inp.id is None or inp.resolution is None:
            return
        grid = self._grids.get(inp.id)
        if grid is None:
            grid = self._grids[inp.id] = await TilingGrids(self._ctx).get(inp.id)
        if not grid.supports(inp.resolution):
            offered = (
                ", ".join(f"{r:g}" for r in (grid.properties.resolutions or [])) if grid.properties else ""
            )
            raise ValidationError(
                "input.resolution", f"grid {inp.id} ({grid.name}) offers resolutions {offered or 'none'}"
            )

    async def get(self, request: Any) -> BatchRequest:
        """One batch request by id (:class:`~eoclient.errors.NotFoundError` if unknown)."""
        return await self._fetch(request)

    async def update(self, request: Any, *, description: str) -> BatchRequest:
        """Change the ``description`` (the only field v2 lets change); 409 while processing.

        Returns the updated request (read back with a GET when the service
        answers with the request body alone, as its OpenAPI document says).
        """
        if not isinstance(description, str):
            raise ValidationError("description", f"expected a string, got {type(description).__name__}")
        path = self._path(request)
        answer: Any = await self._ctx.transport.request_json(
            "PUT", path, operation="batch.update", json={"description": description}
        )
        if isinstance(answer, dict) and "id" in answer and "status" in answer:
            return from_wire(answer, BatchRequest, operation="batch.update", path=path)
        return await self._fetch(request)

    def requests(
        self, *, sort: str | None = None, count: int | None = None, max_items: int | None = None
    ) -> Paginator[BatchRequest, ViewToken]:
        """Every batch request of the account, page by page (``count`` per page, at most 100).

        ``sort``: one of :data:`SORTS` (``"created:desc"`` for the newest first).

        Example::

            async for req in sh.batch.requests(sort="created:desc", max_items=20):
                print(req.id, req.status, req.description)
        """
        if sort is not None and sort not in SORTS:
            raise ValidationError("sort", f"must be one of {', '.join(SORTS)}, got {sort!r}")
        return view_paginator(
            self._ctx.transport,
            self._surface.base,
            BatchRequest,
            operation="batch.list",
            params={"sort": sort, "count": page_count(count)},
            max_items=max_items,
        )

    # -- actions -------------------------------------------------------------------------

    async def analyse(self, request: Any) -> None:
        """Ask for the analysis of a CREATED request (ANALYSING, then ANALYSIS_DONE)."""
        await self._post(request, "analyse")

    async def start(self, request: Any) -> None:
        """Start processing: after ANALYSIS_DONE, from CREATED (analysed first), or resume a STOPPED one."""
        await self._post(request, "start")

    async def stop(self, request: Any) -> None:
        """Stop a request (status STOPPED, ``stoppedStatusReason`` USER_ACTION); ``start`` resumes it."""
        await self._post(request, "stop")

    # -- as a Job ------------------------------------------------------------------------

    async def run(
        self,
        request_or_id: BatchSpec | Mapping[str, Any] | BatchRequest | str | Any,
        *,
        analyse_first: bool = True,
        start: bool = True,
        allow_partial: bool = True,
        check_grid: bool = False,
    ) -> Job[BatchRequest]:
        """Create (or take an existing request by id), analyse, start, and follow it as a Job.

        ``analyse_first`` POSTs ANALYSE and the job POSTs START once the
        analysis is done; without it START is sent at once (the service
        analyses first anyway). ``start=False`` ends the job at ANALYSIS_DONE
        (look at the request, then ``run(id)`` again to process it). A STOPPED
        request given by id is started again. ``await job`` returns the final
        :class:`BatchRequest`; FAILED raises :class:`~eoclient.errors.JobFailedError`
        with the service's error text; STOPPED raises
        :class:`~eoclient.errors.JobCancelledError`. A request that finished
        with failed tiles (``request.partial``) is a success unless
        ``allow_partial=False`` (then JobFailedError). ``job.cancel()`` stops
        the request.

        Example::

            job = await sh.batch.run(spec)
            async for status in job.watch():
                print(status.raw, status.progress)
            done = await job
        """
        return await self._run(
            request_or_id,
            lambda spec: self.create(spec, check_grid=check_grid),
            analyse_first=analyse_first,
            start=start,
            allow_partial=allow_partial,
        )

    def job(
        self,
        request: Any,
        *,
        start: bool = False,
        allow_partial: bool = True,
        deployment: str | None = None,
    ) -> Job[BatchRequest]:
        """Re-attach to a batch request by id (nothing is sent until the job is awaited or watched).

        The job only watches, unless ``start=True``: then it POSTs START when
        it sees ANALYSIS_DONE, as the job made by :meth:`run` does. Resume
        tokens (``job.resume_token``) keep that setting and the deployment:
        ``sh.resume_job(token)`` re-attaches in another process. A request this
        client created on another deployment is followed there;
        ``deployment`` (its public URL) says where one created elsewhere lives.
        """
        return self._attach(
            request, start=start, until="done", allow_partial=allow_partial, deployment=deployment
        )
