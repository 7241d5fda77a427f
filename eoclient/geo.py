"""Geometries, bounding boxes and coordinate reference systems, as both services take them.

Geometries are accepted as GeoJSON dicts or any object with
``__geo_interface__`` (shapely, geopandas rows, pygeoif...); nothing here needs
a geometry library. CRSs are accepted as EPSG codes (``4326``, ``"EPSG:32633"``)
or the OGC URLs Sentinel Hub uses on the wire.

Everything is checked before it is sent, and a mistake is a
:class:`~eoclient.errors.ValidationError` naming where it is
(``input.bounds.geometry.coordinates[0][2][1]``): the GeoJSON structure (rings
closed, with at least four positions; positions of two or three finite
numbers), and coordinates against the valid range of their CRS where eoclient
knows it (:func:`crs_extent`: WGS84 longitude/latitude, UTM zones). A Feature
where a geometry is expected stands for its geometry, as does a
FeatureCollection of exactly one Feature (a geopandas row or one-row
GeoDataFrame); a FeatureCollection of several features is refused, since which
geometry was meant is not clear.

UTM helpers (pure Python, no projection library): :func:`utm_zone`,
:func:`utm_crs`, :func:`wgs84_to_utm` / :func:`utm_to_wgs84` (Krüger series,
nanometre-level), :func:`to_utm_bbox`, and sentinelhub-py's
:func:`bbox_to_dimensions` / :func:`bbox_to_resolution` (sizes in metres).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from eoclient.errors import ValidationError

__all__ = [
    "CRS84",
    "BBox",
    "as_geojson",
    "bbox_of",
    "bbox_to_dimensions",
    "bbox_to_resolution",
    "checked_geometry_bounds",
    "crs_extent",
    "crs_url",
    "geometry_bounds",
    "is_utm",
    "to_utm_bbox",
    "utm_crs",
    "utm_to_wgs84",
    "utm_zone",
    "utm_zone_of",
    "wgs84_to_utm",
]

CRS84: Final = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_EPSG_URL: Final = "http://www.opengis.net/def/crs/EPSG/0/{code}"
_EPSG_RE: Final = re.compile(r"^(?:EPSG:)?(\d{4,6})$", re.I)
_URL_RE: Final = re.compile(r"^https?://www\.opengis\.net/def/crs/(EPSG/0/\d+|OGC/1\.3/CRS84)$")
_GEOMETRY_TYPES: Final = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"}
)


def crs_url(crs: int | str | None, *, field: str = "crs") -> str:
    """The OGC URL for a CRS given as an EPSG code, ``"EPSG:n"``, ``"CRS84"`` or a URL."""
    if type(crs) is str or type(crs) is int:  # read three or four times a request, for the same few CRSs
        return _known_crs_url(crs, field)
    return _crs_url(crs, field)


@functools.lru_cache(maxsize=256)
def _known_crs_url(crs: int | str, field: str) -> str:
    return _crs_url(crs, field)  # a refusal raises, and is not kept


def _crs_url(crs: int | str | None, field: str) -> str:
    if crs is None:
        return CRS84
    if isinstance(crs, bool):
        raise ValidationError(field, f"not a CRS: {crs!r}")
    if isinstance(crs, int):
        return CRS84 if crs == 4326 else _EPSG_URL.format(code=crs)
    text = crs.strip()
    if text.upper() in {"CRS84", "WGS84", "OGC:CRS84"}:
        return CRS84
    if _URL_RE.match(text):
        return text
    match = _EPSG_RE.match(text)
    if match:
        code = int(match.group(1))
        return CRS84 if code == 4326 else _EPSG_URL.format(code=code)
    raise ValidationError(field, f"not a CRS Sentinel Hub understands: {crs!r}")


_EPSG_4326: Final = _EPSG_URL.format(code=4326)
_WGS84_EXTENT: Final = (-180.0, -90.0, 180.0, 90.0)
_UTM_EXTENT: Final = (0.0, 0.0, 1_000_000.0, 10_000_000.0)


def crs_extent(crs: int | str | None) -> tuple[float, float, float, float] | None:
    """Where coordinates in ``crs`` can lie, ``(min_x, min_y, max_x, max_y)``; ``None``: not known.

    WGS84 (CRS84, EPSG:4326; longitude first, as Sentinel Hub reads both):
    ``(-180, -90, 180, 90)``. A UTM zone (EPSG 326xx/327xx): eastings and
    northings in metres from 0 to 1,000 km and 10,000 km. UTM coordinates are
    never negative by design (500 km false easting, 10,000 km false northing
    south of the equator), a pole is less than 10,000 km north, and 1,000 km
    easting is already 1.5 degrees outside the zone at the equator.

    >>> crs_extent(4326)
    (-180.0, -90.0, 180.0, 90.0)
    >>> crs_extent("EPSG:3857") is None
    True
    """
    url = crs_url(crs)
    if url in (CRS84, _EPSG_4326):
        return _WGS84_EXTENT
    if utm_zone_of(url) is not None:
        return _UTM_EXTENT
    return None


@dataclass(frozen=True, slots=True)
class _Range:
    """The valid range of a CRS, with the names of its axes for messages."""

    extent: tuple[float, float, float, float]
    axes: tuple[str, str]
    label: str

    def check(self, value: float, axis: int, field: str) -> None:
        low, high = self.extent[axis], self.extent[axis + 2]
        if not low <= value <= high:
            raise ValidationError(
                field,
                f"{self.axes[axis]} {_num(value)} is outside [{_num(low)}, {_num(high)}] ({self.label})",
            )


def _num(value: float) -> str:
    """``95`` and ``1000000`` rather than ``95.0`` and ``1e+06``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _range_of(crs: int | str | None, field: str) -> _Range | None:
    """The range to check coordinates in ``crs`` against (``None``: not known, not checked)."""
    if crs is None:
        return None
    return _range_of_url(crs_url(crs, field=field))


