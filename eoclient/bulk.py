"""Bulk downloads: many files at once, bounded concurrency, atomic files, resume, and a report.

:func:`download_file` streams one GET into a file through
:class:`~eoclient._files.AtomicFile` (bytes go to ``<dest>.part``; the file
appears under its name only when complete). A connection lost mid-body is
resumed with ``Range`` (and ``If-Range`` on the server's strong ``ETag``, so a
changed file is fetched whole again); a server without range support sends
the whole file again, which is then written from byte 0. An ``expected_size``
(e.g. from a ``HEAD``) is checked at the end. A download that finally fails,
or is cancelled, leaves no ``.part`` behind, unless the caller asks to keep it
(``keep_partial``) so that a later call continues where this one stopped.

:func:`download_all` runs :func:`download_file` over an (async) iterable of
work items with at most ``concurrency`` transfers at a time (an
``anyio.CapacityLimiter``, which callers may share between several bulk runs)
and returns a :class:`BulkReport`: completed files, skipped ones (already on
disk), bytes, and each failure with its typed :mod:`eoclient.errors`
exception. Work items are pulled lazily, so millions of them never sit in
memory at once.

Example::

    items = (Download(f"/kraken/grid/{map_id}/-/{z}/{x}/{y}/trees.png", out / f"{z}/{x}/{y}.png")
             for z, x, y in tiles)
    report = await download_all(sk.transport, items, concurrency=16)
    report.raise_for_failures()
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import AsyncIterable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from eoclient._files import AtomicFile, part_path
from eoclient._http import media
from eoclient._http.transport import StreamResponse, Transport
from eoclient._log import log_event
from eoclient.errors import (
    DownloadError,
    DownloadSizeError,
    EOClientError,
    ResponseDecodeError,
    TransportError,
    ValidationError,
)

__all__ = [
    "BulkDownloadError",
    "BulkReport",
    "Download",
    "Downloaded",
    "Failure",
    "download_all",
    "download_file",
]

_CONTENT_RANGE: Final = re.compile(r"^bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)$", re.I)
DEFAULT_CHUNK: Final = 1 << 16

QueryValue = str | int | float


@dataclass(frozen=True, slots=True)
class Download:
    """One work item: GET ``source`` (a path under the service's base URL, or a URL) into ``dest``.

    ``expect`` lists the media types the answer may have (default: by the
    extension of ``dest``, see :func:`download_file`).
    """

    source: str
    dest: Path
    params: Mapping[str, QueryValue] | None = None
    operation: str | None = None
    expect: Collection[str] | None = None

    @classmethod
    def of(cls, item: Download | tuple[Any, ...]) -> Download:
        """A :class:`Download` from itself or a ``(source, dest[, params])`` tuple."""
        if isinstance(item, Download):
            return item
        if isinstance(item, tuple) and len(item) in (2, 3):
            source, dest, *rest = item
            if not isinstance(source, str) or not isinstance(dest, str | os.PathLike):
                raise ValidationError("items", f"expected (source: str, dest: path), got {item!r}")
            return cls(source, Path(dest), rest[0] if rest else None)
        raise ValidationError("items", f"expected a Download or a (source, dest) tuple, got {item!r}")


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A file on disk: where, how many bytes, how often its transfer was resumed, or skipped as present."""

    path: Path
    bytes: int
    resumes: int = 0
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class Failure:
    """A work item that could not be downloaded, with the typed error that ended it."""

    item: Download
    error: Exception


@dataclass
class BulkReport:
    """The outcome of :func:`download_all` (lists in completion order)."""

    files: list[Downloaded] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def downloaded(self) -> list[Downloaded]:
        """Files transferred in this run."""
        return [f for f in self.files if not f.skipped]

    @property
    def skipped(self) -> list[Downloaded]:
        """Files that were already complete on disk."""
        return [f for f in self.files if f.skipped]

    @property
    def bytes(self) -> int:
        """Bytes transferred in this run (skipped files not counted)."""
        return sum(f.bytes for f in self.files if not f.skipped)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failures

    def raise_for_failures(self) -> None:
        """Raise :class:`BulkDownloadError` if any item failed."""
        if self.failures:
            raise BulkDownloadError(self)

    def __repr__(self) -> str:
        return (
            f"BulkReport(files={len(self.files)}, skipped={len(self.skipped)}, "
            f"bytes={self.bytes}, failures={len(self.failures)})"
        )


class BulkDownloadError(DownloadError):
    """Some items of a bulk download failed; ``report`` holds everything, ``failures`` the errors."""

    def __init__(self, report: BulkReport) -> None:
        self.report = report
        self.failures = report.failures
        first = report.failures[0]
        super().__init__(
            f"{len(report.failures)} of {len(report.files) + len(report.failures)} downloads failed; "
            f"first: {first.item.source}: {first.error}"
        )


class _Restart(Exception):
    """The partial file cannot be continued; start again from byte 0."""


def _body_start(resp: StreamResponse, offset: int) -> tuple[int, int | None]:
    """Where the body of ``resp`` starts in the file, and the file's full size when the answer says.

    200: the whole file, from byte 0 whatever was asked; 206: must continue at
    ``offset``; 416: the partial file is already complete if it has the full
    size. Anything else raises :class:`_Restart`.
    """
    if resp.status == 200:
        return 0, resp.content_length
    match = _CONTENT_RANGE.match(resp.headers.get("Content-Range", "").strip())
    first = int(match.group(1)) if match is not None and match.group(1) is not None else None
    total = int(match.group(3)) if match is not None and match.group(3) != "*" else None
    if resp.status == 206 and first == offset:
        return offset, total
    if resp.status == 416 and offset > 0 and total == offset:
        return offset, total
    raise _Restart(f"the service cannot continue at byte {offset} (HTTP {resp.status})")


def _strong_etag(resp: StreamResponse) -> str | None:
    etag = resp.headers.get("ETag")
    return etag if etag and not etag.startswith("W/") else None


def _discard_part(target: Path, *, keep_bytes: bool = False) -> None:
    part = part_path(target)
    if keep_bytes and part.exists() and part.stat().st_size > 0:
        return
    part.unlink(missing_ok=True)


@dataclass
class _Progress:
    """Where one file's transfer stands between attempts."""

    resume: bool = False  # continue the .part on disk (with Range) instead of starting afresh
    etag: str | None = None
    receiving: bool = False


def _check_size(out: AtomicFile, total: int | None, expected: int | None, operation: str, path: str) -> None:
    for want in (total, expected):
        if want is not None and out.size != want:
            out.keep_partial = False  # bytes of unknown provenance: never resume them
            raise DownloadSizeError(expected=want, actual=out.size, operation=operation, path=path)


async def _transfer(
    transport: Transport,
    source: str,
    target: Path,
    progress: _Progress,
    *,
    operation: str,
    params: Mapping[str, QueryValue] | None,
    chunk_size: int,
    expected_size: int | None,
    expect: Collection[str],
) -> int:
    """One GET, continuing the ``.part`` if ``progress.resume``; returns the size of the complete file."""
    # The file is opened before the request so that reading starts the moment the headers are in:
    # a body broken off early is then kept up to where it broke, not lost in the socket buffer.
    async with AtomicFile(target, resume=progress.resume, keep_partial=True) as out:
        headers: dict[str, str] = {}
        if out.offset:
            headers["Range"] = f"bytes={out.offset}-"
            if progress.etag:
                headers["If-Range"] = progress.etag
        async with transport.stream(
            "GET",
            source,
            operation=operation,
            params=params,
            headers=headers or None,
            ok={416: True},
            expect=expect,
        ) as resp:
            start, total = _body_start(resp, out.offset)
            progress.etag = _strong_etag(resp)
            if start < out.offset:
                # The whole file in answer to a Range request (no range support, or If-Range saw a
                # changed file): use it rather than asking again.
                log_event(logging.INFO, "download.restart", path=source, reason=f"HTTP {resp.status}")
                await out.restart()
            if resp.status == 416:
                await resp.read()  # the .part is complete; read the small error body to free the connection
            else:
                progress.receiving = True
                async for chunk in resp.iter_chunks(chunk_size):
                    await out.write(chunk)
                progress.receiving = False
            _check_size(out, total, expected_size, operation, resp.path)
    return out.size


async def download_file(
    transport: Transport,
    source: str,
    dest: str | os.PathLike[str],
    *,
    operation: str = "download",
    params: Mapping[str, QueryValue] | None = None,
    attempts: int | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    expected_size: int | None = None,
    keep_partial: bool = False,
    expect: Collection[str] | None = None,
) -> Downloaded:
    """GET ``source`` into ``dest`` atomically, resuming a body broken off mid-way.

    ``attempts`` (default: the transport's retry policy) bounds how many GETs
    one call sends for the body: a broken body is resumed with ``Range``, an
    answer that cannot continue the partial file starts it again; errors
    before the body (statuses, refused connections) are the transport's retry
    policy's business. ``Downloaded.resumes`` counts the GETs after the first.

    ``expected_size`` (bytes, e.g. from a ``HEAD``) is checked when the body
    is complete, like a size the answer itself announces: a mismatch raises
    :class:`~eoclient.errors.DownloadSizeError` and leaves no file at all.

    ``expect`` lists the media types the answer may have; by default they
    follow from the extension of ``dest`` (``.tif`` → ``image/tiff``, ``.json``
    → JSON, with ``application/octet-stream`` always allowed), and a name with
    no known extension accepts anything but a web page. Any other type raises
    :class:`~eoclient.errors.UnexpectedContentError` before a byte is written.

    By default a failed or cancelled call leaves no ``.part`` file. With
    ``keep_partial=True`` a failed call keeps it and a later call with the same
    ``dest`` continues from it (a cancelled call still removes it).

    Example::

        got = await download_file(sk.transport, "/kraken/grid/abc/-/16/35210/22280/trees.png", "trees.png")
    """
    if attempts is not None and (isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1):
        raise ValidationError("attempts", "must be a positive integer")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValidationError("chunk_size", "must be a positive integer")
    if expected_size is not None and (
        isinstance(expected_size, bool) or not isinstance(expected_size, int) or expected_size < 0
    ):
        raise ValidationError("expected_size", "must be an integer >= 0")
    target = Path(dest)
    accepted = (
        expect if expect is not None else media.expected_for_filename(target.name) or media.ANY_BUT_PAGE
    )
    policy = transport.retry
    tries = attempts or policy.attempts
    progress = _Progress(resume=keep_partial)
    failures = 0
    try:
        while True:
            progress.receiving = False
            try:
                size = await _transfer(
                    transport,
                    source,
                    target,
                    progress,
                    operation=operation,
                    params=params,
                    chunk_size=chunk_size,
                    expected_size=expected_size,
                    expect=accepted,
                )
                return Downloaded(target, size, failures)
            except TransportError as exc:
                failures += 1
                if not progress.receiving or failures >= tries:
                    raise
                progress.resume = True
                log_event(logging.INFO, "download.resume", path=source, attempt=failures, reason=str(exc))
            except _Restart as exc:
                failures += 1
                progress.resume, progress.etag = False, None
                await anyio.to_thread.run_sync(_discard_part, target)
                if failures >= tries:
                    raise ResponseDecodeError(str(exc), operation=operation, path=source) from None
                log_event(logging.INFO, "download.restart", path=source, reason=str(exc))
            await anyio.sleep(policy.backoff(failures - 1))
    except BaseException as exc:
        # Failed for good or cancelled: the partial goes, unless the caller wants to resume it
        # later (an empty one is of no use, and a cancelled call never leaves one).
        keep = keep_partial and isinstance(exc, Exception)
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(functools.partial(_discard_part, target, keep_bytes=keep))
        raise


async def _aiter(items: AsyncIterable[Any] | Iterable[Any]) -> AsyncIterable[Any]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


async def download_all(
    transport: Transport,
    items: AsyncIterable[Download | tuple[Any, ...]] | Iterable[Download | tuple[Any, ...]],
    *,
    concurrency: int = 16,
    limiter: anyio.CapacityLimiter | None = None,
    operation: str = "bulk.download",
    overwrite: bool = False,
    attempts: int | None = None,
    on_item: Callable[[Downloaded | Failure], object] | None = None,
) -> BulkReport:
    """Download every work item, ``concurrency`` at a time; failures are reported, not raised.

    ``items`` are :class:`Download` objects or ``(source, dest[, params])``
    tuples, from a plain or an async iterable (consumed lazily). A file already
    at its ``dest`` is complete (downloads are atomic) and is skipped unless
    ``overwrite``. ``limiter`` bounds transfers across several calls that
    share it. ``on_item`` is called with each :class:`Downloaded` or
    :class:`Failure` as it happens. Typed :mod:`eoclient.errors` exceptions and
    ``OSError`` of single items become :class:`Failure` entries; anything else
    (and cancellation) stops the whole run, leaving no partial file.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValidationError("concurrency", "must be a positive integer")
    bound = limiter or anyio.CapacityLimiter(concurrency)
    report = BulkReport()
    send, receive = anyio.create_memory_object_stream[Download](0)

    async def one(item: Download) -> None:
        outcome: Downloaded | Failure
        try:
            existing = None if overwrite else await anyio.to_thread.run_sync(_existing_size, item.dest)
            if existing is not None:
                outcome = Downloaded(item.dest, existing, skipped=True)
            else:
                outcome = await download_file(
                    transport,
                    item.source,
                    item.dest,
                    operation=item.operation or operation,
                    params=item.params,
                    attempts=attempts,
                    expect=item.expect,
                )
        except (EOClientError, OSError) as exc:
            log_event(logging.WARNING, "download.failed", path=item.source, error=str(exc))
            outcome = Failure(item, exc)
            report.failures.append(outcome)
        else:
            report.files.append(outcome)
        if on_item is not None:
            on_item(outcome)

    async def worker(queue: MemoryObjectReceiveStream[Download]) -> None:
        async with queue:
            async for item in queue:
                async with bound:
                    await one(item)

    try:
        async with anyio.create_task_group() as tg:
            with receive:
                for _ in range(concurrency):
                    tg.start_soon(worker, receive.clone())
            async with send:
                async for raw in _aiter(items):
                    await send.send(Download.of(raw))
    except BaseExceptionGroup as group:
        # One error (a bad work item, a failing iterable, a bug) is raised as itself, not wrapped.
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
    return report


def _existing_size(path: Path) -> int | None:
    try:
        return path.stat().st_size if path.is_file() else None
    except OSError:
        return None
