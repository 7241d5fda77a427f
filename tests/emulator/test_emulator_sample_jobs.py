"""The sample job API on the Sentinel Hub app."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from eoclient.emulator import Emulator

# Real-time clock: only advance() moves jobs, so no assertion depends on how fast the machine is.
pytestmark = pytest.mark.eo_emulator(clock_speed=1.0)


class Api:
    def __init__(self, http: aiohttp.ClientSession, emu: Emulator, token: str) -> None:
        self.http = http
        self.base = emu.sentinelhub_url + "/_sample/jobs"
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str = "", **kwargs: Any) -> tuple[int, Any]:
        async with self.http.request(method, self.base + path, headers=self.headers, **kwargs) as resp:
            return resp.status, await resp.json()


@pytest.fixture
def api(http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str) -> Api:
    return Api(http, eo_emulator, sh_token)


async def test_lifecycle_success_and_paging(api: Api, eo_emulator: Emulator) -> None:
    status, job = await api.call(
        "POST", json={"phases": [["QUEUED", 2], ["RUNNING", 10]], "results": 5, "pageSize": 2}
    )
    assert status == 201
    assert job["status"] == "QUEUED"
    assert 0 < job["nextTry"] <= 2  # real seconds at speed 1
    assert 0 <= job["progress"] < 0.2
    job_id = job["id"]

    eo_emulator.clock.advance(5)
    status, job = await api.call("GET", f"/{job_id}")
    assert status == 200
    assert job["status"] == "RUNNING"
    assert 0.4 < job["progress"] < 0.6
    assert 0 < job["nextTry"] <= 7
    assert job["error"] is None

    status, body = await api.call("GET", f"/{job_id}/results")
    assert status == 409
    assert body["error"]["status"] == 409

    eo_emulator.clock.advance(10)
    status, job = await api.call("GET", f"/{job_id}")
    assert (job["status"], job["progress"], job["nextTry"], job["error"]) == ("SUCCEEDED", 1.0, 0.0, None)

    items: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"cursor": cursor} if cursor else {}
        status, page = await api.call("GET", f"/{job_id}/results", params=params)
        assert status == 200
        pages += 1
        items.extend(page["items"])
        cursor = page["cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert [i["index"] for i in items] == [0, 1, 2, 3, 4]


async def test_default_job_finishes_with_time(api: Api, eo_emulator: Emulator) -> None:
    status, job = await api.call("POST")
    assert status == 201
    eo_emulator.clock.advance(3600)
    _, job = await api.call("GET", f"/{job['id']}")
    assert job["status"] == "SUCCEEDED"
    _, page = await api.call("GET", f"/{job['id']}/results")
    assert len(page["items"]) == 2


async def test_failed_job(api: Api, eo_emulator: Emulator) -> None:
    _, job = await api.call("POST", json={"phases": [["RUNNING", 1]], "outcome": "FAILED", "error": "boom"})
    _, job = await api.call("GET", f"/{job['id']}")
    assert job["error"] is None
    eo_emulator.clock.advance(1)
    _, job = await api.call("GET", f"/{job['id']}")
    assert (job["status"], job["error"]) == ("FAILED", "boom")
    status, _ = await api.call("GET", f"/{job['id']}/results")
    assert status == 409


async def test_cancelled_outcome_and_cancel(api: Api, eo_emulator: Emulator) -> None:
    _, job = await api.call("POST", json={"phases": [], "outcome": "CANCELLED"})
    assert job["status"] == "CANCELLED"
    status, body = await api.call("POST", f"/{job['id']}/cancel")
    assert status == 409
    assert body["error"]["status"] == 409

    _, job = await api.call("POST", json={"phases": [["RUNNING", 100]]})
    status, job = await api.call("POST", f"/{job['id']}/cancel")
    assert (status, job["status"], job["nextTry"]) == (200, "CANCELLED", 0.0)
    eo_emulator.clock.advance(1000)
    _, job = await api.call("GET", f"/{job['id']}")
    assert job["status"] == "CANCELLED"


@pytest.mark.parametrize(
    "body",
    [
        {"outcome": "EXPLODED"},
        {"phases": "fast"},
        {"phases": [["RUNNING", -1]]},
        {"phases": [["RUNNING"]]},
        {"results": -1},
        {"pageSize": 0},
        {"error": 5},
        [1, 2],
    ],
)
async def test_bad_requests(api: Api, body: Any) -> None:
    status, error = await api.call("POST", json=body)
    assert status == 400
    assert error["error"]["code"] == "COMMON_BAD_PAYLOAD"


async def test_unknown_job_and_bad_cursor(api: Api, eo_emulator: Emulator) -> None:
    status, error = await api.call("GET", "/no-such-job")
    assert status == 404
    assert error["error"]["code"] == "COMMON_NOT_FOUND"
    status, _ = await api.call("POST", "/no-such-job/cancel")
    assert status == 404
    _, job = await api.call("POST", json={"phases": []})
    status, _ = await api.call("GET", f"/{job['id']}/results", params={"cursor": "abc"})
    assert status == 400


async def test_requires_bearer(http: aiohttp.ClientSession, eo_emulator: Emulator) -> None:
    async with http.post(eo_emulator.sentinelhub_url + "/_sample/jobs", json={}) as resp:
        assert resp.status == 401
