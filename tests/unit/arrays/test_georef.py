"""GeoRef: pixel centres, transforms, requests and GeoTIFF tags, computed without GDAL."""

from __future__ import annotations

import itertools

import pytest

from eoclient.arrays.georef import (
    GEO_KEY_DIRECTORY,
    MODEL_PIXEL_SCALE,
    MODEL_TIEPOINT,
    MODEL_TRANSFORMATION,
    GeoRef,
    Window,
    crs_wkt,
    epsg_of,
)
from eoclient.errors import ValidationError
from eoclient.sentinelhub.process_models import (
    Bounds,
    InputData,
    ProcessInput,
    ProcessOutput,
    ProcessRequest,
    validate_process_request,
)
from tests.extras import need

UTM = GeoRef(32633, (500_000.0, 5_090_000.0, 502_560.0, 5_092_560.0), 256, 256)


def test_resolution_and_transform_of_a_utm_grid() -> None:
    assert UTM.resolution == (10.0, 10.0)
    assert UTM.transform == (10.0, 0.0, 500_000.0, 0.0, -10.0, 5_092_560.0)


def test_pixel_centres_are_half_a_pixel_in_and_y_descends() -> None:
    xs, ys = UTM.xs(), UTM.ys()
    assert (len(xs), len(ys)) == (256, 256)
    assert xs[0] == 500_005.0 and xs[-1] == 502_555.0
    assert ys[0] == 5_092_555.0 and ys[-1] == 5_090_005.0
    assert all(a > b for a, b in itertools.pairwise(ys))


def test_wgs84_grid_with_different_x_and_y_resolution() -> None:
    ref = GeoRef(4326, (13.0, 45.0, 14.0, 45.5), 200, 50)
    assert ref.resolution == (0.005, 0.01)
    assert ref.xs()[0] == pytest.approx(13.0025)
    assert ref.ys()[0] == pytest.approx(45.495)
    assert ref.is_geographic and not ref.in_metres


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"crs": 0}, "crs"),
        ({"width": 0}, "width"),
        ({"height": 2.5}, "height"),
        ({"bbox": (1.0, 0.0, 0.0, 1.0)}, "bbox"),
        ({"bbox": (0.0, 0.0, float("nan"), 1.0)}, "bbox"),
    ],
)
def test_bad_georef_names_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"crs": 4326, "bbox": (0.0, 0.0, 1.0, 1.0), "width": 10, "height": 10}
    args.update(kwargs)
    with pytest.raises(ValidationError) as err:
        GeoRef(**args)  # type: ignore[arg-type]
    assert err.value.field == field


def test_window_of_a_tile_in_a_mosaic() -> None:
    mosaic = GeoRef(32633, (500_000.0, 5_080_000.0, 520_000.0, 5_100_000.0), 2000, 2000)
    tile = GeoRef(32633, (502_560.0, 5_090_000.0, 505_120.0, 5_092_560.0), 256, 256)
    assert mosaic.window(tile) == Window(col=256, row=744, width=256, height=256)


def test_window_refuses_another_crs_resolution_or_offset() -> None:
    mosaic = GeoRef(32633, (0.0, 0.0, 100.0, 100.0), 10, 10)
    with pytest.raises(ValidationError, match="EPSG:32634"):
        mosaic.window(GeoRef(32634, (0.0, 0.0, 10.0, 10.0), 1, 1))
    with pytest.raises(ValidationError, match="pixel size"):
        mosaic.window(GeoRef(32633, (0.0, 0.0, 10.0, 10.0), 2, 2))
    with pytest.raises(ValidationError, match="off the grid along x"):
        mosaic.window(GeoRef(32633, (5.0, 0.0, 15.0, 10.0), 1, 1))


def _request(**output: object) -> dict[str, object]:
    return {
        "input": {
            "bounds": {"bbox": [500_000, 5_090_000, 502_560, 5_092_560], "properties": {"crs": 32633}},
            "data": [{"type": "sentinel-2-l2a"}],
        },
        "output": output,
        "evalscript": "//VERSION=3",
    }


def test_from_a_dict_request_in_utm() -> None:
    assert GeoRef.from_request(_request(width=256, height=256), 256, 256) == UTM


