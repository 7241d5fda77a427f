"""Logging in to both emulated services: tokens, refresh, single flight, refusals."""

from __future__ import annotations

import asyncio

import pytest

from eoclient.emulator import Emulator
from eoclient.errors import AuthenticationError, NotFoundError
from eoclient.sentinelhub import SentinelHub
from eoclient.spaceknow import SpaceKnow
from tests.integration.conftest import sh_client, sk_client


async def probe(client: SentinelHub | SpaceKnow) -> None:
    """An authenticated request that reaches routing (404 proves the bearer was accepted)."""
    with pytest.raises(NotFoundError):
        await client.request("POST", "/no/such/endpoint", json={})


async def test_sentinelhub_login_and_bearer(eo_emulator: Emulator, sh: SentinelHub) -> None:
    await probe(sh)
    assert eo_emulator.token_requests("sentinelhub") == 1
    await probe(sh)
    assert eo_emulator.token_requests("sentinelhub") == 1  # cached


async def test_spaceknow_login_uses_id_token(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    await probe(sk)
    await sk.authenticate()
    assert eo_emulator.token_requests("spaceknow") == 1


@pytest.mark.parametrize("service", ["sentinelhub", "spaceknow"])
async def test_wrong_credentials_are_authentication_error(eo_emulator: Emulator, service: str) -> None:
    secret = "definitely-wrong-secret-value"
    if service == "sentinelhub":
        client: SentinelHub | SpaceKnow = sh_client(eo_emulator, client_secret=secret)
    else:
        client = sk_client(eo_emulator, password=secret)
    async with client:
        with pytest.raises(AuthenticationError) as info:
            await client.authenticate()
    err = info.value
    assert err.status == 401
    assert err.code in {"invalid_client", "invalid_user_password"}
    assert secret not in str(err)
    assert eo_emulator.token_requests(service) == 1  # a refusal is not retried


@pytest.mark.parametrize("service", ["sentinelhub", "spaceknow"])
async def test_expired_token_is_refreshed_once_and_replayed(eo_emulator: Emulator, service: str) -> None:
    client = sh_client(eo_emulator) if service == "sentinelhub" else sk_client(eo_emulator)
    async with client:
        await probe(client)
        eo_emulator.expire_tokens(service)  # the server forgets; the client still trusts its token
        await probe(client)
    assert eo_emulator.token_requests(service) == 2


async def test_hundred_concurrent_requests_with_expired_token_one_token_request(
    eo_emulator: Emulator, sh: SentinelHub
) -> None:
    await probe(sh)
    eo_emulator.expire_tokens()
    await asyncio.gather(*(probe(sh) for _ in range(100)))
    assert eo_emulator.token_requests("sentinelhub") == 2


@pytest.mark.eo_emulator(token_ttl=6)
async def test_short_lived_token_is_renewed_before_expiry(eo_emulator: Emulator, sh: SentinelHub) -> None:
    await probe(sh)
    # Past the refresh margin (half of a 6 s lifetime), with 2.9 s for the probes on a loaded machine.
    await asyncio.sleep(3.1)
    await probe(sh)
    assert eo_emulator.token_requests("sentinelhub") == 2
    # no request was answered 401: the client renewed before the server refused
    assert all(r.status != 401 for r in eo_emulator.requests)


async def test_token_expiry_fault_mid_run(eo_emulator: Emulator, sh: SentinelHub) -> None:
    await probe(sh)
    eo_emulator.faults.inject("token_expiry", path_prefix="/no/such")
    await probe(sh)
    assert eo_emulator.token_requests("sentinelhub") == 2
