"""Batch v2 jobs yield what they delivered: ``job.outputs()``, ``job.results()``, ``job.download()``.

Against the emulator's own S3 API and against a real S3 server (moto, fixture ``s3``).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import zlib
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import anyio
import pytest

from eoclient.bulk import Downloaded, Failure
from eoclient.emulator import Emulator
from eoclient.emulator.clients import sentinelhub_client
from eoclient.errors import (
    ConfigurationError,
    DownloadError,
    JobCancelledError,
    MissingOutputsError,
    UnsupportedOperationError,
)
from eoclient.storage.outputs import Output, download_outputs
from tests.integration.test_batch import corsica


def spec(url: str, *identifiers: str, kind: str = "raster") -> dict[str, Any]:
    body = corsica("outputs")
    if identifiers:
        body["processRequest"]["output"]["responses"] = [
            {"identifier": i, "format": {"type": "image/tiff"}} for i in identifiers
        ]
        outputs = ", ".join(f'{{id: "{i}", bands: 1}}' for i in identifiers)
        returns = ", ".join(f"{i}: [s.B04]" for i in identifiers)
        body["processRequest"]["evalscript"] = (
            "//VERSION=3\nfunction setup() { return { input: ['B04'], output: ["
            + outputs
            + "] }; }\nfunction evaluatePixel(s) { return {"
            + returns
            + "}; }"
        )
    body["output"] = {"type": kind, "delivery": {"s3": {"url": url}}}
    return body


@pytest.mark.eo_emulator(seed=5, clock_speed=1000.0)
async def test_outputs_appear_while_the_job_runs_and_name_their_tile(eo_emulator: Emulator) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch.run(spec("s3://my-bucket/ndvi"))
        seen: list[Output] = []
        during = 0
        async for out in job.outputs():
            seen.append(out)
            if not job.done:
                during += 1
        done = await job
        assert during > 0, "no output was yielded before the job ended"
        assert seen and len({o.key for o in seen}) == len(seen)
        for out in seen:
            assert out.key == f"ndvi/{done.id}/{out.tile}/default.tif"
            assert out.path == f"{out.tile}/default.tif" and out.output == "default"
            assert out.tile_id is not None and out.size > 0 and out.checksum
            data = await out.read()
            assert hashlib.md5(data).hexdigest() == out.checksum
        listed = [o async for o in sh.open_store("s3://my-bucket").list(f"ndvi/{done.id}/")]
        assert sorted(o.key for o in listed) == sorted(o.key for o in seen)


# -- helpers ------------------------------------------------------------------------------------


def moto_emulator(s3: Any, **kwargs: Any) -> Emulator:
    return Emulator(
        s3_endpoint=s3.endpoint,
        s3_access_key=s3.access_key,
        s3_secret_key=s3.secret_key,
        s3_region=s3.region,
        **kwargs,
    )


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def files_under(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}


def parts_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.part")]


def object_gets(emu: Emulator, prefix: str) -> int:
    """GETs of objects (not listings) the emulator's S3 API served under ``/<bucket>/<prefix>``."""
    return sum(
        1 for r in emu.requests if r.service == "s3" and r.method == "GET" and r.path.startswith(prefix)
    )


async def stored(sh: Any, bucket: str, prefix: str) -> dict[str, tuple[int, str | None]]:
    store = sh.open_store(f"s3://{bucket}")
    return {o.key: (o.size, o.checksum) async for o in store.list(prefix)}


def zarr_spec(url: str) -> dict[str, Any]:
    body = spec(url, "default", "ndvi", kind="zarr")
    for response in body["processRequest"]["output"]["responses"]:
        response["format"] = {"type": "zarr/array"}
    body["output"]["group"] = {"zarr_format": 2}
    body["output"]["arrayParameters"] = {"dtype": "|u1", "order": "C", "chunks": [1, 64, 64], "fill_value": 0}
    return body


# -- raster layouts, against a real S3 server -------------------------------------------------------


