"""SpaceKnow's initiate/retrieve pipelines, driven by the one :class:`~eoclient.jobs.Job` handle.

Every ``.../initiate`` operation answers ``{nextTry, pipelineId, status}``; the
pipeline is then polled through ``/tasking/get-status`` (with ``getProgress``)
until RESOLVED or FAILED, waiting ``nextTry`` seconds as the service asks, and
the matching ``.../retrieve`` is called for the result. Family modules call
:func:`initiate` and get a ``Job``; :func:`register_result` tells a resumed
job how to decode its retrieve answer.

Example (inside a family module)::

    register_result("/kraken/release/retrieve", ReleaseResult)

    async def release(self, ...) -> Job[ReleaseResult]:
        return await initiate(self._ctx, "/kraken/release/initiate", body,
                              retrieve="/kraken/release/retrieve", result=ReleaseResult,
                              operation="kraken.release")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from eoclient._context import ServiceContext
from eoclient._models import Model, from_wire
from eoclient._outcome import create_or_find
from eoclient.errors import ResponseDecodeError, ValidationError
from eoclient.jobs import Job, JobState, JobStatus, register_job_kind

__all__ = [
    "KIND",
    "PipelineStrategy",
    "attach",
    "check_pipeline_id",
    "initiate",
    "register_result",
]

T = TypeVar("T")

KIND: Final = "spaceknow.pipeline"
STATUS_PATH: Final = "/tasking/get-status"
PIPELINE_ID_LENGTH: Final = 20
_STATES: Final = {
    "NEW": JobState.PENDING,
    "PROCESSING": JobState.RUNNING,
    "RESOLVED": JobState.SUCCEEDED,
    "FAILED": JobState.FAILED,
}

_NO_LISTING: Final = (
    "SpaceKnow lists no pipelines, so its id cannot be recovered; sending it again starts a second pipeline"
)

Decoder = Callable[[Any], Any]
_RESULTS: dict[str, Decoder] = {}


def register_result(retrieve_path: str, result: type[Any] | Decoder) -> None:
    """Declare how the answer of ``retrieve_path`` is decoded (a model type or a function)."""
    _RESULTS[retrieve_path] = _decoder(result, retrieve_path)


def _decoder(result: type[Any] | Decoder, path: str) -> Decoder:
    if isinstance(result, type):
        target = result
        return lambda data: from_wire(data, target, operation="pipeline.retrieve", path=path)
    return result


def check_pipeline_id(pipeline_id: Any, *, field: str = "pipeline_id") -> str:
    """SpaceKnow pipeline ids are exactly 20 characters; anything else is refused before sending."""
    if not isinstance(pipeline_id, str) or len(pipeline_id) != PIPELINE_ID_LENGTH:
        raise ValidationError(field, f"must be a string of exactly {PIPELINE_ID_LENGTH} characters")
    return pipeline_id


class _Progress(Model):
    message: str | None = None
    step: int | None = None
    provider: str | None = None


class _Status(Model):
    status: str
    next_try: float | None = None
    progress: _Progress | None = None
    error: str | None = None
    error_message: str | None = None


class _Initiated(Model):
    pipeline_id: str
    status: str  # the reference's every initiate answer carries it
    next_try: float | None = None


def _to_status(data: _Status | _Initiated, path: str) -> JobStatus:
    state = _STATES.get(data.status)
    if state is None:
        raise ResponseDecodeError(f"unknown pipeline status {data.status!r}", operation="pipeline", path=path)
    progress = getattr(data, "progress", None)
    error = getattr(data, "error_message", None) or getattr(data, "error", None)
    return JobStatus(
        state=state,
        raw=data.status,
        message=progress.message if progress else None,
        step=progress.step if progress else None,
        error=error if state is JobState.FAILED else None,
        retry_after=data.next_try,
    )


class PipelineStrategy:
    """Job strategy for one SpaceKnow pipeline (the service offers no cancel)."""

    kind = KIND

    def __init__(self, ctx: ServiceContext[Any], pipeline_id: str, retrieve: str, decode: Decoder) -> None:
        self._ctx = ctx
        self.job_id = check_pipeline_id(pipeline_id)
        self.retrieve_path = retrieve
        self._decode = decode

    async def poll(self) -> JobStatus:
        data = await self._ctx.transport.request_json(
            "POST",
            STATUS_PATH,
            operation="tasking.get-status",
            json={"pipelineId": self.job_id, "getProgress": True},
            idempotent=True,
            type=_Status,
        )
        return _to_status(data, STATUS_PATH)

    async def result(self, final: JobStatus) -> Any:
        data = await self._ctx.transport.request_json(
            "POST",
            self.retrieve_path,
            operation=self.retrieve_path.strip("/").replace("/", "."),
            json={"pipelineId": self.job_id},
            idempotent=True,
        )
        return self._decode(data)

    async def cancel(self) -> bool:
        return False  # SpaceKnow pipelines cannot be stopped; the handle just stops polling

    def resume_data(self) -> dict[str, Any]:
        return {"retrieve": self.retrieve_path}


async def initiate(
    ctx: ServiceContext[Any],
    path: str,
    body: Mapping[str, Any],
    *,
    retrieve: str,
    result: type[T] | Callable[[Any], T],
    operation: str,
    idempotent: bool = False,
    how_to_find: str = "",
) -> Job[T]:
    """POST an ``.../initiate`` operation and return the pipeline's job handle.

    The initiate call creates work on the service, so the transport retries it
    only when that is provably safe (no connection made, or a 429) — unless
    ``idempotent=True`` says the operation only reads (a second pipeline
    costs nothing). SpaceKnow lists no pipelines, so the id of a pipeline
    whose initiate answer was lost (connection dropped after sending, read
    timeout, 500/502/503/504) cannot be found again:
    :class:`~eoclient.errors.OutcomeUnknownError` then says what the user can
    check (``how_to_find``, e.g. the credits spent).
    """

    async def send() -> _Initiated:
        data: _Initiated = await ctx.transport.request_json(
            "POST", path, operation=operation, json=body, type=_Initiated, idempotent=idempotent
        )
        return data

    if idempotent:
        data = await send()
    else:
        data = await create_or_find(
            send,
            find=None,  # no listing of pipelines
            identify=lambda initiated: initiated.pipeline_id,
            operation=operation,
            resource="SpaceKnow pipeline",
            how_to_find=how_to_find or _NO_LISTING,
        )
    strategy = PipelineStrategy(ctx, data.pipeline_id, retrieve, _decoder(result, retrieve))
    return Job(strategy, poll=ctx.poll, initial_status=_to_status(data, path))


def attach(ctx: ServiceContext[Any], pipeline_id: str, *, retrieve: str) -> Job[Any]:
    """Re-attach to a pipeline from its id and the retrieve path of the operation that started it."""
    decode = _RESULTS.get(retrieve)
    if decode is None:
        raise ValidationError("retrieve", f"no SpaceKnow operation retrieves from {retrieve!r}")
    return Job(PipelineStrategy(ctx, pipeline_id, retrieve, decode), poll=ctx.poll)


def _resume(ctx: ServiceContext[Any], job_id: str, data: Mapping[str, Any]) -> PipelineStrategy:
    retrieve = data.get("retrieve")
    if not isinstance(retrieve, str) or retrieve not in _RESULTS:
        raise ValidationError("resume_token", f"unknown SpaceKnow retrieve path {retrieve!r}")
    return PipelineStrategy(ctx, job_id, retrieve, _RESULTS[retrieve])


register_job_kind(KIND, _resume, service="spaceknow")
