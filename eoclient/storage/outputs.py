"""What a job delivered to object storage, followed as it appears: one mechanism for every family.

A family describes where its job writes (a :class:`Layout` per key template:
``s3://bucket/folder/<requestId>/<tileName>/<outputId>.<format>``) and when the
delivery is complete; :func:`follow` then lists the store at each change of
the job's status, yields every new object as an :class:`Output` (the
template's fields parsed from its key), and after the job ends keeps listing
until the outputs are complete — objects may appear late — or a ``grace``
period runs out (:class:`~eoclient.errors.MissingOutputsError`). A job that
failed or was cancelled yields what it delivered, then raises as ``await job``
does. :func:`download_outputs` feeds the outputs to the bulk engine as they
appear: bounded, streamed, atomic, resumed, skipped when already on disk.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import re
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, aclosing
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final, Protocol

import anyio

from eoclient import bulk
from eoclient.arrays import Raster, decode, to_dataarray
from eoclient.errors import DownloadError, JobCancelledError, MissingOutputsError, ValidationError
from eoclient.storage.store import ObjectSource, ObjectStore, StoredObject, object_url, parse_url

__all__ = [
    "DEFAULT_GRACE",
    "FollowedJob",
    "Layout",
    "Output",
    "Sweep",
    "download_outputs",
    "follow",
    "local_path",
    "output_of",
]

_PLACEHOLDER: Final = re.compile(r"<([^<>/]+)>")
DEFAULT_GRACE: Final = 60.0
"""Seconds a job that ended may take to show the last of its outputs in the store."""


@dataclass(frozen=True, slots=True)
class Output:
    """One object a job delivered: where it is, how big, its checksum, and what it holds.

    ``key`` is the object's key in ``bucket``; ``path`` the same key below the
    job's folder (where :meth:`~eoclient.jobs.Job.download` puts it).
    ``fields`` are the key template's placeholders read from the key
    (``{"tileName": "tile-3", "outputId": "default", "format": "tif"}``);
    ``tile``, ``output`` (the output or response identifier), ``array`` (a
    Zarr array) and ``feature`` (a Batch Statistical feature) name them
    across families, ``None`` where they do not apply. ``checksum`` is the
    content's MD5 when the store's ETag is one.
    """

    bucket: str
    key: str
    path: str
    size: int
    etag: str | None
    checksum: str | None
    last_modified: dt.datetime
    fields: Mapping[str, str] = field(default_factory=dict)
    tile: str | None = None
    output: str | None = None
    array: str | None = None
    feature: str | None = None
    store: ObjectStore | None = field(default=None, repr=False, compare=False)

    @property
    def url(self) -> str:
        """``s3://bucket/key``."""
        return object_url(self.bucket, self.key)

    @property
    def tile_id(self) -> int | None:
        """The tile's integer id when the key says it (``<tileId>``, or a ``tile-<n>`` name)."""
        text = self.fields.get("tileId") or (self.tile or "").removeprefix("tile-")
        return int(text) if text.isdigit() else None

    def _store(self) -> ObjectStore:
        if self.store is None:
            raise ValidationError("output", f"{self.url} has no store to read it from")
        return self.store

    def source(self) -> ObjectSource:
        """The object as a :class:`~eoclient.bulk.Source` (for the bulk engine)."""
        return self._store().source(self.stored())

    def stored(self) -> StoredObject:
        """The object as its store lists it."""
        return StoredObject(self.key, self.size, self.etag, self.last_modified, self.checksum)

    async def read(self) -> bytes:
        """The whole object in memory (small objects: JSON, metadata)."""
        return await self._store().read(self.key)

    async def to_raster(self) -> Raster:
        """The object read and decoded (TIFF, PNG, JPEG; told by its bytes), its georef from its GeoTIFF tags.

        Decoding runs in a worker thread. Needs ``pip install 'eoclient[arrays]'``.
        """
        body = await self.read()
        return await anyio.to_thread.run_sync(functools.partial(decode, body, source=self.url))

    async def to_numpy(self) -> Any:
        """The object's pixels as a numpy array, band axis last (``await out.to_numpy()``)."""
        return (await self.to_raster()).array

    async def to_xarray(self, *, band_names: Sequence[str] | None = None) -> Any:
        """The object as an ``xarray.DataArray`` named after its output, with the coordinates its tags give.

        Needs ``pip install 'eoclient[xarray]'``.
        """
        raster = await self.to_raster()
        return to_dataarray(raster.array, raster.georef, name=self.output, bands=band_names)


