"""Where an image's pixels are on the map: its CRS, bounds and size, and what follows from them.

A :class:`GeoRef` is computed from the request that asked for the image
(:meth:`GeoRef.from_request`) or read from a GeoTIFF's own tags
(:meth:`GeoRef.from_geotiff_tags`). From it come the pixel-centre coordinates
of the ``x``/``y`` axes, the affine transform (rasterio's order), the GeoTIFF
tags to write, and the CF / GDAL attributes rioxarray reads a CRS and a
transform from. Pure Python: no numpy, GDAL or pyproj.

Images are north-up: row 0 is the northern edge, ``y`` decreases down the
rows. In EPSG:4326 ``x`` is the longitude and ``y`` the latitude, as
Sentinel Hub reads coordinates in that CRS.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from eoclient._models import to_wire
from eoclient.errors import ValidationError
from eoclient.geo import CRS84, checked_geometry_bounds, crs_url, geometry_bounds, utm_zone_of

__all__ = [
    "GEO_KEY_DIRECTORY",
    "MODEL_PIXEL_SCALE",
    "MODEL_TIEPOINT",
    "MODEL_TRANSFORMATION",
    "GeoRef",
    "Window",
    "epsg_of",
]

MODEL_PIXEL_SCALE: Final = 33550
MODEL_TIEPOINT: Final = 33922
MODEL_TRANSFORMATION: Final = 34264
GEO_KEY_DIRECTORY: Final = 34735

# GeoKeys (GeoTIFF 1.1, section 7.1) read and written here.
_MODEL_TYPE: Final = 1024  # GTModelTypeGeoKey: 1 projected, 2 geographic
_RASTER_TYPE: Final = 1025  # GTRasterTypeGeoKey: 1 PixelIsArea, 2 PixelIsPoint
_GEOGRAPHIC_TYPE: Final = 2048
_PROJECTED_TYPE: Final = 3072
_USER_DEFINED: Final = 32767
_PIXEL_IS_POINT: Final = 2

_WEB_MERCATOR_HALF: Final = math.pi * 6378137.0  # half the world's width in EPSG:3857 metres

# A grid is "the same" when offsets and sizes agree to this fraction of a pixel (float noise).
_GRID_TOLERANCE: Final = 1e-6


class Window(NamedTuple):
    """A block of pixels of a larger grid: offsets of its first column and row, and its size."""

    col: int
    row: int
    width: int
    height: int


def epsg_of(crs: int | str | None, *, field: str = "crs") -> int:
    """The EPSG code of a CRS given as a code, ``"EPSG:n"``, ``"CRS84"`` or an OGC URL (``None``: 4326)."""
    url = crs_url(crs, field=field)
    return 4326 if url == CRS84 else int(url.rsplit("/", 1)[1])


@dataclass(frozen=True, slots=True)
class GeoRef:
    """An image's georeferencing: EPSG ``crs``, ``bbox`` ``(minx, miny, maxx, maxy)``, size in pixels.

    The bbox is the outer edge of the outer pixels (GeoTIFF's PixelIsArea);
    the coordinates :meth:`xs` and :meth:`ys` give are pixel centres.
    """

    crs: int
    bbox: tuple[float, float, float, float]
    width: int
    height: int

    def __post_init__(self) -> None:
        if isinstance(self.crs, bool) or not isinstance(self.crs, int) or self.crs <= 0:
            raise ValidationError("crs", f"must be a positive EPSG code, got {self.crs!r}")
        for name in ("width", "height"):
            size = getattr(self, name)
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ValidationError(name, f"must be a whole number of pixels >= 1, got {size!r}")
        if len(self.bbox) != 4 or not all(math.isfinite(v) for v in self.bbox):
            raise ValidationError("bbox", f"must be four finite numbers, got {self.bbox!r}")
        minx, miny, maxx, maxy = self.bbox
        if not (minx < maxx and miny < maxy):
            raise ValidationError("bbox", f"must have minx < maxx and miny < maxy, got {self.bbox!r}")
        object.__setattr__(self, "bbox", (float(minx), float(miny), float(maxx), float(maxy)))

    # -- derived geometry ---------------------------------------------------------

    @property
    def resolution(self) -> tuple[float, float]:
        """Pixel size ``(dx, dy)`` in CRS units, both positive."""
        minx, miny, maxx, maxy = self.bbox
        return (maxx - minx) / self.width, (maxy - miny) / self.height

    @property
    def transform(self) -> tuple[float, float, float, float, float, float]:
        """The affine transform in rasterio / ``affine`` order: ``(dx, 0, minx, 0, -dy, maxy)``."""
        dx, dy = self.resolution
        return dx, 0.0, self.bbox[0], 0.0, -dy, self.bbox[3]

    def xs(self) -> list[float]:
        """The ``x`` of each column's pixel centre, west to east."""
        dx = self.resolution[0]
        minx = self.bbox[0]
        return [minx + (i + 0.5) * dx for i in range(self.width)]

    def ys(self) -> list[float]:
        """The ``y`` of each row's pixel centre, north to south (descending)."""
        dy = self.resolution[1]
        maxy = self.bbox[3]
        return [maxy - (j + 0.5) * dy for j in range(self.height)]

    def window(self, other: GeoRef) -> Window:
        """Where ``other`` lies in this grid, in pixels (for placing a tile in a mosaic).

        ``other`` must be in the same CRS, have the same pixel size, and start
        on a pixel edge of this grid (it may reach beyond it: the window then
        has negative offsets or runs past the edge, and the caller clips).
        """
        if other.crs != self.crs:
            raise ValidationError("georef.crs", f"EPSG:{other.crs} is not the grid's EPSG:{self.crs}")
        (dx, dy), (odx, ody) = self.resolution, other.resolution
        if not (_close(odx / dx, 1.0) and _close(ody / dy, 1.0)):
            raise ValidationError(
                "georef.resolution", f"pixel size {(odx, ody)} is not the grid's {(dx, dy)}"
            )
        col = (other.bbox[0] - self.bbox[0]) / dx
        row = (self.bbox[3] - other.bbox[3]) / dy
        for name, offset in (("x", col), ("y", row)):
            if not _close(offset, round(offset)):
                raise ValidationError(
                    "georef.bbox", f"starts {offset % 1:.3f} pixels off the grid along {name}"
                )
        return Window(round(col), round(row), other.width, other.height)

    # -- from a request ---------------------------------------------------------------

    @classmethod
    def from_request(cls, request: Any, width: int, height: int) -> GeoRef:
        """The georeferencing of the image a Process or Async Process request renders.

        ``request`` is a request model or a docs-style dict. Its extent is
        ``input.bounds.bbox``, else the bounds of ``input.bounds.geometry``
        (the service renders the geometry's bounding box and masks outside
        it); its CRS is ``input.bounds.properties.crs`` (default CRS84, which
        is EPSG:4326 with ``x`` the longitude). ``width`` and ``height`` are the
        image's size in pixels: the size the request asks for, as
        :func:`~eoclient.sentinelhub.process_models.validate_process_request`
        returns it (it turns ``resx``/``resy`` into pixels).
        """
        checked = None if isinstance(request, Mapping) else request
        wire = request if checked is None else to_wire(request)
        inp = wire.get("input") if isinstance(wire, Mapping) else None
        bounds = inp.get("bounds") if isinstance(inp, Mapping) else None
        if not isinstance(bounds, Mapping):
            raise ValidationError("input.bounds", "is required to know where the image is")
        props = bounds.get("properties")
        crs = epsg_of(
            props.get("crs") if isinstance(props, Mapping) else None, field="input.bounds.properties.crs"
        )
        bbox = bounds.get("bbox")
        if bbox is not None:
            extent = _four(bbox, "input.bounds.bbox")
        elif bounds.get("geometry") is not None:
            geometry = bounds["geometry"]
            if isinstance(geometry, Mapping) and geometry.get("type") == "Feature":
                geometry = geometry.get("geometry")
            # A model's geometry was checked when the model was made: it is not walked twice.
            extent = geometry_bounds(geometry) if checked is None else checked_geometry_bounds(geometry)
        else:
            raise ValidationError("input.bounds", "needs a bbox or a geometry to know where the image is")
        return cls(crs, extent, width, height)

    @classmethod
    def from_tile(cls, zoom: int, x: int, y: int, width: int = 256, height: int = 256) -> GeoRef:
        """The georeferencing of web-mercator tile ``(zoom, x, y)`` (EPSG:3857, ``y`` counted from the north).

        That is the XYZ scheme of web maps and of SpaceKnow Kraken's grid;
        ``width``/``height`` are the tile image's size in pixels.
        """
        for name, value in (("zoom", zoom), ("x", x), ("y", y)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(name, f"must be a whole number >= 0, got {value!r}")
        count = 1 << zoom
        if x >= count or y >= count:
            raise ValidationError(
                "tile", f"({zoom}, {x}, {y}) is outside the {count}x{count} tiles of zoom {zoom}"
            )
        size = 2 * _WEB_MERCATOR_HALF / count
        minx = -_WEB_MERCATOR_HALF + x * size
        maxy = _WEB_MERCATOR_HALF - y * size
        return cls(3857, (minx, maxy - size, minx + size, maxy), width, height)

    # -- GeoTIFF tags ---------------------------------------------------------------

    @classmethod
    def from_geotiff_tags(cls, tags: Mapping[int, Any], width: int, height: int) -> GeoRef | None:
        """The georeferencing a GeoTIFF's tags give (``None`` when it has none).

        ``tags`` maps tag codes to values: ModelPixelScaleTag (33550) with
        ModelTiepointTag (33922), or ModelTransformationTag (34264); and the
        GeoKeyDirectoryTag (34735), whose ProjectedCSTypeGeoKey (3072) or
        GeographicTypeGeoKey (2048) is the EPSG code. A PixelIsPoint raster
        (GTRasterTypeGeoKey 1025 = 2) ties pixel centres, and is shifted half a
        pixel to the edges. A rotated or south-up image, or one whose CRS has
        no EPSG code, is a :class:`~eoclient.errors.ValidationError` naming the tag.
        """
        keys = _geo_keys(tags.get(GEO_KEY_DIRECTORY))
        scale, tiepoint = tags.get(MODEL_PIXEL_SCALE), tags.get(MODEL_TIEPOINT)
        matrix = tags.get(MODEL_TRANSFORMATION)
        if keys is None and scale is None and matrix is None:
            return None
        if keys is None:
            raise ValidationError("GeoKeyDirectoryTag", "is missing: the image's CRS is not known")
        code = keys.get(_PROJECTED_TYPE) or keys.get(_GEOGRAPHIC_TYPE)
        if not code or code == _USER_DEFINED:
            raise ValidationError(
                "GeoKeyDirectoryTag", "names no EPSG code (ProjectedCSTypeGeoKey / GeographicTypeGeoKey)"
            )
        if matrix is not None:
            m = [float(v) for v in matrix]
            if len(m) != 16:
                raise ValidationError("ModelTransformationTag", f"needs 16 numbers, got {len(m)}")
            dx, rot_x, left, rot_y, neg_dy, top = m[0], m[1], m[3], m[4], m[5], m[7]
            if rot_x or rot_y:
                raise ValidationError("ModelTransformationTag", "describes a rotated image")
            dy = -neg_dy
        elif scale is not None and tiepoint is not None:
            s, t = [float(v) for v in scale], [float(v) for v in tiepoint]
            if len(s) < 2 or len(t) < 6:
                raise ValidationError("ModelTiepointTag", "needs six numbers and a pixel scale of two")
            dx, dy = s[0], s[1]
            left, top = t[3] - t[0] * dx, t[4] + t[1] * dy
        else:
            missing = "ModelTiepointTag" if tiepoint is None else "ModelPixelScaleTag"
            raise ValidationError(missing, "is missing: the image's position is not known")
        if not (dx > 0 and dy > 0):
            raise ValidationError(
                "ModelPixelScaleTag", f"pixel size ({dx}, {dy}) is not that of a north-up image"
            )
        if keys.get(_RASTER_TYPE) == _PIXEL_IS_POINT:
            left, top = left - dx / 2, top + dy / 2
        return cls(int(code), (left, top - height * dy, left + width * dx, top), width, height)

    @property
    def is_geographic(self) -> bool:
        """Whether the CRS is WGS84 longitude/latitude (EPSG:4326)."""
        return self.crs == 4326

    @property
    def in_metres(self) -> bool:
        """Whether the CRS is known to be in metres (EPSG:3857, the WGS84 UTM zones)."""
        return self.crs == 3857 or utm_zone_of(self.crs) is not None

    def geotiff_tags(self) -> dict[int, tuple[float, ...] | tuple[int, ...]]:
        """The GeoTIFF tags that georeference this image (the inverse of :meth:`from_geotiff_tags`).

        ModelPixelScaleTag, ModelTiepointTag (pixel (0, 0) at the north-west
        corner) and a GeoKeyDirectoryTag with the model type, PixelIsArea and
        the EPSG code.
        """
        dx, dy = self.resolution
        minx, _, _, maxy = self.bbox
        model, key = (2, _GEOGRAPHIC_TYPE) if self.is_geographic else (1, _PROJECTED_TYPE)
        entries = ((_MODEL_TYPE, model), (_RASTER_TYPE, 1), (key, self.crs))
        directory: list[int] = [1, 1, 0, len(entries)]
        for geokey, value in entries:
            directory += [geokey, 0, 1, value]
        return {
            MODEL_PIXEL_SCALE: (dx, dy, 0.0),
            MODEL_TIEPOINT: (0.0, 0.0, 0.0, minx, maxy, 0.0),
            GEO_KEY_DIRECTORY: tuple(directory),
        }

    # -- CF / GDAL attributes ---------------------------------------------------------

    def gdal_geotransform(self) -> str:
        """GDAL's ``GeoTransform`` text, ``"c a b f d e"`` (origin x, dx, 0, origin y, 0, -dy)."""
        a, b, c, d, e, f = self.transform
        return " ".join(_num(v) for v in (c, a, b, f, d, e))

    def cf_crs_attrs(self) -> dict[str, Any]:
        """The attributes of a ``spatial_ref`` coordinate: what rioxarray and GDAL read a CRS from.

        ``crs_wkt`` and ``spatial_ref`` hold the CRS's WKT for EPSG:4326, 3857
        and the WGS84 UTM zones (326xx/327xx), with the CF grid-mapping
        parameters; for other codes they hold ``"EPSG:n"``, which rioxarray
        (through pyproj) also reads. ``GeoTransform`` is the transform as GDAL
        writes it.
        """
        attrs: dict[str, Any] = dict(_cf_grid_mapping(self.crs))
        wkt = crs_wkt(self.crs)
        attrs["crs_wkt"] = wkt
        attrs["spatial_ref"] = wkt
        attrs["GeoTransform"] = self.gdal_geotransform()
        return attrs


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _GRID_TOLERANCE * max(1.0, abs(b))


def _num(value: float) -> str:
    """A number as GDAL prints it: integers without a decimal point, others in full precision."""
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def _four(value: Any, field: str) -> tuple[float, float, float, float]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or len(value) != 4:
        raise ValidationError(field, f"must be four numbers, got {value!r}")
    try:
        minx, miny, maxx, maxy = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValidationError(field, f"must be four numbers, got {value!r}") from None
    return minx, miny, maxx, maxy


def _geo_keys(directory: Any) -> dict[int, int] | None:
    """GeoKey id -> short value of a GeoKeyDirectoryTag (keys stored in other tags are left out)."""
    if directory is None:
        return None
    values = [int(v) for v in directory]
    if len(values) < 4:
        raise ValidationError("GeoKeyDirectoryTag", f"has {len(values)} numbers, fewer than its header")
    count = values[3]
    if len(values) < 4 + 4 * count:
        raise ValidationError("GeoKeyDirectoryTag", f"announces {count} keys and holds fewer")
    keys: dict[int, int] = {}
    for i in range(count):
        geokey, location, _, value = values[4 + 4 * i : 8 + 4 * i]
        if location == 0:  # a SHORT value in the directory itself
            keys[geokey] = value
    return keys


# -- well-known text ------------------------------------------------------------------

_WGS84_GEOGCS: Final = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]]{axes},'
    'AUTHORITY["EPSG","4326"]]'
)
_METRE_EN: Final = 'UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH]'
_WGS84_A: Final = 6378137.0
_WGS84_INV_F: Final = 298.257223563


def crs_wkt(code: int) -> str:
    """WKT (version 1, as GDAL writes it) of EPSG:4326, 3857 and the WGS84 UTM zones; else ``"EPSG:n"``."""
    if code == 4326:
        return _WGS84_GEOGCS.format(axes=',AXIS["Latitude",NORTH],AXIS["Longitude",EAST]')
    geogcs = _WGS84_GEOGCS.format(axes="")
    if code == 3857:
        return (
            f'PROJCS["WGS 84 / Pseudo-Mercator",{geogcs},PROJECTION["Mercator_1SP"],'
            'PARAMETER["central_meridian",0],PARAMETER["scale_factor",1],PARAMETER["false_easting",0],'
            f'PARAMETER["false_northing",0],{_METRE_EN},'
            'EXTENSION["PROJ4","+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 '
            '+k=1 +units=m +nadgrids=@null +wktext +no_defs"],AUTHORITY["EPSG","3857"]]'
        )
    utm = utm_zone_of(code)
    if utm is not None:
        zone, south = utm
        return (
            f'PROJCS["WGS 84 / UTM zone {zone}{"S" if south else "N"}",{geogcs},'
            'PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],'
            f'PARAMETER["central_meridian",{_central_meridian(zone)}],PARAMETER["scale_factor",0.9996],'
            f'PARAMETER["false_easting",500000],PARAMETER["false_northing",{10_000_000 if south else 0}],'
            f'{_METRE_EN},AUTHORITY["EPSG","{code}"]]'
        )
    return f"EPSG:{code}"


def _central_meridian(zone: int) -> int:
    return zone * 6 - 183


def _cf_grid_mapping(code: int) -> dict[str, Any]:
    """CF-conventions grid-mapping attributes of the CRSs eoclient writes WKT for (else none)."""
    ellipsoid = {
        "semi_major_axis": _WGS84_A,
        "inverse_flattening": _WGS84_INV_F,
        "longitude_of_prime_meridian": 0.0,
    }
    if code == 4326:
        return {"grid_mapping_name": "latitude_longitude", **ellipsoid}
    if code == 3857:
        return {
            "grid_mapping_name": "mercator",
            "semi_major_axis": _WGS84_A,
            "semi_minor_axis": _WGS84_A,
            "longitude_of_prime_meridian": 0.0,
            "longitude_of_projection_origin": 0.0,
            "standard_parallel": 0.0,
            "false_easting": 0.0,
            "false_northing": 0.0,
        }
    utm = utm_zone_of(code)
    if utm is not None:
        zone, south = utm
        return {
            "grid_mapping_name": "transverse_mercator",
            **ellipsoid,
            "latitude_of_projection_origin": 0.0,
            "longitude_of_central_meridian": float(_central_meridian(zone)),
            "scale_factor_at_central_meridian": 0.9996,
            "false_easting": 500000.0,
            "false_northing": 10_000_000.0 if south else 0.0,
        }
    return {}
