"""The emulated Batch Statistical request: its state machine on the emulated clock.

Lifecycle (:data:`ANALYSIS_SECONDS`, then :func:`processing_seconds` for the
whole processing)::

    CREATED --analyse--> ANALYSING -> ANALYSIS_DONE --start--> PROCESSING -> DONE
    CREATED|ANALYSING --start--> (rest of ANALYSING) -> PROCESSING -> DONE
    CREATED|ANALYSING|ANALYSIS_DONE|PROCESSING --stop--> STOPPED --start--> resumes where it stopped

Actions out of order are refused with 400 (:func:`analyse`, :func:`start`,
:func:`stop`). Each action schedules a *segment* (one job of ``state.jobs``,
kind :data:`KIND`); :func:`observe` computes where a request is from the
clock. The ``mode`` a request was created with picks its deterministic
outcome (``features``, ``evalscript``, ``out_of_pu``, ``partial``: see
:mod:`eoclient.emulator.sentinelhub.batch_statistics`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from eoclient.emulator.core.jobs import Job, JobView, Phase
from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.core.state import EmulatorState
from eoclient.emulator.sentinelhub.common import derived_seed

__all__ = [
    "ANALYSIS_SECONDS",
    "KIND",
    "BatchStatisticsStore",
    "Observation",
    "StatisticsRequest",
    "analyse",
    "batch_statistics_store",
    "find",
    "iso",
    "observe",
    "processing_seconds",
    "start",
    "stop",
]

KIND: Final = "sh.batch_statistics"
ANALYSIS_SECONDS: Final = 10.0
_STORE_KEY: Final = "sh_batch_statistics"
_FINISHED: Final = frozenset({"DONE", "PARTIAL", "FAILED"})
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
    bucket_error: str | None = None  # its output bucket cannot be written: the analysis fails


@dataclass(frozen=True)
class Observation:
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


def iso(epoch: float) -> str:
    """Emulated epoch seconds as ISO 8601 UTC with milliseconds."""
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


def observe(req: StatisticsRequest) -> Observation:
    """Where ``req`` is now."""
    seg = req.segment
    if seg is None:
        return Observation("CREATED", 0.0, req.analysed, None, None, req.created, None)
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
    return Observation(status, fraction, analysed, error, reason, last, view)


def find(store: BatchStatisticsStore, request_id: str) -> StatisticsRequest:
    """The request ``request_id``; a :class:`Refusal` (404) if there is none."""
    found = store.requests.get(request_id)
    if found is None:
        raise Refusal(404, None, f"Batch statistical request {request_id} not found")
    return found


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


def _analysis_error(req: StatisticsRequest) -> str:
    return req.bucket_error or _features_error(req)


def analyse(state: EmulatorState, req: StatisticsRequest) -> None:
    """ANALYSE: only a CREATED request; a :class:`Refusal` (400) otherwise."""
    now = observe(req)
    if now.status != "CREATED":
        raise Refusal(400, None, f"Request {req.id} is {now.status}; only a CREATED request can be analysed")
    _act(req, "ANALYSE", state.clock.now())
    if req.mode == "features" or req.bucket_error is not None:
        phases, outcome, error = [Phase("ANALYSING", ANALYSIS_SECONDS)], "FAILED", _analysis_error(req)
    else:
        phases, outcome, error = [Phase("ANALYSING", ANALYSIS_SECONDS)], "ANALYSIS_DONE", None
    _new_segment(state, req, phases, outcome, start=0.0, end=0.0, error=error)


def start(state: EmulatorState, req: StatisticsRequest) -> None:
    """START (or resume): not while PROCESSING nor once finished."""
    now = observe(req)
    if now.status == "PROCESSING":
        raise Refusal(400, None, f"Request {req.id} is already PROCESSING")
    if now.status in _FINISHED:
        raise Refusal(400, None, f"Request {req.id} has finished ({now.status}) and cannot be started")
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
        if req.mode == "features" or req.bucket_error is not None:
            _new_segment(state, req, phases, "FAILED", start=0.0, end=0.0, error=_analysis_error(req))
            return
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


def stop(state: EmulatorState, req: StatisticsRequest) -> None:
    """STOP: not once finished; a STOPPED request stays as it is."""
    now = observe(req)
    if now.status in _FINISHED:
        raise Refusal(400, None, f"Request {req.id} has finished ({now.status}) and cannot be stopped")
    if now.status == "STOPPED":
        return
    _act(req, "STOP", state.clock.now())
    seg = req.segment
    if seg is not None and not seg.is_terminal():
        seg.cancel("STOPPED")
    else:  # CREATED or ANALYSIS_DONE: nothing runs; the request just becomes STOPPED
        req.analysed = now.analysed
        _new_segment(state, req, [], "STOPPED", start=now.fraction, end=now.fraction, reason="USER_ACTION")
