"""What runs on each worker: one client per worker, under the account's cluster-wide limits.

:class:`ClientPlugin` (a ``distributed.WorkerPlugin``) opens the worker's
client on the worker's event loop when the worker starts (``setup``) and
closes it when the worker stops or the plugin is removed (``teardown``).
It ties the client to the account: its rate limiter waits for the
scheduler's :class:`~eoclient.dask.account.AccountPace` and reports each 429
there (:class:`ClusterPace`); its processing-unit budget is the account's
(:class:`ClusterBudget`); and every request holds one of the account's
permits while in flight (:class:`LeasedSource`; the scheduler lends them in
blocks: :mod:`eoclient.dask.permits`).

The chunk functions :func:`render_chunk`, :func:`download_chunk` and
:func:`output_chunk` (a job's outputs, read from object storage with the
worker's own store: :class:`~eoclient.dask.stores.StoreSpec`) are the tasks:
each runs its items through the same bulk engine as on one machine
(:func:`eoclient.bulk.download_each`, :func:`eoclient.storage.outputs.download_outputs`:
bounded, retried, atomic ``.part`` then rename, complete files skipped).
"""

from __future__ import annotations

import asyncio
import logging
import math
import pickle
import shutil
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from contextlib import aclosing, asynccontextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import anyio
from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from eoclient._client import BaseClient
from eoclient._log import log_event
from eoclient.bulk import Body, BulkReport, Download, Downloaded, Failure, Source, download_each, http_source
from eoclient.dask.account import HANDLER, PAUSE_HANDLER, RECALL_HANDLER, AccountLimits
from eoclient.dask.permits import LeasedPermits
from eoclient.dask.spec import ClientSpec
from eoclient.dask.stores import StoreSpec, StoreTarget
from eoclient.errors import DownloadError, EOClientError, ObjectNotFoundError
from eoclient.sentinelhub.budget import ProcessingBudget
from eoclient.sentinelhub.client import SentinelHub
from eoclient.sentinelhub.data_collections import route_request
from eoclient.sentinelhub.prepared import prepare_process
from eoclient.sentinelhub.process_area import AreaTiles, TileSource
from eoclient.storage.outputs import Output, download_outputs, local_path
from eoclient.storage.store import ObjectStore

__all__ = [
    "ChunkCall",
    "ChunkResult",
    "ClientPlugin",
    "ClusterBudget",
    "ClusterPace",
    "LeasedSource",
    "WorkerItemError",
    "download_chunk",
    "output_chunk",
    "plugin_name",
    "render_chunk",
    "told",
]

_PREFIX: Final = "eoclient-"


def plugin_name(account: str) -> str:
    """The name of the worker plugin (and of the progress events' topic) of ``account``."""
    return f"{_PREFIX}{account}"


class WorkerItemError(DownloadError):
    """An item's error on a worker that could not travel back as itself; ``kind`` names its class."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(f"{kind}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.kind, self.message.removeprefix(f"{self.kind}: ")))


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling (to reach the caller as itself), else a :class:`WorkerItemError`."""
    try:
        back = pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes, just made
    except Exception:
        return WorkerItemError(type(exc).__name__, str(exc))
    return (
        back
        if isinstance(back, BaseException) and str(back) == str(exc)
        else WorkerItemError(type(exc).__name__, str(exc))
    )


class _Scheduler:
    """The account's calls to the scheduler, and the fire-and-forget ones kept alive until done."""

    def __init__(self, rpc: Any, account: str, worker: str) -> None:
        self._rpc = rpc
        self.account = account
        self.worker = worker  # this worker's address, for the account's statistics
        self._pending: set[asyncio.Task[Any]] = set()

    async def call(self, action: str, **kwargs: Any) -> Any:
        return await getattr(self._rpc, HANDLER)(account=self.account, action=action, **kwargs)

    def tell(self, action: str, **kwargs: Any) -> None:
        task = asyncio.ensure_future(self.call(action, **kwargs))
        self._pending.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log_event(logging.WARNING, "dask.account.unreachable", error=str(exc))

    async def drain(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)


