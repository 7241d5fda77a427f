"""One account on a Dask cluster: attach it, run bulk work across the workers, follow the progress.

:class:`ClusterAccount` registers two plugins: on the scheduler, the
account's pace (:class:`~eoclient.dask.account.AccountPlugin`); on every
worker, a client of the account (:class:`~eoclient.dask.worker.ClientPlugin`,
which also starts on workers that join later). :meth:`ClusterAccount.process_each`
splits the requests into chunks, one task per chunk; each worker renders its
chunks through the bulk engine into the shared destination.
:meth:`ClusterAccount.download_each` does the same for GETs,
:meth:`ClusterAccount.download_map` for a Kraken map's files and
:meth:`ClusterAccount.download_outputs` for a job's outputs in object storage.

Progress: an item's file done is told at once (the worker logs an event,
the scheduler forwards it to the caller); a failure with its chunk's result
(the chunk may still run again elsewhere and succeed).

A worker that dies mid-chunk loses nothing: the scheduler runs the chunk
again elsewhere, where the files already whole are skipped (files appear
under their names only when complete) and the others rendered. Each item
is yielded once: the first time it is told. An item the dead worker had
told is not told again; one it finished but could not tell is told by the
rerun, as skipped. A rerun over the same destination renders only what is
missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import weakref
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Final, Self
from uuid import uuid4

import anyio
from distributed import Client, Future

from eoclient.bulk import Download, Downloaded, Failure, each_of, fill_report
from eoclient.dask.account import HANDLER, AccountLimits, AccountPlugin
from eoclient.dask.report import ClusterReport, Progress
from eoclient.dask.spec import ClientSpec
from eoclient.dask.stores import StoreSpec, StoreTarget
from eoclient.dask.worker import (
    ChunkCall,
    ChunkResult,
    ClientPlugin,
    download_chunk,
    output_chunk,
    plugin_name,
    render_chunk,
)
from eoclient.errors import ValidationError
from eoclient.sentinelhub.prepared import prepare_process
from eoclient.sentinelhub.process_area import AreaResult
from eoclient.spaceknow.kraken_grid import FilterLine, file_params, tile_params
from eoclient.spaceknow.kraken_models import MapTile
from eoclient.storage.outputs import Output, local_path, output_of
from eoclient.storage.settings import StorageSettings
from eoclient.storage.store import open_store, parse_url

__all__ = ["ClusterAccount", "ClusterReport", "Progress"]

_EXTENSIONS: Final = {
    "image/tiff": "tif",
    "image/png": "png",
    "image/jpeg": "jpg",
    "application/json": "json",
}
_MAX_CHUNK: Final = 512

Requests = Mapping[str, Any] | Iterable[Any]


@dataclass(frozen=True, slots=True)
class _Work:
    """One item as it travels to a worker (``item``), and the file it makes."""

    item: Any
    dest: Path


def _file_name(name: str | None, index: int, body: bytes, accept: str) -> str:
    ext = _EXTENSIONS.get(accept.split(";", maxsplit=1)[0].strip().lower(), "bin")
    if name is not None:
        return f"{name}.{ext}"
    # Index for order, digest so that a changed request never picks up a stale file.
    return f"{index:06d}_{hashlib.sha256(body).hexdigest()[:12]}.{ext}"


def _render_items(requests: Requests, dest: Path, accept: str | None) -> list[tuple[Any, str, str | None]]:
    """Every request checked (a ValidationError names the item and field) and given its file."""
    named: Iterable[tuple[str | None, Any]] = (
        requests.items() if isinstance(requests, Mapping) else ((None, r) for r in requests)
    )
    items: list[tuple[Any, str, str | None]] = []
    seen: set[str] = set()
    for index, (name, request) in enumerate(named):
        if name is not None and (not isinstance(name, str) or not name or "/" in name or name in (".", "..")):
            raise ValidationError("requests", f"{name!r} is not a file name")
        try:
            prepared = prepare_process(request, accept=accept)
        except ValidationError as exc:
            where = name if name is not None else index
            raise ValidationError(
                f"requests[{where!r}].{exc.field}", exc.message.split(": ", 1)[-1]
            ) from None
        file = _file_name(name, index, prepared.body, prepared.accept)
        if file in seen:
            raise ValidationError("requests", f"two requests write {file}")
        seen.add(file)
        items.append((request, str(dest / file), accept))
    return items


class ClusterAccount:
    """One account's client on every worker of a ``distributed.Client``, under one budget.

    Use :meth:`attach` (or ``async with ClusterAccount(...)``); :meth:`detach`
    closes every worker's client. ``limits`` hold for the whole cluster;
    ``per_worker`` bounds the items one worker task runs at once.

    Example::

        async with distributed.Client(cluster, asynchronous=True) as dask_client:
            spec = ClientSpec.sentinelhub()  # each worker reads SH_CLIENT_ID/SECRET itself
            async with ClusterAccount(dask_client, spec, limits=AccountLimits(concurrency=8)) as account:
                report = await account.process_all(requests, "/shared/renders")
    """

    def __init__(
        self,
        client: Client,
        spec: ClientSpec,
        *,
        limits: AccountLimits | None = None,
        name: str = "default",
        per_worker: int = 8,
    ) -> None:
        if not isinstance(spec, ClientSpec):
            raise ValidationError("spec", f"must be a ClientSpec, got {type(spec).__name__}")
        if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
            raise ValidationError("name", f"must be letters, digits, - and _, got {name!r}")
        if isinstance(per_worker, bool) or not isinstance(per_worker, int) or per_worker < 1:
            raise ValidationError("per_worker", f"must be a positive integer, got {per_worker!r}")
        self.client = client
        self.spec = spec
        self.limits = limits if limits is not None else AccountLimits()
        if not isinstance(self.limits, AccountLimits):
            raise ValidationError("limits", f"must be AccountLimits, got {type(limits).__name__}")
        self.name = name
        self.per_worker = per_worker
        self._attached = False

    def __repr__(self) -> str:
        return f"ClusterAccount(name={self.name!r}, service={self.spec.service!r}, limits={self.limits!r})"

    async def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A ``distributed.Client`` method, from an asynchronous client or (in a thread) a blocking one."""
        if self.client.asynchronous:
            return await method(*args, **kwargs)
        return await anyio.to_thread.run_sync(lambda: method(*args, **kwargs))

    async def _scheduler(self, handler: str, **kwargs: Any) -> Any:
        """Call one of the scheduler's handlers."""
        call = getattr(self.client.scheduler, handler)
        if self.client.asynchronous:
            return await call(**kwargs)
        return await anyio.to_thread.run_sync(lambda: self.client.sync(call, **kwargs))  # type: ignore[no-untyped-call]

    @classmethod
    async def attach(
        cls,
        client: Client,
        spec: ClientSpec,
        *,
        limits: AccountLimits | None = None,
        name: str = "default",
        per_worker: int = 8,
    ) -> ClusterAccount:
        """Register the account on the scheduler and open its client on every worker."""
        account = cls(client, spec, limits=limits, name=name, per_worker=per_worker)
        await account._attach()
        return account

    async def _attach(self) -> None:
        # The account's name is its identity: attaching it again starts it afresh (limits may differ).
        await self._call(self.client.register_plugin, AccountPlugin(self.name, self.limits))
        plugin = ClientPlugin(self.spec, self.name, self.limits, self.per_worker)
        await self._call(self.client.register_plugin, plugin, name=plugin.name)
        self._attached = True

    async def detach(self) -> None:
        """Close the account's client on every worker and forget the account's pace."""
        if not self._attached:
            return
        self._attached = False
        await self._call(self.client.unregister_worker_plugin, plugin_name(self.name))
        await self._call(self.client.unregister_scheduler_plugin, f"eoclient-account-{self.name}")

    async def __aenter__(self) -> Self:
        await self._attach()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.detach()

    async def stats(self) -> dict[str, Any]:
        """What the scheduler counted for the account.

        ``reservations`` (requests), ``leases`` and ``returns`` (calls
        lending permits to workers, giving them back), ``rate_limited`` (429s
        reported), ``slowdowns``, ``waited`` (seconds, all workers), ``pu``
        (processing units, as charged), ``longest_wait`` (seconds, by worker
        address) and ``rate_limited_by`` (429s, by worker address).
        """
        result = await self._scheduler(HANDLER, account=self.name, action="stats")
        return dict(result)

    def _chunk_size(self, total: int, chunk_size: int | None) -> int:
        if chunk_size is not None:
            if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
                raise ValidationError("chunk_size", f"must be a positive integer, got {chunk_size!r}")
            return chunk_size
        workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        # Several chunks per worker: a dead worker's chunk is small, and the tail evens out.
        return min(_MAX_CHUNK, max(self.per_worker, math.ceil(total / (workers * 4))))

    def process_each(
        self,
        requests: Requests,
        dest: str | os.PathLike[str],
        *,
        accept: str | None = None,
        storage: StoreSpec | StorageSettings | None = None,
        overwrite: bool = False,
        chunk_size: int | None = None,
        on_progress: Callable[[Progress], object] | None = None,
    ) -> AsyncGenerator[Downloaded | Failure, None]:
        """Render Process ``requests`` across the cluster into ``dest`` (folder or store); yield each outcome.

        ``requests`` is a mapping ``{file name: request}`` or an iterable of
        requests (files ``<index>_<digest>.<ext>``); every one is checked
        before anything is submitted. ``dest`` must be a folder every worker
        sees under the same path. Files already complete there are yielded as
        skipped unless ``overwrite``. Each item is yielded once, as a
        :class:`~eoclient.bulk.Downloaded` as soon as its worker has the file
        whole, or a :class:`~eoclient.bulk.Failure` when its chunk ends (a
        chunk that failed as a whole, e.g. its workers kept dying, fails all
        its items); ``on_progress`` gets the :class:`Progress` after each.

        ``dest`` may be ``s3://bucket/prefix`` instead: each worker renders
        into a scratch file on its own disk, then uploads it as
        ``prefix/<file>`` (:meth:`~eoclient.storage.ObjectStore.upload`: the
        object appears only when complete); an object already there is
        skipped without rendering it (its outcome's ``path`` is the key). Each
        worker opens the store from ``storage`` (see :meth:`download_outputs`;
        by default all of it from the worker's own ``AWS_*`` environment).
        """
        return self._renders(requests, dest, accept, storage, overwrite, chunk_size, on_progress, None)

    async def _renders(  # noqa: PLR0917 - private, the public methods' arguments
        self,
        requests: Requests,
        dest: str | os.PathLike[str],
        accept: str | None,
        storage: StoreSpec | StorageSettings | None,
        overwrite: bool,
        chunk_size: int | None,
        on_progress: Callable[[Progress], object] | None,
        report: ClusterReport | None,
    ) -> AsyncGenerator[Downloaded | Failure, None]:
        folder, target = self._destination(dest, storage)
        items = _render_items(requests, folder, accept)
        if target is None:
            await anyio.to_thread.run_sync(lambda: folder.mkdir(parents=True, exist_ok=True))
        work = [_Work(item, Path(item[1])) for item in items]
        gen = self._run(
            render_chunk, "render", work, overwrite, chunk_size, on_progress, report, _targeting(target)
        )
        async with aclosing(gen) as outcomes:
            async for outcome in outcomes:
                yield outcome

    async def process_all(
        self,
        requests: Requests,
        dest: str | os.PathLike[str],
        *,
        accept: str | None = None,
        storage: StoreSpec | StorageSettings | None = None,
        overwrite: bool = False,
        chunk_size: int | None = None,
        on_progress: Callable[[Progress], object] | None = None,
    ) -> ClusterReport:
        """:meth:`process_each` to the end: a :class:`ClusterReport` (failures reported, not raised)."""
        report = ClusterReport()
        await fill_report(
            report,
            self._renders(requests, dest, accept, storage, overwrite, chunk_size, on_progress, report),
        )
        return report

    def download_each(
        self,
        items: Iterable[Download | tuple[Any, ...]],
        *,
        overwrite: bool = False,
        chunk_size: int | None = None,
        on_progress: Callable[[Progress], object] | None = None,
    ) -> AsyncGenerator[Downloaded | Failure, None]:
        """GET every work item across the cluster with the workers' clients; yield each outcome.

        ``items`` are :class:`~eoclient.bulk.Download` objects or ``(path,
        dest[, params])`` tuples as :func:`eoclient.bulk.download_each` takes
        them, whose source is a path under the account's base URL (or a URL)
        (a Kraken map's files: :meth:`download_map`)::

            items = [(f"/api/v1/catalog/1.0.0/collections/{c}", out / f"{c}.json") for c in names]
            report = await account.download_all(items)

        ``dest`` paths must be ones every worker sees. Resumes, skips and
        outcomes as in :meth:`process_each`.
        """
        work = [_Work(d, d.dest) for d in _download_items(items)]  # checked now, before anything runs
        return self._run(download_chunk, "download", work, overwrite, chunk_size, on_progress, None)

    async def download_all(
        self,
        items: Iterable[Download | tuple[Any, ...]],
        *,
        overwrite: bool = False,
        chunk_size: int | None = None,
        on_progress: Callable[[Progress], object] | None = None,
    ) -> ClusterReport:
        """:meth:`download_each` to the end: a :class:`ClusterReport` (failures reported, not raised)."""
        report = ClusterReport()
        work = [_Work(d, d.dest) for d in _download_items(items)]
        await fill_report(
            report, self._run(download_chunk, "download", work, overwrite, chunk_size, on_progress, report)
        )
        return report

    def download_map_each(
        self,
        tiles: Iterable[MapTile] | AsyncIterable[MapTile],
        dest: str | os.PathLike[str],
        *,
        storage: StoreSpec | StorageSettings | None = None,
        overwrite: bool = False,
        chunk_size: int | None = None,
        on_progress: Callable[[Progress], object] | None = None,
        user_threshold: float | None = None,
        download_unclipped: bool | None = None,
        force_download: bool | None = None,
        classification: str | None = None,
        detection_filters: str | Sequence[FilterLine] | None = None,
    ) -> AsyncGenerator[Downloaded | Failure, None]:
        """A released Kraken map's files downloaded by the workers into ``dest/<zoom>/<x>/<y>/<file>``.

        ``tiles`` are :class:`~eoclient.spaceknow.kraken_models.MapTile`
        objects, e.g. ``sk.kraken.tiles(release, files)`` (read as they come:
        chunks start before the last tile is known); every grid file of each
        is fetched by the workers' SpaceKnow clients under the account's
        limits, as :meth:`eoclient.spaceknow.kraken.Kraken.download_map` does
        on one machine (the same layout: a rerun of either completes the
        other's), with the same tile options (``user_threshold`` and
        ``classification`` go with the PNG files, ``detection_filters`` with
        the GeoJSON ones; checked here, before anything is submitted). ``dest``
        may be ``s3://bucket/prefix`` (with ``storage``), as in :meth:`process_each`.

        Example::

            async with SpaceKnow() as sk:
                tiles = sk.kraken.tiles(release, ["trees.png"])
                report = await account.download_map(tiles, "/shared/trees")
        """
        folder, target = self._destination(dest, storage)
        if not isinstance(tiles, Iterable | AsyncIterable) or isinstance(tiles, str | bytes):
            raise ValidationError("tiles", f"must be MapTiles, got {type(tiles).__name__}")
        params = tile_params(
            user_threshold=user_threshold,
            download_unclipped=download_unclipped,
            force_download=force_download,
            classification=classification,
            detection_filters=detection_filters,
        )
        items = _map_items(tiles, folder, params)
        return self._run(
            download_chunk, "kraken", items, overwrite, chunk_size, on_progress, None, _targeting(target)
        )

    async def download_map(
        self,
        tiles: Iterable[MapTile] | AsyncIterable[MapTile],
        dest: str | os.PathLike[str],
        *,
        storage: StoreSpec | StorageSettings | None = None,
        overwrite: bool = False,
        chunk_size: int | None = None,
        on_progress: Callable[[Progress], object] | None = None,
        user_threshold: float | None = None,
        download_unclipped: bool | None = None,
        force_download: bool | None = None,
        classification: str | None = None,
        detection_filters: str | Sequence[FilterLine] | None = None,
    ) -> ClusterReport:
        """:meth:`download_map_each` to the end: a :class:`ClusterReport` (failures reported, not raised)."""
        report = ClusterReport()
        each = self.download_map_each(
            tiles,
            dest,
            storage=storage,
            overwrite=overwrite,
            chunk_size=chunk_size,
            on_progress=on_progress,
            user_threshold=user_threshold,
            download_unclipped=download_unclipped,
            force_download=force_download,
            classification=classification,
            detection_filters=detection_filters,
        )
        await fill_report(report, each)
        return report

    def download_outputs(
        self,
        outputs: Iterable[Output] | AsyncIterable[Output] | str,
        dest: str | os.PathLike[str],
        *,
        storage: StoreSpec | StorageSettings | None = None,
        overwrite: bool = False,
        chunk_size: int | None = None,
        on_progress: Callable[[Progress], object] | None = None,
    ) -> AsyncGenerator[Downloaded | Failure, None]:
        """A job's outputs downloaded by the workers into the folder ``dest``; yield each outcome.

        :func:`eoclient.storage.outputs.download_outputs` across the cluster:
        ``outputs`` are :class:`~eoclient.storage.outputs.Output` objects (a
        list, or ``job.outputs()``: chunks are submitted as the job delivers),
        or an ``s3://bucket/prefix`` URL (every object under it, listed here;
        paths below the prefix). Each lands at ``dest / output.path``, atomic,
        resumed, checked (size, MD5), skipped when already whole.

        Each worker opens the store itself from ``storage``: a
        :class:`~eoclient.dask.StoreSpec`, or ``StorageSettings`` whose
        credentials then travel (pickled, never shown); by default the
        endpoint and region of the outputs' store, with each worker's own
        ``AWS_*`` credentials. The account's permits and pace do not apply
        (the store is not the account's service); ``per_worker`` bounds each
        chunk's transfers.

        Example::

            job = await sh.batch.run(request)
            report = await account.download_outputs_all(job.outputs(), "/shared/ndvi")
        """
        folder = self._folder(dest)
        if storage is not None and not isinstance(storage, StoreSpec | StorageSettings):
            raise ValidationError(
                "storage", f"must be a StoreSpec or StorageSettings, got {type(storage).__name__}"
            )
        if not isinstance(outputs, str | Iterable | AsyncIterable) or isinstance(outputs, bytes):
            raise ValidationError("outputs", f"must be Outputs or an s3:// URL, got {type(outputs).__name__}")
        return self._outputs(outputs, folder, storage, overwrite, chunk_size, on_progress, None)

    async def download_outputs_all(
        self,
        outputs: Iterable[Output] | AsyncIterable[Output] | str,
        dest: str | os.PathLike[str],
        *,
        storage: StoreSpec | StorageSettings | None = None,
        overwrite: bool = False,
        chunk_size: int | None = None,
        on_progress: Callable[[Progress], object] | None = None,
    ) -> ClusterReport:
        """:meth:`download_outputs` to the end: a :class:`ClusterReport` (failures reported, not raised).

        A job that failed (``outputs`` raised) raises once what it delivered is on disk.
        """
        report = ClusterReport()
        folder = self._folder(dest)
        await fill_report(
            report, self._outputs(outputs, folder, storage, overwrite, chunk_size, on_progress, report)
        )
        return report

    async def _outputs(  # noqa: PLR0917 - private, the public methods' arguments
        self,
        outputs: Iterable[Output] | AsyncIterable[Output] | str,
        folder: Path,
        storage: StoreSpec | StorageSettings | None,
        overwrite: bool,
        chunk_size: int | None,
        on_progress: Callable[[Progress], object] | None,
        report: ClusterReport | None,
    ) -> AsyncGenerator[Downloaded | Failure, None]:
        spec = _store_spec(storage)
        if isinstance(outputs, str):
            outputs = _listed(outputs, storage)
        seen: set[Path] = set()
        default: list[StoreSpec] = []  # the first output's store, without its credentials

        def work_of(index: int, out: Any) -> _Work:
            if not isinstance(out, Output):
                raise ValidationError(f"outputs[{index}]", f"must be an Output, got {type(out).__name__}")
            if spec is None and not default:
                if out.store is None:
                    raise ValidationError(f"outputs[{index}]", f"{out.url} has no store: give storage=")
                default.append(StoreSpec.of(out.store.settings))
            path = local_path(folder, out.path)
            if path in seen:
                raise ValidationError(f"outputs[{index}]", f"two outputs write {path}")
            seen.add(path)
            return _Work(replace(out, store=None), path)  # the store stays: each worker opens its own

        def extra(chunk: list[_Work]) -> tuple[Any, ...]:
            del chunk
            return str(folder), spec if spec is not None else default[0]

        work: list[_Work] | AsyncIterable[_Work]
        if isinstance(outputs, AsyncIterable):
            work = _numbered(outputs, work_of)
        else:
            work = [work_of(i, out) for i, out in enumerate(outputs)]  # all checked before anything runs
        await anyio.to_thread.run_sync(lambda: folder.mkdir(parents=True, exist_ok=True))
        gen = self._run(output_chunk, "outputs", work, overwrite, chunk_size, on_progress, report, extra)
        async with aclosing(gen) as outcomes:
            async for outcome in outcomes:
                yield outcome

    async def process_area(
        self,
        request: Any,
        area: Any,
        dest: str | os.PathLike[str],
        *,
        resolution: float | tuple[float, float],
        tile_pixels: int | tuple[int, int] | None = None,
        tile_size: float | tuple[float, float] | None = None,
        crs: int | str = "utm",
        area_crs: int | str | None = None,
        accept: str | None = None,
        overwrite: bool = False,
        fill: float = 0,
        chunk_size: int | None = None,
        on_progress: Callable[[Progress], object] | None = None,
    ) -> AreaResult:
        """:meth:`eoclient.SentinelHub.process_area` on the cluster, the mosaic a lazy dask-backed array.

        The area is split and every tile's request checked here; the workers
        render the tiles into the shared folder ``dest`` (kept: a rerun renders
        only the tiles missing); ``result.data`` is an ``xarray.DataArray``
        ``(y, x, band)`` with coordinates and CRS whose blocks are the tiles'
        files, read when computed. A tile that failed raises
        :class:`~eoclient.bulk.BulkDownloadError` once the others are done.
        Needs ``pip install 'eoclient[dask,xarray]'``.
        """
        from eoclient.dask.area import process_area  # noqa: PLC0415 - needs numpy and xarray

        if isinstance(dest, str) and dest.startswith("s3://"):
            raise ValidationError(
                "dest", "must be a folder every worker sees: the mosaic reads the tiles there"
            )

        return await process_area(
            self,
            request,
            area,
            dest,
            resolution=resolution,
            tile_pixels=tile_pixels,
            tile_size=tile_size,
            crs=crs,
            area_crs=area_crs,
            accept=accept,
            overwrite=overwrite,
            fill=fill,
            chunk_size=chunk_size,
            on_progress=on_progress,
        )

    def _destination(
        self, dest: str | os.PathLike[str], storage: StoreSpec | StorageSettings | None
    ) -> tuple[Path, StoreTarget | None]:
        """A local folder (absolute), or an ``s3://`` URL: the key prefix (relative) and the bucket."""
        if not (isinstance(dest, str) and dest.startswith("s3://")):
            if storage is not None:
                raise ValidationError("storage", "applies to an s3:// dest only")
            return self._folder(dest), None
        self._folder(dest)  # the account's checks
        bucket, prefix = parse_url(dest)
        if any(part in (".", "..") for part in prefix.split("/")):
            raise ValidationError("dest", f"{dest!r}: no . or .. in a key prefix")
        return Path(prefix), StoreTarget(_store_spec(storage) or StoreSpec(), bucket)

    def _folder(self, dest: str | os.PathLike[str]) -> Path:
        if not self._attached:
            raise ValidationError("account", "attach the account first (ClusterAccount.attach or async with)")
        if not isinstance(dest, str | os.PathLike):
            raise ValidationError("dest", f"must be a folder path, got {type(dest).__name__}")
        return Path(os.path.abspath(dest))  # workers may run elsewhere: no relative paths

    async def _run(  # noqa: PLR0917, PLR0915 - private, the public methods' arguments; one loop
        self,
        task: Callable[..., Any],
        kind: str,
        work: list[_Work] | AsyncIterable[_Work],
        overwrite: bool,
        chunk_size: int | None,
        on_progress: Callable[[Progress], object] | None,
        report: ClusterReport | None,
        extra: Callable[[list[_Work]], tuple[Any, ...]] = lambda chunk: (),
    ) -> AsyncGenerator[Downloaded | Failure, None]:
        """Submit ``work`` in chunks (a list at once, a stream as it comes); yield each item's outcome once.

        Everything the run hears arrives in one inbox: each chunk's end (a
        future's callback) and, as soon as a worker completes it, each item's
        outcome (an event the worker logs under the account's topic, routed
        here by the run's id: see :class:`_Routes`). An item is
        yielded the first time its outcome arrives; a chunk run again after
        its worker died repeats what the dead worker already told, and the
        repeats are dropped.
        """
        if not self._attached:
            raise ValidationError("account", "attach the account first (ClusterAccount.attach or async with)")
        streamed = not isinstance(work, list)
        if isinstance(work, list):
            size = self._chunk_size(len(work), chunk_size)
        else:  # the total is not known: small chunks, so that the first items start at once
            size = self._chunk_size(0, chunk_size)
        run = uuid4().hex[:12]
        topic = plugin_name(self.name)  # one topic per account: the scheduler keeps each topic's last events
        progress = Progress(total=len(work) if isinstance(work, list) else 0)
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def post(entry: tuple[str, Any]) -> None:
            # From the dask client's loop or its callback thread: hand it over to this loop.
            with contextlib.suppress(RuntimeError):  # this loop is closed: the run is long over
                loop.call_soon_threadsafe(inbox.put_nowait, entry)

        chunks: list[list[_Work]] = []
        futures: dict[Future[Any], int] = {}
        reported: set[tuple[int, int]] = set()
        ended: list[Exception] = []

        def submit(chunk: list[_Work]) -> None:
            number = len(chunks)
            chunks.append(chunk)
            call = ChunkCall(plugin_name(self.name), overwrite, topic, run, number)
            future = self.client.submit(
                task,
                call,
                [w.item for w in chunk],
                *extra(chunk),
                key=f"eoclient-{kind}-{self.name}-{run}-{number}",
                pure=False,
            )
            futures[future] = number
            future.add_done_callback(lambda done: post(("chunk", done)))  # type: ignore[no-untyped-call]
            if streamed:
                progress.total += len(chunk)

        def tell(number: int, index: int, outcome: Downloaded | Failure) -> bool:
            if (number, index) in reported:
                return False
            reported.add((number, index))
            progress.count(outcome)
            if on_progress is not None:
                on_progress(progress)
            return True

        feeding: asyncio.Task[None] | None = None
        routes = _Routes.of(self.client, topic)
        routes.add(run, post)
        try:
            if isinstance(work, list):
                for start in range(0, len(work), size):
                    submit(work[start : start + size])
            else:
                feeding = asyncio.ensure_future(_feed(work, size, submit, ended, post))
            fed = not streamed
            while not fed or futures:
                what, value = await inbox.get()
                if what == "fed":
                    fed = True
                elif what == "item":
                    number, index = int(value["chunk"]), int(value["index"])
                    told = _downloaded(value)
                    if number < len(chunks) and tell(number, index, told):
                        yield told
                elif (number := futures.pop(value, -1)) >= 0:
                    result = await self._result(value)
                    if isinstance(result, ChunkResult):
                        progress.requests += result.requests
                        progress.processing_units += result.processing_units
                        if report is not None:
                            report.requests += result.requests
                            report.processing_units += result.processing_units
                            report.workers[result.worker] = report.workers.get(result.worker, 0) + len(
                                result.outcomes
                            )
                    for index, outcome in _outcomes(chunks[number], result):
                        if tell(number, index, outcome):
                            yield outcome
            if ended:  # the stream of work failed: raised once what it gave is done
                raise ended[0]
        finally:
            routes.remove(run)
            if feeding is not None and not feeding.done():
                feeding.cancel()
                await asyncio.gather(feeding, return_exceptions=True)
            if futures:  # left early: the chunks not yet done are cancelled
                await self._call(self.client.cancel, list(futures))

    async def _result(self, future: Future[Any]) -> Any:
        """A done future's result, or its exception (a cancelled chunk: an error saying so)."""
        if future.status == "finished":
            return await self._call(future.result)
        if future.status == "error":
            return await self._call(future.exception)
        return RuntimeError(f"the chunk {future.key} was {future.status}")


