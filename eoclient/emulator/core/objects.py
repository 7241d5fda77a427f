"""The emulator's own object store: buckets of objects, what its S3 API serves.

Jobs write their outputs here (through :mod:`eoclient.emulator.core.deliveries`)
when no real S3 server is configured; :mod:`eoclient.emulator.core.s3` serves
it. An object is its bytes, or a zero-argument callable that makes them the
first time anyone needs them (size and ETag included), plus a last-modified
time on the emulator's clock::

    store = ObjectStore(clock)
    store.put("my-bucket", "results/a.tif", b"...")
    obj = store.get("my-bucket", "results/a.tif")   # obj.size, obj.etag ('"<md5 hex>"')
    store.list("my-bucket", prefix="results/")       # sorted by key

User metadata (``x-amz-meta-*``) is kept with an object and served back. A
bucket with default SSE-KMS encryption (:meth:`ObjectStore.encrypt_with_kms`)
gives its objects ETags that are not their MD5, as S3 does.

A multipart upload gathers its parts apart (:meth:`ObjectStore.start_upload`,
:class:`PendingUpload`) until it is completed into one object, which keeps S3's
multipart ETag (``"<md5 of the parts' MD5s>-<N>"``).
"""

from __future__ import annotations

import bisect
import builtins
import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from eoclient.emulator.core.clock import EmulatorClock

__all__ = ["Body", "ObjectStore", "StoredObject", "PendingUpload", "multipart_etag"]

Body = bytes | Callable[[], bytes]
"""An object's bytes, or a callable making them on first use."""


@dataclass
class StoredObject:
    """One object: key, body, content type, last-modified (emulated epoch seconds), user metadata."""

    key: str
    _body: Body = field(repr=False)
    content_type: str
    last_modified: float
    _md5: str | None = field(default=None, repr=False)
    _etag: str | None = field(default=None, repr=False)  # a multipart upload's, or an SSE-KMS one
    metadata: dict[str, str] = field(default_factory=dict)  # x-amz-meta-<name> -> value, names lower case

    @property
    def body(self) -> bytes:
        """The bytes (made now if the body was lazy)."""
        if not isinstance(self._body, bytes):
            self._body = self._body()
        return self._body

    @property
    def size(self) -> int:
        """Length in bytes."""
        return len(self.body)

    @property
    def etag(self) -> str:
        """S3's ETag: the MD5 hex digest in double quotes, or the multipart one it was completed with."""
        if self._etag is not None:
            return self._etag
        if self._md5 is None:
            self._md5 = hashlib.md5(self.body, usedforsecurity=False).hexdigest()
        return f'"{self._md5}"'


def _opaque_etag(bucket: str, key: str, version: int, multipart: str | None) -> str:
    """An SSE-KMS object's ETag: 32 hex digits that are not the content's MD5 (``-N`` kept for parts)."""
    digest = hashlib.sha256(f"kms:{bucket}/{key}#{version}".encode()).hexdigest()[:32]
    parts = multipart.strip('"').partition("-")[2] if multipart else ""
    return f'"{digest}-{parts}"' if parts else f'"{digest}"'


def multipart_etag(part_md5s: list[str]) -> str:
    """S3's ETag of an object completed from parts with these MD5 hex digests: ``"<md5>-<N>"``."""
    joined = b"".join(bytes.fromhex(md5) for md5 in part_md5s)
    return f'"{hashlib.md5(joined, usedforsecurity=False).hexdigest()}-{len(part_md5s)}"'


@dataclass
class PendingUpload:
    """A pending multipart upload: its target, and the parts sent so far (number -> bytes, MD5 hex)."""

    upload_id: str
    bucket: str
    key: str
    content_type: str
    initiated: float
    parts: dict[int, tuple[bytes, str]] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class _Bucket:
    objects: dict[str, StoredObject] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)  # sorted, for listings