@functools.lru_cache(maxsize=64)  # a handful of CRSs, and every bbox and geometry check asks
def _range_of_url(url: str) -> _Range | None:
    extent = crs_extent(url)
    if extent is None:
        return None
    if extent is _WGS84_EXTENT:
        return _Range(extent, ("longitude", "latitude"), "WGS84")
    code = url.rsplit("/", 1)[1]
    return _Range(extent, ("easting", "northing"), f"UTM, EPSG:{code}, in metres")


_URN_RE: Final = re.compile(r"^urn:ogc:def:crs:(?:EPSG:[\d.]*:(\d{4,6})|OGC:1\.3:(CRS84))$", re.I)


def _member_crs(geometry: Mapping[str, Any], default: int | str | None) -> int | str | None:
    """The CRS a GeoJSON-2008 ``crs`` member names (``None``: named but not understood), else ``default``."""
    member = geometry.get("crs")
    if member is None:
        return default
    name = member.get("properties", {}).get("name") if isinstance(member, Mapping) else None
    if not isinstance(name, str):
        return None
    urn = _URN_RE.match(name.strip())
    if urn:
        return CRS84 if urn.group(2) else int(urn.group(1))
    try:
        return crs_url(name)
    except ValidationError:
        return None


def as_geojson(
    geometry: Any, *, field: str = "geometry", crs: int | str | None = CRS84, own_crs: bool = False
) -> dict[str, Any]:
    """A checked GeoJSON geometry dict from a dict, a Feature, or an object with ``__geo_interface__``.

    The structure is checked (see the module docstring), and the coordinates
    against the range of ``crs`` (default WGS84, as GeoJSON is; ``None``: the
    CRS is not known, ranges are not checked). With ``own_crs``, a GeoJSON-2008
    ``crs`` member of the geometry (``{"type": "name", "properties": {"name":
    "urn:ogc:def:crs:EPSG::32633"}}``) says the CRS instead. A Feature stands
    for its geometry, a FeatureCollection of one Feature for that Feature's.
    """
    if hasattr(geometry, "__geo_interface__"):
        geometry = geometry.__geo_interface__
    if not isinstance(geometry, Mapping):
        raise ValidationError(field, f"expected a GeoJSON geometry, got {type(geometry).__name__}")
    geometry, field = _unwrap(geometry, field)
    if own_crs:
        crs = _member_crs(geometry, crs)
    _check_geometry(geometry, field, _range_of(crs, field), top=True)
    out: dict[str, Any] = _plain(geometry)
    return out


