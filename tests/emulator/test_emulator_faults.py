"""Fault injection over real HTTP: 429s, 5xx, latency, token expiry, seeds."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp import web

from eoclient.emulator import Emulator, EmulatorState, FaultConfig, FaultInjector

SAMPLE = "/_sample/jobs"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _sk_echo(app: web.Application, state: EmulatorState) -> None:
    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/echo", echo)


async def sh_get(http: aiohttp.ClientSession, emu: Emulator, token: str) -> aiohttp.ClientResponse:
    async with http.get(emu.sentinelhub_url + SAMPLE + "/missing", headers=auth(token)) as resp:
        await resp.read()
        return resp


# -- 429 ------------------------------------------------------------------------------


async def test_sh_rate_limit_retry_after_in_milliseconds(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str
) -> None:
    eo_emulator.faults.inject("rate_limit", retry_after=0.25)
    async with http.get(eo_emulator.sentinelhub_url + SAMPLE + "/x", headers=auth(sh_token)) as resp:
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "250"
        error = (await resp.json())["error"]
    assert error["status"] == 429
    assert error["code"] == "RATE_LIMIT_EXCEEDED"
    # One fault, one request: the next one goes through (404: no such job).
    assert (await sh_get(http, eo_emulator, sh_token)).status == 404
    assert eo_emulator.requests[-2].fault == "rate_limit"
    assert eo_emulator.faults.pending == 0


@pytest.mark.eo_emulator(spaceknow_setup=[_sk_echo])
async def test_sk_rate_limit_retry_after_in_seconds(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sk_token: str
) -> None:
    eo_emulator.faults.inject("rate_limit", retry_after=2.0, count=2)
    for _ in range(2):
        async with http.get(eo_emulator.spaceknow_url + "/echo", headers=auth(sk_token)) as resp:
            assert resp.status == 429
            assert resp.headers["Retry-After"] == "2"
            body = await resp.json()
        assert body["error"] == "RATE-LIMIT-EXCEEDED"
        assert body["errorMessage"]
    async with http.get(eo_emulator.spaceknow_url + "/echo", headers=auth(sk_token)) as resp:
        assert resp.status == 200


async def test_rate_limit_without_retry_after(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str
) -> None:
    eo_emulator.faults.inject("rate_limit")
    resp = await sh_get(http, eo_emulator, sh_token)
    assert resp.status == 429
    assert "Retry-After" not in resp.headers


@pytest.mark.eo_emulator(faults=FaultConfig(rate_limit=1.0, retry_after=1.5))
async def test_random_rate_limit_uses_config_hint(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str
) -> None:
    resp = await sh_get(http, eo_emulator, sh_token)
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "1500"


# -- 5xx --------------------------------------------------------------------------------


async def test_server_error_json_both_shapes(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str, sk_token: str
) -> None:
    eo_emulator.faults.inject("server_error", service="sentinelhub")
    eo_emulator.faults.inject("server_error", service="spaceknow", status=500)
    resp = await sh_get(http, eo_emulator, sh_token)
    assert resp.status == 503
    async with http.get(eo_emulator.spaceknow_url + "/x", headers=auth(sk_token)) as sk_resp:
        assert sk_resp.status == 500
        assert sk_resp.content_type == "application/json"
        body = await sk_resp.json()
    assert body["error"] == "INTERNAL-ERROR"
    assert body["errorMessage"]


async def test_server_error_sh_body_and_retry_after(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str
) -> None:
    eo_emulator.faults.inject("server_error", status=504, retry_after=1)
    async with http.get(eo_emulator.sentinelhub_url + "/anything", headers=auth(sh_token)) as resp:
        assert resp.status == 504
        assert resp.headers["Retry-After"] == "1000"
        error = (await resp.json())["error"]
    assert error["status"] == 504
    assert error["reason"] == "Gateway Timeout"


async def test_html_error(http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str) -> None:
    eo_emulator.faults.inject("html_error")
    async with http.get(eo_emulator.sentinelhub_url + "/anything", headers=auth(sh_token)) as resp:
        assert resp.status == 502
        assert resp.content_type == "text/html"
        assert "502 Bad Gateway" in await resp.text()


@pytest.mark.eo_emulator(faults=FaultConfig(server_error=1.0, html_errors=True, server_error_status=500))
async def test_random_html_errors(http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str) -> None:
    resp = await sh_get(http, eo_emulator, sh_token)
    assert resp.status == 500
    assert resp.content_type == "text/html"


# -- latency, token expiry ------------------------------------------------------------


async def test_latency_still_answers(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str
) -> None:
    eo_emulator.faults.inject("latency", seconds=0.01)
    resp = await sh_get(http, eo_emulator, sh_token)
    assert resp.status == 404
    assert eo_emulator.requests[-1].fault == "latency"


@pytest.mark.eo_emulator(faults=FaultConfig(latency=0.001, latency_jitter=0.002))
async def test_random_latency_still_answers(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str
) -> None:
    assert (await sh_get(http, eo_emulator, sh_token)).status == 404


async def test_token_expiry_fault(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str, sh_login: Any
) -> None:
    eo_emulator.faults.inject("token_expiry")
    assert (await sh_get(http, eo_emulator, sh_token)).status == 401
    assert (await sh_get(http, eo_emulator, sh_token)).status == 401  # stays expired
    assert (await sh_get(http, eo_emulator, await sh_login())).status == 404


# -- matching ---------------------------------------------------------------------------


async def test_filters_service_method_path(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str
) -> None:
    eo_emulator.faults.inject("server_error", service="spaceknow")
    eo_emulator.faults.inject("server_error", method="POST", path_prefix=SAMPLE)
    assert (await sh_get(http, eo_emulator, sh_token)).status == 404  # GET: neither matches
    async with http.post(eo_emulator.sentinelhub_url + SAMPLE, json={}, headers=auth(sh_token)) as resp:
        assert resp.status == 503
    assert eo_emulator.faults.pending == 1  # the SpaceKnow one waits
    eo_emulator.faults.clear()
    assert eo_emulator.faults.pending == 0


async def test_token_endpoints_spared_unless_targeted(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_login: Any
) -> None:
    eo_emulator.faults.inject("server_error")
    token = await sh_login()  # not hit
    assert (await sh_get(http, eo_emulator, token)).status == 503
    eo_emulator.faults.inject("rate_limit", path_prefix="/auth/", retry_after=0)
    async with http.post(
        eo_emulator.sentinelhub_token_url, data={"grant_type": "client_credentials"}
    ) as resp:
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "0"


@pytest.mark.eo_emulator(faults=FaultConfig(server_error=1.0, include_auth=True))
async def test_include_auth(http: aiohttp.ClientSession, eo_emulator: Emulator) -> None:
    async with http.post(
        eo_emulator.sentinelhub_token_url, data={"grant_type": "client_credentials"}
    ) as resp:
        assert resp.status == 503


async def test_control_routes_inject_and_clear(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str
) -> None:
    control = eo_emulator.sentinelhub_url + "/_emulator/faults"
    async with http.post(control, json={"kind": "rate_limit", "retry_after": 0.5}) as resp:
        assert resp.status == 201
    assert (await sh_get(http, eo_emulator, sh_token)).status == 429
    async with http.post(control, json={"kind": "nonsense"}) as resp:
        assert resp.status == 400
    async with http.post(control, json={"kind": "drop", "bogus": 1}) as resp:
        assert resp.status == 400
    async with http.post(control, json={"kind": "server_error"}) as resp:
        assert resp.status == 201
    async with http.delete(control) as resp:
        assert resp.status == 204
    assert (await sh_get(http, eo_emulator, sh_token)).status == 404


# -- seeds ------------------------------------------------------------------------------


async def _statuses(seed: int, n: int = 40) -> list[int]:
    config = FaultConfig(rate_limit=0.3, server_error=0.2, retry_after=0.0)
    async with (
        Emulator(seed=seed, faults=config) as emu,
        aiohttp.ClientSession() as http,
    ):
        creds = emu.credentials
        form = {
            "grant_type": "client_credentials",
            "client_id": creds.sh_client_id,
            "client_secret": creds.sh_client_secret,
        }
        async with http.post(emu.sentinelhub_token_url, data=form) as resp:
            token = (await resp.json())["access_token"]
        return [(await sh_get(http, emu, token)).status for _ in range(n)]


async def test_same_seed_same_faults() -> None:
    first = await _statuses(7)
    assert first == await _statuses(7)
    assert {429, 503, 404} <= set(first)
    assert first != await _statuses(8)


def test_config_seed_overrides_emulator_seed() -> None:
    def draws(injector: FaultInjector) -> list[str | None]:
        return [injector.decide("sentinelhub", "GET", "/x", is_auth=False).kind for _ in range(30)]

    config = FaultConfig(rate_limit=0.5, seed=3)
    assert draws(FaultInjector(config, seed=1)) == draws(FaultInjector(config, seed=2))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate_limit": 1.5},
        {"rate_limit": 0.6, "server_error": 0.6},
        {"latency": -1.0},
        {"server_error_status": 404},
    ],
)
def test_fault_config_validation(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="FaultConfig"):
        FaultConfig(**kwargs)


def test_inject_validation() -> None:
    faults = FaultInjector()
    with pytest.raises(ValueError, match="unknown fault kind"):
        faults.inject("explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="count"):
        faults.inject("drop", count=0)