def test_from_a_resx_resy_request_with_the_size_the_checks_compute() -> None:
    model = ProcessRequest(
        input=ProcessInput(
            bounds=Bounds.from_bbox([500_000, 5_090_000, 502_560, 5_092_555], crs="EPSG:32633"),
            data=[InputData(type="sentinel-2-l2a")],
        ),
        output=ProcessOutput(resx=20, resy=20),
        evalscript="//VERSION=3",
    )
    width, height = validate_process_request(model)
    ref = GeoRef.from_request(model, width, height)
    assert (ref.width, ref.height) == (128, 128)  # 2555 m / 20 m rounds up
    assert ref.crs == 32633
    assert ref.bbox == (500_000.0, 5_090_000.0, 502_560.0, 5_092_555.0)


def test_default_crs_is_wgs84_with_x_the_longitude() -> None:
    request = {"input": {"bounds": {"bbox": [13.8, 45.8, 14.5, 46.2]}, "data": [{"type": "s2l2a"}]}}
    ref = GeoRef.from_request(request, 70, 40)
    assert ref.crs == 4326
    assert ref.bbox == (13.8, 45.8, 14.5, 46.2)
    assert ref.xs()[0] == pytest.approx(13.805)


def test_from_the_bounds_of_a_geometry() -> None:
    polygon = {"type": "Polygon", "coordinates": [[[14.0, 46.0], [14.4, 46.0], [14.2, 46.3], [14.0, 46.0]]]}
    request = {
        "input": {
            "bounds": {
                "geometry": polygon,
                "properties": {"crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
            }
        }
    }
    assert GeoRef.from_request(request, 40, 30).bbox == (14.0, 46.0, 14.4, 46.3)


def test_from_a_request_without_bounds_names_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        GeoRef.from_request({"input": {"data": []}}, 10, 10)
    assert err.value.field == "input.bounds"


def test_epsg_codes_from_every_spelling() -> None:
    assert epsg_of(None) == 4326
    assert epsg_of("http://www.opengis.net/def/crs/EPSG/0/32633") == 32633
    assert epsg_of("EPSG:3857") == 3857
    assert epsg_of("CRS84") == 4326


@pytest.mark.parametrize(
    "ref",
    [UTM, GeoRef(4326, (13.0, 45.0, 14.0, 45.5), 200, 50), GeoRef(32719, (3e5, 7e6, 3.2e5, 7.01e6), 20, 10)],
)
def test_geotiff_tags_round_trip(ref: GeoRef) -> None:
    tags = ref.geotiff_tags()
    assert GeoRef.from_geotiff_tags(tags, ref.width, ref.height) == ref


def test_tags_say_projected_or_geographic() -> None:
    keys = UTM.geotiff_tags()[GEO_KEY_DIRECTORY]
    assert list(keys[4:]) == [1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32633]
    keys = GeoRef(4326, (0, 0, 1, 1), 1, 1).geotiff_tags()[GEO_KEY_DIRECTORY]
    assert list(keys[4:]) == [1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326]


def test_model_transformation_tag() -> None:
    matrix = (10.0, 0.0, 0.0, 500_000.0, 0.0, -10.0, 0.0, 5_092_560.0, 0, 0, 0, 0, 0, 0, 0, 1.0)
    tags = {MODEL_TRANSFORMATION: matrix, GEO_KEY_DIRECTORY: UTM.geotiff_tags()[GEO_KEY_DIRECTORY]}
    assert GeoRef.from_geotiff_tags(tags, 256, 256) == UTM


def test_pixel_is_point_is_shifted_to_the_edges() -> None:
    directory = (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 2, 3072, 0, 1, 32633)
    tags = {
        MODEL_PIXEL_SCALE: (10.0, 10.0, 0.0),
        MODEL_TIEPOINT: (0.0, 0.0, 0.0, 500_005.0, 5_092_555.0, 0.0),
        GEO_KEY_DIRECTORY: directory,
    }
    assert GeoRef.from_geotiff_tags(tags, 256, 256) == UTM


def test_a_tiepoint_away_from_the_origin_pixel() -> None:
    tags = dict(UTM.geotiff_tags())
    tags[MODEL_TIEPOINT] = (10.0, 20.0, 0.0, 500_100.0, 5_092_360.0, 0.0)
    assert GeoRef.from_geotiff_tags(tags, 256, 256) == UTM


def test_no_tags_is_no_georef() -> None:
    assert GeoRef.from_geotiff_tags({256: 10}, 10, 10) is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({GEO_KEY_DIRECTORY: None}, "GeoKeyDirectoryTag"),
        ({GEO_KEY_DIRECTORY: (1, 1, 0, 1, 1024, 0, 1, 1)}, "GeoKeyDirectoryTag"),
        ({GEO_KEY_DIRECTORY: (1, 1, 0, 1, 3072, 0, 1, 32767)}, "GeoKeyDirectoryTag"),
        ({MODEL_TIEPOINT: None}, "ModelTiepointTag"),
        ({MODEL_PIXEL_SCALE: (10.0, -10.0, 0.0)}, "ModelPixelScaleTag"),
    ],
)
def test_unusable_tags_name_the_tag(change: dict[int, object], field: str) -> None:
    tags = {k: v for k, v in {**UTM.geotiff_tags(), **change}.items() if v is not None}
    with pytest.raises(ValidationError) as err:
        GeoRef.from_geotiff_tags(tags, 256, 256)
    assert err.value.field == field


