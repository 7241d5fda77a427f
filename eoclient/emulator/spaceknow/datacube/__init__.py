"""Emulated SpaceKnow Datacube: AoIs, catalogue, datapoints (sync and pipeline), products and CSVs.

The world is fixed (the same every run, whatever the seed): five AoIs
(countries and regions) holding ten sites, a catalogue of algorithms over
them (some in two versions), datapoints generated from a hash of
(site, algorithm, version, date) for every date of each catalogue entry, and
five products whose CSVs are generated row by row and streamed as ``text/csv``.

Datapoints queries are evaluated for real: filters (``time-range``,
``value-range``, ``value-list``, ``geo-intersects`` by AoI label or GeoJSON),
only the latest version matched unless ``keepAllVersions``, exact duplicates
dropped unless ``keepDuplicates``, ``resample`` (weekly / monthly / yearly
buckets) and ``aggregator`` (across AoIs; also how buckets are combined,
``mean`` by default) computed on the rows, then ``columns``. A malformed
query is refused at once (400); a query naming fields or AoIs that do not
exist is 400 ``UNKNOWN-FIELD`` / ``AOI-NOT-FOUND`` synchronously and a FAILED
pipeline through ``initiate``. The synchronous get refuses queries matching
more than :data:`MAX_SYNC_ROWS` rows (``QUERY-TOO-LARGE``): use the pipeline.

Every route needs ``datacube.get``; ``showAoiPositions`` and ``showAoiTags``
need ``datacube.get-aoi-positions`` / ``datacube.get-aoi-tags`` (permissions
live in :mod:`eoclient.emulator.spaceknow.accounts`).

Layout: :mod:`.data` (the world: AoIs, sites, catalogue, datapoints,
products), :mod:`.query` (datapoints queries checked and evaluated),
:mod:`.routes` (the HTTP side; ``setup``).
"""

from __future__ import annotations

from eoclient.emulator.spaceknow.datacube.data import AOIS, CATALOGUE, PRODUCTS, SITES, product_rows
from eoclient.emulator.spaceknow.datacube.query import evaluate, parse_query
from eoclient.emulator.spaceknow.datacube.routes import MAX_SYNC_ROWS, setup

__all__ = [
    "AOIS",
    "CATALOGUE",
    "MAX_SYNC_ROWS",
    "PRODUCTS",
    "SITES",
    "evaluate",
    "parse_query",
    "product_rows",
    "setup",
]