class ClusterPace:
    """A :class:`~eoclient._http.ratelimit.SharedPace`: the account's pace, kept by the scheduler.

    With a request pace (``paced``) every request reserves its slot there;
    without one, a request only waits out the last pause the scheduler
    broadcast (:meth:`pause`), with no round trip. ``paused`` counts the
    seconds this worker slept for pauses it was told of.
    """

    def __init__(self, scheduler: _Scheduler, *, paced: bool) -> None:
        self._scheduler = scheduler
        self.paced = paced
        self._paused_until = -math.inf  # on this worker's loop clock
        self.paused = 0.0

    async def acquire(self) -> None:
        """Reserve one request of the account; sleep until its slot (or the end of a pause)."""
        if self.paced:
            wait = await self._scheduler.call("reserve", requests=1, worker=self._scheduler.worker)
            if wait > 0:
                await asyncio.sleep(wait)
            return
        loop = asyncio.get_running_loop()
        while (left := self._paused_until - loop.time()) > 0:
            self.paused += left
            await asyncio.sleep(left)

    def pause(self, seconds: float) -> None:
        """The scheduler says: another worker was answered 429; wait ``seconds`` from now."""
        self._paused_until = max(self._paused_until, asyncio.get_running_loop().time() + seconds)

    def on_rate_limited(self, retry_after: float | None) -> None:
        """Tell the scheduler: every worker pauses and the account's pace halves."""
        self._scheduler.tell("rate_limited", retry_after=retry_after, worker=self._scheduler.worker)


class ClusterBudget(ProcessingBudget):
    """A :class:`~eoclient.sentinelhub.budget.ProcessingBudget` whose processing units are the account's.

    The estimate is reserved at the scheduler; the service's charge corrects it
    there. ``spent``, ``requests`` and ``waited`` count this worker's share.
    """

    def __init__(self, scheduler: _Scheduler) -> None:
        super().__init__()
        self._scheduler = scheduler

    async def acquire(self, estimate: float) -> float:
        wait = float(
            await self._scheduler.call("reserve", requests=0, pu=estimate, worker=self._scheduler.worker)
        )
        if wait > 0:
            await asyncio.sleep(wait)
        self.requests += 1
        self.waited += wait
        return wait

    def settle(self, estimate: float, actual: float | None) -> None:
        self.spent += estimate if actual is None else actual
        if actual is not None and actual != estimate:
            self._scheduler.tell("correct", pu=actual - estimate)

    def refund(self, estimate: float) -> None:
        self._scheduler.tell("correct", pu=-estimate)


@dataclass(frozen=True)
class LeasedSource:
    """A :class:`~eoclient.bulk.Source` that holds one of the account's permits while it is open."""

    inner: Source
    permits: LeasedPermits

    @property
    def name(self) -> str:
        return self.inner.name

    @asynccontextmanager
    async def open(self, offset: int, *, validator: str | None, chunk_size: int) -> AsyncIterator[Body]:
        async with (
            self.permits,
            self.inner.open(offset, validator=validator, chunk_size=chunk_size) as body,
        ):
            yield body

    async def current(self, path: Path) -> int | None:
        return await self.inner.current(path)

    async def completed(self, path: Path) -> None:
        await self.inner.completed(path)


@dataclass(frozen=True, slots=True)
class ChunkCall:
    """What every chunk task is told besides its items: whose client, whether to overwrite, its place.

    Each item's outcome is logged as an event under ``topic`` as it
    completes, with the ``run``'s id and the chunk's ``number`` in it.
    """

    plugin: str
    overwrite: bool
    topic: str
    run: str
    number: int


@dataclass
class ChunkResult:
    """What one chunk task sends back: each item's outcome by its index in the chunk, and the cost."""

    outcomes: list[tuple[int, Downloaded | BaseException]] = field(default_factory=list)
    requests: int = 0
    processing_units: float = 0.0
    worker: str = ""


