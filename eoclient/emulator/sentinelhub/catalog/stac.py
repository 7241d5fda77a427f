"""What every Catalog answer shares: the STAC version, media types, JSON, and the STAC exception shape.

A Catalog route refuses with :class:`~eoclient.emulator.core.refusal.Refusal`
(:func:`bad` for the usual 400); its ``shape=`` (:func:`stac_shape`) answers
it as a STAC API does, ``{"code", "description"}``.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
from aiohttp import web

from eoclient.emulator.core.refusal import Refusal

__all__ = ["GEOJSON", "INVALID", "STAC_VERSION", "bad", "stac_json", "stac_shape"]

GEOJSON: Final = "application/geo+json"
STAC_VERSION: Final = "1.0.0"
INVALID: Final = "InvalidParameterValue"
"""The STAC code of a request the catalog cannot take."""


def bad(description: str) -> Refusal:
    """A 400 ``InvalidParameterValue``."""
    return Refusal(400, INVALID, description)


def stac_json(data: Any, *, status: int = 200, content_type: str = "application/json") -> web.Response:
    """``data`` as a JSON answer (msgspec: item pages are large)."""
    return web.Response(body=msgspec.json.encode(data), status=status, content_type=content_type)


def stac_shape(refusal: Refusal) -> web.Response:
    """A refusal as a STAC exception ``{"code", "description"}`` (the code by status when not given)."""
    code = refusal.code or ("NotFound" if refusal.status == 404 else INVALID)
    return stac_json({"code": code, "description": refusal.message}, status=refusal.status)
