"""Models of SpaceKnow Imagery (Ragnar): scenes, bands, providers, search pages, exported images."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from eoclient._models import Model

__all__ = [
    "Band",
    "Dataset",
    "DayRange",
    "GetImageResult",
    "ImageMeta",
    "IngestResult",
    "IngestedScene",
    "Provider",
    "Scene",
    "SearchResults",
    "TaskingInfo",
]


class Dataset(Model):
    """One dataset to search: ``Dataset(provider="gbdx", dataset="idaho-pansharpened")``."""

    provider: str
    dataset: str

    @property
    def pair(self) -> tuple[str, str]:
        """``(provider, dataset)``, hashable."""
        return (self.provider, self.dataset)


class Band(Model):
    """One band of a scene.

    ``names`` holds the band's short and long names (``["r", "red"]``); pixel
    sizes are in the scene's CRS units; the ``approximate_resolution_*`` and
    ``crs_origin_*`` fields come with scene info and exported images.
    """

    names: list[str] = msgspec.field(default_factory=list)
    bit_depth: int | None = None
    gsd: float | None = None
    pixel_size_x: float | None = None
    pixel_size_y: float | None = None
    approximate_resolution_x: float | None = None
    approximate_resolution_y: float | None = None
    crs_origin_x: float | None = None
    crs_origin_y: float | None = None

    @property
    def name(self) -> str | None:
        """The band's first (short) name."""
        return self.names[0] if self.names else None


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    # SpaceKnow datetimes are UTC without a zone ("2015-11-13 02:34:12").
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


class _SceneBase(Model):
    scene_id: str
    provider: str | None = None
    dataset: str | None = None
    datetime: dt.datetime | None = None
    bands: list[Band] = msgspec.field(default_factory=list)
    footprint: dict[str, Any] | None = None
    crs_epsg: int | None = None
    foreign_id: str | None = None
    satellite: str | None = None
    off_nadir: float | None = None
    sun_azimuth: float | None = None
    sun_elevation: float | None = None
    satellite_azimuth: float | None = None

    def __post_init__(self) -> None:
        self.datetime = _utc(self.datetime)

    @property
    def __geo_interface__(self) -> dict[str, Any]:
        """The scene as a GeoJSON Feature, as catalog items are.

        ``id`` is the scene id, ``geometry`` the footprint (``None`` when the
        answer had none), ``properties`` every other field in its wire form
        (camelCase, datetimes as ISO-8601 strings). A scene therefore works
        wherever a geometry does (shapely ``shape(scene)``, the ``extent`` of a
        search), and ``geopandas.GeoDataFrame.from_features(scenes)`` makes a
        table of scenes.
        """
        properties = self.to_dict()
        properties.pop("footprint", None)
        return {"type": "Feature", "id": self.scene_id, "geometry": self.footprint, "properties": properties}

    @property
    def band_names(self) -> list[str]:
        """The short name of every band, in order."""
        return [b.names[0] for b in self.bands if b.names]


class Scene(_SceneBase):
    """A scene as imagery search and scene info describe it.

    ``datetime`` is timezone-aware UTC; ``downloadable`` says whether the
    account may download the product; ``footprint`` is a GeoJSON geometry
    (``scene.__geo_interface__`` is a Feature of it with the scene's fields).
    """

    downloadable: bool | None = None
    clipped_imagery: bool | None = None
    min_area: float | None = None


class ImageMeta(_SceneBase):
    """What an exported image was made from: the scene and its bands' raster metadata."""


class SearchResults(Model):
    """One page of imagery search: its scenes and the cursor of the next page (``None`` on the last)."""

    results: list[Scene]
    cursor: int | None = None


class GetImageResult(Model):
    """The answer of ``/imagery/get-image/retrieve``: the exported SKI.

    ``extent`` is the area the image covers (a GeoJSON GeometryCollection),
    ``meta`` the scene and band metadata; ``url`` is where the file can be
    downloaded when the service gives one.
    """

    meta: ImageMeta
    extent: dict[str, Any] | None = None
    url: str | None = None


class DayRange(Model):
    """``{min, max}`` of a tasking range."""

    min: float | None = None
    max: float | None = None


class TaskingInfo(Model):
    """How a dataset can be tasked (providers that take new acquisitions)."""

    feasibility_day_range: DayRange | None = None
    preallocation_area_km2: float | None = None
    tasking_day_range: DayRange | None = None
    tasking_resolution: DayRange | None = None


class Provider(Model):
    """One dataset the account can access, with its provider (``/imagery/providers``)."""

    provider: str
    dataset: str
    provider_name: str | None = None
    dataset_name: str | None = None
    dataset_type: str | None = None
    attribution: str | None = None
    change_group: str | None = None
    clip: str | None = None
    downloadable: bool | None = None
    exportable: bool | None = None
    max_mbr_side: float | None = None
    requires_separate_search: bool | None = None
    resolution: list[float] = msgspec.field(default_factory=list)
    thumbnail: bool | None = None
    visualization_bands: list[str] | None = None
    tasking_info: TaskingInfo | None = None

    @property
    def key(self) -> Dataset:
        """The ``(provider, dataset)`` pair to search with."""
        return Dataset(provider=self.provider, dataset=self.dataset)


class IngestedScene(Model):
    """One scene an ingest created; ``duplicate`` when the same scene was ingested before."""

    scene_id: str
    duplicate: bool = False


class IngestResult(Model):
    """The answer of scene ingest."""

    ingested_scenes: list[IngestedScene]
