"""Emulated SpaceKnow Kraken: map releases, dry runs, scene pairing and grouping, algorithms, grid tiles.

Routes (SpaceKnow app, bearer required like every emulated route)::

    POST /kraken/release/initiate   {mapTypes, sceneIds, extent[, subGeometry, onlyIngested]}
    POST /kraken/release/retrieve   -> {mapId, maxZoom, status, subGeometryId, tiles: [[z, x, y]]}
    POST /kraken/dry-run/initiate   {dryRuns: [{mapTypes, scenes: [[id, ...]]}], extent[, allocate, ...]}
    POST /kraken/dry-run/retrieve   -> {allocatedCredits, allocatedKm2, analyzedKm2, ingestedKm2, krakenKm2,
                                        scenes: [{cost, costPerKm2, dataset, km2, provider, sceneId}]}
    POST /kraken/pairs/initiate     {sceneIds, extent[, pairingType, periodicity, minIntersection, ...]}
    POST /kraken/pairs/retrieve     -> {pairwise: [{newSceneId, oldSceneId}]}
    POST /kraken/nwise/initiate     {groupingType: "cumulated", sceneIds (>= 3), extent[, minScenes]}
    POST /kraken/nwise/retrieve     -> {nwise: [[id, ...]]}
    POST /kraken/algorithms         {} -> [{mapType, availableDatasets, gridFiles, maxMpix, ...}]
    GET  /kraken/map-classes/{signed_map_id}
    GET  /kraken/grid/{signed_map_id}/{request_geometry_id}/{zoom}/{x}/{y}/{file_name}
         ?user_threshold=&download_unclipped=&force_download=&classification=&detection_filters=

The scenes are those of :mod:`eoclient.emulator.spaceknow.scenes`, including the
ones ingested into this emulator (unknown ids: 404 ``SCENE-NOT-FOUND``).
Permissions are checked as the reference lists them
(:mod:`eoclient.emulator.spaceknow.accounts`): ``kraken.release`` plus
``imagery.images.<provider>.<dataset>`` (map type ``imagery``) or
``algorithms.<map type>.<provider>.<dataset>`` per scene for a release,
``kraken.dry-run``, ``imagery.availability`` for pairs and n-wise,
``kraken.download-unclipped`` for unclipped grid files; ``/kraken/algorithms``
lists only what the caller may run.

A release gets a map id derived from a hash of its request, ``maxZoom`` from
the finest scene resolution, and lists the tiles covering the analysed area
(extent ∩ footprints, or the sub-geometry) at the deepest zoom where at most
:data:`MAX_LISTED_TILES` tiles do; its scenes become ingested
(:func:`~eoclient.emulator.spaceknow.scenes.add_ingested`, also what imagery's
``onlyIngested`` search lists). Its pipeline FAILS (deterministically) with
``NO-INGESTED-IMAGERY`` when ``onlyIngested`` is set and a commercial scene is
not ingested (Earth Engine scenes always count as ingested),
``AREA-TOO-LARGE`` when the analysed megapixels exceed the map type's
``maxMpix``, and ``SCENES-WITH-SAME-DATETIME`` when two scenes of one orbit
group share a datetime (pairwise releases, pairs, n-wise).

A dry run prices each scene with the credits service's cost model
(:func:`eoclient.emulator.spaceknow.credits.engine.quote`: the group's price for the extent's
tiles it has not allocated yet); with ``allocate`` it allocates them through
:func:`eoclient.emulator.spaceknow.credits.engine.allocate` (balance, transactions and
allocations change; ``CREDIT-LIMIT-EXCEEDED`` / ``INSUFFICIENT-CREDIT`` come
back as the initiate's error). A release allocates nothing: the reference
ties credit to ``check-area`` and the dry run's ``allocate`` only.

Grid files are real PNG/GeoTIFF/GeoJSON/JSON (:mod:`eoclient.emulator.spaceknow.tiles`),
streamed with ``Content-Length``, ``ETag`` and single-range ``Range`` /
``If-Range`` support.

Test knobs on :func:`kraken_store`: ``stall_after`` (bytes of every grid body
sent before the handler waits for ``release_stalled()``; ``stalled`` counts the
responses that got there), ``range_requests`` (``(path, Range header)`` seen).

Layout: :mod:`.maps` (the state: released maps, tile cache, test knobs),
:mod:`.inputs` (request checks and geometry), :mod:`.releases` (release and
dry run), :mod:`.pairing` (pairs and n-wise), :mod:`.grid` (map classes and
grid tiles), :mod:`.routes` (what each route takes; ``setup``). The pipelines
are :mod:`eoclient.emulator.spaceknow.pipelines`', the algorithms
:mod:`eoclient.emulator.spaceknow.algorithms`.
"""

from __future__ import annotations

from eoclient.emulator.spaceknow.algorithms import ALGORITHMS, MapType, algorithm_permissions
from eoclient.emulator.spaceknow.kraken.maps import KrakenMap, KrakenStore, kraken_store
from eoclient.emulator.spaceknow.kraken.releases import MAX_LISTED_TILES
from eoclient.emulator.spaceknow.kraken.routes import setup

__all__ = [
    "ALGORITHMS",
    "MAX_LISTED_TILES",
    "KrakenMap",
    "KrakenStore",
    "MapType",
    "algorithm_permissions",
    "kraken_store",
    "setup",
]
