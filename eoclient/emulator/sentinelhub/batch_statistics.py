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

Listing pages are small by default (:attr:`BatchStatisticsStore.default_page`, 5).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.jobs import Job, JobView, Phase
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.sentinelhub.common import Refused, handler, json_payload, view_page
from eoclient.emulator.sentinelhub.process import (
    BadRequest,
    check_script,
    derived_seed,
    input_bands,
    parse_data,
    script_outputs,
    violation,
)
from eoclient.emulator.sentinelhub.statistics import check_calculations, parse_window, split_intervals
from eoclient.emulator.sentinelhub.storage import parse_storage, public_storage

__all__ = [
    "ANALYSIS_SECONDS",
    "KIND",
    "PATH",
    "BatchStatisticsStore",
    "StatisticsRequest",
    "batch_statistics_store",
    "processing_seconds",
    "setup",
]

PATH: Final = "/api/v1/statistics/batch"
KIND: Final = "sh.batch_statistics"
ANALYSIS_SECONDS: Final = 10.0
_STORE_KEY: Final = "sh_batch_statistics"
_OUTPUT_PLACEHOLDERS: Final = frozenset({"<REQUEST_ID>", "<ID>", "<IDENTIFIER>"})
_SORTS: Final = frozenset({"created", "created:desc", "status", "status:desc"})
_FINISHED: Final = frozenset({"DONE", "PARTIAL", "FAILED"})
_BEHAVIORS: Final = frozenset({"SKIP", "SHORTEN", "EXTEND"})
_FAIL_AT: Final = 0.4  # completion at which a failing evalscript fails
_OUT_OF_PU_AT: Final = 0.6  # completion at which an "out-of-pu" request runs out


def processing_seconds(features: int) -> float:
    """Emulated seconds the whole processing of ``features`` features takes."""
    return 10.0 + 0.5 * features


@dataclass
class StatisticsRequest:
    """One Batch Statistical request.

    Its progress is a chain of *segments*, one emulator job per user action
    (analyse, start, stop); ``segment.data`` holds the completion fractions at
    which the segment's processing starts and ends and, if it ends STOPPED,
    why. ``analysed`` says whether an earlier segment finished the analysis.
    """

    id: str
    created: float
    body: dict[str, Any]
    features: int
    intervals: int
    total_pu: float
    mode: str | None  # "features" | "evalscript" | "out_of_pu" | "partial" | None
    user_action: str = "NONE"
    user_action_updated: float | None = None
    segment: Job | None = None
    analysed: bool = False


@dataclass(frozen=True)
class _Now:
    """A request as seen now."""

    status: str
    fraction: float  # completion 0..1
    analysed: bool
    error: str | None
    reason: str | None
    last_updated: float
    view: JobView | None


@dataclass
class BatchStatisticsStore:
    """The emulated Batch Statistical requests of one emulator (insertion order is creation order)."""

    account_id: str
    requests: dict[str, StatisticsRequest] = field(default_factory=dict)
    default_page: int = 5


def batch_statistics_store(state: EmulatorState) -> BatchStatisticsStore:
    """The store of an emulator's state (created on first use)."""
    return state.store(
        _STORE_KEY, lambda: BatchStatisticsStore(account_id=_uuid_from(derived_seed(state, _STORE_KEY)))
    )


