"""Zarr Import against the emulator: collections, ingestion as a Job, arrays, refusals, validation."""

from __future__ import annotations

import uuid

import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.sentinelhub.zarr_import import INGEST_SECONDS, zarr_store
from eoclient.errors import BadRequestError, JobFailedError, NotFoundError, ValidationError
from eoclient.jobs import JobState, resume_job
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.zarr_import_models import ZarrCollection
from tests.integration.zarr_groups import CRS_4326, CRS_UTM33, write_group

BUCKET = "my-zarrs"


def spec(path: str = "cube.zarr/", name: str = "cube", crs: str = CRS_UTM33) -> dict[str, str]:
    return {"name": name, "s3Bucket": BUCKET, "path": path, "crs": crs}


async def test_create_ingest_and_read_arrays(sh: SentinelHub, eo_emulator: Emulator) -> None:
    write_group(eo_emulator.objects, BUCKET, "cube.zarr/", times=2, data={"temp": "<f4", "count": "<i4"})
    coll = await sh.zarr.create_collection(spec())
    assert coll.id and coll.status == "CREATED" and coll.path == "cube.zarr/"
    assert coll.data_type == f"zarr-{coll.id}" and coll.bands == {}

    job = sh.zarr.ingestion(coll.id)
    seen: list[str] = []

    async def advance() -> None:
        eo_emulator.clock.advance(INGEST_SECONDS / 4)

    async for status in job.watch():
        seen.append(status.raw)
        if not status.state.terminal:
            await advance()
    done = await job
    assert seen[0] == "CREATED" and "INGESTING" in seen and seen[-1] == "INGESTED"
    assert isinstance(done, ZarrCollection) and done.status == "INGESTED"
    assert (done.width, done.height) == (4, 3)
    assert done.envelope == {
        "type": "Polygon",
        "coordinates": [
            [
                [500000.0, 4600000.0],
                [500040.0, 4600000.0],
                [500040.0, 4600030.0],
                [500000.0, 4600030.0],
                [500000.0, 4600000.0],
            ]
        ],
    }
    assert done.additional_data is not None and done.additional_data.max_meters_per_pixel == 30.0
    assert set(done.bands) == {"temp", "count"}
    assert (done.bands["temp"].bit_depth, done.bands["temp"].sample_format) == (32, "FLOAT")
    assert done.bands["count"].sample_format == "INT" and done.bands["count"].no_data == -9999

    names = [a.name async for a in sh.zarr.arrays(coll.id)]  # more than one page of 5
    assert sorted(names) == ["count", "temp", "time", "x", "y"]
    assert [a.name async for a in sh.zarr.arrays(coll.id, search="tem")] == ["temp"]
    temp = await sh.zarr.array(f"zarr-{coll.id}", "temp")
    assert temp.path == "cube.zarr/temp/" and temp.s3_bucket == BUCKET
    assert temp.zarray is not None and temp.zarray["shape"] == [2, 3, 4]
    assert temp.zattrs == {"_ARRAY_DIMENSIONS": ["time", "y", "x"], "units": "K"}
    with pytest.raises(NotFoundError):
        await sh.zarr.array(coll.id, "nope")


async def test_failed_ingestion_names_the_constraint(sh: SentinelHub, eo_emulator: Emulator) -> None:
    write_group(eo_emulator.objects, BUCKET, "bad.zarr/", data={"2m_temp": "<f4"})
    coll = await sh.zarr.create_collection(spec("bad.zarr/"))
    eo_emulator.clock.advance(INGEST_SECONDS + 1)
    with pytest.raises(JobFailedError) as info:
        await sh.zarr.ingestion(coll.id)
    assert "JavaScript identifier" in (info.value.error or "")
    failed = await sh.zarr.collection(coll.id)
    assert failed.status == "FAILED" and failed.width is None
    assert [a async for a in sh.zarr.arrays(coll.id)] == []


@pytest.mark.parametrize(
    ("layout", "needle"),
    [
        ({"data": {"b": "<u2"}}, "dtype"),
        ({"data": {}}, "no data arrays"),
        ({"spatial": ("lat", "x")}, "exactly two spatial"),
    ],
)
async def test_constraints(
    sh: SentinelHub, eo_emulator: Emulator, layout: dict[str, object], needle: str
) -> None:
    write_group(eo_emulator.objects, BUCKET, "c.zarr/", **layout)  # type: ignore[arg-type]
    coll = await sh.zarr.create_collection(spec("c.zarr/"))
    eo_emulator.clock.advance(INGEST_SECONDS + 1)
    failed = await sh.zarr.collection(coll.id)
    assert failed.status == "FAILED" and needle in (failed.ingestion_errors or "")


async def test_missing_group_fails_then_reingest_succeeds(sh: SentinelHub, eo_emulator: Emulator) -> None:
    eo_emulator.objects.create_bucket(BUCKET)
    coll = await sh.zarr.create_collection(spec("later.zarr/", crs=CRS_4326))
    eo_emulator.clock.advance(INGEST_SECONDS + 1)
    with pytest.raises(JobFailedError, match="zgroup"):
        await sh.zarr.ingestion(coll.id)

    write_group(
        eo_emulator.objects, BUCKET, "later.zarr/", spatial=("lat", "lon"), xs=[10.0, 10.5], ys=[45.5, 45.0]
    )
    job = await sh.zarr.reingest(coll.id)
    assert job.status is not None and job.status.state is JobState.PENDING
    token = job.resume_token
    eo_emulator.clock.advance(INGEST_SECONDS + 1)
    done = await resume_job(token, sh)
    assert done.status == "INGESTED" and done.envelope is not None
    assert done.additional_data.max_meters_per_pixel == pytest.approx(3 * 0.5 * 111_320)
    assert await job.cancel() is False  # the API cannot stop an ingestion


