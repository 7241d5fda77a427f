"""Emulated Sentinel Hub Batch v2 tiling grids.

Routes (Sentinel Hub app, bearer required)::

    GET /api/v2/batch/tilinggrids?count&viewtoken -> {"data": [descriptor, ...], "links": {...}}
    GET /api/v2/batch/tilinggrids/{id}            -> descriptor; 404 if unknown, 400 if not an integer

A descriptor is ``{"id", "name", "properties": {"tileWidth", "tileHeight",
"resolutions", "unit"}}`` (``unit`` ``METRE`` or ``DEGREE``). :data:`GRIDS`
holds the grids Sentinel Hub offers (their ids are not contiguous); the
default page is 4 so that the listing takes two pages.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState
from eoclient.emulator.sentinelhub.common import view_page

__all__ = ["DEFAULT_PAGE", "GRIDS", "setup"]

_BASE: Final = "/api/v2/batch/tilinggrids"
DEFAULT_PAGE: Final = 4


def _grid(grid_id: int, name: str, size: float, resolutions: list[float], unit: str) -> dict[str, Any]:
    properties = {"tileWidth": size, "tileHeight": size, "resolutions": resolutions, "unit": unit}
    return {"id": grid_id, "name": name, "properties": properties}


GRIDS: Final[tuple[dict[str, Any], ...]] = (
    _grid(0, "UTM 20km grid", 20040.0, [10.0, 20.0, 30.0, 60.0, 120.0, 240.0, 360.0], "METRE"),
    _grid(1, "UTM 10km grid", 10000.0, [10.0, 20.0], "METRE"),
    _grid(2, "UTM 100km grid", 100080.0, [60.0, 120.0, 240.0, 360.0], "METRE"),
    _grid(3, "WGS84 1 degree grid", 1.0, [0.0001, 0.0002], "DEGREE"),
    _grid(6, "LAEA 100km grid", 100000.0, [40.0, 50.0, 100.0, 250.0, 500.0, 1000.0], "METRE"),
    _grid(7, "LAEA 20km grid", 20000.0, [10.0, 20.0, 40.0, 50.0, 100.0, 200.0, 250.0], "METRE"),
)
"""The emulated grids, as the service describes them."""


async def _list(request: web.Request) -> web.Response:
    return web.json_response(view_page(request, [dict(g) for g in GRIDS], DEFAULT_PAGE))


async def _get(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    if not raw.lstrip("-").isdigit():
        raise Refusal(400, None, f"tiling grid id must be an integer, got {raw!r}")
    grid = next((g for g in GRIDS if g["id"] == int(raw)), None)
    if grid is None:
        raise Refusal(404, None, f"Tiling grid {raw} not found")
    return web.json_response(grid)


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the tiling grid routes to the Sentinel Hub app."""
    del state
    add_route(app, "GET", _BASE, _list, query=("count", "viewtoken"), allow_head=False)
    add_route(app, "GET", _BASE + "/{id}", _get, allow_head=False)