class _Routes:
    """The runs following one topic through one dask client: each event to its run's inbox.

    A dask client has one handler per topic; every run of the account from
    this client shares it, and the event's ``run`` says whose it is. The
    subscription ends with the last run.
    """

    _of: ClassVar[weakref.WeakKeyDictionary[Client, dict[str, _Routes]]] = weakref.WeakKeyDictionary()

    def __init__(self, client: Client, topic: str) -> None:
        self.client = client
        self.topic = topic
        self.runs: dict[str, Callable[[tuple[str, Any]], None]] = {}

    @classmethod
    def of(cls, client: Client, topic: str) -> _Routes:
        by_topic = cls._of.setdefault(client, {})
        routes = by_topic.get(topic)
        if routes is None:
            routes = by_topic[topic] = cls(client, topic)
        return routes

    def add(self, run: str, post: Callable[[tuple[str, Any]], None]) -> None:
        if not self.runs:
            self.client.subscribe_topic(self.topic, self)  # type: ignore[no-untyped-call]
        self.runs[run] = post

    def remove(self, run: str) -> None:
        self.runs.pop(run, None)
        if not self.runs:
            self.client.unsubscribe_topic(self.topic)  # type: ignore[no-untyped-call]

    def __call__(self, event: tuple[float, Any]) -> None:
        # On the dask client's loop (its own thread for a blocking client).
        message = event[1]
        post = self.runs.get(str(message.get("run"))) if isinstance(message, dict) else None
        if post is not None:
            post(("item", message))


