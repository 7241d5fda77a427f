"""One account on a Dask cluster: attach it, run bulk work across the workers, follow the progress.

:class:`ClusterAccount` registers two plugins: on the scheduler, the
account's pace (:class:`~eoclient.dask.account.AccountPlugin`); on every
worker, a client of the account (:class:`~eoclient.dask.worker.ClientPlugin`,
which also starts on workers that join later). :meth:`ClusterAccount.process_each`
splits the requests into chunks, one task per chunk; each worker renders its
chunks through the bulk engine into the shared destination, and the caller
gets each item's outcome as its chunk completes.

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
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self
from uuid import uuid4

import anyio
from distributed import Client, Future, as_completed

from eoclient.bulk import BulkReport, Download, Downloaded, Failure
from eoclient.dask.account import HANDLER, AccountLimits, AccountPlugin
from eoclient.dask.spec import ClientSpec
from eoclient.dask.worker import ChunkResult, ClientPlugin, plugin_name, render_chunk
from eoclient.errors import ValidationError
from eoclient.sentinelhub.prepared import prepare_process

__all__ = ["ClusterAccount", "ClusterReport", "Progress"]

_EXTENSIONS: Final = {
    "image/tiff": "tif",
    "image/png": "png",
    "image/jpeg": "jpg",
    "application/json": "json",
}
_MAX_CHUNK: Final = 512

Requests = Mapping[str, Any] | Iterable[Any]


@dataclass
class Progress:
    """Where a run stands, after each item: passed to ``on_progress`` (one object, updated in place)."""

    total: int
    done: int = 0
    downloaded: int = 0
    skipped: int = 0
    failed: int = 0
    bytes: int = 0
    requests: int = 0
    processing_units: float = 0.0
    last: Downloaded | Failure | None = None

    def count(self, outcome: Downloaded | Failure) -> None:
        """Add one item's outcome."""
        self.done += 1
        self.last = outcome
        if isinstance(outcome, Failure):
            self.failed += 1
        elif outcome.skipped:
            self.skipped += 1
        else:
            self.downloaded += 1
            self.bytes += outcome.bytes


@dataclass
class ClusterReport(BulkReport):
    """A :class:`~eoclient.bulk.BulkReport` of a cluster run, with the requests and PU it cost."""

    requests: int = 0
    processing_units: float = 0.0
    workers: dict[str, int] = field(default_factory=dict)
    """Items each worker completed (chunks whose worker died count where they were run again)."""


@dataclass(frozen=True)
class _Chunk:
    items: list[tuple[Any, str, str | None]]
    labels: list[str]


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

    async def process_each(
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
        gen = self._run(requests, dest, accept, overwrite, chunk_size, on_progress, None)
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
        gen = self._run(requests, dest, accept, overwrite, chunk_size, on_progress, report)
        async with aclosing(gen) as outcomes:
            async for outcome in outcomes:
                if isinstance(outcome, Failure):
                    report.failures.append(outcome)
                else:
                    report.files.append(outcome)
        return report

    async def _run(  # noqa: PLR0917 - private, the public methods' arguments
        self,
        requests: Requests,
        dest: str | os.PathLike[str],
        accept: str | None,
        overwrite: bool,
        chunk_size: int | None,
        on_progress: Callable[[Progress], object] | None,
        report: ClusterReport | None,
    ) -> AsyncGenerator[Downloaded | Failure, None]:
        if not self._attached:
            raise ValidationError("account", "attach the account first (ClusterAccount.attach or async with)")
        if not isinstance(dest, str | os.PathLike):
            raise ValidationError("dest", f"must be a folder path, got {type(dest).__name__}")
        folder = Path(os.path.abspath(dest))  # noqa: ASYNC240 - no I/O; workers run elsewhere: no relative paths
        items = _render_items(requests, folder, accept)
        size = self._chunk_size(len(items), chunk_size)
        await anyio.to_thread.run_sync(lambda: folder.mkdir(parents=True, exist_ok=True))
        run = uuid4().hex[:12]
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        progress = Progress(total=len(items))
        futures: dict[Future[Any], list[tuple[Any, str, str | None]]] = {}
        for number, chunk in enumerate(chunks):
            future = self.client.submit(
                render_chunk,
                plugin_name(self.name),
                chunk,
                overwrite,
                key=f"eoclient-render-{self.name}-{run}-{number}",
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


def _outcomes(
    chunk: list[tuple[Any, str, str | None]], result: Any, report: ClusterReport | None
) -> list[Downloaded | Failure]:
    """The outcome of every item of ``chunk``, in its order, from the chunk's result or its error."""

    def item(i: int) -> Download:
        _, dest, _ = chunk[i]
        return Download(Path(dest).name, Path(dest))

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
