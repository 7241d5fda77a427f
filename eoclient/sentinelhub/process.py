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
from collections.abc import Coroutine, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple, NoReturn, TypedDict

import anyio

from eoclient._files import AtomicFile
from eoclient._http import media
from eoclient._http.media import media_type
from eoclient._http.stages import Later
from eoclient._log import log_event
from eoclient.arrays import GeoRef
from eoclient.errors import DownloadSizeError, ResponseDecodeError, TransportError, UnexpectedContentError
from eoclient.sentinelhub.budget import ProcessingBudget, charged
from eoclient.sentinelhub.cache import ResponseCache, optional_cache_key, tee_writer
from eoclient.sentinelhub.data_collections import Deployment, deployment_path, route_request
from eoclient.sentinelhub.multipart import TAR_TYPES, ResponsePart, split_response
from eoclient.sentinelhub.prepared import PreparedProcess, PreparedStatistics, prepare_process
from eoclient.sentinelhub.process_models import (
    ProcessFile,
    ProcessRequest,
    ProcessResult,
    positional_maker,
)

if TYPE_CHECKING:
    from eoclient._context import ServiceContext
    from eoclient._http.transport import Response

__all__ = ["PROCESS_PATH", "PU_HEADER", "ChargedAPI", "ProcessAPI", "processing_units_spent"]

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


class ChargedAPI:
    """What the Process and Statistical APIs of one client share: its context, budget and cache.

    Each call prepares its request once (:mod:`eoclient.sentinelhub.prepared`);
    the cache, the budget and the transport read that one object.
    """

    def __init__(
        self,
        context: ServiceContext[Any],
        budget: ProcessingBudget | None = None,
        cache: ResponseCache | None = None,
    ) -> None:
        self._context = context
        self.budget = budget
        self.cache = cache

    async def _post(
        self, path: str, prepared: PreparedProcess | PreparedStatistics, *, operation: str
    ) -> tuple[Response, float | None]:
        """POST a prepared request charged to the budget: the answer and the processing units it spent."""
        if self.budget is None:  # nothing to charge: what charged() would do, without its context
            resp = await self._post_body(path, prepared, operation)
            return resp, processing_units_spent(resp.headers)
        async with charged(self.budget, prepared.cost.estimate) as charge:
            resp = await self._post_body(path, prepared, operation)
            charge.actual = processing_units_spent(resp.headers)
        return resp, charge.actual

    def _post_body(
        self, path: str, prepared: PreparedProcess | PreparedStatistics, operation: str
    ) -> Coroutine[Any, Any, Response]:
        return self._context.transport.request(
            "POST",
            path,
            operation=operation,
            data=prepared.body,
            headers=prepared.headers,
            idempotent=True,  # rendering or computing statistics changes nothing on the server
            expect=prepared.expect,
        )