_LINGER: Final = 0.2
"""Seconds a streamed chunk waits for more items before it is submitted as it is."""


async def _feed(
    work: AsyncIterable[_Work],
    size: int,
    submit: Callable[[list[_Work]], None],
    ended: list[Exception],
    post: Callable[[tuple[str, Any]], None],
) -> None:
    """Submit a stream of work in chunks of ``size``; a chunk that waited ``_LINGER`` goes as it is."""
    pending: asyncio.Queue[_Work | None] = asyncio.Queue(maxsize=size)

    async def pump() -> None:
        try:
            async with aclosing(each_of(work)) as items:
                async for item in items:
                    await pending.put(item)
        except Exception as exc:  # the stream's own end (e.g. a failed job): after what it gave
            ended.append(exc)
        await pending.put(None)  # not when cancelled: nobody reads any more

    pumping = asyncio.ensure_future(pump())
    chunk: list[_Work] = []
    try:
        while True:
            try:
                item = await asyncio.wait_for(pending.get(), _LINGER) if chunk else await pending.get()
            except TimeoutError:
                submit(chunk)
                chunk = []
                continue
            if item is None:
                break
            chunk.append(item)
            if len(chunk) >= size:
                submit(chunk)
                chunk = []
        if chunk:
            submit(chunk)
    except Exception as exc:  # submitting failed (e.g. the dask client closed): the run raises it
        ended.append(exc)
    finally:
        if not pumping.done():
            pumping.cancel()
        await asyncio.gather(pumping, return_exceptions=True)
        post(("fed", None))


