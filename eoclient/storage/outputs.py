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
import os
import re
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Final

import anyio

from eoclient import bulk
from eoclient.errors import MissingOutputsError, ValidationError
from eoclient.storage.store import ObjectSource, ObjectStore, StoredObject, object_url, parse_url

if TYPE_CHECKING:
    from eoclient.jobs import Job

__all__ = ["DEFAULT_GRACE", "Layout", "Output", "download_outputs", "follow", "local_path", "output_of"]

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


StoreOf = Callable[[str], ObjectStore]
"""``store_of(bucket)``: the store (at the bucket's root) to read a bucket with."""


async def follow(
    job: Job[Any],
    store_of: StoreOf,
    layouts: Sequence[Layout],
    describe: Describe,
    *,
    missing: Missing | None = None,
    grace: float | None = None,
    interval: float = 0.5,
    timeout: float | None = None,
) -> AsyncGenerator[Output, None]:
    """Every object the job delivers, yielded once, while it runs and after it ends.

    The store is listed at each change of the job's status (tiles appear as
    they finish). Once the job has ended, it is listed again every
    ``interval`` seconds until ``missing(seen)`` is empty — or, without
    ``missing`` (the family cannot know how many objects to expect), until a
    listing finds nothing new. After ``grace`` seconds (default
    :data:`DEFAULT_GRACE`) with outputs still missing,
    :class:`~eoclient.errors.MissingOutputsError` names them. Then the job's
    own outcome is raised if it failed or was cancelled. ``timeout`` bounds
    the wait for the job's end, as in :meth:`~eoclient.jobs.Job.watch`.

    ``describe(store, obj, fields, path)`` makes each :class:`Output`; ``path`` is the
    key below the folder all layouts share (prefixed by the bucket when they
    are in several buckets).
    """
    grace = DEFAULT_GRACE if grace is None else grace
    if isinstance(grace, bool) or not isinstance(grace, int | float) or grace < 0:
        raise ValidationError("grace", f"must be a number of seconds >= 0, got {grace!r}")
    seen: dict[tuple[str, str], Output] = {}
    root = common_root(layouts)

    async def sweep() -> AsyncIterator[Output]:
        for layout in layouts:
            store = store_of(layout.bucket)
            # The folder, not the prefix: obstore lists by whole path segments ("a/b_" finds nothing).
            async for obj in store.list(layout.root):
                if (layout.bucket, obj.key) in seen:
                    continue
                fields = layout.match(obj.key)
                if fields is None:
                    continue
                path = obj.key[len(root) :] if root is not None else f"{layout.bucket}/{obj.key}"
                out = describe(store, obj, fields, path)
                if out is None:
                    continue
                seen[layout.bucket, obj.key] = out
                yield out

    async with aclosing(job.watch(timeout)) as statuses:
        async for status in statuses:
            async for out in sweep():
                yield out
            if status.state.terminal:
                break
    until = anyio.current_time() + grace
    while True:
        found = 0
        async for out in sweep():
            found += 1
            yield out
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


async def download_outputs(
    outputs: AsyncIterable[Output],
    dest: str | os.PathLike[str],
    *,
    concurrency: int = 8,
    overwrite: bool = False,
) -> AsyncGenerator[bulk.Downloaded | bulk.Failure, None]:
    """Each output into ``dest / output.path`` as it appears, ``concurrency`` at a time; yield each outcome.

    Atomic (``.part`` then rename), resumed with ``Range`` after a drop,
    skipped when the file on disk already matches the object (size, MD5).
    """
    root = Path(dest)

    async def items() -> AsyncIterator[bulk.Download]:
        async for out in outputs:
            yield bulk.Download(out.source(), local_path(root, out.path))

    async for outcome in bulk.download_each(
        None, items(), concurrency=concurrency, overwrite=overwrite, operation="job.download"
    ):
        yield outcome
