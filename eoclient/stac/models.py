"""Typed STAC models: items, collections, landing page, search pages (any STAC API, Sentinel Hub's too).

STAC mixes naming styles on the wire (``stac_version``, ``conformsTo``,
``numberMatched``, ``eo:cloud_cover``): fields default to camelCase (the
:class:`~eoclient._models.Model` convention) and the snake_case ones say so.
Unknown fields are ignored; open-ended parts (``properties``, ``summaries``)
stay plain dicts.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import msgspec

from eoclient._models import Model
from eoclient.errors import ConfigurationError, ValidationError
from eoclient.paging import Page, StacNext

__all__ = [
    "Asset",
    "Collection",
    "Conformance",
    "Extent",
    "Item",
    "LandingPage",
    "Link",
    "Provider",
    "SearchContext",
    "SearchPage",
    "SpatialExtent",
    "StacCatalog",
    "TemporalExtent",
    "to_pystac_collection",
]

T = TypeVar("T")
INSTALL_STAC: Final = "pip install 'eoclient[stac]'"


def _pystac() -> Any:
    """The pystac module, or a :class:`ConfigurationError` that says what to install."""
    try:
        return importlib.import_module("pystac")  # optional, imported on first use
    except ImportError:
        raise ConfigurationError(f"pystac objects need the stac extra: {INSTALL_STAC}") from None


# Links and assets are leaves (text and lists of text): untracked by the garbage collector (gc=False),
# which otherwise walks the tens of thousands a large listing keeps, over and over, for no cycle.


class Link(Model, gc=False):
    """A STAC/OGC link. ``method``, ``headers``, ``body`` and ``merge`` describe how to follow it."""

    href: str
    rel: str = ""
    type: str | None = None
    title: str | None = None
    method: str | None = None
    headers: dict[str, str] | None = None
    body: dict[str, Any] | None = None
    merge: bool = False


class Asset(Model, gc=False):
    """A file (or directory) an item points to."""

    href: str
    title: str | None = None
    description: str | None = None
    type: str | None = None
    roles: list[str] | None = None


def _parse_datetime(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class Item(Model):
    """A STAC item (a GeoJSON Feature): one scene or tile.

    ``properties`` is the raw dict (``item.properties["eo:cloud_cover"]``);
    :attr:`datetime` is its ``datetime`` parsed (timezone-aware UTC). The item
    has ``__geo_interface__`` (a GeoJSON Feature: ``id``, ``geometry``,
    ``bbox``, ``properties``), so shapely's ``shape(item)`` and
    ``geopandas.GeoDataFrame.from_features(items)`` work; :meth:`to_pystac`
    gives a ``pystac.Item``. Fields may be
    missing when a search used ``fields`` to leave them out, except ``id``: the
    service always keeps it, and an item without one is a
    :class:`~eoclient.errors.ResponseDecodeError`.
    """

    id: str
    type: str = "Feature"
    stac_version: str | None = msgspec.field(default=None, name="stac_version")
    stac_extensions: list[str] = msgspec.field(default_factory=list, name="stac_extensions")
    collection: str | None = None
    geometry: dict[str, Any] | None = None
    bbox: list[float] | None = None
    properties: dict[str, Any] = msgspec.field(default_factory=dict)
    assets: dict[str, Asset] = msgspec.field(default_factory=dict)
    links: list[Link] = msgspec.field(default_factory=list)

    @property
    def datetime(self) -> dt.datetime | None:
        """``properties["datetime"]`` as an aware ``datetime`` (``None`` when absent or null)."""
        return _parse_datetime(self.properties.get("datetime"))

    @property
    def __geo_interface__(self) -> dict[str, Any]:
        """The item as a GeoJSON Feature (``bbox`` and ``collection`` when the item has them)."""
        feature: dict[str, Any] = {"type": "Feature", "id": self.id, "geometry": self.geometry}
        if self.bbox is not None:
            feature["bbox"] = self.bbox
        if self.collection is not None:
            feature["collection"] = self.collection
        feature["properties"] = self.properties
        return feature

    def to_pystac(self) -> Any:
        """The item as a ``pystac.Item`` (needs ``pip install 'eoclient[stac]'``).

        Made from the fields this model keeps: an asset's fields other than
        ``href``, ``title``, ``description``, ``type`` and ``roles`` are not
        carried over. An item without ``datetime`` (nor ``start_datetime`` and
        ``end_datetime``), e.g. one a search's ``fields`` left it out of, is
        refused with a :class:`~eoclient.errors.ValidationError`, as STAC
        requires one.
        """
        pystac = _pystac()
        props = self.properties
        if props.get("datetime") is None and not (props.get("start_datetime") and props.get("end_datetime")):
            raise ValidationError(
                "properties.datetime",
                f"item {self.id!r} has no datetime (nor start_datetime and end_datetime), which a "
                "pystac Item needs; did the search's fields leave it out?",
            )
        wire = self.to_dict()
        wire.setdefault("stac_version", pystac.get_stac_version())
        wire.setdefault("properties", {})
        return pystac.Item.from_dict(wire, migrate=False, preserve_dict=False)


def to_pystac_collection(items: Iterable[Item]) -> Any:
    """A ``pystac.ItemCollection`` of catalog items (needs ``pip install 'eoclient[stac]'``).

    A search is an async iterator: ``to_pystac_collection(await sh.catalog.search(...).collect())``.
    """
    pystac = _pystac()
    return pystac.ItemCollection([item.to_pystac() for item in items])


class Provider(Model):
    """An organisation that produced, processed or hosts the data."""

    name: str
    description: str | None = None
    roles: list[str] = msgspec.field(default_factory=list)
    url: str | None = None


class SpatialExtent(Model):
    """``bbox``: the overall box first, then finer ones."""

    bbox: list[list[float]] = msgspec.field(default_factory=list)


class TemporalExtent(Model):
    """``interval``: ``[[start, end]]`` as RFC 3339 strings, ``None`` for open ends."""

    interval: list[list[str | None]] = msgspec.field(default_factory=list)


class Extent(Model):
    """Spatial and temporal extent of a collection."""

    spatial: SpatialExtent = msgspec.field(default_factory=SpatialExtent)
    temporal: TemporalExtent = msgspec.field(default_factory=TemporalExtent)


class StacCatalog(Model):
    """The fields of every STAC catalog; a STAC collection is a catalog with more fields."""

    id: str
    type: str = "Catalog"
    stac_version: str | None = msgspec.field(default=None, name="stac_version")
    stac_extensions: list[str] = msgspec.field(default_factory=list, name="stac_extensions")
    title: str | None = None
    description: str = ""


class Collection(StacCatalog):
    """A STAC collection (``sentinel-2-l2a``, ``byoc-<id>``, ...)."""

    type: str = "Collection"
    keywords: list[str] = msgspec.field(default_factory=list)
    license: str | None = None
    providers: list[Provider] = msgspec.field(default_factory=list)
    extent: Extent | None = None
    summaries: dict[str, Any] = msgspec.field(default_factory=dict)
    links: list[Link] = msgspec.field(default_factory=list)
    assets: dict[str, Asset] = msgspec.field(default_factory=dict)


class LandingPage(StacCatalog):
    """The catalog root: identity, conformance classes and links to everything else."""

    conforms_to: list[str] = msgspec.field(default_factory=list)
    links: list[Link] = msgspec.field(default_factory=list)

    def link(self, rel: str, *, method: str | None = None) -> Link | None:
        """The first link with relation ``rel`` (and ``method``, when given)."""
        for link in self.links:
            if link.rel == rel and (method is None or (link.method or "GET").upper() == method.upper()):
                return link
        return None


class Conformance(Model):
    """The conformance classes the service implements."""

    conforms_to: list[str]

    def __contains__(self, uri: object) -> bool:
        return uri in self.conforms_to


class SearchContext(Model):
    """The STAC context extension: what a search page holds and where the next one starts."""

    returned: int | None = None
    limit: int | None = None
    matched: int | None = None
    next: int | str | None = None


@dataclass(frozen=True, slots=True)
class SearchPage(Page[T, StacNext]):
    """One page of a search, an items listing or the collections listing.

    Besides ``items`` (the features, or the distinct values of a ``distinct``
    search) and ``next`` (the :class:`~eoclient.paging.StacNext` request that fetches the following page), it
    keeps what the service said about the page: ``links``, ``context``,
    ``number_matched`` and ``number_returned`` (``None`` when not given).
    """

    links: Sequence[Link] = field(default_factory=tuple)
    context: SearchContext | None = None
    number_matched: int | None = None
    number_returned: int | None = None

    @property
    def features(self) -> Sequence[T]:
        """The page's features (the same as ``items``)."""
        return self.items
