"""Split an area into tiles the Process API can render, on one pixel grid per CRS.

The pixel grid of a CRS starts at its origin: pixel column ``k`` spans
``[k * resx, (k + 1) * resx]``, row ``k`` spans ``[k * resy, (k + 1) * resy]``
(``k`` an integer, negative too). Every edge — of a tile, of a mosaic — is
computed as ``k * res`` from its integer index, never by adding widths up, so
two tiles that meet share the very same float and their pixels join with no
gap or overlap, whatever the resolution. The area's bounds are widened to
that grid (the mosaic), and the mosaic is cut into tiles of ``tile_pixels``
from its north-west corner (the last column and row may be narrower).
Tiles whose overlap with the area is zero are dropped (a concave polygon's
bay, a hole, the sea between the parts of a MultiPolygon).

In UTM (``crs="utm"``, the default), an area given in WGS84 is split along
the UTM zones and the equator first, as sentinelhub-py's ``UtmZoneSplitter``
does: each part is tiled in its own zone's CRS (EPSG 326zz north, 327zz
south), with a mosaic grid of its own. With a CRS instead (e.g. the request's
``4326``), the whole area is tiled in that one CRS. eoclient converts
between WGS84 and UTM itself (:mod:`eoclient.geo`); an area in any other CRS
is tiled in that same CRS.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from eoclient.areas.polygons import (
    Shape,
    clip_shape,
    clipped_area,
    rectangle,
    shape_area,
    shape_bounds,
    shape_of,
    transform_shape,
)
from eoclient.errors import ValidationError
from eoclient.geo import (
    CRS84,
    BBox,
    as_geojson,
    bbox_of,
    crs_url,
    is_utm,
    utm_to_wgs84,
    utm_zone,
    wgs84_to_utm,
)

__all__ = ["MAX_TILE_PIXELS", "AreaSplit", "AreaTile", "MosaicGrid", "split_area"]

MAX_TILE_PIXELS: Final = 2500
"""The Process API renders at most 2500 x 2500 pixels per request."""

# A bound this close to a grid line (in pixels) is taken as on it: 0.3 / 0.1 is 2.9999999999999996.
_SNAP: Final = 1e-6
# An overlap smaller than this share of a tile is rounding, not area (zero-width bridges of clipping).
_NO_AREA: Final = 1e-9
_DEGREE_STEP: Final = 0.01  # densify WGS84 edges before projecting: 1 km pieces bend by < 3 cm
_METRE_STEP: Final = 1000.0


@dataclass(frozen=True, slots=True)
class MosaicGrid:
    """The pixel grid of one CRS's mosaic: ``width`` x ``height`` pixels of ``resolution``.

    ``left`` and ``top`` are the indices of its west and north edges on the
    CRS's pixel grid (``min_x = left * resx``, ``max_y = top * resy``).
    """

    crs: str
    resolution: tuple[float, float]
    left: int
    top: int
    width: int
    height: int

    @property
    def bbox(self) -> BBox:
        """The mosaic's bounds in its CRS."""
        resx, resy = self.resolution
        return BBox(
            self.left * resx,
            (self.top - self.height) * resy,
            (self.left + self.width) * resx,
            self.top * resy,
            crs=self.crs,
        )

    @property
    def transform(self) -> tuple[float, float, float, float, float, float]:
        """The affine transform ``(resx, 0, min_x, 0, -resy, max_y)``, in rasterio's ``Affine`` order."""
        resx, resy = self.resolution
        return (resx, 0.0, self.left * resx, 0.0, -resy, self.top * resy)

    def x_coords(self) -> list[float]:
        """The x of each pixel column's centre, west to east."""
        resx = self.resolution[0]
        return [(self.left + i + 0.5) * resx for i in range(self.width)]

    def y_coords(self) -> list[float]:
        """The y of each pixel row's centre, north to south (as images are stored)."""
        resy = self.resolution[1]
        return [(self.top - j - 0.5) * resy for j in range(self.height)]


@dataclass(frozen=True, slots=True)
class AreaTile:
    """One tile: its bounds in its CRS, its size in pixels, and where it sits in its CRS's mosaic.

    ``row`` and ``col`` count tiles from the mosaic's north-west corner (a
    dropped tile leaves its number unused); ``x_offset``/``y_offset`` are the
    pixel column and row of the tile's north-west pixel in the mosaic, so the
    tile fills ``mosaic[y_offset:y_offset + height, x_offset:x_offset + width]``.
    """

    index: int
    row: int
    col: int
    bbox: BBox
    width: int
    height: int
    x_offset: int
    y_offset: int

    @property
    def crs(self) -> str:
        """The tile's CRS as an OGC URL (that of its mosaic)."""
        return self.bbox.crs


