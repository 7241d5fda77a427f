"""Splitting an area into Process-sized tiles, cross-checked against shapely."""

from __future__ import annotations

import itertools
import math

import pytest

from eoclient.areas import MAX_TILE_PIXELS, AreaSplit, AreaTile, split_area
from eoclient.errors import ValidationError
from eoclient.geo import BBox, crs_url, wgs84_to_utm
from tests.extras import need

shapely = need("shapely")
from shapely import geometry as sg  # noqa: E402
from shapely.ops import unary_union  # noqa: E402

UTM33 = crs_url(32633)


def box_of(tile: AreaTile) -> sg.Polygon:
    return sg.box(*tile.bbox.as_list())


def assert_tiles_partition(tiles: list[AreaTile], area: sg.base.BaseGeometry) -> None:
    """No two tiles overlap, and together they cover ``area`` (up to rounding)."""
    boxes = [box_of(t) for t in tiles]
    for a, b in itertools.combinations(boxes, 2):
        assert a.intersection(b).area == 0.0
    union = unary_union(boxes)
    assert math.isclose(union.area, sum(b.area for b in boxes), rel_tol=1e-12)
    assert area.difference(union).area <= 1e-9 * area.area


def all_grid_boxes(split: AreaSplit, crs: str, tile: int) -> dict[tuple[int, int], sg.Polygon]:
    """Every tile of the mosaic grid before dropping, by (row, col)."""
    grid = split.grids[crs]
    resx, resy = grid.resolution
    out = {}
    for row in range(math.ceil(grid.height / tile)):
        for col in range(math.ceil(grid.width / tile)):
            west, north = grid.left + col * tile, grid.top - row * tile
            east, south = min(west + tile, grid.left + grid.width), max(north - tile, grid.top - grid.height)
            out[row, col] = sg.box(west * resx, south * resy, east * resx, north * resy)
    return out


def test_a_utm_box_is_covered_exactly_once_and_the_last_tiles_are_narrower() -> None:
    bbox = BBox(500_003.0, 5_000_007.0, 530_000.0, 5_012_345.0, crs=32633)
    split = split_area(bbox, resolution=10, tile_pixels=1000)
    grid = split.grids[UTM33]
    assert (grid.left, grid.top, grid.width, grid.height) == (50_000, 501_235, 3000, 1235)
    assert [(t.row, t.col) for t in split] == [(r, c) for r in range(2) for c in range(3)]
    assert {(t.width, t.height) for t in split} == {(1000, 1000), (1000, 235)}
    assert sum(t.width * t.height for t in split) == grid.width * grid.height
    assert_tiles_partition(list(split), sg.box(*bbox.as_list()))
    assert unary_union([box_of(t) for t in split]).equals(sg.box(*grid.bbox.as_list()))


def test_tiles_of_a_concave_polygon_are_those_that_overlap_it() -> None:
    # A "U" whose bay swallows whole tiles: those must go, the rest must stay.
    u = sg.Polygon(
        [(400_000, 5_000_000), (440_000, 5_000_000), (440_000, 5_040_000), (430_000, 5_040_000),
         (430_000, 5_010_000), (410_000, 5_010_000), (410_000, 5_040_000), (400_000, 5_040_000)]
    )  # fmt: skip
    split = split_area(u, area_crs=32633, resolution=20, tile_pixels=250)
    kept = {(t.row, t.col) for t in split}
    every = all_grid_boxes(split, UTM33, 250)
    assert kept == {rc for rc, b in every.items() if b.intersection(u).area > 0}
    assert len(kept) < len(every)
    assert_tiles_partition(list(split), u)


def test_a_multipolygon_with_a_hole_drops_the_tiles_in_the_hole_and_between_the_parts() -> None:
    ring = sg.Polygon(
        [(0.0, 40.0), (0.6, 40.0), (0.6, 40.6), (0.0, 40.6)],
        [[(0.1, 40.1), (0.5, 40.1), (0.5, 40.5), (0.1, 40.5)]],
    )
    island = sg.box(1.0, 40.0, 1.2, 40.2)
    area = sg.MultiPolygon([ring, island])
    split = split_area(area, resolution=0.001, tile_pixels=50, crs=4326)
    every = all_grid_boxes(split, crs_url(4326), 50)
    kept = {(t.row, t.col) for t in split}
    assert kept == {rc for rc, b in every.items() if b.intersection(area).area > 1e-15}
    assert not any(box_of(t).within(sg.box(0.1, 40.1, 0.5, 40.5)) for t in split)
    assert not any(box_of(t).within(sg.box(0.6, 40.0, 1.0, 40.6)) for t in split)
    assert_tiles_partition(list(split), area)


