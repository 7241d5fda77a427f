"""Legacy batch results: each tile of the tiles endpoint (status, cost) joined with the files it delivered.

What ``job.results()`` yields for a legacy request (``sh.batch.v1``): a
:class:`TileOutputs` per tile, as tiles finish. The tiles endpoint
(``GET /api/v1/batch/process/{id}/tiles``, read with ``status=PROCESSED`` and
``status=FAILED``) says which tiles are done and what each cost; the store
(listed as :class:`~eoclient.storage.outputs.Sweep` lists it for
:func:`~eoclient.storage.outputs.follow`) says which files are there. A
PROCESSED tile is yielded once every output (one per response identifier) is
in the store; a FAILED tile at once, with ``outputs=()``.

The join key is the tile's integer id: ``<tileId>`` in the key, or a
``<tileName>`` of the form ``tile-<id>`` (how the emulator names tiles). A
key that carries only a real grid ``<tileName>`` (``bucketName``, a plain
``defaultTilePath`` or a template without ``<tileId>`` on the real service)
cannot be joined: the tiles endpoint does not give tile names. Once such a
key is listed, processed tiles are yielded with ``outputs=()`` without waiting
for their files, which :meth:`~eoclient.jobs.Job.outputs` and
:meth:`~eoclient.jobs.Job.download` still list and fetch. Put ``<tileId>`` in
``defaultTilePath`` (and every ``tilePath``) to have them joined. A Zarr
output (``zarrOutput``) is one group whose chunks name no tile: its tiles are
yielded with ``outputs=()`` and its arrays are listed by ``job.outputs()``.

The legacy API reports no progress while PROCESSING, so the status rarely
changes: the tiles endpoint and the store are read again at each poll of the
job while it processes (the client's poll policy paces it).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Final, Protocol

import anyio

from eoclient._context import ServiceContext
from eoclient._polling import PollPolicy
from eoclient.errors import MissingOutputsError, ValidationError
from eoclient.jobs import Job, JobStatus
from eoclient.sentinelhub._paging import view_paginator
from eoclient.sentinelhub.batch_outputs import BatchPlan
from eoclient.sentinelhub.batch_v1_models import BatchTile
from eoclient.sentinelhub.deliveries import Stores
from eoclient.storage.outputs import DEFAULT_GRACE, Output, Sweep

__all__ = ["LegacyStrategy", "TileOutputs", "processing_ticks", "tile_results"]

_PAGE: Final = 100
_BEFORE_TILES: Final = frozenset({"CREATED", "ANALYSING", "ANALYSIS_DONE"})
_INTERVAL: Final = 0.5  # seconds between listings of the store after the end, waiting for late files


@dataclass(frozen=True, slots=True)
class TileOutputs:
    """One tile of a legacy batch request and the files it delivered.

    ``tile`` is the tiles endpoint's record (``id``, ``status`` PROCESSED or
    FAILED, ``cost`` in processing units, ``geometry``, ``origin``);
    ``outputs`` one :class:`~eoclient.storage.outputs.Output` per response
    identifier, in request order (empty for a FAILED tile, and where the keys
    cannot be joined to tiles: see :mod:`eoclient.sentinelhub.batch_v1_outputs`).
    """

    tile: BatchTile
    outputs: tuple[Output, ...]

    @property
    def id(self) -> int:
        """The tile's integer id (``<tileId>``)."""
        return self.tile.id

    @property
    def status(self) -> str | None:
        """``PROCESSED`` or ``FAILED``."""
        return self.tile.status

    @property
    def cost(self) -> float | None:
        """What the tile cost, in processing units."""
        return self.tile.cost


class _Join:
    """Tiles read from the endpoint and files listed from the store, matched by tile id."""

    def __init__(self, plan: BatchPlan) -> None:
        self.identifiers = plan.identifiers
        self.zarr = plan.zarr
        self.tiles: dict[int, BatchTile] = {}  # read, not yielded yet
        self.files: dict[int, dict[str, Output]] = {}  # tile id -> identifier -> output
        self.yielded: set[int] = set()
        self.unjoinable = False  # a key names its tile by a grid name, not an id

    def add_tile(self, tile: BatchTile) -> None:
        if tile.id not in self.yielded:
            self.tiles.setdefault(tile.id, tile)

    def add_output(self, out: Output) -> None:
        ident = out.tile_id
        if ident is None:
            self.unjoinable = self.unjoinable or (out.tile is not None and not self.zarr)
            return
        if out.output is not None:
            self.files.setdefault(ident, {})[out.output] = out

    def _outputs(self, tile: BatchTile) -> tuple[Output, ...] | None:
        """The tile's outputs, ``()`` when none can be joined, ``None`` while some are missing."""
        if tile.status != "PROCESSED" or self.zarr or self.unjoinable:
            return ()
        have = self.files.get(tile.id, {})
        if any(i not in have for i in self.identifiers):
            return None
        return tuple(have[i] for i in self.identifiers)

    def ready(self) -> list[TileOutputs]:
        """The tiles complete since the last call, by id."""
        found = []
        for ident in sorted(self.tiles):
            outputs = self._outputs(self.tiles[ident])
            if outputs is not None:
                found.append(TileOutputs(self.tiles.pop(ident), outputs))
                self.yielded.add(ident)
        return found

    def missing(self) -> list[str]:
        """The outputs of processed tiles that are not in the store yet."""
        have = self.files
        return [
            f"tile {ident} output {i}"
            for ident in sorted(self.tiles)
            for i in self.identifiers
            if i not in have.get(ident, {})
        ]


