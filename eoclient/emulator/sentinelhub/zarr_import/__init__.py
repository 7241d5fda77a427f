"""Emulated Sentinel Hub Zarr Import API: Zarr collections, their ingestion and their arrays.

Laid out by concern: :mod:`.reader` reads and checks a Zarr v2 group as
ingestion does; :mod:`.remote` fetches one from a real S3 server;
:mod:`.data` holds the collections and their status on the clock;
:mod:`.routes` the handlers.

Routes (Sentinel Hub app, bearer required), as the live service serves them::

    POST   /api/v1/zarr/collections                         -> 201 {"data": collection}
    GET    /api/v1/zarr/collections?search&count&viewtoken  -> {"data": [...], "links": {...}}
    GET    /api/v1/zarr/collections/{cid}                   -> {"data": collection}
    PUT    /api/v1/zarr/collections/{cid}                   -> 204 (only ``name`` changes)
    DELETE /api/v1/zarr/collections/{cid}                   -> 204
    PUT    /api/v1/zarr/collections/{cid}/reingest          -> 200 {"data": collection}
    GET    /api/v1/zarr/collections/{cid}/arrays?search&count&viewtoken
    GET    /api/v1/zarr/collections/{cid}/arrays/{name}     -> {"data": array}

Behaviour:

* A create needs ``name``, ``s3Bucket``, ``path`` (ends with ``/``, does not
  start with one) and ``crs`` (an OGC CRS URL); else 400 naming the field.
  Unknown ids and array names are 404, in Sentinel Hub's error shape.
* Status follows the emulated clock from creation (or reingestion):
  ``CREATED`` (2 s), ``INGESTING`` (8 s), then the group at ``s3://<s3Bucket>/<path>``
  is read once — from the emulator's own object store (what its S3 API
  serves; write the Zarr there first), or from the real S3 server of
  ``Emulator(s3_endpoint=...)`` (:mod:`.remote`) — and checked against the
  service's data constraints (:mod:`.reader`): ``INGESTED``, with ``width``, ``height``,
  ``envelope``, ``zattrs`` and one band per data array, or ``FAILED`` with
  ``ingestionErrors``. :data:`INGEST_SECONDS` in total.
* Arrays are those the last ended ingestion found (during a reingest, the
  previous one's); none before the first ends or after a failed one.
* A reingest is accepted in any status (the document lists no refusal) and
  starts the ingestion over.
* Paging: ``viewtoken`` with ``links.nextToken``; default page
  :attr:`ZarrStore.default_page` (5).
"""

from __future__ import annotations

from eoclient.emulator.sentinelhub.zarr_import.data import INGEST_SECONDS, ZarrStore, zarr_store
from eoclient.emulator.sentinelhub.zarr_import.routes import setup

__all__ = ["INGEST_SECONDS", "ZarrStore", "setup", "zarr_store"]
