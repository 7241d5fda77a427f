"""Jobs deliver their outputs into object storage as they progress (issue #12), read back over S3.

The emulator's own store is read with boto3 pointed at ``emu.s3_url``; a real S3
server (moto, fixture ``s3``) with ``Emulator(s3_endpoint=...)``. Time is moved
with ``emu.clock.advance`` (the clock runs at real speed), never waited for.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.sentinelhub.async_process_engine import async_store
from eoclient.emulator.sentinelhub.batch_engine import ANALYSIS_SECONDS, PROCESSING_SECONDS
from tests.s3server import emulator_s3_client as own_store

EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: ["B04", "B08"], output: [{id: "default", bands: 3}, {id: "ndvi", bands: 1}]};
}
function evaluatePixel(s) { return {default: [s.B04, s.B08, 0], ndvi: [0]}; }
"""
DATA = [
    {
        "type": "sentinel-2-l2a",
        "dataFilter": {"timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-30T00:00:00Z"}},
    }
]
BOUNDS = {"bbox": [13.8, 45.8, 14.5, 46.2]}


def batch_v2(url: str, kind: str = "raster", description: str = "deliveries") -> dict[str, Any]:
    media = "zarr/array" if kind == "zarr" else "image/tiff"
    output: dict[str, Any] = {"type": kind, "delivery": {"s3": {"url": url}}}
    if kind == "zarr":
        output["group"] = {"zarr_format": 2}
    return {
        "processRequest": {
            "input": {"bounds": BOUNDS, "data": DATA},
            "output": {
                "responses": [
                    {"identifier": "default", "format": {"type": media}},
                    {"identifier": "ndvi", "format": {"type": media}},
                ]
            },
            "evalscript": EVALSCRIPT,
        },
        "input": {"type": "tiling-grid", "id": 0, "resolution": 60.0},
        "output": output,
        "description": description,
    }


class Api:
    """Plain HTTP to the emulated Sentinel Hub (a bearer from its token endpoint)."""

    def __init__(self, emu: Emulator, session: aiohttp.ClientSession) -> None:
        self.emu, self.session, self.token = emu, session, ""

    async def login(self) -> None:
        creds = self.emu.credentials
        form = {
            "grant_type": "client_credentials",
            "client_id": creds.sh_client_id,
            "client_secret": creds.sh_client_secret,
        }
        async with self.session.post(self.emu.sentinelhub_token_url, data=form) as r:
            self.token = (await r.json())["access_token"]

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        url = self.emu.sentinelhub_url + path
        async with self.session.request(method, url, json=body, headers=headers) as r:
            assert r.status < 300, await r.text()
            return await r.json() if r.content_type == "application/json" else None


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def keys(client: Any, bucket: str, prefix: str = "") -> list[str]:
    def run() -> list[str]:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    return await asyncio.to_thread(run)


async def run_batch(
    emu: Emulator, api: Api, body: dict[str, Any], client: Any, bucket: str
) -> tuple[str, list[str], list[str]]:
    """Create and start; the keys listed halfway through processing and at the end."""
    task = await api.call("POST", "/api/v2/batch/process", body)
    await api.call("POST", f"/api/v2/batch/process/{task['id']}/start")
    emu.clock.advance(ANALYSIS_SECONDS + PROCESSING_SECONDS / 2)
    await api.call("GET", f"/api/v2/batch/process/{task['id']}")
    mid = await keys(client, bucket)
    emu.clock.advance(PROCESSING_SECONDS)
    done = await api.call("GET", f"/api/v2/batch/process/{task['id']}")
    assert done["status"] == "DONE"
    return task["id"], mid, await keys(client, bucket)


