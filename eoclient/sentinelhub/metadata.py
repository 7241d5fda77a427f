"""Sentinel Hub Metadata API: deployment locations, and metadata of BYOC, batch and Zarr collections.

Reached as ``sh.metadata``::

    async with eoclient.SentinelHub() as sh:
        for location in await sh.metadata.locations().collect():
            print(location.id, location.url)
        meta = await sh.metadata.collection("byoc-3c3b5d6e-1f0a-4b8e-9a4e-2b1d0c9e8f7a")
        print(meta.location.id, meta.band_names)

An unknown location or collection is :class:`~eoclient.errors.NotFoundError`.
"""

from __future__ import annotations

from typing import Any, Final

from eoclient._context import ServiceContext
from eoclient._models import from_wire
from eoclient._paths import segment
from eoclient.errors import ValidationError
from eoclient.paging import NoCursor, Page, Paginator
from eoclient.sentinelhub.byoc_models import uuid_id
from eoclient.sentinelhub.metadata_models import CollectionMetadata, Location

__all__ = ["COLLECTION_KINDS", "Metadata"]

_BASE: Final = "/api/v1/metadata"
COLLECTION_KINDS: Final = ("byoc", "batch", "zarr")
"""The kinds of collection the Metadata API describes (the prefix of their data type)."""


class Metadata:
    """The Metadata API. Reached as ``sh.metadata``."""

    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self._ctx = ctx

    def locations(self) -> Paginator[Location, NoCursor]:
        """Every deployment location (one page; a :class:`Paginator` like every listing)."""
        path = f"{_BASE}/location"
        op = "metadata.locations"

        async def fetch(cursor: NoCursor | None) -> Page[Location, NoCursor]:
            del cursor
            answer = await self._ctx.transport.request_json("GET", path, operation=op)
            return Page(from_wire(answer, list[Location], operation=op, path=path))

        return Paginator(fetch, cursor_kind=NoCursor)

    async def location(self, location_id: str) -> Location:
        """One location by id (``"aws-eu-central-1"``, ``"aws-us-west-2"``, ``"creo"``...)."""
        if not isinstance(location_id, str) or not location_id.strip():
            raise ValidationError("location_id", "a location id such as 'aws-eu-central-1' is required")
        path = f"{_BASE}/location/{segment(location_id, 'location_id')}"
        op = "metadata.location"
        answer = await self._ctx.transport.request_json("GET", path, operation=op)
        return from_wire(answer, Location, operation=op, path=path)

    async def collection(self, data_type: str) -> CollectionMetadata:
        """Metadata of a collection named as in Process requests (``byoc-``, ``batch-``, ``zarr-<uuid>``)."""
        if not isinstance(data_type, str):
            raise ValidationError("data_type", f"expected a string, got {type(data_type).__name__}")
        kind, _, ident = data_type.strip().partition("-")
        if kind.lower() not in COLLECTION_KINDS or not ident:
            raise ValidationError(
                "data_type", f"must be byoc-<uuid>, batch-<uuid> or zarr-<uuid>, got {data_type!r}"
            )
        return await self._collection(kind.lower(), ident, field="data_type")

    async def byoc_collection(self, collection_id: Any) -> CollectionMetadata:
        """Metadata of a BYOC collection (a UUID, or ``byoc-<uuid>``)."""
        return await self._collection("byoc", collection_id, field="collection_id")

    async def batch_collection(self, collection_id: Any) -> CollectionMetadata:
        """Metadata of a batch collection (a UUID, or ``batch-<uuid>``)."""
        return await self._collection("batch", collection_id, field="collection_id")

    async def zarr_collection(self, collection_id: Any) -> CollectionMetadata:
        """Metadata of a Zarr collection (a UUID, or ``zarr-<uuid>``): bands once it is ingested."""
        return await self._collection("zarr", collection_id, field="collection_id")

    async def _collection(self, kind: str, collection_id: Any, *, field: str) -> CollectionMetadata:
        ident = uuid_id(collection_id, field=field, prefix=f"{kind}-")
        path = f"{_BASE}/collection/{kind}-{ident}"
        op = f"metadata.{kind}_collection"
        answer = await self._ctx.transport.request_json("GET", path, operation=op)
        return from_wire(answer, CollectionMetadata, operation=op, path=path)
