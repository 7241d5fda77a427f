"""A FastAPI backend over Sentinel Hub: one eoclient client for the whole application.

The client is opened once in the app's lifespan and closed at shutdown, so
every request shares its connection pool, its token (refreshed once for all
requests), its rate limiter and its processing-unit budget. Endpoints:

* ``GET /render.png?bbox=13.8,45.8,14.5,46.2&date=2023-06-15&size=512``: a true-colour PNG
  (Process API); ``X-Processing-Units`` says what it cost;
* ``GET /scenes?bbox=...&start=2023-06-01&end=2023-06-30&max_cloud=20&limit=50``: the Catalog's
  scenes as a GeoJSON FeatureCollection;
* ``POST /batch`` ``{"bbox": [...], "start": "2023-06-01", "end": "2023-06-30"}``: creates and starts
  a Batch v2 request (202, its id); ``GET /batch/{id}``: its status now;
  ``GET /batch/{id}/watch``: each status change as a JSON line, until it ends.

Run it (credentials from ``SH_CLIENT_ID`` / ``SH_CLIENT_SECRET`` or the config file;
``BATCH_BUCKET`` names the bucket Batch delivers to)::

    pip install 'eoclient[examples]'
    uvicorn fastapi_app:app --app-dir examples
    curl -o scene.png 'http://127.0.0.1:8000/render.png?bbox=13.8,45.8,14.5,46.2&date=2023-06-15'

To try it offline against the embedded emulator, see examples/README.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any

from eo_requests import batch_request, job_status, parse_bbox, parse_day, render_request
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from web_errors import answer_for

import eoclient
from eoclient.errors import EOClientError


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    """Open one client for the application's life; every request borrows it from the lifespan state."""
    budget = eoclient.ProcessingBudget(pu_per_minute=300, requests_per_minute=60)  # your plan's limits
    async with eoclient.SentinelHub(budget=budget) as sh:
        yield {"sh": sh}


def sentinel_hub(request: Request) -> eoclient.SentinelHub:
    """The application's client (a FastAPI dependency)."""
    sh: eoclient.SentinelHub = request.state.sh
    return sh


Client = Annotated[eoclient.SentinelHub, Depends(sentinel_hub)]


class BatchIn(BaseModel):
    """What ``POST /batch`` takes."""

    bbox: list[float] = Field(description="min_lon, min_lat, max_lon, max_lat (WGS84)")
    start: date
    end: date
    description: str = "from the FastAPI example"


def create_app() -> FastAPI:
    """The application; ``uvicorn fastapi_app:app`` serves the one made below."""
    app = FastAPI(title="eoclient FastAPI example", lifespan=lifespan)

    @app.exception_handler(EOClientError)
    async def eoclient_error(request: Request, exc: EOClientError) -> JSONResponse:
        status, body = answer_for(exc)
        return JSONResponse(body, status_code=status)

    @app.get("/render.png", response_class=Response)
    async def render(
        sh: Client, bbox: str, date: str, size: Annotated[int, Query(ge=16, le=2500)] = 512
    ) -> Response:
        """A true-colour PNG of ``bbox`` on ``date``."""
        request = render_request(parse_bbox(bbox), parse_day(date), size=size)
        result = await sh.process(request)
        headers = {"X-Processing-Units": str(result.processing_units)}
        return Response(result.content, media_type="image/png", headers=headers)

    @app.get("/scenes")
    async def scenes(
        sh: Client,
        *,
        bbox: str,
        start: str,
        end: str,
        max_cloud: Annotated[float, Query(ge=0, le=100)] = 100,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> JSONResponse:
        """Sentinel-2 L2A scenes over ``bbox`` between two dates, as GeoJSON."""
        found = sh.catalog.search(
            "sentinel-2-l2a",
            bbox=parse_bbox(bbox),
            datetime=(parse_day(start, field="start").isoformat(), parse_day(end, field="end").isoformat()),
            filter=f"eo:cloud_cover <= {max_cloud}",
            max_items=limit,
        )
        features = [item.__geo_interface__ async for item in found]
        collection = {"type": "FeatureCollection", "features": features}
        return JSONResponse(collection, media_type="application/geo+json")

    @app.post("/batch", status_code=202)
    async def start_batch(sh: Client, body: BatchIn) -> dict[str, Any]:
        """Create and start a Batch request; it runs on the service, follow it with ``/watch``."""
        bucket = os.environ.get("BATCH_BUCKET", "my-bucket")
        spec = batch_request(
            parse_bbox(",".join(map(str, body.bbox))),
            body.start,
            body.end,
            bucket=bucket,
            description=body.description,
        )
        # START at once (the service analyses first): nothing in this app has to stay to push it on.
        job = await sh.batch.run(spec, analyse_first=False)
        return job_status(job.id, job.status or await job.refresh())

    @app.get("/batch/{job_id}")
    async def batch_status(sh: Client, job_id: str) -> dict[str, Any]:
        """The request's status now (one GET)."""
        job = sh.batch.job(job_id)
        return job_status(job.id, await job.refresh())

    @app.get("/batch/{job_id}/watch")
    async def watch_batch(sh: Client, job_id: str) -> StreamingResponse:
        """Each status change of the request as a JSON line, until it ends."""
        job = sh.batch.job(job_id)
        await job.refresh()  # an unknown id is a 404 now, before the stream starts

        async def lines() -> AsyncIterator[str]:
            async for status in job.watch():
                yield json.dumps(job_status(job.id, status)) + "\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    return app


app = create_app()
