"""sh.process_area against the emulator: one mosaic, equal to one big request, with exact coordinates."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from eoclient.bulk import BulkDownloadError
from eoclient.emulator import Emulator
from eoclient.errors import ValidationError
from eoclient.geo import BBox
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.process import PROCESS_PATH
from tests.extras import need

np = need("numpy")
need("xarray")
need("tifffile")

from eoclient.arrays import decode  # noqa: E402

pytestmark = pytest.mark.integration

EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: [{bands: ["B04", "B08", "dataMask"]}],
          output: [{id: "default", bands: 3, sampleType: "UINT16"}]};
}
function evaluatePixel(s) { return [s.B04 * 10000, s.B08 * 10000, s.dataMask]; }
"""

AREA = BBox(500_000.0, 5_000_000.0, 500_900.0, 5_000_700.0, crs=32633)  # 90 x 70 px at 10 m
UTM33 = "http://www.opengis.net/def/crs/EPSG/0/32633"


def request() -> dict[str, Any]:
    return {
        "input": {
            "data": [
                {
                    "type": "sentinel-2-l2a",
                    "dataFilter": {
                        "timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-30T23:59:59Z"}
                    },
                }
            ]
        },
        "evalscript": EVALSCRIPT,
        "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
    }


def process_calls(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.path == PROCESS_PATH)


async def test_the_mosaic_is_one_dataarray_on_the_grid(eo_sentinelhub: SentinelHub, tmp_path: Path) -> None:
    result = await eo_sentinelhub.process_area(
        request(), AREA, resolution=10, tile_pixels=40, work_dir=tmp_path / "tiles"
    )
    data = result.data
    assert data.name == "default"
    assert data.dims == ("y", "x", "band") and data.shape == (70, 90, 3)
    assert str(data.dtype) == "uint16"
    # Pixel centres are (k + 0.5) * res: the same floats from every tile, no drift across edges.
    assert data["x"].values.tolist() == [(50_000 + i + 0.5) * 10.0 for i in range(90)]
    assert data["y"].values.tolist() == [(500_070 - j - 0.5) * 10.0 for j in range(70)]
    assert "32633" in data["spatial_ref"].attrs["crs_wkt"]
    # Each tile's pixels sit in their exact window.
    tiles = sorted((tmp_path / "tiles").iterdir())
    assert len(tiles) == len(result.split) == 6
    for tile in result.split:
        (file,) = [f for f in tiles if f.name.startswith(f"32633_r{tile.row:04d}_c{tile.col:04d}_")]
        block = data.values[
            tile.y_offset : tile.y_offset + tile.height, tile.x_offset : tile.x_offset + tile.width
        ]
        assert np.array_equal(block, decode(file).array)
        assert data["x"].values[tile.x_offset] == tile.bbox.min_x + 5.0
        assert data["y"].values[tile.y_offset] == tile.bbox.max_y - 5.0
    assert result.report.ok and len(result.report.downloaded) == 6 and result.processing_units > 0


async def test_the_mosaic_equals_one_big_request_over_the_same_area(eo_sentinelhub: SentinelHub) -> None:
    result = await eo_sentinelhub.process_area(request(), AREA, resolution=10, tile_pixels=40)
    grid = result.grid
    whole = {
        **request(),
        "input": {
            **request()["input"],
            "bounds": {"bbox": grid.bbox.as_list(), "properties": {"crs": UTM33}},
        },
        "output": {**request()["output"], "width": grid.width, "height": grid.height},
    }
    big = await eo_sentinelhub.process(whole)
    assert np.array_equal(result.data.values, decode(big["default"].content).array)


async def test_a_rerun_with_a_work_folder_renders_nothing_again(
    eo_sentinelhub: SentinelHub, eo_emulator: Emulator, tmp_path: Path
) -> None:
    first = await eo_sentinelhub.process_area(
        request(), AREA, resolution=10, tile_pixels=40, work_dir=tmp_path
    )
    assert process_calls(eo_emulator) == 6
    again = await eo_sentinelhub.process_area(
        request(), AREA, resolution=10, tile_pixels=40, work_dir=tmp_path
    )
    assert process_calls(eo_emulator) == 6
    assert len(again.report.skipped) == 6 and again.processing_units == 0
    assert np.array_equal(first.data.values, again.data.values)
    await eo_sentinelhub.process_area(
        request(), AREA, resolution=10, tile_pixels=40, work_dir=tmp_path, overwrite=True
    )
    assert process_calls(eo_emulator) == 12


