"""Clients wired to the emulator of the ``eo_emulator`` fixture.

``sh_client`` / ``sk_client`` are the emulator's own builders
(:mod:`eoclient.emulator.clients`) with this suite's shorter retry and poll
policies; keyword arguments still win.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from eoclient import PollPolicy, RetryPolicy, SentinelHub, SpaceKnow
from eoclient.emulator import Emulator
from eoclient.emulator.clients import sentinelhub_client, spaceknow_client

FAST_RETRY = RetryPolicy(attempts=4, initial_backoff=0.01, max_backoff=0.05)
FAST_POLL = PollPolicy(initial=0.005, max_delay=0.05)


def sh_client(emu: Emulator, **kwargs: Any) -> SentinelHub:
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("poll", FAST_POLL)
    return sentinelhub_client(emu, **kwargs)


def sk_client(emu: Emulator, **kwargs: Any) -> SpaceKnow:
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("poll", FAST_POLL)
    return spaceknow_client(emu, **kwargs)


@pytest.fixture
async def sh(eo_emulator: Emulator) -> AsyncIterator[SentinelHub]:
    async with sh_client(eo_emulator) as client:
        yield client


@pytest.fixture
async def sk(eo_emulator: Emulator) -> AsyncIterator[SpaceKnow]:
    async with sk_client(eo_emulator) as client:
        yield client
