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
* A request runs on the emulated clock for :func:`run_seconds` (30 s plus up
  to 60 s more for the largest images), then its status answers 404, as the
  OpenAPI document says, whatever the outcome.
* It FAILS (deterministically) when its evalscript or its delivery URL
  contains ``fail``: nothing is delivered. Otherwise its outputs appear in the
  emulated bucket when it finishes: :meth:`AsyncProcessStore.delivered` maps
  object URLs (``<url>/<id>/<identifier>.<ext>``, or the template filled in)
  to sizes — what a user's own bucket check would find.
* At most :attr:`AsyncProcessStore.max_concurrent` requests run at once;
  one more gets 429 with ``Retry-After`` (milliseconds, as Sentinel Hub
  sends it) until the next one finishes.
* Cost: the Process API's PU formula times 2/3 for 10000 px and more, at
  least 10 PU per request (:attr:`AsyncRequest.processing_units`).

Test knobs in :func:`async_store` (``state.stores["sh_async_process"]``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.errors import sh_error
from eoclient.emulator.core.jobs import Job
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.sentinelhub.common import json_payload
from eoclient.emulator.sentinelhub.process import (
    BadRequest,
    ScriptOutput,
    check_script,
    input_bands,
    parse_bounds,
    parse_data,
    parse_responses,
    parse_size,
    processing_units,
    script_error,
    script_outputs,
    violation,
)
from eoclient.emulator.sentinelhub.storage import parse_storage

__all__ = [
    "KIND",
    "MAX_SIZE",
    "PATH",
    "AsyncProcessStore",
    "AsyncRequest",
    "async_store",
    "run_seconds",
    "setup",
]

PATH: Final = "/api/v1/async/process"
KIND: Final = "sh.async_process"
MAX_SIZE: Final = 10_000
_STORE_KEY: Final = "sh_async_process"
_PLACEHOLDERS: Final = frozenset({"<REQUEST_ID>", "<OUTPUT>"})
_EXTENSIONS: Final = {
    "image/tiff": "tif",
    "image/png": "png",
    "image/jpeg": "jpg",
    "application/json": "json",
}
_SAMPLE_BYTES: Final = {"UINT8": 1, "AUTO": 1, "INT8": 1, "UINT16": 2, "INT16": 2, "FLOAT32": 4}
_NUMBER: Final = (int, float)


@dataclass
class AsyncRequest:
    """One submitted request: its job on the clock, where it delivers, what it delivers."""

    job: Job
    url: str
    outputs: dict[str, int]  # object URL -> size in bytes, written when it succeeds
    processing_units: float


@dataclass
class AsyncProcessStore:
    """The emulated Async Process requests of one emulator, plus test knobs.

    ``max_concurrent``: running requests at once before a 429.
    """

    max_concurrent: int = 10
    requests: dict[str, AsyncRequest] = field(default_factory=dict)

    def running(self) -> list[AsyncRequest]:
        """The requests still running now."""
        return [r for r in self.requests.values() if not r.job.view().terminal]

    def delivered(self) -> dict[str, int]:
        """Every object in the emulated buckets now: URL -> size (finished, successful requests)."""
        out: dict[str, int] = {}
        for req in self.requests.values():
            view = req.job.view()
            if view.terminal and view.state == "DONE":
                out.update(req.outputs)
        return out


def async_store(state: EmulatorState) -> AsyncProcessStore:
    """The Async Process store of an emulator's state (created on first use)."""
    return state.store(_STORE_KEY, AsyncProcessStore)


def run_seconds(width: int, height: int) -> float:
    """Emulated seconds a request of this size runs."""
    return 30.0 + 60.0 * min(1.0, width * height / (MAX_SIZE * MAX_SIZE / 16))


def _object_size(media: str, width: int, height: int, out: ScriptOutput) -> int:
    if media == "application/json":
        return 512
    pixels = width * height * out.bands
    if media == "image/tiff":
        return 1024 + pixels * _SAMPLE_BYTES.get(out.sample_type, 1)
    return 512 + pixels // (4 if media == "image/jpeg" else 2)  # compressed formats: a guess


def _locations(url: str, request_id: str, names: list[str]) -> list[str]:
    template = url if re.search(r"<[^<>]*>", url) else url.rstrip("/") + "/<REQUEST_ID>/<OUTPUT>"
    return [template.replace("<REQUEST_ID>", request_id).replace("<OUTPUT>", n) for n in names]


@dataclass(frozen=True)
class _Plan:
    url: str
    width: int
    height: int
    files: list[tuple[str, int]]  # (<identifier>.<ext>, size)
    processing_units: float
    fails: bool


def plan(body: Any) -> _Plan:
    """Check a request like the service; raises :class:`~eoclient.emulator.sentinelhub.process.BadRequest`."""
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    evalscript = body.get("evalscript")
    reference = body.get("evalscriptReference")
    if evalscript is None and reference is None:
        raise violation("evalscript", None, "either evalscript or evalscriptReference must be specified")
    if reference is not None:
        parse_storage(reference, "evalscriptReference")
    if evalscript is not None and (not isinstance(evalscript, str) or not evalscript.strip()):
        raise violation("evalscript", evalscript, "must not be blank")
    inp = body.get("input")
    if not isinstance(inp, dict):
        raise violation("input", inp, "must not be null")
    extent = parse_bounds(inp.get("bounds"))
    data = parse_data(inp.get("data"))
    output = body.get("output")
    if not isinstance(output, dict):
        raise violation("output", output, "must not be null")
    width, height = parse_size(output, extent, "output", max_size=MAX_SIZE)
    wanted = parse_responses(output.get("responses"))
    url = parse_storage(
        output.get("delivery"),
        "output->delivery",
        placeholders=_PLACEHOLDERS,
        require_one_of=frozenset({"<OUTPUT>"}),
    )
    script = evalscript if isinstance(evalscript, str) else ""
    outputs: dict[str, ScriptOutput] = {}
    if script:
        check_script(script)
        outputs = {o.id: o for o in script_outputs(script)}
        for ident, _media in wanted:
            if ident != "userdata" and ident not in outputs:
                known = ", ".join(outputs)
                raise script_error(
                    f"Output {ident!r} requested but missing from function setup() (outputs: {known})"
                )
    files = [
        (
            f"{ident}.{_EXTENSIONS[media]}",
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
    return _Plan(
        url, width, height, files, max(units, 10.0), "fail" in script.lower() or "fail" in url.lower()
    )


async def _create(request: web.Request) -> web.Response:
    state = get_state(request)
    store = async_store(state)
    body = await json_payload(request)
    if isinstance(body, web.Response):
        return body
    try:
        planned = plan(body)
    except BadRequest as exc:
        return exc.response()
    running = store.running()
    if len(running) >= store.max_concurrent:
        wait = min(r.job.view().next_change_in or 0.0 for r in running)
        millis = max(1, math.ceil(state.clock.to_real(wait) * 1000))
        return sh_error(
            429,
            f"Maximum number of concurrent async requests reached ({store.max_concurrent})",
            "RATE_LIMIT_EXCEEDED",
            headers={"Retry-After": str(millis)},
        )
    outcome = "FAILED" if planned.fails else "DONE"
    job = state.jobs.create(
        KIND,
        [("RUNNING", run_seconds(planned.width, planned.height))],
        outcome,
        error="Failed to evaluate script" if planned.fails else None,
    )
    names = [name for name, _ in planned.files]
    sizes = [size for _, size in planned.files]
    store.requests[job.id] = AsyncRequest(
        job=job,
        url=planned.url,
        outputs=dict(zip(_locations(planned.url, job.id, names), sizes, strict=True)),
        processing_units=planned.processing_units,
    )
    return web.json_response({"id": job.id, "status": "RUNNING"})


async def _status(request: web.Request) -> web.Response:
    request_id = request.match_info["id"]
    found = async_store(get_state(request)).requests.get(request_id)
    # After completion, success or failure, the service forgets the request (OpenAPI: 404).
    if found is None or found.job.view().terminal:
        return sh_error(404, f"Request {request_id} not found")
    return web.json_response({"id": request_id, "status": "RUNNING"})


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the Async Process routes to the Sentinel Hub app."""
    async_store(state)
    add_route(app, "POST", PATH, _create)
    add_route(app, "GET", PATH + "/{id}", _status)
