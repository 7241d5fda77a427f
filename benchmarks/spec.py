"""What a scenario is: its rows (one client each), its sizes, and how to read its numbers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

Params = Mapping[str, Any]
Facts = Mapping[str, Any]

# The package each kind of row needs; eoclient brings aiohttp.
GROUPS = (
    "eoclient",
    "aiohttp",
    "requests",
    "sentinelhub",
    "obstore",
    "aiobotocore",
    "tifffile",
    "imagecodecs",
    "rasterio",
    "pystac_client",
)
INSTALL_HINT = {
    "requests": "pip install requests",
    "sentinelhub": "pip install sentinelhub; nox -s bench installs it",
    "obstore": "pip install obstore; nox -s bench installs it",
    "aiobotocore": "pip install aiobotocore; nox -s bench installs it",
    "tifffile": "pip install tifffile; nox -s bench installs it",
    "imagecodecs": "pip install imagecodecs; nox -s bench installs it",
    "rasterio": "pip install rasterio; nox -s bench installs it",
    "pystac_client": "pip install pystac-client; nox -s bench installs it",
}


@dataclass(frozen=True)
class Row:
    """One client in a scenario: ``client`` is the function of the scenario module that the child runs."""

    label: str
    client: str
    group: str = "eoclient"
    note: str = ""


@dataclass(frozen=True)
class Scenario:
    """A comparison. The first row is eoclient's: the ratios are relative to it.

    ``amount(params, facts)`` is how much one repetition does (items, requests,
    megabytes) for the throughput column; ``agree`` names the facts every
    client must report identically (the same items, the same bytes), so that
    a faster client cannot be faster by doing less. ``figures(facts)``, when
    given, is a line of each row's own numbers printed under the table (what
    the columns cannot show, e.g. bytes per handle). ``setup(info, params)``,
    when given, is a context around all the scenario's rows (a server to start
    and seed, e.g. moto's S3 server); what it yields is added to the rows' info.
    """

    name: str
    module: str
    summary: str
    rows: tuple[Row, ...]
    normal: Params
    quick: Params
    unit: str
    amount: Callable[[Params, Facts], float]
    headline: Callable[[Params], str]
    agree: tuple[str, ...] = ()
    memory: bool = False
    prepare: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = field(default=None)
    figures: Callable[[Facts], str] | None = None
    setup: Callable[[dict[str, Any], dict[str, Any]], AbstractContextManager[dict[str, Any]]] | None = None
