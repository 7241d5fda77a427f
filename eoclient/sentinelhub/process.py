"""The Process API: one synchronous rendering request, answered with an image (or several).

Reached through :meth:`eoclient.SentinelHub.process` and
:meth:`eoclient.SentinelHub.process_to_file`; request models are in
:mod:`eoclient.sentinelhub.process_models`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import anyio

from eoclient._files import AtomicFile
from eoclient._http.transport import Transport
from eoclient.sentinelhub.budget import ProcessingBudget, charged, estimate_process_units
from eoclient.sentinelhub.multipart import ResponsePart, split_response
from eoclient.sentinelhub.process_models import (
    ProcessFile,
    ProcessRequest,
    ProcessResult,
    prepare_process_request,
    resolve_accept,
)

__all__ = ["PROCESS_PATH", "PU_HEADER", "ProcessAPI", "processing_units_spent"]

PROCESS_PATH: Final = "/api/v1/process"
PU_HEADER: Final = "x-processingunits-spent"
_THREAD_SPLIT: Final = 4 << 20  # split bodies larger than this off the event loop


def processing_units_spent(headers: Mapping[str, str]) -> float | None:
    """The ``x-processingunits-spent`` header as a float (``None`` if absent or garbled)."""
    value = headers.get(PU_HEADER)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


class ProcessAPI:
    """Process API calls of one client (use the :class:`~eoclient.SentinelHub` methods)."""

    def __init__(self, transport: Transport, budget: ProcessingBudget | None = None) -> None:
        self._transport = transport
        self.budget = budget

    async def process(
        self, request: ProcessRequest | Mapping[str, Any], *, accept: str | None = None
    ) -> ProcessResult:
        """Render ``request``; the whole answer is held in memory (see :meth:`to_file`)."""
        model, wire = prepare_process_request(request)
        accept_value = resolve_accept(model, accept)
        async with charged(self.budget, estimate_process_units(model)) as charge:
            resp = await self._transport.request(
                "POST",
                PROCESS_PATH,
                operation="process.process",
                json=wire,
                headers={"Accept": accept_value},
                idempotent=True,  # rendering changes nothing on the server
            )
            charge.actual = processing_units_spent(resp.headers)
        parts = await _split(resp.body, resp.headers.get("Content-Type", ""), model.identifiers)
        return ProcessResult(
            content=resp.body,
            content_type=resp.content_type,
            processing_units=charge.actual,
            headers=resp.headers,
            parts=parts,
        )

    async def to_file(
        self,
        request: ProcessRequest | Mapping[str, Any],
        path: str | os.PathLike[str],
        *,
        accept: str | None = None,
    ) -> ProcessFile:
        """Render ``request`` straight to ``path`` (``<path>.part`` until complete, never all in memory)."""
        model, wire = prepare_process_request(request)
        accept_value = resolve_accept(model, accept)
        async with (
            charged(self.budget, estimate_process_units(model)) as charge,
            self._transport.stream(
                "POST",
                PROCESS_PATH,
                operation="process.to_file",
                json=wire,
                headers={"Accept": accept_value},
                idempotent=True,
            ) as resp,
        ):
            charge.actual = processing_units_spent(resp.headers)
            async with AtomicFile(path) as out:
                async for chunk in resp.iter_chunks():
                    await out.write(chunk)
        return ProcessFile(
            path=Path(path),
            size=out.size,
            content_type=resp.content_type,
            processing_units=charge.actual,
            headers=resp.headers,
        )


async def _split(body: bytes, content_type: str, identifiers: list[str]) -> dict[str, ResponsePart]:
    if len(body) > _THREAD_SPLIT:
        return await anyio.to_thread.run_sync(split_response, body, content_type, identifiers)
    return split_response(body, content_type, identifiers)
