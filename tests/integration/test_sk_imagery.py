"""SpaceKnow Imagery against the emulator: search paging, get-image, scene info, providers, ingest."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.spaceknow import scenes as sk_scenes
from eoclient.emulator.spaceknow.accounts import accounts
from eoclient.emulator.spaceknow.imagery import PAGE_SIZE, fail_next, imagery_store
from eoclient.errors import (
    BadRequestError,
    JobFailedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    TransportError,
    ValidationError,
)
from eoclient.geo import BBox
from eoclient.jobs import JobState
from eoclient.spaceknow import SpaceKnow
from eoclient.spaceknow.imagery import GET_IMAGE_RETRIEVE, SEARCH_RETRIEVE
from eoclient.spaceknow.imagery_models import Dataset, GetImageResult, Provider, Scene, SearchResults
from tests.integration.conftest import sk_client
from tests.integration.stepped import frozen_clock, step_through

pytestmark = pytest.mark.eo_emulator(clock_speed=500.0)

PRAGUE = [14.3, 49.9, 14.6, 50.2]
PRAGUE_POLYGON = {
    "type": "Polygon",
    "coordinates": [[[14.3, 49.9], [14.6, 49.9], [14.6, 50.2], [14.3, 50.2], [14.3, 49.9]]],
}
PSSCENE = ("pl", "PSScene")
YEAR_2020 = (datetime(2020, 1, 1), datetime(2020, 12, 31, 23, 59, 59))


def small_box(scene: Scene | dict[str, Any], size: float = 0.01) -> dict[str, Any]:
    """A square of ``size`` degrees at the centre of a scene's footprint."""
    raw = scene if isinstance(scene, dict) else scene.to_dict()
    x0, y0, x1, y1 = sk_scenes.scene_bbox(raw)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return BBox(cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2).__geo_interface__


def initiates(emu: Emulator, path: str = "/imagery/search/initiate") -> list[dict[str, Any]]:
    return [json.loads(r.body or b"{}") for r in emu.requests if r.path == path]


def imagery_requests(emu: Emulator) -> list[str]:
    return [r.path for r in emu.requests if r.path.startswith("/imagery")]


def first(dataset: tuple[str, str]) -> dict[str, Any]:
    """The earliest scene of ``dataset`` over Prague."""
    return next(
        s
        for s in sk_scenes.catalogue()
        if (s["provider"], s["dataset"]) == dataset and s["foreignId"].startswith("prague-")
    )


# -- search ------------------------------------------------------------------------------


