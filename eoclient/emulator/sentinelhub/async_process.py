"""Emulated Sentinel Hub Async Process API.

Routes (Sentinel Hub app, bearer required), as the live service serves them::

    POST /api/v1/async/process         -> 200 {"id": <uuid>, "status": "RUNNING"}
    GET  /api/v1/async/process/{id}    -> 200 {"id", "status": "RUNNING"} while it runs;
                                          404 once it has finished (succeeded or failed)

Behaviour:

* The body is checked like a Process API request (``input``, evalscript,
  ``output.responses``; the evalscript's outputs must cover the response
  identifiers), except that ``evalscriptReference`` may replace the
  evalscript and that images may be up to 10000 pixels a side; plus
  ``output.delivery`` (required: ``s3`` with an ``s3://`` URL, or ``gs`` with
  a ``gs://`` URL and credentials; ``accessKey`` and ``secretAccessKey``
  together; templates may hold ``<REQUEST_ID>`` and ``<OUTPUT>``). A bad one
  gets a 400 in Sentinel Hub's error shape.
* A request runs on the emulated clock for ``run_seconds`` (30 s plus up
  to 60 s more for the largest images), then its status answers 404, as the
  OpenAPI document says, whatever the outcome.
* It FAILS (deterministically) when its evalscript or its delivery URL
  contains ``fail``: nothing is delivered. Otherwise its outputs appear in the
  emulated bucket when it finishes: ``AsyncProcessStore.delivered`` maps
  object URLs (``<url>/<id>/<identifier>.<ext>``, or the template filled in)
  to sizes — what a user's own bucket check would find.
* At most ``AsyncProcessStore.max_concurrent`` requests run at once;
  one more gets 429 with ``Retry-After`` (milliseconds, as Sentinel Hub
  sends it) until the next one finishes.
* Cost: the Process API's PU formula times 2/3 for 10000 px and more, at
  least 10 PU per request (``AsyncRequest.processing_units``).

The request's state machine (the clock, the concurrency limit, the delivery)
is in :mod:`eoclient.emulator.sentinelhub.async_process_engine`, with the test
knobs of :func:`~eoclient.emulator.sentinelhub.async_process_engine.async_store`
(``state.stores["sh_async_process"]``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.deliveries import deliveries_of
from eoclient.emulator.core.refusal import Refusal, invalid, json_body
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.sentinelhub.async_process_engine import MAX_SIZE, AsyncPlan, async_store
from eoclient.emulator.sentinelhub.process.evalscript import (
    SAMPLE_BYTES,
    ScriptOutput,
    check_outputs,
    input_bands,
)
from eoclient.emulator.sentinelhub.process.rendering import crs_code
from eoclient.emulator.sentinelhub.process.units import processing_units
from eoclient.emulator.sentinelhub.process.validation import (
    EXTENSIONS,
    parse_input,
    parse_responses,
    parse_size,
)
from eoclient.emulator.sentinelhub.storage import bucket_of, parse_storage

__all__ = ["PATH", "plan", "setup"]

PATH: Final = "/api/v1/async/process"
_PLACEHOLDERS: Final = frozenset({"<REQUEST_ID>", "<OUTPUT>"})


def _object_size(media: str, width: int, height: int, out: ScriptOutput) -> int:
    if media == "application/json":
        return 512
    pixels = width * height * out.bands
    if media == "image/tiff":
        return 1024 + pixels * SAMPLE_BYTES.get(out.sample_type, 1)
    return 512 + pixels // (4 if media == "image/jpeg" else 2)  # compressed formats: a guess


def plan(body: Any) -> AsyncPlan:
    """Check a request like the service; a bad one raises a ``Refusal``."""
    if not isinstance(body, dict):
        raise Refusal(400, None, "The request body must be a JSON object")
    evalscript = body.get("evalscript")
    reference = body.get("evalscriptReference")
    if evalscript is None and reference is None:
        raise invalid("evalscript", None, "either evalscript or evalscriptReference must be specified")
    if reference is not None:
        parse_storage(reference, "evalscriptReference")
    if evalscript is not None and (not isinstance(evalscript, str) or not evalscript.strip()):
        raise invalid("evalscript", evalscript, "must not be blank")
    extent, data = parse_input(body)
    output = body.get("output")
    if not isinstance(output, dict):
        raise invalid("output", output, "must not be null")
    width, height = parse_size(output, extent, "output", max_size=MAX_SIZE)
    wanted = parse_responses(output.get("responses"))
    url = parse_storage(
        output.get("delivery"),
        "output->delivery",
        placeholders=_PLACEHOLDERS,
        require_one_of=frozenset({"<OUTPUT>"}),
    )
    script = evalscript if isinstance(evalscript, str) else ""
    outputs = check_outputs(script, wanted) if script else {}
    files = [
        (
            f"{ident}.{EXTENSIONS[media]}",
            _object_size(media, width, height, outputs.get(ident, ScriptOutput(ident, 3, "AUTO"))),
        )
        for ident, media in wanted
    ]
    float32 = any(o.sample_type == "FLOAT32" for o in outputs.values())
    units = processing_units(
        width, height, input_bands(script) if script else 3, float32=float32, collections=len(data), samples=1
    )
    if width * height >= 10_000:
        units *= 2 / 3
    renders = tuple(
        (ident, media, outputs.get(ident, ScriptOutput(ident, 3, "AUTO"))) for ident, media in wanted
    )
    return AsyncPlan(
        url,
        width,
        height,
        files,
        max(units, 10.0),
        "fail" in script.lower() or "fail" in url.lower(),
        renders,
        request=body,
        extent=extent,
        epsg=crs_code((body.get("input") or {}).get("bounds")),
    )


async def _create(request: web.Request) -> web.Response:
    state = get_state(request)
    planned = plan(await json_body(request, media_type=True))
    if planned.url.startswith("s3://"):
        # The service writes to the bucket when it finishes; one it cannot write fails the request.
        error = await deliveries_of(state).bucket_error(bucket_of(planned.url))
        if error is not None:
            planned = dataclasses.replace(planned, fails=True, error=error)
    submitted = async_store(state).submit(state, planned)
    return web.json_response({"id": submitted.job.id, "status": "RUNNING"})


async def _status(request: web.Request) -> web.Response:
    request_id = request.match_info["id"]
    async_store(get_state(request)).running_request(request_id)
    return web.json_response({"id": request_id, "status": "RUNNING"})


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the Async Process routes to the Sentinel Hub app."""
    async_store(state)
    add_route(app, "POST", PATH, _create)
    add_route(app, "GET", PATH + "/{id}", _status)
