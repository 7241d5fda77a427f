"""Reading what Sentinel Hub jobs delivered: the stores a job writes to, opened once per job.

Every family that delivers to object storage (Batch v2 and legacy, Async
Process, Batch Statistical) follows its job's outputs with
:func:`eoclient.storage.outputs.follow`; this module gives them the store
of a bucket, signed in with the client's ``storage=`` settings (else the
``AWS_*`` environment and AWS profile), and refuses what cannot be read
(``gs://``, a URL with no bucket) before anything is listed.
"""

from __future__ import annotations

from typing import Any

from eoclient._context import ServiceContext
from eoclient.errors import UnsupportedOperationError
from eoclient.storage.outputs import StoreOf
from eoclient.storage.store import ObjectStore, open_store

__all__ = ["Stores", "readable"]


class Stores:
    """The stores one job reads, one per bucket, opened on first use (obstore is loaded then)."""

    __slots__ = ("_ctx", "_stores")

    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self._ctx = ctx
        self._stores: dict[str, ObjectStore] = {}

    def __call__(self, bucket: str) -> ObjectStore:
        store = self._stores.get(bucket)
        if store is None:
            store = self._stores[bucket] = open_store(f"s3://{bucket}", self._ctx.storage)
        return store

    @property
    def of(self) -> StoreOf:
        """This object as a :data:`~eoclient.storage.outputs.StoreOf`."""
        return self


def readable(url: str | None, what: str) -> str:
    """``url`` when it is an ``s3://`` location this client can list; else a clear error."""
    if not url:
        raise UnsupportedOperationError(f"{what} has no delivery URL to read outputs from")
    if url.startswith("gs://"):
        raise UnsupportedOperationError(
            f"{what} delivers to Google Cloud Storage ({url}); eoclient reads S3 and S3-compatible stores"
        )
    if not url.startswith("s3://"):
        raise UnsupportedOperationError(f"{what} delivers to {url!r}, not an s3:// location")
    return url
