"""UTM zones, the WGS84 <-> UTM transform, and bbox sizes in pixels."""

from __future__ import annotations

import math
import random

import pytest

from eoclient.errors import ValidationError
from eoclient.geo import (
    BBox,
    bbox_to_dimensions,
    bbox_to_resolution,
    crs_url,
    is_utm,
    to_utm_bbox,
    utm_crs,
    utm_to_wgs84,
    utm_zone,
    utm_zone_of,
    wgs84_to_utm,
)

# Reference coordinates computed with PROJ 9.5 (pyproj 3.7, EPSG:4326 -> EPSG:326xx/327xx), to 0.1 mm.
REFERENCE = [
    ("ljubljana", 14.5058, 46.0569, 32633, 461772.2117, 5100488.2132),
    ("eiffel", 2.2945, 48.8584, 32631, 448252.0014, 5411954.9099),
    ("sydney", 151.2153, -33.8568, 32756, 334900.5697, 6252288.7529),
    ("sao_paulo", -46.6333, -23.5505, 32723, 333287.9151, 7394588.3186),
    ("reykjavik", -21.9426, 64.1466, 32627, 454138.3765, 7113689.8690),
    ("zone_edge", 17.9999, 0.5, 32633, 833954.7593, 55341.3831),
    ("quito", -78.4678, -0.1807, 32717, 781861.4575, 9980007.5669),
    ("far_north", -2.9, 83.5, 32630, 501263.8508, 9272276.9668),
]
IDS = [r[0] for r in REFERENCE]


@pytest.mark.parametrize(("name", "lon", "lat", "code", "easting", "northing"), REFERENCE, ids=IDS)
def test_forward_matches_reference_to_a_tenth_of_a_millimetre(
    name: str, lon: float, lat: float, code: int, easting: float, northing: float
) -> None:
    assert utm_crs(lon, lat) == code
    e, n = wgs84_to_utm(lon, lat)
    assert abs(e - easting) < 1e-4 and abs(n - northing) < 1e-4


@pytest.mark.parametrize(("name", "lon", "lat", "code", "easting", "northing"), REFERENCE, ids=IDS)
def test_inverse_matches_reference(
    name: str, lon: float, lat: float, code: int, easting: float, northing: float
) -> None:
    back_lon, back_lat = utm_to_wgs84(easting, northing, code)
    # On the ground, in metres (the reference itself is rounded to 0.05 mm).
    metres_per_degree = 111_320.0
    assert abs(back_lat - lat) * metres_per_degree < 1e-4
    assert abs(back_lon - lon) * metres_per_degree * math.cos(math.radians(lat)) < 1e-4


def test_round_trip_across_zones_is_sub_millimetre() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        zone = rng.randint(1, 60)
        south = rng.random() < 0.5
        lon = zone * 6 - 183 + rng.uniform(-4.5, 4.5)  # the zone and half a zone beyond it
        lat = rng.uniform(-80, 0) if south else rng.uniform(0, 84)
        code = (32700 if south else 32600) + zone
        e, n = wgs84_to_utm(lon, lat, code)
        back = utm_to_wgs84(e, n, code)
        e2, n2 = wgs84_to_utm(*back, code)
        assert abs(e2 - e) < 1e-6 and abs(n2 - n) < 1e-6
        assert abs((back[0] - lon + 180) % 360 - 180) < 1e-10 and abs(back[1] - lat) < 1e-10


def test_central_meridian_equator_and_pole() -> None:
    assert wgs84_to_utm(9.0, 0.0) == pytest.approx((500000.0, 0.0), abs=1e-9)
    assert wgs84_to_utm(9.0, 0.0, 32732) == pytest.approx((500000.0, 10_000_000.0), abs=1e-9)
    e, n = wgs84_to_utm(9.0, 90.0, 32632)
    assert e == pytest.approx(500000.0) and n == pytest.approx(9997964.943, abs=1e-3)
    assert utm_to_wgs84(500000.0, 0.0, "EPSG:32632") == pytest.approx((9.0, 0.0), abs=1e-12)


