"""The emulator for plain ``def`` tests: served from a loop in a thread of its own.

The pytest plugin's ``eo_emulator`` serves from the test's event loop, which a
sync test does not have (and a sync call would block it). Here the emulator
runs in its own anyio portal; ``@pytest.mark.eo_emulator(...)`` still gives
its keyword arguments. ``sh`` / ``sk`` are sync clients of it, closed after
the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

import eoclient.sync
from eoclient.emulator import Emulator
from eoclient.emulator.clients import sentinelhub_client, spaceknow_client


class ThreadedEmulator:
    """A started emulator and the portal of the loop serving it (its state is changed in that loop)."""

    def __init__(self, emu: Emulator, portal: BlockingPortal) -> None:
        self.emu = emu
        self.portal = portal

    def call(self, func: Callable[..., Any], *args: Any) -> Any:
        return self.portal.call(func, *args)

    def sentinelhub(self, **kwargs: Any) -> eoclient.sync.SentinelHub:
        return eoclient.sync.SentinelHub.from_async(sentinelhub_client(self.emu, **kwargs))

    def spaceknow(self, **kwargs: Any) -> eoclient.sync.SpaceKnow:
        return eoclient.sync.SpaceKnow.from_async(spaceknow_client(self.emu, **kwargs))


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Iterator[ThreadedEmulator]:
    marker = request.node.get_closest_marker("eo_emulator")
    kwargs = dict(marker.kwargs) if marker is not None else {}

    async def start() -> Emulator:
        return await Emulator(**kwargs).__aenter__()

    with start_blocking_portal(name="emulator") as portal:
        emu = portal.call(start)
        try:
            yield ThreadedEmulator(emu, portal)
        finally:
            portal.call(emu.__aexit__, None, None, None)


@pytest.fixture
def sh(emulator: ThreadedEmulator) -> Iterator[eoclient.sync.SentinelHub]:
    with emulator.sentinelhub() as client:
        yield client


@pytest.fixture
def sk(emulator: ThreadedEmulator) -> Iterator[eoclient.sync.SpaceKnow]:
    with emulator.spaceknow() as client:
        yield client
