"""The tiles of process_area against the emulator: one request per tile, reruns, failures, concurrency."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from eoclient.areas import split_area
from eoclient.emulator import Emulator
from eoclient.errors import ValidationError
from eoclient.geo import BBox
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.budget import ProcessingBudget
from eoclient.sentinelhub.process import PROCESS_PATH
from eoclient.sentinelhub.process_area import run_tiles, tile_requests

pytestmark = pytest.mark.integration

EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: [{bands: ["B04", "B08"]}], output: [{id: "default", bands: 2, sampleType: "UINT16"}]};
}
function evaluatePixel(s) { return [s.B04, s.B08]; }
"""

AREA = BBox(500_000.0, 5_000_000.0, 500_900.0, 5_000_700.0, crs=32633)


def request(**extra: Any) -> dict[str, Any]:
    return {
        "input": {
            "bounds": {"bbox": [13.0, 45.0, 13.1, 45.1]},  # replaced per tile
            "data": [{"type": "sentinel-2-l2a", "dataFilter": {"maxCloudCoverage": 20}}],
        },
        "evalscript": EVALSCRIPT,
        "output": {
            "width": 10,
            "height": 10,
            "responses": [{"identifier": "default", "format": {"type": "image/tiff"}}],
        },
        **extra,
    }


def process_bodies(emu: Emulator) -> list[dict[str, Any]]:
    return [json.loads(r.body or b"{}") for r in emu.requests if r.path == PROCESS_PATH]


def test_each_tile_request_is_the_users_over_the_tile(tmp_path: Path) -> None:
    split = split_area(AREA, resolution=10, tile_pixels=40)
    work = tile_requests(request(myKey={"kept": True}), split, tmp_path)
    assert [w.tile for w in work] == list(split)
    for w in work:
        body = json.loads(w.prepared.body)
        assert body["input"]["bounds"] == {
            "bbox": w.tile.bbox.as_list(),
            "properties": {"crs": "http://www.opengis.net/def/crs/EPSG/0/32633"},
        }
        assert (body["output"]["width"], body["output"]["height"]) == (w.tile.width, w.tile.height)
        assert body["input"]["data"] == request()["input"]["data"]
        assert body["evalscript"] == EVALSCRIPT and body["myKey"] == {"kept": True}
        assert w.dest.parent == tmp_path and w.dest.suffix == ".tif"
    assert len({w.dest for w in work}) == len(work)


