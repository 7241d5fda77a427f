"""Emulated Sentinel Hub Catalog: a STAC API 1.0.0 over thousands of synthetic scenes.

Routes (under ``/api/v1/catalog/1.0.0``; landing page and conformance are
public as on the live service, the rest need a Sentinel Hub bearer)::

    GET  /                                    landing page (links, conformsTo)
    GET  /conformance                         conformance classes
    GET  /collections?next=                   collections, 4 a page (``next`` links)
    GET  /collections/{cid}                   one collection (404 if unknown)
    GET  /collections/{cid}/queryables        JSON Schema of the filterable properties
    GET  /collections/{cid}/items?bbox=&datetime=&limit=&next=   OGC API Features listing
    GET  /collections/{cid}/items/{id}        one item (404 if unknown)
    GET  /search?collections=&bbox=&intersects=&datetime=&ids=&filter=&fields=
                &distinct=&limit=&next=
    POST /search                              the same as a JSON body

Any other query parameter is refused (the route declarations in :mod:`.routes`,
checked by :mod:`eoclient.emulator.core.routing`).

Data: five collections (``sentinel-2-l2a`` 5000 items, ``sentinel-2-l1c`` 3000,
``sentinel-1-grd`` 2500, ``landsat-ot-l2`` 1500, ``sentinel-3-olci`` 600),
generated on first use from a fixed seed (:data:`SEED`), so every run and every
emulator holds the same items. Each item is kept as a small record; its
GeoJSON is rendered when answered. Items are ordered by ``datetime``, then id.

Search semantics, as Sentinel Hub's: exactly one collection; ``datetime``
required (an RFC 3339 instant or interval with ``..`` for open ends; optional
on the items listing); ``limit`` 1..100 (default 10), anything else is a 400;
``bbox`` (4 or 6 numbers) and ``intersects`` (matched by the geometry's
bounding box) are exclusive; ``filter`` in CQL2 JSON (``{"op": "<", "args":
[{"property": "eo:cloud_cover"}, 20]}``) or text (``eo:cloud_cover < 20 AND
platform = 'sentinel-2a'``; the only form a GET search takes, and GET has no
``filter-lang``), read by :mod:`eoclient.cql2` (the client's parser too):
``= <> < <= > >=``, ``and``, ``or``, ``not``, ``between``, ``isNull`` over the
collection's queryables; anything else is a 400. A GET listing refuses a query
parameter it does not take, or one given twice (lists are comma-separated).
``fields`` include/exclude dotted paths (include wins; ``id`` and ``type`` are
always kept); ``distinct`` returns the sorted distinct values of a property
(``date`` is the acquisition day) as ``features``. Pages carry ``context``
``{next, limit, returned}`` and a ``next`` link: for POST ``{"method": "POST",
"body": {"next": N}, "merge": true}``, for GET the same query with ``next=N``.
Errors are STAC exceptions ``{"code": ..., "description": ...}``: a
:class:`~eoclient.emulator.core.refusal.Refusal` raised anywhere below a
handler is rendered so by the routes' ``shape=`` (:func:`.stac.stac_shape`).

Laid out by concern: :mod:`.data` generates and renders the items,
:mod:`.cql2` evaluates filters, :mod:`.query` reads a search and matches
items, :mod:`.routes` answers; :mod:`.stac` holds what every answer shares.
"""

from __future__ import annotations

from eoclient.emulator.sentinelhub.catalog.data import SEED, CatalogData, Record, catalog_data
from eoclient.emulator.sentinelhub.catalog.routes import BASE_PATH, COLLECTION_PAGE_SIZE, setup

__all__ = ["BASE_PATH", "COLLECTION_PAGE_SIZE", "SEED", "CatalogData", "Record", "catalog_data", "setup"]
