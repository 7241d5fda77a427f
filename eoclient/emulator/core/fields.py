"""Smooth, deterministic fields over map coordinates: the emulator's "landscape" pixels.

A pixel's level is a pure function of its centre's map coordinate, the band
and a seed (the request's non-spatial parts), never of the image's bounds or
size: two tiles that share an edge join without a seam, and four tiles give
the same pixels as one image over their union on the same pixel grid.

The field is a sum of plane waves of wavelengths from ~150 m to ~40 km
(larger waves stronger, directions and phases from the seed). A plane wave is
separable, ``sin(a x + b y + p) = sin(a x + p) cos(b y) + cos(a x + p) sin(b y)``,
so each image row is a few integer column vectors times per-row scalars. The
column vectors are packed into Python integers, 16 bits a pixel ("lanes"), so
one big-integer multiply-add updates a whole row at C speed. Packing is linear,
so lanes may hold signed terms as long as every lane's final sum lies in
0..65535, which the amplitudes guarantee (:data:`LEVEL_SPREAD`).

Levels are 16-bit: ``32768 + N(0, LEVEL_SIGMA)``-ish, bounded to ``32768 ± LEVEL_SPREAD``.
"""

from __future__ import annotations

import hashlib
import math
import random
import sys
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "GEOGRAPHIC_CODES",
    "LEVEL_SIGMA",
    "LEVEL_SPREAD",
    "Grid",
    "Landscape",
    "level_rows",
    "seed_from",
]

GEOGRAPHIC_CODES: Final = frozenset({4326, 4258, 4269})
"""EPSG codes in degrees (longitude first, as Sentinel Hub reads a bbox); other codes are metres."""

_METRES_PER_DEGREE: Final = (111_320.0, 110_574.0)  # fixed, so that degrees stay separable
_COLUMN_SCALE: Final = 100  # column factors are round(100 * sin(...))
_WAVES: Final = 12
_BASE_WAVELENGTH: Final = 150.0
_WAVELENGTH_STEP: Final = 1.65
_SMALL_WAVE: Final = 2500.0  # waves shorter than this differ per band and per time range
# Amplitude of wave k (level units per column unit): larger waves are stronger.
_AMPLITUDES: Final = tuple(round(6 * _WAVELENGTH_STEP ** (0.4 * k)) for k in range(_WAVES))
LEVEL_SPREAD: Final = sum(_COLUMN_SCALE * a + math.ceil(0.75 * (_COLUMN_SCALE + a)) + 1 for a in _AMPLITUDES)
"""Bound on ``|level - 32768|`` (products plus their rounding)."""
LEVEL_SIGMA: Final = math.sqrt(sum((_COLUMN_SCALE * a) ** 2 / 2 for a in _AMPLITUDES))
"""Standard deviation of the levels over a large area."""
_MID: Final = 32768
assert LEVEL_SPREAD < _MID


def seed_from(*parts: object) -> int:
    """A 64-bit seed fixed by ``parts`` (never Python's per-process string hash)."""
    return int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:8], "big")


@dataclass(frozen=True)
class Grid:
    """A north-up pixel grid: ``bounds`` (min x, min y, max x, max y) in EPSG ``epsg``; its size in pixels."""

    bounds: tuple[float, float, float, float]
    width: int
    height: int
    epsg: int = 4326

    @property
    def geographic(self) -> bool:
        """Whether the coordinates are degrees (longitude, latitude)."""
        return self.epsg in GEOGRAPHIC_CODES

    @property
    def pixel_size(self) -> tuple[float, float]:
        """Pixel width and height in CRS units."""
        x0, y0, x1, y1 = self.bounds
        return (x1 - x0) / self.width, (y1 - y0) / self.height

    def centres(self) -> tuple[list[float], list[float]]:
        """Map coordinates of the pixel centres: columns west to east, rows north to south."""
        x0, _y0, _x1, y1 = self.bounds
        dx, dy = self.pixel_size
        return [x0 + (i + 0.5) * dx for i in range(self.width)], [
            y1 - (j + 0.5) * dy for j in range(self.height)
        ]


@dataclass(frozen=True)
class _Wave:
    kx: float  # radians per metre along x
    ky: float
    phase: float
    amplitude: int


class Landscape:
    """The waves of one seed: the same ``seed`` gives the same field everywhere.

    ``variant`` (e.g. the time range) changes only the small waves, so that a
    time series keeps its large-scale pattern; each band shifts the small waves too.
    """

    def __init__(self, seed: int, variant: object = "") -> None:
        self.seed = seed
        self.variant = variant
        rng = random.Random(seed)
        self._waves: list[tuple[float, float, float, int]] = []  # wavelength, direction, phase, amplitude
        for k in range(_WAVES):
            wavelength = _BASE_WAVELENGTH * _WAVELENGTH_STEP**k * rng.uniform(0.85, 1.15)
            self._waves.append(
                (wavelength, rng.uniform(0, math.pi), rng.uniform(0, math.tau), _AMPLITUDES[k])
            )

    def waves(self, band: int) -> list[_Wave]:
        """Band ``band``'s waves: the small ones shifted by the variant, and a little per band."""
        moved = random.Random(seed_from(self.seed, self.variant))
        own = random.Random(seed_from(self.seed, "band", band))
        out = []
        for wavelength, direction, phase, amplitude in self._waves:
            k = math.tau / wavelength
            # Drawn for every wave, so that each draw is fixed by the wave's rank alone.
            later, nudge = moved.uniform(0, math.tau), own.uniform(-0.5, 0.5)
            shift = later + nudge if wavelength < _SMALL_WAVE else 0.0
            out.append(_Wave(k * math.cos(direction), k * math.sin(direction), phase + shift, amplitude))
        return out


def _pack(values: Sequence[int]) -> int:
    """Signed lane values packed into one integer, 16 bits each, lane 0 lowest (the sum of ``v << 16 i``)."""
    shifted = array("H", [v + _MID for v in values])
    if sys.byteorder == "big":  # pragma: no cover - lanes are little-endian
        shifted.byteswap()
    return int.from_bytes(shifted.tobytes(), "little") - _MID * _ones(len(values))


def _ones(width: int) -> int:
    return int.from_bytes(b"\x01\x00" * width, "little")


def _metres(grid: Grid) -> tuple[list[float], list[float]]:
    xs, ys = grid.centres()
    if grid.geographic:
        fx, fy = _METRES_PER_DEGREE
        return [x * fx for x in xs], [y * fy for y in ys]
    return xs, ys


def level_rows(grid: Grid, landscape: Landscape, bands: Sequence[int]) -> Iterator[list[bytes]]:
    """Per image row (north first), per band of ``bands``: the row's 16-bit little-endian levels."""
    xs, ys = _metres(grid)
    width = grid.width
    base = _MID * _ones(width)
    per_band = []
    for band in bands:
        waves = landscape.waves(band)
        columns: list[tuple[int, int, _Wave]] = []
        for w in waves:
            sin_x = _pack([round(_COLUMN_SCALE * math.sin(w.kx * x + w.phase)) for x in xs])
            cos_x = _pack([round(_COLUMN_SCALE * math.cos(w.kx * x + w.phase)) for x in xs])
            columns.append((sin_x, cos_x, w))
        per_band.append(columns)
    size = 2 * width
    for y in ys:
        row = []
        for columns in per_band:
            acc = base
            for sin_x, cos_x, w in columns:
                angle = w.ky * y
                acc += sin_x * round(w.amplitude * math.cos(angle))
                acc += cos_x * round(w.amplitude * math.sin(angle))
            row.append(acc.to_bytes(size, "little"))
        yield row
