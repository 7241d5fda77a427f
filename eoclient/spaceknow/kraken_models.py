"""Models of SpaceKnow Kraken: releases, dry runs, scene pairs and groups, algorithms, map classes.

Answers are decoded leniently (unknown fields ignored); requests accept these
models or the plain dicts of the SpaceKnow docs. :class:`MapTile` and
:class:`TileFile` are the client's own: a released map's tiles as
:meth:`~eoclient.spaceknow.kraken.Kraken.tiles` yields them, and each grid file
as :meth:`~eoclient.spaceknow.kraken.Kraken.download_map_each` completes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from eoclient._models import Model
from eoclient.arrays import GeoRef, Raster, read, to_dataarray
from eoclient.bulk import Downloaded, Failure
from eoclient.errors import ValidationError

__all__ = [
    "Algorithm",
    "AlgorithmDataset",
    "ClassInfo",
    "DryRun",
    "DryRunResult",
    "DryRunScene",
    "MapClasses",
    "MapTile",
    "NwiseResult",
    "PairsResult",
    "ReleaseResult",
    "ScenePair",
    "SegmentationMetadata",
    "TileFile",
]

Tile = tuple[int, int, int]


class ReleaseResult(Model):
    """A released map (``/kraken/release/retrieve``).

    ``tiles`` lists ``(zoom, x, y)`` web-mercator tiles covering the analysed
    area; each offers the grid files of the map's types (see
    :attr:`Algorithm.files`), down to ``max_zoom``.
    """

    map_id: str
    max_zoom: int
    tiles: list[Tile]
    status: str | None = None
    sub_geometry_id: str | None = None

    @property
    def geometry_id(self) -> str:
        """The ``request_geometry_id`` of grid URLs: the sub-geometry's, else ``"-"``."""
        return self.sub_geometry_id or "-"


class DryRun(Model):
    """One entry of ``dryRuns``: map types to run on each group of scenes.

    A group holds one scene id for single-scene map types, two for change
    (pairwise) map types, more for n-wise ones.
    """

    map_types: list[str]
    scenes: list[list[str]]


class DryRunScene(Model):
    """What one scene of a dry run costs."""

    scene_id: str
    km2: float
    cost: float
    cost_per_km2: float | None = None
    provider: str | None = None
    dataset: str | None = None


class DryRunResult(Model):
    """Sizes and cost of an analysis before it runs (``/kraken/dry-run/retrieve``)."""

    allocated_credits: float
    allocated_km2: float
    analyzed_km2: float
    ingested_km2: float
    kraken_km2: float
    scenes: list[DryRunScene]

    @property
    def cost(self) -> float:
        """Credits of every scene together."""
        return sum(s.cost for s in self.scenes)


class ScenePair(Model):
    """Two scenes to analyse with a pairwise (change) map type."""

    old_scene_id: str
    new_scene_id: str

    @property
    def scene_ids(self) -> list[str]:
        """``[old, new]``, ready for :meth:`~eoclient.spaceknow.kraken.Kraken.release`."""
        return [self.old_scene_id, self.new_scene_id]


class PairsResult(Model):
    """Scene pairs (``/kraken/pairs/retrieve``)."""

    pairwise: list[ScenePair]


class NwiseResult(Model):
    """Scene groups for n-wise map types (``/kraken/nwise/retrieve``)."""

    nwise: list[list[str]]


class AlgorithmDataset(Model):
    """How an algorithm runs on one dataset."""

    is_global: bool | None = None
    margin_px: int | None = None
    min_size_px: int | None = None
    max_gsd: float | None = None
    resolution: float | None = None
    version: str | None = None


class ClassInfo(Model):
    """A segmentation class: its colour and where it sits in the class hierarchy (snake_case on the wire)."""

    color: list[int] | None = None
    class_: str | None = msgspec.field(default=None, name="class")
    master_class: str | None = msgspec.field(default=None, name="master_class")
    parent_class: str | None = msgspec.field(default=None, name="parent_class")


class SegmentationMetadata(Model):
    """Colours of the segmentation layers."""

    segmentation_colors: dict[str, list[int]] = msgspec.field(default_factory=dict)


class MapClasses(Model):
    """Classes and colours of a map (``/kraken/map-classes/{map_id}``).

    ``segmentation_classification`` maps a classification name (``"default"``,
    custom ones) to ``{class name: ClassInfo}``.
    """

    map_type: str | None = None
    segmentation_classification: dict[str, dict[str, ClassInfo]] | None = None
    segmentation_metadata: SegmentationMetadata | None = None
    deprecated_classes: dict[str, dict[str, list[int]]] | None = None