async def test_search_pages_to_the_end_match_the_catalogue(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    truth = sk_scenes.search([PSSCENE], bbox=PRAGUE, start=YEAR_2020[0], end=YEAR_2020[1])
    assert len(truth) > 2 * PAGE_SIZE  # several pages, or this test proves nothing

    scenes = await sk.imagery.search(
        [PSSCENE], PRAGUE_POLYGON, start_datetime="2020-01-01", end_datetime="2020-12-31"
    ).collect()

    assert [s.scene_id for s in scenes] == [s["sceneId"] for s in truth]
    pages = math.ceil(len(truth) / PAGE_SIZE)
    bodies = initiates(eo_emulator)
    assert len(bodies) == pages
    # Each page is a new initiate carrying the previous retrieve's cursor.
    assert "cursor" not in bodies[0]
    assert [b.get("cursor") for b in bodies[1:]] == [PAGE_SIZE * i for i in range(1, pages)]
    assert bodies[0]["startDatetime"] == "2020-01-01 00:00:00"
    assert bodies[0]["endDatetime"] == "2020-12-31 23:59:59"
    assert bodies[0]["datasets"] == [{"provider": "pl", "dataset": "PSScene"}]
    retrieves = [r for r in eo_emulator.requests if r.path == "/imagery/search/retrieve"]
    assert len(retrieves) == pages
    assert any(r.path == "/tasking/get-status" for r in eo_emulator.requests)


async def test_search_answers_typed_scenes(sk: SpaceKnow) -> None:
    scene = (
        await sk.imagery.search([("gbdx", "idaho-pansharpened")], PRAGUE_POLYGON, max_items=1).collect()
    )[0]
    raw = sk_scenes.get_scene(scene.scene_id)
    assert raw is not None
    assert scene.provider == "gbdx" and scene.dataset == "idaho-pansharpened"
    assert scene.datetime == datetime.strptime(raw["datetime"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert scene.band_names == ["r", "g", "b"]
    assert scene.bands[0].names == ["r", "red"] and scene.bands[0].bit_depth == 8
    assert scene.bands[0].gsd == 0.5 and scene.bands[0].pixel_size_y is not None
    assert scene.bands[0].pixel_size_y < 0
    assert scene.footprint is not None and scene.footprint["type"] == "MultiPolygon"
    assert scene.__geo_interface__["geometry"] == scene.footprint
    assert scene.satellite == "WV02" and scene.downloadable is True
    assert scene.off_nadir is not None and scene.sun_elevation is not None and scene.sun_azimuth is not None
    assert scene.satellite_azimuth is not None and scene.crs_epsg == 4326


async def test_max_items_stops_without_another_initiate(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    search = sk.imagery.search([PSSCENE], PRAGUE_POLYGON, max_items=PAGE_SIZE + 10)
    scenes = await search.collect()
    assert len(scenes) == PAGE_SIZE + 10
    assert len(initiates(eo_emulator)) == 2

    eo_emulator.requests.clear()
    exactly_one_page = await sk.imagery.search([PSSCENE], PRAGUE_POLYGON, max_items=PAGE_SIZE).collect()
    assert len(exactly_one_page) == PAGE_SIZE
    assert len(initiates(eo_emulator)) == 1


async def test_search_filters(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    s2 = ("ee", "COPERNICUS/S2_HARMONIZED")
    assert sk_scenes.search([s2], bbox=PRAGUE)  # there are scenes, just none downloadable
    assert await sk.imagery.search([s2], PRAGUE_POLYGON, only_downloadable=True).collect() == []
    assert initiates(eo_emulator)[0]["onlyDownloadable"] is True

    day = first(PSSCENE)["datetime"]
    when = datetime.strptime(day, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    same_second = await sk.imagery.search(
        [Dataset(provider="pl", dataset="PSScene")], PRAGUE_POLYGON, start_datetime=when, end_datetime=when
    ).collect()
    assert [s.datetime for s in same_second] == [when]

    # Several datasets at once, as dicts; scenes come ordered by datetime.
    both = await sk.imagery.search(
        [{"provider": "pl", "dataset": "PSScene"}, {"provider": "airbus", "dataset": "pleiades"}],
        BBox(*PRAGUE),
        start_datetime="2021-01-01",
        end_datetime="2021-03-31",
        min_intersection=0.0,
    ).collect()
    truth = sk_scenes.search(
        [PSSCENE, ("airbus", "pleiades")],
        bbox=PRAGUE,
        start=datetime(2021, 1, 1),
        end=datetime(2021, 3, 31, 23, 59, 59),
    )
    assert [s.scene_id for s in both] == [s["sceneId"] for s in truth]
    assert {s.dataset for s in both} == {"PSScene", "pleiades"}
    assert [s.datetime for s in both] == sorted(s.datetime for s in both if s.datetime)

    # A full-coverage requirement keeps only scenes covering the whole (tiny) extent.
    tiny = small_box(first(PSSCENE), 0.001)
    covering = await sk.imagery.search([PSSCENE], tiny, min_intersection=1.0, max_items=20).collect()
    assert covering
    for scene in covering:
        x0, y0, x1, y1 = sk_scenes.scene_bbox(scene.to_dict())
        ring = tiny["coordinates"][0]
        assert all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in ring)


async def test_world_wide_dataset_needs_no_extent(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    viirs = ("noaa", "VIIRS/Monthly")
    scenes = await sk.imagery.search([viirs]).collect()
    assert len(scenes) == len(sk_scenes.search([viirs])) > PAGE_SIZE
    assert "extent" not in initiates(eo_emulator)[0]
    world = BBox(-180, -80, 180, 80)
    methane = await sk.imagery.search(
        [("ee", "COPERNICUS/S5P/OFFL/L3_CH4")], world, start_datetime="2024-01-01", max_items=3
    ).collect()
    assert len(methane) == 3 and all(s.dataset == "COPERNICUS/S5P/OFFL/L3_CH4" for s in methane)


async def test_scene_coverage_allows_4000_km(sk: SpaceKnow) -> None:
    big = BBox(10.0, 45.0, 20.0, 52.0)  # ~700 km: over 400, under 4000
    with pytest.raises(ValidationError) as info:
        sk.imagery.search([PSSCENE], big)
    assert info.value.field == "extent"
    scenes = await sk.imagery.search([PSSCENE], big, scene_coverage=True, max_items=5).collect()
    assert len(scenes) == 5


async def test_search_job_is_one_page(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    with frozen_clock(eo_emulator):  # each phase is seen, however slow the machine
        job = await sk.imagery.search_job([PSSCENE], PRAGUE_POLYGON, start_datetime="2020-01-01")
        assert len(job.id) == 20
        seen = [s.raw for s in await step_through(job, eo_emulator)]
    page = await job
    assert isinstance(page, SearchResults)
    # Which intermediate states a poll catches depends on the machine's load (the emulator's clock
    # is accelerated): assert the order, not that PROCESSING was caught.
    order = ["NEW", "PROCESSING", "RESOLVED"]
    assert seen[-1] == "RESOLVED" and seen == sorted(seen, key=order.index)
    assert len(page.results) == PAGE_SIZE and page.cursor == PAGE_SIZE

    second = await (
        await sk.imagery.search_job(
            [PSSCENE], PRAGUE_POLYGON, start_datetime="2020-01-01", cursor=page.cursor
        )
    )
    assert second.results[0].scene_id != page.results[0].scene_id
    assert initiates(eo_emulator)[-1]["cursor"] == PAGE_SIZE

    # Re-attached from the id or the resume token, the job decodes the same typed page.
    again = await sk.pipeline(job.id, retrieve=SEARCH_RETRIEVE)
    assert again == page
    resumed = await sk.resume_job(job.resume_token)
    assert resumed == page


async def test_failed_search_pipeline_raises(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    fail_next(eo_emulator.state, "imagery/search", "PROVIDER-UNAVAILABLE: Planet did not answer")
    with pytest.raises(JobFailedError) as info:
        await sk.imagery.search([PSSCENE], PRAGUE_POLYGON).collect()
    assert info.value.status == "FAILED"
    assert "PROVIDER-UNAVAILABLE" in (info.value.error or "")
    # A failure on a later page surfaces after the earlier pages were yielded.
    got: list[Scene] = []
    search = sk.imagery.search([PSSCENE], PRAGUE_POLYGON)
    with pytest.raises(JobFailedError):
        async for page in search.pages():
            got.extend(page.items)
            fail_next(eo_emulator.state, "imagery/search", "PROVIDER-UNAVAILABLE: later page")
    assert len(got) == PAGE_SIZE


async def test_search_service_errors(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    with pytest.raises(BadRequestError) as info:
        await sk.imagery.search([("pl", "NoSuchDataset")], PRAGUE_POLYGON).collect()
    assert info.value.code == "DATASET-NOT-FOUND"

    accounts(eo_emulator.state).revoke("imagery.images.pl.PSScene")
    with pytest.raises(PermissionDeniedError) as denied:
        await sk.imagery.search([PSSCENE], PRAGUE_POLYGON).collect()
    assert denied.value.status == 403 and denied.value.code == "NOT-AUTHORIZED"

    accounts(eo_emulator.state).revoke("phoenix.ingested")
    with pytest.raises(PermissionDeniedError):
        await sk.imagery.search([("airbus", "pleiades")], PRAGUE_POLYGON, only_ingested=True).collect()


# -- input refused before sending ----------------------------------------------------------

BAD_SEARCHES: list[tuple[dict[str, Any], str]] = [
    ({"datasets": []}, "datasets"),
    ({"datasets": None}, "datasets"),
    ({"datasets": PSSCENE}, "datasets"),
    ({"datasets": ["pl/PSScene"]}, "datasets[0]"),
    ({"datasets": [("pl",)]}, "datasets[0]"),
    ({"datasets": [("pl", "")]}, "datasets[0]"),
    ({"datasets": [("pl", 3)]}, "datasets[0]"),
    ({"datasets": [{"provider": "pl"}]}, "datasets[0].dataset"),
    ({"datasets": [("ee", "COPERNICUS/S5P/OFFL/L3_CH4"), PSSCENE]}, "datasets"),
    (
        {"datasets": [("ee", "COPERNICUS/S5P/OFFL/L3_CH4"), ("ee", "JAXA/GPM_L3/GSMaP/v6/operational")]},
        "datasets",
    ),
    ({"extent": None}, "extent"),
    ({"extent": {"type": "Polygon", "coordinates": []}}, "extent"),
    ({"extent": "POLYGON((1 2, 3 4))"}, "extent"),
    ({"extent": BBox(14.0, 45.0, 20.0, 50.0)}, "extent"),  # ~430 x 560 km
    ({"extent": BBox(-10.0, 20.0, 40.0, 60.0), "scene_coverage": True}, "extent"),  # > 4000 km
    (  # a BBox(200, ...) is refused as it is made: the longitude is out of range
        {"extent": {"type": "Polygon", "coordinates": [[[200, 10], [201, 10], [201, 11], [200, 10]]]}},
        "extent.coordinates[0][0][0]",
    ),
    ({"start_datetime": "yesterday"}, "start_datetime"),
    ({"end_datetime": "2020-13-01"}, "end_datetime"),
    ({"start_datetime": 20200101}, "start_datetime"),
    ({"start_datetime": "2021-01-01", "end_datetime": "2020-12-31"}, "end_datetime"),
    ({"start_datetime": datetime(2020, 1, 2, tzinfo=UTC), "end_datetime": "2020-01-01"}, "end_datetime"),
    ({"min_intersection": 1.5}, "min_intersection"),
    ({"min_intersection": -0.1}, "min_intersection"),
    ({"min_intersection": True}, "min_intersection"),
    ({"min_intersection": "half"}, "min_intersection"),
    ({"only_downloadable": "yes"}, "only_downloadable"),
    ({"force_refresh": 1}, "force_refresh"),
]


@pytest.mark.parametrize(("kwargs", "field"), BAD_SEARCHES)
async def test_bad_search_input_is_refused_before_sending(
    sk: SpaceKnow, eo_emulator: Emulator, kwargs: dict[str, Any], field: str
) -> None:
    args: dict[str, Any] = {"datasets": [PSSCENE], "extent": PRAGUE_POLYGON, **kwargs}
    with pytest.raises(ValidationError) as info:
        sk.imagery.search(args.pop("datasets"), args.pop("extent"), **args)
    assert info.value.field == field
    with pytest.raises(ValidationError):
        await sk.imagery.search_job([PSSCENE], PRAGUE_POLYGON, cursor=-1)
    with pytest.raises(ValidationError):
        sk.imagery.search([PSSCENE], PRAGUE_POLYGON, max_items=-1)
    assert imagery_requests(eo_emulator) == []


async def test_bad_image_and_info_input_is_refused_before_sending(
    sk: SpaceKnow, eo_emulator: Emulator
) -> None:
    scene = first(PSSCENE)
    box = small_box(scene)
    cases: list[tuple[Any, str]] = [
        (sk.imagery.get_image("", box), "scene_id"),
        (sk.imagery.get_image(None, box), "scene_id"),  # type: ignore[arg-type]
        (sk.imagery.get_image(scene["sceneId"], None), "extent"),
        (sk.imagery.get_image(scene["sceneId"], {"type": "Nope"}), "extent"),
        (sk.imagery.get_image(scene["sceneId"], box, resolution=0), "resolution"),
        (sk.imagery.get_image(scene["sceneId"], box, resolution=float("nan")), "resolution"),
        (sk.imagery.get_image(scene["sceneId"], box, export_raster=""), "export_raster"),
        (
            sk.imagery.get_image(scene["sceneId"], box, resolution=2.0, export_raster="geotiff"),
            "export_raster",
        ),
        (sk.imagery.scene_info(""), "scene_id"),
        (sk.imagery.scene_info("x", tiles=[[1, 2, 3]]), "tiles[0]"),
        (sk.imagery.scene_info("x", tiles=[["a", 2]]), "tiles[0]"),
        (sk.imagery.scene_info("x", force_offline="no"), "force_offline"),  # type: ignore[arg-type]
        (sk.imagery.ingest("", b"data"), "provider"),
        (sk.imagery.ingest("pl", b""), "source"),
        (sk.imagery.ingest("pl", 42), "source"),  # type: ignore[arg-type]
        (sk.imagery.ingest("pl", "/no/such/file.zip"), "source"),
        (sk.imagery.ingest("pl", b"data", chunk_size=0), "chunk_size"),
    ]
    for call, field in cases:
        with pytest.raises(ValidationError) as info:
            await call
        assert info.value.field == field
    assert imagery_requests(eo_emulator) == []


# -- get-image -------------------------------------------------------------------------------


async def test_get_image_resolves_with_typed_result(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    scene = first(("gbdx", "idaho-pansharpened"))
    box = small_box(scene, 0.003)
    with frozen_clock(eo_emulator):  # each phase is seen, however slow the machine
        job = await sk.imagery.get_image(scene["sceneId"], box)
        statuses = await step_through(job, eo_emulator)
    image = await job
    assert isinstance(image, GetImageResult)
    assert statuses[-1].state is JobState.SUCCEEDED
    assert "Exporting SKI" in {s.message for s in statuses}
    assert image.meta.scene_id == scene["sceneId"] and image.meta.provider == "gbdx"
    assert image.extent == {"type": "GeometryCollection", "geometries": [box]}
    band = image.meta.bands[0]
    assert band.approximate_resolution_x == 0.5 and band.crs_origin_x is not None
    body = initiates(eo_emulator, "/imagery/get-image/initiate")[0]
    assert body == {"sceneId": scene["sceneId"], "extent": box}

    rescaled = await (await sk.imagery.get_image(scene["sceneId"], box, resolution=2))
    assert rescaled.meta.bands[0].approximate_resolution_x == 2.0
    raster = await sk.imagery.get_image(scene["sceneId"], box, export_raster="geotiff")
    assert initiates(eo_emulator, "/imagery/get-image/initiate")[-1]["exportRaster"] == "geotiff"
    assert (await sk.pipeline(raster.id, retrieve=GET_IMAGE_RETRIEVE)).meta.scene_id == scene["sceneId"]


async def test_get_image_failed_pipelines(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    not_downloadable = first(("ee", "COPERNICUS/S2_HARMONIZED"))
    job = await sk.imagery.get_image(not_downloadable["sceneId"], small_box(not_downloadable))
    with pytest.raises(JobFailedError) as info:
        await job
    assert "SCENE-NOT-DOWNLOADABLE" in (info.value.error or "")
    assert job.status is not None and job.status.state is JobState.FAILED

    scene = first(PSSCENE)
    fail_next(eo_emulator.state, "imagery/get-image", "EXPORT-FAILED: disk full")
    with pytest.raises(JobFailedError) as injected:
        await (await sk.imagery.get_image(scene["sceneId"], small_box(scene)))
    assert "EXPORT-FAILED" in (injected.value.error or "")
    # Only the next pipeline was affected.
    assert (await (await sk.imagery.get_image(scene["sceneId"], small_box(scene)))).meta.scene_id


async def test_get_image_service_errors(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    scene = first(PSSCENE)
    with pytest.raises(NotFoundError) as missing:
        await sk.imagery.get_image("no-such-scene", small_box(scene))
    assert missing.value.code == "SCENE-NOT-FOUND"
    with pytest.raises(BadRequestError) as outside:
        await sk.imagery.get_image(scene["sceneId"], BBox(0.0, 0.0, 0.01, 0.01))
    assert outside.value.code == "EXTENT-OUTSIDE-SCENE"
    with pytest.raises(BadRequestError) as large:
        await sk.imagery.get_image(scene["sceneId"], small_box(scene, 0.1))  # ~3700 x 3700 px at 3 m
    assert large.value.code == "IMAGE-TOO-LARGE"
    accounts(eo_emulator.state).revoke("imagery.images")
    job = await sk.imagery.get_image(scene["sceneId"], small_box(scene))
    with pytest.raises(PermissionDeniedError):
        await job


# -- scene info and providers ----------------------------------------------------------------


async def test_scene_info(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    scene = first(("airbus", "pleiades"))
    info = await sk.imagery.scene_info(scene["sceneId"], tiles=[[26, 55]], force_offline=False)
    assert isinstance(info, Scene)
    assert info.scene_id == scene["sceneId"] and info.dataset == "pleiades"
    assert info.bands[0].crs_origin_x == sk_scenes.scene_bbox(scene)[0]
    assert info.bands[0].approximate_resolution_y == 0.5
    sent = [json.loads(r.body or b"") for r in eo_emulator.requests if r.path == "/imagery/scene-info"]
    assert sent == [{"sceneId": scene["sceneId"], "tiles": [[26, 55]], "forceOffline": False}]

    with pytest.raises(NotFoundError) as missing:
        await sk.imagery.scene_info("no-such-scene")
    assert missing.value.code == "SCENE-NOT-FOUND"
    accounts(eo_emulator.state).revoke("imagery.scene-info")
    with pytest.raises(PermissionDeniedError) as denied:
        await sk.imagery.scene_info(scene["sceneId"])
    assert denied.value.code == "NOT-AUTHORIZED"


async def test_providers(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    providers = await sk.imagery.providers()
    assert all(isinstance(p, Provider) for p in providers)
    assert [p.key.pair for p in providers] == [
        (p["provider"], p["dataset"]) for p in sk_scenes.all_providers()
    ]
    s1 = next(p for p in providers if p.dataset == "COPERNICUS/S1_GRD")
    assert s1.dataset_type == "sar-grd" and s1.resolution == [10.0, 40.0] and s1.max_mbr_side == 400000
    assert next(p for p in providers if p.dataset == "COPERNICUS/S5P/OFFL/L3_CH4").requires_separate_search

    accounts(eo_emulator.state).revoke("imagery.images.pl.PSScene")
    assert "PSScene" not in {p.dataset for p in await sk.imagery.providers()}
    accounts(eo_emulator.state).revoke("imagery.availability")
    with pytest.raises(PermissionDeniedError):
        await sk.imagery.providers()


# -- ingest ------------------------------------------------------------------------------------


SCENE_DATA = bytes(range(256)) * (3 * 4096 + 7)  # ~3 MB, not a multiple of any chunk size


@pytest.fixture
def scene_file(tmp_path: Path) -> Path:
    path = tmp_path / "scene.zip"
    path.write_bytes(SCENE_DATA)
    return path


async def test_ingest_streams_a_file(sk: SpaceKnow, eo_emulator: Emulator, scene_file: Path) -> None:
    result = await sk.imagery.ingest("pl", scene_file, chunk_size=64 * 1024)
    [ingested] = result.ingested_scenes
    assert ingested.duplicate is False and len(ingested.scene_id) == 64
    record = imagery_store(eo_emulator.state).ingests[-1]
    assert record["bytes"] == len(SCENE_DATA) and record["provider"] == "pl"
    [request] = [r for r in eo_emulator.requests if r.path == "/imagery/ingest-scene"]
    assert request.query == "provider=pl" and request.content_type == "application/octet-stream"
    assert request.body is None  # not a JSON body: the emulator never buffered it

    # The scene is searchable and described at once; the same file again is a duplicate.
    info = await sk.imagery.scene_info(ingested.scene_id)
    assert info.provider == "pl" and info.dataset == "PSScene"
    found = await sk.imagery.search([PSSCENE], small_box(info.to_dict(), 0.001), only_ingested=True).collect()
    assert [s.scene_id for s in found] == [ingested.scene_id]
    again = await sk.imagery.ingest("pl", str(scene_file))
    assert again.ingested_scenes[0].duplicate is True
    assert again.ingested_scenes[0].scene_id == ingested.scene_id


async def test_ingest_from_async_iterable_file_object_and_bytes(
    sk: SpaceKnow, eo_emulator: Emulator, scene_file: Path
) -> None:
    data = SCENE_DATA

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 100_000):
            yield data[i : i + 100_000]

    from_iterable = await sk.imagery.ingest("pl", chunks())
    with scene_file.open("rb") as fh:
        from_file_object = await sk.imagery.ingest("pl", fh)
    from_bytes = await sk.imagery.ingest("pl", bytearray(data))
    ids = {r.ingested_scenes[0].scene_id for r in (from_iterable, from_file_object, from_bytes)}
    assert len(ids) == 1  # the same content, whatever the source
    assert [r["bytes"] for r in imagery_store(eo_emulator.state).ingests] == [len(data)] * 3


async def test_ingest_retries_resend_a_path_but_never_a_consumed_iterable(
    eo_emulator: Emulator, scene_file: Path
) -> None:
    async with sk_client(eo_emulator) as sk:
        await sk.authenticate()
        eo_emulator.faults.inject("rate_limit", path_prefix="/imagery/ingest-scene", retry_after=0.01)
        result = await sk.imagery.ingest("airbus", scene_file)
        assert result.ingested_scenes[0].duplicate is False
        assert imagery_store(eo_emulator.state).ingests[-1]["bytes"] == len(SCENE_DATA)

        async def once() -> AsyncIterator[bytes]:
            yield b"abc" * 1000

        eo_emulator.faults.inject("rate_limit", path_prefix="/imagery/ingest-scene", retry_after=0.01)
        with pytest.raises(RateLimitError):  # not retried: the iterable may be half consumed
            await sk.imagery.ingest("airbus", once())

        # A 401 replays the request once: an async iterable cannot be replayed and says so.
        eo_emulator.faults.inject("token_expiry", path_prefix="/imagery/ingest-scene")
        with pytest.raises(TransportError, match="cannot be sent again"):
            await sk.imagery.ingest("airbus", once())
    assert len(imagery_store(eo_emulator.state).ingests) == 1


async def test_ingest_service_errors(sk: SpaceKnow, eo_emulator: Emulator, scene_file: Path) -> None:
    with pytest.raises(BadRequestError) as unknown:
        await sk.imagery.ingest("nobody", scene_file)
    assert unknown.value.code == "PROVIDER-NOT-FOUND"
    accounts(eo_emulator.state).revoke("ingest-scene")
    with pytest.raises(PermissionDeniedError) as denied:
        await sk.imagery.ingest("pl", scene_file)
    assert denied.value.code == "NOT-AUTHORIZED"
    assert imagery_store(eo_emulator.state).ingests == []
