"""Requests and jobs reach the deployment their collection lives on (the emulator's listeners)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from eoclient import resume_job
from eoclient.emulator import Emulator
from eoclient.emulator.clients import sentinelhub_client
from eoclient.errors import ForeignHostError
from eoclient.sentinelhub import DataCollection, SentinelHub
from eoclient.sentinelhub.data_collections import CREODIAS_URL, MAIN_URL, USWEST_URL

pytestmark = [pytest.mark.integration, pytest.mark.eo_emulator(seed=3, clock_speed=2000.0)]

BBOX = [14.0, 46.0, 14.1, 46.1]
ROLE = "arn:aws:iam::123456789012:role/eoclient-test"
STATS_EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: [{bands: ["B01", "dataMask"]}],
          output: [{id: "default", bands: 1, sampleType: "FLOAT32"}, {id: "dataMask", bands: 1}]};
}
function evaluatePixel(s) { return {default: [s.B01], dataMask: [s.dataMask]}; }
"""
WINDOW = {"from": "2023-06-01T00:00:00Z", "to": "2023-06-30T23:59:59Z"}


def evalscript(*bands: str) -> str:
    return (
        "//VERSION=3\nfunction setup() { return {input: [{bands: ["
        + ", ".join(f'"{b}"' for b in bands)
        + ']}], output: {bands: 1, sampleType: "FLOAT32"}}; }\n'
        f"function evaluatePixel(s) {{ return [s.{bands[0]}]; }}\n"
    )


def process_request(kind: Any, *bands: str) -> dict[str, Any]:
    return {
        "input": {"bounds": {"bbox": BBOX}, "data": [{"type": kind, "dataFilter": {"timeRange": WINDOW}}]},
        "output": {
            "width": 8,
            "height": 8,
            "responses": [{"identifier": "default", "format": {"type": "image/tiff"}}],
        },
        "evalscript": evalscript(*bands),
    }


def where(emu: Emulator, path: str, method: str | None = None) -> list[str | None]:
    """Which deployment answered each request to ``path`` (in order)."""
    return [r.deployment for r in emu.requests if r.path == path and (method is None or r.method == method)]


async def test_process_and_statistics_reach_the_collections_deployment(
    eo_sentinelhub: SentinelHub, eo_emulator: Emulator
) -> None:
    sh, emu = eo_sentinelhub, eo_emulator
    landsat = await sh.process(process_request(DataCollection.LANDSAT_OT_L2, "B04", "B05"))
    olci = await sh.process(process_request("sentinel-3-olci", "B08", "B17"))  # a string routes too
    s2 = await sh.process(process_request(DataCollection.SENTINEL2_L2A, "B04", "B08"))
    assert landsat.content and olci.content and s2.content
    assert where(emu, "/api/v1/process") == [USWEST_URL, CREODIAS_URL, MAIN_URL]
    stats = await sh.statistics(
        {
            "input": {"bounds": {"bbox": BBOX}, "data": [{"type": DataCollection.MODIS}]},
            "aggregation": {
                "timeRange": WINDOW,
                "aggregationInterval": {"of": "P10D"},
                "evalscript": STATS_EVALSCRIPT,
                "width": 8,
                "height": 8,
            },
        }
    )
    assert stats.data is not None
    assert where(emu, "/api/v1/statistics") == [USWEST_URL]
    # one token for every deployment: Sentinel Hub's token endpoint is shared
    assert emu.token_requests("sentinelhub") == 1


