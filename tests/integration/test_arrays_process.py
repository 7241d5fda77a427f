"""Process answers from the emulator decoded to numpy and xarray, placed where the request asked.

Coordinates are checked against values worked out here from the request
(bounds / size), and the CRS through rioxarray, independently of GeoRef.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.extras import need

np = need("numpy")
xr = need("xarray")

from eoclient.arrays import stack_time  # noqa: E402
from eoclient.errors import ValidationError  # noqa: E402
from eoclient.sentinelhub import SentinelHub  # noqa: E402

pytestmark = pytest.mark.integration


def evalscript(bands: int = 3, sample_type: str = "UINT16", extra: str = "") -> str:
    outputs = f'{{id: "default", bands: {bands}, sampleType: "{sample_type}"}}' + extra
    return f"""//VERSION=3
function setup() {{
  return {{input: [{{bands: ["B02", "B03", "B04", "dataMask"]}}], output: [{outputs}]}};
}}
function evaluatePixel(s) {{ return [s.B04, s.B03, s.B02]; }}
"""


def request(
    *,
    bbox: list[float] | None = None,
    crs: str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    size: dict[str, Any] | None = None,
    fmt: str = "image/tiff",
    script: str | None = None,
    start: str | None = "2024-06-01T00:00:00Z",
    responses: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"type": "sentinel-2-l2a"}
    if start is not None:
        data["dataFilter"] = {"timeRange": {"from": start, "to": "2024-12-31T23:59:59Z"}}
    return {
        "input": {
            "bounds": {"bbox": bbox or [13.8, 45.8, 14.5, 46.2], "properties": {"crs": crs}},
            "data": [data],
        },
        "output": {
            **(size or {"width": 70, "height": 40}),
            "responses": responses or [{"identifier": "default", "format": {"type": fmt}}],
        },
        "evalscript": script or evalscript(),
    }


def centres(low: float, high: float, count: int, *, descending: bool = False) -> Any:
    step = (high - low) / count
    values = low + step * (np.arange(count) + 0.5)
    return values[::-1] if descending else values


@pytest.mark.parametrize(
    ("sample_type", "dtype"), [("UINT8", "uint8"), ("UINT16", "uint16"), ("FLOAT32", "float32")]
)
async def test_tiff_to_numpy_has_the_requested_dtype_and_shape(
    eo_sentinelhub: SentinelHub, sample_type: str, dtype: str
) -> None:
    result = await eo_sentinelhub.process(request(script=evalscript(3, sample_type)))
    array = result.to_numpy()
    assert array.shape == (40, 70, 3)
    assert array.dtype == np.dtype(dtype)


async def test_one_band_is_two_dimensional(eo_sentinelhub: SentinelHub) -> None:
    result = await eo_sentinelhub.process(request(script=evalscript(1, "UINT8")))
    assert result.to_numpy().shape == (40, 70)


async def test_to_xarray_in_wgs84_has_the_requests_coordinates_and_time(eo_sentinelhub: SentinelHub) -> None:
    result = await eo_sentinelhub.process(request())
    da = result.to_xarray()
    assert da.dims == ("time", "y", "x", "band")
    assert da.name == "default"
    assert np.allclose(da.x.values, centres(13.8, 14.5, 70), rtol=0, atol=1e-12)
    assert np.allclose(da.y.values, centres(45.8, 46.2, 40, descending=True), rtol=0, atol=1e-12)
    assert da.time.values[0] == np.datetime64("2024-06-01T00:00:00")
    assert list(da.band.values) == [1, 2, 3]
    assert np.array_equal(da.isel(time=0).values, result.to_numpy())


async def test_rioxarray_reads_the_crs_and_transform_of_a_utm_resx_request(
    eo_sentinelhub: SentinelHub,
) -> None:
    need("rioxarray")
    bbox = [500_000.0, 5_090_000.0, 500_600.0, 5_090_400.0]
    req = request(bbox=bbox, crs="http://www.opengis.net/def/crs/EPSG/0/32633", size={"resx": 10, "resy": 10})
    result = await eo_sentinelhub.process(req)
    da = result.to_xarray()
    assert da.sizes["x"] == 60 and da.sizes["y"] == 40
    assert da.rio.crs.to_epsg() == 32633
    assert tuple(da.rio.transform())[:6] == (10.0, 0.0, 500_000.0, 0.0, -10.0, 5_090_400.0)
    assert da.x.values[0] == 500_005.0 and da.y.values[-1] == 5_090_005.0


async def test_png_uint16_and_uint8(eo_sentinelhub: SentinelHub) -> None:
    need("rioxarray")
    for sample_type, dtype in (("UINT16", "uint16"), ("UINT8", "uint8")):
        result = await eo_sentinelhub.process(request(fmt="image/png", script=evalscript(3, sample_type)))
        array = result.to_numpy()
        assert array.shape == (40, 70, 3) and array.dtype == np.dtype(dtype)
        assert result.to_xarray().rio.crs.to_epsg() == 4326


async def test_raw_octet_stream_needs_bands_and_sample_type(eo_sentinelhub: SentinelHub) -> None:
    result = await eo_sentinelhub.process(
        request(script=evalscript(3, "UINT16")), accept="application/octet-stream"
    )
    with pytest.raises(ValidationError) as err:
        result.to_numpy()
    assert err.value.field == "bands"
    array = result.to_numpy(bands=3, sample_type="UINT16")
    assert array.shape == (40, 70, 3) and array.dtype == np.dtype("uint16")
    assert result.to_xarray(bands=3, sample_type="UINT16").sizes == {"time": 1, "y": 40, "x": 70, "band": 3}


async def test_several_outputs_are_a_dataset_without_userdata(eo_sentinelhub: SentinelHub) -> None:
    script = evalscript(3, "UINT16", extra=', {id: "mask", bands: 1, sampleType: "UINT8"}')
    responses = [
        {"identifier": "default", "format": {"type": "image/tiff"}},
        {"identifier": "mask", "format": {"type": "image/png"}},
        {"identifier": "userdata", "format": {"type": "application/json"}},
    ]
    result = await eo_sentinelhub.process(request(script=script, responses=responses))
    with pytest.raises(ValidationError, match=r"result\['default'\]"):
        result.to_numpy()
    assert result["mask"].to_numpy(result.georef).shape == (40, 70)
    ds = result.to_xarray(band_names={"default": ["B04", "B03", "B02"]})
    assert isinstance(ds, xr.Dataset)
    assert set(ds.data_vars) == {"default", "mask"}
    assert list(ds["default"].coords["band_default"].values) == ["B04", "B03", "B02"]
    assert ds["mask"].dtype == np.dtype("uint8")
    with pytest.raises(ValidationError):
        result["userdata"].to_numpy()


async def test_a_time_series_of_results_stacks_on_time(eo_sentinelhub: SentinelHub) -> None:
    starts = ["2024-07-01T00:00:00Z", "2024-06-01T00:00:00Z", "2024-06-15T00:00:00Z"]
    results = await asyncio.gather(*(eo_sentinelhub.process(request(start=s)) for s in starts))
    cube = stack_time(results)
    assert cube.sizes == {"time": 3, "y": 40, "x": 70, "band": 3}
    assert [str(t)[:10] for t in cube.time.values] == ["2024-06-01", "2024-06-15", "2024-07-01"]
    assert np.array_equal(cube.sel(time="2024-07-01").values, results[0].to_numpy())


async def test_no_time_range_means_no_time_dimension(eo_sentinelhub: SentinelHub) -> None:
    result = await eo_sentinelhub.process(request(start=None))
    assert result.time is None
    assert result.to_xarray().dims == ("y", "x", "band")


async def test_process_to_file_decodes_from_disk(eo_sentinelhub: SentinelHub, tmp_path: Path) -> None:
    need("rioxarray")
    got = await eo_sentinelhub.process_to_file(request(), tmp_path / "out.tif")
    assert got.time == dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    assert got.to_numpy().shape == (40, 70, 3)
    assert got.to_xarray().rio.crs.to_epsg() == 4326


async def test_process_to_file_of_a_tar(eo_sentinelhub: SentinelHub, tmp_path: Path) -> None:
    responses = [
        {"identifier": "default", "format": {"type": "image/tiff"}},
        {"identifier": "userdata", "format": {"type": "application/json"}},
    ]
    got = await eo_sentinelhub.process_to_file(request(responses=responses), tmp_path / "out.tar")
    assert got.to_numpy().shape == (40, 70, 3)  # userdata is no image: one image is left
    assert got.to_xarray().name == "default"


@pytest.mark.parametrize(
    ("bbox", "crs"),
    [
        ([13.8, 45.8, 14.5, 46.2], "http://www.opengis.net/def/crs/OGC/1.3/CRS84"),
        ([500_000.0, 5_090_000.0, 500_700.0, 5_090_400.0], "http://www.opengis.net/def/crs/EPSG/0/32633"),
    ],
)
async def test_the_emulators_geotiff_tags_agree_with_the_request_and_rasterio(
    eo_sentinelhub: SentinelHub, bbox: list[float], crs: str
) -> None:
    """The GeoTIFF's own tags, rasterio's reading of the same bytes and the request give one grid."""
    rasterio_io = need("rasterio.io")
    need("rioxarray")
    from eoclient.arrays import decode

    result = await eo_sentinelhub.process(request(bbox=bbox, crs=crs))
    tagged = decode(result["default"].content)  # georef from the tags alone
    assert tagged.georef is not None, "the emulator's TIFF carries georeferencing tags"
    assert result.georef is not None
    assert tagged.georef.crs == result.georef.crs
    assert tagged.georef.bbox == pytest.approx(result.georef.bbox, rel=1e-12)
    with rasterio_io.MemoryFile(result["default"].content) as mem, mem.open() as ds:
        epsg, transform = ds.crs.to_epsg(), tuple(ds.transform)[:6]
    da = result.to_xarray()
    assert da.rio.crs.to_epsg() == epsg == result.georef.crs
    assert tuple(da.rio.transform())[:6] == pytest.approx(transform, rel=1e-12)
    assert da.x.values[0] == pytest.approx(transform[2] + transform[0] / 2, rel=1e-12)
    assert da.y.values[0] == pytest.approx(transform[5] + transform[4] / 2, rel=1e-12)
