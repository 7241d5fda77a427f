"""The emulated Imagery's routes and what each takes (the reference's fields)."""

from __future__ import annotations

from aiohttp import web

from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState
from eoclient.emulator.spaceknow.imagery.export import EXPORT_PATH, export_file
from eoclient.emulator.spaceknow.imagery.images import get_image_initiate, providers, scene_info
from eoclient.emulator.spaceknow.imagery.ingest import ingest
from eoclient.emulator.spaceknow.imagery.search import SEARCH_FIELDS, search_initiate
from eoclient.emulator.spaceknow.pipelines import add_retrieve_route

__all__ = ["setup"]


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the imagery routes to the SpaceKnow app."""
    del state
    add_route(
        app,
        "POST",
        "/imagery/search/initiate",
        search_initiate,
        required_fields=("datasets",),
        fields=SEARCH_FIELDS,
    )
    add_route(
        app,
        "POST",
        "/imagery/get-image/initiate",
        get_image_initiate,
        required_fields=("sceneId", "extent"),
        fields=("resolution", "exportRaster"),
    )
    for name, permission in (("search", "imagery.availability"), ("get-image", "imagery.images")):
        add_retrieve_route(app, f"imagery/{name}", permission)
    # The signed link of an exported image: public once issued (export_url adds its path).
    add_route(app, "GET", EXPORT_PATH, export_file, required_query=("signature",), allow_head=False)
    add_route(
        app,
        "POST",
        "/imagery/scene-info",
        scene_info,
        required_fields=("sceneId",),
        fields=("tiles", "forceOffline"),
    )
    add_route(app, "POST", "/imagery/providers", providers, fields=())
    # A streamed binary body: only the query is declared (the handler reads the file).
    add_route(app, "POST", "/imagery/ingest-scene", ingest, required_query=("provider",))
