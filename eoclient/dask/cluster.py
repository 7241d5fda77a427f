"""One account on a Dask cluster: attach it, run bulk work across the workers, follow the progress.

:class:`ClusterAccount` registers two plugins: on the scheduler, the
account's pace (:class:`~eoclient.dask.account.AccountPlugin`); on every
worker, a client of the account (:class:`~eoclient.dask.worker.ClientPlugin`,
which also starts on workers that join later). :meth:`ClusterAccount.process_each`
splits the requests into chunks, one task per chunk; each worker renders its
chunks through the bulk engine into the shared destination, and the caller
gets each item's outcome as its chunk completes. :meth:`ClusterAccount.download_each`
does the same for GETs (e.g. the files of a Kraken map).

A worker that dies mid-chunk loses nothing: the scheduler runs the chunk
again elsewhere, where the files already whole are skipped (files appear
under their names only when complete) and the others rendered. A rerun over
the same destination renders only what is missing.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self
from uuid import uuid4

import anyio
from distributed import Client, Future, as_completed

from eoclient.bulk import Download, Downloaded, Failure, fill_report
from eoclient.dask.account import HANDLER, AccountLimits, AccountPlugin
from eoclient.dask.report import ClusterReport, Progress
from eoclient.dask.spec import ClientSpec
from eoclient.dask.worker import ChunkResult, ClientPlugin, download_chunk, plugin_name, render_chunk
from eoclient.errors import ValidationError
from eoclient.sentinelhub.prepared import prepare_process
from eoclient.sentinelhub.process_area import AreaResult

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
        await self._scheduler("semaphore_close", name=plugin_name(self.name))
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
        await self._scheduler("semaphore_close", name=plugin_name(self.name))

    async def __aenter__(self) -> Self:
        await self._attach()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.detach()

    async def stats(self) -> dict[str, Any]:
        """What the scheduler counted for the account.

        ``reservations`` (requests), ``rate_limited`` (429s reported),
        ``slowdowns``, ``waited`` (seconds, all workers), ``pu`` (processing
        units, as charged), ``longest_wait`` (seconds, by worker address) and
        ``rate_limited_by`` (429s, by worker address).
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
        overwrite: bool = False,
        chunk_size: int | None = None,
        on_progress: Callable[[Progress], object] | None = None,
    ) -> AsyncGenerator[Downloaded | Failure, None]:
        """Render Process ``requests`` across the cluster into the folder ``dest``; yield each outcome.

        ``requests`` is a mapping ``{file name: request}`` or an iterable of
        requests (files ``<index>_<digest>.<ext>``); every one is checked
        before anything is submitted. ``dest`` must be a folder every worker
        sees under the same path. Files already complete there are yielded as
        skipped unless ``overwrite``. Each item is yielded once, as a
        :class:`~eoclient.bulk.Downloaded` or a :class:`~eoclient.bulk.Failure`
        (a chunk that failed as a whole, e.g. its workers kept dying, fails all
        its items); ``on_progress`` gets the :class:`Progress` after each.
        """
        return self._renders(requests, dest, accept, overwrite, chunk_size, on_progress, None)

    async def _renders(  # noqa: PLR0917 - private, the public methods' arguments
        self,
        requests: Requests,
        dest: str | os.PathLike[str],
        accept: str | None,
        overwrite: bool,
        chunk_size: int | None,
        on_progress: Callable[[Progress], object] | None,
        report: ClusterReport | None,
    ) -> AsyncGenerator[Downloaded | Failure, None]:
        folder = self._folder(dest)
        items = _render_items(requests, folder, accept)
        await anyio.to_thread.run_sync(lambda: folder.mkdir(parents=True, exist_ok=True))
        work = [_Work(item, Path(item[1])) for item in items]
        gen = self._run(render_chunk, "render", work, overwrite, chunk_size, on_progress, report)
        async with aclosing(gen) as outcomes:
            async for outcome in outcomes:
                yield outcome

    async def process_all(
        self,
        requests: Requests,
        dest: str | os.PathLike[str],
        *,
        accept: str | None = None,
        overwrite: bool = False,
        chunk_size: int | None = None,
        on_progress: Callable[[Progress], object] | None = None,
    ) -> ClusterReport:
        """:meth:`process_each` to the end: a :class:`ClusterReport` (failures reported, not raised)."""
        report = ClusterReport()
        await fill_report(
            report, self._renders(requests, dest, accept, overwrite, chunk_size, on_progress, report)
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
        them, whose source is a path under the account's base URL (or a URL):
        e.g. the files of a Kraken map, one per tile and file name::

            tiles = [t async for t in sk.kraken.tiles(release, ["trees.png"])]
            items = [Download(path, out / f"{t.zoom}/{t.x}/{t.y}/{name}")
                     for t in tiles for name, path in t.paths.items()]
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

    def _folder(self, dest: str | os.PathLike[str]) -> Path:
        if not self._attached:
            raise ValidationError("account", "attach the account first (ClusterAccount.attach or async with)")
        if not isinstance(dest, str | os.PathLike):
            raise ValidationError("dest", f"must be a folder path, got {type(dest).__name__}")
        return Path(os.path.abspath(dest))  # workers may run elsewhere: no relative paths

    async def _run(  # noqa: PLR0917 - private, the public methods' arguments
        self,
        task: Callable[..., Any],
        kind: str,
        work: list[_Work],
        overwrite: bool,
        chunk_size: int | None,
        on_progress: Callable[[Progress], object] | None,
        report: ClusterReport | None,
    ) -> AsyncGenerator[Downloaded | Failure, None]:
        if not self._attached:
            raise ValidationError("account", "attach the account first (ClusterAccount.attach or async with)")
        size = self._chunk_size(len(work), chunk_size)
        run = uuid4().hex[:12]
        progress = Progress(total=len(work))
        futures: dict[Future[Any], list[_Work]] = {}
        for number, start in enumerate(range(0, len(work), size)):
            chunk = work[start : start + size]
            future = self.client.submit(
                task,
                plugin_name(self.name),
                [w.item for w in chunk],
                overwrite,
                key=f"eoclient-{kind}-{self.name}-{run}-{number}",
                pure=False,
            )
            futures[future] = chunk
        try:
            async for future, result in self._completed(list(futures)):
                chunk = futures.pop(future)
                if isinstance(result, ChunkResult):
                    progress.requests += result.requests
                    progress.processing_units += result.processing_units
                    if report is not None:
                        report.requests += result.requests
                        report.processing_units += result.processing_units
                for outcome in _outcomes(chunk, result, report):
                    progress.count(outcome)
                    if on_progress is not None:
                        on_progress(progress)
                    yield outcome
        finally:
            if futures:  # left early: the chunks not yet done are cancelled
                await self._call(self.client.cancel, list(futures))

    async def _completed(self, futures: list[Future[Any]]) -> AsyncIterator[tuple[Future[Any], Any]]:
        """Each future with its result (or its exception) as it completes."""
        if not futures:
            return
        done = as_completed(futures, with_results=True, raise_errors=False)  # type: ignore[no-untyped-call]
        if self.client.asynchronous:
            async for future, result in done:
                yield future, result
            return
        while (pair := await anyio.to_thread.run_sync(next, done, None)) is not None:
            yield pair


def _outcomes(chunk: list[_Work], result: Any, report: ClusterReport | None) -> list[Downloaded | Failure]:
    """The outcome of every item of ``chunk``, in its order, from the chunk's result or its error."""

    def item(i: int) -> Download:
        work = chunk[i]
        return work.item if isinstance(work.item, Download) else Download(work.dest.name, work.dest)

    if not isinstance(result, ChunkResult):
        error = result if isinstance(result, Exception) else RuntimeError(repr(result))
        return [Failure(item(i), error) for i in range(len(chunk))]
    if report is not None:
        report.workers[result.worker] = report.workers.get(result.worker, 0) + len(result.outcomes)
    outcomes: list[Downloaded | Failure] = []
    for i, outcome in sorted(result.outcomes, key=lambda pair: pair[0]):
        if isinstance(outcome, Downloaded):
            outcomes.append(outcome)
        else:
            error = outcome if isinstance(outcome, Exception) else RuntimeError(str(outcome))
            outcomes.append(Failure(item(i), error))
    return outcomes


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
