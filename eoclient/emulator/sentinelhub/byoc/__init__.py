"""Emulated Sentinel Hub BYOC API: collections, tiles, copies, and the files of Planet tiles.

Laid out by concern: :mod:`.data` holds the collections and tiles, their
statuses and the band rules; :mod:`.files` the generated files of Planet
tiles; :mod:`.routes` the handlers.

Routes (Sentinel Hub app, bearer required), as the live service serves them::

    POST   /api/v1/byoc/collections                        -> 201 {"data": collection}
    GET    /api/v1/byoc/collections?search&count&viewtoken -> {"data": [...], "links": {...}}
    GET    /api/v1/byoc/collections/{cid}                  -> {"data": collection}
    PUT    /api/v1/byoc/collections/{cid}                  -> 204   (band rules below)
    DELETE /api/v1/byoc/collections/{cid}                  -> 204   (its tiles go too)
    POST   /api/v1/byoc/collections/{cid}/copyTiles?toCollection=<uuid> -> 204
    POST   /api/v1/byoc/collections/{cid}/tiles            -> 201 {"data": tile}; 409 if the path exists
    GET    /api/v1/byoc/collections/{cid}/tiles?sort&path&status&count&viewtoken
    GET|PUT|DELETE /api/v1/byoc/collections/{cid}/tiles/{tid}
    POST   /api/v1/byoc/collections/{cid}/tiles/{tid}/reingest -> 204; 409 while ingesting
    GET    /api/v1/byoc/collections/{cid}/tiles/{tid}/files    -> ["name", ...]
    GET    /api/v1/byoc/collections/{cid}/tiles/{tid}/files/{path} -> bytes; Range -> 206
    HEAD   /api/v1/byoc/collections/{cid}/tiles/{tid}/files/{path} -> Content-Length

Behaviour:

* Paging: ``viewtoken`` (opaque) with ``links.nextToken`` and ``links.next``;
  the default page is small (:attr:`ByocStore.default_page`, 5) so that
  clients page; ``count`` is 1..100. ``search`` matches words against name,
  bucket (or equal the id; ``a|b`` or, ``a&b`` and; ``&`` binds tighter).
* Tile status follows the emulated clock from creation (or reingestion):
  ``WAITING`` (2 s), ``QUEUED`` (3 s), ``INGESTING`` (10 s), then
  ``INGESTED`` — or ``FAILED`` (with ``additionalData.failedIngestionCause``)
  when the path contains ``fail``. :data:`INGEST_SECONDS` in total.
* Bands (the reference's rules): at most 100; ``noData`` per band or per
  collection, not both; a band's ``sampleFormat`` never changes. Once the
  collection has a tile: bands cannot be added nor their ``bitDepth``,
  ``sampleFormat``, ``bandIndex`` or ``source`` changed (renaming, setting
  ``noData`` and removing are allowed), all bands can only be removed from
  an empty collection, and ``s3Bucket`` cannot change. Violations are 400.
* Copying tiles takes the INGESTED tiles whose path is not in the target;
  the target must have the same band names and types (``sampleFormat``,
  ``bitDepth``) or no bands (then it gets the source's bands), else 400.
* Planet collections are those whose ``s3Bucket`` starts with ``sh.tpdi.``
  (the buckets of Planet subscriptions/orders): each tile has four files
  named from the last segment of its path (``<id>.json``,
  ``<id>_metadata.json``, ``<id>_ortho_analytic_4b_sr.tif`` of 3-4 MiB,
  ``<id>_ortho_udm2.tif``). Their bytes derive from a hash of (tile, file,
  block), are the same on every request and are streamed block by block.
  Other collections answer 404 for files.
* Test knobs in :func:`byoc_store` (``state.stores["sh_byoc"]``):
  ``head_size_skew[name] = n`` makes ``HEAD`` of file ``name`` report ``n``
  bytes more than the file has; ``ignore_range`` (file names) makes ``GET``
  ignore ``Range`` and answer the whole file with 200; ``range_requests``
  logs every ``Range`` header received as ``(path, header)``.
"""

from __future__ import annotations

from eoclient.emulator.sentinelhub.byoc.data import (
    INGEST_SECONDS,
    PLANET_BUCKET_PREFIX,
    ByocStore,
    byoc_store,
)
from eoclient.emulator.sentinelhub.byoc.files import file_bytes
from eoclient.emulator.sentinelhub.byoc.routes import setup

__all__ = [
    "INGEST_SECONDS",
    "PLANET_BUCKET_PREFIX",
    "ByocStore",
    "byoc_store",
    "file_bytes",
    "setup",
]
