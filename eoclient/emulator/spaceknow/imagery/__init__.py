"""Emulated SpaceKnow Imagery (Ragnar): search, get-image, scene info, providers, ingest.

Routes (SpaceKnow app, bearer required; permissions as in the reference,
checked with :func:`eoclient.emulator.spaceknow.accounts.require`)::

    POST /imagery/search/initiate     search body -> {nextTry, pipelineId, status}
                                      (imagery.images.<provider>.<dataset> per dataset;
                                       phoenix.ingested with onlyIngested)
    POST /imagery/search/retrieve     {pipelineId} -> {"results": [scene...], "cursor": int|null}
                                      (imagery.availability; PAGE_SIZE scenes a page; the cursor
                                       goes into the next initiate)
    POST /imagery/get-image/initiate  {sceneId, extent, resolution?, exportRaster?} -> pipeline
    POST /imagery/get-image/retrieve  {pipelineId} -> {"extent", "meta", "url"}    (imagery.images)
    GET  /imagery/exports/<pipelineId>.tif?signature=   the exported GeoTIFF ``url`` points to
                                      (a signed link: no bearer; Range / If-Range; :mod:`.export`)
    POST /imagery/scene-info          {sceneId, tiles?, forceOffline?} -> scene    (imagery.scene-info)
    POST /imagery/providers           {} -> [provider...], the datasets the caller may use
                                      (imagery.availability)
    POST /imagery/ingest-scene?provider=pl   streamed binary body
                                      -> {"ingestedScenes": [{"duplicate", "sceneId"}]} (ingest-scene)

Scenes come from :mod:`eoclient.emulator.spaceknow.scenes` (the same world Kraken
and credits use) plus the scenes ingested into this emulator (uploaded
here; world scenes a Kraken release ingested are searched with
``onlyIngested`` too). Input the reference forbids is refused with an SK error at initiate: empty or unknown
datasets, world-wide datasets mixed with others, bad or inverted datetimes,
``minIntersection`` outside [0, 1], a missing extent or one whose minimum
bounding rectangle has a side over 400 km (4000 km with ``sceneCoverage``;
no limit for the world-wide datasets), an extent outside the scene, an image
over 3 MPx.

A get-image pipeline over a scene that is not downloadable ends FAILED
(``SCENE-NOT-DOWNLOADABLE``); :func:`fail_next` makes the next pipeline of an
operation fail with a given text, for tests.

The ingest body is read chunk by chunk (hashed and counted, never held);
the scene id is derived from the content, so the same file twice is a
``duplicate``.

Layout: :mod:`.store` (the state: injected failures, ingests, exports),
:mod:`.extent` (extent checks and measures), :mod:`.search`, :mod:`.images`
(get-image, scene-info, providers), :mod:`.export` (the exported image's
link and file), :mod:`.ingest`, :mod:`.routes` (``setup``).
"""

from __future__ import annotations

from eoclient.emulator.spaceknow.imagery.extent import mbr_sides_km
from eoclient.emulator.spaceknow.imagery.images import MAX_PIXELS
from eoclient.emulator.spaceknow.imagery.routes import setup
from eoclient.emulator.spaceknow.imagery.search import MAX_MBR_SIDE_KM, PAGE_SIZE, SCENE_COVERAGE_MBR_SIDE_KM
from eoclient.emulator.spaceknow.imagery.store import ImageryStore, fail_next, imagery_store

__all__ = [
    "MAX_MBR_SIDE_KM",
    "MAX_PIXELS",
    "PAGE_SIZE",
    "SCENE_COVERAGE_MBR_SIDE_KM",
    "ImageryStore",
    "fail_next",
    "imagery_store",
    "mbr_sides_km",
    "setup",
]
