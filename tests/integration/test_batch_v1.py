"""The legacy Batch Process API (``sh.batch.v1``) against the emulator."""

from __future__ import annotations

from typing import Any

import anyio
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
from eoclient.jobs import JobState
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.batch_v1_models import BatchCollection, BatchTile, BatchV1Request
from tests.integration.conftest import sh_client
from tests.integration.test_batch import EVALSCRIPT, corsica, stop_the_clock, until

pytestmark = pytest.mark.eo_emulator(clock_speed=1000.0)


def legacy(description: str = "legacy Corsica", **where: Any) -> dict[str, Any]:
    """The Corsica request in the legacy shape (``tilingGrid`` and ``bucketName`` by default)."""
    body: dict[str, Any] = {
        "processRequest": corsica()["processRequest"],
        "tilingGrid": {"id": 0, "resolution": 60.0},
        "description": description,
    }
    body.update(where or {"bucketName": "my-bucket"})
    return body


async def test_create_get_update_delete(eo_emulator: Emulator, sh: SentinelHub) -> None:
    created = await sh.batch.v1.create(legacy())
    assert isinstance(created, BatchV1Request)
    assert created.status == "CREATED" and created.bucket_name == "my-bucket"
    assert created.tiling_grid is not None and created.tiling_grid.resolution == 60.0
    assert created.tile_count is None  # known after the analysis
    assert (await sh.batch.v1.get(created.id)).description == "legacy Corsica"

    updated = await sh.batch.v1.update(created.id, description="renamed")
    assert updated.description == "renamed"
    with pytest.raises(BadRequestError):  # it writes to bucketName, there is no output to change
        await sh.batch.v1.update(created.id, output={"defaultTilePath": "s3://other"})

    await sh.batch.v1.delete(created.id)
    with pytest.raises(NotFoundError):
        await sh.batch.v1.get(created.id)
    with pytest.raises(ValidationError):
        await sh.batch.v1.update(created.id)


async def test_output_path_and_zarr_output(sh: SentinelHub) -> None:
    tiles = await sh.batch.v1.create(
        legacy(output={"defaultTilePath": "s3://my-bucket/<requestId>/<tileName>.tif", "skipExisting": True})
    )
    assert tiles.output is not None and tiles.output.skip_existing is True
    changed = await sh.batch.v1.update(tiles.id, output={"defaultTilePath": "s3://my-bucket/again"})
    assert changed.output is not None and changed.output.default_tile_path == "s3://my-bucket/again"
    assert changed.output.skip_existing is True  # unchanged values stay

    body = legacy(
        zarrOutput={
            "path": "s3://my-bucket/<requestId>",
            "group": {"zarr_format": 2},
            "arrayParameters": {"dtype": "<u2", "order": "C", "chunks": [1, 1000, 1000], "fill_value": 0},
        }
    )
    body["processRequest"] = {
        **body["processRequest"],
        "output": {"responses": [{"identifier": "band04", "format": {"type": "zarr/array"}}]},
    }
    zarr = await sh.batch.v1.create(body)
    assert zarr.zarr_output is not None and zarr.zarr_output.path == "s3://my-bucket/<requestId>"


async def test_analysis_gives_tile_count_and_estimate(eo_emulator: Emulator, sh: SentinelHub) -> None:
    job = await sh.batch.v1.run(legacy(), start=False)
    analysed = await job
    assert analysed.status == "ANALYSIS_DONE"
    assert analysed.tile_count == 60  # 1.22 x 1.79 degrees over 20 km cells
    assert analysed.tile_width_px == analysed.tile_height_px == 334
    assert analysed.value_estimate is not None and analysed.value_estimate > 0
    tiles = await sh.batch.v1.tiles(analysed.id, count=25).collect()
    assert len(tiles) == 60 and {t.status for t in tiles} == {"PENDING"}
    one = await sh.batch.v1.tile(analysed.id, 7)
    assert isinstance(one, BatchTile) and one.request_id == analysed.id and one.geometry is not None
    with pytest.raises(NotFoundError):
        await sh.batch.v1.tile(analysed.id, 600)