class Layout:
    """Where a job writes: a key template and the values already known (the request id).

    ``Layout("s3://b/out/<requestId>/<tileName>/<outputId>.<format>", {"requestId": id})``
    lists under ``out/<id>/`` and reads ``tileName``, ``outputId`` and
    ``format`` from each key; a key that does not fit the template is not
    the job's. A placeholder met twice must hold the same value both times.
    Placeholder names are compared without case (``<REQUEST_ID>`` and
    ``<request_id>`` are one name); ``fields`` keys are spelt as in the template.
    """

    def __init__(self, template: str, known: Mapping[str, str] | None = None) -> None:
        bucket, key_template = parse_url(template)
        values = {_norm(k): v for k, v in (known or {}).items()}
        pattern: list[str] = []  # regex pieces
        literal: list[str] = []  # the key as far as it is known, for the listing prefix
        prefix: str | None = None
        groups: dict[str, str] = {}  # normalized name -> regex group
        self._names: dict[str, str] = {}  # regex group -> name as the template spells it
        position = 0
        for match in _PLACEHOLDER.finditer(key_template):
            text = key_template[position : match.start()]
            pattern.append(re.escape(text))
            literal.append(text)
            name = match.group(1)
            norm = _norm(name)
            if norm in values:
                pattern.append(re.escape(values[norm]))
                literal.append(values[norm])
            elif norm in groups:
                pattern.append(f"(?P={groups[norm]})")
            else:
                if prefix is None:
                    prefix = "".join(literal)
                group = groups[norm] = f"g{len(groups)}"
                self._names[group] = name
                pattern.append(f"(?P<{group}>[^/]+)")
            position = match.end()
        pattern.append(re.escape(key_template[position:]))
        literal.append(key_template[position:])
        self.bucket = bucket
        self.template = template
        self.regex = re.compile("".join(pattern) + r"\Z")
        self.prefix = prefix if prefix is not None else "".join(literal)
        # The job's folder: local copies keep the key below it.
        self.root = self.prefix[: self.prefix.rfind("/") + 1]

    def __repr__(self) -> str:
        return f"Layout({self.template!r}, prefix={self.prefix!r})"

    def match(self, key: str) -> dict[str, str] | None:
        """The template's fields read from ``key``; ``None`` when the key is not the job's."""
        found = self.regex.match(key)
        if found is None:
            return None
        return {self._names[g]: v for g, v in found.groupdict().items()}


def _norm(name: str) -> str:
    return name.replace("_", "").lower()


def local_path(root: Path, relative: str) -> Path:
    """``root / relative`` for a key's relative path; never outside ``root``."""
    parts = PurePosixPath(relative.lstrip("/")).parts
    if not parts or any(p in ("..", ".") for p in parts):
        raise ValidationError("key", f"{relative!r} cannot be a file name under {root}")
    return root.joinpath(*parts)


Describe = Callable[[ObjectStore, StoredObject, Mapping[str, str], str], Output | None]
"""``describe(store, obj, fields, path)``: the :class:`Output` of a listed object, or None to leave it out."""
Missing = Callable[[Sequence[Output]], list[str]]
"""``missing(seen)``: what should exist and does not yet (empty: the delivery is complete)."""


def output_of(
    store: ObjectStore, obj: StoredObject, fields: Mapping[str, str], path: str, **named: Any
) -> Output:
    """An :class:`Output` of a listed object (``named``: tile, output, array, feature)."""
    return Output(
        bucket=store.bucket,
        key=obj.key,
        path=path,
        size=obj.size,
        etag=obj.etag,
        checksum=obj.checksum,
        last_modified=obj.last_modified,
        fields=dict(fields),
        store=store,
        **named,
    )


