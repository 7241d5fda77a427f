"""Batch Statistical jobs yield their per-feature results.

``job.results()`` (typed statistics), ``job.outputs()``, ``job.download()``,
against the emulator's own S3 API and against a real S3 server (moto, fixture ``s3``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eoclient._models import from_wire
from eoclient.emulator import Emulator
from eoclient.emulator.clients import sentinelhub_client
from eoclient.emulator.sentinelhub.batch_statistics_engine import batch_statistics_store
from eoclient.errors import ResponseDecodeError, UnsupportedOperationError
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.batch_statistics_models import FeatureStatistics
from eoclient.sentinelhub.statistics_models import StatisticsResponse
from eoclient.storage import StorageSettings
from eoclient.storage.outputs import Output
from tests.integration.test_batch_statistics import request

pytestmark = pytest.mark.eo_emulator(seed=3, clock_speed=1000.0)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def features(emu: Emulator, job_id: str) -> int:
    return batch_statistics_store(emu.state).requests[job_id].features


def raw_objects(emu: Emulator, bucket: str, prefix: str) -> dict[str, bytes]:
    return {o.key: o.body for o in emu.objects.list(bucket, prefix)}


async def test_results_appear_while_the_job_runs_typed_as_the_statistical_api(eo_emulator: Emulator) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch_statistics.create(request(), start=True)
        seen: list[FeatureStatistics] = []
        during = 0
        async for item in job.results():
            seen.append(item)
            during += not job.done
        task = await job
        assert task.status == "DONE"
        assert during > 0, "no result was yielded before the job ended"
        count = features(eo_emulator, job.id)
        assert sorted(int(s.feature_id or 0) for s in seen) == list(range(1, count + 1))
        stored = raw_objects(eo_emulator, "my-bucket", f"results/{job.id}/")
        assert len(stored) == count
        for item in seen:
            out = item.output
            assert (
                out.key == f"results/{job.id}/{item.feature_id}.json"
                and out.path == f"{item.feature_id}.json"
            )
            assert out.feature == item.feature == item.feature_id and item.identifier is None
            assert isinstance(item.statistics, StatisticsResponse)
            # What sh.statistics would decode from the same answer.
            expected = from_wire(json.loads(stored[out.key]), StatisticsResponse)
            assert item.statistics == expected and item.statistics.data


async def test_outputs_of_a_templated_url_name_the_feature_identifier(eo_emulator: Emulator) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch_statistics.create(
            request(output="s3://my-bucket/stats/<REQUEST_ID>/<IDENTIFIER>.json"), start=True
        )
        outs: list[Output] = [o async for o in job.outputs()]
        count = features(eo_emulator, job.id)
        assert sorted(o.feature or "" for o in outs) == sorted(f"feature-{i}" for i in range(1, count + 1))
        assert all(o.key == f"stats/{job.id}/{o.feature}.json" for o in outs)
        item = await anext(job.results())  # the job has ended: read from the store at once
        assert item.identifier is not None and item.feature_id is None and item.feature == item.identifier


async def test_download_and_resume_token_give_the_same_results(eo_emulator: Emulator, tmp_path: Path) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch_statistics.create(request(), start=True)
        report = await job.download(tmp_path)
        assert not report.failures
        stored = raw_objects(eo_emulator, "my-bucket", f"results/{job.id}/")
        assert names(tmp_path) == sorted(k.rsplit("/", 1)[1] for k in stored)
        for key, body in stored.items():
            assert (tmp_path / key.rsplit("/", 1)[1]).read_bytes() == body
        again = await job.download(tmp_path)
        assert len(again.skipped) == len(stored) and not again.downloaded
        token = job.resume_token
        first = sorted([(r.feature, r.statistics) async for r in job.results()])
    async with sentinelhub_client(eo_emulator) as other:
        resumed = other.resume_job(token)
        assert sorted([(r.feature, r.statistics) async for r in resumed.results()]) == first


async def test_a_late_result_is_yielded_when_it_appears(eo_emulator: Emulator) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch_statistics.create(request(output="s3://late-bucket/results"))
        # The first feature's object appears only when the test moves the emulator's clock on: after
        # every other result was yielded, whatever the machine's load (no race with the job's pace).
        eo_emulator.faults.inject(
            "late", path_prefix=f"/late-bucket/results/{job.id}/1.json", seconds=100_000.0
        )
        await sh.batch_statistics.start(job)
        order: list[str] = []
        async for item in job.results():
            order.append(item.feature_id)
            if len(order) == features(eo_emulator, job.id) - 1:
                assert "1" not in order
                eo_emulator.clock.advance(100_000.0)
        assert sorted(order, key=int) == [str(i) for i in range(1, features(eo_emulator, job.id) + 1)]
        assert order[-1] == "1"  # yielded once it appeared


async def test_store_faults_503_and_drop_are_survived(eo_emulator: Emulator) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch_statistics.create(request(), start=True)
        eo_emulator.faults.inject("server_error", service="s3", count=3)
        eo_emulator.faults.inject(
            "drop", service="s3", method="GET", path_prefix="/my-bucket/results/", count=2
        )
        items = [item async for item in job.results()]
        assert len(items) == features(eo_emulator, job.id)
        faults = [r.fault for r in eo_emulator.requests if r.service == "s3" and r.fault]
        assert faults.count("server_error") == 3 and "drop" in faults
        stored = raw_objects(eo_emulator, "my-bucket", f"results/{job.id}/")
        for item in items:
            assert item.statistics == from_wire(json.loads(stored[item.output.key]), StatisticsResponse)


async def test_a_malformed_result_is_a_decode_error_naming_its_key(eo_emulator: Emulator) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        job = await sh.batch_statistics.create(request(), start=True)
        await job
        key = f"results/{job.id}/9999.json"
        eo_emulator.objects.put("my-bucket", key, b"{not json", content_type="application/json")
        with pytest.raises(ResponseDecodeError) as info:
            async for _ in job.results():
                pass
        assert key in str(info.value)
        eo_emulator.objects.put("my-bucket", key, b'{"data": "not a list"}', content_type="application/json")
        with pytest.raises(ResponseDecodeError) as info:
            async for _ in job.results():
                pass
        assert key in str(info.value)


async def test_a_gs_output_is_refused_as_unreadable(eo_emulator: Emulator, sh: SentinelHub) -> None:
    body = request()
    body["output"] = {"gs": {"url": "gs://bucket/stats", "credentials": "eyJ0eXBlIjogInNlcnZpY2UifQ=="}}
    job = await sh.batch_statistics.create(body)
    with pytest.raises(UnsupportedOperationError, match="Google Cloud Storage"):
        await anext(job.outputs())


@pytest.mark.eo_emulator(seed=3, clock_speed=1000.0)
async def test_results_from_a_real_s3_server(s3: Any) -> None:
    bucket = s3.bucket("stats")
    async with Emulator(
        clock_speed=1000.0,
        s3_endpoint=s3.endpoint,
        s3_access_key=s3.access_key,
        s3_secret_key=s3.secret_key,
        s3_region=s3.region,
    ) as emu:
        storage = StorageSettings(
            endpoint=s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key, region=s3.region
        )
        async with sentinelhub_client(emu, storage=storage) as sh:
            job = await sh.batch_statistics.create(request(output=f"s3://{bucket}/results"), start=True)
            items = [item async for item in job.results()]
            await job
        count = features(emu, job.id)
        assert sorted(int(i.feature_id or 0) for i in items) == list(range(1, count + 1))
        client = s3.client()
        for item in items:
            body = client.get_object(Bucket=bucket, Key=item.output.key)["Body"].read()
            assert item.statistics == from_wire(json.loads(body), StatisticsResponse)
        assert emu.objects.buckets == []  # nothing went to the emulator's own store
