"""Grid tiles of the emulated Kraken: web-mercator tile math and real file formats, no imaging library.

Every file is deterministic for its map, tile and options, and consistent
within a tile: the detections of ``detections.geojson`` are the rectangles
painted into ``segmentation.png`` and the class PNGs.

* PNG: signature, ``IHDR``, one zlib ``IDAT``, ``IEND``, each chunk with its
  CRC; 256 x 256 RGB (``truecolor``), RGBA (class masks) or 8-bit grey (pixel
  indices, binarised by ``user_threshold``).
* GeoTIFF: a little-endian baseline TIFF, one uncompressed strip, with
  ``ModelPixelScale``, ``ModelTiepoint`` and a ``GeoKeyDirectory`` for
  EPSG:3857; ``analysis`` is one float32 band, ``visualization`` 8-bit RGB.
* GeoJSON: a ``FeatureCollection`` of detection polygons in WGS84 with
  ``class``, ``area``, ``width``, ``height`` and ``score`` properties.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import struct
import sys
import zlib
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from eoclient.emulator.core.fields import Grid, Landscape, seed_from
from eoclient.emulator.core.rasters import Raster

__all__ = [
    "TILE_SIZE",
    "Detection",
    "TileSpec",
    "detection_filter",
    "geotiff",
    "lonlat_to_tile",
    "mercator_bounds",
    "png",
    "render",
    "tile_bounds",
    "tiles_covering",
]

TILE_SIZE: Final = 256
MAX_LAT: Final = 85.05112878
_EARTH_HALF: Final = 20037508.342789244  # half the web-mercator world width in metres
PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"

BBox = tuple[float, float, float, float]

# -- tile math -------------------------------------------------------------------------------------------


def lonlat_to_tile(lon: float, lat: float, zoom: int) -> tuple[float, float]:
    """Fractional XYZ tile coordinates of a WGS84 point."""
    lat = max(-MAX_LAT, min(MAX_LAT, lat))
    n = 2**zoom
    x = (lon + 180.0) / 360.0 * n
    rad = math.radians(lat)
    y = (1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * n
    return x, y


def _tile_lat(y: float, zoom: int) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * y / 2**zoom))))


def tile_bounds(zoom: int, x: int, y: int) -> BBox:
    """``(west, south, east, north)`` of a tile in degrees."""
    n = 2**zoom
    return x / n * 360.0 - 180.0, _tile_lat(y + 1, zoom), (x + 1) / n * 360.0 - 180.0, _tile_lat(y, zoom)


def mercator_bounds(zoom: int, x: int, y: int) -> BBox:
    """``(min_x, min_y, max_x, max_y)`` of a tile in EPSG:3857 metres."""
    size = 2 * _EARTH_HALF / 2**zoom
    min_x = -_EARTH_HALF + x * size
    max_y = _EARTH_HALF - y * size
    return min_x, max_y - size, min_x + size, max_y


def tiles_covering(bbox: BBox, zoom: int) -> list[tuple[int, int, int]]:
    """Every ``[zoom, x, y]`` tile intersecting ``bbox`` (west, south, east, north)."""
    x0, y0 = lonlat_to_tile(bbox[0], bbox[3], zoom)
    x1, y1 = lonlat_to_tile(bbox[2], bbox[1], zoom)
    last = 2**zoom - 1
    xs = range(max(0, int(x0)), min(last, math.ceil(x1) - 1) + 1)
    ys = range(max(0, int(y0)), min(last, math.ceil(y1) - 1) + 1)
    return [(zoom, x, y) for x in xs for y in ys]


def _overlap(a: Sequence[float], b: Sequence[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


# -- what a tile holds -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Detection:
    """One detected object: a pixel rectangle ``[x0, x1) x [y0, y1)`` of the tile and its class."""

    x0: int
    y0: int
    x1: int
    y1: int
    cls: str
    score: float


@dataclass(frozen=True)
class TileSpec:
    """Everything that decides a grid file's bytes.

    ``area`` is the map's analysed area (west, south, east, north); pixels
    outside it are blank unless ``unclipped``. ``classes`` maps a class name
    to its RGB colour; ``pixel_index`` says the map type's PNGs are a grey
    index that ``user_threshold`` binarises.
    """

    map_id: str
    map_type: str
    zoom: int
    x: int
    y: int
    area: BBox
    classes: Mapping[str, Sequence[int]] = field(default_factory=dict)
    pixel_index: bool = False
    unclipped: bool = False
    user_threshold: float | None = None
    detection_filters: tuple[tuple[str, str, str], ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def seed(self, *extra: object) -> int:
        text = "|".join(str(p) for p in (self.map_id, self.zoom, self.x, self.y, *extra))
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _pixel_window(spec: TileSpec) -> tuple[int, int, int, int]:
    """Pixel columns ``[c0, c1)`` and rows ``[r0, r1)`` of the tile inside the analysed area."""
    if spec.unclipped:
        return 0, TILE_SIZE, 0, TILE_SIZE
    west, south, east, north = spec.area
    fx0, fy0 = lonlat_to_tile(west, north, spec.zoom)
    fx1, fy1 = lonlat_to_tile(east, south, spec.zoom)

    def clamp(v: float, origin: int) -> int:
        return max(0, min(TILE_SIZE, round((v - origin) * TILE_SIZE)))

    return clamp(fx0, spec.x), clamp(fx1, spec.x), clamp(fy0, spec.y), clamp(fy1, spec.y)


def detections(spec: TileSpec) -> list[Detection]:
    """The objects found in this tile (before detection filters), inside the analysed area."""
    if not spec.classes:
        return []
    rng = random.Random(spec.seed("detections"))
    names = sorted(spec.classes)
    c0, c1, r0, r1 = _pixel_window(spec)
    out: list[Detection] = []
    for _ in range(rng.randrange(2, 8)):
        w, h = rng.randrange(6, 48), rng.randrange(6, 48)
        x0, y0 = rng.randrange(0, TILE_SIZE - w), rng.randrange(0, TILE_SIZE - h)
        det = Detection(x0, y0, x0 + w, y0 + h, rng.choice(names), round(rng.uniform(0.5, 1.0), 3))
        cx, cy = (det.x0 + det.x1) / 2, (det.y0 + det.y1) / 2
        if c0 <= cx < c1 and r0 <= cy < r1:
            out.append(det)
    return out


# -- PNG ------------------------------------------------------------------------------------------------


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def png(width: int, height: int, rows: Iterable[bytes], *, color_type: int, bit_depth: int = 8) -> bytes:
    """A PNG from raw scanlines (filter type 0 for each); ``color_type`` 0 grey, 2 RGB, 6 RGBA."""
    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 6))
        + _chunk(b"IEND", b"")
    )


def _raster(spec: TileSpec, product: str, kinds: tuple[str, ...], sample_type: str) -> Raster:
    """The tile's pixels: a field over its EPSG:3857 bounds, fixed per map (so tiles join)."""
    grid = Grid(mercator_bounds(spec.zoom, spec.x, spec.y), TILE_SIZE, TILE_SIZE, 3857)
    return Raster(grid, Landscape(seed_from(spec.map_id, product)), kinds, sample_type)


def _truecolor_rows(spec: TileSpec) -> list[bytes]:
    """RGB rows of the tile, blank outside the analysed area."""
    c0, c1, r0, r1 = _pixel_window(spec)
    rows = []
    for r, row in enumerate(_raster(spec, "truecolor", ("visual",) * 3, "UINT8").rows()):
        if not r0 <= r < r1:
            rows.append(bytes(TILE_SIZE * 3))
            continue
        rows.append(bytes(c0 * 3) + row[c0 * 3 : c1 * 3] + bytes((TILE_SIZE - c1) * 3))
    return rows


def _truecolor(spec: TileSpec) -> bytes:
    return png(TILE_SIZE, TILE_SIZE, _truecolor_rows(spec), color_type=2)


def _index_rows(spec: TileSpec) -> list[array[float]]:
    """A smooth pixel index in -1..1 (e.g. NDVI), row by row."""
    return [array("f", row) for row in _raster(spec, "index", ("index",), "FLOAT32").rows()]


def _index_png(spec: TileSpec) -> bytes:
    c0, c1, r0, r1 = _pixel_window(spec)
    threshold = spec.user_threshold
    rows = []
    for r, values in enumerate(_index_rows(spec)):
        row = bytearray(TILE_SIZE)
        if r0 <= r < r1:
            if threshold is None:
                row[c0:c1] = bytes(round((v + 1.0) * 127.5) for v in values[c0:c1])
            else:
                row[c0:c1] = bytes(255 if v >= threshold else 0 for v in values[c0:c1])
        rows.append(bytes(row))
    return png(TILE_SIZE, TILE_SIZE, rows, color_type=0)


def _mask_png(spec: TileSpec, only: str | None) -> bytes:
    """RGBA: transparent background, detections painted in their class colour."""
    canvas = [bytearray(TILE_SIZE * 4) for _ in range(TILE_SIZE)]
    for det in detections(spec):
        if only is not None and det.cls != only:
            continue
        rgb = list(spec.classes.get(det.cls, (200, 200, 200)))[:3]
        pixel = bytes([*rgb, 255])
        for r in range(det.y0, det.y1):
            canvas[r][det.x0 * 4 : det.x1 * 4] = pixel * (det.x1 - det.x0)
    return png(TILE_SIZE, TILE_SIZE, (bytes(row) for row in canvas), color_type=6)


# -- GeoTIFF --------------------------------------------------------------------------------------------

_SHORT, _LONG, _DOUBLE = 3, 4, 12
_TYPE_SIZES: Final = {_SHORT: 2, _LONG: 4, _DOUBLE: 8}
_TYPE_CODES: Final = {_SHORT: "H", _LONG: "I", _DOUBLE: "d"}


def geotiff(
    width: int,
    height: int,
    pixels: bytes,
    *,
    bounds_3857: BBox,
    samples: int = 1,
    bits: int = 8,
    sample_format: int = 1,
) -> bytes:
    """A baseline little-endian GeoTIFF (one strip, no compression) georeferenced in EPSG:3857.

    ``pixels`` are the interleaved samples row by row; ``sample_format`` 1 is
    unsigned integer, 3 IEEE float.
    """
    if len(pixels) != width * height * samples * bits // 8:
        raise ValueError("pixel data does not match the image size")
    min_x, min_y, max_x, max_y = bounds_3857
    geokeys = [1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 3857]
    tags: list[tuple[int, int, list[float] | list[int]]] = [
        (256, _LONG, [width]),
        (257, _LONG, [height]),
        (258, _SHORT, [bits] * samples),
        (259, _SHORT, [1]),
        (262, _SHORT, [2 if samples == 3 else 1]),
        (273, _LONG, [0]),  # strip offset, patched below
        (277, _SHORT, [samples]),
        (278, _LONG, [height]),
        (279, _LONG, [len(pixels)]),
        (284, _SHORT, [1]),
        (339, _SHORT, [sample_format] * samples),
        (33550, _DOUBLE, [(max_x - min_x) / width, (max_y - min_y) / height, 0.0]),
        (33922, _DOUBLE, [0.0, 0.0, 0.0, min_x, max_y, 0.0]),
        (34735, _SHORT, geokeys),
    ]
    ifd_end = 8 + 2 + 12 * len(tags) + 4
    extra = bytearray()
    offsets: dict[int, int] = {}
    for tag, kind, values in tags:
        if _TYPE_SIZES[kind] * len(values) > 4:
            extra += b"\x00" * ((ifd_end + len(extra)) % 2)  # TIFF offsets are word-aligned
            offsets[tag] = ifd_end + len(extra)
            extra += struct.pack(f"<{len(values)}{_TYPE_CODES[kind]}", *values)
    strip_at = ifd_end + len(extra) + (ifd_end + len(extra)) % 2
    entries = bytearray(struct.pack("<H", len(tags)))
    for tag, kind, values in tags:
        if tag in offsets:
            entries += struct.pack("<HHII", tag, kind, len(values), offsets[tag])
            continue
        inline_values = [strip_at] if tag == 273 else values
        inline = struct.pack(f"<{len(values)}{_TYPE_CODES[kind]}", *inline_values).ljust(4, b"\x00")
        entries += struct.pack("<HHI", tag, kind, len(values)) + inline
    entries += struct.pack("<I", 0)  # no next IFD
    head = b"II*\x00" + struct.pack("<I", 8) + bytes(entries) + bytes(extra)
    return head + b"\x00" * (strip_at - len(head)) + pixels


def _analysis_tiff(spec: TileSpec) -> bytes:
    c0, c1, r0, r1 = _pixel_window(spec)
    nodata = -9999.0
    out = array("f")
    for r, values in enumerate(_index_rows(spec)):
        if r0 <= r < r1:
            out.extend(array("f", [nodata] * c0) + values[c0:c1] + array("f", [nodata] * (TILE_SIZE - c1)))
        else:
            out.extend(array("f", [nodata] * TILE_SIZE))
    if sys.byteorder == "big":  # pragma: no cover - a little-endian TIFF
        out.byteswap()
    bounds = mercator_bounds(spec.zoom, spec.x, spec.y)
    return geotiff(TILE_SIZE, TILE_SIZE, out.tobytes(), bounds_3857=bounds, bits=32, sample_format=3)


