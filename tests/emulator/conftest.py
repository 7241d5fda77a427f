"""Shared fixtures for the emulator's own tests (plain aiohttp client, real HTTP).

``eo_emulator`` comes from the package's pytest plugin (entry point).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from eoclient.emulator import Emulator

Login = Callable[[], Awaitable[str]]


@pytest.fixture
def sk_login_body(eo_emulator: Emulator) -> dict[str, str]:
    """A correct SpaceKnow login body for the running emulator."""
    creds = eo_emulator.credentials
    return {
        "client_id": creds.sk_client_id,
        "username": creds.sk_username,
        "password": creds.sk_password,
        "connection": "Username-Password-Authentication",
        "grant_type": "password",
        "scope": "openid",
    }


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


@pytest.fixture
def sh_login(http: aiohttp.ClientSession, eo_emulator: Emulator) -> Login:
    """Log in to the emulated Sentinel Hub; returns the access token."""

    async def login() -> str:
        creds = eo_emulator.credentials
        form = {
            "grant_type": "client_credentials",
            "client_id": creds.sh_client_id,
            "client_secret": creds.sh_client_secret,
        }
        async with http.post(eo_emulator.sentinelhub_token_url, data=form) as resp:
            assert resp.status == 200, await resp.text()
            return str((await resp.json())["access_token"])

    return login


@pytest.fixture
def sk_login(http: aiohttp.ClientSession, eo_emulator: Emulator, sk_login_body: dict[str, str]) -> Login:
    """Log in to the emulated SpaceKnow; returns the id_token (the bearer)."""

    async def login() -> str:
        async with http.post(eo_emulator.spaceknow_auth_url, json=sk_login_body) as resp:
            assert resp.status == 200, await resp.text()
            return str((await resp.json())["id_token"])

    return login


@pytest.fixture
async def sh_token(sh_login: Login) -> str:
    return await sh_login()


@pytest.fixture
async def sk_token(sk_login: Login) -> str:
    return await sk_login()
