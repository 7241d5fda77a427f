"""A disk cache of Process and Statistical API answers: a repeated request is answered from disk.

The asynchronous counterpart of sentinelhub-py's ``data_folder`` +
``save_data=True`` (``refresh=True`` is its ``redownload=True``)::

    async with SentinelHub(cache_dir="~/.cache/eoclient") as sh:
        first = await sh.process(request)                  # rendered, stored
        again = await sh.process(request)                  # from disk: no request, no budget
        fresh = await sh.process(request, refresh=True)    # rendered again, entry rewritten

Key
---
SHA-256 of the canonical JSON (sorted keys, compact) of the endpoint URL
(base URL + path), the ``Accept`` header and the final request body, i.e. after
validation and normalisation: a model and the equivalent docs-style dict, or
two dicts whose keys are in another order, share one entry.

Layout
------
``<cache_dir>/<key[:2]>/<key>/`` holds ``request.json`` (the body sent, for
humans; request bodies carry no credentials), ``response.bin`` (the answer's
bytes) and ``meta.json`` (content type, processing units, the headers worth
keeping, size and SHA-256 of ``response.bin``). Every file is written through
:class:`~eoclient._files.AtomicFile` and ``meta.json`` is written last, so it
marks a complete entry; an entry whose ``response.bin`` does not match its
``meta.json`` (partial, corrupt, or edited in place) is a miss and is rewritten
by the request that follows. Reading never blocks the event loop.

A hit costs no request and no processing-budget charge; the answer reports
``processing_units == 0.0`` (what the call spent) while the stored headers
keep the service's ``x-processingunits-spent`` of the original rendering.

Nothing here expires: delete the directory (or an entry) to free space, or
pass ``refresh=True``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
from collections.abc import Collection
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import anyio
import msgspec
from multidict import CIMultiDict, CIMultiDictProxy

from eoclient._files import AtomicFile, part_path
from eoclient._http import media
from eoclient._log import log_event
from eoclient._models import to_wire

__all__ = [
    "CACHE_FORMAT",
    "CacheMeta",
    "CacheWriter",
    "CachedResponse",
    "ResponseCache",
    "cache_key",
    "canonical_json",
    "encode_answer",
    "kept_headers",
    "optional_cache_key",
    "tee_writer",
]

CACHE_FORMAT: Final = 1
"""Version of the entry layout; entries of another version are misses (and get rewritten)."""

REQUEST_FILE: Final = "request.json"
RESPONSE_FILE: Final = "response.bin"
META_FILE: Final = "meta.json"

_KEY_RE: Final = re.compile(r"^[0-9a-f]{64}$")
_KEPT_HEADERS: Final = frozenset({"content-type", "content-disposition", "date"})
_KEPT_PREFIX: Final = "x-processingunits"
_CHUNK: Final = 1 << 20


def cache_key(*, url: str, accept: str, body: Any) -> str:
    """The entry key of a request: SHA-256 of the canonical JSON of ``url``, ``accept`` and ``body``.

    ``body`` is the final JSON body: a value (dicts are sorted, so key order
    does not matter) or, as a prepared request carries it, its bytes already
    encoded with sorted keys (used as they are, so both give the same key).
    """
    document = {
        "format": CACHE_FORMAT,
        "url": url.rstrip("/"),
        "accept": accept.strip(),
        "body": msgspec.Raw(body) if isinstance(body, bytes) else body,
    }
    return hashlib.sha256(msgspec.json.encode(document, order="sorted")).hexdigest()


def optional_cache_key(cache: ResponseCache | None, *, url: str, accept: str, body: Any) -> str:
    """The entry key of a request in ``cache`` (see :func:`cache_key`); ``""`` without a cache."""
    return cache.key(url=url, accept=accept, body=body) if cache is not None else ""


def canonical_json(value: Any) -> bytes:
    """``value`` as compact JSON with sorted keys: the bytes a request body is keyed on."""
    return msgspec.json.encode(value, order="sorted")


def encode_answer(value: Any) -> bytes:
    """JSON of a decoded answer (a model) to store, with NaN and infinities spelled as the service does.

    (Plain JSON has no NaN; msgspec would write ``null``, which reads back as ``None``.)
    """
    return msgspec.json.encode(_json_safe(to_wire(value)))


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def kept_headers(headers: Any) -> dict[str, str]:
    """The answer headers stored with an entry: content type, date, processing units."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        low = name.lower()
        if low in _KEPT_HEADERS or low.startswith(_KEPT_PREFIX):
            out[name] = value
    return out


