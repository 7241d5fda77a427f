"""The Process API's rasters over HTTP: decodable, georeferenced, in range, seamless across tiles."""

from __future__ import annotations

import io
from typing import Any

import aiohttp
import pytest

from eoclient.emulator import Emulator
from tests.extras import need

np = need("numpy")
tifffile = need("tifffile")
Image = need("PIL.Image")

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
UTM33 = "http://www.opengis.net/def/crs/EPSG/0/32633"
RGB = """//VERSION=3
function setup() {
  return {input: [{bands: ["B02", "B03", "B04", "dataMask"]}],
          output: {bands: 3, sampleType: "%s"}};
}
function evaluatePixel(s) { return [s.B04, s.B03, s.B02]; }
"""
MASKED = """//VERSION=3
function setup() {
  return {input: ["B02", "B03", "B04", "dataMask"], output: {bands: 4, sampleType: "%s"}};
}
function evaluatePixel(s) { return [2.5 * s.B04, 2.5 * s.B03, 2.5 * s.B02, s.dataMask]; }
"""
NDVI = """//VERSION=3
function setup() {
  return {input: ["B04", "B08"], output: {id: "default", bands: 1, sampleType: "FLOAT32"}};
}
function evaluatePixel(s) { return [(s.B08 - s.B04) / (s.B08 + s.B04)]; }
"""


def body(
    bbox: list[float],
    width: int,
    height: int,
    *,
    script: str = RGB % "UINT8",
    fmt: str = "image/tiff",
    crs: str = CRS84,
    time_from: str = "2024-06-01T00:00:00Z",
) -> dict[str, Any]:
    return {
        "input": {
            "bounds": {"bbox": bbox, "properties": {"crs": crs}},
            "data": [
                {
                    "type": "sentinel-2-l2a",
                    "dataFilter": {"timeRange": {"from": time_from, "to": "2024-06-30T23:59:59Z"}},
                }
            ],
        },
        "output": {
            "width": width,
            "height": height,
            "responses": [{"identifier": "default", "format": {"type": fmt}}],
        },
        "evalscript": script,
    }


@pytest.fixture
def process(http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str) -> Any:
    async def call(request: dict[str, Any], accept: str = "*/*") -> bytes:
        headers = {"Authorization": f"Bearer {sh_token}", "Accept": accept}
        url = eo_emulator.sentinelhub_url + "/api/v1/process"
        async with http.post(url, json=request, headers=headers) as resp:
            assert resp.status == 200, await resp.text()
            data = await resp.read()
            assert resp.content_length == len(data)
            return data

    return call


def read_tiff(data: bytes) -> tuple[Any, dict[str, Any]]:
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = tif.pages[0]
        tags = {t.name: t.value for t in page.tags.values()}
        return page.asarray(), tags


def geokeys(tags: dict[str, Any]) -> dict[int, int]:
    keys = list(tags["GeoKeyDirectoryTag"])
    return {keys[i]: keys[i + 3] for i in range(4, 4 + 4 * keys[3], 4)}


BBOX = [13.8, 45.8, 14.0, 45.9]


async def test_geotiff_tags_match_the_request_in_degrees(process: Any) -> None:
    pixels, tags = read_tiff(await process(body(BBOX, 40, 20)))
    assert pixels.shape == (20, 40, 3)
    assert pixels.dtype == np.uint8
    assert tags["ModelPixelScaleTag"][:2] == pytest.approx((0.2 / 40, 0.1 / 20))
    assert tags["ModelTiepointTag"][3:5] == pytest.approx((13.8, 45.9))  # x = longitude, top edge
    keys = geokeys(tags)
    assert keys[1024] == 2  # geographic
    assert keys[1025] == 1  # PixelIsArea
    assert keys[2048] == 4326


async def test_geotiff_tags_match_the_request_in_utm(process: Any) -> None:
    bbox = [500_000.0, 5_000_000.0, 505_120.0, 5_002_560.0]
    pixels, tags = read_tiff(await process(body(bbox, 64, 32, crs=UTM33, script=RGB % "FLOAT32")))
    assert pixels.shape == (32, 64, 3)
    assert tags["ModelPixelScaleTag"][:2] == pytest.approx((80.0, 80.0))
    assert tags["ModelTiepointTag"][3:5] == pytest.approx((500_000.0, 5_002_560.0))
    keys = geokeys(tags)
    assert (keys[1024], keys[3072]) == (1, 32633)


async def test_rasterio_reads_the_same_crs_and_transform(process: Any) -> None:
    rasterio = need("rasterio")
    for bbox, crs, epsg in (
        (BBOX, CRS84, 4326),
        ([500_000.0, 5_000_000.0, 505_120.0, 5_002_560.0], UTM33, 32633),
    ):
        data = await process(body(bbox, 64, 32, crs=crs))
        with rasterio.MemoryFile(data) as memory, memory.open() as dataset:
            assert dataset.crs.to_epsg() == epsg
            x0, y0, x1, y1 = bbox
            expected = ((x1 - x0) / 64, 0.0, x0, 0.0, -(y1 - y0) / 32, y1)
            assert tuple(dataset.transform)[:6] == pytest.approx(expected)
            assert dataset.count == 3


