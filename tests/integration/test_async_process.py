"""Async Process requests driven through Job against the emulator."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest

from eoclient._http.retry import RetryPolicy
from eoclient._redact import Secret
from eoclient.emulator import Emulator
from eoclient.emulator.sentinelhub.async_process_engine import async_store
from eoclient.errors import (
    BadRequestError,
    JobCancelledError,
    JobFailedError,
    RateLimitError,
    ValidationError,
)
from eoclient.jobs import JobState
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.async_process import FINISHED, KIND
from eoclient.sentinelhub.async_process_models import AsyncProcessDelivery
from eoclient.sentinelhub.process_models import (
    Bounds,
    InputData,
    OutputFormat,
    OutputResponse,
    ProcessInput,
    ProcessOutput,
    ProcessRequest,
)
from eoclient.sentinelhub.storage import ObjectStorage
from tests.integration.conftest import sh_client

pytestmark = pytest.mark.eo_emulator(clock_speed=400.0)

EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: ["B02", "B03", "B04"], output: [{id: "default", bands: 3, sampleType: "UINT8"}]};
}
function evaluatePixel(s) { return {default: [s.B04, s.B03, s.B02]}; }
"""
ACCESS_KEY = "AKIAASYNCTESTKEY0001"
SECRET_KEY = "async-secret-access-key-do-not-leak-0001"


def request(evalscript: str = EVALSCRIPT, **output: Any) -> dict[str, Any]:
    return {
        "input": {
            "bounds": {"bbox": [13.8, 45.8, 14.5, 46.2]},
            "data": [{"type": "sentinel-2-l2a", "dataFilter": {"mosaickingOrder": "leastCC"}}],
        },
        "output": {
            "width": 4000,  # larger than the Process API allows: Async goes up to 10000
            "height": 3000,
            "responses": [{"identifier": "default", "format": {"type": "image/tiff"}}],
            **output,
        },
        "evalscript": evalscript,
    }


def s3(url: str = "s3://my-bucket/async") -> dict[str, Any]:
    return {"s3": {"url": url, "accessKey": ACCESS_KEY, "secretAccessKey": SECRET_KEY}}


def bucket_check(emu: Emulator):  # type: ignore[no-untyped-def]
    """A user's own bucket check, here against the emulated buckets."""

    async def verify(delivery: AsyncProcessDelivery) -> bool:
        objects = async_store(emu.state).delivered()
        return all(url in objects for url in delivery.outputs.values())

    return verify


async def test_create_watch_and_result(eo_emulator: Emulator, sh: SentinelHub) -> None:
    job = await sh.async_process.create(request(), delivery=s3())
    assert job.kind == KIND
    assert job.status is not None and job.status.raw == "RUNNING"  # from the create answer
    seen = [s async for s in job.watch()]
    assert [s.raw for s in seen] == ["RUNNING", FINISHED]
    assert seen[-1].state is JobState.SUCCEEDED
    delivery = await job
    assert delivery.request_id == job.id
    assert delivery.url == "s3://my-bucket/async"
    assert delivery.outputs == {"default": f"s3://my-bucket/async/{job.id}/default.tif"}
    assert delivery.verified is True  # the job read the bucket
    [found] = delivery.objects
    assert found.url == delivery.outputs["default"] and found.output == "default"
    assert found.size == async_store(eo_emulator.state).delivered()[found.url]
    # The status endpoint forgets a finished request, as the OpenAPI document says.
    assert await sh.async_process.status(job.id) is None


async def test_status_while_running(eo_emulator: Emulator, sh: SentinelHub) -> None:
    eo_emulator.clock.speed = 1.0  # only advance() moves it now
    job = await sh.async_process.create(request(), delivery="s3://my-bucket/async")
    assert await sh.async_process.status(job.id) == "RUNNING"
    assert (await job.refresh()).raw == "RUNNING"
    eo_emulator.clock.advance(3600)
    assert await sh.async_process.status(job.id) is None
    assert (await job.refresh()).raw == FINISHED


async def test_verify_hook_confirms_the_outputs(eo_emulator: Emulator, sh: SentinelHub) -> None:
    job = await sh.async_process.create(request(), delivery=s3(), verify=bucket_check(eo_emulator))
    delivery = await job
    assert delivery.verified is True


async def test_failed_request_is_found_by_the_verify_hook(eo_emulator: Emulator, sh: SentinelHub) -> None:
    failing = EVALSCRIPT.replace("evaluatePixel(s) {", "evaluatePixel(s) { fail();")
    job = await sh.async_process.create(request(failing), delivery=s3(), verify=bucket_check(eo_emulator))
    with pytest.raises(JobFailedError) as info:
        await job
    assert "outputs are not at s3://my-bucket/async" in str(info.value)
    assert job.status is not None and job.status.state is JobState.FAILED