async def test_one_session_serves_every_deployment(
    eo_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[aiohttp.ClientSession] = []
    original = aiohttp.ClientSession.__init__

    def counting(self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> None:
        made.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "__init__", counting)
    async with sentinelhub_client(eo_emulator) as sh:
        await sh.process(process_request(DataCollection.SENTINEL2_L2A, "B04", "B08"))
        await sh.process(process_request(DataCollection.LANDSAT_OT_L1, "B04", "B05"))
        await sh.process(process_request(DataCollection.SENTINEL5P, "NO2", "dataMask"))
        assert len(made) == 1
    assert sorted(set(where(eo_emulator, "/api/v1/process")), key=str) == sorted(
        {MAIN_URL, USWEST_URL, CREODIAS_URL}, key=str
    )


async def test_the_bearer_goes_only_to_this_clients_deployments(eo_sentinelhub: SentinelHub) -> None:
    # a host that is no deployment of this client never sees the token (nothing is sent)
    with pytest.raises(ForeignHostError):
        await eo_sentinelhub.request("GET", "http://127.0.0.1:1/api/v1/process")


async def test_async_process_job_created_on_uswest_is_polled_there(
    eo_sentinelhub: SentinelHub, eo_emulator: Emulator
) -> None:
    request = process_request(DataCollection.HARMONIZED_LANDSAT_SENTINEL, "Red", "NIR_Narrow")
    request["output"]["delivery"] = {"s3": {"url": "s3://eoclient-test/async", "iamRoleARN": ROLE}}
    job = await eo_sentinelhub.async_process.create(request, read=False)
    await job
    path = f"/api/v1/async/process/{job.id}"
    assert where(eo_emulator, "/api/v1/async/process") == [USWEST_URL]
    assert where(eo_emulator, path) and set(where(eo_emulator, path)) == {USWEST_URL}
    # resumed in another client: still polled on US-West
    assert '"deployment"' in job.resume_token
    async with sentinelhub_client(eo_emulator) as other:
        resumed = resume_job(job.resume_token, other)
        await resumed
    assert set(where(eo_emulator, path)) == {USWEST_URL}


async def test_batch_job_created_on_uswest_is_driven_and_polled_there(
    eo_sentinelhub: SentinelHub, eo_emulator: Emulator
) -> None:
    spec = {
        "processRequest": {
            "input": {
                "bounds": {"bbox": BBOX},
                "data": [{"type": DataCollection.LANDSAT_OT_L2, "dataFilter": {"timeRange": WINDOW}}],
            },
            "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
            "evalscript": evalscript("B04", "B05"),
        },
        "input": {"type": "tiling-grid", "id": 1, "resolution": 20.0},
        "output": {
            "type": "raster",
            "delivery": {"s3": {"url": "s3://eoclient-test/batch", "iamRoleARN": ROLE}},
        },
        "description": "routed",
    }
    job = await eo_sentinelhub.batch.run(spec)
    done = await job
    assert done.status == "DONE"
    ours = [r for r in eo_emulator.requests if r.path.startswith(f"/api/v2/batch/process/{job.id}")]
    assert {r.path.rsplit("/", 1)[-1] for r in ours} >= {job.id, "analyse", "start"}
    assert {r.deployment for r in ours} == {USWEST_URL}
    # by id, this client remembers where it created the request
    assert (await eo_sentinelhub.batch.get(job.id)).id == job.id
    assert where(eo_emulator, f"/api/v2/batch/process/{job.id}")[-1] == USWEST_URL


async def test_batch_statistics_job_on_creodias(eo_sentinelhub: SentinelHub, eo_emulator: Emulator) -> None:
    request = {
        "input": {
            "features": {"s3": {"url": "s3://eoclient-test/fields.gpkg", "iamRoleARN": ROLE}},
            "data": [{"type": DataCollection.SENTINEL3_OLCI}],
        },
        "aggregation": {
            "timeRange": WINDOW,
            "aggregationInterval": {"of": "P10D"},
            "evalscript": evalscript("B08", "dataMask"),
            "resx": 300,
            "resy": 300,
        },
        "output": {"s3": {"url": "s3://eoclient-test/stats", "iamRoleARN": ROLE}},
    }
    job = await eo_sentinelhub.batch_statistics.create(request, start=True)
    await job
    ours = [r for r in eo_emulator.requests if r.path.startswith("/api/v1/statistics/batch")]
    assert ours and {r.deployment for r in ours} == {CREODIAS_URL}


async def test_main_listener_refuses_a_uswest_collection_in_the_services_shape(
    eo_emulator: Emulator, eo_sentinelhub: SentinelHub
) -> None:
    sh = eo_sentinelhub
    resp = await sh.request(
        "POST", "/api/v1/process", json=process_request("landsat-ot-l2", "B04"), ok={400: True}
    )
    assert resp.status == 400
    error = resp.json()["error"]
    assert error["code"] == "COMMON_BAD_PAYLOAD" and "landsat-ot-l2" in error["message"]
    assert error["errors"][0]["parameter"] == "input->data[0]->type"
    search = {"collections": ["landsat-ot-l2"], "datetime": "2023-06-01T00:00:00Z/2023-06-30T00:00:00Z"}
    found = await sh.request("POST", "/api/v1/catalog/1.0.0/search", json=search, ok={404: True})
    assert found.status == 404 and found.json() == {
        "code": "NotFound",
        "description": "Collection not found.",
    }
    # the same search on US-West is served
    uswest = eo_emulator.deployment_urls[USWEST_URL]
    there = await sh.request("POST", f"{uswest}/api/v1/catalog/1.0.0/search", json=search)
    assert there.json()["type"] == "FeatureCollection"