class ClientPlugin(WorkerPlugin):
    """Owns the worker's client for one account (see the module docstring).

    ``per_worker`` bounds the items one worker runs at once (the account's
    semaphore bounds the requests of all workers together).
    """

    def __init__(self, spec: ClientSpec, account: str, limits: AccountLimits, per_worker: int) -> None:
        self.spec = spec
        self.account = account
        self.limits = limits
        self.per_worker = per_worker
        self.name = plugin_name(account)
        self.idempotent = False
        self._client: BaseClient | None = None
        self._permits: LeasedPermits | None = None
        self._scheduler: _Scheduler | None = None
        self._address = ""
        self._stores: dict[tuple[StoreSpec, str], ObjectStore] = {}
        self.pace: ClusterPace | None = None

    def __getstate__(self) -> dict[str, Any]:
        # What travels: the recipe, never an open client.
        return {
            "spec": self.spec,
            "account": self.account,
            "limits": self.limits,
            "per_worker": self.per_worker,
        }

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        self.__init__(state["spec"], state["account"], state["limits"], state["per_worker"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"ClientPlugin(account={self.account!r}, service={self.spec.service!r})"

    async def setup(self, worker: Any) -> None:
        """Open the client on the worker's loop and tie it to the account."""
        self._address = str(worker.address)
        self._scheduler = _Scheduler(worker.scheduler, self.account, self._address)
        self._permits = LeasedPermits(self._scheduler, self._address, self.limits.concurrency)
        client = self.spec.build()
        paced = self.limits.requests_per_second is not None or self.limits.requests_per_minute is not None
        self.pace = ClusterPace(self._scheduler, paced=paced)
        client.transport.limiter.shared = self.pace
        worker.handlers.setdefault(PAUSE_HANDLER, _pause_handler(worker))
        worker.handlers.setdefault(RECALL_HANDLER, _recall_handler(worker))
        if isinstance(client, SentinelHub) and self.limits.pu_per_minute is not None:
            client.budget = ClusterBudget(self._scheduler)
        await client.__aenter__()
        self._client = client

    async def teardown(self, worker: Any) -> None:
        """Close the client and give back this worker's permits."""
        del worker
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._stores.clear()
        if self._permits is not None:
            try:
                await self._permits.close()
            except Exception as exc:  # the scheduler is gone too: nothing to give back
                log_event(logging.INFO, "dask.permits.unreachable", error=str(exc))
            self._permits = None
        if self._scheduler is not None:
            await self._scheduler.drain()

    @property
    def permits(self) -> LeasedPermits | None:
        """This worker's permits of the account (``None`` until set up)."""
        return self._permits

    @property
    def client(self) -> BaseClient:
        """The worker's open client."""
        if self._client is None:
            raise RuntimeError(
                f"the eoclient plugin of account {self.account!r} is not set up on this worker"
            )
        return self._client

    def _store(self, spec: StoreSpec, bucket: str) -> ObjectStore:
        """The worker's store of ``bucket`` opened from ``spec`` (one per spec and bucket, reused)."""
        store = self._stores.get((spec, bucket))
        if store is None:
            store = self._stores[spec, bucket] = spec.open(f"s3://{bucket}")
        return store

    async def _finish(
        self,
        call: ChunkCall,
        outcomes: AsyncGenerator[Downloaded | Failure, None],
        index: Mapping[Path, int],
        spent: AreaTiles | None,
    ) -> ChunkResult:
        """Run the chunk's ``outcomes`` to the end: each outcome by its item's index, and the cost."""
        result = ChunkResult(worker=self._address)
        worker = get_worker()
        async with aclosing(outcomes) as each:
            async for outcome in each:
                if isinstance(outcome, Failure):
                    # Told with the chunk's result: the chunk may yet run again elsewhere and succeed.
                    result.outcomes.append((index[outcome.item.dest], _portable(outcome.error)))
                    continue
                number = index[outcome.path]
                result.outcomes.append((number, outcome))
                # Told now: the file is whole under its name, so this outcome is final.
                worker.log_event(call.topic, told(call, number, outcome))
        if spent is not None:
            result.requests, result.processing_units = spent.requests, spent.processing_units
        return result

    def _each(self, items: list[Download], overwrite: bool, operation: str) -> AsyncGenerator[Any, None]:
        return download_each(
            None,
            items,
            concurrency=self.per_worker,
            overwrite=overwrite,
            policy=self.client.transport.retry,
            operation=operation,
        )

    async def render(
        self, call: ChunkCall, chunk: list[tuple[Any, str, str | None]], target: StoreTarget | None = None
    ) -> ChunkResult:
        """Render Process requests ``(request, dest, accept)`` into their files (or objects: ``target``)."""
        sh = self.client
        if not isinstance(sh, SentinelHub):
            raise TypeError(f"account {self.account!r} is a {sh.service} client: it cannot render")
        assert self._permits is not None
        spent = AreaTiles(BulkReport())  # the tile sources count requests and PU into it
        items: list[Download] = []
        for request, dest, accept in chunk:
            path = Path(dest)
            prepared = prepare_process(request, accept=accept)
            source = TileSource(
                sh.transport,
                prepared,
                lambda: sh.budget,
                path.name,
                spent,
                route_request(request, sh.transport),
            )
            items.append(Download(LeasedSource(source, self._permits), path, operation="dask.process"))
        if target is not None:
            return await self._into_store(call, items, target, "dask.process", spent)
        await asyncio.to_thread(_make_folders, {i.dest.parent for i in items})
        index = {item.dest: i for i, item in enumerate(items)}
        return await self._finish(call, self._each(items, call.overwrite, "dask.process"), index, spent)

    async def download(
        self, call: ChunkCall, chunk: list[Download], target: StoreTarget | None = None
    ) -> ChunkResult:
        """GET ``chunk`` (sources are paths or URLs) into their files (or objects: ``target``)."""
        assert self._permits is not None
        transport = self.client.transport
        items = [
            Download(
                LeasedSource(http_source(transport, item, "dask.download"), self._permits),
                item.dest,
                operation=item.operation or "dask.download",
            )
            for item in chunk
        ]
        if target is not None:
            return await self._into_store(call, items, target, "dask.download", None)
        await asyncio.to_thread(_make_folders, {i.dest.parent for i in items})
        index = {item.dest: i for i, item in enumerate(items)}
        return await self._finish(call, self._each(items, call.overwrite, "dask.download"), index, None)

    async def _into_store(
        self,
        call: ChunkCall,
        items: list[Download],
        target: StoreTarget,
        operation: str,
        spent: AreaTiles | None,
    ) -> ChunkResult:
        """``items`` (whose ``dest`` is an object's key) fetched into scratch files, each then uploaded.

        An object already in the store is skipped without a request to the
        service (S3 shows an object only once it is complete); each file is
        made whole on the worker's local disk (the bulk engine: ``.part``
        then rename) before :meth:`~eoclient.storage.ObjectStore.upload`
        sends it, and removed after.
        """
        store = self._store(target.store, target.bucket)
        keys = [item.dest.as_posix() for item in items]
        result = ChunkResult(worker=self._address)
        worker = get_worker()

        def done(i: int, outcome: Downloaded) -> None:
            result.outcomes.append((i, outcome))
            worker.log_event(call.topic, told(call, i, outcome))

        existing = {} if call.overwrite else await _existing(store, keys, self.per_worker)
        for i, size in existing.items():
            done(i, Downloaded(Path(keys[i]), size, skipped=True, source=store.url(keys[i])))
        scratch = Path(worker.local_directory) / "eoclient-scratch" / f"{call.run}-{call.number}"
        await asyncio.to_thread(_make_folders, {scratch})
        todo = {scratch / f"{i}{Path(keys[i]).suffix}": i for i in range(len(items)) if i not in existing}
        fetch = [replace(items[i], dest=path) for path, i in todo.items()]
        uploads = anyio.CapacityLimiter(self.per_worker)

        async def upload(i: int, path: Path) -> None:
            try:
                async with uploads:
                    obj = await store.upload(path, keys[i], overwrite=call.overwrite)
                done(i, Downloaded(Path(keys[i]), obj.size, source=store.url(keys[i])))
            except (EOClientError, OSError) as exc:
                result.outcomes.append((i, _portable(exc)))
            finally:
                await asyncio.to_thread(path.unlink, missing_ok=True)

        try:
            async with anyio.create_task_group() as tg, aclosing(self._each(fetch, True, operation)) as each:
                async for outcome in each:
                    if isinstance(outcome, Failure):
                        result.outcomes.append((todo[outcome.item.dest], _portable(outcome.error)))
                    else:
                        tg.start_soon(upload, todo[outcome.path], outcome.path)
        finally:
            await asyncio.to_thread(shutil.rmtree, scratch, True)
        if spent is not None:
            result.requests, result.processing_units = spent.requests, spent.processing_units
        return result

    async def outputs(self, call: ChunkCall, chunk: list[Output], root: str, store: StoreSpec) -> ChunkResult:
        """Download a job's outputs (objects) into ``root``, each under its path, as on one machine.

        The objects are read with this worker's store of ``store``; neither
        the account's permits nor its pace apply (the store is not the
        account's service); ``per_worker`` bounds the transfers.
        """
        folder = Path(root)
        outputs = [replace(out, store=self._store(store, out.bucket)) for out in chunk]
        index = {local_path(folder, out.path): i for i, out in enumerate(outputs)}
        await asyncio.to_thread(_make_folders, {path.parent for path in index})

        async def each() -> AsyncIterator[Output]:
            for out in outputs:
                yield out

        outcomes = download_outputs(each(), folder, concurrency=self.per_worker, overwrite=call.overwrite)
        return await self._finish(call, outcomes, index, None)


def told(call: ChunkCall, index: int, outcome: Downloaded) -> dict[str, Any]:
    """The event telling the caller of one item done (msgpack-ready: plain values only)."""
    return {
        "run": call.run,
        "chunk": call.number,
        "index": index,
        "path": str(outcome.path),
        "bytes": outcome.bytes,
        "resumes": outcome.resumes,
        "skipped": outcome.skipped,
        "source": outcome.source,
    }


def _pause_handler(worker: Any) -> Callable[[str, float], None]:
    """The worker's handler of the scheduler's pause broadcast (see :data:`PAUSE_HANDLER`)."""

    def eoclient_pause(account: str, seconds: float) -> None:
        plugin = worker.plugins.get(plugin_name(account))
        if isinstance(plugin, ClientPlugin) and plugin.pace is not None:
            plugin.pace.pause(seconds)

    return eoclient_pause


async def _existing(store: ObjectStore, keys: list[str], concurrency: int) -> dict[int, int]:
    """The size of each object of ``keys`` already in ``store``, by its index (HEADs, a few at a time)."""
    found: dict[int, int] = {}
    bound = anyio.CapacityLimiter(concurrency)

    async def head(i: int) -> None:
        async with bound:
            with suppress(ObjectNotFoundError):  # absent: to be made
                found[i] = (await store.head(keys[i])).size

    async with anyio.create_task_group() as tg:
        for i in range(len(keys)):
            tg.start_soon(head, i)
    return found


def _recall_handler(worker: Any) -> Callable[[str, int], None]:
    """The worker's handler of the scheduler asking permits back (see :data:`RECALL_HANDLER`)."""

    def eoclient_recall(account: str, count: int) -> None:
        plugin = worker.plugins.get(plugin_name(account))
        if isinstance(plugin, ClientPlugin) and plugin.permits is not None:
            plugin.permits.recall(count)

    return eoclient_recall


def _make_folders(folders: set[Path]) -> None:
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)


def _plugin(name: str) -> ClientPlugin:
    plugin = get_worker().plugins.get(name)
    if not isinstance(plugin, ClientPlugin):
        raise LookupError(f"no eoclient client {name!r} on this worker: attach the account first")  # noqa: TRY004
    return plugin


async def render_chunk(
    call: ChunkCall, chunk: list[tuple[Any, str, str | None]], target: StoreTarget | None = None
) -> ChunkResult:
    """The task: render ``chunk`` with the worker's client of ``call.plugin``.

    An error that stops the whole chunk is raised as one that can travel to
    the caller (see :class:`WorkerItemError`).
    """
    try:
        return await _plugin(call.plugin).render(call, chunk, target)
    except Exception as exc:
        raise _portable(exc) from None


async def download_chunk(
    call: ChunkCall, chunk: list[Download], target: StoreTarget | None = None
) -> ChunkResult:
    """The task: GET ``chunk`` with the worker's client of ``call.plugin`` (errors as in ``render_chunk``)."""
    try:
        return await _plugin(call.plugin).download(call, chunk, target)
    except Exception as exc:
        raise _portable(exc) from None


async def output_chunk(call: ChunkCall, chunk: list[Output], root: str, store: StoreSpec) -> ChunkResult:
    """The task: download job outputs ``chunk`` into ``root`` from the store ``store`` (errors as above)."""
    try:
        return await _plugin(call.plugin).outputs(call, chunk, root, store)
    except Exception as exc:
        raise _portable(exc) from None
