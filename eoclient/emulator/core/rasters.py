"""Rasters of the emulator: a field's levels as samples, and the GeoTIFF, PNG and raw encodings.

A :class:`Raster` is a :class:`~eoclient.emulator.core.fields.Grid`, a
:class:`~eoclient.emulator.core.fields.Landscape` and what each band holds
(``kinds``): ``"reflectance"`` (0..1 scaled by the sample type, each band a
little brighter or darker), ``"index"`` (an NDVI-like value, -0.2..0.9) or
``"mask"`` (a ``dataMask``: 0 on ~5 % of the area, else 1), or ``"visual"`` (a
stretched picture: 0.15..0.85, for rendered imagery such as map tiles). Sample types are
an evalscript's: FLOAT32 values as they are; UINT8 (and AUTO) x 255 (an index
maps -1..1 to 0..255); UINT16 x 10000 (an index -1..1 to 0..10000); INT16 and
INT8 signed around 0 (an index x 10000 / x 127, other bands a signed anomaly);
a mask is 0/1 in every type.

Levels become samples through lookup tables: 8-bit samples take the level's
high byte through ``bytes.translate``, wider ones map all 16 bits through a
cached table of values that ``struct`` packs a row at a time.

GeoTIFFs are little-endian, one uncompressed strip that ends the file (its
size is known before a pixel is computed, so big images stream with an exact
``Content-Length``; zlib would need the whole image first), with
ModelPixelScale, ModelTiepoint and a GeoKeyDirectory (PixelIsArea;
GeographicType for degrees, ProjectedCSType for metres). PNGs are zlib
compressed (8-bit, or 16-bit for UINT16/INT16; up to 4 bands).
"""

from __future__ import annotations

import math
import struct
import sys
import zlib
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from eoclient.emulator.core.fields import LEVEL_SIGMA, Grid, Landscape, level_rows

__all__ = [
    "KINDS",
    "SAMPLE_FORMATS",
    "Raster",
    "geokeys",
    "png_bytes",
    "tiff_head",
    "value_of",
]

KINDS: Final = ("reflectance", "index", "mask", "visual")
SAMPLE_FORMATS: Final = {
    # sample type: (bytes per sample, TIFF SampleFormat, struct code)
    "UINT8": (1, 1, "B"),
    "AUTO": (1, 1, "B"),
    "INT8": (1, 2, "b"),
    "UINT16": (2, 1, "H"),
    "INT16": (2, 2, "h"),
    "FLOAT32": (4, 3, "f"),
}
# (dark, bright) reflectance of band i % 4: a land surface in the order true colour asks for
# (red, green, blue), then a brighter near-infrared-like band.
_PROFILES: Final = ((0.03, 0.30), (0.05, 0.30), (0.03, 0.20), (0.12, 0.50))
_MASK_Z: Final = -1.65  # levels this many sigmas below the mean are "no data" (~5 %)
_CONTRAST: Final = 1.6
_BIG_ENDIAN: Final = sys.byteorder == "big"
_DROP: Final = 4  # wide samples come from a level's top 12 bits: 4096-entry tables, quick to build


def value_of(kind: str, sample_type: str, band: int, level: int) -> float:
    """The sample of band ``band`` (of ``kind``) at a 16-bit field ``level``, in ``sample_type``."""
    z = (level - 32768) / LEVEL_SIGMA
    if kind == "mask":
        return 0.0 if z < _MASK_Z else 1.0
    s = 1.0 / (1.0 + math.exp(-_CONTRAST * z))
    if kind == "visual":
        value = 0.15 + 0.7 * s
        return value if sample_type == "FLOAT32" else float(round(value * 255))
    if kind == "index":
        value = -0.2 + 1.1 * s
        scaled = {
            "FLOAT32": value,
            "UINT16": (value + 1) / 2 * 10000,
            "INT16": value * 10000,
            "INT8": value * 127,
        }.get(sample_type, (value + 1) / 2 * 255)
    else:
        dark, bright = _PROFILES[band % 4]
        value = dark + (bright - dark) * s
        scaled = {
            "FLOAT32": value,
            "UINT16": value * 10000,
            "INT16": (2 * s - 1) * 5000,
            "INT8": (2 * s - 1) * 100,
        }.get(sample_type, value * 255)
    return scaled if sample_type == "FLOAT32" else float(round(scaled))


