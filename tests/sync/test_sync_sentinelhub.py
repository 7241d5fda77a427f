"""Sentinel Hub through the sync facade: one-shot requests, Jobs of every kind, BYOC, in plain ``def``."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from tests.extras import need

np = need("numpy")
need("xarray")
need("obstore")

import eoclient.sync  # noqa: E402
from eoclient import JobState, JobStatus  # noqa: E402
from eoclient.bulk import BulkReport  # noqa: E402
from eoclient.sentinelhub import BatchStatisticsTask, ProcessResult, StatisticsResponse  # noqa: E402
from tests.integration import test_async_process as async_process  # noqa: E402
from tests.integration import test_batch_statistics as batch_statistics  # noqa: E402
from tests.integration.test_arrays_process import request as process_request  # noqa: E402
from tests.integration.test_async_outputs import TWO, TWO_RESPONSES  # noqa: E402
from tests.integration.test_batch_outputs import spec  # noqa: E402
from tests.integration.test_statistics import dict_request  # noqa: E402
from tests.sync.conftest import ThreadedEmulator  # noqa: E402

pytestmark = pytest.mark.eo_emulator(seed=5, clock_speed=1000.0)


def test_process_and_to_xarray(sh: eoclient.sync.SentinelHub, tmp_path: Path) -> None:
    result = sh.process(process_request())
    assert isinstance(result, ProcessResult)  # plain data comes back as it is
    da = result.to_xarray()
    assert da.dims == ("time", "y", "x", "band") and da.sizes["x"] == 70 and da.sizes["y"] == 40
    info = sh.process_to_file(process_request(), tmp_path / "scene.tif")
    assert info.size == (tmp_path / "scene.tif").stat().st_size > 0


def test_statistics(sh: eoclient.sync.SentinelHub) -> None:
    answer = sh.statistics(dict_request("2024-01-01T00:00:00Z", "2024-03-01T00:00:00Z", "P1M"))
    assert isinstance(answer, StatisticsResponse)
    assert len(answer.data) == 2 and answer.processing_units > 0


def test_batch_job_runs_is_watched_and_its_outputs_read_and_downloaded(
    sh: eoclient.sync.SentinelHub, tmp_path: Path
) -> None:
    job = sh.batch.run(spec("s3://my-bucket/ndvi"))
    statuses = list(job.watch())
    assert all(isinstance(s, JobStatus) for s in statuses)
    assert statuses[-1].state is JobState.SUCCEEDED and job.done
    done = job.wait()
    assert done.id == job.id and job.result().id == job.id  # result() is `await job`
    outputs = list(job.outputs())
    assert outputs and all(o.key.startswith(f"ndvi/{job.id}/") for o in outputs)
    first = outputs[0]
    assert hashlib.md5(first.read()).hexdigest() == first.checksum  # an Output's async methods, sync
    assert first.to_xarray().dims == ("y", "x", "band")
    report = job.download(tmp_path)
    assert isinstance(report, BulkReport) and report.ok
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.tif")) == sorted(
        o.path for o in outputs
    )
    listed = [o.key for o in sh.open_store("s3://my-bucket").list(f"ndvi/{job.id}/")]
    assert sorted(listed) == sorted(o.key for o in outputs)
    assert [r.id for r in sh.batch.requests().collect()] == [job.id]


@pytest.mark.eo_emulator(clock_speed=1.0)
def test_a_job_waited_on_in_one_thread_is_cancelled_from_another(sh: eoclient.sync.SentinelHub) -> None:
    job = sh.batch.run(spec("s3://my-bucket/stopped"))
    caught: list[BaseException] = []

    def waiter() -> None:
        try:
            job.wait()
        except eoclient.errors.JobCancelledError as exc:
            caught.append(exc)

    thread = threading.Thread(target=waiter)
    thread.start()
    job.refresh()
    assert job.cancel() is True
    thread.join(30)
    assert not thread.is_alive() and len(caught) == 1
    assert sh.batch.get(job.id).status == "STOPPED"


def test_resume_job_takes_a_token_and_gives_a_sync_job(sh: eoclient.sync.SentinelHub) -> None:
    job = sh.batch.run(spec("s3://my-bucket/resumed"))
    again = sh.resume_job(job.resume_token)
    assert again.wait().id == job.id


def test_batch_statistics_job(sh: eoclient.sync.SentinelHub) -> None:
    job = sh.batch_statistics.create(batch_statistics.request(), start=True)
    task = job.wait(timeout=60)
    assert isinstance(task, BatchStatisticsTask) and task.status == "DONE"
    assert sh.batch_statistics.status(job.id).status == "DONE"


def test_async_process_job_and_its_outputs(sh: eoclient.sync.SentinelHub) -> None:
    req = async_process.request(TWO, responses=TWO_RESPONSES, width=60, height=40)
    job = sh.async_process.create(req, delivery=async_process.s3())
    delivery = job.wait()
    by_output = {out.output: out for out in delivery.objects}  # Outputs inside a result are sync too
    assert by_output["default"].to_numpy().shape == (40, 60)
    assert by_output["mask"].to_xarray().dims == ("y", "x", "band")
    assert delivery.request_id == job.id


def test_byoc_collections_and_tiles(sh: eoclient.sync.SentinelHub, emulator: ThreadedEmulator) -> None:
    for i in range(7):
        sh.byoc.create_collection({"name": f"alpha {i}", "s3Bucket": "bucket-a"})
    pages = list(sh.byoc.collections().pages())
    assert [len(p.items) for p in pages] == [5, 2]
    names = [c.name for c in sh.byoc.collections()]
    assert names == [f"alpha {i}" for i in range(7)]
    coll = sh.byoc.create_collection({"name": "tiles", "s3Bucket": "bucket"})
    tile = sh.byoc.create_tile(coll.id, {"path": "2024/scene_(BAND)"})
    assert [t.id for t in sh.byoc.tiles(coll.id)] == [tile.id]


def test_nested_families(sh: eoclient.sync.SentinelHub) -> None:
    assert list(sh.batch.v1.requests()) == []  # the legacy API's family, under sh.batch
    grids = sh.tiling_grids.list().collect()
    assert grids and grids[0].name