async def test_several_outputs_per_tile_against_moto(s3: Any) -> None:
    bucket = s3.bucket("v2-several")
    async with moto_emulator(s3, seed=7, clock_speed=1000.0) as emu, sentinelhub_client(emu) as sh:
        job = await sh.batch.run(spec(f"s3://{bucket}/runs", "default", "ndvi"))
        seen = [o async for o in job.outputs()]
        rid = job.id
        tiles = {o.tile for o in seen}
        assert tiles and all(t is not None for t in tiles)
        for out in seen:
            assert out.bucket == bucket and out.output in ("default", "ndvi")
            assert out.key == f"runs/{rid}/{out.tile}/{out.output}.tif"
            assert out.path == f"{out.tile}/{out.output}.tif" and out.fields["format"] == "tif"
        # every tile delivered both outputs; nothing under the folder was left out
        assert sorted((o.tile, o.output) for o in seen) == sorted(
            (t, i) for t in tiles for i in ("default", "ndvi")
        )
        listed = s3.client().list_objects_v2(Bucket=bucket, Prefix=f"runs/{rid}/")["Contents"]
        assert sorted(o["Key"] for o in listed) == sorted(o.key for o in seen)
        assert emu.objects.buckets == []  # it all went through moto


async def test_a_templated_url_with_one_output_against_moto(s3: Any, tmp_path: Path) -> None:
    bucket = s3.bucket("v2-template")
    async with moto_emulator(s3, seed=8, clock_speed=1000.0) as emu, sentinelhub_client(emu) as sh:
        job = await sh.batch.run(spec(f"s3://{bucket}/<requestId>/<tileName>.tif"))
        seen = [o async for o in job.outputs()]
        assert seen
        for out in seen:
            assert out.key == f"{job.id}/{out.tile}.tif" and out.path == f"{out.tile}.tif"
            assert out.output == "default" and out.tile_id is not None
        report = await job.download(tmp_path, concurrency=4)
        assert report.ok and len(report.downloaded) == len(seen)
        for out in seen:
            body = s3.client().get_object(Bucket=bucket, Key=out.key)["Body"].read()
            assert (tmp_path / out.path).read_bytes() == body


# -- Zarr ----------------------------------------------------------------------------------------


@pytest.mark.eo_emulator(seed=9, clock_speed=1000.0)
async def test_zarr_outputs_are_listed_per_array_and_download_as_a_store(
    eo_emulator: Emulator, tmp_path: Path
) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch.run(zarr_spec("s3://cubes/out/<requestId>"))
        seen = [o async for o in job.outputs()]
        root = f"out/{job.id}/"
        assert {o.key for o in seen} == set(await stored(sh, "cubes", root))
        group = {o.path for o in seen if o.array is None}
        assert group == {".zgroup", ".zattrs"}
        arrays: dict[str, set[str]] = {}
        for out in seen:
            assert out.key == root + out.path
            if out.array is not None:
                assert out.path.startswith(out.array + "/")
                arrays.setdefault(out.array, set()).add(out.path.removeprefix(out.array + "/"))
        assert set(arrays) == {"default", "ndvi"}
        for names in arrays.values():
            assert {".zarray", ".zattrs"} <= names and names - {".zarray", ".zattrs"}

        report = await job.download(tmp_path / "cube.zarr")
        assert report.ok
        cube = tmp_path / "cube.zarr"
        assert json.loads((cube / ".zgroup").read_text()) == {"zarr_format": 2}
        for array, names in arrays.items():
            meta = json.loads((cube / array / ".zarray").read_text())
            assert meta["zarr_format"] == 2 and meta["compressor"]["id"] == "zlib"
            chunk_bytes = math.prod(meta["chunks"]) * int(meta["dtype"][-1])
            chunks = sorted(names - {".zarray", ".zattrs"})
            assert chunks
            for name in chunks:
                index = [int(i) for i in name.split(".")]
                grid = [math.ceil(s / c) for s, c in zip(meta["shape"], meta["chunks"], strict=True)]
                assert len(index) == len(grid) and all(0 <= i < g for i, g in zip(index, grid, strict=True))
                assert len(zlib.decompress((cube / array / name).read_bytes())) == chunk_bytes
        assert set(files_under(cube)) == {o.path for o in seen}


# -- download: while running, rerun, altered files -------------------------------------------------


