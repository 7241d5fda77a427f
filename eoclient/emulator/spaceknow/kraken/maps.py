"""The state of the emulated Kraken: the released maps the grid serves, and the grid's test knobs.

:func:`kraken_store` is one emulator's :class:`KrakenStore`. Releases
(:mod:`.releases`) add :class:`KrakenMap` entries; the grid endpoints
(:mod:`.grid`) read them and keep a small cache of rendered tiles. Test knobs:
``stall_after`` (bytes of every grid body sent before the handler waits for
``release_stalled()``; ``stalled`` counts the responses that got there),
``range_requests`` (``(path, Range header)`` seen). The pipelines that carry a
release are :mod:`eoclient.emulator.spaceknow.pipelines`'.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from eoclient.emulator.core.state import EmulatorState

__all__ = ["BBox", "KrakenMap", "KrakenStore", "kraken_store"]


BBox = tuple[float, float, float, float]


@dataclass
class KrakenMap:
    """A released map: what the grid endpoint serves."""

    map_id: str
    map_types: list[str]
    scene_ids: list[str]
    area: BBox
    max_zoom: int
    tiles: list[tuple[int, int, int]]
    sub_geometry_id: str = "-"
    sub_area: BBox | None = None


@dataclass
class KrakenStore:
    """The Kraken part of the emulator state (see the module docstring for the test knobs)."""

    maps: dict[str, KrakenMap] = field(default_factory=dict)
    range_requests: list[tuple[str, str]] = field(default_factory=list)
    stall_after: int | None = None
    stalled: int = 0
    _stalled: asyncio.Event | None = None
    tile_cache: OrderedDict[tuple[Any, ...], tuple[bytes, str, str]] = field(default_factory=OrderedDict)

    def stall_event(self) -> asyncio.Event:
        if self._stalled is None:
            self._stalled = asyncio.Event()
        return self._stalled

    def release_stalled(self) -> None:
        """Let every grid response held by ``stall_after`` go on (and stop stalling new ones)."""
        self.stall_after = None
        self.stall_event().set()


def kraken_store(state: EmulatorState) -> KrakenStore:
    """The :class:`KrakenStore` of an emulator."""
    return state.store("sk.kraken", KrakenStore)
