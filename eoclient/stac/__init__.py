"""Any STAC API: :class:`StacClient` (item search, paged) and the STAC models Sentinel Hub's Catalog shares.

Names are loaded on first use, so importing a submodule (the models, the
paging that Sentinel Hub's Catalog reuses) does not import the client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eoclient.stac.client import StacClient
    from eoclient.stac.models import Collection, Item, LandingPage, SearchPage
    from eoclient.stac.paging import ItemSearch

__all__ = ["Collection", "Item", "ItemSearch", "LandingPage", "SearchPage", "StacClient"]

_WHERE = {
    "StacClient": "eoclient.stac.client",
    "ItemSearch": "eoclient.stac.paging",
    "Collection": "eoclient.stac.models",
    "Item": "eoclient.stac.models",
    "LandingPage": "eoclient.stac.models",
    "SearchPage": "eoclient.stac.models",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'eoclient.stac' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
