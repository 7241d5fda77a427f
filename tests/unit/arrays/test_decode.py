"""decode(): every format and sample type the Process API answers, to arrays with the band axis last."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from tests.extras import need

np = need("numpy")
tifffile = need("tifffile")
imagecodecs = need("imagecodecs")

from eoclient.arrays import GeoRef, decode, read  # noqa: E402
from eoclient.arrays.encode import encode_geotiff  # noqa: E402
from eoclient.errors import ConfigurationError, ResponseDecodeError, ValidationError  # noqa: E402

REF = GeoRef(32633, (500_000.0, 5_090_000.0, 500_640.0, 5_090_480.0), 64, 48)
DTYPES = ["uint8", "uint16", "float32"]


def _pixels(dtype: str, bands: int, height: int = 48, width: int = 64) -> object:
    rng = np.random.default_rng(7)
    shape = (height, width) if bands == 1 else (height, width, bands)
    if dtype == "float32":
        return rng.random(shape, dtype="float32")
    return rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bands", [1, 3, 5])
@pytest.mark.parametrize("compression", ["none", "deflate"])
def test_geotiff_of_each_sample_type_band_count_and_compression(
    dtype: str, bands: int, compression: str
) -> None:
    pixels = _pixels(dtype, bands)
    raster = decode(encode_geotiff(pixels, REF, compression=compression), "image/tiff")
    assert raster.dtype == np.dtype(dtype)
    assert raster.array.shape == pixels.shape  # type: ignore[attr-defined]
    assert np.array_equal(raster.array, pixels)
    assert raster.georef == REF
    assert raster.bands == bands


def test_planar_tiff_gets_its_band_axis_last() -> None:
    pixels = _pixels("uint16", 4)
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.moveaxis(pixels, -1, 0), planarconfig="separate", photometric="minisblack")
    raster = decode(buf.getvalue())
    assert raster.array.shape == (48, 64, 4)
    assert np.array_equal(raster.array, pixels)
    assert raster.georef is None


def test_a_tiff_without_geo_tags_takes_the_requests_georef() -> None:
    pixels = _pixels("uint8", 3)
    raster = decode(encode_geotiff(pixels), "image/tiff", georef=REF)
    assert raster.georef == REF


def test_the_tiffs_own_tags_win_over_the_requests_georef() -> None:
    other = GeoRef(4326, (13.0, 45.0, 13.64, 45.48), 64, 48)
    raster = decode(encode_geotiff(_pixels("uint8", 1), REF), "image/tiff", georef=other)
    assert raster.georef == REF


@pytest.mark.parametrize(
    ("dtype", "bands"), [("uint8", 1), ("uint8", 3), ("uint8", 4), ("uint16", 3), ("uint16", 1)]
)
def test_png_keeps_sample_type_and_bands(dtype: str, bands: int) -> None:
    pixels = _pixels(dtype, bands)
    raster = decode(imagecodecs.png_encode(pixels), "image/png")
    assert raster.dtype == np.dtype(dtype)
    assert np.array_equal(raster.array, pixels)
    assert raster.georef is None


@pytest.mark.parametrize("bands", [1, 3])
def test_jpeg(bands: int) -> None:
    smooth = np.linspace(0, 255, 48 * 64, dtype="float64").reshape(48, 64).astype("uint8")
    pixels = smooth if bands == 1 else np.stack([smooth] * bands, axis=-1)
    raster = decode(imagecodecs.jpeg_encode(pixels, level=95), "image/jpeg", georef=REF)
    assert raster.array.shape == pixels.shape
    assert np.abs(raster.array.astype(int) - pixels.astype(int)).max() <= 8  # lossy
    assert raster.georef == REF


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bands", [1, 3])
def test_raw_octet_stream_with_the_requests_shape(dtype: str, bands: int) -> None:
    pixels = _pixels(dtype, bands)
    body = pixels.astype(np.dtype(dtype).newbyteorder("<")).tobytes()  # type: ignore[attr-defined]
    sample_type = dtype.upper()
    raster = decode(
        body, "application/octet-stream", width=64, height=48, bands=bands, sample_type=sample_type
    )
    assert np.array_equal(raster.array, pixels)
    assert raster.array.flags.writeable


def test_raw_needs_its_shape_and_sample_type() -> None:
    body = bytes(64 * 48)
    with pytest.raises(ValidationError) as err:
        decode(body, "application/octet-stream", width=64, height=48, sample_type="UINT8")
    assert err.value.field == "bands"
    with pytest.raises(ValidationError) as err:
        decode(body, "application/octet-stream", width=64, height=48, bands=1, sample_type="INT64")
    assert err.value.field == "sample_type"


def test_raw_of_the_wrong_length_is_a_decode_error() -> None:
    with pytest.raises(ResponseDecodeError, match="are 3072 bytes, got 100"):
        decode(bytes(100), "application/octet-stream", width=32, height=32, bands=3, sample_type="UINT8")


def test_an_archive_member_of_unknown_type_is_told_by_its_bytes() -> None:
    raster = decode(imagecodecs.png_encode(_pixels("uint8", 3)), "application/octet-stream")
    assert raster.array.shape == (48, 64, 3)


@pytest.mark.parametrize("kind", ["image/tiff", "image/png", "image/jpeg"])
def test_bytes_that_are_not_the_format_are_a_decode_error(kind: str) -> None:
    with pytest.raises(ResponseDecodeError, match=f"as {kind}") as err:
        decode(b"<html>Bad gateway</html>", kind, source="process part 'default'")
    assert "process part 'default'" in str(err.value)
    assert "<html>" in str(err.value)


@pytest.mark.parametrize("kind", ["image/tiff", "image/png", "image/jpeg"])
def test_a_cut_image_is_a_decode_error_not_a_library_exception(kind: str) -> None:
    pixels = _pixels("uint8", 3)
    whole = {
        "image/tiff": encode_geotiff(pixels, REF),
        "image/png": imagecodecs.png_encode(pixels),
        "image/jpeg": imagecodecs.jpeg_encode(pixels),
    }[kind]
    with pytest.raises(ResponseDecodeError):
        decode(whole[: len(whole) // 3], kind)


def test_unknown_bytes_without_a_type() -> None:
    with pytest.raises(ResponseDecodeError, match="not a TIFF, PNG or JPEG"):
        decode(b"GIF89a....")


def test_a_media_type_that_is_no_image() -> None:
    with pytest.raises(ValidationError) as err:
        decode(b"{}", "application/json")
    assert err.value.field == "media_type"


def test_the_image_must_have_the_size_the_request_asked_for() -> None:
    with pytest.raises(ResponseDecodeError, match="64x48 pixels, the request asked for 10x10"):
        decode(encode_geotiff(_pixels("uint8", 1)), georef=GeoRef(4326, (0, 0, 1, 1), 10, 10))


def test_read_a_file_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "tile.tif"
    path.write_bytes(encode_geotiff(_pixels("float32", 2), REF))
    raster = read(path)
    assert raster.georef == REF and raster.array.shape == (48, 64, 2)
    with pytest.raises(ValidationError) as err:
        read(tmp_path / "missing.tif")
    assert err.value.field == "path"


def test_unusable_geo_tags_are_a_decode_error() -> None:
    buf = io.BytesIO()
    tifffile.imwrite(buf, _pixels("uint8", 1), extratags=[(34735, "H", 4, (1, 1, 0, 0), True)])
    tifffile_bytes = buf.getvalue()
    with pytest.raises(ResponseDecodeError, match="georeferencing"):
        decode(tifffile_bytes)


@pytest.mark.parametrize(
    ("module", "kind"), [("numpy", "image/png"), ("tifffile", "image/tiff"), ("imagecodecs", "image/png")]
)
def test_a_missing_dependency_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, module: str, kind: str
) -> None:
    body = (
        encode_geotiff(_pixels("uint8", 1))
        if kind == "image/tiff"
        else imagecodecs.png_encode(_pixels("uint8", 1))
    )
    monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    with pytest.raises(ConfigurationError, match=r"pip install 'eoclient\[arrays\]'"):
        decode(body, kind)