@pytest.mark.parametrize(
    ("req", "field"),
    [
        (request(evalscript=None), "evalscript"),
        (
            {**request(), "output": {"responses": [{"identifier": "default"}, {"identifier": "userdata"}]}},
            "output.responses",
        ),
        (
            {**request(), "output": {"responses": [{"format": {"type": "application/octet-stream"}}]}},
            "output.responses[0].format.type",
        ),
        ({**request(), "input": {"data": [{"type": 7}]}}, "input.data[0].type"),
    ],
)
def test_a_bad_request_is_refused_naming_the_field(tmp_path: Path, req: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        tile_requests(req, split_area(AREA, resolution=10, tile_pixels=40), tmp_path)
    assert err.value.field == field
    assert not any(tmp_path.iterdir())


async def test_tiles_render_once_and_a_rerun_skips_them(
    eo_sentinelhub: SentinelHub, eo_emulator: Emulator, tmp_path: Path
) -> None:
    split = split_area(AREA, resolution=10, tile_pixels=40)  # 90 x 70 px: 3 x 2 tiles
    work = tile_requests(request(), split, tmp_path)
    first = await run_tiles(eo_sentinelhub.transport, work, budget=lambda: None, concurrency=3)
    assert first.report.ok and len(first.report.downloaded) == 6
    assert first.requests == 6 and first.processing_units > 0
    bodies = process_bodies(eo_emulator)
    sent = sorted(json.dumps(b, sort_keys=True) for b in bodies)
    assert sent == sorted(json.dumps(json.loads(w.prepared.body), sort_keys=True) for w in work)
    assert all(w.dest.is_file() for w in work)

    second = await run_tiles(eo_sentinelhub.transport, work, budget=lambda: None, concurrency=3)
    assert len(second.report.skipped) == 6 and second.requests == 0
    assert len(process_bodies(eo_emulator)) == 6

    changed = tile_requests(request(evalscript=EVALSCRIPT + "\n"), split, tmp_path)
    third = await run_tiles(eo_sentinelhub.transport, changed, budget=lambda: None, concurrency=3)
    assert len(third.report.downloaded) == 6  # another request: the old tiles are not taken for it


async def test_a_failed_tile_is_in_the_report_and_leaves_no_file(
    eo_sentinelhub: SentinelHub, eo_emulator: Emulator, tmp_path: Path
) -> None:
    work = tile_requests(request(), split_area(AREA, resolution=10, tile_pixels=40), tmp_path)
    eo_emulator.faults.inject("server_error", path_prefix=PROCESS_PATH, count=50, retry_after=0)
    # One at a time: the first tile meets every 503 and gives up; the retry policy bounds its attempts.
    done = await run_tiles(eo_sentinelhub.transport, work[:1], budget=lambda: None, concurrency=1)
    assert not done.report.ok
    assert [f.item.dest for f in done.report.failures] == [work[0].dest]
    assert os.listdir(tmp_path) == []  # neither the file nor a .part
    eo_emulator.faults.clear()
    again = await run_tiles(eo_sentinelhub.transport, work, budget=lambda: None, concurrency=2)
    assert again.report.ok and len(again.report.downloaded) == 6


async def test_a_body_broken_off_is_rendered_again_from_its_start(
    eo_sentinelhub: SentinelHub, eo_emulator: Emulator, tmp_path: Path
) -> None:
    work = tile_requests(request(), split_area(AREA, resolution=10, tile_pixels=40), tmp_path)
    whole = await run_tiles(eo_sentinelhub.transport, work[:1], budget=lambda: None, concurrency=1)
    expected = work[0].dest.read_bytes()
    work[0].dest.unlink()
    eo_emulator.faults.inject("drop", path_prefix=PROCESS_PATH)
    again = await run_tiles(eo_sentinelhub.transport, work[:1], budget=lambda: None, concurrency=1)
    assert whole.report.ok and again.report.ok and again.report.files[0].resumes == 1
    assert work[0].dest.read_bytes() == expected


async def test_concurrency_is_bounded(
    eo_sentinelhub: SentinelHub, eo_emulator: Emulator, tmp_path: Path
) -> None:
    work = tile_requests(request(), split_area(AREA, resolution=10, tile_pixels=20), tmp_path)  # 5 x 4 tiles
    eo_emulator.faults.inject("latency", path_prefix=PROCESS_PATH, count=len(work), seconds=0.05)
    transport = eo_sentinelhub.transport
    real_stream = transport.stream
    active, peak = 0, 0

    @contextlib.asynccontextmanager
    async def counting(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        try:
            async with real_stream(*args, **kwargs) as resp:
                yield resp
        finally:
            active -= 1

    transport.stream = counting  # type: ignore[method-assign]
    done = await run_tiles(transport, work, budget=lambda: None, concurrency=3)
    assert done.report.ok and len(done.report.downloaded) == 20
    assert peak == 3


async def test_tiles_are_charged_to_the_budget(eo_sentinelhub: SentinelHub, tmp_path: Path) -> None:
    budget = ProcessingBudget(pu_per_minute=10_000.0, requests_per_minute=1000)
    work = tile_requests(request(), split_area(AREA, resolution=10, tile_pixels=40), tmp_path)
    done = await run_tiles(eo_sentinelhub.transport, work, budget=lambda: budget, concurrency=2)
    assert done.report.ok
    assert budget.requests == 6
    assert budget.spent == pytest.approx(done.processing_units)