@pytest.mark.eo_emulator(seed=10, clock_speed=200.0)
async def test_download_while_running_then_rerun_skips_then_refetches_an_altered_file(
    eo_emulator: Emulator, tmp_path: Path
) -> None:
    emu = eo_emulator
    async with sentinelhub_client(emu) as sh:
        job = await sh.batch.run(spec("s3://dl/ndvi", "default", "ndvi"))
        during = 0
        outcomes = []
        async for got in job.download_each(tmp_path, concurrency=3):
            outcomes.append(got)
            if not job.done:
                during += 1
        assert during > 0, "nothing was downloaded before the job ended"
        assert all(isinstance(o, Downloaded) and not o.skipped for o in outcomes)
        objects = await stored(sh, "dl", f"ndvi/{job.id}/")
        local = files_under(tmp_path)
        assert sorted(local) == sorted(k.removeprefix(f"ndvi/{job.id}/") for k in objects)
        for key, (size, checksum) in objects.items():
            path = local[key.removeprefix(f"ndvi/{job.id}/")]
            assert path.stat().st_size == size and md5_of(path) == checksum
        assert not parts_under(tmp_path)

        before = object_gets(emu, "/dl/ndvi/")
        again = await job.download(tmp_path, concurrency=3)
        assert again.ok and len(again.skipped) == len(objects) and not again.downloaded
        assert object_gets(emu, "/dl/ndvi/") == before  # nothing fetched

        victim = sorted(local)[0]
        data = bytearray(local[victim].read_bytes())
        data[-1] ^= 0xFF  # same size, other bytes: only the checksum tells
        local[victim].write_bytes(bytes(data))
        third = await job.download(tmp_path, concurrency=3)
        assert [f.path for f in third.downloaded] == [local[victim]]
        assert len(third.skipped) == len(objects) - 1
        assert md5_of(local[victim]) == objects[f"ndvi/{job.id}/{victim}"][1]
        assert object_gets(emu, "/dl/ndvi/") == before + 1


# -- faults on the store --------------------------------------------------------------------------


@pytest.mark.eo_emulator(seed=11, clock_speed=500.0)
async def test_download_survives_drops_and_slowdowns(eo_emulator: Emulator, tmp_path: Path) -> None:
    emu = eo_emulator
    emu.faults.inject("drop", service="s3", method="GET", path_prefix="/faulty/ndvi/", count=2)
    emu.faults.inject("server_error", service="s3", method="GET", path_prefix="/faulty/ndvi/", count=2)
    async with sentinelhub_client(emu) as sh:
        job = await sh.batch.run(spec("s3://faulty/ndvi", "default", "ndvi"))
        report = await job.download(tmp_path, concurrency=2)
        assert report.ok, report.failures
        objects = await stored(sh, "faulty", f"ndvi/{job.id}/")
        assert len(report.files) == len(objects)
        for key, (size, checksum) in objects.items():
            path = tmp_path / key.removeprefix(f"ndvi/{job.id}/")
            assert path.stat().st_size == size and md5_of(path) == checksum
        assert not parts_under(tmp_path)
        faults = [r.fault for r in emu.requests if r.service == "s3" and r.fault]
        assert faults.count("drop") == 2 and faults.count("server_error") == 2


@pytest.mark.eo_emulator(seed=12, clock_speed=500.0)
async def test_a_late_output_whose_sibling_arrived_is_waited_for(
    eo_emulator: Emulator, tmp_path: Path
) -> None:
    emu = eo_emulator
    # The first object the job writes (tile 0's "default") shows up 200 emulated seconds late: well
    # after DONE. Its sibling "ndvi" is there, so the delivery is known to be incomplete.
    emu.faults.inject("late", path_prefix="/slow/ndvi/", seconds=200.0, count=1)
    async with sentinelhub_client(emu) as sh:
        job = await sh.batch.run(spec("s3://slow/ndvi", "default", "ndvi"))
        report = await job.download(tmp_path, concurrency=2, grace=30.0)
        assert job.done and report.ok
        objects = await stored(sh, "slow", f"ndvi/{job.id}/")
        assert f"ndvi/{job.id}/tile-0/default.tif" in objects
        assert sorted(files_under(tmp_path)) == sorted(k.removeprefix(f"ndvi/{job.id}/") for k in objects)


@pytest.mark.eo_emulator(seed=13, clock_speed=1000.0)
async def test_an_output_that_never_comes_raises_missing_outputs(eo_emulator: Emulator) -> None:
    emu = eo_emulator
    emu.faults.inject("late", path_prefix="/lost/ndvi/", seconds=1e9, count=1)
    async with sentinelhub_client(emu) as sh:
        job = await sh.batch.run(spec("s3://lost/ndvi", "default", "ndvi"))
        seen: list[Output] = []
        with pytest.raises(MissingOutputsError) as caught:
            async for out in job.outputs(grace=0.3):
                seen.append(out)
        assert caught.value.missing == ["tile tile-0 output default"]
        assert caught.value.job_id == job.id
        assert ("tile-0", "ndvi") in {(o.tile, o.output) for o in seen}
        assert ("tile-0", "default") not in {(o.tile, o.output) for o in seen}


