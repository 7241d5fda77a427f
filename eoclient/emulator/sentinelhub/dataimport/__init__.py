"""Emulated Sentinel Hub Data Import (third-party data: Planet, Maxar).

Laid out by concern: :mod:`.data` holds orders, subscriptions, their
deliveries on the clock, quotas, files and archives, and the per-provider
checks; :mod:`.routes` the handlers. Errors are Sentinel Hub's
``{"error": {"status", "reason", "message", "code"[, "errors"]}}``.

Routes (Sentinel Hub app, bearer required), under ``/api/v1/dataimport``::

    POST /search?count&viewtoken   POST /nativesearch
    GET  /collections/{PLANET_SCOPE|PLANET_SKYSAT|MAXAR_WORLDVIEW}/products/{pid}/thumbnail -> image/png
    GET  /accountquotas            GET /accountquotas/MAXAR_WORLDVIEW
    POST /orders -> Order (CREATED)   GET /orders?status&collectionId&search&deleted&count&viewtoken
    GET|DELETE /orders/{id}        POST /orders/{id}/confirm
    POST /subscriptions            GET /subscriptions?...   GET|DELETE /subscriptions/{id}
    POST /subscriptions/{id}/confirm|cancel
    {parent}/deliveries?status&count&viewtoken, {parent}/deliveries/{did}[/files[/{file}], /archive,
    /archive/create, /archive/status, /tiles[/{tid}]]   (parent: /orders/{id} or /subscriptions/{id})

Behaviour:

* Requests are checked per provider as the document's schemas say
  (``PLANET``: itemType, productBundle, harmonizeTo, planetApiKey for orders
  and subscriptions, 1..250 itemIds; ``MAXAR``: productBands ``4BB``,
  off-nadir 0..45, sun elevation 0..90, sensor, productKernel, 1..10
  selectedImages); a violation is 400 naming the field. An unknown
  ``collectionId`` is 404.
* ``sqkm``: the area of the bounds (geometry, else bbox; CRS84 unless
  ``bounds.properties.crs`` says otherwise, then metres) — for Planet times
  the number of items (2 when ordering by filter), for Maxar at least
  :data:`~.data.MAXAR_MIN_SQKM`.
* Quota: confirming a Maxar order takes its ``sqkm`` from
  ``MAXAR_WORLDVIEW`` (1000 km² by default; ``store.quotas``); not enough is
  403 ``QuotaExceededError`` with ``errors.availableQuota``/``requiredQuota``.
* Confirming (only ``CREATED``, else 409) makes a BYOC collection if none was
  given (bucket ``sh.tpdi.orders``/``sh.tpdi.subscriptions``) and the
  deliveries: one per Planet item, one per Maxar order. A delivery is
  ``WAITING``, ``DELIVERED``, ``PREPARING`` (2 s each), then ``INGESTING`` as a
  BYOC tile of the collection, ``DONE`` when the tile is ``INGESTED``
  (``IMPORT_FAILED`` when it fails: an item id containing ``fail``;
  ``DELIVERY_FAILED`` for ``nodeliver``). An order is ``RUNNING`` until all
  its deliveries end, then ``DONE``, ``PARTIAL`` or ``FAILED``. Tiles appear
  when a Data Import call sees the delivery reach ``INGESTING``.
* A confirmed subscription gets a delivery every 10 emulated seconds until it
  is cancelled (only ``RUNNING``, else 409) or its ``timeRange.to`` passes
  (then ``COMPLETED`` once its deliveries end).
* Deleting: ``CREATED`` goes for good; ``RUNNING``/``PARTIAL`` orders and
  ``RUNNING`` subscriptions are 409; others only leave the listings
  (``deleted=true`` lists them).
* Files and archives need a ``DONE`` delivery (409 otherwise); files and the
  zip serve ``Range`` (206). An archive is ``WAITING`` 1 s, ``PREPARING``
  4 s, then ``DONE``; asking twice is 409.
"""

from __future__ import annotations

from eoclient.emulator.sentinelhub.dataimport.data import DataImportStore, dataimport_store
from eoclient.emulator.sentinelhub.dataimport.routes import setup

__all__ = ["DataImportStore", "dataimport_store", "setup"]
