"""to_dataarray / to_dataset / stack_time: coordinates and a CRS rioxarray reads back."""

from __future__ import annotations

import datetime as dt
import sys

import pytest

from tests.extras import need

np = need("numpy")
xr = need("xarray")

from eoclient.arrays import GeoRef, stack_time, to_dataarray, to_dataset  # noqa: E402
from eoclient.errors import ConfigurationError, ValidationError  # noqa: E402

UTM = GeoRef(32633, (500_000.0, 5_090_000.0, 500_640.0, 5_090_480.0), 64, 48)
WGS84 = GeoRef(4326, (13.0, 45.0, 13.64, 45.48), 64, 48)
T1 = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
T2 = dt.datetime(2024, 6, 11, tzinfo=dt.UTC)


def _pixels(bands: int = 3) -> object:
    return np.arange(48 * 64 * bands, dtype="uint16").reshape(48, 64, bands)


def test_dims_coords_and_band_labels() -> None:
    da = to_dataarray(_pixels(), UTM, name="default")
    assert da.dims == ("y", "x", "band")
    assert da.name == "default"
    assert list(da.band.values) == [1, 2, 3]
    assert da.x.values[0] == 500_005.0 and da.y.values[0] == 5_090_475.0
    assert np.array_equal(da.x.values, UTM.xs()) and np.array_equal(da.y.values, UTM.ys())
    assert da.x.attrs["units"] == "metre"
    assert da.encoding["grid_mapping"] == "spatial_ref"
    assert da.spatial_ref.attrs["GeoTransform"] == UTM.gdal_geotransform()


def test_one_band_image_keeps_a_band_dimension_and_names() -> None:
    da = to_dataarray(np.zeros((48, 64), "float32"), WGS84, bands=["NDVI"])
    assert da.dims == ("y", "x", "band") and list(da.band.values) == ["NDVI"]
    assert da.x.attrs["units"] == "degrees_east"


def test_band_names_must_fit() -> None:
    with pytest.raises(ValidationError) as err:
        to_dataarray(_pixels(), UTM, bands=["B04", "B03"])
    assert err.value.field == "bands"
    with pytest.raises(ValidationError):
        to_dataarray(_pixels(), UTM, bands="B04")  # type: ignore[arg-type]


def test_georef_must_be_the_arrays_size() -> None:
    with pytest.raises(ValidationError) as err:
        to_dataarray(np.zeros((10, 10)), UTM)
    assert err.value.field == "georef"


def test_time_is_a_first_dimension_in_utc() -> None:
    local = dt.datetime(2024, 6, 1, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    da = to_dataarray(_pixels(), UTM, time=local)
    assert da.dims == ("time", "y", "x", "band")
    assert da.time.values[0] == np.datetime64("2024-06-01T00:00:00")


def test_without_georef_there_are_no_spatial_coords() -> None:
    da = to_dataarray(_pixels(), None)
    assert "x" not in da.coords and "spatial_ref" not in da.coords


@pytest.mark.parametrize("ref", [UTM, WGS84, GeoRef(3857, (1.5e6, 5.7e6, 1.50064e6, 5.70048e6), 64, 48)])
def test_rioxarray_reads_the_crs_and_transform(ref: GeoRef) -> None:
    need("rioxarray")
    da = to_dataarray(_pixels(), ref)
    assert da.rio.crs.to_epsg() == ref.crs
    assert tuple(da.rio.transform())[:6] == pytest.approx(ref.transform)
    assert da.rio.bounds() == pytest.approx(ref.bbox)


def test_rioxarray_reads_a_crs_given_as_epsg_text() -> None:
    need("rioxarray")
    ref = GeoRef(2193, (1.5e6, 5.1e6, 1.5064e6, 5.1048e6), 64, 48)
    assert to_dataarray(_pixels(), ref).rio.crs.to_epsg() == 2193


def test_dataset_of_outputs_with_different_band_counts() -> None:
    ds = to_dataset(
        {"default": to_dataarray(_pixels(3), UTM), "dataMask": to_dataarray(np.ones((48, 64), "uint8"), UTM)}
    )
    assert ds["default"].dims == ("y", "x", "band_default")
    assert ds["dataMask"].dims == ("y", "x", "band_dataMask")
    assert ds["default"].encoding["grid_mapping"] == "spatial_ref"


def test_dataset_of_outputs_with_the_same_bands_shares_band() -> None:
    ds = to_dataset({"a": to_dataarray(_pixels(2), UTM), "b": to_dataarray(_pixels(2), UTM)})
    assert ds["a"].dims == ds["b"].dims == ("y", "x", "band")


def test_dataset_rioxarray() -> None:
    need("rioxarray")
    ds = to_dataset({"a": to_dataarray(_pixels(2), UTM), "b": to_dataarray(_pixels(2), UTM)})
    assert ds.rio.crs.to_epsg() == 32633


def test_stack_time_sorts_and_keeps_the_crs() -> None:
    later = to_dataarray(_pixels() + 1, UTM, time=T2)
    earlier = to_dataarray(_pixels(), UTM, time=T1)
    stacked = stack_time([later, earlier])
    assert stacked.dims == ("time", "y", "x", "band")
    assert list(stacked.time.values) == [np.datetime64("2024-06-01"), np.datetime64("2024-06-11")]
    assert int(stacked.isel(time=1, x=0, y=0, band=0)) == 1
    assert stacked.encoding["grid_mapping"] == "spatial_ref"
    assert stacked.spatial_ref.attrs["crs_wkt"] == UTM.cf_crs_attrs()["crs_wkt"]


def test_stack_time_refuses_another_grid_or_crs_or_no_time() -> None:
    first = to_dataarray(_pixels(), UTM, time=T1)
    shifted = GeoRef(32633, (500_010.0, 5_090_000.0, 500_650.0, 5_090_480.0), 64, 48)
    other_crs = GeoRef(32634, UTM.bbox, 64, 48)
    with pytest.raises(ValidationError, match="another grid") as err:
        stack_time([first, to_dataarray(_pixels(), shifted, time=T2)])
    assert err.value.field == "arrays[1]"
    with pytest.raises(ValidationError, match="another CRS"):
        stack_time([first, to_dataarray(_pixels(), other_crs, time=T2)])
    with pytest.raises(ValidationError, match="has no time"):
        stack_time([first, to_dataarray(_pixels(), UTM)])
    with pytest.raises(ValidationError):
        stack_time([])


def test_stack_time_of_datasets() -> None:
    def one(when: dt.datetime) -> object:
        return to_dataset({"default": to_dataarray(_pixels(), UTM, time=when)})

    stacked = stack_time([one(T2), one(T1)])
    assert stacked["default"].dims == ("time", "y", "x", "band")
    assert stacked["default"].encoding["grid_mapping"] == "spatial_ref"


def test_missing_xarray_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xarray", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'eoclient\[xarray\]'"):
        to_dataarray(_pixels(), UTM)


@pytest.mark.parametrize(
    "ref",
    [UTM, WGS84, GeoRef(32719, (300_000.0, 7_000_000.0, 300_640.0, 7_000_480.0), 64, 48)],
)
def test_tags_written_and_read_agree_with_rasterio(ref: GeoRef) -> None:
    """The same GeoTIFF bytes: rasterio's CRS and transform are the DataArray's."""
    rasterio_io = need("rasterio.io")
    from eoclient.arrays import decode
    from eoclient.arrays.encode import encode_geotiff

    body = encode_geotiff(_pixels(), ref)
    with rasterio_io.MemoryFile(body) as mem, mem.open() as ds:
        crs, transform, shape = ds.crs.to_epsg(), tuple(ds.transform)[:6], (ds.height, ds.width, ds.count)
    raster = decode(body)
    da = to_dataarray(raster.array, raster.georef)
    assert raster.georef == ref and da.shape == shape
    assert crs == ref.crs
    assert transform == pytest.approx(ref.transform)
    assert da.x.values[0] == pytest.approx(transform[2] + transform[0] / 2)
    assert da.y.values[0] == pytest.approx(transform[5] + transform[4] / 2)