async def test_failure_is_invisible_without_reading(eo_emulator: Emulator, sh: SentinelHub) -> None:
    """The API answers 404 after success and failure alike: without reading the bucket both 'finish'."""
    job = await sh.async_process.create(request(), delivery="s3://fail-bucket/async", read=False)
    delivery = await job
    assert delivery.verified is False and delivery.objects == ()
    assert delivery.outputs["default"] not in async_store(eo_emulator.state).delivered()


async def test_templated_delivery_url(sh: SentinelHub) -> None:
    responses = [
        {"identifier": "default", "format": {"type": "image/tiff"}},
        {"identifier": "userdata", "format": {"type": "application/json"}},
    ]
    job = await sh.async_process.create(
        request(responses=responses), delivery="s3://my-bucket/runs/<REQUEST_ID>/out_<OUTPUT>"
    )
    delivery = await job
    assert delivery.outputs == {
        "default": f"s3://my-bucket/runs/{job.id}/out_default.tif",
        "userdata": f"s3://my-bucket/runs/{job.id}/out_userdata.json",
    }


async def test_typed_request_and_delivery_with_secret_objects(eo_emulator: Emulator, sh: SentinelHub) -> None:
    typed = ProcessRequest(
        input=ProcessInput(
            bounds=Bounds.from_bbox([13.8, 45.8, 14.5, 46.2]), data=[InputData(type="sentinel-2-l2a")]
        ),
        output=ProcessOutput(
            width=512,
            height=512,
            responses=[OutputResponse(identifier="default", format=OutputFormat(type="image/png"))],
        ),
        evalscript=EVALSCRIPT,
    )
    delivery = ObjectStorage.from_s3(
        "s3://my-bucket/typed", access_key=Secret(ACCESS_KEY), secret_access_key=Secret(SECRET_KEY)
    )
    job = await sh.async_process.create(typed, delivery=delivery)
    sent = next(r for r in eo_emulator.requests if r.method == "POST" and r.path == "/api/v1/async/process")
    assert sent.body is not None and SECRET_KEY.encode() in sent.body  # the service gets the keys...
    assert SECRET_KEY not in repr(delivery) and ACCESS_KEY not in repr(delivery)  # ...nobody else sees them
    assert (await job).outputs == {"default": f"s3://my-bucket/typed/{job.id}/default.png"}


async def test_resume_token_and_reattach_by_id(eo_emulator: Emulator, sh: SentinelHub) -> None:
    eo_emulator.clock.speed = 1.0
    job = await sh.async_process.create(request(), delivery=s3())
    token = job.resume_token
    assert job.id in token
    assert SECRET_KEY not in token and ACCESS_KEY not in token
    eo_emulator.clock.advance(3600)
    async with sh_client(eo_emulator) as other:  # e.g. another process after a restart
        resumed = other.resume_job(token)
        assert resumed.kind == KIND and resumed.id == job.id
        delivery = await resumed
        assert delivery.outputs == {"default": f"s3://my-bucket/async/{job.id}/default.tif"}
        by_id = other.async_process.job(job.id)
        bare = await by_id
        assert bare.request_id == job.id and bare.url is None and bare.outputs == {}


async def test_cancel_stops_polling_but_the_service_cannot_stop(
    eo_emulator: Emulator, sh: SentinelHub
) -> None:
    eo_emulator.clock.speed = 1.0
    job = await sh.async_process.create(request(), delivery=s3())
    outcome: list[BaseException] = []

    async def waiter() -> None:
        try:
            await job
        except JobCancelledError as exc:
            outcome.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await anyio.sleep(0.02)
        assert await job.cancel() is False  # no cancel operation in the API
    assert len(outcome) == 1
    assert await sh.async_process.status(job.id) == "RUNNING"


