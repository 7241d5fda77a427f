"""Sentinel Hub Zarr Import: Zarr collections, their arrays, and their ingestion as a Job.

Reached as ``sh.zarr``::

    async with eoclient.SentinelHub() as sh:
        coll = await sh.zarr.create_collection({
            "name": "sst", "s3Bucket": "my-bucket", "path": "sst.zarr/",
            "crs": "http://www.opengis.net/def/crs/EPSG/0/4326",
        })
        coll = await sh.zarr.ingestion(coll.id)        # a Job: INGESTED, or JobFailedError
        async for array in sh.zarr.arrays(coll.id):
            print(array.name, array.zarray["shape"])

Creating (or re-ingesting) a collection starts its ingestion: the service
reads the Zarr group at ``path`` in the bucket (``CREATED`` -> ``INGESTING``
-> ``INGESTED`` or ``FAILED`` with ``ingestionErrors``). :meth:`ZarrImport.ingestion`
follows it as a :class:`~eoclient.jobs.Job` (await, watch, resume token; the
API has no way to stop one, so ``cancel()`` answers ``False``).

Listings follow Sentinel Hub's ``viewtoken`` paging and are
:class:`~eoclient.paging.Paginator` objects. A create whose answer is lost is
not sent again but looked up by name, bucket and path (see :mod:`eoclient._outcome`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from eoclient._context import ServiceContext
from eoclient._models import from_wire
from eoclient._outcome import Claims, create_or_find
from eoclient._paths import segment
from eoclient.errors import ResponseDecodeError, ValidationError
from eoclient.jobs import Job, JobState, JobStatus, PollPolicy, register_job_kind
from eoclient.paging import Paginator, ViewToken
from eoclient.sentinelhub._lookup import named
from eoclient.sentinelhub._paging import view_paginator
from eoclient.sentinelhub.byoc_models import search_params, uuid_id
from eoclient.sentinelhub.zarr_import_models import (
    ZarrArray,
    ZarrCollection,
    zarr_collection_body,
    zarr_update_body,
)

__all__ = ["KIND", "ZarrImport", "ZarrIngestionJob"]

KIND: Final = "sentinelhub.zarr_ingestion"
_BASE: Final = "/api/v1/zarr/collections"
_STATES: Final = {
    "CREATED": JobState.PENDING,
    "INGESTING": JobState.RUNNING,
    "INGESTED": JobState.SUCCEEDED,
    "FAILED": JobState.FAILED,
}


def _data(body: Any, operation: str, path: str) -> Any:
    """The ``data`` member of a ``{"data": {...}}`` answer."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise ResponseDecodeError('expected {"data": {...}}', operation=operation, path=path)
    return body["data"]


def _collection_path(collection_id: Any) -> str:
    return f"{_BASE}/{uuid_id(collection_id, field='collection_id', prefix='zarr-')}"


def _status(coll: ZarrCollection, operation: str, path: str) -> JobStatus:
    state = _STATES.get(coll.status or "")
    if state is None:
        raise ResponseDecodeError(
            f"unknown Zarr collection status {coll.status!r}", operation=operation, path=path
        )
    error = (coll.ingestion_errors or "ingestion failed") if state is JobState.FAILED else None
    return JobStatus(state=state, raw=coll.status or "", error=error)


class ZarrIngestionJob:
    """Job strategy of a Zarr collection's ingestion: its result is the INGESTED collection."""

    kind = KIND

    def __init__(
        self, ctx: ServiceContext[Any], collection_id: str, last: ZarrCollection | None = None
    ) -> None:
        self._ctx = ctx
        self.job_id = collection_id
        self._last = last  # the collection as last read: the result once it is INGESTED

    def __repr__(self) -> str:
        return f"ZarrIngestionJob({self.job_id!r})"

    async def poll(self) -> JobStatus:
        path = _collection_path(self.job_id)
        op = "zarr.ingestion"
        answer = await self._ctx.transport.request_json("GET", path, operation=op)
        self._last = from_wire(_data(answer, op, path), ZarrCollection, operation=op, path=path)
        return _status(self._last, op, path)

    async def result(self, final: JobStatus) -> ZarrCollection:
        del final
        if self._last is None:  # Job polls before it ends; kept for a direct caller
            await self.poll()
        assert self._last is not None
        return self._last

    async def cancel(self) -> bool:
        return False  # the Zarr Import API cannot stop an ingestion

    def resume_data(self) -> dict[str, Any]:
        return {}


def _resume(ctx: Any, job_id: str, data: Mapping[str, Any]) -> ZarrIngestionJob:
    del data
    return ZarrIngestionJob(ctx, uuid_id(job_id, field="resume_token", prefix="zarr-"))


register_job_kind(KIND, _resume, service="sentinelhub")