def test_tile_edges_are_whole_multiples_of_the_resolution_from_the_origin() -> None:
    # 0.1 is not a binary fraction: edges summed up tile by tile would drift, k * 0.1 does not.
    res = 0.1
    split = split_area(
        BBox(500_000.03, 5_000_000.07, 500_123.45, 5_000_098.76, crs=32633), resolution=res, tile_pixels=97
    )
    grid = split.grids[UTM33]
    for tile in split:
        west, south, east, north = tile.bbox.as_list()
        assert west == (grid.left + tile.x_offset) * res
        assert north == (grid.top - tile.y_offset) * res
        assert east == (grid.left + tile.x_offset + tile.width) * res
        assert south == (grid.top - tile.y_offset - tile.height) * res
    by_place = {(t.row, t.col): t for t in split}
    for (row, col), tile in by_place.items():
        if (row, col + 1) in by_place:
            assert tile.bbox.max_x == by_place[row, col + 1].bbox.min_x  # the same float: no gap, no overlap
        if (row + 1, col) in by_place:
            assert tile.bbox.min_y == by_place[row + 1, col].bbox.max_y
    # The mosaic's pixel centres are those of the tiles, to the bit.
    first = split.tiles[0]
    assert grid.x_coords()[: first.width] == [(grid.left + i + 0.5) * res for i in range(first.width)]


def test_the_grid_does_not_move_with_the_area() -> None:
    a = split_area(BBox(500_001.0, 5_000_001.0, 520_000.0, 5_010_000.0, crs=32633), resolution=10)
    b = split_area(BBox(500_004.0, 5_000_009.0, 520_000.0, 5_010_000.0, crs=32633), resolution=10)
    assert a.grids == b.grids  # both snapped outward to the same 10 m lines


def test_splitting_is_deterministic() -> None:
    area = {
        "type": "Polygon",
        "coordinates": [[[11.7, 45.9], [12.4, 46.0], [12.2, 46.4], [11.8, 46.3], [11.7, 45.9]]],
    }
    assert split_area(area, resolution=30, tile_pixels=700) == split_area(
        area, resolution=30, tile_pixels=700
    )


def test_an_area_across_two_zones_is_tiled_in_each_zone() -> None:
    lonlat = sg.Polygon([(11.6, 46.0), (12.5, 46.0), (12.3, 46.5), (11.8, 46.4)])
    split = split_area(lonlat, resolution=20, tile_pixels=500)
    assert sorted(split.grids) == [crs_url(32632), crs_url(32633)]
    for zone, (west, east) in ((32632, (6.0, 12.0)), (32633, (12.0, 18.0))):
        crs = crs_url(zone)
        tiles = [t for t in split if t.crs == crs]
        assert tiles
        # The zone's share of the area, projected with eoclient's own UTM (densified like the splitter).
        share = lonlat.intersection(sg.box(west, -90, east, 90)).segmentize(0.005)
        projected = shapely.transform(
            share, lambda xy, z=zone: [list(wgs84_to_utm(lon, lat, z)) for lon, lat in xy]
        )
        assert_tiles_partition(tiles, projected)
        every = all_grid_boxes(split, crs, 500)
        kept = {(t.row, t.col) for t in tiles}
        assert kept == {rc for rc, b in every.items() if b.intersection(projected).area > 1.0}


def test_an_area_across_the_equator_is_tiled_north_and_south() -> None:
    split = split_area([20.0, -0.05, 20.05, 0.05], resolution=10, tile_pixels=2500)
    assert sorted(split.grids) == [crs_url(32634), crs_url(32734)]
    north, south = split.grids[crs_url(32634)], split.grids[crs_url(32734)]
    assert north.bbox.min_y == 0.0 and south.bbox.max_y == 10_000_000.0


