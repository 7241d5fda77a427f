"""The emulated Zarr collections: records, their ingestion on the clock, and their JSON."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from eoclient.emulator.core.deliveries import RemoteSink, deliveries_of, object_store
from eoclient.emulator.core.refusal import Refusal, invalid
from eoclient.emulator.core.state import EmulatorState
from eoclient.emulator.sentinelhub.byoc.data import iso, new_id
from eoclient.emulator.sentinelhub.zarr_import.reader import Ingested, read_group
from eoclient.emulator.sentinelhub.zarr_import.remote import remote_group

__all__ = [
    "INGEST_SECONDS",
    "ZarrRecord",
    "ZarrStore",
    "check_crs",
    "check_path",
    "collection_json",
    "ingestion",
    "status_of",
    "zarr_store",
]

_PHASES: Final = (("CREATED", 2.0), ("INGESTING", 8.0))
INGEST_SECONDS: Final = sum(seconds for _, seconds in _PHASES)
"""Emulated seconds from creation (or reingestion) to ``INGESTED`` or ``FAILED``."""
_PATH_RE: Final = re.compile(r"^[^/]+(/[^/]+)*/$")
_CRS_RE: Final = re.compile(r"^http://www\.opengis\.net/def/crs/(EPSG/0/\d+|OGC/1\.3/CRS84)$")


@dataclass
class ZarrRecord:
    """One Zarr collection; its status follows the clock from ``ingest_started``."""

    id: str
    account_id: str
    name: str
    s3_bucket: str
    path: str
    crs: str
    created: float
    ingest_started: float
    result: Ingested | None = None  # of the current ingestion, once it ended
    previous: Ingested | None = None  # of the ingestion before a reingest


@dataclass
class ZarrStore:
    """The emulated Zarr collections of one emulator (``state.stores["sh_zarr"]``)."""

    account_id: str
    collections: dict[str, ZarrRecord] = field(default_factory=dict)
    default_page: int = 5


def zarr_store(state: EmulatorState) -> ZarrStore:
    """The Zarr store of an emulator's state (created on first use)."""
    return state.store("sh_zarr", lambda: ZarrStore(account_id=new_id(state)))


def check_path(value: Any) -> str:
    """``path``: required, ends with ``/`` and does not start with one."""
    if not isinstance(value, str) or not _PATH_RE.match(value):
        raise invalid(
            "path", value, "must be a prefix in the bucket that ends with '/' and does not start with it"
        )
    return value


def check_crs(value: Any) -> str:
    """``crs``: required, an OGC CRS URL (``http://www.opengis.net/def/crs/EPSG/0/<code>``)."""
    if not isinstance(value, str) or not _CRS_RE.match(value):
        raise invalid("crs", value, "must be a CRS URL such as http://www.opengis.net/def/crs/EPSG/0/4326")
    return value


def _phase(record: ZarrRecord, state: EmulatorState) -> str | None:
    """``CREATED`` or ``INGESTING`` while the ingestion runs; ``None`` once it ended."""
    elapsed = state.clock.now() - record.ingest_started
    for status, seconds in _PHASES:
        if elapsed < seconds:
            return status
        elapsed -= seconds
    return None


async def status_of(record: ZarrRecord, state: EmulatorState) -> str:
    """The status now; the group is read (once per ingestion) when its ingestion ends.

    From the emulator's own object store, or from the real S3 server its
    deliveries go to when it has one (:mod:`.remote`).
    """
    phase = _phase(record, state)
    if phase is not None:
        return phase
    if record.result is None:
        sink = deliveries_of(state).sink
        if isinstance(sink, RemoteSink):
            store = await remote_group(sink, state.clock, record.s3_bucket, record.path)
        else:
            store = object_store(state)
        record.result = read_group(store, record.s3_bucket, record.path, record.crs)
    return "FAILED" if record.result.error else "INGESTED"


async def ingestion(record: ZarrRecord, state: EmulatorState) -> Ingested | None:
    """What the last ended ingestion found (the one before a running reingest), if any."""
    await status_of(record, state)
    return record.result or record.previous


async def collection_json(record: ZarrRecord, state: EmulatorState) -> dict[str, Any]:
    """A collection as the service answers it (computed fields once an ingestion succeeded)."""
    status = await status_of(record, state)
    found = record.result
    done = found if found is not None and found.error is None else None
    extra: dict[str, Any] = {}
    if done is not None:
        extra["bands"] = {name: dict(band) for name, band in done.bands.items()}
        if done.max_meters_per_pixel is not None:
            extra["maxMetersPerPixel"] = done.max_meters_per_pixel
    return {
        "id": record.id,
        "accountId": record.account_id,
        "name": record.name,
        "created": iso(record.created),
        "s3Bucket": record.s3_bucket,
        "path": record.path,
        "crs": record.crs,
        "status": status,
        "ingestionErrors": found.error if found is not None and status == "FAILED" else None,
        "envelope": done.envelope if done else None,
        "width": done.width if done else None,
        "height": done.height if done else None,
        "zattrs": done.zattrs if done else None,
        "additionalData": extra,
    }


def find(state: EmulatorState, cid: str) -> ZarrRecord:
    """The collection ``cid``, or a 404 in Sentinel Hub's shape."""
    record = zarr_store(state).collections.get(cid)
    if record is None:
        raise Refusal(404, None, f"Zarr collection {cid} not found")
    return record