@lru_cache(maxsize=64)
def _byte_table(kind: str, sample_type: str, band: int) -> bytes:
    """For 8-bit samples: the sample of each level high byte (``bytes.translate`` table)."""
    code = SAMPLE_FORMATS[sample_type][2]
    return struct.pack(
        f"<256{code}", *(int(value_of(kind, sample_type, band, h * 256 + 128)) for h in range(256))
    )


@lru_cache(maxsize=32)
def _wide_table(kind: str, sample_type: str, band: int) -> list[float] | list[int]:
    """For 16/32-bit samples: the sample of each 12-bit level (the level's top 12 bits)."""
    values = [value_of(kind, sample_type, band, (top << _DROP) + (1 << _DROP) // 2) for top in range(4096)]
    return values if sample_type == "FLOAT32" else [int(v) for v in values]


@lru_cache(maxsize=8)
def _top_mask(width: int) -> int:
    return int.from_bytes(b"\xff\x0f" * width, "little")


@lru_cache(maxsize=64)
def _packer(width: int, code: str) -> struct.Struct:
    return struct.Struct(f"<{width}{code}")


def _levels(row: bytes) -> array[int]:
    """A row's levels without their low bits (shifting the packed row shifts every lane at once)."""
    width = len(row) // 2
    top = (int.from_bytes(row, "little") >> _DROP) & _top_mask(width)
    out = array("H", top.to_bytes(len(row), "little"))
    if _BIG_ENDIAN:  # pragma: no cover - level rows are little-endian
        out.byteswap()
    return out


@dataclass(frozen=True)
class Raster:
    """What decides an image's pixels: its grid, its landscape, each band's kind and the sample type."""

    grid: Grid
    landscape: Landscape
    kinds: tuple[str, ...]
    sample_type: str = "UINT8"

    @property
    def bands(self) -> int:
        """Number of bands."""
        return len(self.kinds)

    @property
    def sample_bytes(self) -> int:
        """Bytes per sample."""
        return SAMPLE_FORMATS[self.sample_type][0]

    @property
    def row_bytes(self) -> int:
        """Bytes of one row of interleaved samples."""
        return self.grid.width * self.bands * self.sample_bytes

    def with_sample_type(self, sample_type: str) -> Raster:
        """The same pixels in another sample type."""
        return Raster(self.grid, self.landscape, self.kinds, sample_type)

    def rows(self, bands: Sequence[int] | None = None) -> Iterator[bytes]:
        """Rows (north first) of interleaved little-endian samples (of ``bands``, default all)."""
        chosen = list(range(self.bands)) if bands is None else list(bands)
        size = self.sample_bytes
        stride = len(chosen) * size
        width = self.grid.width
        narrow = size == 1
        tables = [
            (_byte_table if narrow else _wide_table)(self.kinds[b], self.sample_type, b) for b in chosen
        ]
        packer = _packer(width, SAMPLE_FORMATS[self.sample_type][2])
        for levels in level_rows(self.grid, self.landscape, chosen):
            if len(chosen) == 1:
                yield self._encode(levels[0], tables[0], packer)
                continue
            out = bytearray(width * stride)
            for i, (level_row, table) in enumerate(zip(levels, tables, strict=True)):
                samples = self._encode(level_row, table, packer)
                for k in range(size):
                    out[i * size + k :: stride] = samples[k::size]
            yield bytes(out)

    @staticmethod
    def _encode(level_row: bytes, table: bytes | list[float] | list[int], packer: struct.Struct) -> bytes:
        if isinstance(table, bytes):
            return level_row[1::2].translate(table)  # the high byte of each little-endian level
        return packer.pack(*map(table.__getitem__, _levels(level_row)))


# -- GeoTIFF ----------------------------------------------------------------------------------------------

_SHORT, _LONG, _DOUBLE = 3, 4, 12
_TYPE_CODES: Final = {_SHORT: "H", _LONG: "I", _DOUBLE: "d"}


def geokeys(epsg: int, *, geographic: bool) -> list[int]:
    """A GeoKeyDirectory for ``epsg``: model type, PixelIsArea, and the geographic or projected CRS."""
    if geographic:
        return [1, 1, 0, 3, 1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, epsg]
    return [1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, epsg]


def tiff_head(grid: Grid, bands: int, sample_type: str) -> bytes:
    """A GeoTIFF's header, IFD and tag data; the one strip of ``grid`` samples follows it, to the end."""
    size, fmt, _code = SAMPLE_FORMATS[sample_type]
    width, height = grid.width, grid.height
    x0, _y0, _x1, y1 = grid.bounds
    dx, dy = grid.pixel_size
    rgb = bands == 3 and size == 1
    tags: list[tuple[int, int, list[int] | list[float]]] = [
        (256, _LONG, [width]),
        (257, _LONG, [height]),
        (258, _SHORT, [size * 8] * bands),
        (259, _SHORT, [1]),  # no compression
        (262, _SHORT, [2 if rgb else 1]),  # RGB, or min-is-black with extra samples
        (273, _LONG, [0]),  # strip offset, patched below
        (277, _SHORT, [bands]),
        (278, _LONG, [height]),
        (279, _LONG, [width * height * bands * size]),
        (284, _SHORT, [1]),  # chunky (pixel-interleaved)
    ]
    extra_samples = bands - (3 if rgb else 1)
    if extra_samples > 0:
        tags.append((338, _SHORT, [0] * extra_samples))
    tags += [
        (339, _SHORT, [fmt] * bands),
        (33550, _DOUBLE, [dx, dy, 0.0]),
        (33922, _DOUBLE, [0.0, 0.0, 0.0, x0, y1, 0.0]),
        (34735, _SHORT, geokeys(grid.epsg, geographic=grid.geographic)),
    ]
    ifd_end = 8 + 2 + 12 * len(tags) + 4
    extra = bytearray()
    offsets: dict[int, int] = {}
    for tag, kind, values in tags:
        data = struct.pack(f"<{len(values)}{_TYPE_CODES[kind]}", *values)
        if len(data) > 4:
            extra += b"\0" * (len(extra) % 2)  # word-aligned values
            offsets[tag] = ifd_end + len(extra)
            extra += data
    extra += b"\0" * (len(extra) % 2)
    strip_at = ifd_end + len(extra)
    entries = bytearray(struct.pack("<H", len(tags)))
    for tag, kind, values in tags:
        if tag in offsets:
            entries += struct.pack("<HHII", tag, kind, len(values), offsets[tag])
            continue
        inline = [strip_at] if tag == 273 else values
        entries += struct.pack("<HHI", tag, kind, len(values))
        entries += struct.pack(f"<{len(values)}{_TYPE_CODES[kind]}", *inline).ljust(4, b"\0")
    entries += struct.pack("<I", 0)  # no next IFD
    return b"II*\0" + struct.pack("<I", 8) + bytes(entries) + bytes(extra)


# -- PNG ---------------------------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(raster: Raster) -> bytes:
    """A PNG of the first four bands: 16-bit for UINT16/INT16 rasters (as UINT16), else 8-bit."""
    bands = list(range(min(raster.bands, 4)))
    wide = raster.sample_type in {"UINT16", "INT16"}
    source = raster.with_sample_type("UINT16" if wide else "UINT8")
    color = {1: 0, 2: 4, 3: 2, 4: 6}[len(bands)]
    packer = zlib.compressobj(6)
    parts = []
    for row in source.rows(bands):
        line = row
        if wide:  # PNG samples are big-endian
            samples = array("H", row)
            samples.byteswap()  # little- to big-endian, whatever this machine's order
            line = samples.tobytes()
        parts.append(packer.compress(b"\0" + line))  # filter type 0 (none) for every row
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", raster.grid.width, raster.grid.height, 16 if wide else 8, color, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )
