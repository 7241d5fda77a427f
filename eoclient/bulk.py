"""Bulk downloads: many files at once, bounded concurrency, atomic files, resume, and a report.

One engine, two kinds of source: a URL of the service (the HTTP transport),
or anything that implements :class:`Source` (open from a byte offset, yield
chunks; e.g. an object of an :mod:`eoclient.storage` store). :func:`fetch`
is the engine; :func:`download_file` is it for one GET.

:func:`download_file` streams one GET into a file through
:class:`~eoclient._files.AtomicFile` (bytes go to ``<dest>.part``; the file
appears under its name only when complete). A connection lost mid-body is
resumed with ``Range`` (and ``If-Range`` on the server's strong ``ETag``, so a
changed file is fetched whole again); a server without range support sends
the whole file again, which is then written from byte 0. An ``expected_size``
(e.g. from a ``HEAD``) is checked at the end. A download that finally fails,
or is cancelled, leaves no ``.part`` behind, unless the caller asks to keep it
(``keep_partial``) so that a later call continues where this one stopped.

:func:`download_each` runs the engine over an (async) iterable of work items
and yields each file's outcome as it completes; :func:`download_all` runs it
to the end with at most ``concurrency`` transfers at a time (an
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
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Mapping,
)
from contextlib import AbstractAsyncContextManager, aclosing, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Generic, Protocol, TypeVar, runtime_checkable

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from eoclient._files import AtomicFile, part_path
from eoclient._http import media
from eoclient._http.retry import RetryPolicy
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
    "Body",
    "BulkDownloadError",
    "BulkReport",
    "Download",
    "Downloaded",
    "Failure",
    "Report",
    "RestartTransfer",
    "Source",
    "complete_size",
    "download_all",
    "download_each",
    "download_file",
    "each_of",
    "fetch",
    "http_source",
    "run_each",
]

_CONTENT_RANGE: Final = re.compile(r"^bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)$", re.I)
DEFAULT_CHUNK: Final = 1 << 20  # bytes asked of a body at a time: fewer, larger steps (was 64 KiB)

QueryValue = str | int | float


@dataclass(frozen=True, slots=True)
class Download:
    """One work item: ``source`` into ``dest``.

    ``source`` is a path under the service's base URL or a URL (a GET through
    the transport), or a :class:`Source` (e.g. an object of a store).
    ``expect`` lists the media types an HTTP answer may have (default: by the
    extension of ``dest``, see :func:`download_file`).
    """

    source: str | Source
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
            if not isinstance(source, str | Source) or not isinstance(dest, str | os.PathLike):
                raise ValidationError("items", f"expected (source: str, dest: path), got {item!r}")
            return cls(source, Path(dest), rest[0] if rest else None)
        raise ValidationError("items", f"expected a Download or a (source, dest) tuple, got {item!r}")

    @property
    def name(self) -> str:
        """The source's path, URL or key (for reports and errors)."""
        return self.source if isinstance(self.source, str) else self.source.name


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A file on disk: where, how many bytes, how often its transfer was resumed, or skipped as present.

    ``source`` is the work item's path, URL or object key.
    """

    path: Path
    bytes: int
    resumes: int = 0
    skipped: bool = False
    source: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Failure:
    """A work item that could not be downloaded, with the typed error that ended it."""

    item: Download
    error: Exception


class Outcome(Protocol):
    """What a bulk report counts of a file: its bytes, and whether it was skipped as already there."""

    @property
    def bytes(self) -> int: ...

    @property
    def skipped(self) -> bool: ...


F = TypeVar("F", bound=Outcome)
X = TypeVar("X")


@dataclass(repr=False)
class Report(Generic[F, X]):
    """A bulk run's files and failures (lists in completion order): what every bulk report shares."""

    files: list[F] = field(default_factory=list)
    failures: list[X] = field(default_factory=list)

    @property
    def skipped(self) -> list[F]:
        """Files that were already complete at their destination."""
        return [f for f in self.files if f.skipped]

    @property
    def bytes(self) -> int:
        """Bytes transferred in this run (skipped files not counted)."""
        return sum(f.bytes for f in self.files if not f.skipped)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failures

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(files={len(self.files)}, skipped={len(self.skipped)}, "
            f"bytes={self.bytes}, failures={len(self.failures)})"
        )


@dataclass(repr=False)
class BulkReport(Report[Downloaded, Failure]):
    """The outcome of :func:`download_all` (lists in completion order)."""

    @property
    def downloaded(self) -> list[Downloaded]:
        """Files transferred in this run."""
        return [f for f in self.files if not f.skipped]

    def raise_for_failures(self) -> None:
        """Raise :class:`BulkDownloadError` if any item failed."""
        if self.failures:
            raise BulkDownloadError(self)


class BulkDownloadError(DownloadError):
    """Some items of a bulk download failed; ``report`` holds everything, ``failures`` the errors."""

    def __init__(self, report: BulkReport) -> None:
        self.report = report
        self.failures = report.failures
        first = report.failures[0]
        super().__init__(
            f"{len(report.failures)} of {len(report.files) + len(report.failures)} downloads failed; "
            f"first: {first.item.name}: {first.error}"
        )


class RestartTransfer(Exception):
    """Raised by :meth:`Source.open`: the partial file cannot be continued; start again from byte 0."""


@dataclass
class Body:
    """What :meth:`Source.open` yields: the bytes from ``start`` on, and what is known of the file.

    ``start`` is where ``chunks`` begin in the file (0 when the source sends
    the whole file whatever was asked); ``total`` the file's full size when
    known (checked at the end); ``etag`` a validator that pins a resumed
    transfer to this version of the file; ``complete`` says the partial file
    already is the whole file (nothing left to read).
    """

    start: int
    chunks: AsyncIterable[bytes]
    total: int | None = None
    etag: str | None = None
    complete: bool = False


@runtime_checkable
class Source(Protocol):
    """Where a file's bytes come from: the engine opens it at a byte offset and writes the chunks.

    ``open`` raises :class:`RestartTransfer` when it cannot continue at
    ``offset`` with the version ``validator`` names (the engine then starts
    again from byte 0), and a :class:`~eoclient.errors.TransportError` for a
    connection lost (resumed from where the bytes stopped). ``current(path)``
    is the size of ``path`` when it already is a complete copy of this source
    (skip it), else None; ``completed(path)`` runs once the file is in place.
    """

    @property
    def name(self) -> str:
        """The source's path, URL or key, for reports and errors."""
        ...

    def open(
        self, offset: int, *, validator: str | None, chunk_size: int
    ) -> AbstractAsyncContextManager[Body]: ...

    async def current(self, path: Path) -> int | None: ...

    async def completed(self, path: Path) -> None: ...


