"""Batch Statistical requests: every operation against the emulator, every end through Job."""

from __future__ import annotations

import itertools
import logging
from typing import Any

import anyio
import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.sentinelhub.batch_statistics_engine import ANALYSIS_SECONDS, batch_statistics_store
from eoclient.errors import (
    BadRequestError,
    JobCancelledError,
    JobFailedError,
    NotFoundError,
    ValidationError,
)
from eoclient.jobs import JobState, JobStatus
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.batch_statistics import KIND
from eoclient.sentinelhub.batch_statistics_models import BatchStatisticsTask
from tests.integration.conftest import sh_client

pytestmark = pytest.mark.eo_emulator(clock_speed=400.0)

EVALSCRIPT = """//VERSION=3
function setup() {
  return {
    input: [{bands: ["B04", "dataMask"]}],
    output: [{id: "output_B04", bands: 1, sampleType: "FLOAT32"}, {id: "dataMask", bands: 1}]
  };
}
function evaluatePixel(samples) {
  return {output_B04: [samples.B04], dataMask: [samples.dataMask]};
}
"""
ACCESS_KEY = "AKIABATCHSTATSKEY001"
SECRET_KEY = "batch-stats-secret-access-key-0001-do-not-leak"


def s3(url: str) -> dict[str, Any]:
    return {"s3": {"url": url, "accessKey": ACCESS_KEY, "secretAccessKey": SECRET_KEY}}


def request(
    *,
    features: str = "s3://my-bucket/fields.gpkg",
    output: str = "s3://my-bucket/results",
    evalscript: str = EVALSCRIPT,
) -> dict[str, Any]:
    """The documentation's example request."""
    return {
        "input": {
            "features": s3(features),
            "data": [{"type": "sentinel-2-l2a", "dataFilter": {"mosaickingOrder": "leastCC"}}],
        },
        "aggregation": {
            "timeRange": {"from": "2020-06-01T00:00:00Z", "to": "2020-07-31T00:00:00Z"},
            "aggregationInterval": {"of": "P30D"},
            "evalscript": evalscript,
            "resx": 10,
            "resy": 10,
        },
        "calculations": {"output_B04": {"statistics": {"default": {"percentiles": {"k": [0.1, 0.5, 0.9]}}}}},
        "output": s3(output),
    }


# -- the lifecycle, step by step (the clock only moves when told) ---------------------------------


@pytest.mark.eo_emulator(clock_speed=1.0)
async def test_every_operation_in_order(eo_emulator: Emulator, sh: SentinelHub) -> None:
    bs = sh.batch_statistics
    job = await bs.create(request())
    assert job.kind == KIND
    assert job.status is not None and (job.status.raw, job.status.state) == ("CREATED", JobState.PENDING)
    created = await bs.get(job.id)
    assert created.status == "CREATED" and created.user_action == "NONE"
    assert created.request is not None and created.request.output is not None
    assert created.request.output.url == "s3://my-bucket/results"

    await bs.analyse(job)
    status = await bs.status(job.id)
    assert status.status == "ANALYSING" and status.completion_percentage == 0
    with pytest.raises(BadRequestError):
        await bs.analyse(job.id)  # only a CREATED request can be analysed

    eo_emulator.clock.advance(ANALYSIS_SECONDS + 1)
    assert (await bs.status(job.id)).status == "ANALYSIS_DONE"
    assert (await job.refresh()).state is JobState.PENDING  # waits for start()

    await bs.start(job.id)
    assert (await bs.get(job.id)).user_action == "START"
    eo_emulator.clock.advance(5)
    processing = await bs.status(job.id)
    assert processing.status == "PROCESSING"
    assert processing.completion_percentage is not None and 0 < processing.completion_percentage < 100
    with pytest.raises(BadRequestError):
        await bs.start(job.id)  # already processing

    eo_emulator.clock.advance(3600)
    done = await job
    assert isinstance(done, BatchStatisticsTask)
    assert (done.status, done.completion_percentage) == ("DONE", 100)
    assert done.cost_pu is not None and done.cost_pu > 0
    with pytest.raises(BadRequestError):
        await bs.stop(job.id)  # finished
    assert await job.cancel() is False  # a job that ended is left alone


