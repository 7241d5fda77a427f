"""Legacy batch jobs (``sh.batch.v1``): ``job.results()`` joins the tiles endpoint with the delivered files.

Against the emulator's own S3 API and against a real S3 server (moto, fixture ``s3``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.clients import sentinelhub_client
from eoclient.errors import JobFailedError, MissingOutputsError, ValidationError
from eoclient.sentinelhub.batch_outputs import v1_plan
from eoclient.sentinelhub.batch_v1_outputs import TileOutputs
from tests.integration.test_batch_v1 import legacy


def two_outputs(body: dict[str, Any], *identifiers: str) -> dict[str, Any]:
    """``body`` whose evalscript writes one single-band GeoTIFF per identifier."""
    outputs = ", ".join(f'{{id: "{i}", bands: 1}}' for i in identifiers)
    returns = ", ".join(f"{i}: [s.B04]" for i in identifiers)
    body["processRequest"] = {
        **body["processRequest"],
        "evalscript": "//VERSION=3\nfunction setup() { return { input: ['B04'], output: ["
        + outputs
        + "] }; }\nfunction evaluatePixel(s) { return {"
        + returns
        + "}; }",
        "output": {"responses": [{"identifier": i, "format": {"type": "image/tiff"}} for i in identifiers]},
    }
    return body


def emulator_on(s3: Any, **kwargs: Any) -> Emulator:
    return Emulator(
        s3_endpoint=s3.endpoint,
        s3_access_key=s3.access_key,
        s3_secret_key=s3.secret_key,
        s3_region=s3.region,
        **kwargs,
    )


# A slow enough clock that the 60 s of processing last a few real seconds: tiles finish while we watch.
@pytest.mark.eo_emulator(seed=3, clock_speed=20.0)
async def test_tiles_are_joined_with_their_files_while_the_job_runs(eo_emulator: Emulator) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch.v1.run(legacy("joined", bucketName="my-bucket"))
        seen: list[TileOutputs] = []
        during = 0
        async for item in job.results():
            assert isinstance(item, TileOutputs)
            seen.append(item)
            during += not job.done
        done = await job
        assert during > 0, "no tile was yielded before the job ended"
        assert done.tile_count is not None and len(seen) == done.tile_count
        assert sorted(t.id for t in seen) == list(range(done.tile_count))
        for item in seen:
            assert item.status == "PROCESSED" and item.cost is not None and item.cost > 0
            (out,) = item.outputs
            assert out.key == f"{done.id}/tile-{item.id}/default.tif" and out.tile_id == item.id
            assert out.output == "default" and out.path == f"tile-{item.id}/default.tif"
            assert hashlib.md5(await out.read()).hexdigest() == out.checksum
        # The same tiles as the endpoint says, after the end.
        tiles = await sh.batch.v1.tiles(done.id, count=100).collect()
        assert {t.id: t.cost for t in tiles} == {t.id: t.cost for t in seen}


@pytest.mark.eo_emulator(seed=3, clock_speed=20.0)
async def test_outputs_and_downloads_also_come_while_the_job_runs(
    eo_emulator: Emulator, tmp_path: Path
) -> None:
    # The legacy API shows no progress while PROCESSING: the store is listed at each poll anyway.
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch.v1.run(legacy("outputs while running", bucketName="my-bucket"))
        during = 0
        async for _got in job.download_each(tmp_path):
            during += not job.done
        done = await job
        assert during > 0, "no file was downloaded before the job ended"
        assert done.tile_count is not None
        assert len(tiffs_under(tmp_path)) == done.tile_count


async def test_tile_ids_in_templates_and_several_outputs_on_a_real_store(s3: Any) -> None:
    bucket = s3.bucket("legacy")
    template = f"s3://{bucket}/out/<requestId>/<tileId>/<outputId>.<format>"
    async with emulator_on(s3, clock_speed=1000.0) as emu, sentinelhub_client(emu) as sh:
        body = two_outputs(legacy("ids", output={"defaultTilePath": template}), "ndvi", "mask")
        job = await sh.batch.v1.run(body)
        seen = [item async for item in job.results()]
        done = await job
        assert len(seen) == done.tile_count
        for item in seen:
            assert [o.output for o in item.outputs] == ["ndvi", "mask"]
            assert [o.key for o in item.outputs] == [
                f"out/{done.id}/{item.id}/ndvi.tif",
                f"out/{done.id}/{item.id}/mask.tif",
            ]
        listed = s3.client().list_objects_v2(Bucket=bucket, Prefix=f"out/{done.id}/")
        assert listed["KeyCount"] == 2 * len(seen)


@pytest.mark.eo_emulator(seed=4, clock_speed=1000.0)
async def test_failed_tiles_are_yielded_without_outputs_and_the_job_succeeds(eo_emulator: Emulator) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch.v1.run(legacy("partial", bucketName="partial-bucket"))
        seen = [item async for item in job.results()]
        done = await job  # PARTIAL is a success with allow_partial (the default)
        assert done.status == "PARTIAL"
        failed = [t for t in seen if t.status == "FAILED"]
        processed = [t for t in seen if t.status == "PROCESSED"]
        assert len(failed) == 15 and len(processed) == 45 and len(seen) == done.tile_count
        assert all(t.outputs == () and t.cost == 0 for t in failed)
        assert all(len(t.outputs) == 1 and t.outputs[0].tile_id == t.id for t in processed)

        strict = await sh.batch.v1.run(legacy("partial", bucketName="partial-bucket"), allow_partial=False)
        yielded: list[TileOutputs] = []
        with pytest.raises(JobFailedError, match="failed tiles"):
            async for item in strict.results():
                yielded.append(item)
        assert len(yielded) == 60 and sum(t.status == "FAILED" for t in yielded) == 15


@pytest.mark.eo_emulator(seed=5, clock_speed=1000.0)
async def test_a_late_file_is_waited_for(eo_emulator: Emulator) -> None:
    # 3000 emulated seconds: 3 real seconds after the job ends, well within the grace.
    eo_emulator.faults.inject("late", path_prefix="/late-bucket/wait/7.tif", seconds=3000.0)
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch.v1.run(
            legacy("late", output={"defaultTilePath": "s3://late-bucket/wait/<tileId>.tif"})
        )
        seen = {item.id: item async for item in job.results(grace=30.0)}
        done = await job
        assert len(seen) == done.tile_count
        assert seen[7].outputs[0].key == "wait/7.tif"


@pytest.mark.eo_emulator(seed=6, clock_speed=1000.0)
async def test_a_file_later_than_the_grace_is_named(eo_emulator: Emulator) -> None:
    eo_emulator.faults.inject("late", path_prefix="/late-bucket/never/7.tif", seconds=1e7)
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch.v1.run(
            legacy("late", output={"defaultTilePath": "s3://late-bucket/never/<tileId>.tif"})
        )
        seen: list[TileOutputs] = []
        with pytest.raises(MissingOutputsError) as info:
            async for item in job.results(grace=0.2):
                seen.append(item)
        assert info.value.missing == ["tile 7 output default"]
        assert 7 not in {t.id for t in seen} and len(seen) == 59


@pytest.mark.eo_emulator(seed=7, clock_speed=1000.0)
async def test_download_of_a_legacy_job(eo_emulator: Emulator, tmp_path: Path) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch.v1.run(legacy("download", bucketName="dl-bucket"))
        report = await job.download(tmp_path, concurrency=4)
        done = await job
        assert not report.failures and len(report.downloaded) == done.tile_count
        store = sh.open_store("s3://dl-bucket")
        for name in ("tile-0", "tile-59"):
            local = tmp_path / name / "default.tif"
            assert local.read_bytes() == await store.read(f"{done.id}/{name}/default.tif")
        again = await job.download(tmp_path)
        assert not again.downloaded and len(again.skipped) == done.tile_count


@pytest.mark.eo_emulator(seed=8, clock_speed=1000.0)
async def test_tile_path_overrides(eo_emulator: Emulator) -> None:
    output = {
        "defaultTilePath": "s3://paths/main/<requestId>/<tileName>/<outputId>.<format>",
        "responses": [{"identifier": "mask", "tilePath": "s3://paths/masks/<requestId>/<tileId>.tif"}],
    }
    async with sentinelhub_client(eo_emulator) as sh:
        created = await sh.batch.v1.create(two_outputs(legacy("paths", output=output), "ndvi", "mask"))
        assert created.output is not None and created.output.responses is not None
        assert created.output.responses[0].tile_path == output["responses"][0]["tilePath"]  # kept on decode
        plan = v1_plan(created)
        assert plan is not None and len(plan.layouts) == 2

        job = await sh.batch.v1.run(created.id, allow_partial=True)
        seen = [item async for item in job.results()]
        done = await job
        assert len(seen) == done.tile_count
        for item in seen:
            ndvi, mask = item.outputs
            assert ndvi.key == f"main/{done.id}/tile-{item.id}/ndvi.tif" and ndvi.output == "ndvi"
            assert mask.key == f"masks/{done.id}/{item.id}.tif" and mask.output == "mask"
        outputs = [o async for o in job.outputs()]
        assert {o.output for o in outputs} == {"ndvi", "mask"} and len(outputs) == 2 * len(seen)


async def test_tile_path_overrides_are_checked_before_sending(sh: Any) -> None:
    output = {
        "defaultTilePath": "s3://paths/<tileId>.tif",
        "responses": [{"identifier": "other", "tilePath": "s3://paths/other/<tileId>.tif"}],
    }
    with pytest.raises(ValidationError, match="not a response"):
        await sh.batch.v1.create(legacy("bad", output=output))
    output["responses"] = [{"identifier": "default", "tilePath": "s3://paths/<nope>.tif"}]
    with pytest.raises(ValidationError, match="tilePath"):
        await sh.batch.v1.create(legacy("bad", output=output))


@pytest.mark.eo_emulator(seed=9, clock_speed=1000.0)
async def test_a_zarr_output(eo_emulator: Emulator) -> None:
    body = legacy(
        "zarr",
        zarrOutput={
            "path": "s3://zarr-bucket/cube/<requestId>",
            "group": {"zarr_format": 2},
            "arrayParameters": {"dtype": "|u1", "order": "C", "chunks": [1, 256, 256], "fill_value": 0},
        },
    )
    body["processRequest"] = {
        **body["processRequest"],
        "output": {"responses": [{"identifier": "default", "format": {"type": "zarr/array"}}]},
    }
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch.v1.run(body)
        tiles = [item async for item in job.results()]
        done = await job
        assert len(tiles) == done.tile_count and all(t.outputs == () for t in tiles)
        assert all(t.status == "PROCESSED" for t in tiles)
        outputs = [o async for o in job.outputs()]
        arrays = [o for o in outputs if o.array == "default"]
        assert {o.path for o in outputs} >= {".zgroup", "default/.zarray"}
        assert len([o for o in arrays if not o.path.split("/")[-1].startswith(".")]) == done.tile_count


def tiffs_under(root: Path) -> list[Path]:
    """The GeoTIFFs downloaded under ``root`` (a plain function: no blocking calls in a coroutine)."""
    return list(root.rglob("*.tif"))
