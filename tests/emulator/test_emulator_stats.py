"""``/_emulator/stats``: what clients sent, for tests in other processes (at once, per second)."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from eoclient.emulator import Emulator

CATALOG = "/api/v1/catalog/1.0.0/collections/sentinel-2-l2a"


async def test_stats_count_requests_in_flight_and_per_second(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str
) -> None:
    stats = eo_emulator.sentinelhub_url + "/_emulator/stats"
    await http.post(
        eo_emulator.sentinelhub_url + "/_emulator/faults",
        json={"kind": "latency", "count": 3, "seconds": 0.5, "path_prefix": CATALOG},
    )
    since = time.time()

    async def get() -> int:
        headers = {"Authorization": f"Bearer {sh_token}"}
        async with http.get(eo_emulator.sentinelhub_url + CATALOG, headers=headers) as resp:
            await resp.read()
            return resp.status

    assert await asyncio.gather(get(), get(), get()) == [200, 200, 200]
    async with http.get(stats, params={"path_prefix": CATALOG, "since": repr(since)}) as resp:
        seen = await resp.json()
    assert seen == {
        "requests": 3,
        "statuses": {"200": 3},
        "max_per_second": 3,
        "in_flight": 0,
        "max_in_flight": 3,  # the token request before them is not counted
    }
    async with http.delete(stats) as resp:
        assert resp.status == 204
    async with http.get(stats, params={"path_prefix": "/nothing"}) as resp:
        assert await resp.json() == {
            "requests": 0,
            "statuses": {},
            "max_per_second": 0,
            "in_flight": 0,
            "max_in_flight": 0,
        }
    async with http.get(stats, params={"since": "yesterday"}) as resp:
        assert resp.status == 400
