"""Batch v2 jobs yield what they delivered: ``job.outputs()``, ``job.results()``, ``job.download()``.

Against the emulator's own S3 API and against a real S3 server (moto, fixture ``s3``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.clients import sentinelhub_client
from eoclient.errors import JobCancelledError, UnsupportedOperationError
from eoclient.storage import StorageSettings
from eoclient.storage.outputs import Output
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