class FollowedJob(Protocol):
    """What :func:`follow` needs of a job (a :class:`~eoclient.jobs.Job`; storage does not import jobs)."""

    @property
    def id(self) -> str:
        """The job's id (for errors)."""
        ...

    def watch(self, timeout: float | None = None) -> AsyncGenerator[Any, None]:
        """Its statuses (each with ``state.terminal``), ending after the terminal one."""
        ...

    async def wait(self, timeout: float | None = None) -> Any:
        """Its result; raises if it failed or was cancelled."""
        ...

    async def cancel(self) -> bool:
        """Cancel it (here only awaited once already cancelled: the service's answer)."""
        ...


StoreOf = Callable[[str], ObjectStore]
"""``store_of(bucket)``: the store (at the bucket's root) to read a bucket with."""


class Sweep:
    """Lists a job's layouts once per call; yields each object not seen before (what :func:`follow` uses).

    ``seen`` holds every :class:`Output` yielded so far, by ``(bucket, key)``;
    ``path`` of each is its key below the folder all layouts share (prefixed
    by the bucket when they are in several buckets).
    """

    def __init__(self, store_of: StoreOf, layouts: Sequence[Layout], describe: Describe) -> None:
        self.store_of = store_of
        self.layouts = tuple(layouts)
        self.describe = describe
        self.seen: dict[tuple[str, str], Output] = {}
        self._root = common_root(self.layouts)
        # Layouts in one folder (a Zarr group and its arrays) share one listing; the first that fits wins.
        self._folders: dict[tuple[str, str], list[Layout]] = {}
        for layout in self.layouts:
            self._folders.setdefault((layout.bucket, layout.prefix), []).append(layout)

    async def __call__(self) -> AsyncIterator[Output]:
        root, seen = self._root, self.seen
        for (bucket, prefix), fitting in self._folders.items():
            store = self.store_of(bucket)
            async for obj in store.list(prefix):
                if (bucket, obj.key) in seen:
                    continue
                fields = next((f for f in (lay.match(obj.key) for lay in fitting) if f is not None), None)
                if fields is None:
                    continue
                path = obj.key[len(root) :] if root is not None else f"{bucket}/{obj.key}"
                out = self.describe(store, obj, fields, path)
                if out is None:
                    continue
                seen[bucket, obj.key] = out
                yield out


async def follow(
    job: FollowedJob,
    store_of: StoreOf,
    layouts: Sequence[Layout],
    describe: Describe,
    *,
    missing: Missing | None = None,
    grace: float | None = None,
    interval: float = 0.5,
    timeout: float | None = None,
    ticks: AsyncGenerator[Any, None] | None = None,
) -> AsyncGenerator[Output, None]:
    """Every object the job delivers, yielded once, while it runs and after it ends.

    The store is listed at each change of the job's status (tiles appear as
    they finish). Once the job has ended, it is listed again every
    ``interval`` seconds until ``missing(seen)`` is empty — or, without
    ``missing`` (the family cannot know how many objects to expect), until a
    listing finds nothing new. After ``grace`` seconds (default
    :data:`DEFAULT_GRACE`) with outputs still missing,
    :class:`~eoclient.errors.MissingOutputsError` names them. Then the job's
    own outcome is raised if it failed or was cancelled (a job this client
    cancelled is listed once more after the service took the request, then
    :class:`~eoclient.errors.JobCancelledError` is raised). ``timeout`` bounds
    the wait for the job's end, as in :meth:`~eoclient.jobs.Job.watch`.
    ``ticks`` replaces ``job.watch(timeout)`` as the statuses to list at (a
    job whose status does not change while it delivers is listed at each poll).

    ``describe(store, obj, fields, path)`` makes each :class:`Output`; ``path`` is the
    key below the folder all layouts share (prefixed by the bucket when they
    are in several buckets).
    """
    grace = DEFAULT_GRACE if grace is None else grace
    if isinstance(grace, bool) or not isinstance(grace, int | float) or grace < 0:
        raise ValidationError("grace", f"must be a number of seconds >= 0, got {grace!r}")
    sweep = Sweep(store_of, layouts, describe)
    seen = sweep.seen

    try:
        async with aclosing(ticks if ticks is not None else job.watch(timeout)) as statuses:
            async for status in statuses:
                async for out in sweep():
                    yield out
                if status.state.terminal:
                    break
    except JobCancelledError:
        # Cancelled by this client: once the service has been told (cancel() is asked once per
        # handle; this waits for that answer), what the job delivered until then is listed.
        await job.cancel()
        async for out in sweep():
            yield out
        raise
    # The listing above followed the end. With ``missing`` it is judged as it is; without, a
    # listing must find nothing new, so the store is listed again at once.
    until = anyio.current_time() + grace
    relist = missing is None
    while True:
        found = 0
        if relist:
            async for out in sweep():
                found += 1
                yield out
        relist = True
        lacking = missing(list(seen.values())) if missing is not None else []
        if (missing is None and not found) or (missing is not None and not lacking):
            break
        if anyio.current_time() >= until:
            if lacking:
                raise MissingOutputsError(job_id=job.id, missing=lacking, grace=grace)
            break
        await anyio.sleep(interval)
    await job.wait()  # a failed or cancelled job raises here, after what it delivered


