"""Middlewares every emulated service runs, outermost first.

1. :func:`record_middleware` logs the request in ``state.requests``;
2. :func:`fault_middleware` applies injected/random faults;
3. :func:`error_shape_middleware` turns ``web.HTTPException`` (unknown path,
   wrong method, a handler's ``raise web.HTTPBadRequest(text=...)``) and
   crashes into the service's error shape;
4. :func:`eoclient.emulator.core.auth.auth_middleware` checks the bearer;
5. :func:`eoclient.emulator.core.routing.contract_middleware` refuses what the
   route's declared contract does not accept (unknown query parameters and,
   for SpaceKnow, unknown or missing body fields).

Routes under ``/_emulator/`` (control) are neither recorded nor faulted.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from eoclient.emulator.core import drop
from eoclient.emulator.core.auth import CONTROL_PREFIX, bearer_token, is_auth_path
from eoclient.emulator.core.errors import (
    html_error,
    oauth_error,
    reason,
    s3_error,
    service_error,
    sh_error,
    sk_error,
)
from eoclient.emulator.core.faults import FaultDecision
from eoclient.emulator.core.state import DEPLOYMENT_KEY, SERVICE_KEY, RequestRecord, get_state
from eoclient.emulator.core.tokens import S3, SENTINELHUB, Service

__all__ = [
    "FAULT_KEY",
    "error_shape_middleware",
    "fault_middleware",
    "format_retry_after",
    "rate_limited",
    "record_middleware",
]

log = logging.getLogger("eoclient.emulator")

FAULT_KEY = web.RequestKey("fault", str)
"""The kind of fault applied to a request, if any (``request.get(FAULT_KEY)``)."""


@web.middleware
async def record_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Append a :class:`RequestRecord` for every service request."""
    if request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    record = RequestRecord(
        service=request.app[SERVICE_KEY],
        method=request.method,
        path=request.path,
        query=request.query_string,
        has_bearer=bearer_token(request) is not None,
        time=time.time(),
        content_type=request.content_type,
        headers={k: v for k, v in request.headers.items() if k.lower() != "authorization"},
        deployment=request.app.get(DEPLOYMENT_KEY),
    )
    if request.body_exists and request.content_type == "application/json":
        # Kept for contract tests: what exactly did the client send? (aiohttp caches it for the handler.)
        record.body = await request.read()
    state = get_state(request)
    state.requests.append(record)
    # Requests at once, for clients that must stay under a concurrency (token requests not counted).
    counted = not is_auth_path(record.service, request.path)
    if counted:
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        record.status = exc.status
        raise
    finally:
        record.fault = request.get(FAULT_KEY)
        if counted:
            state.in_flight -= 1
    record.status = response.status
    return response


def format_retry_after(service: Service, seconds: float, *, auth: bool = False) -> str:
    """``Retry-After`` in the endpoint's unit: Sentinel Hub's API milliseconds, everyone else seconds.

    Token endpoints (``auth``) are identity servers that speak the standard
    seconds on either service. Whole seconds are sent as an integer;
    fractional ones keep up to 3 decimals (only when a test configures a
    sub-second hint).
    """
    if service == SENTINELHUB and not auth:
        return str(round(seconds * 1000))
    if seconds == int(seconds):
        return str(int(seconds))
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def rate_limited(service: Service, retry_after: float | None, status: int = 429) -> web.Response:
    """A 429 in the service's shape; ``retry_after`` (real seconds) ``None`` omits the header."""
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers[hdrs.RETRY_AFTER] = format_retry_after(service, retry_after)
    message = "You have exceeded your rate limit"
    if service == SENTINELHUB:
        return sh_error(status, message, "RATE_LIMIT_EXCEEDED", headers=headers)
    if service == S3:
        return s3_error(status, "SlowDown", "Please reduce your request rate.", headers=headers)
    return sk_error(status, "RATE-LIMIT-EXCEEDED", message, headers=headers)


def _fault_response(
    service: Service, decision: FaultDecision, default_5xx: int, *, auth: bool
) -> web.Response:
    retry = decision.retry_after
    headers: dict[str, str] = {}
    if retry is not None:
        headers[hdrs.RETRY_AFTER] = format_retry_after(service, retry, auth=auth)
    if auth and decision.kind in ("rate_limit", "server_error", "server_error_after"):
        status = decision.status or (429 if decision.kind == "rate_limit" else default_5xx)
        code = "too_many_requests" if status == 429 else "server_error"
        return oauth_error(status, code, reason(status), headers=headers)
    if decision.kind == "rate_limit":
        # S3 throttles with 503 SlowDown, never 429.
        return rate_limited(service, retry, decision.status or (503 if service == S3 else 429))
    if decision.kind == "html_error":
        return html_error(decision.status or 502, headers=headers)
    status = decision.status or default_5xx
    if service == S3 and status == 503:
        return s3_error(status, "SlowDown", "Please reduce your request rate.", headers=headers)
    return service_error(service, status, "The service is temporarily unavailable", headers=headers)


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Delay, refuse, expire tokens or drop the connection as the faults say."""
    path = request.path
    if path.startswith(CONTROL_PREFIX):
        return await handler(request)
    service = request.app[SERVICE_KEY]
    faults = get_state(request).faults
    auth = is_auth_path(service, path)
    decision = faults.decide(service, request.method, path, is_auth=auth)
    if decision.latency > 0:
        request[FAULT_KEY] = "latency"
        await asyncio.sleep(decision.latency)
    kind = decision.kind
    if kind is None:
        return await handler(request)
    request[FAULT_KEY] = kind
    if kind == "token_expiry":
        get_state(request).tokens.expire(service)
        return await handler(request)
    if kind == "drop":
        return await drop.run_and_drop(request, handler)
    if kind == "server_error_after":
        response = await handler(request)
        if response.prepared:
            return response  # a stream already under way cannot be turned into an error
    return _fault_response(service, decision, faults.config.server_error_status, auth=auth)


@web.middleware
async def error_shape_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer aiohttp's plain-text HTTP errors and handler crashes in the service's shape."""
    service = request.app[SERVICE_KEY]
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        headers = {k: v for k, v in exc.headers.items() if k in (hdrs.ALLOW, hdrs.RETRY_AFTER)}
        message = exc.text or exc.reason
        if message == f"{exc.status}: {exc.reason}":
            message = exc.reason  # aiohttp's default text adds nothing
        return service_error(service, exc.status, message, headers=headers)
    except (ConnectionError, asyncio.CancelledError):
        raise
    except Exception as exc:
        log.exception("emulator handler crashed: %s %s", request.method, request.path)
        return service_error(service, 500, f"Emulator error: {exc!r}")