@pytest.mark.eo_emulator(clock_speed=1.0)
async def test_start_from_created_analyses_first(eo_emulator: Emulator, sh: SentinelHub) -> None:
    job = await sh.batch_statistics.create(request(), start=True)
    assert (await sh.batch_statistics.status(job)).status == "ANALYSING"
    eo_emulator.clock.advance(ANALYSIS_SECONDS + 1)
    assert (await sh.batch_statistics.status(job)).status == "PROCESSING"


async def test_a_failed_start_after_create_names_the_created_request(
    eo_emulator: Emulator, sh: SentinelHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eoclient.errors import ServerError

    async def refuse(request_id: object) -> None:
        raise ServerError(status=503, operation="batch_statistics.start", path="/start")

    monkeypatch.setattr(sh.batch_statistics, "start", refuse)
    with pytest.raises(ServerError) as info:
        await sh.batch_statistics.create(request(), start=True)
    created = batch_statistics_store(eo_emulator.state).requests
    assert len(created) == 1
    (request_id,) = created
    assert any(request_id in note for note in info.value.__notes__)


@pytest.mark.eo_emulator(clock_speed=1.0)
async def test_stopped_request_resumes_on_start(eo_emulator: Emulator, sh: SentinelHub) -> None:
    bs = sh.batch_statistics
    job = await bs.create(request(), start=True)
    eo_emulator.clock.advance(ANALYSIS_SECONDS + 10)
    await bs.stop(job.id)
    stopped = await bs.status(job.id)
    assert (stopped.status, stopped.stopped_status_reason) == ("STOPPED", "USER_ACTION")
    await bs.stop(job.id)  # stopping a stopped request changes nothing
    eo_emulator.clock.advance(100)
    assert (await bs.status(job.id)).completion_percentage == stopped.completion_percentage
    await bs.start(job.id)
    eo_emulator.clock.advance(3600)
    assert (await bs.status(job.id)).status == "DONE"


# -- every end through Job --------------------------------------------------------------------


@pytest.mark.eo_emulator(clock_speed=1.0)
async def test_done_with_watch_progress(eo_emulator: Emulator, sh: SentinelHub) -> None:
    """The clock moves only once the watcher has seen each phase: ordering, not timing."""
    job = await sh.batch_statistics.create(request(), start=True)
    send, receive = anyio.create_memory_object_stream[JobStatus](100)
    seen: list[JobStatus] = []

    async def watcher() -> None:
        async with send:
            async for status in job.watch():
                await send.send(status)

    async def until(check: Any) -> None:
        with anyio.fail_after(10):
            async for status in receive:
                seen.append(status)
                if check(status):
                    return

    async with anyio.create_task_group() as tg, receive:
        tg.start_soon(watcher)
        await until(lambda s: s.raw == "ANALYSING")
        eo_emulator.clock.advance(ANALYSIS_SECONDS + 1)
        await until(lambda s: s.raw == "PROCESSING")
        eo_emulator.clock.advance(5)
        await until(lambda s: (s.progress or 0) > 0)
        eo_emulator.clock.advance(3600)
        await until(lambda s: s.state.terminal)
    raws = [s.raw for s in seen]
    assert raws[0] == "CREATED" and raws[-1] == "DONE"
    assert all(a != b for a, b in itertools.pairwise(seen))
    progress = [s.progress for s in seen if s.progress is not None]
    assert progress == sorted(progress)
    assert progress[-1] == 1.0
    assert any(0 < p < 1 for p in progress)  # completionPercentage / 100 while PROCESSING
    task = await job  # the watch already polled it to the end
    assert task.status == "DONE"


async def test_partial_is_a_result_with_its_status(sh: SentinelHub) -> None:
    job = await sh.batch_statistics.create(request(features="s3://my-bucket/partial.gpkg"), start=True)
    task = await job
    assert task.status == "PARTIAL"
    assert task.error is not None and "features failed" in task.error


async def test_failed_in_processing_raises_with_service_text(sh: SentinelHub) -> None:
    failing = EVALSCRIPT.replace("return {output_B04", "fail(); return {output_B04")
    job = await sh.batch_statistics.create(request(evalscript=failing), start=True)
    with pytest.raises(JobFailedError) as info:
        await job
    assert info.value.status == "FAILED"
    assert info.value.error is not None and "Evalscript execution failed" in info.value.error
    status = await sh.batch_statistics.status(job)
    assert status.completion_percentage == 40


async def test_failed_in_analysis_raises(sh: SentinelHub) -> None:
    job = await sh.batch_statistics.create(request(features="s3://my-bucket/fail.gpkg"))
    await sh.batch_statistics.analyse(job)
    with pytest.raises(JobFailedError) as info:
        await job
    assert "Failed to read features from s3://my-bucket/fail.gpkg" in str(info.value)


async def test_out_of_processing_units_is_a_failure_then_resumes(sh: SentinelHub) -> None:
    job = await sh.batch_statistics.create(request(output="s3://my-bucket/out-of-pu/<ID>.json"), start=True)
    with pytest.raises(JobFailedError) as info:
        await job
    assert info.value.status == "STOPPED"
    assert "OUT_OF_PU" in str(info.value)
    await sh.batch_statistics.start(job)  # after topping up
    again = await sh.batch_statistics.job(job.id)
    assert again.status == "DONE"


@pytest.mark.eo_emulator(clock_speed=1.0)
async def test_cancel_stops_the_request(eo_emulator: Emulator, sh: SentinelHub) -> None:
    job = await sh.batch_statistics.create(request(), start=True)
    outcome: list[BaseException] = []

    async def waiter() -> None:
        try:
            await job
        except JobCancelledError as exc:
            outcome.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        tg.start_soon(waiter)
        await anyio.sleep(0.02)
        assert await job.cancel() is True
    assert len(outcome) == 2
    status = await sh.batch_statistics.status(job)
    assert (status.status, status.stopped_status_reason) == ("STOPPED", "USER_ACTION")
    assert (await sh.batch_statistics.get(job)).user_action == "STOP"
    # Seen from a fresh handle, a request stopped by a user is cancelled.
    with pytest.raises(JobCancelledError):
        await sh.batch_statistics.job(job.id)


@pytest.mark.eo_emulator(clock_speed=1.0)
async def test_resume_token_and_reattach_by_id(eo_emulator: Emulator, sh: SentinelHub) -> None:
    job = await sh.batch_statistics.create(request(), start=True)
    token = job.resume_token
    assert job.id in token and SECRET_KEY not in token
    eo_emulator.clock.advance(3600)
    async with sh_client(eo_emulator) as other:  # e.g. another process after a restart
        resumed = other.resume_job(token)
        assert resumed.kind == KIND and resumed.id == job.id
        assert (await resumed).status == "DONE"
        assert (await other.batch_statistics.job(job.id)).status == "DONE"


# -- listing, lookups ------------------------------------------------------------------------------


async def test_list_pages_and_sorts(eo_emulator: Emulator, sh: SentinelHub) -> None:
    ids = [(await sh.batch_statistics.create(request())).id for _ in range(7)]
    listed = await sh.batch_statistics.list().collect()
    assert [t.id for t in listed] == ids
    assert batch_statistics_store(eo_emulator.state).default_page == 5
    pages = [page async for page in sh.batch_statistics.list(count=3).pages()]
    assert [len(p.items) for p in pages] == [3, 3, 1]
    newest = await sh.batch_statistics.list(sort="created:desc", max_items=2).collect()
    assert [t.id for t in newest] == ids[::-1][:2]
    with pytest.raises(ValidationError):
        sh.batch_statistics.list(sort="name")


async def test_unknown_request_is_not_found(sh: SentinelHub) -> None:
    with pytest.raises(NotFoundError):
        await sh.batch_statistics.status("8d0b4d6c-9e1f-4d4a-a3f2-0b1f8c1b2a3d")


# -- checks before sending, secrets ---------------------------------------------------------------


def _without(path: str) -> dict[str, Any]:
    body = request()
    *parents, last = path.split(".")
    node = body
    for key in parents:
        node = node[key]
    del node[last]
    return body


def _with(path: str, value: Any) -> dict[str, Any]:
    body = request()
    *parents, last = path.split(".")
    node = body
    for key in parents:
        node = node[key]
    node[last] = value
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_without("input"), "input"),
        (_without("input.features"), "input.features"),
        (_without("input.data"), "input.data"),
        (_without("aggregation"), "aggregation"),
        (_without("aggregation.timeRange"), "aggregation.timeRange"),
        (_without("aggregation.aggregationInterval"), "aggregation.aggregationInterval"),
        (_without("aggregation.evalscript"), "aggregation.evalscript"),
        (_without("output"), "output"),
        (_with("aggregation.aggregationInterval", {"of": "30 days"}), "aggregation.aggregationInterval.of"),
        (
            _with("aggregation.timeRange", {"from": "2020-07-01T00:00:00Z", "to": "2020-06-01T00:00:00Z"}),
            "aggregation.timeRange",
        ),
        (_with("aggregation.width", 100), "aggregation"),  # width with resx
        (
            _with("calculations", {"default": {"statistics": {"B0": {"percentiles": {"k": [150]}}}}}),
            "calculations.default.statistics.B0.percentiles.k",
        ),
        (
            _with("calculations", {"default": {"histograms": {"B0": {"nBins": 5, "binWidth": 1}}}}),
            "calculations.default.histograms.B0",
        ),
        (_with("output", {"s3": {"url": "s3://b/<REQUEST_ID>.json"}}), "output.s3.url"),
        (_with("output", {"s3": {"url": "s3://b/<NAME>/<ID>.json"}}), "output.s3.url"),
        (_with("input.features", {"s3": {"url": "/local/fields.gpkg"}}), "input.features.s3.url"),
        (_with("input.features", {"gs": {"url": "gs://b/f.gpkg"}}), "input.features.gs.credentials"),
        (
            _with("input.data", [{"type": "sentinel-2-l2a", "dataFilter": {"maxCloudCoverage": 120}}]),
            "input.data[0].dataFilter.maxCloudCoverage",
        ),
    ],
)
async def test_invalid_requests_are_refused_before_sending(
    eo_emulator: Emulator, sh: SentinelHub, body: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await sh.batch_statistics.create(body)
    assert info.value.field == field
    assert eo_emulator.requests == []


async def test_bad_ids_are_refused_before_sending(eo_emulator: Emulator, sh: SentinelHub) -> None:
    for call in (sh.batch_statistics.analyse, sh.batch_statistics.start, sh.batch_statistics.stop):
        with pytest.raises(ValidationError):
            await call("not-a-uuid")
    with pytest.raises(ValidationError):
        sh.batch_statistics.job(42)
    assert eo_emulator.requests == []


async def test_templated_output_with_id_is_accepted(sh: SentinelHub) -> None:
    job = await sh.batch_statistics.create(request(output="s3://my-bucket/<REQUEST_ID>/<ID>.json"))
    assert (await sh.batch_statistics.get(job)).request is not None


async def test_secrets_never_in_logs_reprs_or_errors(
    eo_emulator: Emulator, sh: SentinelHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="eoclient")
    job = await sh.batch_statistics.create(request(), start=True)
    task = await job
    listed = await sh.batch_statistics.list().collect()
    texts = [caplog.text, repr(job), repr(job.strategy), job.resume_token, repr(task), repr(listed)]
    with pytest.raises(BadRequestError) as refused:
        await sh.batch_statistics.start(job)  # finished: the service refuses
    texts += [str(refused.value), repr(refused.value)]
    with pytest.raises(ValidationError) as invalid:
        await sh.batch_statistics.create(
            _with("output", {"s3": {"url": "s3://b", "secretAccessKey": SECRET_KEY}})
        )
    texts += [str(invalid.value), repr(invalid.value)]
    assert caplog.records, "expected log events"
    for text in texts:
        assert SECRET_KEY not in text
        assert ACCESS_KEY not in text
    # The service got the keys it needs; it does not show them back.
    sent = next(
        r for r in eo_emulator.requests if r.method == "POST" and r.path == "/api/v1/statistics/batch"
    )
    assert sent.body is not None and SECRET_KEY.encode() in sent.body
    assert task.request is not None and task.request.output is not None and task.request.output.s3 is not None
    assert task.request.output.s3.secret_access_key is None