@pytest.mark.parametrize(
    ("lon", "lat", "zone", "code"),
    [
        (14.5, 46.0, 33, 32633),
        (-46.6, -23.5, 23, 32723),
        (-180.0, 10.0, 1, 32601),
        (180.0, 10.0, 1, 32601),  # wraps: 180E is 180W
        (179.999, -10.0, 60, 32760),
        (0.0, 0.0, 31, 32631),  # the equator counts as north
        (6.0, 60.0, 32, 32632),  # the plain 6 degree rule (no Norway exception)
        (-3.0, 45.0, 30, 32630),
    ],
)
def test_zones(lon: float, lat: float, zone: int, code: int) -> None:
    assert utm_zone(lon, lat) == zone
    assert utm_crs(lon, lat) == code


def test_zone_of_a_crs() -> None:
    assert utm_zone_of(32633) == (33, False)
    assert utm_zone_of("EPSG:32760") == (60, True)
    assert utm_zone_of(crs_url(32701)) == (1, True)
    assert utm_zone_of(4326) is None and utm_zone_of(3857) is None
    assert is_utm("http://www.opengis.net/def/crs/EPSG/0/32633") and not is_utm("CRS84")


def test_bad_points_and_crs() -> None:
    with pytest.raises(ValidationError):
        wgs84_to_utm(14.0, 91.0)
    with pytest.raises(ValidationError):
        wgs84_to_utm(math.nan, 1.0)
    with pytest.raises(ValidationError) as info:
        wgs84_to_utm(14.0, 46.0, 3857)
    assert info.value.field == "crs"
    with pytest.raises(ValidationError):
        utm_to_wgs84(500000.0, 0.0, 4326)


def test_to_utm_bbox() -> None:
    box = to_utm_bbox([14.0, 46.0, 14.1, 46.1])
    assert box.crs == crs_url(32633)
    assert (box.min_x, box.min_y) == pytest.approx(wgs84_to_utm(14.0, 46.0, 32633))
    assert (box.max_x, box.max_y) == pytest.approx(wgs84_to_utm(14.1, 46.1, 32633))
    assert to_utm_bbox(BBox(14.0, 46.0, 14.1, 46.1, crs="EPSG:4326")) == box
    utm = BBox(500000, 5000000, 501000, 5002000, crs="EPSG:32633")
    assert to_utm_bbox(utm) is utm
    with pytest.raises(ValidationError) as info:
        to_utm_bbox(BBox(0, 0, 1000, 1000, crs=3857))
    assert info.value.field == "bbox.crs"


@pytest.mark.parametrize(
    ("bbox", "resolution", "size"),
    [
        # The references are PROJ's corner coordinates divided by the resolution, rounded.
        ([14.0, 46.0, 14.1, 46.1], 10, (787, 1102)),
        ([-46.7, -23.6, -46.6, -23.5], 10, (1008, 1119)),
        ([14.0, 46.0, 14.1, 46.1], (20, 60), (393, 184)),
        (BBox(500000, 5000000, 501000, 5002000, crs=32633), 10, (100, 200)),
    ],
)
def test_bbox_to_dimensions(
    bbox: object, resolution: float | tuple[float, float], size: tuple[int, int]
) -> None:
    assert bbox_to_dimensions(bbox, resolution) == size


def test_bbox_to_resolution_is_the_inverse() -> None:
    resx, resy = bbox_to_resolution([14.0, 46.0, 14.1, 46.1], 787, 1102)
    assert resx == pytest.approx(7868.856145816972 / 787, rel=1e-9)
    assert resy == pytest.approx(11018.372822130099 / 1102, rel=1e-9)
    assert bbox_to_resolution(BBox(500000, 5000000, 501000, 5002000, crs=32633), 100, 400) == (10.0, 5.0)


@pytest.mark.parametrize("resolution", [0, -1.0, math.inf, (10, 0)])
def test_bad_resolution(resolution: float | tuple[float, float]) -> None:
    with pytest.raises(ValidationError):
        bbox_to_dimensions([14.0, 46.0, 14.1, 46.1], resolution)


def test_bad_size() -> None:
    with pytest.raises(ValidationError) as info:
        bbox_to_resolution([14.0, 46.0, 14.1, 46.1], 0, 10)
    assert info.value.field == "width"
