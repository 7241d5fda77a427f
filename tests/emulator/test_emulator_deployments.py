"""The emulator's deployment listeners: each serves its own collections and jobs, sharing one state."""

from __future__ import annotations

from typing import Any

import aiohttp

from eoclient.emulator import Emulator
from eoclient.emulator.sentinelhub.deployments import CREODIAS, MAIN, USWEST, serves

BBOX = [14.0, 46.0, 14.1, 46.1]
EVALSCRIPT = """//VERSION=3
function setup() { return {input: ["B08"], output: {bands: 1}}; }
function evaluatePixel(s) { return [s.B08]; }
"""
ROLE = "arn:aws:iam::123456789012:role/eoclient-test"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def body(kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "input": {"bounds": {"bbox": BBOX}, "data": [{"type": kind}]},
        "evalscript": EVALSCRIPT,
        "output": {"width": 8, "height": 8, **extra},
    }


def test_the_table() -> None:
    assert serves(USWEST, "landsat-tm-l1") and not serves(MAIN, "landsat-tm-l1")
    assert serves(CREODIAS, "sentinel-5p-l2") and not serves(USWEST, "sentinel-5p-l2")
    assert all(serves(d, "sentinel-2-l2a") for d in (MAIN, USWEST, CREODIAS))


async def test_each_listener_serves_its_collections_and_refuses_the_others(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str
) -> None:
    urls = eo_emulator.deployment_urls
    assert urls[MAIN] == eo_emulator.sentinelhub_url and len(set(urls.values())) == 3
    assert eo_emulator.info()["sentinelhub_deployments"] == urls
    for deployment, kind, status in [
        (CREODIAS, "sentinel-3-olci", 200),
        (MAIN, "sentinel-3-olci", 400),
        (USWEST, "sentinel-3-olci", 400),
        (USWEST, "sentinel-2-l2a", 200),
        (MAIN, "landsat-mss-l1", 400),
    ]:
        async with http.post(
            urls[deployment] + "/api/v1/process", headers=auth(sh_token), json=body(kind)
        ) as resp:
            assert resp.status == status, (deployment, kind)
            if status == 400:
                error = (await resp.json())["error"]
                assert error["code"] == "COMMON_BAD_PAYLOAD" and kind in error["message"]
                assert error["errors"][0]["parameter"] == "input->data[0]->type"
            else:
                await resp.read()
    # the token of the shared state is good on every listener; the records say which answered
    answered = [(r.deployment, r.status) for r in eo_emulator.requests if r.path == "/api/v1/process"]
    assert answered[0] == (CREODIAS, 200) and answered[1] == (MAIN, 400)


async def test_a_batch_body_names_the_inner_parameter(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str
) -> None:
    spec = {
        "processRequest": body("modis"),
        "input": {"type": "tiling-grid", "id": 1, "resolution": 20.0},
        "output": {"type": "raster", "delivery": {"s3": {"url": "s3://b/x", "iamRoleARN": ROLE}}},
    }
    async with http.post(
        eo_emulator.sentinelhub_url + "/api/v2/batch/process", headers=auth(sh_token), json=spec
    ) as resp:
        assert resp.status == 400
        error = (await resp.json())["error"]
    assert error["errors"][0]["parameter"] == "processRequest->input->data[0]->type"


async def test_a_job_is_known_only_where_it_was_created(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str
) -> None:
    uswest = eo_emulator.deployment_urls[USWEST]
    request = body("landsat-ot-l2", delivery={"s3": {"url": "s3://b/async", "iamRoleARN": ROLE}})
    request["output"]["responses"] = [{"identifier": "default", "format": {"type": "image/tiff"}}]
    async with http.post(uswest + "/api/v1/async/process", headers=auth(sh_token), json=request) as resp:
        assert resp.status == 200, await resp.text()
        ident = (await resp.json())["id"]
    async with http.get(f"{uswest}/api/v1/async/process/{ident}", headers=auth(sh_token)) as resp:
        assert resp.status == 200  # running (the clock runs at real speed)
    async with http.get(
        f"{eo_emulator.sentinelhub_url}/api/v1/async/process/{ident}", headers=auth(sh_token)
    ) as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["message"] == f"Request {ident} not found"


async def test_the_catalog_of_a_listener_holds_its_collections(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str
) -> None:
    urls = eo_emulator.deployment_urls
    path = "/api/v1/catalog/1.0.0/collections/sentinel-5p-l2/items?datetime=2023-06-01T00:00:00Z/.."
    async with http.get(urls[MAIN] + path, headers=auth(sh_token)) as resp:
        assert resp.status == 404
        assert await resp.json() == {"code": "NotFound", "description": "Collection not found."}
    search = "/api/v1/catalog/1.0.0/search?collections=landsat-ot-l2&datetime=2023-06-01T00:00:00Z/.."
    async with http.get(urls[CREODIAS] + search, headers=auth(sh_token)) as resp:
        assert resp.status == 404
    async with http.get(urls[USWEST] + search, headers=auth(sh_token)) as resp:
        assert resp.status == 200, await resp.text()
