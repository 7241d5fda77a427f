"""The files of Planet tiles: four per tile, named from its path, their bytes generated block by block.

The bytes derive from a hash of (tile, file, block): the same on every
request, streamed without being held whole. :func:`file_bytes` gives tests
the bytes the emulator serves.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.sentinelhub.byoc.data import Tile

__all__ = ["PlanetFile", "byte_range", "file_bytes", "file_chunks", "planet_files"]

_BLOCK: Final = 1 << 16  # file bytes are generated (and streamed) in blocks of this size


@dataclass(frozen=True)
class PlanetFile:
    """One file of a Planet tile: whole ``text`` for JSON, else generated from ``key``."""

    name: str
    size: int
    key: bytes
    text: bytes | None = None  # small JSON files are built whole; images are generated in blocks


def planet_files(tile: Tile) -> dict[str, PlanetFile]:
    """The four files of a Planet tile, by name."""
    stem = tile.path.rsplit("/", 1)[-1].replace("(BAND)", "").strip("_.-") or "tile"
    files: dict[str, PlanetFile] = {}
    meta = {"id": stem, "tile": tile.id, "item_type": "PSScene", "sensing_time": tile.sensing_time}
    for name, doc in ((f"{stem}.json", {"type": "Feature", "id": stem}), (f"{stem}_metadata.json", meta)):
        text = json.dumps(doc, sort_keys=True).encode()
        files[name] = PlanetFile(name, len(text), b"", text)
    for suffix, base, spread in (
        ("_ortho_analytic_4b_sr.tif", 3 << 20, 1 << 20),
        ("_ortho_udm2.tif", 1 << 19, 1 << 18),
    ):
        name = stem + suffix
        key = hashlib.sha256(f"{tile.id}|{name}".encode()).digest()
        size = base + int.from_bytes(key[:4], "big") % spread
        files[name] = PlanetFile(name, size, key)
    return files


def _block(key: bytes, index: int) -> bytes:
    seed = int.from_bytes(hashlib.blake2b(key + index.to_bytes(8, "big"), digest_size=16).digest(), "big")
    data = random.Random(seed).randbytes(_BLOCK)
    return b"II*\x00" + data[4:] if index == 0 else data  # a TIFF's magic number, for looks


def file_chunks(spec: PlanetFile, start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start..end-1`` of a file, one generated block at a time."""
    if spec.text is not None:
        yield spec.text[start:end]
        return
    pos = start
    while pos < end:
        index, skip = divmod(pos, _BLOCK)
        piece = _block(spec.key, index)[skip : skip + (end - pos)]
        yield piece
        pos += len(piece)


def file_bytes(tile_id: str, tile_path: str, name: str, start: int = 0, end: int | None = None) -> bytes:
    """The bytes of a Planet tile's file as the emulator serves them (for tests; small ranges only)."""
    spec = planet_files(Tile(tile_id, tile_path, 0, 0.0, 0.0))[name]
    return b"".join(file_chunks(spec, start, spec.size if end is None else min(end, spec.size)))


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """``(start, end)`` inclusive for one ``bytes=`` range; ``None`` to serve the whole file.

    A :class:`Refusal` (416, with ``Content-Range``) when the range lies beyond the file.
    """
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if match is None or not (match.group(1) or match.group(2)):
        return None  # several or malformed ranges: RFC 7233 lets a server ignore them
    first, last = match.group(1), match.group(2)
    if not first:
        start, end = max(0, size - int(last)), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise Refusal(
            416,
            None,
            f"range {header!r} is not satisfiable for {size} bytes",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return start, end
