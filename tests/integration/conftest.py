"""Clients wired to the emulator of the ``eo_emulator`` fixture."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from eoclient._http.retry import RetryPolicy
from eoclient.emulator import Emulator
from eoclient.jobs import PollPolicy
from eoclient.sentinelhub import SentinelHub
from eoclient.spaceknow import SpaceKnow

FAST_RETRY = RetryPolicy(attempts=4, initial_backoff=0.01, max_backoff=0.05)
FAST_POLL = PollPolicy(initial=0.005, max_delay=0.05)


def sh_client(emu: Emulator, **kwargs: Any) -> SentinelHub:
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("poll", FAST_POLL)
    kwargs.setdefault("client_id", emu.credentials.sh_client_id)
    kwargs.setdefault("client_secret", emu.credentials.sh_client_secret)
    return SentinelHub(
        base_url=emu.sentinelhub_url,
        token_url=emu.sentinelhub_token_url,
        **kwargs,
    )


def sk_client(emu: Emulator, **kwargs: Any) -> SpaceKnow:
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("poll", FAST_POLL)
    kwargs.setdefault("username", emu.credentials.sk_username)
    kwargs.setdefault("password", emu.credentials.sk_password)
    return SpaceKnow(
        base_url=emu.spaceknow_url,
        auth_url=emu.spaceknow_auth_url,
        **kwargs,
    )


@pytest.fixture
async def sh(eo_emulator: Emulator) -> AsyncIterator[SentinelHub]:
    async with sh_client(eo_emulator) as client:
        yield client


@pytest.fixture
async def sk(eo_emulator: Emulator) -> AsyncIterator[SpaceKnow]:
    async with sk_client(eo_emulator) as client:
        yield client
