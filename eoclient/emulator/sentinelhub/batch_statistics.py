"""Emulated Sentinel Hub Batch Statistical API.

Routes (Sentinel Hub app, bearer required), as the live service serves them::

    POST /api/v1/statistics/batch                  -> 201 request (BatchStatisticsTaskDto), CREATED
    GET  /api/v1/statistics/batch?count&viewtoken&sort -> {"data": [...], "links": {...}}
    GET  /api/v1/statistics/batch/{id}             -> the request
    GET  /api/v1/statistics/batch/{id}/status      -> {"id", "status", "completionPercentage",
                                                       "costPu", "created", "lastUpdated",
                                                       "error"?, "stoppedStatusReason"?}
    POST /api/v1/statistics/batch/{id}/analyse     -> 204
    POST /api/v1/statistics/batch/{id}/start       -> 204
    POST /api/v1/statistics/batch/{id}/stop        -> 204

Lifecycle on the emulated clock (:data:`ANALYSIS_SECONDS`, then
:func:`processing_seconds` for the whole processing)::

    CREATED --analyse--> ANALYSING -> ANALYSIS_DONE --start--> PROCESSING -> DONE
    CREATED|ANALYSING --start--> (rest of ANALYSING) -> PROCESSING -> DONE
    CREATED|ANALYSING|ANALYSIS_DONE|PROCESSING --stop--> STOPPED --start--> resumes where it stopped

Actions out of order answer 400 (the only refusal the OpenAPI document lists
for them): analyse unless CREATED; start while PROCESSING or once finished;
stop once DONE, PARTIAL or FAILED (stopping a STOPPED request is a no-op, 204).
``completionPercentage`` grows 0..100 through PROCESSING; ``costPu`` grows
with it. ``userAction`` records the last action.

Deterministic outcomes, for tests:

* ``fail`` in the features URL: FAILED at the end of the analysis
  (``error``: the GeoPackage cannot be read);
* ``fail`` in the evalscript: FAILED at 40 % of processing;
* ``out-of-pu`` in the output URL: STOPPED at 60 % with ``stoppedStatusReason``
  ``OUT_OF_PU`` (a later start resumes and finishes: PUs were topped up);
* ``partial`` in the features URL: PARTIAL, with an ``error`` naming the
  features that failed.

The body is checked like the service checks it: ``input.features`` (``s3``
or ``gs``), ``input.data``, ``aggregation`` (``timeRange``,
``aggregationInterval``, ``evalscript`` or ``evalscriptReference``,
width/height or resx/resy), ``calculations`` (as for the Statistical API) and
``output`` (a templated URL needs ``<ID>`` or ``<IDENTIFIER>``). Only JSON
bodies are taken (415 otherwise). Bucket keys are never shown back.

Listing pages are small by default (``BatchStatisticsStore.default_page``, 5).
The state machine is in :mod:`eoclient.emulator.sentinelhub.batch_statistics_engine`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.deliveries import deliveries_of
from eoclient.emulator.core.refusal import Refusal, invalid, json_body
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.sentinelhub import batch_statistics_engine as engine
from eoclient.emulator.sentinelhub.batch_statistics_engine import (
    BatchStatisticsStore,
    StatisticsRequest,
    batch_statistics_store,
    iso,
    observe,
)
from eoclient.emulator.sentinelhub.common import view_page
from eoclient.emulator.sentinelhub.outputs import StatisticsOutputs
from eoclient.emulator.sentinelhub.process.evalscript import check_script, input_bands, script_outputs
from eoclient.emulator.sentinelhub.process.validation import parse_data
from eoclient.emulator.sentinelhub.statistics import check_calculations, parse_window, split_intervals
from eoclient.emulator.sentinelhub.storage import bucket_of, parse_storage, public_storage

__all__ = ["PATH", "check_request", "setup"]

PATH: Final = "/api/v1/statistics/batch"
_OUTPUT_PLACEHOLDERS: Final = frozenset({"<REQUEST_ID>", "<ID>", "<IDENTIFIER>"})
_SORTS: Final = frozenset({"created", "created:desc", "status", "status:desc"})


def _status_body(req: StatisticsRequest) -> dict[str, Any]:
    now = observe(req)
    body: dict[str, Any] = {
        "id": req.id,
        "status": now.status,
        "completionPercentage": round(now.fraction * 100, 2),
        "lastUpdated": iso(now.last_updated),
        "costPu": round(req.total_pu * now.fraction, 3),
        "created": iso(req.created),
    }
    if now.error is not None:
        body["error"] = now.error
    if now.reason is not None:
        body["stoppedStatusReason"] = now.reason
    return body


def _task_body(req: StatisticsRequest, store: BatchStatisticsStore) -> dict[str, Any]:
    body = _status_body(req)
    body["request"] = req.body
    body["userAction"] = req.user_action
    if req.user_action_updated is not None:
        body["userActionUpdated"] = iso(req.user_action_updated)
    body["domainAccountId"] = store.account_id
    body["projectId"] = store.account_id
    return body


# -- checking a new request -------------------------------------------------------------------


@dataclass(frozen=True)
class _Checked:
    features_url: str
    output_url: str
    evalscript: str
    intervals: int
    bands: int
    collections: int


def check_request(body: Any) -> _Checked:
    """Check a request like the service; a bad one raises a ``Refusal``."""
    if not isinstance(body, dict):
        raise Refusal(400, None, "The request body must be a JSON object")
    inp = body.get("input")
    if not isinstance(inp, dict):
        raise invalid("input", inp, "must not be null")
    features_url = parse_storage(inp.get("features"), "input->features")
    data = parse_data(inp.get("data"))
    agg = body.get("aggregation")
    if not isinstance(agg, dict):
        raise invalid("aggregation", agg, "must not be null")
    evalscript = agg.get("evalscript")
    reference = agg.get("evalscriptReference")
    if evalscript is None and reference is None:
        raise invalid(
            "aggregation->evalscript", None, "either evalscript or evalscriptReference must be specified"
        )
    if reference is not None:
        parse_storage(reference, "aggregation->evalscriptReference")
    if evalscript is not None and (not isinstance(evalscript, str) or not evalscript.strip()):
        raise invalid("aggregation->evalscript", evalscript, "must not be blank")
    start, end, months, span, behavior = parse_window(agg)
    _check_size(agg)
    script = evalscript if isinstance(evalscript, str) else ""
    if script:
        check_script(script)
        outputs = {o.id: o for o in script_outputs(script) if o.id != "dataMask"}
        check_calculations(body.get("calculations"), outputs)
    intervals = split_intervals(start, end, months, span, behavior)
    output_url = parse_storage(
        body.get("output"),
        "output",
        placeholders=_OUTPUT_PLACEHOLDERS,
        require_one_of=frozenset({"<ID>", "<IDENTIFIER>"}),
    )
    return _Checked(
        features_url, output_url, script, len(intervals), input_bands(script) if script else 3, len(data)
    )


def _check_size(agg: dict[str, Any]) -> None:
    sizes = {k: agg.get(k) for k in ("width", "height", "resx", "resy")}
    if (sizes["width"] is not None or sizes["height"] is not None) and (
        sizes["resx"] is not None or sizes["resy"] is not None
    ):
        raise invalid(
            "aggregation", None, 'only one pair of parameters "width"/"height" or "resx"/"resy" may be set'
        )
    for name, value in sizes.items():
        if value is None:
            continue
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise invalid(f"aggregation->{name}", value, "must be a positive number")
        if name in {"width", "height"} and (not isinstance(value, int) or value > 2500):
            raise invalid(f"aggregation->{name}", value, "must be an integer between 1 and 2500")


def _public(body: dict[str, Any]) -> dict[str, Any]:
    """The request as shown back: every bucket key left out."""
    out: dict[str, Any] = json.loads(json.dumps(body))
    inp = out.get("input") or {}
    if "features" in inp:
        inp["features"] = public_storage(inp["features"])
    agg = out.get("aggregation") or {}
    if "evalscriptReference" in agg:
        agg["evalscriptReference"] = public_storage(agg["evalscriptReference"])
    if "output" in out:
        out["output"] = public_storage(out["output"])
    return out


def _mode(checked: _Checked) -> str | None:
    features, script, output = (
        checked.features_url.lower(),
        checked.evalscript.lower(),
        checked.output_url.lower(),
    )
    if "fail" in features:
        return "features"
    if "fail" in script:
        return "evalscript"
    if "out-of-pu" in output:
        return "out_of_pu"
    if "partial" in features:
        return "partial"
    return None


def _find(request: web.Request) -> tuple[BatchStatisticsStore, StatisticsRequest]:
    store = batch_statistics_store(get_state(request))
    return store, engine.find(store, request.match_info["id"])


async def _create(request: web.Request) -> web.Response:
    state = get_state(request)
    store = batch_statistics_store(state)
    body = await json_body(request, media_type=True)
    checked = check_request(body)
    digest = hashlib.sha256(checked.features_url.encode()).digest()
    features = 10 + int.from_bytes(digest[:2], "big") % 191
    per_unit = 0.01 * max(checked.bands, 1) / 3 * checked.collections
    req = StatisticsRequest(
        id=state.jobs.new_id(),
        created=state.clock.now(),
        body=_public(body),
        features=features,
        intervals=checked.intervals,
        total_pu=max(1.0, features * max(checked.intervals, 1) * per_unit),
        mode=_mode(checked),
    )
    store.requests[req.id] = req
    deliveries_of(state).register(StatisticsOutputs(req, checked.output_url))
    return web.json_response(_task_body(req, store), status=201)


async def _list(request: web.Request) -> web.Response:
    store = batch_statistics_store(get_state(request))
    sort = request.query.get("sort")
    if sort is not None and sort not in _SORTS:
        raise Refusal(400, None, f"sort must be one of {sorted(_SORTS)}")
    items = [_task_body(r, store) for r in store.requests.values()]
    if sort is not None:
        key = sort.split(":")[0]
        items.sort(key=lambda item: item[key], reverse=sort.endswith(":desc"))
    return web.json_response(view_page(request, items, store.default_page))


async def _get(request: web.Request) -> web.Response:
    store, req = _find(request)
    return web.json_response(_task_body(req, store))


async def _status(request: web.Request) -> web.Response:
    _, req = _find(request)
    return web.json_response(_status_body(req))


def _action(act: Any) -> Any:
    async def handle(request: web.Request) -> web.Response:
        _, req = _find(request)
        state = get_state(request)
        url = ((req.body.get("output") or {}).get("s3") or {}).get("url")
        if act is not engine.stop and isinstance(url, str):
            # The service checks the output bucket before it works: one it cannot write fails the analysis.
            req.bucket_error = await deliveries_of(state).bucket_error(bucket_of(url))
        act(state, req)
        return web.Response(status=204)

    handle.__name__ = f"_{act.__name__}"
    return handle


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the Batch Statistical routes to the Sentinel Hub app."""
    batch_statistics_store(state)
    add_route(app, "POST", PATH, _create)
    add_route(app, "GET", PATH, _list, query=("count", "viewtoken", "sort"))
    add_route(app, "GET", PATH + "/{id}", _get)
    add_route(app, "GET", PATH + "/{id}/status", _status)
    add_route(app, "POST", PATH + "/{id}/analyse", _action(engine.analyse))
    add_route(app, "POST", PATH + "/{id}/start", _action(engine.start))
    add_route(app, "POST", PATH + "/{id}/stop", _action(engine.stop))
