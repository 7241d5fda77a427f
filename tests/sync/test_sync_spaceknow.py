"""SpaceKnow through the sync facade: imagery search, a Kraken release followed to its end, its map."""

from __future__ import annotations

from pathlib import Path

import pytest

import eoclient.sync
from eoclient import JobState
from eoclient.bulk import BulkReport
from eoclient.errors import JobFailedError
from eoclient.spaceknow.kraken_models import ReleaseResult
from tests.integration.test_sk_imagery import PRAGUE_POLYGON
from tests.integration.test_sk_kraken import around, files_in, no_part_files, scenes_of

pytestmark = pytest.mark.eo_emulator(seed=3, clock_speed=1000.0)
GBDX = ("gbdx", "idaho-pansharpened")


def test_search_release_and_download_the_map(sk: eoclient.sync.SpaceKnow, tmp_path: Path) -> None:
    found = sk.imagery.search([GBDX], PRAGUE_POLYGON).collect()
    known = {s["sceneId"]: s for s in scenes_of("gbdx", "idaho-pansharpened")}
    scene = next(known[s.scene_id] for s in found if s.scene_id in known)
    job = sk.kraken.release("aircraft", [scene["sceneId"]], around(scene))
    states = [status.state for status in job.watch()]
    assert states[-1] is JobState.SUCCEEDED
    released = job.wait()
    assert isinstance(released, ReleaseResult) and released.tiles
    files = sk.kraken.grid_files("aircraft")
    report = sk.kraken.download_map(released, tmp_path, concurrency=8)
    assert isinstance(report, BulkReport) and report.ok
    assert len(files_in(tmp_path)) == len(released.tiles) * len(files) and no_part_files(tmp_path)


def test_a_failed_release_raises_the_typed_job_error(sk: eoclient.sync.SpaceKnow) -> None:
    scene = scenes_of("airbus")[3]
    job = sk.kraken.release("imagery", [scene["sceneId"]], around(scene), only_ingested=True)
    with pytest.raises(JobFailedError) as info:
        job.wait()
    assert "NO-INGESTED-IMAGERY" in (info.value.error or "")
    assert job.status is not None and job.status.state is JobState.FAILED


def test_search_pages_are_iterated_lazily(sk: eoclient.sync.SpaceKnow) -> None:
    first = next(iter(sk.imagery.search([("pl", "PSScene")], PRAGUE_POLYGON)))
    assert first.scene_id