async def test_a_failed_tile_raises_with_the_report_and_writes_nothing(
    eo_sentinelhub: SentinelHub, eo_emulator: Emulator, tmp_path: Path
) -> None:
    target = tmp_path / "mosaic.tif"
    eo_emulator.faults.inject("server_error", path_prefix=PROCESS_PATH, count=50, retry_after=0)
    with pytest.raises(BulkDownloadError) as err:
        await eo_sentinelhub.process_area(
            request(),
            AREA,
            resolution=10,
            tile_pixels=40,
            concurrency=1,
            work_dir=tmp_path / "w",
            path=target,
        )
    assert err.value.report.failures
    assert os.listdir(tmp_path) == ["w"]  # no mosaic, no mosaic.tif.part
    # The tiles that were rendered stay for the rerun, which renders only the rest.
    kept = len(os.listdir(tmp_path / "w"))
    eo_emulator.faults.clear()
    before = process_calls(eo_emulator)
    done = await eo_sentinelhub.process_area(
        request(), AREA, resolution=10, tile_pixels=40, work_dir=tmp_path / "w", path=target
    )
    assert process_calls(eo_emulator) - before == 6 - kept == len(done.report.downloaded)
    assert target.is_file() and done.data is None


async def test_a_geotiff_carries_the_grid(eo_sentinelhub: SentinelHub, tmp_path: Path) -> None:
    target = tmp_path / "out" / "mosaic.tif"
    in_memory = await eo_sentinelhub.process_area(request(), AREA, resolution=10, tile_pixels=40)
    written = await eo_sentinelhub.process_area(request(), AREA, resolution=10, tile_pixels=40, path=target)
    assert written.path == target
    raster = decode(target)
    assert np.array_equal(raster.array, in_memory.data.values)
    assert raster.georef is not None
    assert raster.georef.crs == 32633
    assert raster.georef.bbox == tuple(in_memory.grid.bbox.as_list())
    assert (raster.georef.width, raster.georef.height) == (90, 70)


async def test_a_zarr_store(eo_sentinelhub: SentinelHub, tmp_path: Path) -> None:
    xr = need("xarray")
    need("zarr")
    target = tmp_path / "mosaic.zarr"
    in_memory = await eo_sentinelhub.process_area(request(), AREA, resolution=10, tile_pixels=40)
    await eo_sentinelhub.process_area(request(), AREA, resolution=10, tile_pixels=40, path=target)
    stored = xr.open_zarr(target, decode_coords="all")
    assert list(stored.data_vars) == ["default"]  # named after the response
    assert np.array_equal(stored["default"].values, in_memory.data.values)
    assert stored["default"].encoding["grid_mapping"] == "spatial_ref"
    assert stored["x"].values.tolist() == in_memory.data["x"].values.tolist()
    assert sorted(os.listdir(tmp_path)) == ["mosaic.zarr"]  # no .part left


async def test_a_polygon_renders_only_the_tiles_it_touches(
    eo_sentinelhub: SentinelHub, eo_emulator: Emulator
) -> None:
    # An "L": the north-east tile of a 2 x 2 layout is not rendered, and holds the fill value.
    ell = {
        "type": "Polygon",
        "coordinates": [[[500_000, 5_000_000], [500_800, 5_000_000], [500_800, 5_000_300],
                         [500_300, 5_000_300], [500_300, 5_000_800], [500_000, 5_000_800],
                         [500_000, 5_000_000]]],
    }  # fmt: skip
    result = await eo_sentinelhub.process_area(
        request(), ell, area_crs=32633, resolution=10, tile_pixels=40, fill=7
    )
    assert process_calls(eo_emulator) == len(result.split) == 3
    assert {(t.row, t.col) for t in result.split} == {(0, 0), (1, 0), (1, 1)}
    assert (result.data.values[:40, 40:] == 7).all()


async def test_an_area_across_zones_needs_one_crs(eo_sentinelhub: SentinelHub, eo_emulator: Emulator) -> None:
    with pytest.raises(ValidationError) as err:
        await eo_sentinelhub.process_area(request(), [11.99, 46.0, 12.01, 46.01], resolution=10)
    assert err.value.field == "crs"
    assert process_calls(eo_emulator) == 0
    result = await eo_sentinelhub.process_area(
        request(), [11.99, 46.0, 12.01, 46.01], resolution=10, crs=32633, tile_pixels=500
    )
    assert result.grid.crs == UTM33


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"path": "mosaic.png"}, "path"),
        ({"tile_pixels": 4000}, "tile_pixels"),
        ({"concurrency": 0}, "concurrency"),
    ],
)
async def test_bad_arguments_are_refused_before_anything_is_sent(
    eo_sentinelhub: SentinelHub, eo_emulator: Emulator, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        await eo_sentinelhub.process_area(request(), AREA, resolution=10, **kwargs)
    assert err.value.field == field
    assert process_calls(eo_emulator) == 0


async def test_the_tiles_go_to_the_deployment_the_collection_lives_on(
    eo_sentinelhub: SentinelHub, eo_emulator: Emulator
) -> None:
    from eoclient.sentinelhub.data_collections import USWEST_URL

    landsat = request()
    landsat["input"]["data"][0]["type"] = "landsat-ot-l2"
    landsat["evalscript"] = EVALSCRIPT.replace('"B04", "B08"', '"B04", "B05"').replace("s.B08", "s.B05")
    result = await eo_sentinelhub.process_area(landsat, AREA, resolution=10, tile_pixels=40)
    assert result.data.shape == (70, 90, 3)
    answered = [r.deployment for r in eo_emulator.requests if r.path == PROCESS_PATH]
    assert answered == [USWEST_URL] * len(result.split)