def _uuid_from(number: int) -> str:
    digest = hashlib.sha256(str(number).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-a{digest[17:20]}-{digest[20:32]}"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- where a request is ------------------------------------------------------------------------


def _phase_start(job: Job, name: str) -> tuple[float, float] | None:
    """``(start, duration)`` in emulated seconds of the phase ``name`` of a segment, if it has one."""
    start = 0.0
    for phase in job.phases:
        if phase.state == name:
            return start, phase.duration
        start += phase.duration
    return None


def observe(req: StatisticsRequest) -> _Now:
    """Where ``req`` is now."""
    seg = req.segment
    if seg is None:
        return _Now("CREATED", 0.0, req.analysed, None, None, req.created, None)
    view = seg.view()
    start_f, end_f = float(seg.data["start"]), float(seg.data["end"])
    # Progress stops where a stop caught it.
    stopped_at = seg.cancelled_at if view.cancelled else None
    elapsed = view.elapsed if stopped_at is None else min(view.elapsed, stopped_at - seg.created_at)
    analysis = _phase_start(seg, "ANALYSING")
    analysed = req.analysed or (analysis is not None and elapsed >= analysis[0] + analysis[1])
    if view.state == "ANALYSIS_DONE":
        analysed = True
    processing = _phase_start(seg, "PROCESSING")
    fraction = start_f
    if processing is not None:
        p0, duration = processing
        done = 1.0 if duration <= 0 else min(1.0, max(0.0, (elapsed - p0) / duration))
        fraction = start_f + (end_f - start_f) * done
    if view.state in {"DONE", "PARTIAL"}:
        fraction = 1.0
    status = view.state
    reason = None
    if status == "STOPPED":
        reason = "USER_ACTION" if view.cancelled else str(seg.data.get("reason", "USER_ACTION"))
    if view.terminal:
        end = seg.cancelled_at if stopped_at is not None else seg.created_at + seg.duration
        last = end if end is not None else seg.created_at
    elif status == "PROCESSING":
        last = seg.clock.now()
    else:
        last = seg.created_at
    error = view.error if status in {"FAILED", "PARTIAL"} else None
    return _Now(status, fraction, analysed, error, reason, last, view)


def _status_body(req: StatisticsRequest) -> dict[str, Any]:
    now = observe(req)
    body: dict[str, Any] = {
        "id": req.id,
        "status": now.status,
        "completionPercentage": round(now.fraction * 100, 2),
        "lastUpdated": _iso(now.last_updated),
        "costPu": round(req.total_pu * now.fraction, 3),
        "created": _iso(req.created),
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
        body["userActionUpdated"] = _iso(req.user_action_updated)
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
    """Check a request like the service; raises :class:`~eoclient.emulator.sentinelhub.process.BadRequest`."""
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    inp = body.get("input")
    if not isinstance(inp, dict):
        raise violation("input", inp, "must not be null")
    features_url = parse_storage(inp.get("features"), "input->features")
    data = parse_data(inp.get("data"))
    agg = body.get("aggregation")
    if not isinstance(agg, dict):
        raise violation("aggregation", agg, "must not be null")
    evalscript = agg.get("evalscript")
    reference = agg.get("evalscriptReference")
    if evalscript is None and reference is None:
        raise violation(
            "aggregation->evalscript", None, "either evalscript or evalscriptReference must be specified"
        )
    if reference is not None:
        parse_storage(reference, "aggregation->evalscriptReference")
    if evalscript is not None and (not isinstance(evalscript, str) or not evalscript.strip()):
        raise violation("aggregation->evalscript", evalscript, "must not be blank")
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
        raise violation(
            "aggregation", None, 'only one pair of parameters "width"/"height" or "resx"/"resy" may be set'
        )
    for name, value in sizes.items():
        if value is None:
            continue
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise violation(f"aggregation->{name}", value, "must be a positive number")
        if name in {"width", "height"} and (not isinstance(value, int) or value > 2500):
            raise violation(f"aggregation->{name}", value, "must be an integer between 1 and 2500")


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


# -- handlers ------------------------------------------------------------------------------------


def _find(request: web.Request) -> tuple[BatchStatisticsStore, StatisticsRequest]:
    store = batch_statistics_store(get_state(request))
    request_id = request.match_info["id"]
    found = store.requests.get(request_id)
    if found is None:
        raise Refused(f"Batch statistical request {request_id} not found", status=404)
    return store, found


@handler
async def _create(request: web.Request) -> web.Response:
    state = get_state(request)
    store = batch_statistics_store(state)
    body = await json_payload(request)
    if isinstance(body, web.Response):
        return body
    try:
        checked = check_request(body)
    except BadRequest as exc:
        return exc.response()
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
    return web.json_response(_task_body(req, store), status=201)


@handler
async def _list(request: web.Request) -> web.Response:
    store = batch_statistics_store(get_state(request))
    sort = request.query.get("sort")
    if sort is not None and sort not in _SORTS:
        raise Refused(f"sort must be one of {sorted(_SORTS)}")
    items = [_task_body(r, store) for r in store.requests.values()]
    if sort is not None:
        key = sort.split(":")[0]
        items.sort(key=lambda item: item[key], reverse=sort.endswith(":desc"))
    return web.json_response(view_page(request, items, store.default_page))


@handler
async def _get(request: web.Request) -> web.Response:
    store, req = _find(request)
    return web.json_response(_task_body(req, store))


@handler
async def _status(request: web.Request) -> web.Response:
    _, req = _find(request)
    return web.json_response(_status_body(req))


def _act(req: StatisticsRequest, action: str, now: float) -> None:
    req.user_action = action
    req.user_action_updated = now


def _new_segment(
    state: EmulatorState,
    req: StatisticsRequest,
    phases: list[Phase],
    outcome: str,
    *,
    start: float,
    end: float,
    error: str | None = None,
    reason: str | None = None,
) -> None:
    data: dict[str, Any] = {"start": start, "end": end}
    if reason is not None:
        data["reason"] = reason
    req.segment = state.jobs.create(KIND, phases, outcome, error=error, data=data)


def _features_error(req: StatisticsRequest) -> str:
    features = (req.body.get("input") or {}).get("features") or {}
    info: Any = next(iter(features.values()), {}) if isinstance(features, dict) else {}
    url = info.get("url", "the features location") if isinstance(info, dict) else "the features location"
    return f"Failed to read features from {url}: not a valid GeoPackage"


@handler
async def _analyse(request: web.Request) -> web.Response:
    state = get_state(request)
    _, req = _find(request)
    now = observe(req)
    if now.status != "CREATED":
        raise Refused(f"Request {req.id} is {now.status}; only a CREATED request can be analysed")
    _act(req, "ANALYSE", state.clock.now())
    if req.mode == "features":
        phases, outcome, error = [Phase("ANALYSING", ANALYSIS_SECONDS)], "FAILED", _features_error(req)
    else:
        phases, outcome, error = [Phase("ANALYSING", ANALYSIS_SECONDS)], "ANALYSIS_DONE", None
    _new_segment(state, req, phases, outcome, start=0.0, end=0.0, error=error)
    return web.Response(status=204)


@handler
async def _start(request: web.Request) -> web.Response:
    state = get_state(request)
    _, req = _find(request)
    now = observe(req)
    if now.status == "PROCESSING":
        raise Refused(f"Request {req.id} is already PROCESSING")
    if now.status in _FINISHED:
        raise Refused(f"Request {req.id} has finished ({now.status}) and cannot be started")
    _act(req, "START", state.clock.now())
    if now.status == "STOPPED" and now.reason == "OUT_OF_PU" and req.mode == "out_of_pu":
        req.mode = None  # the account was topped up: this time it finishes
    req.analysed = now.analysed
    phases: list[Phase] = []
    if not now.analysed:
        remaining = ANALYSIS_SECONDS
        if now.status == "ANALYSING" and now.view is not None and now.view.next_change_in is not None:
            remaining = now.view.next_change_in
        phases.append(Phase("ANALYSING", remaining))
        if req.mode == "features":
            _new_segment(state, req, phases, "FAILED", start=0.0, end=0.0, error=_features_error(req))
            return web.Response(status=204)
    begin = now.fraction
    full = processing_seconds(req.features)
    outcome, end, error, reason = "DONE", 1.0, None, None
    if req.mode == "evalscript":
        outcome, end = "FAILED", max(begin, _FAIL_AT)
        error = "Evalscript execution failed for a feature: ReferenceError: fail is not defined"
    elif req.mode == "out_of_pu" and begin < _OUT_OF_PU_AT:
        outcome, end, reason = "STOPPED", _OUT_OF_PU_AT, "OUT_OF_PU"
    elif req.mode == "partial":
        outcome = "PARTIAL"
        error = f"{max(1, req.features // 20)} of {req.features} features failed: no data in the time range"
    phases.append(Phase("PROCESSING", full * (end - begin)))
    _new_segment(state, req, phases, outcome, start=begin, end=end, error=error, reason=reason)
    return web.Response(status=204)


@handler
async def _stop(request: web.Request) -> web.Response:
    state = get_state(request)
    _, req = _find(request)
    now = observe(req)
    if now.status in _FINISHED:
        raise Refused(f"Request {req.id} has finished ({now.status}) and cannot be stopped")
    if now.status == "STOPPED":
        return web.Response(status=204)
    _act(req, "STOP", state.clock.now())
    seg = req.segment
    if seg is not None and not seg.is_terminal():
        seg.cancel("STOPPED")
    else:  # CREATED or ANALYSIS_DONE: nothing runs; the request just becomes STOPPED
        req.analysed = now.analysed
        _new_segment(state, req, [], "STOPPED", start=now.fraction, end=now.fraction, reason="USER_ACTION")
    return web.Response(status=204)


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the Batch Statistical routes to the Sentinel Hub app."""
    batch_statistics_store(state)
    add_route(app, "POST", PATH, _create)
    add_route(app, "GET", PATH, _list, query=("count", "viewtoken", "sort"))
    add_route(app, "GET", PATH + "/{id}", _get)
    add_route(app, "GET", PATH + "/{id}/status", _status)
    add_route(app, "POST", PATH + "/{id}/analyse", _analyse)
    add_route(app, "POST", PATH + "/{id}/start", _start)
    add_route(app, "POST", PATH + "/{id}/stop", _stop)
