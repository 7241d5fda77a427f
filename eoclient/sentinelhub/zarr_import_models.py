"""Wire models of the Zarr Import API: collections, their arrays, and the bodies sent.

Names follow the OpenAPI schemas ``ZarrCollection``, ``ZarrCollectionAdditionalData``,
``ZarrArray`` and ``ZarrCollectionUpdatePayload``; unknown fields from the
server are ignored. Every method of :class:`~eoclient.sentinelhub.zarr_import.ZarrImport`
that takes one of these also takes a plain dict pasted from the documentation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Literal

from eoclient._models import Model, from_user
from eoclient.errors import ValidationError

__all__ = [
    "ZARR_STATUSES",
    "ZarrArray",
    "ZarrBand",
    "ZarrCollection",
    "ZarrCollectionAdditionalData",
    "ZarrStatus",
    "zarr_collection_body",
    "zarr_update_body",
]

ZarrStatus = Literal["CREATED", "INGESTING", "INGESTED", "FAILED"]
ZARR_STATUSES: Final[frozenset[str]] = frozenset({"CREATED", "INGESTING", "INGESTED", "FAILED"})
"""Statuses of a Zarr collection (``INGESTED`` and ``FAILED`` end an ingestion)."""

# ``ZarrCollection.path``: "must end with '/' but not start with it"; no empty segment either.
_PATH_RE: Final = re.compile(r"^[^/]+(/[^/]+)*/$")


class ZarrBand(Model):
    """One band the service made of a data array (``BYOCFormat``, read-only here).

    ``bitDepth`` is an int, not the BYOC enum: a 64-bit Zarr array is a 64-bit band.
    """

    bit_depth: int | None = None
    sample_format: str | None = None
    source: str | None = None
    band_index: int | None = None
    no_data: float | None = None


class ZarrCollectionAdditionalData(Model):
    """``ZarrCollectionAdditionalData``: the bands and the resolution limit, set by ingestion."""

    bands: dict[str, ZarrBand] | None = None
    max_meters_per_pixel: float | None = None


class ZarrCollection(Model):
    """A Zarr collection (``ZarrCollection``): ``name``, ``s3Bucket``, ``path`` and ``crs`` are required.

    ``path`` is the prefix of the Zarr group in the bucket: it ends with ``/``
    and does not start with one (``"data/cube.zarr/"``). ``crs`` is the Zarr's
    native CRS as an OGC URL (``"http://www.opengis.net/def/crs/EPSG/0/4326"``).
    The rest is set by the service: every collection it answers has an ``id``.

    Example::

        ZarrCollection(name="sst", s3_bucket="my-bucket", path="sst.zarr/",
                       crs="http://www.opengis.net/def/crs/EPSG/0/4326")
    """

    required_in_answers = ("id",)

    name: str
    s3_bucket: str
    path: str
    crs: str
    id: str | None = None
    account_id: str | None = None
    created: datetime | None = None
    status: str | None = None  # a ZarrStatus; kept open for statuses added later
    ingestion_errors: str | None = None
    envelope: dict[str, Any] | None = None
    width: float | None = None
    height: float | None = None
    zattrs: dict[str, Any] | None = None
    additional_data: ZarrCollectionAdditionalData | None = None

    @property
    def is_final(self) -> bool:
        """True once an ingestion ended (``INGESTED`` or ``FAILED``)."""
        return self.status in ("INGESTED", "FAILED")

    @property
    def bands(self) -> dict[str, ZarrBand]:
        """The bands by name (empty until ingested)."""
        if self.additional_data is None or self.additional_data.bands is None:
            return {}
        return self.additional_data.bands

    @property
    def data_type(self) -> str:
        """The ``input.data[].type`` of Process requests for this collection: ``zarr-<id>``."""
        if not self.id:
            raise ValidationError("collection.id", "the collection has no id yet (create it first)")
        return f"zarr-{self.id}"


class ZarrArray(Model):
    """One array of an ingested Zarr collection (``ZarrArray``).

    ``zarray`` is a subset of the array's ``.zarray`` metadata (``shape``,
    ``chunks``, ``dtype``...), ``zattrs`` its ``.zattrs``.
    """

    required_in_answers = ("name",)

    name: str | None = None
    s3_bucket: str | None = None
    path: str | None = None
    zarray: dict[str, Any] | None = None
    zattrs: dict[str, Any] | None = None


def _nonblank(value: str, field: str) -> str:
    if not value.strip():
        raise ValidationError(field, "must not be empty")
    return value


def zarr_collection_body(data: Any, *, field: str = "collection") -> dict[str, Any]:
    """The JSON body of a create (``ZarrCollection`` without its read-only fields)."""
    if isinstance(data, Model):
        data = data.to_dict()
    coll = from_user(data, ZarrCollection, field=field)
    _nonblank(coll.name, f"{field}.name")
    _nonblank(coll.s3_bucket, f"{field}.s3Bucket")
    _nonblank(coll.crs, f"{field}.crs")
    if not _PATH_RE.match(coll.path):
        raise ValidationError(
            f"{field}.path", f"must end with '/' and not start with it (e.g. 'cube.zarr/'), got {coll.path!r}"
        )
    return {"name": coll.name, "s3Bucket": coll.s3_bucket, "path": coll.path, "crs": coll.crs}


def zarr_update_body(data: Any, *, field: str = "collection") -> dict[str, Any]:
    """The JSON body of an update (``ZarrCollectionUpdatePayload``): only the name can change.

    ``data`` is the new name, a ``{"name": ...}`` dict, or a :class:`ZarrCollection`
    (e.g. one fetched and renamed: its read-only fields are not sent).
    """
    if isinstance(data, str):
        name: Any = data
    elif isinstance(data, ZarrCollection):
        name = data.name
    elif isinstance(data, Mapping):
        unknown = set(data) - {"name"}
        if unknown:
            raise ValidationError(
                f"{field}.{sorted(unknown)[0]}", "only the name of a Zarr collection can change"
            )
        if "name" not in data:
            raise ValidationError(f"{field}.name", "is required")
        name = data["name"]
    else:
        raise ValidationError(
            field, f"expected a name, a dict or a ZarrCollection, got {type(data).__name__}"
        )
    if not isinstance(name, str):
        raise ValidationError(f"{field}.name", f"expected a string, got {type(name).__name__}")
    return {"name": _nonblank(name, f"{field}.name")}
