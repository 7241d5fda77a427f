"""Building blocks shared by the emulated Sentinel Hub endpoints: listing pages and derived seeds.

Refusals, JSON bodies and paging windows come from :mod:`eoclient.emulator.core`;
this module only keeps what is Sentinel Hub's own: the ``{"data", "links"}``
listing with its ``count``/``viewtoken`` paging (the token is base64 of
``view:<offset>``, URL-safe, unpadded), and seeds fixed by the emulator's seed.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.paging import OffsetToken, page
from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.core.state import EmulatorState

__all__ = ["MAX_COUNT", "VIEW_TOKEN", "derived_seed", "view_page"]

MAX_COUNT: Final = 100
VIEW_TOKEN: Final = OffsetToken(parameter="viewtoken", prefix="view")
"""Sentinel Hub's ``viewtoken``: ``view:<offset>`` in URL-safe base64 without padding."""


def _count(request: web.Request, default: int) -> int:
    raw = request.query.get("count")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_COUNT:
        raise Refusal(400, None, f"count must be an integer between 1 and {MAX_COUNT}")
    return int(raw)


def view_page(request: web.Request, items: list[dict[str, Any]], default: int) -> dict[str, Any]:
    """One page of ``items`` in Sentinel Hub's ``{"data", "links"}`` shape, by ``count``/``viewtoken``."""
    count = _count(request, default)
    window = page(items, VIEW_TOKEN.decode(request.query.get("viewtoken")), count)
    links: dict[str, Any] = {"@id": str(request.url), "currentToken": VIEW_TOKEN.encode(window.start)}
    if window.next is not None:
        links["nextToken"] = VIEW_TOKEN.encode(window.next)
        links["next"] = str(request.url.update_query(viewtoken=links["nextToken"]))
    if window.start > 0:
        links["previousToken"] = VIEW_TOKEN.encode(max(0, window.start - count))
    return {"data": window.items, "links": links}


def derived_seed(state: EmulatorState, salt: str) -> int:
    """A seed fixed by the emulator's seed, taken without drawing from ``state.rng``.

    Drawing would shift every later draw of other modules; hashing the state does not.
    """
    digest = hashlib.sha256(f"{salt}:{state.rng.getstate()!r}".encode()).digest()
    return int.from_bytes(digest[:8], "big")