@pytest.mark.parametrize(
    ("sample_type", "dtype", "low", "high"),
    [
        ("FLOAT32", "float32", 0.0, 1.0),
        ("UINT8", "uint8", 0, 255),
        ("AUTO", "uint8", 0, 255),
        ("UINT16", "uint16", 0, 10000),
        ("INT16", "int16", -10000, 10000),
    ],
)
async def test_values_follow_the_sample_type(
    process: Any, sample_type: str, dtype: str, low: float, high: float
) -> None:
    pixels, _ = read_tiff(await process(body([13.0, 45.0, 14.0, 46.0], 96, 96, script=RGB % sample_type)))
    assert pixels.dtype == np.dtype(dtype)
    assert low <= pixels.min() and pixels.max() <= high
    assert pixels.std() > 0  # a landscape, not one value
    if sample_type == "FLOAT32":
        assert 0.02 < pixels.mean() < 0.5  # reflectance-like
    if sample_type == "INT16":
        assert pixels.min() < 0 < pixels.max()  # signed, around 0


async def test_normalized_difference_is_an_index(process: Any) -> None:
    pixels, _ = read_tiff(await process(body([13.0, 45.0, 14.0, 46.0], 96, 96, script=NDVI)))
    assert pixels.shape == (96, 96)
    assert pixels.min() >= -1.0 and pixels.max() <= 1.0
    assert pixels.min() < 0.1 and pixels.max() > 0.5  # spans bare soil to vegetation


async def test_data_mask_is_zero_or_one_and_mostly_one(process: Any) -> None:
    pixels, _ = read_tiff(await process(body([13.0, 45.0, 14.0, 46.0], 200, 200, script=MASKED % "FLOAT32")))
    assert pixels.shape == (200, 200, 4)
    mask = pixels[..., 3]
    assert set(np.unique(mask)) == {0.0, 1.0}
    assert 0.85 < mask.mean() < 1.0
    assert pixels[..., :3].max() <= 1.0


@pytest.mark.parametrize("bands", [1, 2, 5])
async def test_band_count_follows_setup(process: Any, bands: int) -> None:
    script = RGB.replace("bands: 3", f"bands: {bands}") % "UINT16"
    pixels, _ = read_tiff(await process(body(BBOX, 16, 8, script=script)))
    assert pixels.shape == ((8, 16) if bands == 1 else (8, 16, bands))


@pytest.mark.parametrize("sample_type", ["FLOAT32", "UINT8"])
async def test_four_tiles_equal_one_big_request(process: Any, sample_type: str) -> None:
    x0, y0, step = 13.0, 45.0, 0.064  # 64 pixels of 0.001 degrees a tile
    script = RGB % sample_type
    whole, _ = read_tiff(await process(body([x0, y0, x0 + 2 * step, y0 + 2 * step], 128, 128, script=script)))
    mosaic = np.zeros_like(whole)
    for row in range(2):  # row 0 is the northern tiles
        for col in range(2):
            south = y0 + (1 - row) * step
            tile_bbox = [x0 + col * step, south, x0 + (col + 1) * step, south + step]
            tile, _ = read_tiff(await process(body(tile_bbox, 64, 64, script=script)))
            mosaic[row * 64 : (row + 1) * 64, col * 64 : (col + 1) * 64] = tile
    np.testing.assert_array_equal(mosaic, whole)


async def test_adjacent_requests_join_without_a_seam(process: Any) -> None:
    script = RGB % "FLOAT32"
    left, _ = read_tiff(await process(body([13.0, 45.0, 13.05, 45.05], 100, 100, script=script)))
    right, _ = read_tiff(await process(body([13.05, 45.0, 13.1, 45.05], 100, 100, script=script)))
    steps = np.abs(np.diff(left, axis=1)).mean()
    seam = np.abs(right[:, 0] - left[:, -1]).mean()
    assert seam < 2 * steps  # the step across the seam is like any step between neighbours
    assert steps < 0.25 * left.std()  # and neighbours are alike: a smooth field


async def test_deterministic_and_time_dependent(process: Any) -> None:
    first = await process(body(BBOX, 32, 32))
    assert await process(body(BBOX, 32, 32)) == first
    later = await process(body(BBOX, 32, 32, time_from="2024-06-15T00:00:00Z"))
    assert later != first


async def test_png_and_raw_hold_the_tiff_pixels(process: Any) -> None:
    for sample_type, dtype in (("UINT8", np.uint8), ("UINT16", np.uint16)):
        request = body(BBOX, 30, 20, script=RGB % sample_type)
        tiff, _ = read_tiff(await process(request))
        png = np.asarray(Image.open(io.BytesIO(await process(request, accept="image/png"))))
        # Pillow reads a 16-bit RGB PNG as 8-bit (the high bytes).
        np.testing.assert_array_equal(png, tiff if dtype is np.uint8 else tiff >> 8)
        raw = await process(request, accept="application/octet-stream")
        np.testing.assert_array_equal(np.frombuffer(raw, dtype).reshape(20, 30, 3), tiff)


@pytest.mark.parametrize(("script", "bands"), [(RGB % "UINT8", 3), (NDVI, 1)])
async def test_jpeg_is_a_real_jpeg_of_the_same_picture(process: Any, script: str, bands: int) -> None:
    request = body(BBOX, 37, 21, script=script)  # not whole 8x8 blocks
    image = Image.open(io.BytesIO(await process(request, accept="image/jpeg")))
    assert image.format == "JPEG"
    assert image.mode == ("RGB" if bands == 3 else "L")
    decoded = np.asarray(image).astype(int)
    png = np.asarray(Image.open(io.BytesIO(await process(request, accept="image/png")))).astype(int)
    assert decoded.shape == png.shape
    assert np.abs(decoded - png).mean() < 3  # quality 90: close to the lossless picture