# -- cancellation ---------------------------------------------------------------------------------


@pytest.mark.eo_emulator(seed=14, clock_speed=1000.0)
async def test_cancelling_a_download_mid_transfer_leaves_nothing_partial(
    eo_emulator: Emulator, tmp_path: Path
) -> None:
    emu = eo_emulator
    async with sentinelhub_client(emu) as sh:
        job = await sh.batch.run(spec("s3://cut/ndvi"))
        await job
        # One large output among the small ones: the transfer that is cut.
        big = f"ndvi/{job.id}/tile-big/default.tif"
        emu.objects.put("cut", big, bytes(range(256)) * (32 * 1024))  # 8 MiB
        # Its first GET is cut half-way; the next one hangs: the .part holds some bytes, not all.
        emu.faults.inject("drop", service="s3", method="GET", path_prefix=f"/cut/{big}", count=1)
        emu.faults.inject("latency", service="s3", method="GET", path_prefix=f"/cut/{big}", seconds=5.0)
        before = await stored(sh, "cut", f"ndvi/{job.id}/")
        part = tmp_path / "tile-big" / "default.tif.part"

        async with anyio.create_task_group() as tg:
            tg.start_soon(job.download, tmp_path)
            while not (part.exists() and part.stat().st_size > 0):  # noqa: ASYNC110 - a file, no event
                await anyio.sleep(0.01)
            tg.cancel_scope.cancel()

        assert not parts_under(tmp_path)
        assert not (tmp_path / "tile-big" / "default.tif").exists()
        for rel, path in files_under(tmp_path).items():  # what did finish is whole
            assert md5_of(path) == before[f"ndvi/{job.id}/{rel}"][1]
        assert await stored(sh, "cut", f"ndvi/{job.id}/") == before  # the store is untouched


# -- a stopped job, unreadable deliveries, no obstore ---------------------------------------------


# A slow clock: listing renders each delivered tile (its ETag is its MD5), and the STOP must
# reach the job before its last tile does.
@pytest.mark.eo_emulator(seed=15, clock_speed=20.0)
async def test_a_stopped_job_yields_what_it_delivered_then_raises(eo_emulator: Emulator) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch.run(spec("s3://halt/ndvi"))
        seen: list[Output] = []
        with pytest.raises(JobCancelledError):
            async for out in job.outputs():
                seen.append(out)
                if len(seen) == 1:
                    await job.cancel()
        assert seen
        objects = await stored(sh, "halt", f"ndvi/{job.id}/")
        assert sorted(o.key for o in seen) == sorted(objects)
        assert (await job.refresh()).raw == "STOPPED"


@pytest.mark.eo_emulator(seed=16, clock_speed=1000.0)
async def test_gs_delivery_is_refused_before_any_listing(eo_emulator: Emulator) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        body = spec("s3://unused")
        body["output"]["delivery"] = {"gs": {"url": "gs://my-gcs-bucket/out", "credentials": "e30="}}
        job = await sh.batch.run(body)
        with pytest.raises(UnsupportedOperationError, match="Google Cloud Storage"):
            async for _ in job.outputs():
                pass
        assert not [r for r in eo_emulator.requests if r.service == "s3"]


@pytest.mark.eo_emulator(seed=17, clock_speed=1000.0)
async def test_without_obstore_the_error_says_what_to_install(
    eo_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "obstore", None)
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch.run(spec("s3://none/ndvi"))
        with pytest.raises(ConfigurationError, match=r"pip install 'eoclient\[s3\]'"):
            async for _ in job.outputs():
                pass


def listings(emu: Emulator, bucket: str) -> int:
    """ListObjectsV2 requests the emulator's S3 API served for ``bucket``."""
    return sum(1 for r in emu.requests if r.service == "s3" and r.method == "GET" and r.path == f"/{bucket}")


