"""The legacy Sentinel Hub Batch Process API (``/api/v1/batch/...``), reached as ``sh.batch.v1``.

Sentinel Hub deprecated it for Batch v2 (``sh.batch``), but accounts still
use it, and it is a different contract, not a different spelling:

=========================  ======================================  ===========================
                           legacy (``sh.batch.v1``)                 v2 (``sh.batch``)
=========================  ======================================  ===========================
grid                       ``tilingGrid: {id, resolution}``        ``input: {type: tiling-grid,
                                                                   id, resolution}`` or a
                                                                   GeoPackage
where results go           ``output.defaultTilePath``,             ``output: {type: raster|zarr,
                           ``bucketName`` or ``zarrOutput``         delivery: {s3: ...}}``
after analysis             ``tileCount``, ``valueEstimate``        ``completionPercentage``,
                                                                   ``costPU``
end states                 DONE, PARTIAL, FAILED, CANCELED          DONE, FAILED, STOPPED
stop / re-run              ``cancel`` (final), ``restartpartial``   ``stop``, ``start`` resumes
tiles, collections         ``/tiles``, ``/collections`` endpoints   gone (a report in the bucket,
                                                                   BYOC collections)
delete                     ``DELETE`` (not once tiles are done)     none
=========================  ======================================  ===========================

Example::

    job = await sh.batch.v1.run({
        "processRequest": {...},
        "tilingGrid": {"id": 0, "resolution": 60.0},
        "bucketName": "my-bucket",
    })
    request = await job
    if request.partial:
        failed = await sh.batch.v1.tiles(request.id, status="FAILED").collect()
        await sh.batch.v1.restart_partial(request.id)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from eoclient._models import from_user, from_wire
from eoclient._outcome import create_or_find
from eoclient.errors import ValidationError
from eoclient.jobs import Job
from eoclient.paging import Paginator, ViewToken
from eoclient.sentinelhub._lookup import named_finder
from eoclient.sentinelhub._paging import view_paginator
from eoclient.sentinelhub.batch_jobs import LEGACY, BatchAPIBase, request_id
from eoclient.sentinelhub.batch_v1_models import (
    TILE_STATUSES,
    BatchCollection,
    BatchTile,
    BatchV1Output,
    BatchV1Request,
    BatchV1Spec,
    prepare_batch_v1_spec,
    prepare_batch_v1_update,
)
from eoclient.sentinelhub.byoc_models import page_count

__all__ = ["COLLECTIONS_PATH", "SORTS", "BatchV1"]

SORTS: Final = ("created", "created:desc", "status", "status:desc")
COLLECTIONS_PATH: Final = "/api/v1/batch/collections"


def _data(body: Any) -> Any:
    """Collections answer ``{"data": {...}}``; take the object out (a bare object works too)."""
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        return body["data"]
    return body


class BatchV1(BatchAPIBase[BatchV1Request]):
    """The legacy Batch Process API. Reached as ``sh.batch.v1``.

    Same conventions as :class:`~eoclient.sentinelhub.batch.Batch`: models or
    docs-style dicts, UUID ids, checks before sending, Paginators for listings.
    """

    _surface = LEGACY

    # -- requests ------------------------------------------------------------------------

    async def create(self, request: BatchV1Spec | Mapping[str, Any]) -> BatchV1Request:
        """Submit a legacy batch request; returns it CREATED with its ``id``.

        A lost answer is handled as in :meth:`eoclient.sentinelhub.batch.Batch.create`
        (the request is looked up among those created since, by what was sent;
        else :class:`~eoclient.errors.OutcomeUnknownError`).
        """
        where = self._route(request)
        _, wire = prepare_batch_v1_spec(request)
        return await self._create(wire, where)

    async def get(self, request: Any) -> BatchV1Request:
        """One legacy batch request by id (with ``tile_count``/``value_estimate`` once analysed)."""
        return await self._fetch(request)

    async def update(
        self,
        request: Any,
        *,
        output: BatchV1Output | Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> BatchV1Request:
        """Change ``output`` and/or ``description`` of a request that is not processing or waiting to."""
        body = prepare_batch_v1_update(output, description)
        path = self._path(request)
        answer: Any = await self._ctx.transport.request_json(
            "PUT", path, operation="batch_v1.update", json=body
        )
        if isinstance(answer, dict) and "id" in answer:
            return from_wire(answer, BatchV1Request, operation="batch_v1.update", path=path)
        return await self._fetch(request)

    async def delete(self, request: Any) -> None:
        """Delete a request that is not running nor confirmed and has no processed tiles (cancel it first)."""
        await self._ctx.transport.request("DELETE", self._path(request), operation="batch_v1.delete")

    def requests(
        self,
        *,
        collection_id: str | None = None,
        search: str | None = None,
        sort: str | None = None,
        count: int | None = None,
        max_items: int | None = None,
    ) -> Paginator[BatchV1Request, ViewToken]:
        """Legacy batch requests, page by page.

        ``collection_id``: only those writing into that batch collection;
        ``search``: a word, or words joined with ``|`` (or) and ``&`` (and);
        ``sort``: one of :data:`SORTS`.
        """
        if sort is not None and sort not in SORTS:
            raise ValidationError("sort", f"must be one of {', '.join(SORTS)}, got {sort!r}")
        if search is not None and (not isinstance(search, str) or not search.strip()):
            raise ValidationError("search", "must be a non-empty string")
        params = {
            "collectionId": request_id(collection_id, "collection_id") if collection_id is not None else None,
            "search": search,
            "sort": sort,
            "count": page_count(count),
        }
        return view_paginator(
            self._ctx.transport,
            self._surface.base,
            BatchV1Request,
            operation="batch_v1.list",
            params=params,
            max_items=max_items,
        )

    # -- actions -------------------------------------------------------------------------

    async def analyse(self, request: Any) -> None:
        """Analyse a CREATED request: ANALYSING, then ANALYSIS_DONE with tile count and cost estimate."""
        await self._post(request, "analyse")

    async def start(self, request: Any) -> None:
        """Start processing (from ANALYSIS_DONE, or from CREATED: the analysis runs first)."""
        await self._post(request, "start")

    async def cancel(self, request: Any) -> None:
        """Cancel a request (CANCELED; it cannot be started again)."""
        await self._post(request, "cancel")

    async def restart_partial(self, request: Any) -> None:
        """Process the failed tiles of a PARTIAL request again (it goes back to PROCESSING)."""
        await self._post(request, "restartpartial")

    # -- tiles ---------------------------------------------------------------------------

    def tiles(
        self,
        request: Any,
        *,
        status: str | None = None,
        count: int | None = None,
        max_items: int | None = None,
    ) -> Paginator[BatchTile, ViewToken]:
        """The output tiles of a request (after analysis), optionally only those with ``status``.

        Example::

            failed = await sh.batch.v1.tiles(request_id, status="FAILED").collect()
        """
        if status is not None and status not in TILE_STATUSES:
            raise ValidationError("status", f"must be one of {', '.join(TILE_STATUSES)}, got {status!r}")
        return view_paginator(
            self._ctx.transport,
            self._path(request, "tiles"),
            BatchTile,
            operation="batch_v1.tiles",
            params={"status": status, "count": page_count(count)},
            max_items=max_items,
        )

    async def tile(self, request: Any, tile_id: int) -> BatchTile:
        """One tile of a request by its integer id."""
        if isinstance(tile_id, bool) or not isinstance(tile_id, int) or tile_id < 0:
            raise ValidationError("tile_id", f"expected an integer >= 0, got {tile_id!r}")
        path = self._path(request, f"tiles/{tile_id}")
        answer: BatchTile = await self._ctx.transport.request_json(
            "GET", path, operation="batch_v1.tile", type=BatchTile
        )
        return answer

    # -- batch collections -------------------------------------------------------------

    async def create_collection(self, collection: BatchCollection | Mapping[str, Any]) -> BatchCollection:
        """Create a batch collection (``{"name", "s3Bucket"}``) to write ``createCollection`` output to.

        A lost answer is handled as for BYOC collections: the one collection
        with this name and bucket that did not exist before is returned (the
        ids with that name are read first); else
        :class:`~eoclient.errors.OutcomeUnknownError`.
        """
        model = from_user(collection, BatchCollection, field="collection")
        if not model.name.strip():
            raise ValidationError("collection.name", "must not be empty")
        if not model.s3_bucket.strip() or "/" in model.s3_bucket:
            raise ValidationError(
                "collection.s3Bucket", f"must be a bare bucket name, got {model.s3_bucket!r}"
            )
        body = {"name": model.name, "s3Bucket": model.s3_bucket}
        transport, op, listing = self._ctx.transport, "batch_v1.create_collection", "batch_v1.collections"

        find = await named_finder(
            transport, COLLECTIONS_PATH, model.name, model.s3_bucket, list[BatchCollection], operation=listing
        )

        async def send() -> BatchCollection:
            answer: Any = await transport.request_json("POST", COLLECTIONS_PATH, operation=op, json=body)
            return from_wire(_data(answer), BatchCollection, operation=op, path=COLLECTIONS_PATH)

        return await create_or_find(
            send,
            find=find,
            identify=lambda coll: coll.id or "",
            operation=op,
            resource="batch collection",
            how_to_find=(
                f"Look for a collection named {model.name!r} on bucket {model.s3_bucket!r} in "
                "sh.batch.v1.collections(search=...) before creating it again"
            ),
            claims=self._claims,
            key=f"collection\n{model.name}\n{model.s3_bucket}",
            retry=transport.retry,
        )

    def collections(
        self, *, search: str | None = None, count: int | None = None, max_items: int | None = None
    ) -> Paginator[BatchCollection, ViewToken]:
        """Every batch collection of the account (``search`` as in :meth:`requests`)."""
        return view_paginator(
            self._ctx.transport,
            COLLECTIONS_PATH,
            BatchCollection,
            operation="batch_v1.collections",
            params={"search": search, "count": page_count(count)},
            max_items=max_items,
        )

    async def collection(self, collection_id: Any) -> BatchCollection:
        """One batch collection by id."""
        path = f"{COLLECTIONS_PATH}/{request_id(collection_id, 'collection_id')}"
        answer: Any = await self._ctx.transport.request_json("GET", path, operation="batch_v1.collection")
        return from_wire(_data(answer), BatchCollection, operation="batch_v1.collection", path=path)

    async def update_collection(self, collection_id: Any, *, name: str) -> None:
        """Rename a batch collection (its name is all that can change)."""
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("name", "must be a non-empty string")
        path = f"{COLLECTIONS_PATH}/{request_id(collection_id, 'collection_id')}"
        await self._ctx.transport.request(
            "PUT", path, operation="batch_v1.update_collection", json={"name": name}
        )

    async def delete_collection(self, collection_id: Any) -> None:
        """Delete a batch collection no request uses (FAILED and CANCELED ones aside)."""
        path = f"{COLLECTIONS_PATH}/{request_id(collection_id, 'collection_id')}"
        await self._ctx.transport.request("DELETE", path, operation="batch_v1.delete_collection")

    # -- as a Job ------------------------------------------------------------------------

    async def run(
        self,
        request_or_id: BatchV1Spec | Mapping[str, Any] | BatchV1Request | str | Any,
        *,
        analyse_first: bool = True,
        start: bool = True,
        allow_partial: bool = True,
    ) -> Job[BatchV1Request]:
        """Create (or take by id), analyse, start and follow a legacy request as a Job.

        As :meth:`eoclient.sentinelhub.batch.Batch.run`; a PARTIAL end is a
        success unless ``allow_partial=False``, CANCELED raises
        :class:`~eoclient.errors.JobCancelledError`, ``job.cancel()`` cancels
        the request. ``start=False`` ends at ANALYSIS_DONE, when ``tile_count``
        and ``value_estimate`` are known.
        """
        return await self._run(
            request_or_id, self.create, analyse_first=analyse_first, start=start, allow_partial=allow_partial
        )

    def job(self, request: Any, *, start: bool = False, allow_partial: bool = True) -> Job[BatchV1Request]:
        """Re-attach to a legacy request by id (``start=True``: START it once analysed)."""
        return self._attach(request, start=start, until="done", allow_partial=allow_partial)