def _downloaded(event: Mapping[str, Any]) -> Downloaded:
    """The :class:`~eoclient.bulk.Downloaded` a worker told of (see :func:`eoclient.dask.worker.told`)."""
    return Downloaded(
        Path(event["path"]),
        int(event["bytes"]),
        resumes=int(event["resumes"]),
        skipped=bool(event["skipped"]),
        source=str(event["source"]),
    )


def _outcomes(chunk: list[_Work], result: Any) -> list[tuple[int, Downloaded | Failure]]:
    """The outcome of every item of ``chunk`` by its index, from the chunk's result or its error."""

    def item(i: int) -> Download:
        work = chunk[i]
        return work.item if isinstance(work.item, Download) else Download(work.dest.name, work.dest)

    if not isinstance(result, ChunkResult):
        error = result if isinstance(result, Exception) else RuntimeError(repr(result))
        return [(i, Failure(item(i), error)) for i in range(len(chunk))]
    outcomes: list[tuple[int, Downloaded | Failure]] = []
    for i, outcome in sorted(result.outcomes, key=lambda pair: pair[0]):
        if isinstance(outcome, Downloaded):
            outcomes.append((i, outcome))
        else:
            error = outcome if isinstance(outcome, Exception) else RuntimeError(str(outcome))
            outcomes.append((i, Failure(item(i), error)))
    return outcomes


