"""The Process API: one synchronous rendering request, answered with an image (or several).

Reached through :meth:`eoclient.SentinelHub.process` and
:meth:`eoclient.SentinelHub.process_to_file`; request models are in
:mod:`eoclient.sentinelhub.process_models`. With a
:class:`~eoclient.sentinelhub.cache.ResponseCache`, a repeated request is
answered from disk (``refresh=True`` renders it again and rewrites the entry).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import anyio

from eoclient._files import AtomicFile
from eoclient._http.transport import Transport
from eoclient._log import log_event
from eoclient.errors import ResponseDecodeError
from eoclient.sentinelhub.budget import ProcessingBudget, charged, estimate_process_units
from eoclient.sentinelhub.cache import ResponseCache, tee_writer
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

    def __init__(
        self,
        transport: Transport,
        budget: ProcessingBudget | None = None,
        cache: ResponseCache | None = None,
    ) -> None:
        self._transport = transport
        self.budget = budget
        self.cache = cache

    async def process(
        self,
        request: ProcessRequest | Mapping[str, Any],
        *,
        accept: str | None = None,
        refresh: bool = False,
    ) -> ProcessResult:
        """Render ``request``; the whole answer is held in memory (see :meth:`to_file`)."""
        model, wire = prepare_process_request(request)
        accept_value = resolve_accept(model, accept)
        url = self._transport.url(PROCESS_PATH)
        key = self.cache.key(url=url, accept=accept_value, body=wire) if self.cache is not None else ""
        if self.cache is not None and not refresh:
            cached = await _cached_result(self.cache, key, model.identifiers)
            if cached is not None:
                return cached
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
        if self.cache is not None:  # stored once it parsed: a broken answer is not kept
            await self.cache.put(
                key,
                url=url,
                accept=accept_value,
                request=wire,
                content=resp.body,
                content_type=resp.headers.get("Content-Type", ""),
                processing_units=charge.actual,
                headers=resp.headers,
            )
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
        refresh: bool = False,
    ) -> ProcessFile:
        """Render ``request`` straight to ``path`` (``<path>.part`` until complete, never all in memory)."""
        model, wire = prepare_process_request(request)
        accept_value = resolve_accept(model, accept)
        url = self._transport.url(PROCESS_PATH)
        key = self.cache.key(url=url, accept=accept_value, body=wire) if self.cache is not None else ""
        if self.cache is not None and not refresh:
            meta = await self.cache.copy_to(key, path)
            if meta is not None:
                return ProcessFile(
                    path=Path(path),
                    size=meta.size,
                    content_type=meta.media_type,
                    processing_units=0.0,
                    headers=meta.header_map,
                )
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
            async with (
                AtomicFile(path) as out,
                tee_writer(self.cache, key, url=url, accept=accept_value, request=wire) as entry,
            ):
                async for chunk in resp.iter_chunks():
                    await out.write(chunk)
                    await entry.write(chunk)
                content_type = resp.headers.get("Content-Type", "")
                entry.finish(content_type=content_type, processing_units=charge.actual, headers=resp.headers)
        return ProcessFile(
            path=Path(path),
            size=out.size,
            content_type=resp.content_type,
            processing_units=charge.actual,
            headers=resp.headers,
        )


async def _cached_result(cache: ResponseCache, key: str, identifiers: list[str]) -> ProcessResult | None:
    """The answer from the cache (no request, no budget: the call spent nothing), or ``None``."""
    hit = await cache.get(key)
    if hit is None:
        return None
    try:
        parts = await _split(hit.content, hit.meta.content_type, identifiers)
    except ResponseDecodeError:  # an entry process_to_file stored is not split-checked: fetch it again
        log_event(logging.WARNING, "cache.unusable_entry", key=key)
        return None
    return ProcessResult(
        content=hit.content,
        content_type=hit.meta.media_type,
        processing_units=0.0,
        headers=hit.meta.header_map,
        parts=parts,
    )


async def _split(body: bytes, content_type: str, identifiers: list[str]) -> dict[str, ResponsePart]:
    if len(body) > _THREAD_SPLIT:
        return await anyio.to_thread.run_sync(split_response, body, content_type, identifiers)
    return split_response(body, content_type, identifiers)
