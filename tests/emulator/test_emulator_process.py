"""``python -m eoclient.emulator`` as a real subprocess, and the pytest plugin's marker."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import aiohttp
import pytest

from eoclient.emulator import Emulator, FaultConfig
from eoclient.emulator.__main__ import parse_args, spaceknow_port


async def test_module_serves_and_stops_on_sigterm() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "eoclient.emulator",
        "--port",
        "0",
        "--seed",
        "3",
        "--clock-speed",
        "10",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=20)
        info = json.loads(line)
        creds = info["credentials"]
        assert info["sentinelhub_token_url"].startswith(info["sentinelhub_url"])
        assert info["spaceknow_auth_url"] == info["spaceknow_url"] + "/oauth/ro"
        form = {
            "grant_type": "client_credentials",
            "client_id": creds["sh_client_id"],
            "client_secret": creds["sh_client_secret"],
        }
        async with (
            aiohttp.ClientSession() as http,
            http.post(info["sentinelhub_token_url"], data=form) as resp,
        ):
            assert resp.status == 200
            assert (await resp.json())["token_type"] == "Bearer"
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_spaceknow_port_default() -> None:
    assert spaceknow_port(parse_args(["--port", "8080"])) == 8081
    assert spaceknow_port(parse_args([])) == 0
    assert spaceknow_port(parse_args(["--port", "8080", "--spaceknow-port", "9000"])) == 9000


@pytest.mark.eo_emulator(seed=11, clock_speed=50.0, token_ttl=120.0, faults=FaultConfig(rate_limit=0.5))
async def test_marker_configures_fixture(eo_emulator: Emulator) -> None:
    assert eo_emulator.clock.speed == 50.0
    assert eo_emulator.state.tokens.ttl == 120.0
    assert eo_emulator.faults.config.rate_limit == 0.5
    assert eo_emulator.sentinelhub_url.startswith("http://127.0.0.1:")


async def test_fixture_defaults(eo_emulator: Emulator) -> None:
    assert eo_emulator.clock.speed == 1.0
    assert eo_emulator.faults.config == FaultConfig()
