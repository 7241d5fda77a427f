"""The files of Planet tiles: four per tile, named from its path, the same bytes on every request.

Two small JSON documents, and two GeoTIFFs over the tile's cover geometry
(its bounding box in WGS84; a box fixed by the path when the tile has none):
the 4-band surface reflectance (blue, green, red, near infrared; UINT16 x
10000) and the 8-band usable-data mask (0/1 per band), both drawn from the
emulator's landscape field of the tile, so a tile's files look like imagery
and are georeferenced as PlanetScope files are. Sizes are known before a
pixel is drawn (an uncompressed strip ends each file); an image is drawn once
on first read and kept while it is in use. :func:`file_bytes` gives tests the
bytes the emulator serves.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from eoclient.emulator.core.fields import Grid, Landscape, seed_from
from eoclient.emulator.core.rasters import Raster, tiff_head
from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.sentinelhub.byoc.data import Tile, bounds_of, default_cover

__all__ = ["PlanetFile", "byte_range", "file_bytes", "file_chunks", "file_content", "planet_files"]

_BLOCK: Final = 1 << 16  # files are streamed in blocks of this size
# name suffix: (band kinds, sample type) of Planet's analytic surface reflectance and usable-data mask
_IMAGES: Final = {
    "_ortho_analytic_4b_sr.tif": (("reflectance",) * 4, "UINT16"),
    "_ortho_udm2.tif": (("mask",) * 8, "UINT8"),
}


@dataclass(frozen=True)
class Image:
    """What decides an image file's bytes: its grid, the landscape's seed, its bands' kinds, sample type."""

    bounds: tuple[float, float, float, float]
    width: int
    height: int
    seed: int
    kinds: tuple[str, ...]
    sample_type: str

    epsg: int = 4326

    def raster(self) -> Raster:
        """The image's pixels."""
        grid = Grid(self.bounds, self.width, self.height, self.epsg)
        return Raster(grid, Landscape(self.seed), self.kinds, self.sample_type)


@dataclass(frozen=True)
class PlanetFile:
    """One file of a Planet tile: whole ``text`` for JSON, else an ``image`` drawn on first read."""

    name: str
    size: int
    text: bytes | None = None
    image: Image | None = None


def planet_files(tile: Tile) -> dict[str, PlanetFile]:
    """The four files of a Planet tile, by name."""
    stem = tile.path.rsplit("/", 1)[-1].replace("(BAND)", "").strip("_.-") or "tile"
    files: dict[str, PlanetFile] = {}
    meta = {"id": stem, "tile": tile.id, "item_type": "PSScene", "sensing_time": tile.sensing_time}
    for name, doc in ((f"{stem}.json", {"type": "Feature", "id": stem}), (f"{stem}_metadata.json", meta)):
        text = json.dumps(doc, sort_keys=True).encode()
        files[name] = PlanetFile(name, len(text), text)
    cover = tile.cover_geometry or default_cover(tile)
    bounds, epsg = bounds_of(cover), _epsg_of(cover)
    assert bounds is not None  # a cover geometry is checked when the tile is created
    key = hashlib.sha256(f"{tile.id}|{tile.path}".encode()).digest()
    side = 360 + int.from_bytes(key[:4], "big") % 160  # 360..519 px: about 1-2 MB a file
    for suffix, (kinds, sample_type) in _IMAGES.items():
        image = Image(bounds, side, side, seed_from("planet", tile.id, tile.path), kinds, sample_type, epsg)
        head = tiff_head(Grid(bounds, side, side, epsg), len(kinds), sample_type)
        size = len(head) + image.raster().row_bytes * side
        files[stem + suffix] = PlanetFile(stem + suffix, size, image=image)
    return files


def _epsg_of(geometry: dict[str, Any]) -> int:
    """The EPSG code a geometry's ``crs`` member names (``urn:ogc:def:crs:EPSG::n``); WGS84 if none."""
    name = str(((geometry.get("crs") or {}).get("properties") or {}).get("name", ""))
    match = re.search(r"EPSG(?:/0/|::?)(\d+)$", name)
    return int(match.group(1)) if match and match.group(1) != "4326" else 4326


@lru_cache(maxsize=8)
def _drawn(image: Image) -> bytes:
    raster = image.raster()
    return tiff_head(raster.grid, raster.bands, raster.sample_type) + b"".join(raster.rows())


def file_content(spec: PlanetFile) -> bytes:
    """The whole file (an image is drawn on first use: call it off the event loop)."""
    if spec.text is not None:
        return spec.text
    assert spec.image is not None
    return _drawn(spec.image)


def file_chunks(spec: PlanetFile, start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start..end-1`` of a file, a block at a time."""
    content = file_content(spec)
    for pos in range(start, end, _BLOCK):
        yield content[pos : min(pos + _BLOCK, end)]


def file_bytes(  # noqa: PLR0917 - a test helper, called positionally
    tile_id: str,
    tile_path: str,
    name: str,
    start: int = 0,
    end: int | None = None,
    cover: dict[str, Any] | None = None,
) -> bytes:
    """The bytes of a Planet tile's file as the emulator serves them (``cover``: the tile's coverGeometry)."""
    spec = planet_files(Tile(tile_id, tile_path, 0, 0.0, 0.0, cover_geometry=cover))[name]
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