def _unwrap(geometry: Mapping[str, Any], field: str) -> tuple[Mapping[str, Any], str]:
    """The geometry of a Feature (or of a FeatureCollection's only Feature), and where it is."""
    kind = geometry.get("type")
    if kind == "FeatureCollection":
        features = geometry.get("features")
        count = len(features) if isinstance(features, Sequence) and not isinstance(features, str) else 0
        if count != 1 or not isinstance(features, Sequence):
            raise ValidationError(
                field,
                f"a FeatureCollection of {count} features where one geometry is expected: "
                "give one feature's geometry (or their union)",
            )
        geometry, field, kind = features[0], f"{field}.features[0]", "Feature"
        if not isinstance(geometry, Mapping) or geometry.get("type") != "Feature":
            raise ValidationError(field, "expected a GeoJSON Feature")
    if kind == "Feature":
        inner = geometry.get("geometry")
        field = f"{field}.geometry"
        if inner is None:
            raise ValidationError(field, "the Feature has no geometry")
        if not isinstance(inner, Mapping) or inner.get("type") not in _GEOMETRY_TYPES:
            raise ValidationError(field, "a Feature's geometry must be a GeoJSON geometry")
        return inner, field
    return geometry, field


def _check_geometry(geometry: Any, field: str, rng: _Range | None, *, top: bool = False) -> None:
    if not isinstance(geometry, Mapping):
        raise ValidationError(field, f"expected a GeoJSON geometry, got {type(geometry).__name__}")
    kind = geometry.get("type")
    if kind not in _GEOMETRY_TYPES:
        hint = (
            " (a Feature is taken only where a geometry is expected)" if kind == "Feature" and not top else ""
        )
        raise ValidationError(field, f"unknown GeoJSON geometry type {kind!r}{hint}")
    if kind == "GeometryCollection":
        members = geometry.get("geometries")
        if not isinstance(members, Sequence) or isinstance(members, str):
            raise ValidationError(field, "a GeometryCollection needs 'geometries'")
        for i, member in enumerate(members):
            _check_geometry(member, f"{field}.geometries[{i}]", rng)
        return
    coords = geometry.get("coordinates")
    if not isinstance(coords, Sequence) or isinstance(coords, str) or len(coords) == 0:
        raise ValidationError(field, "empty or missing 'coordinates'")
    where = f"{field}.coordinates"
    if kind == "Point":
        _position(coords, where, rng)
    elif kind == "MultiPoint":
        for i, position in enumerate(_array(coords, where)):
            _position(position, f"{where}[{i}]", rng)
    elif kind == "LineString":
        _line(coords, where, rng)
    elif kind == "MultiLineString":
        for i, line in enumerate(_array(coords, where)):
            _line(line, f"{where}[{i}]", rng)
    elif kind == "Polygon":
        _polygon(coords, where, rng)
    else:  # MultiPolygon
        for i, polygon in enumerate(_array(coords, where)):
            _polygon(polygon, f"{where}[{i}]", rng)


def _array(value: Any, field: str) -> Sequence[Any]:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise ValidationError(field, f"expected an array, got {type(value).__name__}")
    return value


def _position(value: Any, field: str, rng: _Range | None) -> None:
    position = _array(value, field)
    if not 2 <= len(position) <= 3:
        raise ValidationError(field, f"a position is [x, y] or [x, y, z], got {len(position)} values")
    for i, v in enumerate(position):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValidationError(f"{field}[{i}]", f"coordinates must be numbers, got {type(v).__name__}")
        if not math.isfinite(v):
            raise ValidationError(f"{field}[{i}]", f"coordinates must be finite numbers, got {v!r}")
    if rng is not None:
        rng.check(float(position[0]), 0, f"{field}[0]")
        rng.check(float(position[1]), 1, f"{field}[1]")


def _line(value: Any, field: str, rng: _Range | None) -> None:
    positions = _array(value, field)
    if len(positions) < 2:
        raise ValidationError(field, f"a LineString needs at least two positions, got {len(positions)}")
    for i, position in enumerate(positions):
        _position(position, f"{field}[{i}]", rng)


