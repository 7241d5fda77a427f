"""The Process API route: ``POST /api/v1/process``, streamed with a known ``Content-Length``.

The running total of what it served is in ``state.stores["sh_process.usage"]``
(:class:`ProcessUsage`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from eoclient.emulator.core.refusal import json_body
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.sentinelhub.common import derived_seed
from eoclient.emulator.sentinelhub.process.rendering import answer_body, plan_request
from eoclient.emulator.sentinelhub.process.units import PU_HEADER

__all__ = ["PATH", "ProcessUsage", "setup"]

PATH: Final = "/api/v1/process"
_SEED_KEY: Final = "sh_process.seed"
_USAGE_KEY: Final = "sh_process.usage"


@dataclass
class ProcessUsage:
    """What the emulated Process API has served: requests and processing units."""

    requests: int = 0
    processing_units: float = 0.0


async def _process(request: web.Request) -> web.StreamResponse:
    state = get_state(request)
    body = await json_body(request, media_type=True)
    seed = state.store(_SEED_KEY, lambda: derived_seed(state, _SEED_KEY))
    # PNG and JPEG are encoded while planning (their size comes first): off the event loop.
    plan = await asyncio.to_thread(plan_request, body, request.headers.get("Accept", ""), seed)
    usage = state.store(_USAGE_KEY, ProcessUsage)
    usage.requests += 1
    usage.processing_units += plan.processing_units
    total, content_type, chunks = answer_body(plan)
    resp = web.StreamResponse(
        status=200, headers={"Content-Type": content_type, PU_HEADER: repr(plan.processing_units)}
    )
    resp.content_length = total
    await resp.prepare(request)
    for chunk in chunks:
        if chunk:
            await resp.write(chunk)
    await resp.write_eof()
    return resp


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add ``POST /api/v1/process`` to the Sentinel Hub app."""
    state.store(_SEED_KEY, lambda: derived_seed(state, _SEED_KEY))
    add_route(app, "POST", PATH, _process)