@pytest.mark.eo_emulator(seed=18, clock_speed=1000.0)
async def test_an_ended_job_is_listed_once(eo_emulator: Emulator) -> None:
    emu = eo_emulator
    async with sentinelhub_client(emu) as sh:
        raster = await sh.batch.run(spec("s3://once/ndvi", "default", "ndvi"))
        cube = await sh.batch.run(zarr_spec("s3://once-z/out/<requestId>"))
        await raster
        await cube
        for job, bucket in ((raster, "once"), (cube, "once-z")):
            before = listings(emu, bucket)
            assert [o async for o in job.outputs()]
            # The listing after the end shows every tile whole: nothing to list again; and the Zarr
            # group and its arrays share one folder: one listing for both.
            assert listings(emu, bucket) - before == 1, bucket


@pytest.mark.eo_emulator(seed=19, clock_speed=500.0)
async def test_objects_late_during_the_run_are_still_all_delivered(
    eo_emulator: Emulator, tmp_path: Path
) -> None:
    emu = eo_emulator
    emu.faults.inject("late", path_prefix="/tardy/ndvi/", seconds=15.0, count=4)
    async with sentinelhub_client(emu) as sh:
        job = await sh.batch.run(spec("s3://tardy/ndvi"))
        report = await job.download(tmp_path, concurrency=2)
        objects = await stored(sh, "tardy", f"ndvi/{job.id}/")
        assert report.ok and len(report.files) == len(objects)
        assert sorted(files_under(tmp_path)) == sorted(k.removeprefix(f"ndvi/{job.id}/") for k in objects)


@pytest.mark.eo_emulator(seed=20, clock_speed=100.0)
async def test_downloading_a_stopped_job_fetches_what_it_delivered_then_raises(
    eo_emulator: Emulator, tmp_path: Path
) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch.run(spec("s3://halt-dl/ndvi", "default", "ndvi"))
        got: list[Any] = []
        with pytest.raises(JobCancelledError):
            async for outcome in job.download_each(tmp_path, concurrency=1):
                got.append(outcome)
                if len(got) == 1:
                    await job.cancel()
        objects = await stored(sh, "halt-dl", f"ndvi/{job.id}/")
        assert len(objects) > 1
        # Every file the job delivered is on disk, whole: the job's end does not cut transfers short.
        assert sorted(files_under(tmp_path)) == sorted(k.removeprefix(f"ndvi/{job.id}/") for k in objects)
        assert len(got) == len(objects) and not parts_under(tmp_path)


@pytest.mark.eo_emulator(seed=22, clock_speed=1000.0)
async def test_download_of_a_stopped_job_raises_with_its_report(
    eo_emulator: Emulator, tmp_path: Path
) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch.run(spec("s3://halt-report/ndvi"))
        async with aclosing(job.outputs()) as outputs:
            async for _ in outputs:
                break  # one tile is there
        await job.cancel()
        with pytest.raises(JobCancelledError) as caught:
            await job.download(tmp_path)
        report = caught.value.report
        objects = await stored(sh, "halt-report", f"ndvi/{job.id}/")
        assert report is not None and report.ok and len(report.downloaded) == len(objects) > 0
        assert sorted(p.relative_to(tmp_path).as_posix() for p in (f.path for f in report.files)) == sorted(
            files_under(tmp_path)
        )


@pytest.mark.eo_emulator(seed=21, clock_speed=1000.0)
async def test_a_file_that_is_not_the_listed_object_is_a_failure(
    eo_emulator: Emulator, tmp_path: Path
) -> None:
    emu = eo_emulator
    async with sentinelhub_client(emu) as sh:
        job = await sh.batch.run(spec("s3://check/ndvi"))
        listed = [o async for o in job.outputs()]
        victim = listed[0]
        body = bytearray(await victim.read())
        body[-1] ^= 0xFF  # same size: only the checksum tells
        emu.objects.put("check", victim.key, bytes(body))  # replaced after it was listed

        async def again() -> AsyncIterator[Output]:
            for out in listed:
                yield out

        outcomes = [o async for o in download_outputs(again(), tmp_path)]
        failures = [o for o in outcomes if isinstance(o, Failure)]
        assert len(failures) == 1 and isinstance(failures[0].error, DownloadError)
        assert "MD5" in str(failures[0].error) and victim.key in str(failures[0].error)
        assert not (tmp_path / victim.path).exists() and not parts_under(tmp_path)
        assert len(files_under(tmp_path)) == len(listed) - 1
        # A new listing sees the new object: it is fetched, the rest skipped.
        report = await job.download(tmp_path)
        assert report.ok and [f.path for f in report.downloaded] == [tmp_path / victim.path]
