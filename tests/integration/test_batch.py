"""Batch Process API v2 against the emulator: every operation, every end state through Job, resume."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from typing import Any

import anyio
import msgspec
import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.sentinelhub.batch_engine import ANALYSIS_SECONDS, PROCESSING_SECONDS
from eoclient.errors import (
    BadRequestError,
    ConflictError,
    JobCancelledError,
    JobFailedError,
    NotFoundError,
    ValidationError,
)
from eoclient.jobs import JobState, JobStatus
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.batch_models import (
    BatchInput,
    BatchOutput,
    BatchProcessOutput,
    BatchProcessRequest,
    BatchRequest,
    BatchSpec,
    ObjectStorage,
    ZarrArrayParameters,
)
from eoclient.sentinelhub.data_collections import DataCollection
from eoclient.sentinelhub.process_models import Bounds, InputData, ProcessInput
from tests.integration.conftest import sh_client

pytestmark = pytest.mark.eo_emulator(clock_speed=1000.0)

ROLE = "arn:aws:iam::123456789012:role/sentinel-hub-batch"
EVALSCRIPT = """//VERSION=3
function setup() { return {input: ["B04", "B08"], output: {id: "default", bands: 3}}; }
function evaluatePixel(s) { return [s.B04, s.B08, 0]; }
"""


def corsica(description: str = "Max NDVI over Corsica") -> dict[str, Any]:
    """The request of the documentation's first example (GeoTIFF tiles to S3)."""
    return {
        "processRequest": {
            "input": {
                "bounds": {
                    "bbox": [8.44, 41.31, 9.66, 43.1],
                    "properties": {"crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
                },
                "data": [
                    {
                        "dataFilter": {
                            "timeRange": {"from": "2019-04-01T00:00:00Z", "to": "2019-06-30T00:00:00Z"},
                            "maxCloudCoverage": 70.0,
                        },
                        "type": "sentinel-2-l2a",
                    }
                ],
            },
            "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
            "evalscript": EVALSCRIPT,
        },
        "input": {"type": "tiling-grid", "id": 0, "resolution": 60.0},
        "output": {"type": "raster", "delivery": {"s3": {"url": "s3://my-bucket", "iamRoleARN": ROLE}}},
        "description": description,
    }


def model_spec(description: str = "from models") -> BatchSpec:
    return BatchSpec(
        process_request=BatchProcessRequest(
            input=ProcessInput(
                bounds=Bounds.from_bbox([13.8, 45.8, 14.5, 46.2]),
                data=[InputData.of(DataCollection.SENTINEL2_L2A, time_range=("2024-06-01", "2024-06-30"))],
            ),
            output=BatchProcessOutput.of("default", "image/tiff"),
            evalscript=EVALSCRIPT,
        ),
        input=BatchInput.tiling_grid(1, 20.0),
        output=BatchOutput.raster("s3://my-bucket/<requestId>/<tileName>.tif", iam_role_arn=ROLE),
        description=description,
    )


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (without assuming how long anything takes) until ``check()`` holds."""
    with anyio.fail_after(timeout):
        while not check():  # noqa: ASYNC110 - the state changes in other tasks; there is no event to wait on
            await anyio.sleep(0.005)


def stop_the_clock(emu: Emulator) -> None:
    """Emulated time moves only with ``emu.clock.advance`` from here on."""
    emu.clock.speed = 1e-9


# -- operations ----------------------------------------------------------------------------


async def test_create_get_update_and_list(eo_emulator: Emulator, sh: SentinelHub) -> None:
    created = await sh.batch.create(corsica())
    assert isinstance(created, BatchRequest)
    assert created.status == "CREATED"
    assert created.description == "Max NDVI over Corsica"
    assert created.request is not None and created.request.input is not None
    assert created.request.input.type == "tiling-grid" and created.request.input.resolution == 60.0
    assert created.created is not None

    fetched = await sh.batch.get(created.id)
    assert fetched.id == created.id and fetched.status == "CREATED"

    updated = await sh.batch.update(created.id, description="renamed")
    assert updated.description == "renamed" and updated.id == created.id
    assert (await sh.batch.get(created.id)).description == "renamed"

    with pytest.raises(NotFoundError):
        await sh.batch.get("497f6eca-6276-4993-bfeb-53cbbbba6f08")


async def test_create_from_models(eo_emulator: Emulator, sh: SentinelHub) -> None:
    created = await sh.batch.create(model_spec())
    assert created.status == "CREATED"
    sent = msgspec.json.decode(next(r.body for r in eo_emulator.requests if r.method == "POST" and r.body))
    assert sent["input"] == {"type": "tiling-grid", "id": 1, "resolution": 20.0}
    assert sent["output"]["delivery"]["s3"]["iamRoleARN"] == ROLE
    # The DataCollection became its type and its implied filters.
    assert sent["processRequest"]["input"]["data"][0]["type"] == "sentinel-2-l2a"


async def test_list_pages_and_sorts(sh: SentinelHub) -> None:
    ids = [(await sh.batch.create(corsica(f"request {i}"))).id for i in range(7)]
    listed = await sh.batch.requests(count=3).collect()
    assert [r.id for r in listed] == ids
    newest = await sh.batch.requests(sort="created:desc", max_items=2).collect()
    assert [r.id for r in newest] == ids[::-1][:2]
    pages = [len(p.items) async for p in sh.batch.requests(count=3).pages()]
    assert pages == [3, 3, 1]
    with pytest.raises(ValidationError):
        sh.batch.requests(sort="name")


async def test_transitions_are_enforced(eo_emulator: Emulator, sh: SentinelHub) -> None:
    stop_the_clock(eo_emulator)
    created = await sh.batch.create(corsica())
    with pytest.raises(BadRequestError):
        await sh.batch.stop(created.id)  # nothing to stop yet
    await sh.batch.analyse(created.id)
    assert (await sh.batch.get(created.id)).status == "ANALYSING"
    with pytest.raises(BadRequestError) as info:
        await sh.batch.start(created.id)  # START before the analysis is done
    assert "ANALYSIS_DONE" in (info.value.service_message or "")
    with pytest.raises(BadRequestError):
        await sh.batch.analyse(created.id)  # only once

    eo_emulator.clock.advance(ANALYSIS_SECONDS)
    analysed = await sh.batch.get(created.id)
    assert analysed.status == "ANALYSIS_DONE" and analysed.user_action == "ANALYSE"

    await sh.batch.start(created.id)
    eo_emulator.clock.advance(PROCESSING_SECONDS / 4)
    running = await sh.batch.get(created.id)
    assert running.status == "PROCESSING" and running.user_action == "START"
    assert running.completion_percentage == pytest.approx(25.0)
    with pytest.raises(ConflictError):
        await sh.batch.update(created.id, description="not while processing")

    await sh.batch.stop(created.id)
    stopped = await sh.batch.get(created.id)
    assert stopped.status == "STOPPED" and stopped.stopped_status_reason == "USER_ACTION"
    assert stopped.completion_percentage == pytest.approx(25.0)

    await sh.batch.start(created.id)  # v2 resumes a stopped request where it stopped
    eo_emulator.clock.advance(PROCESSING_SECONDS * 3 / 4)
    done = await sh.batch.get(created.id)
    assert done.status == "DONE" and done.completion_percentage == 100.0 and done.cost_pu
    with pytest.raises(BadRequestError):
        await sh.batch.start(created.id)


async def test_service_refuses_bad_bodies_sent_raw(sh: SentinelHub) -> None:
    body = corsica()
    body["input"]["id"] = 99
    with pytest.raises(BadRequestError, match="tiling grid 99"):
        await sh.request("POST", "/api/v2/batch/process", json=body)
    body = corsica()
    body["input"]["resolution"] = 61.0
    with pytest.raises(BadRequestError, match="resolution"):
        await sh.request("POST", "/api/v2/batch/process", json=body)


# -- the Job flow --------------------------------------------------------------------------


async def test_run_to_done(eo_emulator: Emulator, sh: SentinelHub) -> None:
    job = await sh.batch.run(corsica())
    final = await job
    assert isinstance(final, BatchRequest)
    assert final.status == "DONE" and not final.partial and final.progress == 1.0
    assert job.status is not None and job.status.state is JobState.SUCCEEDED
    actions = [
        r.path.rsplit("/", 1)[-1] for r in eo_emulator.requests if r.method == "POST" and "batch" in r.path
    ]
    assert actions == ["process", "analyse", "start"]  # created, analysed, started once


async def test_run_without_analysis_starts_at_once(eo_emulator: Emulator, sh: SentinelHub) -> None:
    job = await sh.batch.run(corsica(), analyse_first=False)
    assert (await job).status == "DONE"
    actions = [
        r.path.rsplit("/", 1)[-1] for r in eo_emulator.requests if r.method == "POST" and "batch" in r.path
    ]
    assert actions == ["process", "start"]


async def test_failed_raises_with_the_service_error(sh: SentinelHub) -> None:
    job = await sh.batch.run(corsica("this one will fail"))
    with pytest.raises(JobFailedError) as info:
        await job
    assert info.value.status == "FAILED"
    assert info.value.error is not None and "evalscript raised an error" in info.value.error
    assert info.value.job_id == job.id


async def test_failed_analysis_raises(sh: SentinelHub) -> None:
    job = await sh.batch.run(corsica("analysis-fail please"))
    with pytest.raises(JobFailedError, match="Analysis failed"):
        await job


async def test_cancel_stops_the_request(eo_emulator: Emulator, sh: SentinelHub) -> None:
    stop_the_clock(eo_emulator)
    job = await sh.batch.run(corsica())
    caught: list[BaseException] = []

    async def waiter() -> None:
        try:
            await job
        except JobCancelledError as exc:
            caught.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        tg.start_soon(waiter)
        await until(lambda: job.status is not None)
        assert await job.cancel() is True
    assert len(caught) == 2
    stopped = await sh.batch.get(job.id)
    assert stopped.status == "STOPPED" and stopped.user_action == "STOP"
    # A request that has ended cannot be stopped: the strategy says so.
    assert await sh.batch.job(job.id).strategy.cancel() is False


async def test_a_request_stopped_elsewhere_ends_the_job_cancelled(
    eo_emulator: Emulator, sh: SentinelHub
) -> None:
    stop_the_clock(eo_emulator)
    created = await sh.batch.create(corsica())
    await sh.batch.analyse(created.id)
    await sh.batch.stop(created.id)
    job = sh.batch.job(created.id)
    with pytest.raises(JobCancelledError, match="STOPPED"):
        await job


async def test_partial_is_a_success_with_failed_tiles_said(sh: SentinelHub) -> None:
    job = await sh.batch.run(corsica("partial run"))
    final = await job
    assert final.status == "DONE" and final.partial
    assert final.error is not None and "tiles failed" in final.error
    assert job.status is not None and job.status.message is not None
    assert "failed tiles" in job.status.message


async def test_partial_can_be_an_error(sh: SentinelHub) -> None:
    job = await sh.batch.run(corsica("partial run"), allow_partial=False)
    with pytest.raises(JobFailedError, match="tiles failed"):
        await job


async def test_watch_reports_each_status_and_progress(eo_emulator: Emulator, sh: SentinelHub) -> None:
    stop_the_clock(eo_emulator)
    job = await sh.batch.run(corsica())
    seen: list[JobStatus] = []

    async def watch() -> None:
        async for status in job.watch():
            seen.append(status)

    def last() -> JobStatus:
        return seen[-1] if seen else JobStatus(JobState.PENDING, "")

    def progressed(quarter: int) -> Callable[[], bool]:
        return lambda: (last().progress or 0.0) >= quarter / 4 - 1e-9

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch)
        await until(lambda: last().raw == "ANALYSING")
        eo_emulator.clock.advance(ANALYSIS_SECONDS)  # the job POSTs START on its next poll
        await until(lambda: last().raw == "PROCESSING")
        for quarter in (1, 2, 3):
            eo_emulator.clock.advance(PROCESSING_SECONDS / 4)
            await until(progressed(quarter))
        eo_emulator.clock.advance(PROCESSING_SECONDS / 4)

    raws = [s.raw for s in seen]
    assert raws[0] == "ANALYSING" and raws[-1] == "DONE"
    assert "PROCESSING" in raws
    progress = [s.progress for s in seen if s.raw == "PROCESSING" and s.progress is not None]
    assert progress == sorted(progress)
    assert {0.25, 0.5, 0.75} <= {round(p, 6) for p in progress}
    assert seen[-1].progress == 1.0 and seen[-1].state is JobState.SUCCEEDED
    assert all(a != b for a, b in itertools.pairwise(seen))


async def test_analysis_only_then_run_by_id(eo_emulator: Emulator, sh: SentinelHub) -> None:
    job = await sh.batch.run(corsica(), start=False)
    analysed = await job
    assert analysed.status == "ANALYSIS_DONE"
    assert (await sh.batch.get(analysed.id)).status == "ANALYSIS_DONE"  # nothing was started
    again = await sh.batch.run(analysed.id)
    assert (await again).status == "DONE"
    with pytest.raises(ValidationError, match="analyse_first"):
        await sh.batch.run(corsica(), start=False, analyse_first=False)


async def test_stopped_request_is_resumed_by_run(eo_emulator: Emulator, sh: SentinelHub) -> None:
    stop_the_clock(eo_emulator)
    created = await sh.batch.create(corsica())
    await sh.batch.start(created.id)
    eo_emulator.clock.advance(ANALYSIS_SECONDS + PROCESSING_SECONDS / 2)
    await sh.batch.stop(created.id)
    eo_emulator.clock.speed = 1000.0
    final = await (await sh.batch.run(created.id))
    assert final.status == "DONE"


async def test_resume_token_and_reattach_by_id(eo_emulator: Emulator, sh: SentinelHub) -> None:
    stop_the_clock(eo_emulator)
    job = await sh.batch.run(corsica())
    token = job.resume_token
    assert job.id in token and "secret" not in token.lower()
    eo_emulator.clock.speed = 1000.0
    async with sh_client(eo_emulator) as other:  # "another process"
        resumed = other.resume_job(token)
        assert resumed.kind == "sentinelhub.batch" and resumed.id == job.id
        final = await resumed  # it POSTs START itself once the analysis is done
        assert final.status == "DONE"
        attached = other.batch.job(job.id)
        assert (await attached).id == job.id


async def test_reattach_with_start_drives_an_analysed_request(eo_emulator: Emulator, sh: SentinelHub) -> None:
    analysed = await (await sh.batch.run(corsica(), start=False))
    final = await sh.batch.job(analysed.id, start=True)
    assert final.status == "DONE"


# -- checks before sending -----------------------------------------------------------------


def _broken(path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(corsica())
    *parents, last = path.split(".")
    node = body
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return body


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("processRequest", ..., "processRequest"),
        ("processRequest.evalscript", "  ", "processRequest.evalscript"),
        ("processRequest.input.data", [], "processRequest.input.data"),
        ("processRequest.input.bounds", ..., "processRequest.input.bounds"),
        ("processRequest.output", ..., "processRequest.output"),
        (
            "processRequest.output.responses",
            [{"identifier": "default", "format": {"type": "image/png"}}],
            "processRequest.output.responses[0].format.type",
        ),
        (
            "processRequest.output.responses",
            [{"identifier": "default", "format": {"type": "zarr/array"}}],
            "processRequest.output.responses[0].format.type",
        ),
        ("input", ..., "input"),
        ("input.type", "grid", "input.type"),
        ("input.id", -1, "input.id"),
        ("input.resolution", 0, "input.resolution"),
        ("input.bufferX", 40000, "input.bufferX"),
        ("output", ..., "output"),
        ("output.type", "tiff", "output.type"),
        ("output.delivery", {"s3": {"url": "https://my-bucket"}}, "output.delivery.s3.url"),
        ("output.delivery", {"s3": {"url": "s3://b/<tileName>/<nope>"}}, "output.delivery.s3.url"),
        ("output.delivery", {"s3": {"url": "s3://b/<requestId>.tif"}}, "output.delivery.s3.url"),
        ("output.cogOutput", "yes", "output.cogOutput"),
        ("output.createCollection", True, "output.cogOutput"),
        ("description", 5, "description"),
    ],
)
async def test_bad_requests_are_refused_before_sending(
    eo_emulator: Emulator, sh: SentinelHub, path: str, value: Any, field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await sh.batch.create(_broken(path, value))
    assert info.value.field == field
    with pytest.raises(ValidationError):
        await sh.batch.run(_broken(path, value))
    assert eo_emulator.requests == []


async def test_zarr_and_geopackage_checks(eo_emulator: Emulator, sh: SentinelHub) -> None:
    spec = model_spec()
    spec.process_request = BatchProcessRequest(
        input=spec.process_request.input if spec.process_request else None,
        output=BatchProcessOutput.of("ndvi", "zarr/array"),
        evalscript=EVALSCRIPT,
    )
    spec.output = BatchOutput.zarr("s3://my-bucket/<requestId>", iam_role_arn=ROLE)
    with pytest.raises(ValidationError, match="dtype is required") as info:
        await sh.batch.create(spec)
    assert info.value.field == "output.arrayParameters"
    spec.output.array_parameters = ZarrArrayParameters(
        dtype="<f4", order="C", chunks=[2, 100, 100], fill_value=0
    )
    with pytest.raises(ValidationError, match="time"):
        await sh.batch.create(spec)
    spec.input = BatchInput.geopackage("https://features.gpkg")
    with pytest.raises(ValidationError) as info:
        await sh.batch.create(spec)
    assert info.value.field == "input.features.s3.url"
    assert eo_emulator.requests == []
    for bad in ("not a uuid", 42):
        with pytest.raises(ValidationError):
            await sh.batch.get(bad)
    with pytest.raises(ValidationError):
        sh.batch.job("nope")
    assert eo_emulator.requests == []


async def test_grid_resolution_checked_against_the_grid(eo_emulator: Emulator, sh: SentinelHub) -> None:
    body = corsica()
    body["input"]["resolution"] = 61.0
    with pytest.raises(ValidationError, match="offers resolutions") as info:
        await sh.batch.create(body, check_grid=True)
    assert info.value.field == "input.resolution"
    with pytest.raises(ValidationError):
        await sh.batch.create(body, check_grid=True)  # the grid is cached
    assert [r.path for r in eo_emulator.requests if r.path.startswith("/api")] == [
        "/api/v2/batch/tilinggrids/0"
    ]
    created = await sh.batch.create(corsica(), check_grid=True)
    assert created.status == "CREATED"


async def test_storage_keys_are_never_shown(sh: SentinelHub) -> None:
    body = corsica()
    body["output"]["delivery"] = {
        "s3": {
            "url": "s3://my-bucket",
            "accessKey": "AKIAEXAMPLEKEY123",
            "secretAccessKey": "very-secret-value-42",
        }
    }
    created = await sh.batch.create(body)
    assert created.request is not None and created.request.output is not None
    delivery = created.request.output.delivery
    assert delivery is not None and delivery.s3 is not None
    assert delivery.s3.secret_access_key is None  # the service does not show keys back
    spec = model_spec()
    spec.output = BatchOutput.raster(
        ObjectStorage.from_s3(
            "s3://my-bucket", access_key="AKIAEXAMPLEKEY123", secret_access_key="very-secret-value-42"
        )
    )
    assert "very-secret-value-42" not in repr(spec)
    assert (await sh.batch.create(spec)).status == "CREATED"