def _polygon(value: Any, field: str, rng: _Range | None) -> None:
    rings = _array(value, field)
    if not rings:
        raise ValidationError(field, "a Polygon needs at least one ring")
    for i, ring in enumerate(rings):
        where = f"{field}[{i}]"
        positions = _array(ring, where)
        if len(positions) < 4:
            raise ValidationError(
                where,
                f"a ring needs at least four positions (the first repeated last), got {len(positions)}",
            )
        for j, position in enumerate(positions):
            _position(position, f"{where}[{j}]", rng)
        if list(positions[0]) != list(positions[-1]):
            raise ValidationError(
                where,
                f"the ring is not closed: its last position must repeat the first, {list(positions[0])}",
            )


def _plain(value: Any) -> Any:
    """Tuples (from __geo_interface__) become lists, mappings become dicts: JSON-ready."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _positions(coords: Any) -> list[Sequence[float]]:
    """The positions (innermost coordinate lists) of nested GeoJSON coordinates."""
    if coords and isinstance(coords[0], int | float):
        return [coords]
    out: list[Sequence[float]] = []
    for sub in coords:
        out.extend(_positions(sub))
    return out


def geometry_bounds(geometry: Any) -> tuple[float, float, float, float]:
    """``(min_x, min_y, max_x, max_y)`` of a GeoJSON geometry (structure checked, not CRS range)."""
    return checked_geometry_bounds(as_geojson(geometry, crs=None))


def checked_geometry_bounds(geometry: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """:func:`geometry_bounds` of a geometry :func:`as_geojson` already checked (not checked again)."""
    xs: list[float] = []
    ys: list[float] = []
    stack = [geometry]
    while stack:
        part = stack.pop()
        if part["type"] == "GeometryCollection":
            stack.extend(part["geometries"])
            continue
        # Positions, not a flat list: a 3D position (x, y, z) must not shift the axes.
        for position in _positions(part["coordinates"]):
            xs.append(float(position[0]))
            ys.append(float(position[1]))
    if not xs:
        raise ValidationError("geometry", "has no coordinates")
    return min(xs), min(ys), max(xs), max(ys)


@dataclass(frozen=True, slots=True)
class BBox:
    """An axis-aligned box ``(min_x, min_y, max_x, max_y)`` in ``crs`` (default WGS84 lon/lat)."""

    min_x: float
    min_y: float
    max_x: float
    max_y: float
    crs: str = CRS84

    def __post_init__(self) -> None:
        object.__setattr__(self, "crs", crs_url(self.crs, field="bbox.crs"))
        validate_bbox((self.min_x, self.min_y, self.max_x, self.max_y), field="bbox", crs=self.crs)

    def as_list(self) -> list[float]:
        """``[min_x, min_y, max_x, max_y]`` as on the wire."""
        return [self.min_x, self.min_y, self.max_x, self.max_y]

    @property
    def __geo_interface__(self) -> dict[str, Any]:
        x0, y0, x1, y1 = self.as_list()
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        return {"type": "Polygon", "coordinates": [ring]}


def validate_bbox(
    values: Sequence[Any], *, field: str = "bbox", crs: int | str | None = CRS84
) -> list[float]:
    """Check four finite numbers with min < max on both axes, within the range of ``crs``.

    ``crs`` is the box's CRS (default WGS84); ``None`` when it is not known.
    """
    if type(values) is not list and (isinstance(values, str | bytes) or not isinstance(values, Sequence)):
        raise ValidationError(field, "expected four numbers [min_x, min_y, max_x, max_y]")
    if len(values) != 4:
        raise ValidationError(field, "expected four numbers [min_x, min_y, max_x, max_y]")
    nums: list[float] = []
    for i, v in enumerate(values):
        # Exact types first (every request has a bbox); bool is an int subclass and is refused.
        plain = type(v) is float or type(v) is int
        if not (plain or (not isinstance(v, bool) and isinstance(v, int | float))) or not math.isfinite(v):
            raise ValidationError(f"{field}[{i}]", f"must be a finite number, got {v!r}")
        nums.append(float(v))
    rng = _range_of(crs, field)
    if rng is not None:
        for i, v in enumerate(nums):
            rng.check(v, i % 2, f"{field}[{i}]")
    if nums[0] > nums[2]:
        raise ValidationError(field, f"min_x {nums[0]} is greater than max_x {nums[2]}")
    if nums[1] > nums[3]:
        raise ValidationError(field, f"min_y {nums[1]} is greater than max_y {nums[3]}")
    if nums[0] == nums[2] or nums[1] == nums[3]:
        raise ValidationError(field, "is empty (zero width or height)")
    return nums


def bbox_of(value: Any, *, field: str = "bbox", crs: int | str | None = CRS84) -> list[float]:
    """``[min_x, min_y, max_x, max_y]`` from a :class:`BBox`, a 4-sequence, or anything with bounds.

    A :class:`BBox` was checked in its own CRS; anything else is checked in ``crs``
    (default WGS84; ``None``: not known).
    """
    if isinstance(value, BBox):
        return value.as_list()
    if hasattr(value, "bounds") and not isinstance(value, Sequence):
        return validate_bbox(list(value.bounds), field=field, crs=crs)
    return validate_bbox(value, field=field, crs=crs)


# -- UTM -------------------------------------------------------------------------------
#
# WGS84 <-> UTM with Krüger's series for the transverse Mercator projection, to sixth
# order in the third flattening n (C. F. F. Karney, "Transverse Mercator with an accuracy
# of a few nanometers", J. Geodesy 85 (2011)): within a zone (and well beyond it) the
# error is far below a millimetre, so no projection library is needed.

_WGS84_A: Final = 6378137.0
_WGS84_F: Final = 1 / 298.257223563
_UTM_K0: Final = 0.9996
_UTM_FALSE_EASTING: Final = 500_000.0
_UTM_FALSE_NORTHING_SOUTH: Final = 10_000_000.0


def _kruger_constants() -> tuple[float, float, tuple[float, ...], tuple[float, ...]]:
    """Eccentricity, rectifying radius x k0, and the forward (alpha) and inverse (beta) series."""
    n = _WGS84_F / (2 - _WGS84_F)
    e = math.sqrt(_WGS84_F * (2 - _WGS84_F))
    n2, n3, n4, n5, n6 = n**2, n**3, n**4, n**5, n**6
    radius = _WGS84_A / (1 + n) * (1 + n2 / 4 + n4 / 64 + n6 / 256)
    alpha = (
        n / 2 - 2 * n2 / 3 + 5 * n3 / 16 + 41 * n4 / 180 - 127 * n5 / 288 + 7891 * n6 / 37800,
        13 * n2 / 48 - 3 * n3 / 5 + 557 * n4 / 1440 + 281 * n5 / 630 - 1983433 * n6 / 1935360,
        61 * n3 / 240 - 103 * n4 / 140 + 15061 * n5 / 26880 + 167603 * n6 / 181440,
        49561 * n4 / 161280 - 179 * n5 / 168 + 6601661 * n6 / 7257600,
        34729 * n5 / 80640 - 3418889 * n6 / 1995840,
        212378941 * n6 / 319334400,
    )
    beta = (
        n / 2 - 2 * n2 / 3 + 37 * n3 / 96 - n4 / 360 - 81 * n5 / 512 + 96199 * n6 / 604800,
        n2 / 48 + n3 / 15 - 437 * n4 / 1440 + 46 * n5 / 105 - 1118711 * n6 / 3870720,
        17 * n3 / 480 - 37 * n4 / 840 - 209 * n5 / 4480 + 5569 * n6 / 90720,
        4397 * n4 / 161280 - 11 * n5 / 504 - 830251 * n6 / 7257600,
        4583 * n5 / 161280 - 108847 * n6 / 3991680,
        20648693 * n6 / 638668800,
    )
    return e, _UTM_K0 * radius, alpha, beta


_E, _K0_RADIUS, _ALPHA, _BETA = _kruger_constants()


def utm_zone(lon: float, lat: float) -> int:
    """The UTM zone (1..60) of a WGS84 point: 6° bands from 180°W (no Norway/Svalbard exceptions).

    ``lat`` is checked but does not change the zone. ``lon`` is wrapped into [-180, 180).
    """
    _check_lon_lat(lon, lat)
    wrapped = (lon + 180.0) % 360.0 - 180.0
    return min(int((wrapped + 180.0) // 6) + 1, 60)


def utm_crs(lon: float, lat: float) -> int:
    """The EPSG code of the UTM zone of a WGS84 point: ``326zz`` north of the equator, ``327zz`` south.

    >>> utm_crs(14.5, 46.0), utm_crs(-46.6, -23.5)
    (32633, 32723)
    """
    return (32600 if lat >= 0 else 32700) + utm_zone(lon, lat)


def utm_zone_of(crs: int | str) -> tuple[int, bool] | None:
    """``(zone, south)`` of a UTM CRS given as an EPSG code, ``"EPSG:n"`` or URL; ``None`` otherwise."""
    url = crs_url(crs)
    if url == CRS84:
        return None
    code = int(url.rsplit("/", 1)[1])
    if 32601 <= code <= 32660:
        return code - 32600, False
    if 32701 <= code <= 32760:
        return code - 32700, True
    return None


def _check_lon_lat(lon: float, lat: float) -> None:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValidationError("lon/lat", f"must be finite numbers, got ({lon!r}, {lat!r})")
    if not -90.0 <= lat <= 90.0:
        raise ValidationError("lat", f"must be between -90 and 90, got {lat!r}")


def _utm_target(crs: int | str | None, lon: float, lat: float) -> tuple[int, bool]:
    if crs is None:
        return utm_zone(lon, lat), lat < 0
    zone = utm_zone_of(crs)
    if zone is None:
        raise ValidationError("crs", f"not a UTM CRS (EPSG 326xx/327xx): {crs!r}")
    return zone


def wgs84_to_utm(lon: float, lat: float, crs: int | str | None = None) -> tuple[float, float]:
    """``(easting, northing)`` in metres of a WGS84 point in ``crs`` (default: the point's own zone).

    >>> e, n = wgs84_to_utm(9.0, 0.0)  # on the central meridian of zone 32
    >>> round(e, 6), round(n, 6)
    (500000.0, 0.0)
    """
    _check_lon_lat(lon, lat)
    zone, south = _utm_target(crs, lon, lat)
    if abs(lat) == 90.0:
        # The pole: on the central meridian whatever the longitude.
        lon = zone * 6.0 - 183.0
    lam = math.radians((lon - (zone * 6.0 - 183.0) + 180.0) % 360.0 - 180.0)
    phi = math.radians(lat)
    # Conformal latitude, as its tangent: t = sinh(atanh(sin phi) - e atanh(e sin phi)).
    sin_phi = math.sin(phi)
    t = math.sinh(math.atanh(sin_phi) - _E * math.atanh(_E * sin_phi)) if abs(lat) < 90.0 else math.inf
    cos_lam = math.cos(lam)
    xi_p = math.atan2(t, cos_lam) if math.isfinite(t) else math.copysign(math.pi / 2, lat)
    eta_p = math.asinh(math.sin(lam) / math.hypot(t, cos_lam)) if math.isfinite(t) else 0.0
    xi, eta = xi_p, eta_p
    for j, a in enumerate(_ALPHA, start=1):
        xi += a * math.sin(2 * j * xi_p) * math.cosh(2 * j * eta_p)
        eta += a * math.cos(2 * j * xi_p) * math.sinh(2 * j * eta_p)
    easting = _UTM_FALSE_EASTING + _K0_RADIUS * eta
    northing = _K0_RADIUS * xi + (_UTM_FALSE_NORTHING_SOUTH if south else 0.0)
    return easting, northing


def utm_to_wgs84(easting: float, northing: float, crs: int | str) -> tuple[float, float]:
    """``(lon, lat)`` in degrees of a point given in metres in the UTM ``crs``.

    >>> lon, lat = utm_to_wgs84(500000.0, 0.0, 32632)
    >>> round(lon, 9), round(lat, 9)
    (9.0, 0.0)
    """
    if not (math.isfinite(easting) and math.isfinite(northing)):
        raise ValidationError("easting/northing", f"must be finite numbers, got ({easting!r}, {northing!r})")
    zone = utm_zone_of(crs)
    if zone is None:
        raise ValidationError("crs", f"not a UTM CRS (EPSG 326xx/327xx): {crs!r}")
    number, south = zone
    xi = (northing - (_UTM_FALSE_NORTHING_SOUTH if south else 0.0)) / _K0_RADIUS
    eta = (easting - _UTM_FALSE_EASTING) / _K0_RADIUS
    xi_p, eta_p = xi, eta
    for j, b in enumerate(_BETA, start=1):
        xi_p -= b * math.sin(2 * j * xi) * math.cosh(2 * j * eta)
        eta_p -= b * math.cos(2 * j * xi) * math.sinh(2 * j * eta)
    sinh_eta, cos_xi = math.sinh(eta_p), math.cos(xi_p)
    tau_p = math.sin(xi_p) / math.hypot(sinh_eta, cos_xi)
    lam = math.atan2(sinh_eta, cos_xi)
    tau = _tau_of_conformal(tau_p)
    lat = math.degrees(math.atan(tau))
    lon = (math.degrees(lam) + number * 6.0 - 183.0 + 180.0) % 360.0 - 180.0
    return lon, lat


def _tau_of_conformal(tau_p: float) -> float:
    """tan(phi) from the tangent of the conformal latitude, by Newton's method (Karney 2011, eq. 19-21)."""
    e2 = _E * _E
    one_minus_e2 = 1 - e2
    tau = tau_p
    for _ in range(8):
        root = math.hypot(1.0, tau)
        sigma = math.sinh(_E * math.atanh(_E * tau / root))
        tau_p_of_tau = tau * math.hypot(1.0, sigma) - sigma * root
        step = (
            (tau_p - tau_p_of_tau)
            / (one_minus_e2 * math.hypot(1.0, tau_p_of_tau) * root)
            * (1 + one_minus_e2 * tau * tau)
        )
        tau += step
        if abs(step) <= 1e-14 * max(1.0, abs(tau)):
            break
    return tau


def is_utm(crs: int | str) -> bool:
    """Whether ``crs`` is a WGS84 UTM zone (EPSG 326xx/327xx)."""
    return utm_zone_of(crs) is not None


def _as_bbox(bbox: Any) -> BBox:
    if isinstance(bbox, BBox):
        return bbox
    x0, y0, x1, y1 = bbox_of(bbox)
    return BBox(x0, y0, x1, y1)


def to_utm_bbox(bbox: Any) -> BBox:
    """The box in the UTM zone of its centre, in metres (a UTM box is returned as it is).

    ``bbox`` is a :class:`BBox` in WGS84 or UTM, or ``[min_lon, min_lat, max_lon, max_lat]``.
    As sentinelhub-py does, the lower-left and upper-right corners are transformed.

    >>> to_utm_bbox([14.0, 46.0, 14.1, 46.1]).crs
    'http://www.opengis.net/def/crs/EPSG/0/32633'
    """
    box = _as_bbox(bbox)
    if is_utm(box.crs):
        return box
    if box.crs != CRS84:
        raise ValidationError("bbox.crs", f"only WGS84 and UTM boxes can be converted here, got {box.crs}")
    code = utm_crs((box.min_x + box.max_x) / 2, (box.min_y + box.max_y) / 2)
    x0, y0 = wgs84_to_utm(box.min_x, box.min_y, code)
    x1, y1 = wgs84_to_utm(box.max_x, box.max_y, code)
    return BBox(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1), crs=crs_url(code))


