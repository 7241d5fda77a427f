"""Job outputs and map tiles render the same field: each tile over its own bounds, tiles joining."""

from __future__ import annotations

import io
import math
import zlib
from types import SimpleNamespace
from typing import Any

import pytest

from eoclient.emulator.core.fields import Grid
from eoclient.emulator.sentinelhub.async_process import plan
from eoclient.emulator.sentinelhub.outputs import _zarr_chunk, tile_grid
from eoclient.emulator.sentinelhub.process.evalscript import ScriptOutput
from eoclient.emulator.sentinelhub.process.rendering import output_raster, render_file
from eoclient.emulator.spaceknow.tiles import TileSpec, mercator_bounds, render
from tests.extras import need

np = need("numpy")
tifffile = need("tifffile")

UTM33 = "http://www.opengis.net/def/crs/EPSG/0/32633"
SCRIPT = """//VERSION=3
function setup() { return {input: ["B02", "B03", "B04"], output: {bands: 3, sampleType: "UINT16"}}; }
function evaluatePixel(s) { return [s.B04, s.B03, s.B02]; }
"""
OUT = ScriptOutput("default", 3, "UINT16")


def process_request(bbox: list[float], crs: str = UTM33) -> dict[str, Any]:
    return {
        "input": {
            "bounds": {"bbox": bbox, "properties": {"crs": crs}},
            "data": [
                {"type": "sentinel-2-l2a", "dataFilter": {"timeRange": {"from": "2024-06-01T00:00:00Z"}}}
            ],
        },
        "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
        "evalscript": SCRIPT,
    }


def record(bbox: list[float], columns: int, rows: int, **extra: Any) -> Any:
    return SimpleNamespace(
        id="r1",
        api="v2",
        body={"processRequest": process_request(bbox), "input": extra},
        tiles=columns * rows,
        grid_columns=columns,
        tile_width_px=64 + 2 * extra.get("bufferX", 0),
        tile_height_px=64 + 2 * extra.get("bufferY", 0),
    )


def read(data: bytes) -> tuple[Any, dict[str, Any]]:
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = tif.pages[0]
        return page.asarray(), {t.name: t.value for t in page.tags.values()}


def test_batch_tiles_carry_their_own_bounds_and_join() -> None:
    bbox = [500_000.0, 5_000_000.0, 506_400.0, 5_006_400.0]
    rec = record(bbox, 2, 2)
    tiles = {}
    for index in range(4):
        grid = tile_grid(rec, index, 64, 64)
        raster = output_raster(rec.body["processRequest"], OUT, grid)
        pixels, tags = read(render_file("default", "image/tiff", raster))
        col, row = index % 2, index // 2  # row 0 in the south, as the batch engine lays tiles out
        assert tags["ModelTiepointTag"][3:5] == pytest.approx((500_000 + col * 3200, 5_003_200 + row * 3200))
        assert tags["ModelPixelScaleTag"][:2] == pytest.approx((50.0, 50.0))
        keys = list(tags["GeoKeyDirectoryTag"])
        assert keys[-4:] == [3072, 0, 1, 32633]
        tiles[row, col] = pixels
    top = np.concatenate([tiles[1, 0], tiles[1, 1]], axis=1)
    bottom = np.concatenate([tiles[0, 0], tiles[0, 1]], axis=1)
    grid = Grid((bbox[0], bbox[1], bbox[2], bbox[3]), 128, 128, 32633)
    whole = read(render_file("default", "image/tiff", output_raster(rec.body["processRequest"], OUT, grid)))[
        0
    ]
    np.testing.assert_array_equal(np.concatenate([top, bottom], axis=0), whole)


def test_batch_tile_buffers_widen_the_bounds() -> None:
    rec = record([500_000.0, 5_000_000.0, 506_400.0, 5_006_400.0], 2, 2, bufferX=8, bufferY=8)
    grid = tile_grid(rec, 0, 80, 80)
    assert grid.bounds == pytest.approx((500_000 - 400, 5_000_000 - 400, 503_200 + 400, 5_003_200 + 400))


def test_zarr_chunks_hold_the_field() -> None:
    request = process_request([500_000.0, 5_000_000.0, 506_400.0, 5_006_400.0])
    raster = output_raster(
        request, OUT, Grid((500_000.0, 5_000_000.0, 503_200.0, 5_003_200.0), 32, 32, 32633)
    )
    chunk = np.frombuffer(zlib.decompress(_zarr_chunk(raster, 100, 90)), "<u2").reshape(3, 90, 100)
    assert chunk.min() > 0 and chunk.max() <= 10000
    assert len(np.unique(chunk)) > 50  # real values, not one per chunk


def test_async_deliveries_are_georeferenced_on_the_request() -> None:
    body = process_request([500_000.0, 5_000_000.0, 506_400.0, 5_003_200.0])
    body["output"]["delivery"] = {"s3": {"url": "s3://bucket/out"}}
    body["output"]["width"], body["output"]["height"] = 640, 320
    planned = plan(body)
    assert (planned.extent, planned.epsg) == ((500_000.0, 5_000_000.0, 506_400.0, 5_003_200.0), 32633)


def _kraken(x: int, y: int) -> TileSpec:
    return TileSpec("map-1", "ndvi", 12, x, y, (-180.0, -85.0, 180.0, 85.0), pixel_index=True)


def test_kraken_tiles_are_georeferenced_in_web_mercator_and_join() -> None:
    left, tags = read(render(_kraken(2200, 1400), "analysis.tif")[0])
    right, _ = read(render(_kraken(2201, 1400), "analysis.tif")[0])
    min_x, _min_y, max_x, max_y = mercator_bounds(12, 2200, 1400)
    assert tags["ModelTiepointTag"][3:5] == pytest.approx((min_x, max_y))
    assert tags["ModelPixelScaleTag"][0] == pytest.approx((max_x - min_x) / 256)
    assert left.min() >= -1.0 and left.max() <= 1.0
    steps = np.abs(np.diff(left, axis=1)).mean()
    assert np.abs(right[:, 0] - left[:, -1]).mean() < 2 * steps
    assert not math.isclose(float(left.std()), 0.0)