async def test_crud_search_and_paging(sh: SentinelHub, eo_emulator: Emulator) -> None:
    ids = [(await sh.zarr.create_collection(spec(f"z{i}/", name=f"cube {i}"))).id for i in range(7)]
    listed = [c.id async for c in sh.zarr.collections()]
    assert listed == ids
    assert [c.name async for c in sh.zarr.collections(search="cube 3")] == ["cube 3"]
    assert len([c async for c in sh.zarr.collections(count=2, max_items=3)]) == 3

    await sh.zarr.update_collection(ids[0], "renamed")
    assert (await sh.zarr.collection(ids[0])).name == "renamed"
    fetched = await sh.zarr.collection(ids[1])
    fetched.name = "from model"
    await sh.zarr.update_collection(ids[1], fetched)
    await sh.zarr.update_collection(ids[2], {"name": "from dict"})
    assert [(await sh.zarr.collection(i)).name for i in ids[1:3]] == ["from model", "from dict"]

    await sh.zarr.delete_collection(ids[0])
    for call in (sh.zarr.collection, sh.zarr.delete_collection, sh.zarr.reingest):
        with pytest.raises(NotFoundError):
            await call(ids[0])
    with pytest.raises(NotFoundError):
        await sh.zarr.update_collection(ids[0], "x")
    with pytest.raises(NotFoundError):
        await sh.zarr.arrays(ids[0]).collect()
    assert ids[0] not in zarr_store(eo_emulator.state).collections


@pytest.mark.parametrize("kind", ["drop", "server_error_after"])
async def test_create_with_a_lost_answer_returns_the_collection(
    sh: SentinelHub, eo_emulator: Emulator, kind: str
) -> None:
    base = "/api/v1/zarr/collections"
    older = await sh.zarr.create_collection(spec())
    await sh.zarr.create_collection(spec(path="other.zarr/"))  # same name, another path
    eo_emulator.faults.inject(kind, path_prefix=base, method="POST", status=502)  # type: ignore[arg-type]
    coll = await sh.zarr.create_collection(spec())
    assert coll.id not in (None, older.id) and coll.path == "cube.zarr/"
    assert len([c async for c in sh.zarr.collections()]) == 3  # sent once, found, not created twice
    posts = [r for r in eo_emulator.requests if r.method == "POST" and r.path == base]
    assert [r.fault for r in posts] == [None, None, kind]


async def test_validation_before_sending(sh: SentinelHub, eo_emulator: Emulator) -> None:
    before = len(eo_emulator.requests)
    bad = [
        ({**spec(), "path": "/abs/"}, "collection.path"),
        ({**spec(), "path": "no-slash"}, "collection.path"),
        ({**spec(), "crs": " "}, "collection.crs"),
        ({"name": "x", "s3Bucket": BUCKET, "path": "a/"}, "collection.crs"),
        ({**spec(), "name": 3}, "collection.name"),
    ]
    for body, field in bad:
        with pytest.raises(ValidationError) as info:
            await sh.zarr.create_collection(body)
        assert info.value.field == field
    with pytest.raises(ValidationError) as info:
        await sh.zarr.update_collection(uuid.uuid4(), {"name": "x", "crs": CRS_4326})
    assert info.value.field == "collection.crs"
    with pytest.raises(ValidationError) as info:
        await sh.zarr.collection("not-a-uuid")
    assert info.value.field == "collection_id"
    with pytest.raises(ValidationError):
        sh.zarr.arrays(uuid.uuid4(), count=0)
    with pytest.raises(ValidationError):
        await sh.zarr.array(uuid.uuid4(), "a/b")
    assert len(eo_emulator.requests) == before


async def test_emulator_refuses_what_the_service_refuses(sh: SentinelHub, eo_emulator: Emulator) -> None:
    transport = sh.context.transport
    base = "/api/v1/zarr/collections"
    for body, parameter in [
        ({"name": "x", "s3Bucket": BUCKET, "path": "a/"}, "crs"),
        ({"name": "x", "s3Bucket": BUCKET, "path": "a", "crs": CRS_4326}, "path"),
        ({"name": "x", "s3Bucket": BUCKET, "path": "a/", "crs": "EPSG:4326"}, "crs"),
        ({"s3Bucket": BUCKET, "path": "a/", "crs": CRS_4326}, "name"),
    ]:
        with pytest.raises(BadRequestError) as info:
            await transport.request_json("POST", base, operation="test", json=body)
        assert parameter in str(info.value)
    coll = await sh.zarr.create_collection(spec())
    with pytest.raises(BadRequestError):
        await transport.request("PUT", f"{base}/{coll.id}", operation="test", json={"name": ""})
    with pytest.raises(BadRequestError):
        await transport.request_json("GET", base, operation="test", params={"sort": "created:asc"})


pytestmark = pytest.mark.eo_emulator(seed=11)
