"""Sentinel Hub's deployments: which collections each serves, and the listeners that play them.

The real service runs on several deployments, one host each: the main one
(``services.sentinel-hub.com``), US-West (``services-uswest2``: Landsat,
MODIS, HLS) and Creodias (Sentinel-3, Sentinel-5P). A collection that lives on
one deployment is refused by the others. The emulator serves each deployment
on a listener of its own, all sharing one state (tokens, accounts, the clock);
:func:`deployment_middleware` makes a listener refuse, before the route runs:

* a Process, Statistical, Async Process, Batch (v2 and legacy) or Batch
  Statistical request whose ``input.data[i].type`` (``processRequest.input...``
  for Batch) another deployment serves: a 400 in Sentinel Hub's shape naming
  the parameter and the collection;
* a Catalog search or collection path for another deployment's collection:
  404 ``Collection not found.`` in the Catalog's STAC shape (what the real
  main deployment answers for a Landsat search);
* any call about a job (Batch, Async Process, Batch Statistical request)
  created on another deployment: 404, as that deployment does not know it.

Collections that live on no particular deployment (Sentinel-2, Sentinel-1,
DEM, BYOC, batch collections) are served by every listener: a simplification
(the real US-West and Creodias serve some of them only).

The emulator imports nothing from the client, so :data:`HOMES` is its own
copy of where the client's catalogue says each collection lives; a test checks
that the two agree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler

from eoclient.emulator.core.refusal import Refusal, invalid
from eoclient.emulator.core.state import DEPLOYMENT_KEY, get_state

__all__ = [
    "CREODIAS",
    "DEPLOYMENTS",
    "HOMES",
    "MAIN",
    "USWEST",
    "deployment_middleware",
    "serves",
]

MAIN: Final = "https://services.sentinel-hub.com"
USWEST: Final = "https://services-uswest2.sentinel-hub.com"
CREODIAS: Final = "https://creodias.sentinel-hub.com"
DEPLOYMENTS: Final = (MAIN, USWEST, CREODIAS)
"""The public URLs of the deployments the emulator plays, the main one first."""

_USWEST_TYPES: Final = (
    "landsat-mss-l1",
    "landsat-tm-l1",
    "landsat-tm-l2",
    "landsat-etm-l1",
    "landsat-etm-l2",
    "landsat-ot-l1",
    "landsat-ot-l2",
    "modis",
    "hls",
)
_CREODIAS_TYPES: Final = ("sentinel-3-olci", "sentinel-3-slstr", "sentinel-5p-l2")

HOMES: Final[Mapping[str, str]] = {
    **dict.fromkeys(_USWEST_TYPES, USWEST),
    **dict.fromkeys(_CREODIAS_TYPES, CREODIAS),
}
"""Data collection type (also its catalog id) -> the one deployment serving it; absent: every one."""

_DATA_FIELD: Final[Mapping[str, str | None]] = {
    "/api/v1/process": None,
    "/api/v1/statistics": None,
    "/api/v1/async/process": None,
    "/api/v1/statistics/batch": None,
    "/api/v2/batch/process": "processRequest",
    "/api/v1/batch/process": "processRequest",
}
"""POST paths whose body names collections: where ``input.data`` is (``None``: at the top)."""
_JOB_PATHS: Final = (
    "/api/v1/async/process",
    "/api/v1/statistics/batch",
    "/api/v2/batch/process",
    "/api/v1/batch/process",
)
_CATALOG: Final = "/api/v1/catalog/1.0.0"
_JOBS_STORE: Final = "sh_deployment_jobs"  # job id -> the deployment that created it


def serves(deployment: str, kind: str) -> bool:
    """Whether ``deployment`` serves the collection of ``type``/catalog id ``kind``."""
    home = HOMES.get(kind)
    return home is None or home == deployment


def _foreign_types(body: Any, deployment: str, inner: str | None) -> tuple[str, str] | None:
    """``(parameter, type)`` of the first collection in a body that ``deployment`` does not serve."""
    if inner is not None:
        body = body.get(inner) if isinstance(body, dict) else None
    inp = body.get("input") if isinstance(body, dict) else None
    data = inp.get("data") if isinstance(inp, dict) else None
    if not isinstance(data, list):
        return None
    prefix = f"{inner}->input" if inner else "input"
    for i, item in enumerate(data):
        kind = item.get("type") if isinstance(item, dict) else None
        if isinstance(kind, str) and not serves(deployment, kind):
            return f"{prefix}->data[{i}]->type", kind
    return None


async def _body(request: web.Request) -> Any:
    if not request.body_exists or request.content_type != "application/json":
        return None
    try:
        return json.loads(await request.read())  # aiohttp keeps the bytes for the handler
    except (ValueError, UnicodeDecodeError):
        return None  # the route refuses it in its own words


async def _catalog_collections(request: web.Request) -> list[str]:
    """The collection ids a Catalog request is about."""
    rest = request.path[len(_CATALOG) :]
    if rest.startswith("/collections/"):
        return [rest.split("/")[2]]
    if rest != "/search":
        return []
    if request.method == "GET":
        return [c for c in request.query.get("collections", "").split(",") if c]
    body = await _body(request)
    found = body.get("collections") if isinstance(body, dict) else None
    return [c for c in found if isinstance(c, str)] if isinstance(found, list) else []


def _job_id(path: str) -> str | None:
    for base in _JOB_PATHS:
        if path.startswith(base + "/"):
            return path[len(base) + 1 :].split("/", maxsplit=1)[0]
    return None


def _jobs(request: web.Request) -> dict[str, str]:
    return get_state(request).store(_JOBS_STORE, dict)


@web.middleware
async def deployment_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse what this listener's deployment does not serve (see the module docstring)."""
    deployment = request.app[DEPLOYMENT_KEY]
    path = request.path
    job = _job_id(path)
    if job is not None:
        home = _jobs(request).get(job)
        if home is not None and home != deployment:
            raise Refusal(404, None, f"Request {job} not found")
    if path.startswith(_CATALOG):
        for collection in await _catalog_collections(request):
            if not serves(deployment, collection):
                raise Refusal(404, None, "Collection not found.")
    elif request.method == "POST" and path in _DATA_FIELD:
        foreign = _foreign_types(await _body(request), deployment, _DATA_FIELD[path])
        if foreign is not None:
            parameter, kind = foreign
            raise invalid(parameter, kind, f"collection {kind} is not available on this deployment")
    response = await handler(request)
    if request.method == "POST" and path in _JOB_PATHS and isinstance(response, web.Response):
        _remember_job(request, response, deployment)
    return response


def _remember_job(request: web.Request, response: web.Response, deployment: str) -> None:
    """Note which deployment created the job an answer names (its ``id``)."""
    if not 200 <= response.status < 300 or not isinstance(response.body, bytes):
        return
    try:
        created = json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return
    ident = created.get("id") if isinstance(created, dict) else None
    if isinstance(ident, str):
        _jobs(request)[ident] = deployment