def _body_start(resp: StreamResponse, offset: int) -> tuple[int, int | None]:
    """Where the body of ``resp`` starts in the file, and the file's full size when the answer says.

    200: the whole file, from byte 0 whatever was asked; 206: must continue at
    ``offset``; 416: the partial file is already complete if it has the full
    size. Anything else raises :class:`RestartTransfer`.
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
    raise RestartTransfer(f"the service cannot continue at byte {offset} (HTTP {resp.status})")


def _strong_etag(resp: StreamResponse) -> str | None:
    etag = resp.headers.get("ETag")
    return etag if etag and not etag.startswith("W/") else None


@dataclass(frozen=True)
class _HttpSource:
    """A GET through the transport: ``Range`` + ``If-Range`` to resume, 416 when already complete."""

    transport: Transport
    path: str
    operation: str
    params: Mapping[str, QueryValue] | None
    expect: Collection[str]
    authenticate: bool = True  # False: no bearer (a URL on another host, e.g. a signed link)

    @property
    def name(self) -> str:
        return self.path

    @asynccontextmanager
    async def open(self, offset: int, *, validator: str | None, chunk_size: int) -> AsyncIterator[Body]:
        headers: dict[str, str] = {}
        if offset:
            headers["Range"] = f"bytes={offset}-"
            if validator:
                headers["If-Range"] = validator
        async with self.transport.stream(
            "GET",
            self.path,
            operation=self.operation,
            params=self.params,
            headers=headers or None,
            ok={416: True},
            expect=self.expect,
            authenticate=self.authenticate,
        ) as resp:
            start, total = _body_start(resp, offset)
            if resp.status == 416:
                await resp.read()  # the .part is complete; read the small error body to free the connection
                yield Body(start, _no_chunks(), total, _strong_etag(resp), complete=True)
            else:
                yield Body(start, resp.iter_chunks(chunk_size), total, _strong_etag(resp))

    async def current(self, path: Path) -> int | None:
        return await complete_size(path)

    async def completed(self, path: Path) -> None:
        return None


async def _no_chunks() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


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
    source: Source,
    target: Path,
    progress: _Progress,
    *,
    operation: str,
    chunk_size: int,
    expected_size: int | None,
) -> int:
    """One opening of ``source``, continuing the ``.part`` if ``progress.resume``; returns the file's size."""
    # The file is opened before the request so that reading starts the moment the headers are in:
    # a body broken off early is then kept up to where it broke, not lost in the socket buffer.
    async with AtomicFile(target, resume=progress.resume, keep_partial=True) as out:
        validator = progress.etag if out.offset else None
        async with source.open(out.offset, validator=validator, chunk_size=chunk_size) as body:
            progress.etag = body.etag
            if body.start < out.offset:
                # The whole file in answer to a Range request (no range support, or If-Range saw a
                # changed file): use it rather than asking again.
                log_event(logging.INFO, "download.restart", path=source.name, reason="whole file sent")
                await out.restart()
            if not body.complete:
                progress.receiving = True
                async for chunk in body.chunks:
                    await out.write(chunk)
                progress.receiving = False
            _check_size(out, body.total, expected_size, operation, source.name)
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
    authenticate: bool = True,
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

    ``authenticate=False`` sends no bearer: the only way to GET a URL on
    another host (e.g. a signed download link), which the transport otherwise
    refuses.

    Example::

        got = await download_file(sk.transport, "/kraken/grid/abc/-/16/35210/22280/trees.png", "trees.png")
    """
    target = Path(dest)
    accepted = (
        expect if expect is not None else media.expected_for_filename(target.name) or media.ANY_BUT_PAGE
    )
    http = _HttpSource(transport, source, operation, params, accepted, authenticate)
    return await fetch(
        http,
        target,
        policy=transport.retry,
        operation=operation,
        attempts=attempts,
        chunk_size=chunk_size,
        expected_size=expected_size,
        keep_partial=keep_partial,
    )


def _check_positive(name: str, value: object, *, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(name, "must be a positive integer" if minimum else "must be an integer >= 0")


async def fetch(
    source: Source,
    dest: str | os.PathLike[str],
    *,
    policy: RetryPolicy | None = None,
    operation: str = "download",
    attempts: int | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    expected_size: int | None = None,
    keep_partial: bool = False,
) -> Downloaded:
    """The engine: ``source`` into ``dest`` atomically, resumed from where a lost connection stopped.

    ``attempts`` (default: ``policy.attempts``) bounds how many times one call
    opens the source; :meth:`Source.open` failing with a
    :class:`~eoclient.errors.TransportError` once bytes were flowing is
    resumed at the partial file's size, :class:`RestartTransfer` starts it
    again from byte 0; the waits between attempts follow ``policy``. The size
    is checked at the end (the source's own and ``expected_size``). See
    :func:`download_file` for ``keep_partial``.
    """
    if attempts is not None:
        _check_positive("attempts", attempts)
    _check_positive("chunk_size", chunk_size)
    if expected_size is not None:
        _check_positive("expected_size", expected_size, minimum=0)
    target = Path(dest)
    policy = policy or RetryPolicy()
    tries = attempts or policy.attempts
    progress = _Progress(resume=keep_partial)
    failures = 0
    try:
        while True:
            progress.receiving = False
            try:
                size = await _transfer(
                    source,
                    target,
                    progress,
                    operation=operation,
                    chunk_size=chunk_size,
                    expected_size=expected_size,
                )
                await source.completed(target)
                return Downloaded(target, size, failures, source=source.name)
            except TransportError as exc:
                failures += 1
                if not progress.receiving or failures >= tries:
                    raise
                progress.resume = True
                log_event(
                    logging.INFO, "download.resume", path=source.name, attempt=failures, reason=str(exc)
                )
            except RestartTransfer as exc:
                failures += 1
                progress.resume, progress.etag = False, None
                await anyio.to_thread.run_sync(_discard_part, target)
                if failures >= tries:
                    raise ResponseDecodeError(str(exc), operation=operation, path=source.name) from None
                log_event(logging.INFO, "download.restart", path=source.name, reason=str(exc))
            await anyio.sleep(policy.backoff(failures - 1))
    except BaseException as exc:
        # Failed for good or cancelled: the partial goes, unless the caller wants to resume it
        # later (an empty one is of no use, and a cancelled call never leaves one).
        keep = keep_partial and isinstance(exc, Exception)
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(functools.partial(_discard_part, target, keep_bytes=keep))
        raise


async def each_of(items: AsyncIterable[Any] | Iterable[Any]) -> AsyncGenerator[Any, None]:
    """The items of a plain or an async iterable, as an async generator (read lazily)."""
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


Items = AsyncIterable[Download | tuple[Any, ...]] | Iterable[Download | tuple[Any, ...]]


def http_source(transport: Transport, item: Download, operation: str = "bulk.download") -> Source:
    """The :class:`Source` the engine reads a work item from: a GET through ``transport`` for a path or URL.

    For callers that wrap the source (e.g. to hold a lease while it is open).
    """
    return _source_of(transport, item, operation)


def _source_of(transport: Transport | None, item: Download, operation: str) -> Source:
    if not isinstance(item.source, str):
        return item.source
    if transport is None:
        raise ValidationError("items", f"{item.source!r} is a URL path: download_each needs a transport")
    accepted = (
        item.expect
        if item.expect is not None
        else media.expected_for_filename(item.dest.name) or media.ANY_BUT_PAGE
    )
    return _HttpSource(transport, item.source, item.operation or operation, item.params, accepted)


T = TypeVar("T")
R = TypeVar("R")


async def run_each(
    items: AsyncIterable[T] | Iterable[T],
    one: Callable[[T], Awaitable[R]],
    *,
    concurrency: int,
    limiter: anyio.CapacityLimiter | None = None,
) -> AsyncGenerator[R, None]:
    """``await one(item)`` for every item, ``concurrency`` at a time; yield each result as it completes.

    The scheduling of every bulk run (:func:`download_each`, the uploads of
    :mod:`eoclient.storage`): items are pulled lazily; ``limiter``
    bounds the work across several runs that share it; ``one`` reports the
    failures of single items in its result, and anything it raises (and
    cancellation) stops the whole run. Wrap the call in
    ``contextlib.aclosing`` when leaving the loop early.
    """
    _check_positive("concurrency", concurrency)
    bound = limiter or anyio.CapacityLimiter(concurrency)
    send, receive = anyio.create_memory_object_stream[T](0)
    out_send, out_receive = anyio.create_memory_object_stream[R](concurrency)

    async def worker(queue: MemoryObjectReceiveStream[T], results: Any) -> None:
        async with queue, results:
            async for item in queue:
                async with bound:
                    outcome = await one(item)
                await results.send(outcome)

    async def feed() -> None:
        async with send:
            async for item in each_of(items):
                await send.send(item)

    try:
        async with anyio.create_task_group() as tg:
            with receive, out_send:
                for _ in range(concurrency):
                    tg.start_soon(worker, receive.clone(), out_send.clone())
            tg.start_soon(feed)
            async with out_receive:
                async for outcome in out_receive:
                    yield outcome
    except BaseExceptionGroup as group:
        # One error (a bad work item, a failing iterable, a bug) is raised as itself, not wrapped.
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise


def download_each(
    transport: Transport | None,
    items: Items,
    *,
    concurrency: int = 16,
    limiter: anyio.CapacityLimiter | None = None,
    operation: str = "bulk.download",
    overwrite: bool = False,
    attempts: int | None = None,
    policy: RetryPolicy | None = None,
) -> AsyncGenerator[Downloaded | Failure, None]:
    """Download every work item, ``concurrency`` at a time; yield each outcome as it completes.

    ``items`` are :class:`Download` objects or ``(source, dest[, params])``
    tuples, from a plain or an async iterable (consumed lazily). A source that
    is a path or URL is fetched through ``transport`` (its retry policy);
    a :class:`Source` (``transport`` may then be None) with ``policy``. A file
    already complete at its ``dest`` (for an HTTP source: present, downloads
    being atomic; an object source also checks size and checksum) is yielded
    as skipped unless ``overwrite``. Typed :mod:`eoclient.errors` exceptions
    and ``OSError`` of single items are yielded as :class:`Failure`; anything
    else (and cancellation) stops the whole run, leaving no partial file.

    Leaving the loop early stops the transfers still running; wrap the call in
    ``contextlib.aclosing`` so that happens at once rather than when the
    generator is collected::

        async with aclosing(download_each(None, items)) as results:
            async for got in results:
                ...
    """
    retry = policy or (transport.retry if transport is not None else RetryPolicy())

    async def one(raw: Download | tuple[Any, ...]) -> Downloaded | Failure:
        item = Download.of(raw)  # a bad work item stops the run (it is no single file's failure)
        source = _source_of(transport, item, operation)
        try:
            existing = None if overwrite else await source.current(item.dest)
            if existing is not None:
                return Downloaded(item.dest, existing, skipped=True, source=source.name)
            return await fetch(
                source,
                item.dest,
                policy=retry,
                operation=item.operation or operation,
                attempts=attempts,
            )
        except (EOClientError, OSError) as exc:
            log_event(logging.WARNING, "download.failed", path=source.name, error=str(exc))
            return Failure(item, exc)

    return run_each(items, one, concurrency=concurrency, limiter=limiter)


async def download_all(
    transport: Transport | None,
    items: Items,
    *,
    concurrency: int = 16,
    limiter: anyio.CapacityLimiter | None = None,
    operation: str = "bulk.download",
    overwrite: bool = False,
    attempts: int | None = None,
    on_item: Callable[[Downloaded | Failure], object] | None = None,
    policy: RetryPolicy | None = None,
) -> BulkReport:
    """Download every work item, ``concurrency`` at a time; failures are reported, not raised.

    :func:`download_each` run to the end: see it for ``items`` and the
    skipping of complete files. ``limiter`` bounds transfers across several
    calls that share it. ``on_item`` is called with each :class:`Downloaded`
    or :class:`Failure` as it happens.
    """
    report = BulkReport()
    each = download_each(
        transport,
        items,
        concurrency=concurrency,
        limiter=limiter,
        operation=operation,
        overwrite=overwrite,
        attempts=attempts,
        policy=policy,
    )
    await fill_report(report, each, on_item)
    return report


async def fill_report(
    report: BulkReport,
    each: AsyncGenerator[Downloaded | Failure, None],
    on_item: Callable[[Downloaded | Failure], object] | None = None,
) -> None:
    """Run ``each`` (a ``download_each``-like generator) to its end into ``report``."""
    async with aclosing(each) as outcomes:
        async for outcome in outcomes:
            if isinstance(outcome, Failure):
                report.failures.append(outcome)
            else:
                report.files.append(outcome)
            if on_item is not None:
                on_item(outcome)


async def complete_size(path: Path) -> int | None:
    """A :meth:`Source.current` for sources written atomically: a file under its final name is whole.

    Its size, or ``None`` when there is no file (read off the event loop).
    """
    return await anyio.to_thread.run_sync(_existing_size, path)


def _existing_size(path: Path) -> int | None:
    try:
        return path.stat().st_size if path.is_file() else None
    except OSError:
        return None