@dataclass(frozen=True, slots=True)
class AreaSplit:
    """The tiles of an area (in order: CRS, then row by row) and the mosaic grid of each CRS."""

    tiles: tuple[AreaTile, ...]
    grids: Mapping[str, MosaicGrid]

    def __iter__(self) -> Iterator[AreaTile]:
        return iter(self.tiles)

    def __len__(self) -> int:
        return len(self.tiles)

    def grid_of(self, tile: AreaTile) -> MosaicGrid:
        """The mosaic grid ``tile`` belongs to."""
        return self.grids[tile.crs]


def split_area(
    area: Any,
    *,
    resolution: float | tuple[float, float],
    tile_pixels: int | tuple[int, int] | None = None,
    tile_size: float | tuple[float, float] | None = None,
    crs: int | str = "utm",
    area_crs: int | str | None = None,
) -> AreaSplit:
    """Split ``area`` into tiles of at most 2500 pixels a side, aligned to the pixel grid of their CRS.

    ``area`` is a :class:`~eoclient.geo.BBox` (in its own CRS), a
    ``[min_x, min_y, max_x, max_y]`` list, or a GeoJSON Polygon/MultiPolygon
    (a dict, a Feature, or anything with ``__geo_interface__``), in
    ``area_crs`` (default: WGS84, or the BBox's own CRS).

    ``resolution`` is the pixel size in units of the tiles' CRS (metres in
    UTM, degrees in WGS84), one number or ``(x, y)``. Tiles are
    ``tile_pixels`` a side (one number or ``(width, height)``), or
    ``tile_size`` in CRS units, a whole number of pixels; default: 2500 pixels.
    ``crs`` is ``"utm"`` (split per UTM zone, each tile in its own zone) or
    the one CRS to tile in.

    >>> split = split_area([14.0, 46.0, 14.1, 46.1], resolution=10, tile_pixels=500)
    >>> len(split), split.tiles[0].width, split.tiles[0].crs.rsplit("/", 1)[1]
    (6, 500, '32633')
    """
    resx, resy = _pair(resolution, "resolution", whole=False)
    tile_w, tile_h = _tile_pixels(tile_pixels, tile_size, resx, resy)
    shape, source = _read_area(area, area_crs)
    tiles: list[AreaTile] = []
    grids: dict[str, MosaicGrid] = {}
    for target, part in _in_target_crs(shape, source, crs):
        grid, found = _tile(part, target, res=(resx, resy), tile=(tile_w, tile_h), first=len(tiles))
        if found:
            grids[target] = grid
            tiles.extend(found)
    if not tiles:
        raise ValidationError("area", "encloses no area")
    return AreaSplit(tuple(tiles), grids)


def _pair(value: Any, field: str, *, whole: bool) -> tuple[Any, Any]:
    pair = tuple(value) if isinstance(value, Sequence) and not isinstance(value, str) else (value, value)
    if len(pair) != 2:
        raise ValidationError(field, f"expected one number or two (x, y), got {value!r}")
    for axis, v in zip("xy", pair, strict=True):
        ok = isinstance(v, int) if whole else isinstance(v, int | float) and math.isfinite(v)
        if isinstance(v, bool) or not ok or v <= 0:
            kind = "a positive whole number of pixels" if whole else "a positive number"
            raise ValidationError(
                field if pair[0] is pair[1] else f"{field}.{axis}", f"must be {kind}, got {v!r}"
            )
    return pair if whole else (float(pair[0]), float(pair[1]))


def _tile_pixels(
    tile_pixels: int | tuple[int, int] | None,
    tile_size: float | tuple[float, float] | None,
    resx: float,
    resy: float,
) -> tuple[int, int]:
    if tile_pixels is not None and tile_size is not None:
        raise ValidationError("tile_size", "give tile_pixels or tile_size, not both")
    if tile_size is not None:
        size = _pair(tile_size, "tile_size", whole=False)
        pixels = []
        for v, res in zip(size, (resx, resy), strict=True):
            count = round(v / res)
            if count < 1 or not math.isclose(count * res, v, rel_tol=1e-9):
                raise ValidationError("tile_size", f"{v!r} is not a whole number of pixels of {res!r}")
            pixels.append(count)
        field, width, height = "tile_size", pixels[0], pixels[1]
    elif tile_pixels is not None:
        field, (width, height) = "tile_pixels", _pair(tile_pixels, "tile_pixels", whole=True)
    else:
        return MAX_TILE_PIXELS, MAX_TILE_PIXELS
    if max(width, height) > MAX_TILE_PIXELS:
        raise ValidationError(
            field, f"{width} x {height} pixels: the Process API renders at most {MAX_TILE_PIXELS} a side"
        )
    return width, height