def _store_spec(storage: StoreSpec | StorageSettings | None) -> StoreSpec | None:
    """The spec the workers open a store with: settings given here travel with their credentials."""
    if storage is None or isinstance(storage, StoreSpec):
        return storage
    if isinstance(storage, StorageSettings):
        return StoreSpec.of(storage, credentials=True)
    raise ValidationError("storage", f"must be a StoreSpec or StorageSettings, got {type(storage).__name__}")


def _targeting(target: StoreTarget | None) -> Callable[[list[_Work]], tuple[Any, ...]]:
    """The chunk tasks' extra arguments: the store to upload to, if any."""
    return lambda chunk: () if target is None else (target,)


async def _map_items(
    tiles: Iterable[MapTile] | AsyncIterable[MapTile], folder: Path, params: Mapping[str, str]
) -> AsyncGenerator[_Work, None]:
    """Each grid file of each tile as a GET into ``folder/<zoom>/<x>/<y>/<file>`` (Kraken's own layout).

    ``params``: the map's tile options, each file given those of its kind.
    """
    seen: set[Path] = set()
    index = 0
    async for tile in each_of(tiles):
        if not isinstance(tile, MapTile):
            raise ValidationError(f"tiles[{index}]", f"must be a MapTile, got {type(tile).__name__}")
        for name, path in tile.paths.items():
            dest = folder / str(tile.zoom) / str(tile.x) / str(tile.y) / name
            if dest in seen:
                raise ValidationError(f"tiles[{index}]", f"two files write {dest}")
            seen.add(dest)
            yield _Work(Download(path, dest, file_params(name, params) or None, "kraken.grid"), dest)
        index += 1


