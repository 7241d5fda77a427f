"""Emulated Sentinel Hub Batch Process API v2 (and, through :mod:`.batch_v1`, the legacy API).

Routes (Sentinel Hub app, bearer required), as the live service serves them::

    POST /api/v2/batch/process                    -> 201 task (status CREATED)
    GET  /api/v2/batch/process?count&viewtoken&sort -> {"data": [task, ...], "links": {...}}
    GET  /api/v2/batch/process/{id}               -> task; 404 if unknown
    PUT  /api/v2/batch/process/{id}               {"description"} -> 200 the request; 409 while
                                                  ANALYSING or PROCESSING
    POST /api/v2/batch/process/{id}/analyse       -> 204
    POST /api/v2/batch/process/{id}/start         -> 204
    POST /api/v2/batch/process/{id}/stop          -> 204
    (errors: 400 for a transition the status does not allow, 404 unknown id)

A task is ``{"id", "request", "domainAccountId", "projectId", "status",
"userAction", "userActionUpdated", "created", "lastUpdated",
"completionPercentage", "costPU", "error", "stoppedStatusReason"}`` (OpenAPI
``BatchV2ProcessTask``); ``request`` is the submitted body with storage keys
left out. The body is checked as the service checks it (400
``COMMON_BAD_PAYLOAD`` naming the parameter): an evalscript, ``input.data``,
bounds for a tiling grid, a known grid with one of its resolutions, a
GeoPackage or delivery location on S3/GCS, TIFF/JSON responses for raster and
``zarr/array`` ones for Zarr output. The state machine, its timing and the
``description`` triggers for FAILED and failed tiles are in
:mod:`eoclient.emulator.sentinelhub.batch_engine`. Listings are 5 a page by default;
``sort`` is ``created``, ``created:desc``, ``status`` or ``status:desc``.
"""

from __future__ import annotations

import copy
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.refusal import invalid, json_body
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.sentinelhub import batch_v1 as sh_batch_v1
from eoclient.emulator.sentinelhub.batch_engine import (
    BatchRecord,
    BatchStore,
    action_handler,
    add_record,
    batch_store,
    buffers_of,
    check_description,
    check_process_request,
    find_record,
    grid_of,
    iso,
    sorted_records,
    tiling,
)
from eoclient.emulator.sentinelhub.common import view_page
from eoclient.emulator.sentinelhub.storage import parse_storage, public_storage

__all__ = ["PATH", "setup", "task_json"]

PATH: Final = "/api/v2/batch/process"
_RASTER_PLACEHOLDERS: Final = frozenset({"<requestId>", "<tileName>", "<outputId>", "<format>"})


# -- checking a submitted body --------------------------------------------------------------


def _check_v2(body: dict[str, Any]) -> dict[str, Any]:
    """Check a v2 body; returns the tiling figures of the request."""
    inp = body.get("input")
    if not isinstance(inp, dict):
        raise invalid("input", inp, "must not be null")
    out = body.get("output")
    if not isinstance(out, dict):
        raise invalid("output", out, "must not be null")
    kind = out.get("type")
    if kind not in ("raster", "zarr"):
        raise invalid("output->type", kind, "must be one of raster, zarr")
    if kind == "raster":
        parse_storage(
            out.get("delivery"),
            "output->delivery",
            placeholders=_RASTER_PLACEHOLDERS,
            require_one_of=frozenset({"<tileName>"}),
        )
    else:
        parse_storage(out.get("delivery"), "output->delivery", placeholders=frozenset({"<requestId>"}))
        group = out.get("group")
        if not isinstance(group, dict) or group.get("zarr_format") != 2:
            raise invalid("output->group->zarr_format", group, "only Zarr format 2 is supported")
    geopackage = inp.get("type") == "geopackage"
    process_request = check_process_request(
        body.get("processRequest"), zarr=kind == "zarr", bounds_required=not geopackage
    )
    check_description(body)
    if geopackage:
        parse_storage(inp.get("features"), "input->features")
        return tiling(process_request, None, None, (0, 0), bounds_required=False)
    if inp.get("type") != "tiling-grid":
        raise invalid("input->type", inp.get("type"), "must be one of tiling-grid, geopackage")
    grid = grid_of(inp.get("id"), inp.get("resolution"), "input")
    return tiling(process_request, grid, float(inp["resolution"]), buffers_of(inp, "input"))


def _shown(body: dict[str, Any]) -> dict[str, Any]:
    """The request as the service shows it back: storage keys and credentials left out."""
    shown = copy.deepcopy(body)
    for part, key in (("output", "delivery"), ("input", "features")):
        section = shown.get(part)
        if isinstance(section, dict) and key in section:
            section[key] = public_storage(section[key])
    return shown


# -- answers ---------------------------------------------------------------------------------


def task_json(record: BatchRecord, store: BatchStore, now: float) -> dict[str, Any]:
    """A v2 request as ``BatchV2ProcessTask``."""
    snap = record.snapshot(now)
    out: dict[str, Any] = {
        "id": record.id,
        "request": _shown(record.body),
        "domainAccountId": store.account_id,
        "projectId": store.account_id,
        "status": snap.status,
        "userAction": record.user_action,
        "created": iso(record.created),
        "lastUpdated": iso(max(record.updated, record.created)),
        "completionPercentage": round(snap.fraction * 100, 2),
        "costPU": round(snap.fraction * record.estimate, 3),
    }
    if record.user_action_at is not None:
        out["userActionUpdated"] = iso(record.user_action_at)
    if snap.error:
        out["error"] = snap.error
    if snap.status == "STOPPED" and record.stopped_reason:
        out["stoppedStatusReason"] = record.stopped_reason
    return out


# -- handlers ------------------------------------------------------------------------------


async def _create(request: web.Request) -> web.Response:
    state = get_state(request)
    body = await json_body(request)
    record = add_record(state, "v2", body, _check_v2(body))
    return web.json_response(task_json(record, batch_store(state), record.created), status=201)


async def _list(request: web.Request) -> web.Response:
    state = get_state(request)
    store = batch_store(state)
    now = state.clock.now()
    records = sorted_records(
        [r for r in store.records.values() if r.api == "v2"], request.query.get("sort"), now
    )
    page = view_page(request, [task_json(r, store, now) for r in records], store.default_page)
    return web.json_response(page)


async def _get(request: web.Request) -> web.Response:
    state = get_state(request)
    record = find_record(request, "v2")
    return web.json_response(task_json(record, batch_store(state), state.clock.now()))


async def _update(request: web.Request) -> web.Response:
    state = get_state(request)
    record = find_record(request, "v2")
    body = await json_body(request)
    description = check_description(body)
    now = state.clock.now()
    record.check_updatable(now)
    if description is not None:
        record.body["description"] = description
        record.updated = now
    return web.json_response(_shown(record.body))  # the request itself, as the OpenAPI document says


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the Batch v2 routes (and the legacy batch routes) to the Sentinel Hub app."""
    add_route(app, "POST", PATH, _create)
    add_route(app, "GET", PATH, _list, query=("count", "viewtoken", "sort"))
    add_route(app, "GET", f"{PATH}/{{id}}", _get)
    add_route(app, "PUT", f"{PATH}/{{id}}", _update)
    for action in ("analyse", "start", "stop"):
        add_route(app, "POST", f"{PATH}/{{id}}/{action}", action_handler("v2", action))
    sh_batch_v1.setup(app, state)