def common_root(layouts: Sequence[Layout]) -> str | None:
    """The longest folder (ending in ``/``) every layout's keys are under; None across buckets."""
    if len({layout.bucket for layout in layouts}) > 1:
        return None
    roots = [layout.root.split("/")[:-1] for layout in layouts]
    shared: list[str] = []
    for parts in zip(*roots, strict=False):
        if len(set(parts)) > 1:
            break
        shared.append(parts[0])
    return "".join(p + "/" for p in shared)


class _Checked:
    """An output's source whose file, once in place, must be the object listed: its MD5 is compared.

    A file that is not (corrupted, or the object was replaced since it was
    listed) is removed and :class:`~eoclient.errors.DownloadError` raised, so
    no file the report calls a failure stays under its final name.
    """

    def __init__(self, out: Output) -> None:
        self._source = out.source()
        self._checksum = out.checksum

    @property
    def name(self) -> str:
        return self._source.name

    def open(
        self, offset: int, *, validator: str | None, chunk_size: int
    ) -> AbstractAsyncContextManager[bulk.Body]:
        return self._source.open(offset, validator=validator, chunk_size=chunk_size)

    async def current(self, path: Path) -> int | None:
        return await self._source.current(path)

    async def completed(self, path: Path) -> None:
        await self._source.completed(path)
        if self._checksum is None:  # a multipart ETag is no MD5: the size was checked
            return
        digest = await anyio.to_thread.run_sync(_md5, path)
        if digest != self._checksum:
            await anyio.to_thread.run_sync(functools.partial(path.unlink, missing_ok=True))
            raise DownloadError(
                f"{self._source.store.url(self.name)}: MD5 {digest} of the file is not the listed "
                f"{self._checksum} (changed since it was listed, or corrupted); the file was removed"
            )


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


async def download_outputs(
    outputs: AsyncIterable[Output],
    dest: str | os.PathLike[str],
    *,
    concurrency: int = 8,
    overwrite: bool = False,
) -> AsyncGenerator[bulk.Downloaded | bulk.Failure, None]:
    """Each output into ``dest / output.path`` as it appears, ``concurrency`` at a time; yield each outcome.

    Atomic (``.part`` then rename), resumed with ``Range`` after a drop,
    checked (size; MD5 where the listed ETag is one: a file that differs is
    removed and reported as a failure), skipped when the file on disk already
    matches the object (size, MD5). When ``outputs`` raises (a failed or cancelled job, outputs missing),
    the transfers of what it yielded before still complete; the error is
    raised after the last of them.
    """
    root = Path(dest)
    ended: list[Exception] = []

    async def items() -> AsyncIterator[bulk.Download]:
        try:
            async for out in outputs:
                yield bulk.Download(_Checked(out), local_path(root, out.path))
        except Exception as exc:  # the job's own end: raised once what it delivered is on disk
            ended.append(exc)

    each = bulk.download_each(
        None, items(), concurrency=concurrency, overwrite=overwrite, operation="job.download"
    )
    async with aclosing(each) as outcomes:
        async for outcome in outcomes:
            yield outcome
    if ended:
        raise ended[0]