async def test_too_many_concurrent_requests_is_429(eo_emulator: Emulator) -> None:
    eo_emulator.clock.speed = 1.0
    async_store(eo_emulator.state).max_concurrent = 1
    async with sh_client(eo_emulator, retry=RetryPolicy.never()) as sh:
        await sh.async_process.create(request(), delivery=s3())
        with pytest.raises(RateLimitError) as info:
            await sh.async_process.create(request(), delivery=s3())
        assert info.value.retry_after is not None and info.value.retry_after > 0
    eo_emulator.clock.advance(3600)  # the running one finishes: room again
    async with sh_client(eo_emulator) as fresh:  # (the first client's limiter now waits out the hint)
        await fresh.async_process.create(request(), delivery=s3())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r, "output.delivery"),  # no delivery at all
        (
            lambda r: {**r, "output": {**r["output"], "delivery": {"s3": {"url": "https://x/y"}}}},
            "output.delivery.s3.url",
        ),
        (
            lambda r: {
                **r,
                "output": {**r["output"], "delivery": {"s3": {"url": "s3://b", "accessKey": "AKIAONLYKEY"}}},
            },
            "output.delivery.s3.secretAccessKey",
        ),
        (
            lambda r: {**r, "output": {**r["output"], "delivery": {"s3": {"url": "s3://b/<DATE>/<OUTPUT>"}}}},
            "output.delivery.s3.url",
        ),
        (
            lambda r: {**r, "output": {**r["output"], "delivery": {"s3": {"url": "s3://b/<REQUEST_ID>"}}}},
            "output.delivery.s3.url",
        ),
        (
            lambda r: {
                **r,
                "output": {**r["output"], "delivery": {"s3": {"url": "s3://b"}, "gs": {"url": "gs://b"}}},
            },
            "output.delivery",
        ),
        (
            lambda r: {
                **r,
                "output": {**r["output"], "width": 10_001, "delivery": {"s3": {"url": "s3://b"}}},
            },
            "output.width",
        ),
        (
            lambda r: {
                **r,
                "evalscriptReference": {"s3": {"url": "s3://b/script.js"}},
                "output": {**r["output"], "delivery": {"s3": {"url": "s3://b"}}},
            },
            "evalscript",
        ),
        (
            lambda r: {
                **r,
                "evalscript": " ",
                "output": {**r["output"], "delivery": {"s3": {"url": "s3://b"}}},
            },
            "evalscript",
        ),
        (
            lambda r: {
                **r,
                "input": {**r["input"], "bounds": {}},
                "output": {**r["output"], "delivery": {"s3": {"url": "s3://b"}}},
            },
            "input.bounds",
        ),
        (
            lambda r: {
                **r,
                "output": {
                    **r["output"],
                    "responses": [{"format": {"type": "image/gif"}}],
                    "delivery": {"s3": {"url": "s3://b"}},
                },
            },
            "output.responses[0].format.type",
        ),
    ],
)
async def test_invalid_requests_are_refused_before_sending(
    eo_emulator: Emulator, sh: SentinelHub, change: Any, field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await sh.async_process.create(change(request()))
    assert info.value.field == field
    assert eo_emulator.requests == []


async def test_invalid_delivery_argument_and_ids_are_refused_before_sending(
    eo_emulator: Emulator, sh: SentinelHub
) -> None:
    with pytest.raises(ValidationError) as info:
        await sh.async_process.create(request(), delivery="gs://bucket/x")
    assert info.value.field == "delivery.gs.credentials"
    with pytest.raises(ValidationError) as info:
        await sh.async_process.create(request(), delivery={"s3": {"url": "s3://b", "iamRoleARN": "role/x"}})
    assert info.value.field == "delivery.s3.iamRoleARN"
    with pytest.raises(ValidationError):
        sh.async_process.job("not-a-uuid")
    with pytest.raises(ValidationError):
        await sh.async_process.status("12345")
    assert eo_emulator.requests == []


async def test_evalscript_reference_instead_of_evalscript(sh: SentinelHub) -> None:
    body = request()
    del body["evalscript"]
    body["evalscriptReference"] = {
        "s3": {"url": "s3://my-bucket/script.js", "iamRoleARN": "arn:aws:iam::1:role/sh"}
    }
    job = await sh.async_process.create(body, delivery=s3())
    assert (await job).url == "s3://my-bucket/async"


async def test_service_refusal_is_a_bad_request(sh: SentinelHub) -> None:
    body = request(responses=[{"identifier": "ndvi", "format": {"type": "image/tiff"}}])
    with pytest.raises(BadRequestError) as info:
        await sh.async_process.create(body, delivery=s3())
    assert "ndvi" in str(info.value)


async def test_secrets_never_in_logs_reprs_or_errors(
    eo_emulator: Emulator, sh: SentinelHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="eoclient")
    job = await sh.async_process.create(request(), delivery=s3(), verify=bucket_check(eo_emulator))
    delivery = await job
    texts = [caplog.text, repr(job), repr(job.strategy), job.resume_token, repr(delivery)]
    with pytest.raises(ValidationError) as info:
        await sh.async_process.create(request(), delivery={"s3": {"url": "s3://b", "accessKey": SECRET_KEY}})
    texts += [str(info.value), repr(info.value)]
    bad = {"s3": {"url": "s3://b", "accessKey": ACCESS_KEY, "secretAccessKey": SECRET_KEY}}
    failing = request(responses=[{"identifier": "nope"}])
    with pytest.raises(BadRequestError) as refused:
        await sh.async_process.create(failing, delivery=bad)
    texts += [str(refused.value), repr(refused.value)]
    assert caplog.records, "expected log events"
    for text in texts:
        assert SECRET_KEY not in text
        assert ACCESS_KEY not in text