class CacheMeta(msgspec.Struct, frozen=True, kw_only=True):
    """``meta.json`` of an entry."""

    format: int
    key: str
    url: str
    accept: str
    content_type: str
    """The full ``Content-Type`` header of the answer."""
    processing_units: float | None
    """What the service charged when it produced the answer (``None``: not reported)."""
    headers: dict[str, str]
    size: int
    sha256: str
    created: str
    """When the entry was written (ISO 8601, UTC)."""

    @property
    def header_map(self) -> CIMultiDictProxy[str]:
        """The stored headers, case-insensitive like a live answer's."""
        return CIMultiDictProxy(CIMultiDict(self.headers))

    @property
    def media_type(self) -> str:
        """``Content-Type`` without parameters, lower case (``image/tiff``)."""
        return self.content_type.split(";")[0].strip().lower()


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """A verified entry: its metadata and the whole ``response.bin``."""

    meta: CacheMeta
    content: bytes


class _Abandoned(Exception):
    """Passed to an AtomicFile's exit to make it drop its ``.part``."""


class CacheWriter:
    """Streams one answer into an entry (``async with cache.writer(...) as w``).

    The entry is committed when the block ends without an exception *and*
    :meth:`finish` was called; otherwise nothing of it reaches its final name.
    A disk error on the cache side is logged and ends caching for this answer;
    it never fails the request.
    """

    def __init__(self, cache: ResponseCache, key: str, *, url: str, accept: str, request: Any) -> None:
        self._cache = cache
        self.key = key
        self._dir = cache.entry_dir(key)
        self._url = url
        self._accept = accept
        self._request = request
        self._hash = hashlib.sha256()
        self.size = 0
        self._file: AtomicFile | None = None
        self._finished: tuple[str, float | None, dict[str, str]] | None = None

    async def __aenter__(self) -> Self:
        try:
            self._file = await AtomicFile(self._dir / RESPONSE_FILE).__aenter__()
        except OSError as exc:
            self._give_up(exc)
        return self

    async def write(self, chunk: bytes) -> None:
        """Add ``chunk`` to the answer."""
        self._hash.update(chunk)
        self.size += len(chunk)
        file = self._file
        if file is None:
            return
        try:
            await file.write(chunk)
        except OSError as exc:
            self._file = None
            await file.__aexit__(_Abandoned, _Abandoned(), None)
            self._give_up(exc)

    def finish(self, *, content_type: str, processing_units: float | None, headers: Any) -> None:
        """The answer is complete: commit the entry when the block ends."""
        self._finished = (content_type, processing_units, kept_headers(headers))

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        file, self._file = self._file, None
        if file is None:
            return
        if exc_type is not None or self._finished is None:
            await file.__aexit__(exc_type or _Abandoned, exc or _Abandoned(), tb)
            return
        content_type, units, headers = self._finished
        meta = CacheMeta(
            format=CACHE_FORMAT,
            key=self.key,
            url=self._url,
            accept=self._accept,
            content_type=content_type,
            processing_units=units,
            headers=headers,
            size=self.size,
            sha256=self._hash.hexdigest(),
            created=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        try:
            await file.__aexit__(None, None, None)  # response.bin into place
            body = self._request if isinstance(self._request, bytes) else canonical_json(self._request)
            request = msgspec.json.format(body, indent=2)
            await _write_file(self._dir / REQUEST_FILE, request + b"\n")
            # Last: a meta.json that matches response.bin is what makes the entry valid.
            await _write_file(self._dir / META_FILE, msgspec.json.encode(meta) + b"\n")
        except OSError as error:
            self._give_up(error)
            return
        self._cache.stores += 1
        log_event(logging.DEBUG, "cache.store", key=self.key, size=self.size)

    def _give_up(self, exc: OSError) -> None:
        log_event(
            logging.WARNING, "cache.write_failed", key=self.key, directory=str(self._dir), error=str(exc)
        )


class _NullWriter:
    """Stands in for a :class:`CacheWriter` when there is no cache."""

    async def write(self, chunk: bytes) -> None:
        pass

    def finish(self, *, content_type: str, processing_units: float | None, headers: Any) -> None:
        pass


def tee_writer(
    cache: ResponseCache | None, key: str, *, url: str, accept: str, request: Any
) -> AbstractAsyncContextManager[CacheWriter | _NullWriter]:
    """``cache.writer(...)``, or a writer that drops everything when ``cache`` is ``None``."""
    if cache is None:
        return nullcontext(_NullWriter())
    return cache.writer(key, url=url, accept=accept, request=request)


class ResponseCache:
    """The disk cache of a client's Process and Statistical answers (see the module docstring).

    Pass it as ``SentinelHub(cache=ResponseCache(path))``, or just
    ``SentinelHub(cache_dir=path)``. ``hardlink=False`` makes
    ``process_to_file`` copy cached files instead of hard-linking them (a
    hard-linked destination shares its bytes with the entry: editing it in
    place invalidates the entry, which the next request then rewrites).
    ``hits``, ``misses`` and ``stores`` count what happened since creation.
    """

    def __init__(self, directory: str | os.PathLike[str], *, hardlink: bool = True) -> None:
        self.directory = Path(directory).expanduser()
        self.hardlink = hardlink
        self.hits = 0
        self.misses = 0
        self.stores = 0

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.directory)!r}, hits={self.hits}, misses={self.misses})"

    @staticmethod
    def key(*, url: str, accept: str, body: Any) -> str:
        """See :func:`cache_key`."""
        return cache_key(url=url, accept=accept, body=body)

    def entry_dir(self, key: str) -> Path:
        """``<directory>/<key[:2]>/<key>``."""
        if not _KEY_RE.match(key):
            raise ValueError(f"not a cache key: {key!r}")
        return self.directory / key[:2] / key

    async def get(self, key: str, *, expect: Collection[str] | None = None) -> CachedResponse | None:
        """The verified entry of ``key``, or ``None`` (absent, partial or corrupt: a miss).

        ``expect`` lists the media types the answer may have: an entry stored
        with another type (a proxy's page cached by an older version) is a miss.
        """
        entry = self.entry_dir(key)
        found, problem = await anyio.to_thread.run_sync(_read_entry, entry, key)
        if found is not None and (problem := _type_problem(found.meta, expect)) is not None:
            found = None
        self._count(key, found is not None, problem)
        return found

    def writer(self, key: str, *, url: str, accept: str, request: Any) -> CacheWriter:
        """A :class:`CacheWriter` that streams an answer into the entry of ``key``."""
        return CacheWriter(self, key, url=url, accept=accept, request=request)

    async def put(
        self,
        key: str,
        *,
        url: str,
        accept: str,
        request: Any,
        content: bytes,
        content_type: str,
        processing_units: float | None,
        headers: Any,
    ) -> None:
        """Store a whole answer under ``key`` (replacing any entry)."""
        async with self.writer(key, url=url, accept=accept, request=request) as w:
            await w.write(content)
            w.finish(content_type=content_type, processing_units=processing_units, headers=headers)

    async def copy_to(
        self, key: str, path: str | os.PathLike[str], *, expect: Collection[str] | None = None
    ) -> CacheMeta | None:
        """Put the cached answer of ``key`` at ``path`` atomically; ``None`` on a miss (nothing written).

        Hard-links when it can (same file system, ``hardlink=True``), else
        copies in chunks; either way the bytes are checked against
        ``meta.json`` before ``path`` appears, and the stored type against
        ``expect`` (as in :meth:`get`).
        """
        entry = self.entry_dir(key)
        meta, problem = await anyio.to_thread.run_sync(_read_meta, entry, key)
        if meta is not None and (problem := _type_problem(meta, expect)) is not None:
            meta = None
        done = False
        if meta is not None:
            src, dest = entry / RESPONSE_FILE, Path(path)
            linked = (
                await anyio.to_thread.run_sync(_link_verified, src, dest, meta) if self.hardlink else None
            )
            done = linked if linked is not None else await _copy_verified(src, dest, meta)
            if not done:
                problem = f"{RESPONSE_FILE} does not match {META_FILE}"
        self._count(key, done, problem)
        return meta if done else None

    def _count(self, key: str, hit: bool, problem: str | None) -> None:
        if hit:
            self.hits += 1
            log_event(logging.DEBUG, "cache.hit", key=key)
            return
        self.misses += 1
        if problem is not None:
            log_event(logging.WARNING, "cache.corrupt_entry", key=key, problem=problem)
        else:
            log_event(logging.DEBUG, "cache.miss", key=key)


def _type_problem(meta: CacheMeta, expect: Collection[str] | None) -> str | None:
    if expect is None or media.matches(expect, meta.content_type):
        return None
    return f"stored as {meta.media_type or 'no type'}, expected {' or '.join(sorted(expect))}"


# -- worker-thread helpers -------------------------------------------------------


async def _write_file(path: Path, data: bytes) -> None:
    async with AtomicFile(path) as f:
        await f.write(data)


def _read_meta(entry: Path, key: str) -> tuple[CacheMeta | None, str | None]:
    """``(meta, None)``, ``(None, None)`` when there is no entry, ``(None, problem)`` when it is broken."""
    try:
        raw = (entry / META_FILE).read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"{META_FILE} unreadable: {exc.strerror}"
    try:
        meta = msgspec.json.decode(raw, type=CacheMeta)
    except msgspec.DecodeError as exc:
        return None, f"{META_FILE} invalid: {exc}"
    if meta.format != CACHE_FORMAT or meta.key != key:
        return None, f"{META_FILE} is of another format or entry"
    return meta, None


def _read_entry(entry: Path, key: str) -> tuple[CachedResponse | None, str | None]:
    meta, problem = _read_meta(entry, key)
    if meta is None:
        return None, problem
    try:
        content = (entry / RESPONSE_FILE).read_bytes()
    except OSError as exc:
        return None, f"{RESPONSE_FILE} unreadable: {exc.strerror}"
    if len(content) != meta.size or hashlib.sha256(content).hexdigest() != meta.sha256:
        return None, f"{RESPONSE_FILE} does not match {META_FILE}"
    return CachedResponse(meta, content), None


