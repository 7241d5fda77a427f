"""An S3 bucket (or a prefix of it) as an asyncio object store: list, head, read, open, download, upload."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import os
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, aclosing, asynccontextmanager
from pathlib import Path, PurePosixPath
from typing import Any, Final

import anyio

from eoclient import bulk
from eoclient._http.retry import RetryPolicy
from eoclient._log import log_event
from eoclient.errors import (
    EOClientError,
    ObjectExistsError,
    ObjectNotFoundError,
    StorageAccessError,
    ValidationError,
)
from eoclient.storage import _backend, _upload
from eoclient.storage.objects import StoredObject
from eoclient.storage.settings import StorageSettings
from eoclient.storage.uploads import Upload, Uploaded, UploadFailure, UploadItems, UploadReport

__all__ = ["ObjectSource", "ObjectStore", "StoredObject", "object_url", "open_store", "parse_url"]

_READ_CHUNK: Final = 1 << 20  # obstore hands over at least this much per chunk: fewer crossings
_HASH_BLOCK: Final = 1 << 20
_ABORT_WAIT: Final = 60.0  # seconds a cancelled upload waits for obstore to abort its parts


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix/`` → ``("bucket", "prefix/")``."""
    if not isinstance(url, str) or not url.startswith("s3://"):
        raise ValidationError("url", f"expected s3://bucket[/prefix], got {url!r}")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise ValidationError("url", f"no bucket in {url!r}")
    return bucket, prefix


def object_url(bucket: str, key: str) -> str:
    """``s3://bucket/key``."""
    return f"s3://{bucket}/{key}"


class ObjectStore:
    """A bucket, or a prefix of one (keys are then relative to it). Get one from :func:`open_store`.

    Example::

        store = open_store("s3://my-bucket/outputs/")
        async for obj in store.list("tile-1/"):
            print(obj.key, obj.size)
        report = await store.download_prefix("tile-1/", "data/", concurrency=8)
    """

    def __init__(self, bucket: str, prefix: str, settings: StorageSettings, *, retries: int = 6) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.settings = settings
        self.retry = RetryPolicy()
        self._ob = _backend.obstore()
        self._store = _backend.build_store(bucket, prefix, settings, retries=retries)
        _backend.release_at_exit(self)

    def __repr__(self) -> str:
        return f"ObjectStore({object_url(self.bucket, self.prefix)!r})"

    def url(self, key: str) -> str:
        """The object's ``s3://`` URL."""
        return object_url(self.bucket, self.prefix.rstrip("/") + "/" + key if self.prefix else key)

    def _full(self, key: str) -> str:
        """The key in the bucket (with the store's prefix), for errors."""
        return f"{self.prefix.rstrip('/')}/{key}" if self.prefix else key

    def _error(self, exc: BaseException, key: str, doing: str) -> Exception:
        return _backend.translate(exc, bucket=self.bucket, key=self._full(key), doing=doing)

    async def list(self, prefix: str = "") -> AsyncIterator[StoredObject]:
        """Every object whose key starts with ``prefix``, in key order; pages are fetched as needed.

        ``prefix`` may end inside a name (``"tile-1"`` finds ``tile-1/a`` and ``tile-10/a``).
        """
        # obstore lists whole path segments: a prefix ending inside a name is its folder, filtered.
        folder, _, rest = prefix.rpartition("/") if not prefix.endswith("/") else (prefix, "", "")
        try:
            async for page in self._ob.list(self._store, folder or None, chunk_size=1000):
                for meta in page:
                    if rest and not meta["path"].startswith(prefix):
                        continue
                    yield StoredObject.from_meta(meta)
        except Exception as exc:
            raise self._error(exc, prefix, "list") from None

    async def head(self, key: str) -> StoredObject:
        """The object's size, ETag and time (HeadObject)."""
        try:
            return StoredObject.from_meta(await self._ob.head_async(self._store, key))
        except Exception as exc:
            raise self._error(exc, key, "head") from None

    async def read(self, key: str) -> bytes:
        """The whole object in memory (for small objects; :meth:`download` streams to a file)."""
        try:
            result = await self._ob.get_async(self._store, key)
            return bytes(await result.bytes_async())
        except Exception as exc:
            raise self._error(exc, key, "read") from None

    def open(self, key: str, *, start: int = 0) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """``async with store.open(key, start=n) as chunks``: the object's bytes from ``start`` (Range)."""
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise ValidationError("start", "must be an integer >= 0")
        return self._open(key, start)

    @asynccontextmanager
    async def _open(self, key: str, start: int) -> AsyncIterator[AsyncIterator[bytes]]:
        async with self._get(key, start=start) as (_, chunks):
            yield chunks

    @asynccontextmanager
    async def _get(
        self, key: str, *, start: int = 0, if_match: str | None = None, chunk_size: int = _READ_CHUNK
    ) -> AsyncIterator[tuple[Any, AsyncIterator[bytes]]]:
        options: dict[str, Any] = {}
        if start:
            options["range"] = {"offset": start}
        if if_match:
            options["if_match"] = if_match
        try:
            result = await self._ob.get_async(self._store, key, options=options or None)
        except Exception as exc:
            if _backend.is_precondition(exc):
                raise bulk.RestartTransfer(f"{key} changed since the transfer began") from None
            raise self._error(exc, key, "get") from None

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for chunk in result.stream(min_chunk_size=max(chunk_size, _READ_CHUNK)):
                    yield chunk
            except Exception as exc:
                raise self._error(exc, key, "get") from None

        yield result, chunks()

    def source(self, obj: StoredObject | str) -> ObjectSource:
        """A :class:`~eoclient.bulk.Source` of the object, for :mod:`eoclient.bulk` work items."""
        return ObjectSource(self, obj)

    async def download(self, key: str | StoredObject, dest: str | os.PathLike[str]) -> bulk.Downloaded:
        """Stream the object into ``dest`` atomically (``.part`` then rename), resumed after a drop.

        A ``dest`` that already holds this object (same size, and same MD5
        when the ETag is one, else the same time) is skipped.
        """
        obj = key if isinstance(key, StoredObject) else await self.head(key)
        source = self.source(obj)
        target = Path(dest)
        existing = await source.current(target)
        if existing is not None:
            return bulk.Downloaded(target, existing, skipped=True, source=obj.key)
        return await bulk.fetch(source, target, policy=self.retry, operation="storage.download")

    def download_each(
        self, prefix: str, dest_dir: str | os.PathLike[str], *, concurrency: int = 8, overwrite: bool = False
    ) -> AsyncIterator[bulk.Downloaded | bulk.Failure]:
        """Every object under ``prefix`` into ``dest_dir`` (same relative paths), yielded as it completes."""
        root = Path(dest_dir)

        async def items() -> AsyncIterator[bulk.Download]:
            async for obj in self.list(prefix):
                yield bulk.Download(self.source(obj), _local_path(root, prefix, obj.key))

        return bulk.download_each(
            None,
            items(),
            concurrency=concurrency,
            operation="storage.download",
            overwrite=overwrite,
            policy=self.retry,
        )

    async def download_prefix(
        self, prefix: str, dest_dir: str | os.PathLike[str], *, concurrency: int = 8, overwrite: bool = False
    ) -> bulk.BulkReport:
        """:meth:`download_each` to the end: a :class:`~eoclient.bulk.BulkReport`."""
        report = bulk.BulkReport()
        async for outcome in self.download_each(
            prefix, dest_dir, concurrency=concurrency, overwrite=overwrite
        ):
            (report.failures if isinstance(outcome, bulk.Failure) else report.files).append(outcome)  # type: ignore[arg-type]
        return report

    async def upload(
        self,
        src: str | os.PathLike[str],
        key: str,
        *,
        overwrite: bool = False,
        content_type: str | None = None,
    ) -> StoredObject:
        """Upload the file ``src`` as ``key``; the object appears only when complete.

        Up to 8 MiB the file is one PUT; above, a multipart upload streamed
        from the file (a few parts in memory at a time), completed at the end
        and aborted when it fails or is cancelled, so that no part is left
        behind. A cancel that comes once the last part is read lets the upload
        complete: either the whole object or nothing.

        Without ``overwrite``, an object already under ``key`` with the same
        content (size, and the MD5 its ETag holds or, where the ETag is not the
        MD5 as with SSE-KMS, the ``eoclient-md5`` metadata every upload writes)
        is returned as it is (a rerun sends nothing); with other content it raises
        :class:`~eoclient.errors.ObjectExistsError`. A single PUT is a create
        (``If-None-Match: *``) so that a concurrent writer is never
        overwritten; a multipart upload checks with a HEAD first (obstore
        cannot make its completion conditional), so a store that refuses HEAD
        (keys without ``s3:ListBucket`` or write-only) raises
        :class:`~eoclient.errors.StorageAccessError` for it unless ``overwrite``.
        The object returned comes from a HEAD after the upload (or, when HEAD is
        refused, from the PUT's answer and this machine's clock).

        ``content_type`` defaults to a guess from the key's extension.
        Transient errors (5xx, 503 SlowDown, lost connections) are retried as
        for every request of the store. The file must not change meanwhile.
        """
        return (await self._upload(src, key, overwrite=overwrite, content_type=content_type))[0]

    async def put(
        self,
        key: str,
        data: bytes | bytearray | memoryview,
        *,
        overwrite: bool = False,
        content_type: str | None = None,
    ) -> StoredObject:
        """Store a small payload held in memory as ``key`` (one PUT): the rules of :meth:`upload`."""
        key = _upload.check_key(key)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ValidationError("data", f"expected bytes, got {type(data).__name__}")
        _check_flag("overwrite", overwrite)
        payload = bytes(data)
        md5 = hashlib.md5(payload, usedforsecurity=False).hexdigest()
        attributes = _attributes(_upload.check_content_type(content_type, key), md5)

        async def same(obj: StoredObject, stored_md5: str | None) -> bool:
            return _upload.same_bytes(obj, md5, stored_md5, len(payload))

        async def send() -> Any:
            mode = "overwrite" if overwrite else "create"
            return await self._ob.put_async(
                self._store, key, payload, attributes=attributes, mode=mode, use_multipart=False
            )

        written = await self._write(
            key, len(payload), overwrite=overwrite, conditional=True, same=same, send=send
        )
        return written[0]

    def upload_each(
        self,
        items: UploadItems,
        *,
        concurrency: int = 8,
        overwrite: bool = False,
        limiter: anyio.CapacityLimiter | None = None,
    ) -> AsyncGenerator[Uploaded | UploadFailure, None]:
        """:meth:`upload` every work item, ``concurrency`` at a time; yield each outcome as it completes.

        ``items`` are :class:`~eoclient.storage.uploads.Upload` objects or
        ``(src, key)`` tuples, from a plain or an async iterable (consumed
        lazily). An object already holding its file is yielded as skipped;
        typed errors of single items (a vanished file, an object with other
        content, a store that refused) are yielded as
        :class:`~eoclient.storage.uploads.UploadFailure`; an item of the wrong
        shape, anything else, and cancellation stop the run. Each large file
        keeps up to about 100 MiB in memory while its parts go up.
        """
        _check_flag("overwrite", overwrite)

        async def one(raw: Upload | tuple[Any, ...]) -> Uploaded | UploadFailure:
            item = Upload.of(raw)
            try:
                obj, skipped = await self._upload(
                    item.src, item.key, overwrite=overwrite, content_type=item.content_type
                )
            except (EOClientError, OSError) as exc:
                log_event(logging.WARNING, "upload.failed", key=item.key, error=str(exc))
                return UploadFailure(item, exc)
            return Uploaded(item.src, item.key, obj.size, skipped, obj)

        return bulk.run_each(items, one, concurrency=concurrency, limiter=limiter)

    async def upload_prefix(
        self,
        local_dir: str | os.PathLike[str],
        prefix: str = "",
        *,
        concurrency: int = 8,
        overwrite: bool = False,
    ) -> UploadReport:
        """Every file under ``local_dir`` as ``prefix`` + its relative path: an :class:`UploadReport`.

        The mirror of :meth:`download_prefix`; ``.part`` files (downloads still
        being written) are left out. A rerun sends only what the store lacks.
        """
        root = _upload.check_dir(local_dir)
        prefix = _upload.check_prefix(prefix)

        async def items() -> AsyncIterator[Upload]:
            pending = [root]
            while pending:
                files, dirs = await anyio.to_thread.run_sync(_upload.scan, pending.pop())
                for path in files:
                    yield Upload(path, prefix + path.relative_to(root).as_posix())
                pending.extend(reversed(dirs))

        report = UploadReport()
        each = self.upload_each(items(), concurrency=concurrency, overwrite=overwrite)
        async with aclosing(each) as outcomes:
            async for outcome in outcomes:
                report.add(outcome)
        return report

    async def _upload(
        self, src: str | os.PathLike[str], key: str, *, overwrite: bool, content_type: str | None
    ) -> tuple[StoredObject, bool]:
        """:meth:`upload`, saying whether the object was already there (skipped)."""
        key = _upload.check_key(key)
        path, size = _upload.check_source(src)
        _check_flag("overwrite", overwrite)
        media = _upload.check_content_type(content_type, key)
        single = size <= _upload.PART_SIZE
        # The MD5 goes with the object as metadata, for reruns where the ETag is not the MD5 (SSE-KMS).
        # A single PUT's bytes are read once, for both; a multipart upload streams the file later.
        data = await anyio.to_thread.run_sync(path.read_bytes) if single else b""
        if single:
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        else:
            md5 = await anyio.to_thread.run_sync(_upload.file_md5, path)
        attributes = _attributes(media, md5)

        async def same(obj: StoredObject, stored_md5: str | None) -> bool:
            return await anyio.to_thread.run_sync(_upload.same_file, obj, path, size, md5, stored_md5)

        async def send() -> Any:
            if not single:
                return await self._put_parts(key, path, size, attributes)
            mode = "overwrite" if overwrite else "create"
            return await self._ob.put_async(
                self._store, key, data, attributes=attributes, mode=mode, use_multipart=False
            )

        return await self._write(key, size, overwrite=overwrite, conditional=single, same=same, send=send)

    async def _write(
        self,
        key: str,
        size: int,
        *,
        overwrite: bool,
        conditional: bool,
        same: Callable[[StoredObject, str | None], Awaitable[bool]],
        send: Callable[[], Awaitable[Any]],
    ) -> tuple[StoredObject, bool]:
        """Send unless ``key`` already holds the same content; the object as stored, and if it was skipped.

        ``conditional``: ``send`` is a create that never overwrites (one PUT
        with ``If-None-Match: *``); else only the HEAD before it guards the key.
        """
        if not overwrite:
            try:
                found = await self._found(key)
            except StorageAccessError:
                # No s3:ListBucket makes S3 answer 403 to the HEAD of a missing key, and write-only
                # keys refuse every HEAD: the create still guards a single PUT, nothing guards parts.
                if not conditional:
                    raise self._refused(
                        key,
                        "upload: the store refuses HEAD, so an existing object cannot be ruled out "
                        "before a multipart upload (overwrite=True uploads without the check)",
                    ) from None
                found = None
            if found is not None:
                if await same(*found):
                    return found[0], True
                raise self._exists(key)
        try:
            result = await send()
        except Exception as exc:
            if not _backend.is_already_exists(exc):
                raise self._error(exc, key, "upload") from None
            # Created meanwhile, by another writer or by our own PUT whose answer was lost and retried;
            # either way this call sent the bytes: not a skip.
            try:
                found = await self._found(key)
            except StorageAccessError:
                found = None
            if found is not None and await same(*found):
                return found[0], False
            raise self._exists(key) from None
        try:
            return await self.head(key), False
        except StorageAccessError:
            # A store that refuses HEAD: what the PUT answered, and this clock's time.
            meta = {
                "path": key,
                "size": size,
                "e_tag": result.get("e_tag"),
                "last_modified": dt.datetime.now(dt.UTC),
            }
            return StoredObject.from_meta(meta), False

    def _refused(self, key: str, message: str) -> StorageAccessError:
        return StorageAccessError(message, bucket=self.bucket, key=self._full(key), status=403)

    async def _found(self, key: str) -> tuple[StoredObject, str | None] | None:
        """The object under ``key`` and the MD5 eoclient stored with it (one HEAD), or ``None``."""
        try:
            result = await self._ob.get_async(self._store, key, options={"head": True})
        except Exception as exc:
            error = self._error(exc, key, "head")
            if isinstance(error, ObjectNotFoundError):
                return None
            raise error from None
        return StoredObject.from_meta(result.meta), result.attributes.get(_upload.METADATA_MD5)

    def _exists(self, key: str) -> ObjectExistsError:
        return ObjectExistsError(
            "upload: another object is already under this key (overwrite=True replaces it)",
            bucket=self.bucket,
            key=self._full(key),
        )

    async def _put_parts(self, key: str, path: Path, size: int, attributes: dict[str, str] | None) -> Any:
        """A multipart upload read from ``path``; a cancel stops its reading, so obstore aborts it."""
        fh = await anyio.to_thread.run_sync(_upload.StoppableFile, path)
        try:
            pending = asyncio.ensure_future(
                self._ob.put_async(
                    self._store,
                    key,
                    fh,
                    attributes=attributes,
                    use_multipart=True,
                    chunk_size=_upload.part_size(size),
                    max_concurrency=_upload.PARALLEL_PARTS,
                )
            )
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                # Dropping obstore's future would leave the parts sent so far on the store, unseen and
                # billed: fail its next read instead and wait (bounded) for it to abort the upload.
                fh.stop.set()
                with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(pending), _ABORT_WAIT)
                if not pending.done():
                    pending.cancel()
                raise
        finally:
            fh.close()


def _check_flag(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ValidationError(name, f"must be True or False, got {value!r}")


def _attributes(content_type: str | None, md5: str) -> dict[str, str]:
    found = {_upload.METADATA_MD5: md5}
    if content_type:
        found["Content-Type"] = content_type
    return found


def _local_path(root: Path, prefix: str, key: str) -> Path:
    """Where ``key`` goes under ``root``: its path below ``prefix``; never outside ``root``."""
    rel = key[len(prefix) :] if key.startswith(prefix) else key
    parts = PurePosixPath(rel.lstrip("/")).parts
    if not parts or any(p in ("..", ".") for p in parts):
        raise ValidationError("key", f"{key!r} cannot be a file name under {root}")
    return root.joinpath(*parts)


class ObjectSource:
    """One object as a :class:`~eoclient.bulk.Source`: Range from the partial's size, pinned by If-Match."""

    def __init__(self, store: ObjectStore, obj: StoredObject | str) -> None:
        self.store = store
        self.obj = obj if isinstance(obj, StoredObject) else None
        self.key = obj.key if isinstance(obj, StoredObject) else obj

    @property
    def name(self) -> str:
        return self.key

    @asynccontextmanager
    async def open(self, offset: int, *, validator: str | None, chunk_size: int) -> AsyncIterator[bulk.Body]:
        known = self.obj
        if offset and known is not None and validator == known.etag and offset >= known.size:
            if offset > known.size:
                raise bulk.RestartTransfer(f"the partial file is longer than {self.key}")
            yield bulk.Body(offset, _nothing(), known.size, known.etag, complete=True)
            return
        async with self.store._get(self.key, start=offset, if_match=validator, chunk_size=chunk_size) as (
            result,
            chunks,
        ):
            self.obj = obj = StoredObject.from_meta({**result.meta, "path": self.key})
            yield bulk.Body(result.range[0], chunks, obj.size, obj.etag)

    async def current(self, path: Path) -> int | None:
        obj = self.obj
        if obj is None:
            return None
        return await anyio.to_thread.run_sync(_matches, path, obj)

    async def completed(self, path: Path) -> None:
        obj = self.obj
        if obj is not None:
            stamp = obj.last_modified.timestamp()
            await anyio.to_thread.run_sync(os.utime, path, (stamp, stamp))


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


def _matches(path: Path, obj: StoredObject) -> int | None:
    """``obj.size`` when ``path`` is a copy of ``obj``: same size, and same MD5 (or time) as the store."""
    try:
        stat = path.stat()
    except OSError:
        return None
    if not path.is_file() or stat.st_size != obj.size:
        return None
    if obj.checksum is not None:
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as fh:
            while block := fh.read(_HASH_BLOCK):
                digest.update(block)
        return obj.size if digest.hexdigest() == obj.checksum else None
    # A multipart ETag is no MD5 of the content: the time set at download must still match.
    return obj.size if int(stat.st_mtime) == int(obj.last_modified.timestamp()) else None


def open_store(url: str, settings: StorageSettings | None = None, *, retries: int = 6) -> ObjectStore:
    """The store at ``s3://bucket[/prefix]``; ``settings`` default to the environment and AWS profile.

    ``retries`` is how often obstore retries one request (503 SlowDown and
    other 5xx, lost connections, bodies broken off: continued with ``Range``),
    with exponential backoff; downloads are then resumed by the bulk engine.

    Raises :class:`~eoclient.errors.ConfigurationError` naming
    ``pip install 'eoclient[s3]'`` when the s3 extra is not installed.
    """
    bucket, prefix = parse_url(url)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValidationError("retries", "must be an integer >= 0")
    return ObjectStore(
        bucket, prefix, settings if settings is not None else StorageSettings(), retries=retries
    )
