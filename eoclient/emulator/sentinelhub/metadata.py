"""Emulated Sentinel Hub Metadata API: the deployment locations, and metadata of user collections.

Routes (Sentinel Hub app, bearer required)::

    GET /api/v1/metadata/location                  -> [location, ...]
    GET /api/v1/metadata/location/{locationId}     -> location
    GET /api/v1/metadata/collection/byoc-{uuid}    -> BYOC collection metadata
    GET /api/v1/metadata/collection/batch-{uuid}   -> batch collection metadata
    GET /api/v1/metadata/collection/zarr-{uuid}    -> Zarr collection metadata

Behaviour:

* Locations are the deployments the emulator plays
  (:data:`~eoclient.emulator.sentinelhub.deployments.DEPLOYMENTS`), by the
  ids :data:`LOCATION_IDS` gives them, with their public URLs (as the service
  answers; the client never follows them).
* Collections are the emulator's own: BYOC collections, legacy batch
  collections and Zarr collections; an unknown id (or one that is not a UUID)
  is 404 in Sentinel Hub's error shape. Every collection is located at the
  main deployment (the emulator's buckets have no region).
* ``bands`` are the collection's bands, ``sampleType`` made of the format and
  bit depth (``UINT8``, ``UINT16``, ``FLOAT32``, ``FLOAT64``, as the document
  lists; ``INT16``, ``INT32``, ``UINT32``... likewise for the other
  combinations, which the document's enum does not list). A Zarr collection
  has bands once ingested.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.sentinelhub.batch_engine import batch_store
from eoclient.emulator.sentinelhub.byoc.data import byoc_store
from eoclient.emulator.sentinelhub.deployments import CREODIAS, MAIN, USWEST
from eoclient.emulator.sentinelhub.zarr_import.data import ingestion, zarr_store

__all__ = ["BASE", "LOCATION_IDS", "setup"]

BASE: Final = "/api/v1/metadata"
LOCATION_IDS: Final[Mapping[str, str]] = {MAIN: "aws-eu-central-1", USWEST: "aws-us-west-2", CREODIAS: "creo"}
"""Deployment URL -> its location id."""


def _location(deployment: str) -> dict[str, Any]:
    ident = LOCATION_IDS[deployment]
    return {
        "@id": f"{MAIN}{BASE}/location/{ident}",
        "id": ident,
        "url": deployment,
        "wmsUrl": f"{deployment}/ogc/wms",
        "processUrl": f"{deployment}/api/v1/process",
        "catalogUrl": f"{deployment}/api/v1/catalog/1.0.0",
    }


async def _locations(request: web.Request) -> web.Response:
    del request
    return web.json_response([_location(d) for d in LOCATION_IDS])


async def _one_location(request: web.Request) -> web.Response:
    wanted = request.match_info["lid"]
    for deployment, ident in LOCATION_IDS.items():
        if ident == wanted:
            return web.json_response(_location(deployment))
    raise Refusal(404, None, f"Location {wanted} not found")


def _sample_type(band: Mapping[str, Any]) -> str:
    return f"{band.get('sampleFormat')}{band.get('bitDepth')}"


def _metadata(kind: str, ident: str, bands: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "@id": f"{MAIN}{BASE}/collection/{kind}-{ident}",
        "id": ident,
        "location": _location(MAIN),
        "datasetType": "custom",
        "bands": [{"name": name, "sampleType": _sample_type(band)} for name, band in bands.items()],
    }


def _collection_id(request: web.Request, what: str) -> str:
    raw = request.match_info["cid"]
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise Refusal(404, None, f"{what} {raw} not found") from None


async def _byoc(request: web.Request) -> web.Response:
    ident = _collection_id(request, "BYOC collection")
    found = byoc_store(get_state(request)).collections.get(ident)
    if found is None:
        raise Refusal(404, None, f"BYOC collection {ident} not found")
    return web.json_response(_metadata("byoc", ident, found.bands))


async def _batch(request: web.Request) -> web.Response:
    ident = _collection_id(request, "Batch collection")
    found = batch_store(get_state(request)).collections.get(ident)
    if found is None:
        raise Refusal(404, None, f"Batch collection {ident} not found")
    bands = (found.get("additionalData") or {}).get("bands") or {}
    return web.json_response(_metadata("batch", ident, bands))


async def _zarr(request: web.Request) -> web.Response:
    state = get_state(request)
    ident = _collection_id(request, "Zarr collection")
    found = zarr_store(state).collections.get(ident)
    if found is None:
        raise Refusal(404, None, f"Zarr collection {ident} not found")
    done = await ingestion(found, state)
    bands = done.bands if done is not None and done.error is None else {}
    return web.json_response(_metadata("zarr", ident, bands))


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the Metadata routes to the Sentinel Hub app."""
    del state
    add_route(app, "GET", f"{BASE}/location", _locations, allow_head=False)
    add_route(app, "GET", f"{BASE}/location/{{lid}}", _one_location, allow_head=False)
    for kind, handler in (("byoc", _byoc), ("batch", _batch), ("zarr", _zarr)):
        add_route(app, "GET", f"{BASE}/collection/{kind}-{{cid}}", handler, allow_head=False)