async def test_batch_v2_tiles_appear_as_they_finish(session: aiohttp.ClientSession) -> None:
    async with Emulator(seed=3) as emu:
        api = Api(emu, session)
        await api.login()
        client = own_store(emu)
        rid, mid, end = await run_batch(emu, api, batch_v2("s3://results/runs"), client, "results")
        tiles = {k.split("/")[2] for k in end}
        assert all(k.startswith(f"runs/{rid}/tile-") for k in end)
        assert len(end) == 2 * len(tiles) and {k.rsplit("/", 1)[1] for k in end} == {
            "default.tif",
            "ndvi.tif",
        }
        assert 0 < len(mid) < len(end) and set(mid) < set(end)
        got = await asyncio.to_thread(client.get_object, Bucket="results", Key=end[0])
        data = got["Body"].read()
        assert data[:4] == b"II*\x00"
        assert got["ContentLength"] == len(data)
        assert got["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'


async def test_batch_v2_zarr_arrays_and_chunks(session: aiohttp.ClientSession) -> None:
    async with Emulator() as emu:
        api = Api(emu, session)
        await api.login()
        client = own_store(emu)
        rid, mid, end = await run_batch(emu, api, batch_v2("s3://z/out/<requestId>", "zarr"), client, "z")
        root = f"out/{rid}/"
        assert {root + ".zgroup", root + ".zattrs", root + "default/.zarray", root + "ndvi/.zarray"} <= set(
            end
        )
        assert 0 < len(mid) < len(end)
        zarray = json.loads(
            (await asyncio.to_thread(client.get_object, Bucket="z", Key=root + "default/.zarray"))[
                "Body"
            ].read()
        )
        assert zarray["zarr_format"] == 2 and zarray["shape"][0] == 3
        chunks = [k for k in end if k.startswith(root + "ndvi/") and not k.rsplit("/", 1)[1].startswith(".")]
        assert chunks and all(k.rsplit("/", 1)[1].count(".") == 1 for k in chunks)


async def test_legacy_batch_delivers_under_its_tile_path(session: aiohttp.ClientSession) -> None:
    async with Emulator() as emu:
        api = Api(emu, session)
        await api.login()
        body = batch_v2("unused")
        legacy = {
            "processRequest": body["processRequest"],
            "tilingGrid": {"id": 0, "resolution": 60.0},
            "output": {"defaultTilePath": "s3://legacy/<tileName>/<outputId>.<format>"},
        }
        task = await api.call("POST", "/api/v1/batch/process", legacy)
        await api.call("POST", f"/api/v1/batch/process/{task['id']}/start")
        emu.clock.advance(ANALYSIS_SECONDS + 2 * PROCESSING_SECONDS)
        tiles = await api.call("GET", f"/api/v1/batch/process/{task['id']}/tiles?count=100")
        end = await keys(own_store(emu), "legacy")
        assert sorted(end) == sorted(
            f"tile-{t['id']}/{o}.tif" for t in tiles["data"] for o in ("default", "ndvi")
        )


async def test_async_process_delivers_when_done(session: aiohttp.ClientSession) -> None:
    async with Emulator() as emu:
        api = Api(emu, session)
        await api.login()
        body = {
            "input": {"bounds": BOUNDS, "data": DATA},
            "output": {
                "width": 100,
                "height": 100,
                "responses": [{"identifier": "default", "format": {"type": "image/tiff"}}],
                "delivery": {"s3": {"url": "s3://async-out/x"}},
            },
            "evalscript": EVALSCRIPT,
        }
        job = await api.call("POST", "/api/v1/async/process", body)
        client = own_store(emu)
        assert (
            await asyncio.to_thread(client.list_objects_v2, Bucket="async-out") is not None
        )  # the bucket exists
        assert await keys(client, "async-out") == []
        emu.clock.advance(120)
        assert await keys(client, "async-out") == [f"x/{job['id']}/default.tif"]
        head = await asyncio.to_thread(
            client.head_object, Bucket="async-out", Key=f"x/{job['id']}/default.tif"
        )
        assert async_store(emu.state).delivered() == {
            f"s3://async-out/x/{job['id']}/default.tif": head["ContentLength"]
        }


async def test_batch_statistical_one_json_per_feature(session: aiohttp.ClientSession) -> None:
    async with Emulator() as emu:
        api = Api(emu, session)
        await api.login()
        body = {
            "input": {"features": {"s3": {"url": "s3://in/features.gpkg"}}, "data": DATA},
            "aggregation": {
                "timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-10T00:00:00Z"},
                "aggregationInterval": {"of": "P5D"},
                "evalscript": EVALSCRIPT.replace('"ndvi", bands: 1', '"dataMask", bands: 1'),
            },
            "output": {"s3": {"url": "s3://stats/<REQUEST_ID>/<ID>.json"}},
        }
        req = await api.call("POST", "/api/v1/statistics/batch", body)
        await api.call("POST", f"/api/v1/statistics/batch/{req['id']}/start")
        emu.clock.advance(10_000)
        status = await api.call("GET", f"/api/v1/statistics/batch/{req['id']}/status")
        assert status["status"] == "DONE"
        client = own_store(emu)
        end = await keys(client, "stats")
        assert len(end) >= 10 and f"{req['id']}/1.json" in end
        answer = json.loads(
            (await asyncio.to_thread(client.get_object, Bucket="stats", Key=f"{req['id']}/1.json"))[
                "Body"
            ].read()
        )
        assert answer["status"] in ("OK", "PARTIAL", "FAILED") and answer["data"]
