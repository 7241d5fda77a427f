"""SpaceKnow's asynchronous pipelines: ``/tasking/get-status`` and the initiate/retrieve pattern.

Every ``.../initiate`` endpoint of the emulated SpaceKnow creates a pipeline
with :func:`create_pipeline` and answers :func:`initiate_response`
(``{nextTry, pipelineId, status: "NEW"}``); its ``.../retrieve`` endpoint is
added by :func:`add_retrieve_route` (:func:`retrieve_handler`). A pipeline
moves NEW → PROCESSING → RESOLVED | FAILED on the accelerated clock;
``/tasking/get-status`` reports it with a ``nextTry`` hint (real seconds,
scaled from the emulated schedule) and, with ``getProgress``, the progress
message and step.

Example (in a family module; refusals are raised as
:class:`~eoclient.emulator.core.refusal.Refusal`)::

    async def _initiate(request):
        require(request, "kraken.release")
        body = await json_body(request)
        job = create_pipeline(get_state(request), "kraken/release", result=lambda: {...})
        return initiate_response(job, get_state(request))

    add_route(app, "POST", "/kraken/release/initiate", _initiate,
              required_fields=("mapTypes", "extent", "sceneIds"), fields=("subGeometry", "onlyIngested"))
    add_retrieve_route(app, "kraken/release", "kraken.release")
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler

from eoclient.emulator.core.jobs import Job, Phase
from eoclient.emulator.core.refusal import Refusal, json_body
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.spaceknow.accounts import require

__all__ = ["KIND", "add_retrieve_route", "create_pipeline", "initiate_response", "retrieve_handler", "setup"]

KIND: Final = "spaceknow.pipeline"
PIPELINE_ID_LENGTH: Final = 20
DEFAULT_PHASES: Final = (
    Phase("NEW", 2.0, "Pipeline queued"),
    Phase("PROCESSING", 4.0, "Downloading data from provider"),
    Phase("PROCESSING", 6.0, "Processing imagery"),
)

Result = Any | Callable[[], Any]


def create_pipeline(
    state: EmulatorState,
    operation: str,
    *,
    result: Result = None,
    phases: Sequence[Phase] = DEFAULT_PHASES,
    outcome: str | None = None,
    error: str | None = None,
) -> Job:
    """A new pipeline of ``operation`` (e.g. ``"kraken/release"``).

    ``result`` is the retrieve payload (or a callable producing it on first
    retrieve, so heavy results are built only when asked for); ``outcome`` is
    ``"RESOLVED"`` or ``"FAILED"`` (then ``error`` is the failure text), by
    default ``"FAILED"`` exactly when there is an ``error``.
    """
    if outcome is None:
        outcome = "FAILED" if error else "RESOLVED"
    return state.jobs.create(
        KIND,
        phases,
        outcome,
        error=error if outcome == "FAILED" else None,
        result=result,
        id_length=PIPELINE_ID_LENGTH,
        data={"operation": operation},
    )


def _next_try(job: Job, state: EmulatorState) -> float:
    wait = job.view().next_change_in
    if wait is None:
        return 0.0
    # The real service sends whole seconds; scaled down they must stay positive.
    return round(max(state.clock.to_real(wait), 0.001), 3)


def initiate_response(job: Job, state: EmulatorState) -> web.Response:
    """The answer of every ``.../initiate`` endpoint."""
    view = job.view()
    return web.json_response({"nextTry": _next_try(job, state), "pipelineId": job.id, "status": view.state})


def _find(state: EmulatorState, body: dict[str, Any], operation: str | None) -> Job:
    pipeline_id = body.get("pipelineId")
    if not isinstance(pipeline_id, str) or len(pipeline_id) != PIPELINE_ID_LENGTH:
        raise Refusal(400, "BAD-REQUEST", "pipelineId must be a string of 20 characters")
    job = state.jobs.get(pipeline_id, KIND)
    if job is None or (operation is not None and job.data.get("operation") != operation):
        raise Refusal(404, "PIPELINE-NOT-FOUND", f"pipeline {pipeline_id} not found")
    return job


async def _get_status(request: web.Request) -> web.Response:
    state = get_state(request)
    body = await json_body(request)
    job = _find(state, body, None)
    view = job.view()
    answer: dict[str, Any] = {"status": view.state}
    if not view.terminal:
        answer["nextTry"] = _next_try(job, state)
    if body.get("getProgress"):
        step = min(view.step, len(job.phases)) + 1
        message = view.message or ("Pipeline finished" if view.terminal else None)
        answer["progress"] = {"message": message, "step": step}
    if view.state == "FAILED":
        answer["error"] = view.error
    return web.json_response(answer)


def retrieve_handler(operation: str, *permissions: str) -> Handler:
    """The ``.../retrieve`` endpoint of ``operation``: the result once RESOLVED.

    ``permissions`` are what the caller must hold (checked first, as the service does).
    """

    async def retrieve(request: web.Request) -> web.Response:
        require(request, *permissions)
        state = get_state(request)
        job = _find(state, await json_body(request), operation)
        view = job.view()
        if view.state == "FAILED":
            raise Refusal(409, "PIPELINE-FAILED", view.error or "the pipeline failed")
        if not view.terminal:
            raise Refusal(409, "PIPELINE-NOT-RESOLVED", f"pipeline {job.id} is {view.state}")
        if callable(job.result):
            job.result = job.result()
        return web.json_response(job.result)

    return retrieve


def add_retrieve_route(app: web.Application, operation: str, *permissions: str) -> None:
    """Add ``POST /<operation>/retrieve`` (:func:`retrieve_handler`); its body is the ``pipelineId`` alone."""
    add_route(
        app,
        "POST",
        f"/{operation}/retrieve",
        retrieve_handler(operation, *permissions),
        required_fields=("pipelineId",),
        fields=(),
    )


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the pipeline status service to the SpaceKnow app."""
    del state
    add_route(
        app,
        "POST",
        "/tasking/get-status",
        _get_status,
        required_fields=("pipelineId",),
        fields=("getProgress",),
    )