def _visualization_tiff(spec: TileSpec) -> bytes:
    bounds = mercator_bounds(spec.zoom, spec.x, spec.y)
    return geotiff(TILE_SIZE, TILE_SIZE, b"".join(_truecolor_rows(spec)), bounds_3857=bounds, samples=3)


# -- GeoJSON --------------------------------------------------------------------------------------------

_OPERATORS: Final = {
    "gt": lambda a, b: a > b,
    "lt": lambda a, b: a < b,
    "ge": lambda a, b: a >= b,
    "le": lambda a, b: a <= b,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
}
FILTER_PROPERTIES: Final = ("area", "width", "height", "score", "class")


def detection_filter(text: str) -> tuple[tuple[str, str, str], ...]:
    """Parse ``detection_filters`` (one ``property condition value`` per line); ``ValueError`` if bad."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3:
            raise ValueError(f"line {number}: expected 'property condition value', got {line!r}")
        prop, cond, value = parts
        if prop not in FILTER_PROPERTIES:
            raise ValueError(f"line {number}: unknown property {prop!r}")
        if cond not in _OPERATORS:
            raise ValueError(f"line {number}: unknown condition {cond!r}")
        if prop != "class":
            try:
                float(value)
            except ValueError:
                raise ValueError(f"line {number}: {prop} needs a number, got {value!r}") from None
        out.append((prop, cond, value))
    return tuple(out)


def _keep(props: Mapping[str, Any], filters: Sequence[tuple[str, str, str]]) -> bool:
    for prop, cond, value in filters:
        have = props[prop]
        want: Any = value if prop == "class" else float(value)
        if not _OPERATORS[cond](have, want):
            return False
    return True


def _pixel_lonlat(spec: TileSpec, px: float, py: float) -> list[float]:
    n = 2**spec.zoom
    fx, fy = spec.x + px / TILE_SIZE, spec.y + py / TILE_SIZE
    return [round(fx / n * 360.0 - 180.0, 8), round(_tile_lat(fy, spec.zoom), 8)]


def _detections_geojson(spec: TileSpec) -> bytes:
    min_x, _, max_x, _ = mercator_bounds(spec.zoom, spec.x, spec.y)
    metres = (max_x - min_x) / TILE_SIZE
    # Web-mercator metres shrink towards the poles; scale to ground metres at the tile's latitude.
    _, south, _, north = tile_bounds(spec.zoom, spec.x, spec.y)
    lat = (south + north) / 2
    ground = metres * math.cos(math.radians(lat))
    features = []
    for i, det in enumerate(detections(spec)):
        width, height = (det.x1 - det.x0) * ground, (det.y1 - det.y0) * ground
        props = {
            "class": det.cls,
            "area": round(width * height, 2),
            "width": round(width, 2),
            "height": round(height, 2),
            "score": det.score,
        }
        if not _keep(props, spec.detection_filters):
            continue
        ring = [
            _pixel_lonlat(spec, det.x0, det.y0),
            _pixel_lonlat(spec, det.x0, det.y1),
            _pixel_lonlat(spec, det.x1, det.y1),
            _pixel_lonlat(spec, det.x1, det.y0),
            _pixel_lonlat(spec, det.x0, det.y0),
        ]
        features.append(
            {
                "type": "Feature",
                "id": f"{spec.zoom}-{spec.x}-{spec.y}-{i}",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": props,
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")).encode()


# -- dispatch -------------------------------------------------------------------------------------------


def render(spec: TileSpec, file_name: str) -> tuple[bytes, str]:
    """The bytes and media type of grid file ``file_name`` of the tile ``spec`` describes."""
    stem, _, ext = file_name.rpartition(".")
    if ext == "png":
        if stem == "truecolor":
            return _truecolor(spec), "image/png"
        if spec.pixel_index:
            return _index_png(spec), "image/png"
        return _mask_png(spec, stem if stem in spec.classes else None), "image/png"
    if ext in ("geotiff", "tif", "tiff"):
        body = _visualization_tiff(spec) if stem == "visualization" else _analysis_tiff(spec)
        return body, "image/tiff"
    if ext == "geojson":
        return _detections_geojson(spec), "application/geo+json"
    if ext == "json":
        meta = {
            **spec.metadata,
            "mapId": spec.map_id,
            "mapType": spec.map_type,
            "tile": [spec.zoom, spec.x, spec.y],
            "bounds": list(tile_bounds(spec.zoom, spec.x, spec.y)),
            "crsEpsg": 3857,
            "tileSize": TILE_SIZE,
        }
        return json.dumps(meta, sort_keys=True).encode(), "application/json"
    raise ValueError(f"no generator for {file_name!r}")