def test_an_area_only_touching_a_zone_is_not_tiled_there() -> None:
    split = split_area([11.5, 46.0, 12.0, 46.1], resolution=10)  # 12.0 is where zone 33 begins
    assert list(split.grids) == [crs_url(32632)]


def test_one_crs_on_request_even_across_zones() -> None:
    split = split_area([11.5, 46.0, 12.5, 46.1], resolution=0.0001, tile_pixels=2500, crs="EPSG:4326")
    assert list(split.grids) == [crs_url(4326)]
    assert split.grids[crs_url(4326)].width == 10_000
    assert split.grids[crs_url(4326)].height == 1000
    assert {t.row for t in split} == {0} and len(split) == 4


def test_a_wgs84_area_in_one_given_utm_zone() -> None:
    split = split_area([14.0, 46.0, 14.1, 46.1], resolution=10, crs=32633)
    (grid,) = split.grids.values()
    assert grid.crs == UTM33 and (grid.width, grid.height) == (788, 1121)


def test_the_default_is_the_largest_tile_the_process_api_renders() -> None:
    split = split_area(BBox(0.0, 0.0, 60_000.0, 10_000.0, crs=32633), resolution=10)
    assert [(t.width, t.height) for t in split] == [(MAX_TILE_PIXELS, 1000)] * 2 + [(1000, 1000)]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tile_pixels": MAX_TILE_PIXELS + 1}, "tile_pixels"),
        ({"tile_pixels": (100, 3000)}, "tile_pixels"),
        ({"tile_size": 25_010}, "tile_size"),
        ({"tile_size": 1005}, "tile_size"),  # not a whole number of 10 m pixels
        ({"tile_size": 1000, "tile_pixels": 100}, "tile_size"),
        ({"tile_pixels": 0}, "tile_pixels"),
        ({"tile_pixels": 10.5}, "tile_pixels"),
        ({"resolution": -10}, "resolution"),
        ({"resolution": (10, 0)}, "resolution.y"),
        ({"crs": 3857}, "crs"),
        ({"crs": "nonsense"}, "crs"),
        ({"area_crs": 32634}, "area_crs"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, object], field: str) -> None:
    kwargs = {"resolution": 10, **kwargs}
    with pytest.raises(ValidationError) as err:
        split_area(BBox(500_000.0, 5_000_000.0, 600_000.0, 5_100_000.0, crs=32633), **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_tile_size_in_metres() -> None:
    split = split_area(BBox(0.0, 0.0, 30_000.0, 10_000.0, crs=32633), resolution=10, tile_size=10_000)
    assert [(t.width, t.height) for t in split] == [(1000, 1000)] * 3


@pytest.mark.parametrize(
    ("area", "field"),
    [
        ({"type": "LineString", "coordinates": [[14.0, 46.0], [14.1, 46.1]]}, "area"),
        (
            {"type": "Polygon", "coordinates": [[[14.0, 46.0], [194.0, 46.0], [14.0, 46.1], [14.0, 46.0]]]},
            "area",
        ),
        ([14.0, 46.0, 14.0, 46.1], "area"),
        (
            {"type": "Polygon", "coordinates": [[[14.0, 46.0], [14.1, 46.0], [14.2, 46.0], [14.0, 46.0]]]},
            "area",
        ),
    ],
)
def test_bad_areas_are_refused(area: object, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        split_area(area, resolution=10)
    assert err.value.field.startswith(field)


def test_a_feature_and_geo_interface_are_areas() -> None:
    polygon = sg.box(14.0, 46.0, 14.05, 46.05)
    feature = {"type": "Feature", "properties": {}, "geometry": polygon.__geo_interface__}
    assert split_area(polygon, resolution=10) == split_area(feature, resolution=10)


def test_edges_are_followed_as_they_bend_in_utm() -> None:
    # A parallel across a whole zone bows kilometres south of its chord in UTM: tiles must cover the bow.
    lonlat = sg.box(6.0, 60.0, 12.0, 60.01)
    split = split_area(lonlat, resolution=60, tile_pixels=500)
    assert list(split.grids) == [crs_url(32632)]
    projected = shapely.transform(
        lonlat.segmentize(0.001), lambda xy: [list(wgs84_to_utm(lon, lat, 32632)) for lon, lat in xy]
    )
    assert_tiles_partition(list(split), projected)
