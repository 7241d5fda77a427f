"""Token endpoints, the bearer check and token expiry, over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from eoclient.emulator import Credentials, Emulator, EmulatorState

SAMPLE = "/_sample/jobs"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def jwt_claims(token: str) -> dict[str, Any]:
    header, payload, signature = token.split(".")
    assert header and signature
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def _sk_echo(app: web.Application, state: EmulatorState) -> None:
    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_post("/echo", echo)


# -- Sentinel Hub token endpoint ------------------------------------------------


async def test_sh_token_issued(http: aiohttp.ClientSession, eo_emulator: Emulator) -> None:
    creds = eo_emulator.credentials
    form = {
        "grant_type": "client_credentials",
        "client_id": creds.sh_client_id,
        "client_secret": creds.sh_client_secret,
    }
    async with http.post(eo_emulator.sentinelhub_token_url, data=form) as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_expires_in"] == 0
    assert body["not-before-policy"] == 0
    assert isinstance(body["scope"], str)
    claims = jwt_claims(body["access_token"])
    assert claims["exp"] - claims["iat"] in (3599, 3600)


async def test_sh_token_basic_auth_and_oauth_alias(
    http: aiohttp.ClientSession, eo_emulator: Emulator
) -> None:
    creds = eo_emulator.credentials
    basic = base64.b64encode(f"{creds.sh_client_id}:{creds.sh_client_secret}".encode()).decode()
    headers = {"Authorization": f"Basic {basic}"}
    url = eo_emulator.sentinelhub_url + "/oauth/token"
    async with http.post(url, data={"grant_type": "client_credentials"}, headers=headers) as resp:
        assert resp.status == 200
        assert "access_token" in await resp.json()


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"grant_type": "client_credentials", "client_id": "emulator-client"}, 401, "invalid_client"),
        ({"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}, 401, "invalid_client"),
        ({"grant_type": "password", "client_id": "emulator-client"}, 400, "unsupported_grant_type"),
        ({"client_id": "emulator-client"}, 400, "unsupported_grant_type"),
    ],
)
async def test_sh_token_refused(
    http: aiohttp.ClientSession, eo_emulator: Emulator, form: dict[str, str], status: int, error: str
) -> None:
    async with http.post(eo_emulator.sentinelhub_token_url, data=form) as resp:
        assert resp.status == status
        body = await resp.json()
    assert body["error"] == error
    assert body["error_description"]
    if status == 401:
        assert body["error_description"] == "Invalid client or Invalid client credentials"


# -- SpaceKnow login --------------------------------------------------------------


async def test_sk_login(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sk_login_body: dict[str, str]
) -> None:
    async with http.post(eo_emulator.spaceknow_auth_url, json=sk_login_body) as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body["token_type"] == "bearer"
    assert body["scope"] == "openid"
    assert body["access_token"] and "." not in body["access_token"]
    claims = jwt_claims(body["id_token"])
    assert claims["aud"] == eo_emulator.credentials.sk_client_id
    assert claims["sub"].startswith("auth0|")
    assert claims["exp"] > claims["iat"]


@pytest.mark.parametrize("field", ["client_id", "username", "password", "connection", "grant_type", "scope"])
async def test_sk_login_missing_field(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sk_login_body: dict[str, str], field: str
) -> None:
    del sk_login_body[field]
    async with http.post(eo_emulator.spaceknow_auth_url, json=sk_login_body) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "invalid_request"


@pytest.mark.parametrize("field", ["username", "password"])
async def test_sk_login_wrong_user_or_password(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sk_login_body: dict[str, str], field: str
) -> None:
    sk_login_body[field] = "wrong@example.com"
    async with http.post(eo_emulator.spaceknow_auth_url, json=sk_login_body) as resp:
        assert resp.status == 401
        assert await resp.json() == {
            "error": "invalid_user_password",
            "error_description": "Wrong email or password.",
        }


async def test_sk_login_not_json(http: aiohttp.ClientSession, eo_emulator: Emulator) -> None:
    async with http.post(eo_emulator.spaceknow_auth_url, data=b"nope") as resp:
        assert resp.status == 400


@pytest.mark.eo_emulator(
    credentials=Credentials(sh_client_id="mine", sh_client_secret="s" * 20, sk_password="pw")
)
async def test_credentials_override(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sk_token: str, sh_token: str
) -> None:
    assert eo_emulator.credentials.sh_client_id == "mine"
    assert eo_emulator.credentials.sk_username == "user@example.com"
    assert sk_token and sh_token


# -- the bearer check ---------------------------------------------------------------


async def test_sh_bearer_required(http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str) -> None:
    url = eo_emulator.sentinelhub_url + SAMPLE
    async with http.post(url, json={}) as resp:
        assert resp.status == 401
        error = (await resp.json())["error"]
    assert error["status"] == 401
    assert error["reason"] == "Unauthorized"
    assert error["code"] == "COMMON_UNAUTHORIZED"
    assert error["message"]
    async with http.post(url, json={}, headers=auth("not-a-token")) as resp:
        assert resp.status == 401
    async with http.post(url, json={}, headers=auth(sh_token)) as resp:
        assert resp.status == 201


@pytest.mark.eo_emulator(spaceknow_setup=[_sk_echo])
async def test_sk_bearer_required(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sk_token: str, sh_token: str
) -> None:
    url = eo_emulator.spaceknow_url + "/echo"
    async with http.post(url, json={}) as resp:
        assert resp.status == 401
        body = await resp.json()
    assert body["error"] == "NOT-AUTHORIZED"
    assert body["errorMessage"]
    # A Sentinel Hub token is no SpaceKnow token.
    async with http.post(url, json={}, headers=auth(sh_token)) as resp:
        assert resp.status == 401
    async with http.post(url, json={}, headers=auth(sk_token)) as resp:
        assert resp.status == 200


async def test_sk_token_refused_by_sentinelhub(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sk_token: str
) -> None:
    async with http.post(eo_emulator.sentinelhub_url + SAMPLE, json={}, headers=auth(sk_token)) as resp:
        assert resp.status == 401


async def test_unknown_path_needs_bearer_then_404_in_service_shape(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str, sk_token: str
) -> None:
    async with http.get(eo_emulator.sentinelhub_url + "/api/v1/nothing") as resp:
        assert resp.status == 401
    async with http.get(eo_emulator.sentinelhub_url + "/api/v1/nothing", headers=auth(sh_token)) as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "COMMON_NOT_FOUND"
    async with http.get(eo_emulator.spaceknow_url + "/nothing", headers=auth(sk_token)) as resp:
        assert resp.status == 404
        assert (await resp.json())["error"] == "NOT-FOUND"
    async with http.delete(eo_emulator.sentinelhub_url + SAMPLE, headers=auth(sh_token)) as resp:
        assert resp.status == 405
        assert (await resp.json())["error"]["code"] == "COMMON_METHOD_NOT_ALLOWED"


@pytest.mark.eo_emulator(token_ttl=0.05)
async def test_expired_token_refused(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str
) -> None:
    await asyncio.sleep(0.1)  # past the 50 ms lifetime
    async with http.post(eo_emulator.sentinelhub_url + SAMPLE, json={}, headers=auth(sh_token)) as resp:
        assert resp.status == 401
        assert "expired" in (await resp.json())["error"]["message"]


@pytest.mark.eo_emulator(spaceknow_setup=[_sk_echo])
async def test_expire_tokens_per_service(
    http: aiohttp.ClientSession,
    eo_emulator: Emulator,
    sh_token: str,
    sk_token: str,
    sh_login: Any,
) -> None:
    sh_url = eo_emulator.sentinelhub_url + SAMPLE
    sk_url = eo_emulator.spaceknow_url + "/echo"
    assert eo_emulator.expire_tokens("sentinelhub") == 1
    async with http.post(sh_url, json={}, headers=auth(sh_token)) as resp:
        assert resp.status == 401
    async with http.post(sk_url, json={}, headers=auth(sk_token)) as resp:
        assert resp.status == 200
    fresh = await sh_login()
    async with http.post(sh_url, json={}, headers=auth(fresh)) as resp:
        assert resp.status == 201
    eo_emulator.expire_tokens()
    async with http.post(sk_url, json={}, headers=auth(sk_token)) as resp:
        assert resp.status == 401
    async with http.post(sh_url, json={}, headers=auth(fresh)) as resp:
        assert resp.status == 401


async def test_request_log_and_token_count(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_login: Any, sk_token: str
) -> None:
    token = await sh_login()
    await sh_login()
    async with http.get(eo_emulator.sentinelhub_url + SAMPLE + "/x", headers=auth(token)) as resp:
        assert resp.status == 404
    async with http.get(eo_emulator.sentinelhub_url + "/_emulator/health") as resp:
        assert resp.status == 200
    assert eo_emulator.token_requests("sentinelhub") == 2
    assert eo_emulator.token_requests("spaceknow") == 1
    assert eo_emulator.token_requests() == 3
    last = eo_emulator.requests[-1]  # control routes are not recorded
    assert (last.service, last.method, last.path, last.has_bearer, last.status) == (
        "sentinelhub",
        "GET",
        SAMPLE + "/x",
        True,
        404,
    )
    assert not eo_emulator.requests[0].has_bearer


async def test_urls_before_start_raise() -> None:
    emu = Emulator()
    with pytest.raises(RuntimeError, match="not running"):
        _ = emu.sentinelhub_url
    with pytest.raises(RuntimeError):
        _ = emu.spaceknow_auth_url
    async with emu:
        assert emu.sentinelhub_token_url.endswith("/auth/realms/main/protocol/openid-connect/token")
        assert emu.spaceknow_auth_url == emu.spaceknow_url + "/oauth/ro"
        assert emu.sentinelhub_url != emu.spaceknow_url
        assert emu.sentinelhub_url.startswith("http://127.0.0.1:")
    with pytest.raises(RuntimeError):
        _ = emu.sentinelhub_url


async def test_start_stop_explicit(http: aiohttp.ClientSession) -> None:
    emu = Emulator()
    await emu.start()
    try:
        async with http.get(emu.spaceknow_url + "/_emulator/health") as resp:
            assert (await resp.json())["service"] == "spaceknow"
    finally:
        await emu.stop()
    await emu.stop()  # idempotent