class ProcessAPI(ChargedAPI):
    """Process API calls of one client (use the :class:`~eoclient.SentinelHub` methods)."""

    def process(
        self,
        request: ProcessRequest | Mapping[str, Any],
        *,
        accept: str | None,
        refresh: bool,
        deployment: Deployment | None = None,
        route: bool = False,
    ) -> Coroutine[Any, Any, ProcessResult]:
        """Render ``request`` (on ``deployment``, else the client's own); the answer is held in memory.

        ``route=True``: on the deployment that serves the request's collections
        (:func:`~eoclient.sentinelhub.data_collections.route_request`) instead.

        Without a budget or a cache (the usual case) this is the transport's
        request coroutine itself, the result made in it as the answer is read:
        the request is checked now, and a request refused comes out of the
        coroutine when it is awaited, as from any other.
        """
        if self.budget is not None or self.cache is not None:
            return self._process_kept(request, accept, refresh, deployment, route)
        try:
            if route:
                deployment = route_request(request, self._context.transport)
            prepared = prepare_process(request, accept=accept)
            return self._context.transport.request_with(
                _answered,
                prepared,
                "POST",
                PROCESS_PATH if deployment is None else deployment.path(PROCESS_PATH),  # deployment_path()
                operation="process.process",
                data=prepared.body,
                headers=prepared.headers,
                idempotent=True,  # rendering changes nothing on the server
                expect=prepared.expect,
            )
        except Exception as exc:  # raised where the caller awaits, as from a coroutine
            return _raising(exc)

    async def _process_kept(
        self,
        request: ProcessRequest | Mapping[str, Any],
        accept: str | None,
        refresh: bool,
        deployment: Deployment | None,
        route: bool,
    ) -> ProcessResult:
        """:meth:`process` with a budget to charge or a cache to read and fill."""
        if route:
            deployment = route_request(request, self._context.transport)
        prepared = prepare_process(request, accept=accept)
        target = deployment_path(deployment, PROCESS_PATH)
        url = key = ""  # only a cache needs them
        if self.cache is not None:
            url = self._context.transport.url(target)
            key = self.cache.key(url=url, accept=prepared.accept, body=prepared.body)
            if not refresh:
                cached = await _cached_result(self.cache, key, prepared)
                if cached is not None:
                    return cached
        if self.budget is None:
            resp = await self._post_body(target, prepared, "process.process")
            spent = processing_units_spent(resp.headers)
        else:
            resp, spent = await self._post(target, prepared, operation="process.process")
        made = _answered(resp.headers, resp.body, resp.path, prepared)
        result = await made.awaitable if isinstance(made, Later) else made
        if self.cache is not None:  # stored once it parsed: a broken answer is not kept
            await self.cache.put(
                key,
                url=url,
                accept=prepared.accept,
                request=prepared.body,
                content=resp.body,
                content_type=resp.headers.get("Content-Type", ""),
                processing_units=spent,
                headers=resp.headers,
            )
        return result

    async def to_file(
        self,
        request: ProcessRequest | Mapping[str, Any],
        path: str | os.PathLike[str],
        *,
        accept: str | None,
        refresh: bool,
        deployment: Deployment | None = None,
    ) -> ProcessFile:
        """Render ``request`` straight to ``path`` (``<path>.part`` until complete, never all in memory).

        An answer broken off mid-body is rendered again from the start (the
        request is idempotent; each try is charged to the budget), up to the
        transport's retry policy's ``attempts``; the ``.part`` file is started
        over, so ``path`` only ever holds a whole answer.
        """
        prepared = prepare_process(request, accept=accept)
        transport = self._context.transport
        url = transport.url(deployment_path(deployment, PROCESS_PATH))
        key = optional_cache_key(self.cache, url=url, accept=prepared.accept, body=prepared.body)
        if self.cache is not None and not refresh:
            meta = await self.cache.copy_to(key, path, expect=prepared.expect)
            if meta is not None:
                return ProcessFile(
                    path=Path(path),
                    size=meta.size,
                    content_type=meta.media_type,
                    processing_units=0.0,
                    headers=meta.header_map,
                    **_placed(prepared),
                )
        policy = transport.retry
        broken = 0
        while True:
            stage = _Stage()
            try:
                return await self._stream_once(prepared, path, url=url, key=key, stage=stage)
            except TransportError as exc:
                # Errors before the body are the transport's to retry; a body cut short is ours.
                if not stage.receiving:
                    raise
                broken += 1
                if broken >= policy.attempts:
                    raise
                log_event(logging.INFO, "process.restart", path=PROCESS_PATH, attempt=broken, reason=str(exc))
                await anyio.sleep(policy.backoff(broken - 1))

    async def _stream_once(
        self,
        prepared: PreparedProcess,
        path: str | os.PathLike[str],
        *,
        url: str,
        key: str,
        stage: _Stage,
    ) -> ProcessFile:
        async with (
            charged(self.budget, prepared.cost.estimate) as charge,
            self._context.transport.stream(
                "POST",
                url,
                operation="process.to_file",
                data=prepared.body,
                headers=prepared.headers,
                idempotent=True,
                expect=prepared.expect,
            ) as resp,
        ):
            charge.actual = processing_units_spent(resp.headers)
            async with (
                AtomicFile(path) as out,
                tee_writer(self.cache, key, url=url, accept=prepared.accept, request=prepared.body) as entry,
            ):
                stage.receiving = True
                # As received (no joined copies: the file writes each piece as it is while writes
                # are fast), and no cache tee to await per piece when there is no cache.
                if self.cache is None:
                    async for piece in resp.iter_received():
                        await out.write(piece)
                else:
                    async for piece in resp.iter_received():
                        await out.write(piece)
                        await entry.write(piece)
                stage.receiving = False
                if "Content-Encoding" not in resp.headers:  # else the length counts compressed bytes
                    _check_length(resp.content_length, out.size, resp.path)
                content_type = resp.headers.get("Content-Type", "")
                entry.finish(content_type=content_type, processing_units=charge.actual, headers=resp.headers)
        return ProcessFile(
            path=Path(path),
            size=out.size,
            content_type=resp.content_type,
            processing_units=charge.actual,
            headers=resp.headers,
            **_placed(prepared),
        )


# Made for every answer: positional, each field set through its slot (see positional_maker).
_new_result = positional_maker(ProcessResult)
_new_part = positional_maker(ResponsePart)


class _Unsplit(NamedTuple):
    """An archive too large to split on the event loop: :func:`_split_answer` splits it in a thread."""

    headers: Mapping[str, str]
    body: bytes
    path: str


async def _raising(exc: Exception) -> NoReturn:
    """A coroutine that raises ``exc`` when awaited (a request refused before it was sent)."""
    raise exc


