"""Sentinel Hub Batch tiling grids: the grids Batch Processing can split an area into.

Reached as ``sh.tiling_grids``::

    async for grid in sh.tiling_grids.list():
        print(grid.id, grid.name, grid.properties.tile_width if grid.properties else None)
    utm20 = await sh.tiling_grids.get(0)
"""

from __future__ import annotations

from typing import Any, Final

from eoclient._context import ServiceContext
from eoclient._models import Model, from_wire
from eoclient.errors import ValidationError
from eoclient.paging import Paginator, ViewToken
from eoclient.sentinelhub._paging import view_paginator
from eoclient.sentinelhub.byoc_models import page_count

__all__ = ["TilingGrid", "TilingGridProperties", "TilingGrids"]

_BASE: Final = "/api/v2/batch/tilinggrids"


class TilingGridProperties(Model):
    """``BatchV2TilingGridDescriptorProperties``: tile size and resolutions in the grid's ``unit``."""

    tile_width: float | None = None
    tile_height: float | None = None
    resolutions: list[float] | None = None
    unit: str | None = None  # "METRE" or "DEGREE"


class TilingGrid(Model):
    """``BatchV2TilingGridDescriptor``: a grid's id (used as ``tilingGrid.id`` in batch requests)."""

    id: int
    name: str | None = None
    properties: TilingGridProperties | None = None

    def supports(self, resolution: float) -> bool:
        """Whether ``resolution`` (in the grid's unit) is one the grid offers."""
        res = self.properties.resolutions if self.properties else None
        return bool(res) and any(abs(r - resolution) <= 1e-9 * max(1.0, abs(r)) for r in res or ())


class TilingGrids:
    """The tiling grids of Batch Processing v2. Reached as ``sh.tiling_grids``."""

    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self._ctx = ctx

    def list(
        self, count: int | None = None, *, max_items: int | None = None
    ) -> Paginator[TilingGrid, ViewToken]:
        """Every tiling grid, following the service's paging (``count`` is the page size)."""
        return view_paginator(
            self._ctx.transport,
            _BASE,
            TilingGrid,
            operation="tiling_grids.list",
            params={"count": page_count(count)},
            max_items=max_items,
        )

    async def get(self, grid_id: int) -> TilingGrid:
        """One tiling grid by its integer id (:class:`~eoclient.errors.NotFoundError` if unknown)."""
        if isinstance(grid_id, bool) or not isinstance(grid_id, int) or grid_id < 0:
            raise ValidationError("grid_id", f"expected an integer >= 0, got {grid_id!r}")
        path = f"{_BASE}/{grid_id}"
        op = "tiling_grids.get"
        answer: Any = await self._ctx.transport.request_json("GET", path, operation=op)
        # The OpenAPI answer is the descriptor itself; accept the {"data": ...} envelope too.
        if isinstance(answer, dict) and isinstance(answer.get("data"), dict):
            answer = answer["data"]
        return from_wire(answer, TilingGrid, operation=op, path=path)