def _read_area(area: Any, area_crs: int | str | None) -> tuple[Shape, str]:
    """The area's polygons and its CRS (URL), checked."""
    if isinstance(area, BBox):
        if area_crs is not None and crs_url(area_crs, field="area_crs") != area.crs:
            raise ValidationError("area_crs", f"the BBox is in {area.crs}, not in {crs_url(area_crs)}")
        return rectangle(*area.as_list()), area.crs
    source = crs_url(area_crs, field="area_crs")
    if isinstance(area, Mapping) or hasattr(area, "__geo_interface__"):
        geometry = as_geojson(area, field="area", crs=source)
        return shape_of(geometry), source
    return rectangle(*bbox_of(area, field="area", crs=source)), source


def _in_target_crs(shape: Shape, source: str, crs: int | str) -> list[tuple[str, Shape]]:
    """``shape`` in the CRS (or the UTM zones) to tile it in."""
    if isinstance(crs, str) and crs.strip().lower() == "utm":
        if is_utm(source):
            return [(source, shape)]
        if source != CRS84:
            raise ValidationError(
                "crs", f"splitting into UTM zones needs the area in WGS84 or UTM, not {source}"
            )
        return _utm_zones(shape)
    target = crs_url(crs, field="crs")
    if target == source:
        return [(target, shape)]
    if source == CRS84 and is_utm(target):
        return [(target, _to_utm(shape, target))]
    if is_utm(source) and (target == CRS84 or is_utm(target)):
        lonlat = transform_shape(shape, lambda x, y: utm_to_wgs84(x, y, source), max_step=_METRE_STEP)
        return [(target, lonlat if target == CRS84 else _to_utm(lonlat, target))]
    raise ValidationError(
        "crs", f"eoclient converts only between WGS84 and UTM: give the area in {target} to tile it there"
    )


def _to_utm(shape: Shape, target: str) -> Shape:
    return transform_shape(shape, lambda lon, lat: wgs84_to_utm(lon, lat, target), max_step=_DEGREE_STEP)


def _utm_zones(shape: Shape) -> list[tuple[str, Shape]]:
    """The parts of a WGS84 shape in each UTM zone and hemisphere, each in that zone's CRS."""
    min_lon, min_lat, max_lon, max_lat = shape_bounds(shape)
    area = shape_area(shape)
    parts = []
    for zone in range(utm_zone(min_lon, 0.0), utm_zone(max_lon, 0.0) + 1):
        west = zone * 6.0 - 186.0
        in_zone = clip_shape(shape, 0, west, west + 6.0)
        for south, low, high in ((False, 0.0, 90.0), (True, -90.0, 0.0)):
            if (south and min_lat >= 0.0) or (not south and max_lat <= 0.0):
                continue
            part = clip_shape(in_zone, 1, low, high)
            if shape_area(part) <= _NO_AREA * area:
                continue  # the area only touches this zone
            code = (32700 if south else 32600) + zone
            target = crs_url(code)
            parts.append((target, _to_utm(part, target)))
    return sorted(parts, key=lambda p: p[0])  # zones west to east, the north's (326zz) first


def _tile(
    shape: Shape, crs: str, *, res: tuple[float, float], tile: tuple[int, int], first: int
) -> tuple[MosaicGrid, list[AreaTile]]:
    """The mosaic grid of ``shape`` in ``crs`` and the tiles of it that overlap ``shape``."""
    (resx, resy), (tile_w, tile_h) = res, tile
    min_x, min_y, max_x, max_y = shape_bounds(shape)
    left, right = math.floor(min_x / resx + _SNAP), math.ceil(max_x / resx - _SNAP)
    bottom, top = math.floor(min_y / resy + _SNAP), math.ceil(max_y / resy - _SNAP)
    right, top = max(right, left + 1), max(top, bottom + 1)
    grid = MosaicGrid(crs, (resx, resy), left, top, right - left, top - bottom)
    tiles: list[AreaTile] = []
    for row in range(math.ceil(grid.height / tile_h)):
        north = top - row * tile_h
        south = max(north - tile_h, bottom)
        strip = clip_shape(shape, 1, south * resy, north * resy)  # one row's share, clipped once
        if not strip:
            continue
        for col in range(math.ceil(grid.width / tile_w)):
            west = left + col * tile_w
            east = min(west + tile_w, right)
            box = (west * resx, south * resy, east * resx, north * resy)
            if clipped_area(strip, *box) <= _NO_AREA * (box[2] - box[0]) * (box[3] - box[1]):
                continue
            tiles.append(
                AreaTile(
                    index=first + len(tiles),
                    row=row,
                    col=col,
                    bbox=BBox(*box, crs=crs),
                    width=east - west,
                    height=north - south,
                    x_offset=west - left,
                    y_offset=top - north,
                )
            )
    return grid, tiles
