"""Deliveries into a real S3 server (moto, fixture ``s3``): ``Emulator(s3_endpoint=...)``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.sentinelhub.batch_engine import ANALYSIS_SECONDS, PROCESSING_SECONDS
from tests.integration.test_deliveries import Api, batch_v2, keys, own_store, run_batch


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def emulator(s3: Any) -> Emulator:
    return Emulator(
        s3_endpoint=s3.endpoint, s3_access_key=s3.access_key, s3_secret_key=s3.secret_key, s3_region=s3.region
    )


async def test_batch_tiles_go_to_the_real_store(s3: Any, session: aiohttp.ClientSession) -> None:
    bucket = s3.bucket("deliveries")
    async with emulator(s3) as emu:
        api = Api(emu, session)
        await api.login()
        rid, mid, end = await run_batch(
            emu, api, batch_v2(f"s3://{bucket}/<requestId>/<tileName>/<outputId>.tif"), s3.client(), bucket
        )
        assert 0 < len(mid) < len(end) and all(k.startswith(f"{rid}/tile-") for k in end)
        assert emu.objects.buckets == []  # nothing went to the emulator's own store


async def test_a_missing_bucket_fails_the_job(s3: Any, session: aiohttp.ClientSession) -> None:
    async with emulator(s3) as emu:
        api = Api(emu, session)
        await api.login()
        task = await api.call("POST", "/api/v2/batch/process", batch_v2("s3://no-such-bucket-here/out"))
        await api.call("POST", f"/api/v2/batch/process/{task['id']}/start")
        emu.clock.advance(ANALYSIS_SECONDS + PROCESSING_SECONDS)
        done = await api.call("GET", f"/api/v2/batch/process/{task['id']}")
        assert done["status"] == "FAILED"
        assert "Could not access bucket no-such-bucket-here" in done["error"]


async def test_own_store_missing_bucket_when_not_auto_created(session: aiohttp.ClientSession) -> None:
    async with Emulator() as emu:
        emu.objects.auto_create = False
        api = Api(emu, session)
        await api.login()
        task = await api.call("POST", "/api/v2/batch/process", batch_v2("s3://nobody-made-it/out"))
        await api.call("POST", f"/api/v2/batch/process/{task['id']}/start")
        emu.clock.advance(ANALYSIS_SECONDS)
        done = await api.call("GET", f"/api/v2/batch/process/{task['id']}")
        assert done["status"] == "FAILED" and "nobody-made-it" in done["error"]
        emu.objects.create_bucket("made")
        assert await keys(own_store(emu), "made") == []
