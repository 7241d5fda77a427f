"""The transport against the emulator's faults: retries, Retry-After units, typed errors."""

from __future__ import annotations

import pytest

from eoclient._http.retry import RetryPolicy
from eoclient._http.transport import Timeouts
from eoclient.emulator import Emulator, FaultConfig
from eoclient.emulator.sample_client import submit_sample_job
from eoclient.errors import RateLimitError, ServerError, TimeoutError, TransportError
from eoclient.sentinelhub import SentinelHub
from eoclient.spaceknow import SpaceKnow
from tests.integration.conftest import sh_client

STATUS = "/_sample/jobs"


async def new_job_id(sh: SentinelHub) -> str:
    job = await submit_sample_job(sh)
    return job.id


def hits(emu: Emulator, path: str) -> list[int | None]:
    return [r.status for r in emu.requests if r.path == path]


async def test_429_with_millisecond_retry_after_is_retried(eo_emulator: Emulator, sh: SentinelHub) -> None:
    job_id = await new_job_id(sh)
    path = f"{STATUS}/{job_id}"
    eo_emulator.faults.inject("rate_limit", path_prefix=path, count=2, retry_after=0.02)
    resp = await sh.request("GET", path)
    assert resp.status == 200
    assert hits(eo_emulator, path) == [429, 429, 200]


async def test_429_in_seconds_for_spaceknow(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    eo_emulator.faults.inject("rate_limit", service="spaceknow", path_prefix="/nope", retry_after=0.01)
    resp = await sk.request("POST", "/nope", json={}, ok={404: True})
    assert resp.status == 404
    assert [r.status for r in eo_emulator.requests if r.path == "/nope"] == [429, 404]


async def test_missing_retry_after_falls_back_to_backoff(eo_emulator: Emulator, sh: SentinelHub) -> None:
    job_id = await new_job_id(sh)
    path = f"{STATUS}/{job_id}"
    eo_emulator.faults.inject("rate_limit", path_prefix=path, retry_after=None)
    assert (await sh.request("GET", path)).status == 200


async def test_5xx_json_and_html_are_retried(eo_emulator: Emulator, sh: SentinelHub) -> None:
    job_id = await new_job_id(sh)
    path = f"{STATUS}/{job_id}"
    eo_emulator.faults.inject("server_error", path_prefix=path, status=503)
    eo_emulator.faults.inject("html_error", path_prefix=path)
    assert (await sh.request("GET", path)).status == 200
    assert hits(eo_emulator, path) == [503, 502, 200]


async def test_persistent_html_error_gives_typed_error(eo_emulator: Emulator, sh: SentinelHub) -> None:
    job_id = await new_job_id(sh)
    path = f"{STATUS}/{job_id}"
    eo_emulator.faults.inject("html_error", path_prefix=path, count=10)
    with pytest.raises(ServerError) as info:
        await sh.request("GET", path, operation="sample.status")
    err = info.value
    assert err.status == 502
    assert err.path == path
    assert err.operation == "sample.status"
    assert err.service_message  # the page's title, not a KeyError
    assert len(hits(eo_emulator, path)) == 4  # the policy's attempts


async def test_rate_limit_exhausted_carries_retry_after(eo_emulator: Emulator) -> None:
    async with sh_client(eo_emulator, retry=RetryPolicy(attempts=2, initial_backoff=0.01)) as sh:
        job_id = await new_job_id(sh)
        path = f"{STATUS}/{job_id}"
        eo_emulator.faults.inject("rate_limit", path_prefix=path, count=5, retry_after=0.01)
        with pytest.raises(RateLimitError) as info:
            await sh.request("GET", path)
    assert info.value.retry_after == pytest.approx(0.01, abs=0.002)


async def test_drop_mid_body_is_retried_for_reads(eo_emulator: Emulator, sh: SentinelHub) -> None:
    job_id = await new_job_id(sh)
    path = f"{STATUS}/{job_id}"
    eo_emulator.faults.inject("drop", path_prefix=path)
    data = (await sh.request("GET", path)).json()
    assert data["id"] == job_id
    assert [r.fault for r in eo_emulator.requests if r.path == path] == ["drop", None]


async def test_drop_on_create_is_not_blindly_retried(eo_emulator: Emulator, sh: SentinelHub) -> None:
    await sh.authenticate()
    eo_emulator.faults.inject("drop", path_prefix=STATUS, method="POST")
    with pytest.raises(TransportError):
        await submit_sample_job(sh)
    creates = [r for r in eo_emulator.requests if r.path == STATUS and r.method == "POST"]
    assert len(creates) == 1  # the job may exist: the client must not create a second one


async def test_5xx_on_create_is_not_retried(eo_emulator: Emulator, sh: SentinelHub) -> None:
    await sh.authenticate()
    eo_emulator.faults.inject("server_error", path_prefix=STATUS, method="POST", status=500)
    with pytest.raises(ServerError):
        await submit_sample_job(sh)
    assert len([r for r in eo_emulator.requests if r.path == STATUS and r.method == "POST"]) == 1


async def test_429_on_create_is_retried(eo_emulator: Emulator, sh: SentinelHub) -> None:
    await sh.authenticate()
    eo_emulator.faults.inject("rate_limit", path_prefix=STATUS, method="POST", retry_after=0.01)
    job = await submit_sample_job(sh)
    assert job.id
    assert [r.status for r in eo_emulator.requests if r.path == STATUS] == [429, 201]


async def test_read_timeout_is_typed(eo_emulator: Emulator) -> None:
    timeouts = Timeouts(connect=1, read=0.05, total=2)
    async with sh_client(eo_emulator, timeouts=timeouts, retry=RetryPolicy.never()) as sh:
        job_id = await new_job_id(sh)
        eo_emulator.faults.inject("latency", path_prefix=f"{STATUS}/{job_id}", seconds=0.5)
        with pytest.raises(TimeoutError):
            await sh.request("GET", f"{STATUS}/{job_id}")


@pytest.mark.eo_emulator(
    seed=7, faults=FaultConfig(rate_limit=0.15, retry_after=0.005, server_error=0.15, drop_mid_body=0.1)
)
async def test_random_faults_with_seed_are_survived(eo_emulator: Emulator) -> None:
    retry = RetryPolicy(attempts=12, initial_backoff=0.001, max_backoff=0.01)
    async with sh_client(eo_emulator, retry=retry) as sh:
        await sh.authenticate()
        eo_emulator.faults.inject("latency", path_prefix="/never", seconds=0)  # queue unaffected
        creates_ok = 0
        for _ in range(10):
            try:
                job = await submit_sample_job(sh)
            except (ServerError, TransportError):
                continue  # a create hit by a 5xx/drop is (correctly) not retried
            creates_ok += 1
            assert (await sh.request("GET", f"{STATUS}/{job.id}")).json()["id"] == job.id
    faults = {r.fault for r in eo_emulator.requests if r.fault}
    assert creates_ok > 0
    assert faults >= {"rate_limit", "server_error"}
