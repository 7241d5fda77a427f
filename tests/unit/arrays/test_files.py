"""Kraken grid files and BYOC tile files on disk, decoded with their coordinates."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.extras import need

np = need("numpy")
imagecodecs = need("imagecodecs")

from eoclient.arrays import GeoRef  # noqa: E402
from eoclient.arrays.encode import encode_geotiff  # noqa: E402
from eoclient.bulk import Download, Downloaded, Failure  # noqa: E402
from eoclient.errors import ValidationError  # noqa: E402
from eoclient.sentinelhub.byoc_models import TileFileDownload  # noqa: E402
from eoclient.spaceknow.kraken_models import MapTile, TileFile  # noqa: E402

HALF = math.pi * 6378137.0


def test_web_mercator_tiles() -> None:
    assert GeoRef.from_tile(0, 0, 0).bbox == pytest.approx((-HALF, -HALF, HALF, HALF))
    north_east = GeoRef.from_tile(1, 1, 0, 512, 512)
    assert north_east.bbox == pytest.approx((0.0, 0.0, HALF, HALF))
    assert north_east.crs == 3857 and north_east.width == 512
    # SpaceKnow's example tile (zoom 19) is in San Francisco: x is west, y north of the equator.
    sf = GeoRef.from_tile(19, 83861, 202628)
    assert sf.bbox[0] == pytest.approx(-13_627_000, abs=2_000) and 4.5e6 < sf.bbox[1] < 4.6e6
    with pytest.raises(ValidationError, match="outside"):
        GeoRef.from_tile(1, 2, 0)


def _tile_file(path: Path, name: str) -> TileFile:
    tile = MapTile(map_id="m", geometry_id="-", zoom=12, x=2200, y=1400)
    return TileFile(tile, name, Downloaded(path, path.stat().st_size))


def test_kraken_png_is_placed_on_its_tile(tmp_path: Path) -> None:
    pixels = np.zeros((256, 256, 4), "uint8")
    path = tmp_path / "trees.png"
    path.write_bytes(imagecodecs.png_encode(pixels))
    got = _tile_file(path, "trees.png")
    assert got.to_numpy().shape == (256, 256, 4)
    da = got.to_xarray()
    ref = GeoRef.from_tile(12, 2200, 1400)
    assert da.x.values[0] == ref.xs()[0] and da.y.values[0] == ref.ys()[0]
    assert da.spatial_ref.attrs["crs_wkt"].endswith('AUTHORITY["EPSG","3857"]]')


def test_kraken_vector_or_failed_files_are_not_rasters(tmp_path: Path) -> None:
    path = tmp_path / "cars.geojson"
    path.write_text("{}")
    with pytest.raises(ValidationError, match="vector"):
        _tile_file(path, "cars.geojson").to_numpy()
    tile = MapTile(map_id="m", geometry_id="-", zoom=12, x=1, y=1)
    failed = TileFile(tile, "trees.png", Failure(Download("x", tmp_path / "trees.png"), OSError("boom")))
    with pytest.raises(ValidationError, match="failed: boom"):
        failed.to_numpy()


def test_byoc_tile_file_reads_its_geotiff_tags(tmp_path: Path) -> None:
    ref = GeoRef(32633, (500_000.0, 5_090_000.0, 500_320.0, 5_090_160.0), 32, 16)
    path = tmp_path / "B04.tiff"
    path.write_bytes(encode_geotiff(np.ones((16, 32), "uint16"), ref))
    got = TileFileDownload(path, path.stat().st_size)
    assert got.to_raster().georef == ref
    da = got.to_xarray()
    assert da.name == "B04" and da.sizes == {"y": 16, "x": 32, "band": 1}
