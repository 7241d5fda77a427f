"""The emulated Async Process request: its job on the clock, the concurrency limit, the delivery.

A submitted request (:meth:`AsyncProcessStore.submit`) runs on the emulated
clock for :func:`run_seconds` (30 s plus up to 60 s more for the largest
images); while it runs its status is RUNNING, after that the service forgets
it (:meth:`AsyncProcessStore.running_request` refuses with 404, as the
OpenAPI document says) whatever the outcome. It FAILS when its plan says so
(``fail`` in the evalscript or the delivery URL): nothing is delivered.
Otherwise its outputs are written to the delivery store when it finishes
(small synthetic files, :mod:`eoclient.emulator.sentinelhub.outputs`):
:meth:`AsyncProcessStore.delivered` maps object URLs
(``<url>/<id>/<identifier>.<ext>``, or the template filled in) to the sizes
written. A delivery bucket the store cannot write FAILS the request.
At most :attr:`AsyncProcessStore.max_concurrent` requests run at once; one
more is refused with 429 and ``Retry-After`` (milliseconds, as Sentinel Hub
sends it) until the next one finishes.

Test knobs in :func:`async_store` (``state.stores["sh_async_process"]``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Final

from eoclient.emulator.core.deliveries import deliveries_of
from eoclient.emulator.core.fields import Grid
from eoclient.emulator.core.jobs import Job
from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.core.state import EmulatorState
from eoclient.emulator.sentinelhub.outputs import MAX_PIXELS, AsyncOutputs
from eoclient.emulator.sentinelhub.process.evalscript import ScriptOutput
from eoclient.emulator.sentinelhub.process.rendering import output_raster, render_file

__all__ = [
    "KIND",
    "MAX_SIZE",
    "AsyncPlan",
    "AsyncProcessStore",
    "AsyncRequest",
    "async_store",
    "run_seconds",
]

KIND: Final = "sh.async_process"
MAX_SIZE: Final = 10_000
_STORE_KEY: Final = "sh_async_process"


@dataclass(frozen=True)
class AsyncPlan:
    """A checked request: where it delivers, its size, its files ``(<identifier>.<ext>, size)``, cost."""

    url: str
    width: int
    height: int
    files: list[tuple[str, int]]
    processing_units: float
    fails: bool
    renders: tuple[tuple[str, str, ScriptOutput], ...] = ()  # per file: identifier, media, script output
    error: str | None = None
    request: dict[str, Any] = field(default_factory=dict)  # the body: evalscript, data, bounds
    extent: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)  # the bounds in ``epsg``
    epsg: int = 4326


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

    def submit(self, state: EmulatorState, planned: AsyncPlan) -> AsyncRequest:
        """Start a request on the clock; a :class:`Refusal` (429) while too many run."""
        running = self.running()
        if len(running) >= self.max_concurrent:
            wait = min(r.job.view().next_change_in or 0.0 for r in running)
            millis = max(1, math.ceil(state.clock.to_real(wait) * 1000))
            raise Refusal(
                429,
                "RATE_LIMIT_EXCEEDED",
                f"Maximum number of concurrent async requests reached ({self.max_concurrent})",
                headers={"Retry-After": str(millis)},
            )
        outcome = "FAILED" if planned.fails else "DONE"
        job = state.jobs.create(
            KIND,
            [("RUNNING", run_seconds(planned.width, planned.height))],
            outcome,
            error=(planned.error or "Failed to evaluate script") if planned.fails else None,
        )
        names = [name for name, _ in planned.files]
        urls = _locations(planned.url, job.id, names)
        width, height = min(planned.width, MAX_PIXELS), min(planned.height, MAX_PIXELS)
        bodies: dict[str, bytes] = {}
        media: dict[str, str] = {}
        grid = Grid(planned.extent, width, height, planned.epsg)
        for url, (ident, kind, out) in zip(urls, planned.renders, strict=False):
            bodies[url] = render_file(ident, kind, output_raster(planned.request, out, grid))
            media[url] = kind
        sizes = [
            len(bodies[u]) if u in bodies else size for u, (_, size) in zip(urls, planned.files, strict=True)
        ]
        request = AsyncRequest(
            job=job,
            url=planned.url,
            outputs=dict(zip(urls, sizes, strict=True)),
            processing_units=planned.processing_units,
        )
        self.requests[job.id] = request
        deliveries_of(state).register(AsyncOutputs(job, bodies, media))
        return request

    def running_request(self, request_id: str) -> AsyncRequest:
        """The request ``request_id`` while it runs; a :class:`Refusal` (404) once it has finished."""
        found = self.requests.get(request_id)
        # After completion, success or failure, the service forgets the request (OpenAPI: 404).
        if found is None or found.job.view().terminal:
            raise Refusal(404, None, f"Request {request_id} not found")
        return found


def async_store(state: EmulatorState) -> AsyncProcessStore:
    """The Async Process store of an emulator's state (created on first use)."""
    return state.store(_STORE_KEY, AsyncProcessStore)


def run_seconds(width: int, height: int) -> float:
    """Emulated seconds a request of this size runs."""
    return 30.0 + 60.0 * min(1.0, width * height / (MAX_SIZE * MAX_SIZE / 16))


def _locations(url: str, request_id: str, names: list[str]) -> list[str]:
    template = url if re.search(r"<[^<>]*>", url) else url.rstrip("/") + "/<REQUEST_ID>/<OUTPUT>"
    return [template.replace("<REQUEST_ID>", request_id).replace("<OUTPUT>", n) for n in names]
