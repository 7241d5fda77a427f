"""A large area in one call: the Process request per tile, run through the bulk engine.

:func:`tile_requests` turns the user's Process request into one request per
tile of an :class:`~eoclient.areas.AreaSplit`: the tile's bbox and CRS as
``input.bounds``, its pixels as ``output.width``/``height``, everything else
(evalscript, data, responses, keys eoclient does not know) as the user wrote
it. :func:`run_tiles` renders them into a work folder through
:func:`eoclient.bulk.download_all` — bounded concurrency, the transport's
retries, the client's :class:`~eoclient.sentinelhub.budget.ProcessingBudget`,
atomic files — with a :class:`TileSource` per tile (a POST cannot be resumed
mid-body: a broken answer is rendered again from its first byte).

Each tile's file is named after its place and a digest of its request body:
a rerun over the same work folder skips the tiles already complete (files
appear only when whole), and a changed request never picks up a stale tile.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import anyio

from eoclient.areas import AreaSplit, AreaTile
from eoclient.bulk import Body, BulkReport, Download, download_all
from eoclient.errors import ValidationError
from eoclient.sentinelhub.budget import ProcessingBudget, charged
from eoclient.sentinelhub.prepared import PreparedProcess, prepare_process
from eoclient.sentinelhub.process import PROCESS_PATH, processing_units_spent
from eoclient.sentinelhub.process_models import ProcessRequest, to_checked_request

if TYPE_CHECKING:
    from eoclient._http.transport import Transport

__all__ = ["AreaTiles", "TileSource", "TileWork", "run_tiles", "tile_requests"]

_EXTENSIONS: Final = {"image/tiff": "tif", "image/png": "png", "image/jpeg": "jpg"}
_SIZE_KEYS: Final = frozenset({"width", "height", "resx", "resy"})


@dataclass(frozen=True, slots=True)
class TileWork:
    """One tile to render: where it is, its prepared request, and the file it goes to."""

    tile: AreaTile
    prepared: PreparedProcess
    dest: Path


def tile_requests(
    request: ProcessRequest | Mapping[str, Any],
    split: AreaSplit,
    work_dir: Path,
    *,
    accept: str | None = None,
) -> list[TileWork]:
    """One checked Process request per tile of ``split``, each with its file under ``work_dir``.

    The request's own ``input.bounds`` and output size are replaced; it must
    ask for one image (TIFF, PNG or JPEG) — the tiles are mosaicked into one
    raster. A mistake raises :class:`~eoclient.errors.ValidationError` naming
    the field of the request, before anything is sent.
    """
    _, wire = to_checked_request(request, ProcessRequest)
    _check_one_image(wire, accept)
    work: list[TileWork] = []
    for tile in split:
        prepared = prepare_process(_for_tile(wire, tile), accept=accept)
        digest = hashlib.sha256(prepared.body).hexdigest()[:16]
        code = tile.crs.rsplit("/", 1)[1]
        ext = _EXTENSIONS[prepared.accept.split(";")[0].strip().lower()]
        work.append(
            TileWork(tile, prepared, work_dir / f"{code}_r{tile.row:04d}_c{tile.col:04d}_{digest}.{ext}")
        )
    return work


def _check_one_image(wire: Mapping[str, Any], accept: str | None) -> None:
    output = wire.get("output") or {}
    responses = output.get("responses") or [{}]
    if len(responses) != 1:
        raise ValidationError(
            "output.responses", f"process_area mosaics one image: the request asks for {len(responses)}"
        )
    fmt = accept or (responses[0].get("format") or {}).get("type") or "image/png"
    if fmt.split(";")[0].strip().lower() not in _EXTENSIONS:
        raise ValidationError(
            "output.responses[0].format.type", f"process_area mosaics TIFF, PNG or JPEG images, not {fmt}"
        )


def _for_tile(wire: Mapping[str, Any], tile: AreaTile) -> dict[str, Any]:
    """The user's request (as sent) over ``tile``: its bbox, CRS and pixels; nothing else changed."""
    inp = dict(wire.get("input") or {})
    inp["bounds"] = {"bbox": tile.bbox.as_list(), "properties": {"crs": tile.crs}}
    output = {k: v for k, v in (wire.get("output") or {}).items() if k not in _SIZE_KEYS}
    output["width"], output["height"] = tile.width, tile.height
    return {**wire, "input": inp, "output": output}


@dataclass
class AreaTiles:
    """What rendering the tiles did: the bulk engine's report and the processing units the service charged."""

    report: BulkReport
    processing_units: float = 0.0
    requests: int = field(default=0)


@dataclass(frozen=True)
class TileSource:
    """A :class:`~eoclient.bulk.Source` that renders one tile's Process request (POST, whole body each time).

    The request is charged to the budget ``budget()`` returns at the time it
    is sent (the client's, which may be replaced at any time).
    """

    transport: Transport
    prepared: PreparedProcess
    budget: Callable[[], ProcessingBudget | None]
    label: str
    spent: AreaTiles

    @property
    def name(self) -> str:
        return self.label

    @asynccontextmanager
    async def open(self, offset: int, *, validator: str | None, chunk_size: int) -> AsyncIterator[Body]:
        # A render cannot be continued at a byte offset: Body(start=0) tells the engine to start over.
        async with (
            charged(self.budget(), self.prepared.cost.estimate) as charge,
            self.transport.stream(
                "POST",
                PROCESS_PATH,
                operation="process.area",
                data=self.prepared.body,
                headers=self.prepared.headers,
                idempotent=True,  # rendering changes nothing on the server
                expect=self.prepared.expect,
            ) as resp,
        ):
            charge.actual = processing_units_spent(resp.headers)
            self.spent.requests += 1
            self.spent.processing_units += charge.actual or 0.0
            # With Content-Encoding the announced length counts compressed bytes: not checked then.
            total = None if "Content-Encoding" in resp.headers else resp.content_length
            yield Body(0, resp.iter_chunks(chunk_size), total)

    async def current(self, path: Path) -> int | None:
        # Files appear only when whole (AtomicFile), and the name holds the request's digest.
        def size() -> int | None:
            return path.stat().st_size if path.is_file() else None

        return await anyio.to_thread.run_sync(size)

    async def completed(self, path: Path) -> None:
        return None


async def run_tiles(
    transport: Transport,
    work: list[TileWork],
    *,
    budget: Callable[[], ProcessingBudget | None],
    concurrency: int,
    limiter: anyio.CapacityLimiter | None = None,
    overwrite: bool = False,
) -> AreaTiles:
    """Render every tile into its file, ``concurrency`` at a time; failures are in the report."""
    outcome = AreaTiles(BulkReport())
    folders = {w.dest.parent for w in work}

    def make_folders() -> None:
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)

    await anyio.to_thread.run_sync(make_folders)
    items = (
        Download(
            TileSource(transport, w.prepared, budget, w.dest.name, outcome), w.dest, operation="process.area"
        )
        for w in work
    )
    outcome.report = await download_all(
        None,
        items,
        concurrency=concurrency,
        limiter=limiter,
        operation="process.area",
        overwrite=overwrite,
        policy=transport.retry,
    )
    return outcome
