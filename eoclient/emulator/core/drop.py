"""The "connection dropped mid-body" fault.

The real handler runs; the client then receives the status line, every
header (including the full ``Content-Length``, if any) and only part of the
body before the server closes the connection. A client must see a payload
error, never a clean short body.

An answer without a body (a 204) has nothing to cut: the connection is
closed before its status line, so the client sees the connection drop.

Two paths, because aiohttp writes bodies in two ways:

* a :class:`aiohttp.web.Response` with an in-memory body is written in one go
  by aiohttp after the middleware returns, so :func:`run_and_drop` re-sends it
  itself as a :class:`~aiohttp.web.StreamResponse`: headers, half the body,
  close;
* everything else (a stream the handler prepared and writes chunk by chunk,
  payload bodies, files) is cut in the ``on_response_prepare`` signal: the
  response writer is limited to half the declared length (or to its first
  chunk when the length is unknown) and the transport is closed once that much
  is out. Later writes fail like writes to a client that went away, which
  streaming handlers must survive anyway (the middleware catches that
  ``ConnectionError`` for them).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

__all__ = ["on_response_prepare", "run_and_drop"]


@dataclass
class _DropPlan:
    armed: bool = True
    response: web.StreamResponse | None = None


_DROP_KEY = web.RequestKey("drop_plan", _DropPlan)


async def run_and_drop(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Run ``handler`` and deliver its response cut off mid-body."""
    plan = _DropPlan()
    request[_DROP_KEY] = plan
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPException as exc:
        # Redirects and the like pass the error-shape middleware as exceptions;
        # they are responses too, and are cut the same way.
        response = exc
    except ConnectionError:
        # A streaming handler wrote past the cut; hand aiohttp the response it
        # prepared so that it only sees another closed connection.
        if plan.response is None:
            raise
        return plan.response
    if response.prepared or not isinstance(response, web.Response):
        return response
    body = response.body
    if not body:
        # Nothing to cut (a 204, an empty body): the answer is lost whole, before its status line.
        plan.armed = False
        if request.transport is not None:
            request.transport.close()
        return response
    if not isinstance(body, (bytes, bytearray)):
        return response  # a payload body: cut by on_response_prepare while written
    plan.armed = False
    return await _send_truncated(request, response, bytes(body))


async def _send_truncated(request: web.Request, response: web.Response, body: bytes) -> web.StreamResponse:
    stream = web.StreamResponse(status=response.status, reason=response.reason, headers=response.headers)
    stream.content_length = len(body)
    await stream.prepare(request)
    await stream.write(body[: len(body) // 2])
    if body and request.transport is not None:
        # close(), not abort(): the headers and prefix still in the buffer go out first.
        request.transport.close()
    return stream


async def on_response_prepare(request: web.Request, response: web.StreamResponse) -> None:
    """Signal handler: limit the body of a response whose request is to be dropped."""
    plan = request.get(_DROP_KEY)
    if plan is None or not plan.armed:
        return
    plan.armed = False
    plan.response = response
    response.force_close()
    transport = request.transport
    writer = request.writer
    if transport is None:
        return
    declared = writer.length
    if declared is not None and declared >= 2:
        # aiohttp discards bytes written beyond writer.length, so the client
        # gets exactly half the declared body.
        cut = declared // 2
        writer.length = cut
    else:
        cut = 1  # unknown length (chunked): close after the first chunk
    sent = 0

    def _count(body_bytes: int, _output_size: int) -> None:
        nonlocal sent
        sent += body_bytes
        if sent >= cut:
            transport.close()
            # No more clipping: the next write hits the closed transport and
            # raises, so the handler stops producing a body nobody receives.
            writer.length = None
            writer.on_body_write = None

    writer.on_body_write = _count