async def _numbered(
    outputs: AsyncIterable[Output], work_of: Callable[[int, Any], _Work]
) -> AsyncGenerator[_Work, None]:
    index = 0
    async for out in outputs:
        yield work_of(index, out)
        index += 1


async def _listed(url: str, storage: StoreSpec | StorageSettings | None) -> AsyncGenerator[Output, None]:
    """Every object under ``url`` as an :class:`Output` whose path is its key below the prefix."""
    bucket, prefix = parse_url(url)
    settings = storage.settings() if isinstance(storage, StoreSpec) else storage
    store = open_store(f"s3://{bucket}", settings)
    async for obj in store.list(prefix):
        yield output_of(store, obj, {}, obj.key[len(prefix) :])


def _download_items(items: Iterable[Download | tuple[Any, ...]]) -> list[Download]:
    """Every item checked: a path or URL source (a Source object cannot travel), an absolute ``dest``."""
    if isinstance(items, str | bytes) or not isinstance(items, Iterable):
        raise ValidationError("items", f"must be an iterable of Download items, got {type(items).__name__}")
    checked: list[Download] = []
    seen: set[Path] = set()
    for index, raw in enumerate(items):
        item = Download.of(raw)
        if not isinstance(item.source, str):
            raise ValidationError(
                f"items[{index}].source",
                "must be a path or URL: a Source object cannot travel to the workers",
            )
        dest = Path(os.path.abspath(item.dest))
        if dest in seen:
            raise ValidationError(f"items[{index}].dest", f"two items write {dest}")
        seen.add(dest)
        checked.append(replace(item, dest=dest))
    return checked
