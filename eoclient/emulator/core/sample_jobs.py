"""A generic sample job API on the Sentinel Hub app, for testing job handles.

Emulator-only (no real service has it); its client side, the job strategy the
tests drive, is :mod:`eoclient.emulator.sample_client`.

Requires a Sentinel Hub bearer like every service route. Times in requests are
emulated seconds; ``nextTry`` in answers is *real* seconds (the emulated time
to the next state change, scaled by the clock speed), never negative and 0
once the job is terminal.

``POST /_sample/jobs``
    ``{"phases": [["QUEUED", 2], ["RUNNING", 10]], "outcome": "SUCCEEDED",
    "error": "...", "results": 5, "pageSize": 2}`` (all optional; outcome one
    of ``SUCCEEDED``, ``FAILED``, ``CANCELLED``) -> 201 job body.
``GET /_sample/jobs/{id}``
    -> 200 ``{"id", "status", "progress" (0..1), "message", "nextTry",
    "error" (null unless FAILED)}``; 404 if unknown.
``POST /_sample/jobs/{id}/cancel``
    -> 200 job body with status ``CANCELLED``; 409 if already terminal.
``GET /_sample/jobs/{id}/results?cursor=C``
    -> 200 ``{"items": [{"index", "value"}, ...], "cursor": next or null}``,
    ``pageSize`` items a page; 409 unless the job SUCCEEDED.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.errors import sh_error
from eoclient.emulator.core.jobs import Job, Phase
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state

__all__ = ["DEFAULT_PHASES", "KIND", "setup"]

KIND: Final = "sample"
DEFAULT_PHASES: Final = (Phase("QUEUED", 1.0, "waiting in queue"), Phase("RUNNING", 4.0, "working"))
_OUTCOMES: Final = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


class _BadRequest(Exception):
    pass


def _job_body(job: Job, state: EmulatorState) -> dict[str, Any]:
    view = job.view()
    wait = view.next_change_in
    return {
        "id": job.id,
        "status": view.state,
        "progress": round(view.progress, 6),
        "message": view.message,
        "nextTry": 0.0 if wait is None else state.clock.to_real(wait),
        "error": view.error if view.state == "FAILED" else None,
    }


def _int_field(body: dict[str, Any], name: str, default: int, minimum: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _BadRequest(f"{name} must be an integer >= {minimum}")
    return value


def _phases(raw: Any) -> tuple[Phase, ...]:
    if raw is None:
        return DEFAULT_PHASES
    if not isinstance(raw, list):
        raise _BadRequest("phases must be a list of [state, seconds] pairs")
    phases = []
    for item in raw:
        ok = (
            isinstance(item, list)
            and len(item) in (2, 3)
            and isinstance(item[0], str)
            and isinstance(item[1], int | float)
            and not isinstance(item[1], bool)
            and item[1] >= 0
            and (len(item) == 2 or isinstance(item[2], str))
        )
        if not ok:
            raise _BadRequest(f"bad phase {item!r}: expected [state, seconds >= 0(, message)]")
        phases.append(Phase(item[0], float(item[1]), item[2] if len(item) == 3 else None))
    return tuple(phases)


async def _read_body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise _BadRequest("the request body must be JSON") from None
    if not isinstance(body, dict):
        raise _BadRequest("the request body must be a JSON object")
    return body


def _str_field(body: dict[str, Any], name: str, default: str | None) -> str | None:
    value = body.get(name, default)
    if value is not None and not isinstance(value, str):
        raise _BadRequest(f"{name} must be a string")
    return value


async def _create(request: web.Request) -> web.Response:
    state = get_state(request)
    try:
        body = await _read_body(request)
        phases = _phases(body.get("phases"))
        outcome = _str_field(body, "outcome", "SUCCEEDED")
        error = _str_field(body, "error", None)
        count = _int_field(body, "results", 5, 0)
        page_size = _int_field(body, "pageSize", 2, 1)
    except _BadRequest as exc:
        return sh_error(400, str(exc))
    if outcome not in _OUTCOMES:
        return sh_error(400, f"outcome must be one of {sorted(_OUTCOMES)}")
    results = [{"index": i, "value": round(state.rng.random(), 6)} for i in range(count)]
    job = state.jobs.create(
        KIND,
        phases,
        outcome,
        error=(error or "The sample job failed") if outcome == "FAILED" else None,
        result=results,
        data={"page_size": page_size},
    )
    return web.json_response(_job_body(job, state), status=201)


def _find(request: web.Request) -> Job | web.Response:
    job = get_state(request).jobs.get(request.match_info["id"], KIND)
    if job is None:
        return sh_error(404, f"Job {request.match_info['id']} not found")
    return job


async def _status(request: web.Request) -> web.Response:
    job = _find(request)
    if isinstance(job, web.Response):
        return job
    return web.json_response(_job_body(job, get_state(request)))


async def _cancel(request: web.Request) -> web.Response:
    job = _find(request)
    if isinstance(job, web.Response):
        return job
    if not job.cancel("CANCELLED"):
        return sh_error(409, f"Job {job.id} has already finished")
    return web.json_response(_job_body(job, get_state(request)))


async def _results(request: web.Request) -> web.Response:
    job = _find(request)
    if isinstance(job, web.Response):
        return job
    view = job.view()
    if view.state != "SUCCEEDED":
        return sh_error(409, f"Job {job.id} is {view.state}, results exist only once SUCCEEDED")
    items: list[dict[str, Any]] = job.result
    raw = request.query.get("cursor", "0")
    if not raw.isdigit() or int(raw) > len(items):
        return sh_error(400, f"invalid cursor {raw!r}")
    start = int(raw)
    end = start + int(job.data["page_size"])
    return web.json_response({"items": items[start:end], "cursor": str(end) if end < len(items) else None})


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the sample job routes to the Sentinel Hub app."""
    del state
    add_route(app, "POST", "/_sample/jobs", _create)
    add_route(app, "GET", "/_sample/jobs/{id}", _status)
    add_route(app, "POST", "/_sample/jobs/{id}/cancel", _cancel)
    add_route(app, "GET", "/_sample/jobs/{id}/results", _results, query=("cursor",))
