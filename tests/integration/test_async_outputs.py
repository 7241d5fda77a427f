"""Async Process jobs yield what they delivered, read from the store.

``await job``, ``job.outputs()``, ``job.results()``, ``job.download()``,
against the emulator's own S3 API and against a real S3 server (moto, fixture ``s3``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.clients import sentinelhub_client
from eoclient.emulator.sentinelhub.async_process_engine import async_store
from eoclient.errors import (
    ConfigurationError,
    JobFailedError,
    MissingOutputsError,
    UnsupportedOperationError,
)
from eoclient.jobs import JobState
from eoclient.storage import StorageSettings
from tests.integration.test_async_process import EVALSCRIPT, request, s3

pytestmark = pytest.mark.eo_emulator(seed=4, clock_speed=400.0)

FAILING = EVALSCRIPT.replace("evaluatePixel(s) {", "evaluatePixel(s) { fail();")
TWO = """//VERSION=3
function setup() {
  return {input: ["B04", "dataMask"], output: [{id: "default", bands: 1}, {id: "mask", bands: 1}]};
}
function evaluatePixel(s) { return {default: [s.B04], mask: [s.dataMask]}; }
"""
TWO_RESPONSES = [
    {"identifier": "default", "format": {"type": "image/tiff"}},
    {"identifier": "mask", "format": {"type": "image/png"}},
]


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def posts(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.method == "POST" and r.path == "/api/v1/async/process")


async def test_await_job_returns_the_objects_found_in_the_store(eo_emulator: Emulator) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.async_process.create(request(TWO, responses=TWO_RESPONSES), delivery=s3())
        delivery = await job
        assert delivery.verified is True
        assert [o.output for o in delivery.objects] == ["default", "mask"]
        written = async_store(eo_emulator.state).delivered()
        for out in delivery.objects:
            assert out.url == delivery.outputs[out.output or ""]
            assert out.key == f"async/{job.id}/{out.path}" and out.size == written[out.url]
            assert out.checksum and len(await out.read()) == out.size
        assert [o async for o in job.outputs()] == list(delivery.objects)
        assert [o async for o in job.results()] == list(delivery.objects)


async def test_a_late_object_is_waited_for(eo_emulator: Emulator) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.async_process.create(request(), delivery=s3("s3://late-bucket/async"))
        # The output shows up 200 emulated seconds after the request finished.
        eo_emulator.faults.inject("late", path_prefix=f"/late-bucket/async/{job.id}/", seconds=200.0)
        statuses = [s async for s in job.watch()]
        delivery = await job
        assert [o.output for o in delivery.objects] == ["default"] and delivery.verified
        waiting = [s for s in statuses if s.raw == "FINISHED" and s.state is JobState.RUNNING]
        assert waiting and "waiting for 1 of its outputs" in (waiting[0].message or "")
        assert statuses[-1].state is JobState.SUCCEEDED


async def test_outputs_missing_after_grace_fail_the_job_naming_them(eo_emulator: Emulator) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        # The service fails the request: it writes nothing, and its status answers 404 as for a success.
        job = await sh.async_process.create(request(FAILING), delivery=s3(), grace=0.2)
        key = f"s3://my-bucket/async/{job.id}/default.tif"
        with pytest.raises(JobFailedError) as info:
            await job
        assert key in str(info.value) and "within 0.2 s" in str(info.value)
        assert job.status is not None and job.status.state is JobState.FAILED
        with pytest.raises(JobFailedError) as again:  # outputs() agrees, at once
            async for _ in job.outputs(grace=30):
                pass
        assert key in str(again.value)


async def test_without_reading_outputs_still_wait_and_say_what_is_missing(eo_emulator: Emulator) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.async_process.create(request(FAILING), delivery=s3(), read=False)
        delivery = await job  # the API cannot say it failed
        assert delivery.verified is False and delivery.objects == ()
        with pytest.raises(MissingOutputsError) as info:
            async for _ in job.outputs(grace=0.2):
                pass
        assert info.value.missing == [f"async/{job.id}/default.tif"]


async def test_download_then_rerun_skips(eo_emulator: Emulator, tmp_path: Path) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.async_process.create(request(TWO, responses=TWO_RESPONSES), delivery=s3())
        report = await job.download(tmp_path)
        assert not report.failures and names(tmp_path) == [
            "default.tif",
            "mask.png",
        ]
        delivery = await job
        for out in delivery.objects:
            assert (tmp_path / out.path).read_bytes() == await out.read()
        again = await job.download(tmp_path)
        assert len(again.skipped) == 2 and not again.downloaded


async def test_resume_tokens_old_and_new_give_the_same_objects(eo_emulator: Emulator) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.async_process.create(request(), delivery=s3())
        token = job.resume_token
        delivery = await job
        data = json.loads(token)
        assert data["data"]["read"] is True
        del data["data"]["read"]  # a token written before the store was read
        old = json.dumps(data)
    async with sentinelhub_client(eo_emulator) as other:
        for saved in (token, old):
            resumed = other.resume_job(saved)
            got = await resumed
            assert got.verified and [o.key for o in got.objects] == [o.key for o in delivery.objects]
            assert [o.key async for o in resumed.outputs()] == [o.key for o in delivery.objects]


async def test_store_faults_503_and_drop_are_survived(eo_emulator: Emulator, tmp_path: Path) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.async_process.create(request(), delivery=s3())
        eo_emulator.faults.inject("server_error", service="s3", count=2)
        delivery = await job
        eo_emulator.faults.inject(
            "drop", service="s3", method="GET", path_prefix=f"/my-bucket/async/{job.id}/"
        )
        report = await job.download(tmp_path)
        assert not report.failures
        [out] = delivery.objects
        assert (tmp_path / "default.tif").read_bytes() == await out.read()
        faults = [r.fault for r in eo_emulator.requests if r.service == "s3" and r.fault]
        assert faults.count("server_error") == 2 and "drop" in faults


async def test_without_the_s3_extra_nothing_is_sent(
    eo_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        monkeypatch.setitem(sys.modules, "obstore", None)  # import obstore fails
        with pytest.raises(ConfigurationError, match=r"eoclient\[s3\]"):
            await sh.async_process.create(request(), delivery=s3())
        assert posts(eo_emulator) == 0
        job = await sh.async_process.create(request(), delivery=s3(), read=False)  # the opt-out
        assert (await job).verified is False and posts(eo_emulator) == 1


async def test_a_gs_delivery_needs_the_opt_out(eo_emulator: Emulator) -> None:
    gs = {"gs": {"url": "gs://bucket/async", "credentials": "eyJ0eXBlIjogInNlcnZpY2UifQ=="}}
    async with sentinelhub_client(eo_emulator) as sh:
        with pytest.raises(UnsupportedOperationError, match="read=False"):
            await sh.async_process.create(request(), delivery=gs)
        assert posts(eo_emulator) == 0


async def test_objects_from_a_real_s3_server(s3: Any) -> None:
    bucket = s3.bucket("async")
    async with Emulator(
        clock_speed=400.0,
        s3_endpoint=s3.endpoint,
        s3_access_key=s3.access_key,
        s3_secret_key=s3.secret_key,
        s3_region=s3.region,
    ) as emu:
        storage = StorageSettings(
            endpoint=s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key, region=s3.region
        )
        async with sentinelhub_client(emu, storage=storage) as sh:
            job = await sh.async_process.create(
                request(), delivery=f"s3://{bucket}/out/<REQUEST_ID>/<OUTPUT>"
            )
            delivery = await job
        [out] = delivery.objects
        assert out.key == f"out/{job.id}/default.tif"
        body = s3.client().get_object(Bucket=bucket, Key=out.key)["Body"].read()
        assert len(body) == out.size
        assert emu.objects.buckets == []  # nothing went to the emulator's own store
