"""A small baseline JPEG encoder in pure Python: greyscale or YCbCr, 4:4:4, Huffman tables of the standard.

Good enough for an emulator's small images: a float DCT by precomputed cosine
rows (``sum(map(mul, ...))`` keeps the inner loops in C), quantisation tables
of the JPEG standard's example scaled to a quality, the standard's example
Huffman tables, and byte stuffing of the whole entropy-coded segment at once.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from functools import lru_cache
from operator import mul
from typing import Final

__all__ = ["jpeg_bytes"]

# The example quantisation tables of the JPEG standard (ITU T.81, Annex K), in natural (row) order.
_LUMA_Q: Final = (
    (16, 11, 10, 16, 24, 40, 51, 61),
    (12, 12, 14, 19, 26, 58, 60, 55),
    (14, 13, 16, 24, 40, 57, 69, 56),
    (14, 17, 22, 29, 51, 87, 80, 62),
    (18, 22, 37, 56, 68, 109, 103, 77),
    (24, 35, 55, 64, 81, 104, 113, 92),
    (49, 64, 78, 87, 103, 121, 120, 101),
    (72, 92, 95, 98, 112, 100, 103, 99),
)
_CHROMA_Q: Final = (
    (17, 18, 24, 47, 99, 99, 99, 99),
    (18, 21, 26, 66, 99, 99, 99, 99),
    (24, 26, 56, 99, 99, 99, 99, 99),
    (47, 66, 99, 99, 99, 99, 99, 99),
    *((99,) * 8 for _ in range(4)),
)
# Annex K's example Huffman tables: code counts per length 1..16, then the symbols.
_DC_BITS: Final = (
    (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0),
    (0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0),
)
_DC_VALUES: Final = tuple(range(12))
_AC_BITS: Final = (
    (0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D),
    (0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77),
)
_AC_HEAD: Final = (
    # The symbols of the most frequent codes, in the standard's order; the rest follow in numeric order
    # (the order of codes of one length does not matter to a decoder: it reads them from the table).
    bytes.fromhex("010203000411051221314106135161072271143281a1082342b1c11552d1f0243362728209"),
    bytes.fromhex(
        "000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718"
    ),
)
_ZIGZAG: Final = tuple(
    sorted(range(64), key=lambda i: (i // 8 + i % 8, (i % 8) if (i // 8 + i % 8) % 2 == 0 else (i // 8)))
)
"""Natural index of each zigzag position."""


def _ac_values(head: bytes) -> bytes:
    everything = [0x00, 0xF0] + [(run << 4) | size for run in range(16) for size in range(1, 11)]
    return head + bytes(v for v in everything if v not in head)


def _quant(table: Sequence[Sequence[int]], quality: int) -> list[int]:
    """A quantisation table scaled to ``quality`` (1..100), in zigzag order."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    flat = [q for row in table for q in row]
    return [min(255, max(1, (flat[i] * scale + 50) // 100)) for i in _ZIGZAG]


def _codes(bits: Sequence[int], values: bytes | Sequence[int]) -> dict[int, tuple[int, int]]:
    """Canonical Huffman codes: symbol -> (code, length)."""
    out = {}
    code = 0
    k = 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            out[values[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return out


@lru_cache(maxsize=1)
def _basis() -> tuple[tuple[float, ...], ...]:
    """Row ``u``: the DCT's ``C(u)/2 * cos((2x + 1) u pi / 16)`` for x = 0..7."""
    return tuple(
        tuple(
            (math.sqrt(0.5) if u == 0 else 1.0) / 2 * math.cos((2 * x + 1) * u * math.pi / 16)
            for x in range(8)
        )
        for u in range(8)
    )


class _Bits:
    """An MSB-first bit writer; the caller stuffs 0xFF bytes once at the end."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.count = 0

    def put(self, value: int, length: int) -> None:
        self.acc = (self.acc << length) | value
        self.count += length
        if self.count >= 32:
            keep = self.count % 8
            self.out += (self.acc >> keep).to_bytes((self.count - keep) // 8, "big")
            self.acc &= (1 << keep) - 1
            self.count = keep

    def flush(self) -> bytes:
        pad = -self.count % 8
        self.put((1 << pad) - 1, pad)  # pad with 1 bits, as the standard says
        if self.count:
            self.out += self.acc.to_bytes(self.count // 8, "big")
        return bytes(self.out)


def _block_coefficients(block: list[list[float]], reciprocals: list[float]) -> list[int]:
    """The quantised DCT coefficients of an 8x8 block (level-shifted samples), in zigzag order."""
    basis = _basis()
    rows = [[sum(map(mul, b, row)) for b in basis] for row in block]
    flat: list[float] = []
    for column in zip(*rows, strict=True):  # column u of the row transforms -> coefficients (v, u)
        flat.extend(sum(map(mul, b, column)) for b in basis)
    # flat is (u, v)-major: natural index v * 8 + u lives at u * 8 + v.
    return [round(flat[(i % 8) * 8 + i // 8] * r) for i, r in zip(_ZIGZAG, reciprocals, strict=True)]


def _encode_block(
    bits: _Bits,
    coefficients: list[int],
    previous_dc: int,
    dc: dict[int, tuple[int, int]],
    ac: dict[int, tuple[int, int]],
) -> int:
    diff = coefficients[0] - previous_dc
    size = abs(diff).bit_length()
    bits.put(*dc[size])
    if size:
        bits.put(diff if diff >= 0 else diff + (1 << size) - 1, size)
    run = 0
    for value in coefficients[1:]:
        if value == 0:
            run += 1
            continue
        while run > 15:
            bits.put(*ac[0xF0])
            run -= 16
        size = abs(value).bit_length()
        bits.put(*ac[(run << 4) | size])
        bits.put(value if value >= 0 else value + (1 << size) - 1, size)
        run = 0
    if run:
        bits.put(*ac[0x00])
    return coefficients[0]


def _planes(pixels: bytes, width: int, height: int, bands: int) -> list[list[list[float]]]:
    """Level-shifted component planes (Y, or Y Cb Cr), padded to whole 8x8 blocks by repeating edges."""
    pad_w, pad_h = -width % 8, -height % 8
    stride = width * bands
    rows = [pixels[y * stride : (y + 1) * stride] for y in range(height)]
    rows += [rows[-1]] * pad_h
    if bands == 1:
        return [[[v - 128.0 for v in row] + [row[-1] - 128.0] * pad_w for row in rows]]
    planes: list[list[list[float]]] = [[], [], []]
    for row in rows:
        r, g, b = row[0::bands], row[1::bands], row[2::bands]
        luma = [0.299 * x + 0.587 * y + 0.114 * z - 128.0 for x, y, z in zip(r, g, b, strict=True)]
        cb = [-0.168736 * x - 0.331264 * y + 0.5 * z for x, y, z in zip(r, g, b, strict=True)]
        cr = [0.5 * x - 0.418688 * y - 0.081312 * z for x, y, z in zip(r, g, b, strict=True)]
        for plane, values in zip(planes, (luma, cb, cr), strict=True):
            plane.append(values + [values[-1]] * pad_w)
    return planes


def _segment(marker: int, data: bytes) -> bytes:
    return struct.pack(">HH", 0xFF00 | marker, len(data) + 2) + data


def jpeg_bytes(pixels: bytes, width: int, height: int, bands: int, quality: int = 90) -> bytes:
    """A baseline JPEG of 8-bit ``pixels`` (rows of interleaved samples): greyscale for 1 band, else RGB."""
    if bands not in (1, 3):
        raise ValueError("a JPEG has 1 or 3 bands")
    tables = [_quant(_LUMA_Q, quality), _quant(_CHROMA_Q, quality)]
    dc_codes = [_codes(_DC_BITS[t], _DC_VALUES) for t in (0, 1)]
    ac_values = [_ac_values(_AC_HEAD[t]) for t in (0, 1)]
    ac_codes = [_codes(_AC_BITS[t], ac_values[t]) for t in (0, 1)]
    # The DCT's 1/8 scaling is folded into _basis; quantisation by multiplying with reciprocals.
    reciprocals = [[1.0 / q for q in table] for table in tables]
    planes = _planes(pixels, width, height, bands)
    which = [0] if bands == 1 else [0, 1, 1]
    bits = _Bits()
    previous = [0] * len(planes)
    for by in range(0, len(planes[0]), 8):
        for bx in range(0, len(planes[0][0]), 8):
            for c, plane in enumerate(planes):
                block = [row[bx : bx + 8] for row in plane[by : by + 8]]
                coefficients = _block_coefficients(block, reciprocals[which[c]])
                t = which[c]
                previous[c] = _encode_block(bits, coefficients, previous[c], dc_codes[t], ac_codes[t])
    scan = bits.flush().replace(b"\xff", b"\xff\x00")
    ncomp = len(planes)
    out = bytearray(b"\xff\xd8")
    out += _segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0")
    for t in range(1 if bands == 1 else 2):
        out += _segment(0xDB, bytes([t]) + bytes(tables[t]))
    frame = struct.pack(">BHHB", 8, height, width, ncomp)
    frame += b"".join(bytes([c + 1, 0x11, which[c]]) for c in range(ncomp))
    out += _segment(0xC0, frame)
    for t in range(1 if bands == 1 else 2):
        out += _segment(0xC4, bytes([0x00 | t]) + bytes(_DC_BITS[t]) + bytes(_DC_VALUES))
        out += _segment(0xC4, bytes([0x10 | t]) + bytes(_AC_BITS[t]) + ac_values[t])
    scan_head = bytes([ncomp]) + b"".join(bytes([c + 1, (which[c] << 4) | which[c]]) for c in range(ncomp))
    out += _segment(0xDA, scan_head + b"\x00\x3f\x00")
    out += scan + b"\xff\xd9"
    return bytes(out)