class ObjectStore:
    """Buckets of objects in memory.

    ``auto_create``: a put to an unknown bucket creates it (the default: the
    emulator plays the user's bucket too); ``False`` makes a delivery to a
    bucket nobody created fail the job, as with a real store.
    """

    def __init__(self, clock: EmulatorClock, *, auto_create: bool = True) -> None:
        self.clock = clock
        self.auto_create = auto_create
        self._buckets: dict[str, _Bucket] = {}
        self._uploads: dict[str, PendingUpload] = {}
        self._upload_ids = itertools.count(1)
        self._kms: set[str] = set()
        self._versions = itertools.count(1)

    def encrypt_with_kms(self, bucket: str) -> None:
        """Give ``bucket`` default SSE-KMS encryption: its new objects' ETags are not their MD5.

        (S3's ETag of an SSE-KMS object is an opaque digest; a client that takes
        every 32-hex ETag for the MD5 of the content is wrong there.)
        """
        self._kms.add(bucket)

    def create_bucket(self, name: str) -> None:
        """Create bucket ``name`` (no-op if it exists)."""
        self._buckets.setdefault(name, _Bucket())

    def has_bucket(self, name: str) -> bool:
        """Whether bucket ``name`` exists (or would be created by a put)."""
        return name in self._buckets or self.auto_create

    @property
    def buckets(self) -> list[str]:
        """The names of the existing buckets, sorted."""
        return sorted(self._buckets)

    def put(
        self,
        bucket: str,
        key: str,
        body: Body,
        *,
        content_type: str = "application/octet-stream",
        etag: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> StoredObject:
        """Write (or overwrite) ``key``; a ``KeyError`` for a missing bucket that is not auto-created.

        ``etag``: the object's multipart ETag (by default, its MD5's). ``metadata``:
        its user metadata (replaces the old object's, as a PUT does).
        """
        if bucket not in self._buckets:
            if not self.auto_create:
                raise KeyError(bucket)
            self.create_bucket(bucket)
        store = self._buckets[bucket]
        if bucket in self._kms:
            etag = _opaque_etag(bucket, key, next(self._versions), etag)
        obj = StoredObject(
            key, body, content_type, self.clock.now(), _etag=etag, metadata=dict(metadata or {})
        )
        if key not in store.objects:
            bisect.insort(store.keys, key)
        store.objects[key] = obj
        return obj

    def get(self, bucket: str, key: str) -> StoredObject | None:
        """The object, or ``None`` (also when the bucket does not exist)."""
        found = self._buckets.get(bucket)
        return None if found is None else found.objects.get(key)

    def list(self, bucket: str, prefix: str = "", start_after: str = "") -> list[StoredObject]:
        """The objects of ``bucket`` whose keys start with ``prefix`` and sort after ``start_after``.

        A ``KeyError`` if the bucket does not exist.
        """
        found = self._buckets[bucket]
        keys = found.keys
        i = (
            bisect.bisect_right(keys, start_after)
            if start_after >= prefix
            else bisect.bisect_left(keys, prefix)
        )
        out: list[StoredObject] = []
        while i < len(keys) and keys[i].startswith(prefix):
            out.append(found.objects[keys[i]])
            i += 1
        return out

    def start_upload(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> PendingUpload:
        """Begin a multipart upload to ``key`` (nothing appears under it until :meth:`complete_upload`)."""
        upload_id = f"emu-upload-{next(self._upload_ids):08d}"
        upload = PendingUpload(
            upload_id, bucket, key, content_type, self.clock.now(), metadata=dict(metadata or {})
        )
        self._uploads[upload_id] = upload
        return upload

    def pending_upload(self, upload_id: str, bucket: str, key: str) -> PendingUpload | None:
        """The pending upload ``upload_id`` to that bucket and key, or ``None``."""
        upload = self._uploads.get(upload_id)
        return upload if upload is not None and (upload.bucket, upload.key) == (bucket, key) else None

    def pending_uploads(self, bucket: str) -> builtins.list[PendingUpload]:
        """The pending uploads to ``bucket``, by key then start."""
        found = [u for u in self._uploads.values() if u.bucket == bucket]
        return sorted(found, key=lambda u: (u.key, u.initiated, u.upload_id))

    def complete_upload(self, upload: PendingUpload, numbers: builtins.list[int]) -> StoredObject:
        """Write the object made of these parts of ``upload`` (in this order) and forget the upload."""
        chosen = [upload.parts[n] for n in numbers]
        etag = multipart_etag([md5 for _, md5 in chosen])
        obj = self.put(
            upload.bucket,
            upload.key,
            b"".join(data for data, _ in chosen),
            content_type=upload.content_type,
            etag=etag,
            metadata=upload.metadata,
        )
        del self._uploads[upload.upload_id]
        return obj

    def abort_upload(self, upload: PendingUpload) -> None:
        """Forget ``upload`` and its parts."""
        self._uploads.pop(upload.upload_id, None)

    def __len__(self) -> int:
        return sum(len(b.objects) for b in self._buckets.values())
