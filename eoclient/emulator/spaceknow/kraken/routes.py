"""The emulated Kraken's routes: what each takes (the reference's fields), and ``/kraken/algorithms``."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from eoclient.emulator.core.refusal import json_body
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState
from eoclient.emulator.spaceknow.accounts import current_user, require
from eoclient.emulator.spaceknow.algorithms import ALGORITHMS, dataset_permission
from eoclient.emulator.spaceknow.kraken.grid import GRID_QUERY, grid_file, map_classes
from eoclient.emulator.spaceknow.kraken.pairing import nwise_initiate, pairs_initiate
from eoclient.emulator.spaceknow.kraken.releases import dry_run_initiate, release_initiate
from eoclient.emulator.spaceknow.pipelines import add_retrieve_route

__all__ = ["OPTIONAL_FIELDS", "setup"]


# What the reference lists besides the required fields (table and example); others are refused.
OPTIONAL_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "release": ("subGeometry", "onlyIngested"),
    "dry-run": ("allocate", "ignoreCache", "onlyIngested"),
    "pairs": (
        "minIntersection",
        "pairingType",
        "periodicity",
        "minDayDelta",
        "maxDayDelta",
        "onlyTopOrbitNumber",
        "maxYoyDelta",
    ),
    "nwise": ("minScenes",),
}


async def list_algorithms(request: web.Request) -> web.StreamResponse:
    """``POST /kraken/algorithms``: the map types (and datasets) the caller may run."""
    require(request, "kraken.release")
    await json_body(request, required=False)
    held = current_user(request).permissions
    # Only the map types, and datasets, the caller may run are listed.
    listed = []
    for m in ALGORITHMS.values():
        datasets = [d for d in m.datasets if dataset_permission(m.name, *d) in held]
        if datasets:
            listed.append(m.wire(datasets))
    return web.json_response(listed)


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the Kraken routes to the SpaceKnow app."""
    del state
    initiates = {
        "release": (release_initiate, "kraken.release", ("mapTypes", "extent", "sceneIds")),
        "dry-run": (dry_run_initiate, "kraken.dry-run", ("dryRuns", "extent")),
        "pairs": (pairs_initiate, "imagery.availability", ("sceneIds", "extent")),
        "nwise": (nwise_initiate, "imagery.availability", ("groupingType", "sceneIds", "extent")),
    }
    for name, (initiate, permission, required) in initiates.items():
        add_route(
            app,
            "POST",
            f"/kraken/{name}/initiate",
            initiate,
            required_fields=required,
            fields=OPTIONAL_FIELDS[name],
        )
        add_retrieve_route(app, f"kraken/{name}", permission)
    add_route(app, "POST", "/kraken/algorithms", list_algorithms, fields=())
    add_route(app, "GET", "/kraken/map-classes/{map_id}", map_classes, allow_head=False)
    add_route(
        app,
        "GET",
        "/kraken/grid/{map_id}/{geometry_id}/{zoom}/{x}/{y}/{file_name}",
        grid_file,
        query=GRID_QUERY,
        allow_head=False,
    )