class ZarrImport:
    """Zarr collections and their arrays. Reached as ``sh.zarr``.

    Ids are UUIDs (a :class:`uuid.UUID`, its text, or ``"zarr-<uuid>"`` as
    written in Process API requests). Client-side checks raise
    :class:`~eoclient.errors.ValidationError` before anything is sent; an
    unknown id is :class:`~eoclient.errors.NotFoundError`.
    """

    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self._ctx = ctx
        self._claims = Claims()

    # -- collections ---------------------------------------------------------------------

    async def create_collection(self, collection: ZarrCollection | Mapping[str, Any]) -> ZarrCollection:
        """Create a collection (status ``CREATED``): its ingestion starts; follow it with :meth:`ingestion`.

        Names need not be unique: the ids of the collections with this name,
        bucket and path are read first (one ``GET ...?search=``); if the
        create's answer is lost, the one such collection not among them is
        returned; none, or several: :class:`~eoclient.errors.OutcomeUnknownError`.
        """
        body = zarr_collection_body(collection)
        op = "zarr.create_collection"
        name = body["name"]

        def same(item: dict[str, Any]) -> bool:
            return all(item.get(k) == body[k] for k in ("name", "s3Bucket", "path"))

        transport = self._ctx.transport
        before = {
            item.get("id")
            for item in await named(transport, _BASE, name, operation="zarr.collections", match=same)
        }

        async def find() -> list[ZarrCollection]:
            found = await named(transport, _BASE, name, operation="zarr.collections", match=same)
            fresh = [item for item in found if item.get("id") not in before]
            return from_wire(fresh, list[ZarrCollection], operation=op, path=_BASE)

        async def send() -> ZarrCollection:
            answer = await transport.request_json("POST", _BASE, operation=op, json=body)
            return from_wire(_data(answer, op, _BASE), ZarrCollection, operation=op, path=_BASE)

        return await create_or_find(
            send,
            find=find,
            identify=lambda coll: coll.id or "",
            operation=op,
            resource="Zarr collection",
            how_to_find=(
                f"Look for a collection named {name!r} on bucket {body['s3Bucket']!r} at path "
                f"{body['path']!r} in sh.zarr.collections(search=...) before creating it again"
            ),
            claims=self._claims,
            key=f"{name}\n{body['s3Bucket']}\n{body['path']}",
            retry=transport.retry,
        )

    def collections(
        self, search: str | None = None, count: int | None = None, *, max_items: int | None = None
    ) -> Paginator[ZarrCollection, ViewToken]:
        """Every Zarr collection of the account, page by page; ``search`` matches names."""
        params = search_params(search, count)
        return view_paginator(
            self._ctx.transport,
            _BASE,
            ZarrCollection,
            operation="zarr.collections",
            params=params,
            max_items=max_items,
        )

    async def collection(self, collection_id: Any) -> ZarrCollection:
        """One collection by id, with its ingestion status."""
        path = _collection_path(collection_id)
        op = "zarr.collection"
        answer = await self._ctx.transport.request_json("GET", path, operation=op)
        return from_wire(_data(answer, op, path), ZarrCollection, operation=op, path=path)

    async def update_collection(self, collection_id: Any, collection: Any) -> None:
        """Rename a collection (its name is all that can change): a name, ``{"name": ...}`` or the model."""
        path = _collection_path(collection_id)
        body = zarr_update_body(collection)
        await self._ctx.transport.request("PUT", path, operation="zarr.update_collection", json=body)

    async def delete_collection(self, collection_id: Any) -> None:
        """Delete a collection (the Zarr in the bucket stays)."""
        path = _collection_path(collection_id)
        await self._ctx.transport.request("DELETE", path, operation="zarr.delete_collection")

    # -- ingestion -----------------------------------------------------------------------

    def ingestion(self, collection_id: Any, *, poll: PollPolicy | None = None) -> Job[ZarrCollection]:
        """The collection's current ingestion as a Job (nothing is sent until it polls).

        ``await job`` gives the INGESTED collection, or raises
        :class:`~eoclient.errors.JobFailedError` whose ``error`` is the
        service's ``ingestionErrors``.
        """
        ident = uuid_id(collection_id, field="collection_id", prefix="zarr-")
        return Job(ZarrIngestionJob(self._ctx, ident), poll=poll or self._ctx.poll)

    async def reingest(self, collection_id: Any, *, poll: PollPolicy | None = None) -> Job[ZarrCollection]:
        """Ingest the collection again (e.g. after its Zarr changed); returns the new ingestion's Job."""
        path = _collection_path(collection_id) + "/reingest"
        op = "zarr.reingest"
        answer = await self._ctx.transport.request_json("PUT", path, operation=op)
        coll = from_wire(_data(answer, op, path), ZarrCollection, operation=op, path=path)
        strategy = ZarrIngestionJob(self._ctx, coll.id or "", coll)
        return Job(strategy, poll=poll or self._ctx.poll, initial_status=_status(coll, op, path))

    # -- arrays --------------------------------------------------------------------------

    def arrays(
        self,
        collection_id: Any,
        search: str | None = None,
        count: int | None = None,
        *,
        max_items: int | None = None,
    ) -> Paginator[ZarrArray, ViewToken]:
        """The arrays the last ingestion found (coordinates and data); ``search`` matches names."""
        url = _collection_path(collection_id) + "/arrays"
        params = search_params(search, count)
        return view_paginator(
            self._ctx.transport, url, ZarrArray, operation="zarr.arrays", params=params, max_items=max_items
        )

    async def array(self, collection_id: Any, name: str) -> ZarrArray:
        """One array of a collection by name."""
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("name", "an array name is required")
        if "/" in name:  # a "/" would name an array of a subgroup, which a collection has not
            raise ValidationError("name", f"an array of the group, without '/', got {name!r}")
        path = f"{_collection_path(collection_id)}/arrays/{segment(name, 'name')}"
        op = "zarr.array"
        answer = await self._ctx.transport.request_json("GET", path, operation=op)
        return from_wire(_data(answer, op, path), ZarrArray, operation=op, path=path)