def _file_matches(path: Path, meta: CacheMeta) -> bool:
    with path.open("rb") as fh:
        if os.fstat(fh.fileno()).st_size != meta.size:
            return False
        return hashlib.file_digest(fh, "sha256").hexdigest() == meta.sha256


def _link_verified(src: Path, dest: Path, meta: CacheMeta) -> bool | None:
    """Hard-link ``src`` to ``dest`` via ``dest.part``: True done, False bytes mismatch, None cannot link."""
    part = part_path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        part.unlink(missing_ok=True)
        os.link(src, part)
    except OSError:
        return None  # another file system, no link support, or no entry: the copy decides
    try:
        if not _file_matches(part, meta):
            return False
        os.replace(part, dest)
        return True
    except OSError:
        return None
    finally:
        # Also when dest already was a link to the same file: rename() then leaves part in place.
        part.unlink(missing_ok=True)


async def _copy_verified(src: Path, dest: Path, meta: CacheMeta) -> bool:
    """Copy ``src`` to ``dest`` in chunks through an AtomicFile; False (nothing written) on a mismatch."""
    try:
        async with AtomicFile(dest) as out:
            await _copy_checked(src, out, meta)
    except (_Abandoned, FileNotFoundError):
        return False
    return True


async def _copy_checked(src: Path, out: AtomicFile, meta: CacheMeta) -> None:
    digest = hashlib.sha256()
    async with await anyio.open_file(src, "rb") as fh:
        while chunk := await fh.read(_CHUNK):
            digest.update(chunk)
            await out.write(chunk)
    if out.size != meta.size or digest.hexdigest() != meta.sha256:
        raise _Abandoned  # the AtomicFile drops its .part