class Algorithm(Model):
    """A Kraken map type the user may run (``/kraken/algorithms``).

    ``available_datasets`` maps a provider to ``(dataset, AlgorithmDataset)``
    pairs; ``grid_files`` maps a file kind (``png``, ``geotiff``, ``geojson``,
    ``json``, ``ski``) to the file names every tile of such a map offers.
    """

    map_type: str
    description: str | None = None
    available_datasets: dict[str, list[tuple[str, AlgorithmDataset]]] = msgspec.field(default_factory=dict)
    grid_files: dict[str, list[str]] = msgspec.field(default_factory=dict)
    max_mpix: float | None = None
    supports_user_threshold: bool = False
    segmentation_classification: dict[str, dict[str, ClassInfo]] | None = None
    segmentation_metadata: SegmentationMetadata | None = None
    deprecated_classes: dict[str, dict[str, list[int]]] | None = None

    @property
    def files(self) -> list[str]:
        """Every grid file name of this map type."""
        return [name for names in self.grid_files.values() for name in names]

    def supports(self, provider: str, dataset: str) -> bool:
        """Whether the algorithm runs on ``provider``/``dataset``."""
        return any(name == dataset for name, _ in self.available_datasets.get(provider, []))


@dataclass(frozen=True, slots=True)
class MapTile:
    """One tile of a released map, and where each of its grid files is.

    ``paths`` maps a grid file name to its path under the service (what
    :meth:`~eoclient.spaceknow.kraken.Kraken.download_tile` fetches), ``urls``
    to the same as an absolute URL (with the bearer, like every SpaceKnow request).
    """

    map_id: str
    geometry_id: str
    zoom: int
    x: int
    y: int
    paths: Mapping[str, str] = field(default_factory=dict, hash=False)
    urls: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def tile(self) -> Tile:
        """``(zoom, x, y)``."""
        return (self.zoom, self.x, self.y)

    @property
    def files(self) -> list[str]:
        """The grid file names of this tile, in the order asked for."""
        return list(self.paths)


@dataclass(frozen=True, slots=True)
class TileFile:
    """One grid file of a map download, as it completed: its tile, its name and the engine's outcome.

    ``outcome`` is a :class:`~eoclient.bulk.Downloaded` (transferred, or
    ``skipped`` as already complete on disk) or a :class:`~eoclient.bulk.Failure`
    carrying the typed :mod:`eoclient.errors` exception that ended it.
    """

    tile: MapTile
    name: str
    outcome: Downloaded | Failure

    @property
    def path(self) -> Path:
        """Where the file is (or would have been, for a failure)."""
        return self.outcome.item.dest if isinstance(self.outcome, Failure) else self.outcome.path

    @property
    def bytes(self) -> int:
        """The file's size on disk (0 for a failure)."""
        return 0 if isinstance(self.outcome, Failure) else self.outcome.bytes

    @property
    def skipped(self) -> bool:
        """True when the file was already complete on disk and nothing was transferred."""
        return isinstance(self.outcome, Downloaded) and self.outcome.skipped

    @property
    def resumes(self) -> int:
        """How often its transfer was resumed after a lost connection."""
        return self.outcome.resumes if isinstance(self.outcome, Downloaded) else 0

    @property
    def error(self) -> Exception | None:
        """The typed error of a failure, else None."""
        return self.outcome.error if isinstance(self.outcome, Failure) else None

    @property
    def ok(self) -> bool:
        """True unless the file failed."""
        return not isinstance(self.outcome, Failure)

    def to_raster(self) -> Raster:
        """The grid file decoded (PNG, TIFF, JPEG), placed on its web-mercator tile (EPSG:3857).

        A GeoTIFF's own tags win over the tile's bounds. A vector or JSON
        file, or a file that failed, is a :class:`~eoclient.errors.ValidationError`.
        Needs ``pip install 'eoclient[arrays]'``.
        """
        if isinstance(self.outcome, Failure):
            raise ValidationError(
                "file", f"{self.name} of tile {self.tile.tile} failed: {self.outcome.error}"
            )
        if self.name.lower().endswith((".json", ".geojson")):
            raise ValidationError("file", f"{self.name} is a vector file, not a raster")
        raster = read(self.path)
        if raster.georef is not None:
            return raster
        height, width = raster.array.shape[:2]
        return Raster(raster.array, GeoRef.from_tile(*self.tile.tile, width=width, height=height))

    def to_numpy(self) -> Any:
        """The grid file's pixels as a numpy array, band axis last."""
        return self.to_raster().array

    def to_xarray(self, *, band_names: Sequence[str] | None = None) -> Any:
        """The grid file as an ``xarray.DataArray`` with EPSG:3857 coordinates (``eoclient[xarray]``)."""
        raster = self.to_raster()
        return to_dataarray(raster.array, raster.georef, name=self.name, bands=band_names)