def bbox_to_dimensions(bbox: Any, resolution: float | tuple[float, float]) -> tuple[int, int]:
    """``(width, height)`` in pixels of ``bbox`` at ``resolution`` metres (one number or ``(x, y)``).

    A WGS84 box is measured in the UTM zone of its centre (see :func:`to_utm_bbox`);
    sizes are rounded to the nearest pixel, like sentinelhub-py's.

    >>> bbox_to_dimensions([14.0, 46.0, 14.1, 46.1], 10)
    (787, 1102)
    """
    resx, resy = resolution if isinstance(resolution, tuple) else (resolution, resolution)
    for name, res in (("resolution[0]", resx), ("resolution[1]", resy)):
        if isinstance(res, bool) or not isinstance(res, int | float) or not (math.isfinite(res) and res > 0):
            raise ValidationError(name, f"must be a positive number of metres, got {res!r}")
    box = to_utm_bbox(bbox)
    return round((box.max_x - box.min_x) / resx), round((box.max_y - box.min_y) / resy)


def bbox_to_resolution(bbox: Any, width: int, height: int) -> tuple[float, float]:
    """``(resx, resy)`` in metres of ``bbox`` rendered at ``width`` x ``height`` pixels."""
    for name, size in (("width", width), ("height", height)):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValidationError(name, f"must be a positive number of pixels, got {size!r}")
    box = to_utm_bbox(bbox)
    return (box.max_x - box.min_x) / width, (box.max_y - box.min_y) / height