async def test_transitions_are_enforced(eo_emulator: Emulator, sh: SentinelHub) -> None:
    stop_the_clock(eo_emulator)
    created = await sh.batch.v1.create(legacy())
    assert await sh.batch.v1.tiles(created.id).collect() == []
    await sh.batch.v1.analyse(created.id)
    with pytest.raises(BadRequestError, match="ANALYSIS_DONE"):
        await sh.batch.v1.start(created.id)
    eo_emulator.clock.advance(ANALYSIS_SECONDS)
    await sh.batch.v1.start(created.id)
    eo_emulator.clock.advance(PROCESSING_SECONDS / 2)
    assert (await sh.batch.v1.get(created.id)).status == "PROCESSING"
    statuses = {t.status for t in await sh.batch.v1.tiles(created.id).collect()}
    assert {"PROCESSED", "PROCESSING", "QUEUED"} <= statuses
    with pytest.raises(ConflictError):
        await sh.batch.v1.update(created.id, description="not now")
    with pytest.raises(BadRequestError):
        await sh.batch.v1.delete(created.id)  # cancel first
    with pytest.raises(BadRequestError):
        await sh.batch.v1.restart_partial(created.id)
    await sh.batch.v1.cancel(created.id)
    cancelled = await sh.batch.v1.get(created.id)
    assert cancelled.status == "CANCELED" and cancelled.user_action == "CANCEL"
    with pytest.raises(BadRequestError):
        await sh.batch.v1.start(created.id)  # CANCELED is final on the legacy API
    with pytest.raises(BadRequestError, match="processed tiles"):
        await sh.batch.v1.delete(created.id)


async def test_run_to_done(sh: SentinelHub) -> None:
    job = await sh.batch.v1.run(legacy())
    final = await job
    assert final.status == "DONE" and not final.partial
    assert job.status is not None and job.status.state is JobState.SUCCEEDED
    assert {t.status for t in await sh.batch.v1.tiles(final.id, count=100).collect()} == {"PROCESSED"}


async def test_failed_raises_with_the_service_error(sh: SentinelHub) -> None:
    job = await sh.batch.v1.run(legacy("fail on purpose"))
    with pytest.raises(JobFailedError, match="evalscript raised an error") as info:
        await job
    assert info.value.status == "FAILED"


async def test_partial_then_restart_partial(sh: SentinelHub) -> None:
    job = await sh.batch.v1.run(legacy("partial"))
    final = await job
    assert final.status == "PARTIAL" and final.partial
    assert job.status is not None and job.status.state is JobState.SUCCEEDED
    assert job.status.message is not None and "15 of 60 tiles failed" in job.status.message
    failed = await sh.batch.v1.tiles(final.id, status="FAILED", count=100).collect()
    assert len(failed) == 15

    await sh.batch.v1.restart_partial(final.id)
    again = await sh.batch.v1.job(final.id)
    assert again.status == "DONE"
    assert await sh.batch.v1.tiles(final.id, status="FAILED").collect() == []


async def test_partial_can_be_an_error(sh: SentinelHub) -> None:
    job = await sh.batch.v1.run(legacy("partial"), allow_partial=False)
    with pytest.raises(JobFailedError, match="failed tiles"):
        await job


async def test_cancel_through_the_job(eo_emulator: Emulator, sh: SentinelHub) -> None:
    stop_the_clock(eo_emulator)
    job = await sh.batch.v1.run(legacy())
    async with anyio.create_task_group() as tg:

        async def waiter() -> None:
            with pytest.raises(JobCancelledError):
                await job

        tg.start_soon(waiter)
        await until(lambda: job.status is not None)
        assert await job.cancel() is True
    assert (await sh.batch.v1.get(job.id)).status == "CANCELED"


async def test_resume_token(eo_emulator: Emulator, sh: SentinelHub) -> None:
    stop_the_clock(eo_emulator)
    job = await sh.batch.v1.run(legacy())
    token = job.resume_token
    eo_emulator.clock.speed = 1000.0
    async with sh_client(eo_emulator) as other:
        resumed = other.resume_job(token)
        assert resumed.kind == "sentinelhub.batch_v1"
        assert (await resumed).status == "DONE"


