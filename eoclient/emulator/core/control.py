"""Control routes under ``/_emulator/`` for an emulator in another process.

No bearer, no faults, not recorded; both apps serve them (they act on the
shared state, faults and token expiry on the service of the app addressed
unless the body names another).

``GET /_emulator/health``
    -> ``{"status": "ok", "service": ..., "now": <emulated epoch seconds>}``
``POST /_emulator/expire-tokens`` ``{"service": "sentinelhub"|"spaceknow"|null}``
    -> ``{"expired": n}`` (an empty body means this app's service)
``POST /_emulator/clock/advance`` ``{"seconds": 60}`` -> ``{"now": ...}``
``POST /_emulator/faults`` ``{"kind": "rate_limit", "count": 1, ...}``
    (the keyword arguments of :meth:`FaultInjector.inject`) -> 201
``DELETE /_emulator/faults`` -> 204
``GET /_emulator/stats?path_prefix=/api/v1/process&since=<epoch s>``
    -> ``{"requests": n, "statuses": {"200": n, ...}, "max_per_second": n,
    "in_flight": n, "max_in_flight": n}``: what clients sent (token requests
    not counted in flight); ``requests``, ``statuses`` and ``max_per_second``
    (the most requests started within any one second) count the requests
    whose path starts with ``path_prefix``, from ``since`` on
``DELETE /_emulator/stats`` -> 204: ``max_in_flight`` starts again from now
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from eoclient.emulator.core.state import SERVICE_KEY, EmulatorState, get_state
from eoclient.emulator.core.tokens import SENTINELHUB, SPACEKNOW

__all__ = ["setup"]

_INJECT_ARGS = frozenset(
    {"kind", "count", "service", "path_prefix", "method", "status", "retry_after", "seconds"}
)


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    body = await request.json()
    if not isinstance(body, dict):
        raise TypeError("the body must be a JSON object")
    return body


async def _health(request: web.Request) -> web.Response:
    state = get_state(request)
    return web.json_response({"status": "ok", "service": request.app[SERVICE_KEY], "now": state.clock.now()})


async def _expire_tokens(request: web.Request) -> web.Response:
    try:
        body = await _body(request)
    except (ValueError, TypeError) as exc:
        return _bad(str(exc))
    service = body.get("service", request.app[SERVICE_KEY])
    if service not in (SENTINELHUB, SPACEKNOW, None):
        return _bad(f"unknown service {service!r}")
    return web.json_response({"expired": get_state(request).tokens.expire(service)})


async def _advance(request: web.Request) -> web.Response:
    state = get_state(request)
    try:
        seconds = float((await _body(request)).get("seconds", 0))
        state.clock.advance(seconds)
    except (ValueError, TypeError) as exc:
        return _bad(str(exc))
    return web.json_response({"now": state.clock.now()})


async def _inject(request: web.Request) -> web.Response:
    try:
        body = await _body(request)
    except (ValueError, TypeError) as exc:
        return _bad(str(exc))
    unknown = set(body) - _INJECT_ARGS
    if unknown:
        return _bad(f"unknown fields {sorted(unknown)}")
    try:
        fault = get_state(request).faults.inject(**body)
    except (ValueError, TypeError) as exc:
        return _bad(str(exc))
    return web.json_response({"kind": fault.kind, "remaining": fault.remaining}, status=201)


async def _clear(request: web.Request) -> web.Response:
    get_state(request).faults.clear()
    return web.Response(status=204)


async def _stats(request: web.Request) -> web.Response:
    state = get_state(request)
    prefix = request.query.get("path_prefix", "")
    try:
        since = float(request.query.get("since", "-inf"))
    except ValueError as exc:
        return _bad(str(exc))
    records = [r for r in state.requests if r.path.startswith(prefix) and r.time >= since]
    statuses: dict[str, int] = {}
    for r in records:
        statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
    times = sorted(r.time for r in records)
    busiest, first = 0, 0
    for last, t in enumerate(times):  # a window of one second ending at each request
        while t - times[first] >= 1.0:
            first += 1
        busiest = max(busiest, last - first + 1)
    return web.json_response(
        {
            "requests": len(records),
            "statuses": statuses,
            "max_per_second": busiest,
            "in_flight": state.in_flight,
            "max_in_flight": state.max_in_flight,
        }
    )


async def _reset_stats(request: web.Request) -> web.Response:
    state = get_state(request)
    state.max_in_flight = state.in_flight
    return web.Response(status=204)


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the control routes to ``app``."""
    del state
    app.router.add_get("/_emulator/health", _health)
    app.router.add_post("/_emulator/expire-tokens", _expire_tokens)
    app.router.add_post("/_emulator/clock/advance", _advance)
    app.router.add_post("/_emulator/faults", _inject)
    app.router.add_delete("/_emulator/faults", _clear)
    app.router.add_get("/_emulator/stats", _stats)
    app.router.add_delete("/_emulator/stats", _reset_stats)