def _answered(
    headers: Mapping[str, str], body: bytes, path: str, prepared: PreparedProcess
) -> ProcessResult | Later[ProcessResult]:
    """The result of a Process answer (``path``: where it came from, for errors), split and checked.

    A large archive is left to :func:`_split_answer` (split off the event loop), which the
    transport awaits (a :class:`~eoclient._http.stages.Later`).
    """
    raw_type = headers.get("Content-Type", "")
    kind = media_type(raw_type)
    wanted = prepared.parts
    if len(wanted) == 1 and kind not in TAR_TYPES and not kind.startswith("multipart/"):
        # One response asked for, one answered: split_response's single part, which _check_parts
        # finds (the transport checked its type against Accept).
        identifier = wanted[0][0]
        parts = {identifier: _new_part(identifier, body, kind, None)}
    elif len(body) > _THREAD_SPLIT:
        return Later(_split_answer(_Unsplit(headers, body, path), prepared))
    else:
        parts = split_response(body, raw_type, prepared.identifiers)
        _check_parts(wanted, parts, kind, path=path)
    # Positional: ProcessResult's fields' order (content, content_type, processing_units, headers,
    # parts, georef, time).
    return _new_result(
        body, kind, processing_units_spent(headers), headers, parts, prepared.georef, prepared.time
    )


async def _split_answer(answer: _Unsplit, prepared: PreparedProcess) -> ProcessResult:
    """:func:`_answered` for a large archive: split in a thread, then checked."""
    headers, body = answer.headers, answer.body
    raw_type = headers.get("Content-Type", "")
    parts = await _split(body, raw_type, prepared.identifiers)
    kind = media_type(raw_type)
    _check_parts(prepared.parts, parts, kind, path=answer.path)
    return ProcessResult(
        body, kind, processing_units_spent(headers), headers, parts, prepared.georef, prepared.time
    )


class _Placement(TypedDict):
    georef: GeoRef | None
    time: datetime | None


def _placed(prepared: PreparedProcess) -> _Placement:
    """The ``georef`` and ``time`` of a result: where and when its image is, from the request."""
    return _Placement(georef=prepared.georef, time=prepared.time)


class _Stage:
    """Whether a streamed answer had started to arrive when it failed."""

    __slots__ = ("receiving",)

    def __init__(self) -> None:
        self.receiving = False


def check_parts(
    prepared: PreparedProcess, parts: Mapping[str, ResponsePart], content_type: str, *, path: str
) -> None:
    """Every requested response is in the answer; in an archive, each of the type it was asked for.

    (A single answer is of the type ``Accept`` asked for, which may override
    the request's format: the transport checked that.)
    """
    _check_parts(prepared.parts, parts, content_type, path=path)


def _check_parts(
    wanted: Sequence[tuple[str, str | None]],
    parts: Mapping[str, ResponsePart],
    content_type: str,
    *,
    path: str,
) -> None:
    kind = media_type(content_type)
    archive = kind in TAR_TYPES or kind.startswith("multipart/")
    for identifier, asked in wanted:
        part = parts.get(identifier)
        if part is None:
            found = ", ".join(sorted(parts)) or "nothing"
            raise ResponseDecodeError(
                f"the answer has no part {identifier!r} (it holds {found})", operation="process", path=path
            )
        # An archive member's type is guessed from its name: "octet-stream" only means no guess.
        if archive and asked is not None and not media.matches({asked, *media.ANY_BINARY}, part.content_type):
            raise UnexpectedContentError(
                expected={asked},
                received=part.content_type,
                excerpt=media.excerpt(part.content),
                operation=f"process part {identifier!r}",
                path=path,
            )


def _check_length(announced: int | None, received: int, path: str) -> None:
    """aiohttp stops at Content-Length; fewer bytes with a clean end is a short answer all the same."""
    if announced is not None and announced != received:
        raise DownloadSizeError(expected=announced, actual=received, operation="process.to_file", path=path)


async def _cached_result(cache: ResponseCache, key: str, prepared: PreparedProcess) -> ProcessResult | None:
    """The answer from the cache (no request, no budget: the call spent nothing), or ``None``."""
    hit = await cache.get(key, expect=prepared.expect)
    if hit is None:
        return None
    try:
        parts = await _split(hit.content, hit.meta.content_type, prepared.identifiers)
        _check_parts(prepared.parts, parts, hit.meta.media_type, path="cache")
    except ResponseDecodeError:  # an entry process_to_file stored is not split-checked: fetch it again
        log_event(logging.WARNING, "cache.unusable_entry", key=key)
        return None
    return ProcessResult(
        content=hit.content,
        content_type=hit.meta.media_type,
        processing_units=0.0,
        headers=hit.meta.header_map,
        parts=parts,
        **_placed(prepared),
    )


async def _split(body: bytes, content_type: str, identifiers: list[str]) -> dict[str, ResponsePart]:
    if len(body) > _THREAD_SPLIT:
        return await anyio.to_thread.run_sync(split_response, body, content_type, identifiers)
    return split_response(body, content_type, identifiers)