class LegacyStrategy(Protocol):
    """What :func:`tile_results` reads of a legacy batch job strategy (``BatchJobStrategy``)."""

    _ctx: ServiceContext[Any]
    last: Any  # the last request record polled
    stores: Stores | None

    @property
    def _path(self) -> str: ...

    async def plan(self) -> BatchPlan: ...


async def processing_ticks(
    job: Job[Any], policy: PollPolicy, timeout: float | None
) -> AsyncGenerator[JobStatus, None]:
    """Each change of the job's status; while it is PROCESSING, the status again at each poll.

    The legacy API reports no progress: a processing request looks the same
    from its start to its end, and ``watch()`` alone would say nothing until then.
    """
    deadline = None if timeout is None else anyio.current_time() + timeout
    attempt = 0
    async with aclosing(job.watch(timeout)) as changes:
        status = await anext(changes)
        while True:
            yield status
            if status.state.terminal:
                return
            left = None if deadline is None else deadline - anyio.current_time()
            if status.raw == "PROCESSING" and not job.done and (left is None or left > 0):
                delay = policy.delay(attempt)
                attempt += 1
                await anyio.sleep(delay if left is None else min(delay, left))
                polled = await job.refresh()
                if polled == status:
                    continue  # nothing changed: the tiles and the store are read again
            status = await anext(changes)  # the change just polled, or the next one (bounded by timeout)


async def tile_results(
    strategy: LegacyStrategy,
    job: Job[Any],
    *,
    grace: float | None = None,
    timeout: float | None = None,
) -> AsyncGenerator[TileOutputs, None]:
    """Each tile of a legacy request with its delivered files, as tiles finish (see the module docstring).

    After the job ends, processed tiles whose files are not all in the store
    yet are waited for; those still incomplete ``grace`` seconds later (default
    60) raise :class:`~eoclient.errors.MissingOutputsError` naming them. Then a
    job that failed or was cancelled raises as ``await job`` does (a PARTIAL
    request is a success unless the job was made with ``allow_partial=False``;
    its FAILED tiles have been yielded first). ``timeout`` bounds the wait for
    the job's end, as in :meth:`~eoclient.jobs.Job.watch`.
    """
    grace = DEFAULT_GRACE if grace is None else grace
    if isinstance(grace, bool) or not isinstance(grace, int | float) or grace < 0:
        raise ValidationError("grace", f"must be a number of seconds >= 0, got {grace!r}")
    ctx = strategy._ctx
    plan = await strategy.plan()
    stores = strategy.stores or Stores(ctx)
    strategy.stores = stores
    sweep = Sweep(stores, plan.layouts, plan.describe)
    join = _Join(plan)
    tiles_path = f"{strategy._path}/tiles"

    async def look() -> None:
        # What sh.batch.v1.tiles(id, status=...) reads; only done tiles: the others are of no use yet.
        for wanted in ("PROCESSED", "FAILED"):
            tiles = view_paginator(
                ctx.transport,
                tiles_path,
                BatchTile,
                operation="batch_v1.tiles",
                params={"status": wanted, "count": _PAGE},
            )
            async for tile in tiles:
                join.add_tile(tile)
        async for out in sweep():
            join.add_output(out)

    async with aclosing(processing_ticks(job, ctx.poll, timeout)) as ticks:
        async for status in ticks:
            record = strategy.last
            if status.raw not in _BEFORE_TILES and getattr(record, "tile_count", None) is not None:
                await look()  # tiles exist once analysed
                for item in join.ready():
                    yield item
    until = anyio.current_time() + grace
    while lacking := join.missing():
        if anyio.current_time() >= until:
            raise MissingOutputsError(job_id=job.id, missing=lacking, grace=grace)
        await anyio.sleep(_INTERVAL)
        async for out in sweep():
            join.add_output(out)
        for item in join.ready():
            yield item
    await job.wait()  # a failed or cancelled job raises here, after what it delivered
