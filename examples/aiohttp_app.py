"""An aiohttp.web backend over Sentinel Hub: one eoclient client for the whole application.

The client is opened in a ``cleanup_ctx`` generator when the app starts and
closed when it stops, so every request shares its connection pool, its token,
its rate limiter and its processing-unit budget. The endpoints are those of
``fastapi_app.py``:

* ``GET /render.png?bbox=13.8,45.8,14.5,46.2&date=2023-06-15&size=512``: a true-colour PNG;
* ``GET /scenes?bbox=...&start=2023-06-01&end=2023-06-30&max_cloud=20&limit=50``: GeoJSON;
* ``POST /batch`` ``{"bbox": [...], "start": "2023-06-01", "end": "2023-06-30"}`` (202, its id),
  ``GET /batch/{id}`` and ``GET /batch/{id}/watch`` (JSON lines until it ends).

Run it (credentials from ``SH_CLIENT_ID`` / ``SH_CLIENT_SECRET`` or the config file;
``BATCH_BUCKET`` names the bucket Batch delivers to; ``PORT`` defaults to 8080)::

    python examples/aiohttp_app.py
    curl -o scene.png 'http://127.0.0.1:8080/render.png?bbox=13.8,45.8,14.5,46.2&date=2023-06-15'
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from eo_requests import batch_request, job_status, parse_bbox, parse_day, render_request
from web_errors import answer_for

import eoclient
from eoclient.errors import EOClientError, ValidationError

SENTINEL_HUB = web.AppKey("sentinel_hub", eoclient.SentinelHub)
routes = web.RouteTableDef()


async def sentinel_hub_client(app: web.Application) -> AsyncIterator[None]:
    """Open one client when the app starts; close it when the app stops (a ``cleanup_ctx``)."""
    budget = eoclient.ProcessingBudget(pu_per_minute=300, requests_per_minute=60)  # your plan's limits
    async with eoclient.SentinelHub(budget=budget) as sh:
        app[SENTINEL_HUB] = sh
        yield


@web.middleware
async def eoclient_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """eoclient's errors as JSON answers (see web_errors.py)."""
    try:
        return await handler(request)
    except EOClientError as exc:
        status, body = answer_for(exc)
        return web.json_response(body, status=status)


def query(request: web.Request, name: str, default: str | None = None) -> str:
    """A query parameter; a missing one is a ValidationError naming it."""
    value = request.query.get(name, default)
    if value is None:
        raise ValidationError(name, "is required")
    return value


def number(text: str, field: str, low: float, high: float) -> float:
    """``text`` as a number within ``low..high``; a ValidationError naming ``field`` if not."""
    try:
        value = float(text)
    except ValueError:
        raise ValidationError(field, f"expected a number, got {text!r}") from None
    if not low <= value <= high:
        raise ValidationError(field, f"must be between {low:g} and {high:g}, got {value:g}")
    return value


@routes.get("/render.png")
async def render(request: web.Request) -> web.Response:
    """A true-colour PNG of ``bbox`` on ``date``."""
    sh = request.app[SENTINEL_HUB]
    size = int(number(query(request, "size", "512"), "size", 16, 2500))
    spec = render_request(parse_bbox(query(request, "bbox")), parse_day(query(request, "date")), size=size)
    result = await sh.process(spec)
    headers = {"X-Processing-Units": str(result.processing_units)}
    return web.Response(body=result.content, content_type="image/png", headers=headers)


@routes.get("/scenes")
async def scenes(request: web.Request) -> web.Response:
    """Sentinel-2 L2A scenes over ``bbox`` between two dates, as GeoJSON."""
    sh = request.app[SENTINEL_HUB]
    start = parse_day(query(request, "start"), field="start")
    end = parse_day(query(request, "end"), field="end")
    found = sh.catalog.search(
        "sentinel-2-l2a",
        bbox=parse_bbox(query(request, "bbox")),
        datetime=(start.isoformat(), end.isoformat()),
        filter=f"eo:cloud_cover <= {number(query(request, 'max_cloud', '100'), 'max_cloud', 0, 100)}",
        max_items=int(number(query(request, "limit", "50"), "limit", 1, 500)),
    )
    features = [item.__geo_interface__ async for item in found]
    body = json.dumps({"type": "FeatureCollection", "features": features})
    return web.Response(text=body, content_type="application/geo+json")


@routes.post("/batch")
async def start_batch(request: web.Request) -> web.Response:
    """Create and start a Batch request; it runs on the service, follow it with ``/watch``."""
    sh = request.app[SENTINEL_HUB]
    try:
        body: dict[str, Any] = await request.json()
    except ValueError:
        raise ValidationError("body", "expected a JSON object") from None
    if not isinstance(body, dict) or not isinstance(body.get("bbox"), list):
        raise ValidationError("bbox", "expected a list of four numbers")
    spec = batch_request(
        parse_bbox(",".join(map(str, body["bbox"]))),
        parse_day(str(body.get("start")), field="start"),
        parse_day(str(body.get("end")), field="end"),
        bucket=os.environ.get("BATCH_BUCKET", "my-bucket"),
        description=str(body.get("description", "from the aiohttp example")),
    )
    # START at once (the service analyses first): nothing in this app has to stay to push it on.
    job = await sh.batch.run(spec, analyse_first=False)
    return web.json_response(job_status(job.id, job.status or await job.refresh()), status=202)


@routes.get("/batch/{job_id}")
async def batch_status(request: web.Request) -> web.Response:
    """The request's status now (one GET)."""
    job = request.app[SENTINEL_HUB].batch.job(request.match_info["job_id"])
    return web.json_response(job_status(job.id, await job.refresh()))


@routes.get("/batch/{job_id}/watch")
async def watch_batch(request: web.Request) -> web.StreamResponse:
    """Each status change of the request as a JSON line, until it ends."""
    job = request.app[SENTINEL_HUB].batch.job(request.match_info["job_id"])
    await job.refresh()  # an unknown id is a 404 now, before the stream starts
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    async for status in job.watch():
        await response.write((json.dumps(job_status(job.id, status)) + "\n").encode())
    await response.write_eof()
    return response


def create_app() -> web.Application:
    """The application, with its client opened and closed by the app's own lifecycle."""
    app = web.Application(middlewares=[eoclient_errors])
    app.cleanup_ctx.append(sentinel_hub_client)
    app.add_routes(routes)
    return app


if __name__ == "__main__":
    web.run_app(create_app(), host="127.0.0.1", port=int(os.environ.get("PORT", "8080")))