async def test_list_filters_and_sorts(sh: SentinelHub) -> None:
    coll = await sh.batch.v1.create_collection({"name": "ndvi", "s3Bucket": "my-bucket"})
    assert coll.id is not None
    into = legacy(
        "ndvi into collection",
        output={
            "defaultTilePath": "s3://my-bucket/x",
            "cogOutput": True,
            "collectionId": coll.id,
        },
    )
    first = await sh.batch.v1.create(into)
    others = [(await sh.batch.v1.create(legacy(f"other {i}"))).id for i in range(6)]

    in_collection = await sh.batch.v1.requests(collection_id=coll.id).collect()
    assert [r.id for r in in_collection] == [first.id]
    found = await sh.batch.v1.requests(search="other&3").collect()
    assert [r.description for r in found] == ["other 3"]
    either = await sh.batch.v1.requests(search="ndvi|5").collect()
    assert {r.description for r in either} == {"ndvi into collection", "other 5"}
    everything = await sh.batch.v1.requests(count=4, sort="created:desc").collect()
    assert [r.id for r in everything] == [*others[::-1], first.id]
    with pytest.raises(ValidationError):
        sh.batch.v1.requests(collection_id="not-a-uuid")
    with pytest.raises(BadRequestError, match="is used by"):
        await sh.batch.v1.delete_collection(coll.id)


async def test_collections(sh: SentinelHub) -> None:
    made = await sh.batch.v1.create_collection(BatchCollection(name="first", s3_bucket="bucket-a"))
    assert made.id is not None and made.s3_bucket == "bucket-a"
    await sh.batch.v1.create_collection({"name": "second", "s3Bucket": "bucket-b"})
    assert [c.name for c in await sh.batch.v1.collections().collect()] == ["first", "second"]
    assert [c.name for c in await sh.batch.v1.collections(search="bucket-b").collect()] == ["second"]
    await sh.batch.v1.update_collection(made.id, name="renamed")
    assert (await sh.batch.v1.collection(made.id)).name == "renamed"
    await sh.batch.v1.delete_collection(made.id)
    with pytest.raises(NotFoundError):
        await sh.batch.v1.collection(made.id)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tilingGrid": None}, "tilingGrid"),
        ({"tilingGrid": {"id": 0, "resolution": -1}}, "tilingGrid.resolution"),
        ({"output": {"defaultTilePath": "s3://b"}}, "output"),  # and bucketName: two places
        ({"bucketName": "s3://bucket"}, "bucketName"),
        (
            {"bucketName": None, "output": {"defaultTilePath": "s3://b/<tileName>/<x>"}},
            "output.defaultTilePath.s3.url",
        ),
        (
            {"bucketName": None, "output": {"defaultTilePath": "s3://b/<requestId>"}},
            "output.defaultTilePath.s3.url",
        ),
        (
            {"bucketName": None, "output": {"defaultTilePath": "s3://b", "collectionId": "x"}},
            "output.cogOutput",
        ),
        (
            {"bucketName": None, "zarrOutput": {"path": "s3://b", "group": {"zarr_format": 2}}},
            "processRequest.output.responses[0].format.type",
        ),
        ({"processRequest": {"evalscript": EVALSCRIPT}}, "processRequest.input"),
    ],
)
async def test_bad_requests_are_refused_before_sending(
    eo_emulator: Emulator, sh: SentinelHub, change: dict[str, Any], field: str
) -> None:
    body = legacy()
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    with pytest.raises(ValidationError) as info:
        await sh.batch.v1.create(body)
    assert info.value.field == field
    with pytest.raises(ValidationError):
        sh.batch.v1.tiles("497f6eca-6276-4993-bfeb-53cbbbba6f08", status="DONE")
    with pytest.raises(ValidationError):
        await sh.batch.v1.create_collection({"name": "x", "s3Bucket": "a/b"})
    assert eo_emulator.requests == []
