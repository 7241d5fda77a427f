"""The Sentinel Hub Catalog's STAC models: those of :mod:`eoclient.stac.models` (any STAC API's)."""

from eoclient.stac.models import (
    INSTALL_STAC,
    Asset,
    Collection,
    Conformance,
    Extent,
    Item,
    LandingPage,
    Link,
    Provider,
    SearchContext,
    SearchPage,
    SpatialExtent,
    StacCatalog,
    TemporalExtent,
    to_pystac_collection,
)

__all__ = [
    "INSTALL_STAC",
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