def test_rotated_transformation_is_refused() -> None:
    matrix = (10.0, 1.0, 0.0, 0.0, 0.0, -10.0, 0.0, 0.0, 0, 0, 0, 0, 0, 0, 0, 1.0)
    tags = {MODEL_TRANSFORMATION: matrix, GEO_KEY_DIRECTORY: UTM.geotiff_tags()[GEO_KEY_DIRECTORY]}
    with pytest.raises(ValidationError, match="rotated"):
        GeoRef.from_geotiff_tags(tags, 1, 1)


def test_gdal_geotransform_text() -> None:
    assert UTM.gdal_geotransform() == "500000 10 0 5092560 0 -10"
    assert GeoRef(4326, (13.0, 45.0, 14.0, 45.5), 200, 50).gdal_geotransform() == "13 0.005 0 45.5 0 -0.01"


def test_cf_attrs_carry_wkt_and_grid_mapping() -> None:
    attrs = UTM.cf_crs_attrs()
    assert attrs["crs_wkt"] == attrs["spatial_ref"] == crs_wkt(32633)
    assert attrs["grid_mapping_name"] == "transverse_mercator"
    assert attrs["longitude_of_central_meridian"] == 15.0
    assert GeoRef(2193, (0, 0, 1, 1), 1, 1).cf_crs_attrs()["crs_wkt"] == "EPSG:2193"


@pytest.mark.parametrize("code", [4326, 3857, 32601, 32633, 32660, 32701, 32733, 32760])
def test_wkt_is_the_epsg_crs_for_pyproj(code: int) -> None:
    pyproj = need("pyproj")
    ours = pyproj.CRS.from_wkt(crs_wkt(code))
    assert ours.to_epsg() == code
    assert ours.equals(pyproj.CRS.from_epsg(code), ignore_axis_order=True)


@pytest.mark.parametrize("code", [4326, 3857, 32633, 32733])
def test_cf_grid_mapping_is_the_crs_for_pyproj(code: int) -> None:
    pyproj = need("pyproj")
    attrs = {k: v for k, v in GeoRef(code, (0, 0, 1, 1), 1, 1).cf_crs_attrs().items() if k != "GeoTransform"}
    attrs.pop("crs_wkt")
    attrs.pop("spatial_ref")
    # CF attributes name no datum: the same CRS means the same coordinates for a point.
    lon, lat = (14.2, 46.1) if code != 32733 else (14.2, -23.5)
    ours = pyproj.Transformer.from_crs(4326, pyproj.CRS.from_cf(attrs), always_xy=True)
    theirs = pyproj.Transformer.from_crs(4326, code, always_xy=True)
    assert ours.transform(lon, lat) == pytest.approx(theirs.transform(lon, lat), abs=1e-6)
