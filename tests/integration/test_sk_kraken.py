"""SpaceKnow Kraken against the emulator: releases, dry runs, pairs, n-wise, algorithms, grid tiles, bulk."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from aiohttp import web

from eoclient.bulk import BulkDownloadError, Downloaded, download_all, download_file
from eoclient.emulator import Emulator
from eoclient.emulator.core.state import EmulatorState
from eoclient.emulator.spaceknow.credits import ledger
from eoclient.emulator.spaceknow.kraken import kraken_store
from eoclient.emulator.spaceknow.scenes import catalogue, scene_bbox
from eoclient.errors import (
    BadRequestError,
    JobFailedError,
    NotFoundError,
    ServerError,
    TransportError,
    ValidationError,
)
from eoclient.jobs import JobState
from eoclient.spaceknow import SpaceKnow
from eoclient.spaceknow.kraken_models import (
    Algorithm,
    DryRun,
    DryRunResult,
    MapClasses,
    NwiseResult,
    PairsResult,
    ReleaseResult,
)
from tests.integration.conftest import sk_client

# -- a test-only file route: a server without Range support, and one that always breaks off ----------------

_PLAIN = bytes(range(256)) * 400  # 100 KiB


def plain_files(app: web.Application, state: EmulatorState) -> None:
    async def whole(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.content_type = "application/octet-stream"
        resp.content_length = len(_PLAIN)  # never 206: Range is ignored
        await resp.prepare(request)
        for i in range(0, len(_PLAIN), 8192):
            await resp.write(_PLAIN[i : i + 8192])
        await resp.write_eof()
        return resp

    app.router.add_get("/test/plain/{name}", whole)


pytestmark = pytest.mark.eo_emulator(clock_speed=500.0, spaceknow_setup=[plain_files])


# -- helpers -----------------------------------------------------------------------------------------------


def box(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    }


def scenes_of(provider: str, dataset: str | None = None, area: str = "prague") -> list[dict[str, Any]]:
    return [
        s
        for s in catalogue()
        if s["provider"] == provider
        and (dataset is None or s["dataset"] == dataset)
        and s["foreignId"].startswith(area + "-")
    ]


def around(scene: dict[str, Any], half: float = 0.01) -> dict[str, Any]:
    w, s, e, n = scene_bbox(scene)
    cx, cy = (w + e) / 2, (s + n) / 2
    return box(cx - half, cy - half, cx + half, cy + half)


PRAGUE_CORE = (14.445, 50.065, 14.455, 50.075)


def covering(
    scenes: list[dict[str, Any]], area: tuple[float, float, float, float] = PRAGUE_CORE
) -> list[dict]:
    """Scenes whose footprint holds ``area`` entirely."""
    w, s, e, n = area
    out = []
    for scene in scenes:
        bw, bs, be, bn = scene_bbox(scene)
        if bw <= w and bs <= s and be >= e and bn >= n:
            out.append(scene)
    return out


def kraken_requests(emu: Emulator) -> list[Any]:
    return [r for r in emu.requests if r.path.startswith("/kraken")]


def check_png(data: bytes) -> tuple[int, int, int]:
    """Parse a PNG: signature, every chunk's CRC, IHDR, IDAT inflating to the right size; (w, h, type)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, idat = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(tag + body) & 0xFFFFFFFF == crc, tag
        chunks.append(tag)
        if tag == b"IDAT":
            idat += body
        if tag == b"IHDR":
            width, height, depth, color_type, comp, filt, interlace = struct.unpack(">IIBBBBB", body)
        pos += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND" and b"IDAT" in chunks
    assert (depth, comp, filt, interlace) == (8, 0, 0, 0)
    channels = {0: 1, 2: 3, 6: 4}[color_type]
    assert len(zlib.decompress(idat)) == height * (1 + width * channels)
    return width, height, color_type


def check_tiff(data: bytes) -> dict[int, tuple[int, int, bytes]]:
    """Parse a little-endian TIFF's first IFD: {tag: (type, count, value-or-offset bytes)}."""
    assert data[:4] == b"II*\x00"
    (ifd,) = struct.unpack("<I", data[4:8])
    (count,) = struct.unpack("<H", data[ifd : ifd + 2])
    tags = {}
    for i in range(count):
        tag, kind, n = struct.unpack("<HHI", data[ifd + 2 + 12 * i : ifd + 10 + 12 * i])
        tags[tag] = (kind, n, data[ifd + 10 + 12 * i : ifd + 14 + 12 * i])
    assert list(tags) == sorted(tags)
    for required in (256, 257, 258, 259, 262, 273, 277, 278, 279, 33550, 33922, 34735):
        assert required in tags, required
    width = struct.unpack("<I", tags[256][2])[0]
    height = struct.unpack("<I", tags[257][2])[0]
    strip = struct.unpack("<I", tags[273][2])[0]
    size = struct.unpack("<I", tags[279][2])[0]
    assert (width, height) == (256, 256)
    assert strip + size == len(data)
    kind, n, where = tags[34735]
    (offset,) = struct.unpack("<I", where)
    keys = struct.unpack(f"<{n}H", data[offset : offset + 2 * n])
    assert keys[:4] == (1, 1, 0, 3) and 3857 in keys
    return tags


def files_in(root: Path, pattern: str = "*") -> list[Path]:
    """Regular files under ``root`` (sync on purpose: a test helper, not loop code)."""
    return sorted(p for p in root.rglob(pattern) if p.is_file())


def no_part_files(root: Path) -> bool:
    return not files_in(root, "*.part")


async def released(sk: SpaceKnow, map_types: Any, scene: dict[str, Any], **kwargs: Any) -> ReleaseResult:
    job = await sk.kraken.release(
        map_types, [scene["sceneId"]], kwargs.pop("extent", around(scene)), **kwargs
    )
    return await job


# -- release -----------------------------------------------------------------------------------------------


async def test_release_resolves_with_tiles_covering_the_extent(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    scene = scenes_of("pl")[0]
    extent = around(scene)
    job = await sk.kraken.release("trees", [scene["sceneId"]], extent, only_ingested=False)
    assert len(job.id) == 20
    states = [s.state async for s in job.watch()]
    result = await job
    assert states[-1] is JobState.SUCCEEDED
    assert isinstance(result, ReleaseResult)
    assert result.max_zoom == 16  # 3 m PlanetScope
    assert result.status == "succeeded" and result.geometry_id == "-"
    assert 1 <= len(result.tiles) <= 16
    zooms = {z for z, _, _ in result.tiles}
    assert len(zooms) == 1 and zooms.pop() <= result.max_zoom
    (initiate,) = [r for r in kraken_requests(eo_emulator) if r.path == "/kraken/release/initiate"]
    assert json.loads(initiate.body or b"") == {
        "mapTypes": ["trees"],
        "sceneIds": [scene["sceneId"]],
        "extent": extent,
        "onlyIngested": False,
    }


async def test_release_with_sub_geometry_serves_both_geometries(sk: SpaceKnow, tmp_path: Path) -> None:
    scene = scenes_of("gbdx")[0]
    w, s, e, n = scene_bbox(scene)
    cx, cy = (w + e) / 2, (s + n) / 2
    result = await released(sk, ["ships"], scene, sub_geometry=box(cx - 0.002, cy - 0.002, cx, cy))
    assert result.sub_geometry_id not in (None, "-")
    z, x, y = result.tiles[0]
    for geometry in (result.geometry_id, "-"):
        got = await sk.kraken.download_tile(
            result.map_id, geometry, z, x, y, "ships.png", tmp_path / geometry
        )
        check_png(got.path.read_bytes())
    with pytest.raises(NotFoundError) as info:
        await sk.kraken.download_tile(result.map_id, "nope", z, x, y, "ships.png", tmp_path / "x.png")
    assert info.value.code == "GEOMETRY-NOT-FOUND"


async def test_release_fails_for_imagery_not_ingested_then_succeeds(sk: SpaceKnow) -> None:
    scene = scenes_of("airbus")[3]
    job = await sk.kraken.release("imagery", [scene["sceneId"]], around(scene), only_ingested=True)
    with pytest.raises(JobFailedError) as info:
        await job
    assert info.value.status == "FAILED"
    assert "NO-INGESTED-IMAGERY" in (info.value.error or "")
    assert job.status is not None and job.status.state is JobState.FAILED
    await released(sk, "imagery", scene)  # ingests the scene
    again = await released(sk, "imagery", scene, only_ingested=True)
    assert again.tiles


async def test_release_fails_when_the_area_is_too_large(sk: SpaceKnow) -> None:
    big = max(
        scenes_of("gbdx"),
        key=lambda s: (scene_bbox(s)[2] - scene_bbox(s)[0]) * (scene_bbox(s)[3] - scene_bbox(s)[1]),
    )
    job = await sk.kraken.release("aircraft", [big["sceneId"]], box(*scene_bbox(big)))
    with pytest.raises(JobFailedError) as info:
        await job
    assert "AREA-TOO-LARGE" in (info.value.error or "")


async def test_pairwise_release_of_scenes_with_one_datetime_fails(sk: SpaceKnow) -> None:
    scene = scenes_of("pl")[1]
    job = await sk.kraken.release("change", [scene["sceneId"], scene["sceneId"]], around(scene))
    with pytest.raises(JobFailedError) as info:
        await job
    assert "SCENES-WITH-SAME-DATETIME" in (info.value.error or "")


@pytest.mark.parametrize(
    ("map_types", "scene_count", "status", "code"),
    [
        (["no-such-algorithm"], 1, 400, "UNKNOWN-MAP-TYPE"),
        (["change"], 1, 400, "WRONG-NUMBER-OF-SCENES"),
        (["aircraft"], 1, 400, "DATASET-NOT-SUPPORTED"),  # PlanetScope scenes
        (["sar-cumulated-change"], 2, 400, "WRONG-NUMBER-OF-SCENES"),
    ],
)
async def test_release_refused_by_the_service(
    sk: SpaceKnow, map_types: list[str], scene_count: int, status: int, code: str
) -> None:
    scenes = covering(scenes_of("pl"))[:scene_count]
    with pytest.raises(BadRequestError) as info:
        await sk.kraken.release(map_types, [s["sceneId"] for s in scenes], box(*PRAGUE_CORE))
    assert (info.value.status, info.value.code) == (status, code)


async def test_release_of_unknown_scene_or_outside_extent(sk: SpaceKnow) -> None:
    with pytest.raises(NotFoundError) as info:
        await sk.kraken.release("imagery", ["not-a-scene"], box(*PRAGUE_CORE))
    assert info.value.code == "SCENE-NOT-FOUND"
    scene = scenes_of("pl")[0]
    with pytest.raises(BadRequestError) as refused:
        await sk.kraken.release("imagery", [scene["sceneId"]], box(100.0, 10.0, 100.1, 10.1))
    assert refused.value.code == "EXTENT-OUTSIDE-SCENE"


async def test_release_job_reattaches_by_id_and_resume_token(eo_emulator: Emulator) -> None:
    scene = scenes_of("pl")[2]
    async with sk_client(eo_emulator) as sk:
        job = await sk.kraken.release("ndvi", [scene["sceneId"]], around(scene))
        token = job.resume_token
    async with sk_client(eo_emulator) as other:
        by_token = await other.resume_job(token)
        by_id = await other.pipeline(job.id, retrieve="/kraken/release/retrieve")
    assert isinstance(by_token, ReleaseResult) and by_token == by_id


# -- dry run -----------------------------------------------------------------------------------------------


async def test_dry_run_cost_is_proportional_to_area(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    scene = scenes_of("gbdx")[1]
    small = await (
        await sk.kraken.dry_run(
            DryRun(map_types=["aircraft"], scenes=[[scene["sceneId"]]]), around(scene, 0.005)
        )
    )
    large = await (
        await sk.kraken.dry_run(
            [{"mapTypes": ["aircraft"], "scenes": [[scene["sceneId"]]]}], around(scene, 0.01)
        )
    )
    assert isinstance(small, DryRunResult)
    assert large.ingested_km2 == pytest.approx(4 * small.ingested_km2, rel=0.01)
    assert large.cost == pytest.approx(4 * small.cost, rel=0.01)
    (entry,) = small.scenes
    assert entry.scene_id == scene["sceneId"] and entry.provider == "gbdx"
    assert entry.cost == pytest.approx(entry.km2 * (entry.cost_per_km2 or 0), rel=0.01)
    book = ledger(eo_emulator.state)  # dry runs allocate through the credits service
    assert small.allocated_credits == 0 and scene["sceneId"] not in {a["sceneId"] for a in book.allocations}
    allocated = await (
        await sk.kraken.dry_run(
            [{"mapTypes": ["aircraft"], "scenes": [[scene["sceneId"]]]}], around(scene), allocate=True
        )
    )
    assert allocated.allocated_km2 == pytest.approx(allocated.ingested_km2)
    assert book.allocations[-1]["sceneId"] == scene["sceneId"]


# -- pairs and n-wise --------------------------------------------------------------------------------------


async def test_pairs_consecutive_and_by_period(sk: SpaceKnow) -> None:
    s1 = covering(scenes_of("ee", "COPERNICUS/S1_GRD"))[:12]
    ids = [s["sceneId"] for s in s1]
    pairs = await (await sk.kraken.pairs(ids, box(*PRAGUE_CORE)))
    assert isinstance(pairs, PairsResult)
    assert len(pairs.pairwise) == len(ids) - 1
    by_time = {s["sceneId"]: s["datetime"] for s in s1}
    for pair in pairs.pairwise:
        assert by_time[pair.old_scene_id] < by_time[pair.new_scene_id]
        assert pair.scene_ids == [pair.old_scene_id, pair.new_scene_id]
    monthly = await (
        await sk.kraken.pairs(ids, box(*PRAGUE_CORE), periodicity="monthly", min_intersection=0.5)
    )
    assert 0 < len(monthly.pairwise) < len(pairs.pairwise)
    # Each pair is ready for a change release.
    change = await (await sk.kraken.release("sar-change", pairs.pairwise[0].scene_ids, box(*PRAGUE_CORE)))
    assert change.tiles


async def test_pairs_and_nwise_fail_on_scenes_with_same_datetime(sk: SpaceKnow) -> None:
    s1 = covering(scenes_of("ee", "COPERNICUS/S1_GRD"))[:3]
    ids = [s["sceneId"] for s in s1] + [s1[0]["sceneId"]]
    for start in (sk.kraken.pairs, sk.kraken.nwise):
        job = await start(ids, box(*PRAGUE_CORE))
        with pytest.raises(JobFailedError) as info:
            await job
        assert "SCENES-WITH-SAME-DATETIME" in (info.value.error or "")


async def test_nwise_groups_cumulate(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    s1 = covering(scenes_of("ee", "COPERNICUS/S1_GRD"))[:5]
    ids = [s["sceneId"] for s in s1]
    groups = await (await sk.kraken.nwise(ids, box(*PRAGUE_CORE), min_scenes=4))
    assert isinstance(groups, NwiseResult)
    assert [len(g) for g in groups.nwise] == [4, 5]
    assert groups.nwise[1][:4] == groups.nwise[0]
    (initiate,) = [r for r in kraken_requests(eo_emulator) if r.path == "/kraken/nwise/initiate"]
    body = json.loads(initiate.body or b"")
    assert body["groupingType"] == "cumulated" and body["minScenes"] == 4
    release = await (await sk.kraken.release("sar-cumulated-change", groups.nwise[0], box(*PRAGUE_CORE)))
    assert release.tiles


# -- algorithms and map classes ----------------------------------------------------------------------------


async def test_algorithms_and_map_classes_are_typed(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    algorithms = await sk.kraken.algorithms().collect()
    assert all(isinstance(a, Algorithm) for a in algorithms)
    aircraft = next(a for a in algorithms if a.map_type == "aircraft")
    assert "detections.geojson" in aircraft.files and "segmentation.png" in aircraft.files
    assert aircraft.supports("gbdx", "idaho-pansharpened") and not aircraft.supports("pl", "PSScene")
    assert aircraft.max_mpix and aircraft.segmentation_classification
    assert aircraft.available_datasets["gbdx"][0][1].resolution == 0.5
    assert next(a for a in algorithms if a.map_type == "ndvi").supports_user_threshold
    scene = scenes_of("gbdx")[0]
    result = await released(sk, "aircraft", scene)
    classes = await sk.kraken.map_classes(result.map_id)
    assert isinstance(classes, MapClasses) and classes.map_type == "aircraft"
    assert classes.segmentation_classification is not None
    transport = classes.segmentation_classification["default"]["transport"]
    assert transport.color == [255, 88, 151] and transport.master_class == "aircraft"
    assert classes.segmentation_classification["custom_classification"]["transport"].class_ == "transport"
    assert classes.deprecated_classes == {"430.2": {"mig-23": [255, 193, 7]}}
    with pytest.raises(NotFoundError) as info:
        await sk.kraken.map_classes("no-such-map")
    assert info.value.code == "MAP-NOT-FOUND"
    assert all(r.has_bearer for r in kraken_requests(eo_emulator))


# -- grid tiles --------------------------------------------------------------------------------------------


async def test_download_map_writes_every_tile_and_file_in_real_formats(
    sk: SpaceKnow, eo_emulator: Emulator, tmp_path: Path
) -> None:
    scene = scenes_of("gbdx")[0]
    result = await released(sk, "aircraft", scene)
    files = await sk.kraken.grid_files("aircraft")
    report = await sk.kraken.download_map(result, tmp_path, concurrency=8)
    assert report.ok and not report.skipped
    assert len(report.files) == len(result.tiles) * len(files)
    on_disk = files_in(tmp_path)
    assert len(on_disk) == len(result.tiles) * len(files)
    assert report.bytes == sum(p.stat().st_size for p in on_disk)
    assert no_part_files(tmp_path)
    for z, x, y in result.tiles:
        tile_dir = tmp_path / str(z) / str(x) / str(y)
        assert sorted(p.name for p in tile_dir.iterdir()) == sorted(files)
        for name in files:
            data = (tile_dir / name).read_bytes()
            if name.endswith(".png"):
                assert check_png(data) == (256, 256, 6)
            elif name.endswith(".geotiff"):
                check_tiff(data)
            elif name.endswith(".geojson"):
                collection = json.loads(data)
                assert collection["type"] == "FeatureCollection"
                assert all(f["geometry"]["type"] == "Polygon" for f in collection["features"])
            else:
                assert json.loads(data)["tile"] == [z, x, y]
    grid = [r for r in eo_emulator.requests if r.path.startswith("/kraken/grid/")]
    assert len(grid) == len(report.files) and all(r.method == "GET" and r.has_bearer for r in grid)
    # Run again: everything is on disk already.
    again = await sk.kraken.download_map(result, tmp_path, files=["segmentation.png"])
    assert len(again.skipped) == len(result.tiles) and again.bytes == 0


async def test_download_map_of_several_map_types(sk: SpaceKnow, tmp_path: Path) -> None:
    scene = scenes_of("gbdx")[2]
    result = await released(sk, ["imagery", "aircraft"], scene)
    report = await sk.kraken.download_map(result, tmp_path, map_types=["imagery", "aircraft"])
    names = {f.path.name for f in report.files}
    assert {"truecolor.png", "visualization.geotiff", "detections.geojson"} <= names
    truecolor = next(f.path for f in report.files if f.path.name == "truecolor.png")
    assert check_png(truecolor.read_bytes()) == (256, 256, 2)
    tiff = next(f.path for f in report.files if f.path.name == "visualization.geotiff")
    tags = check_tiff(tiff.read_bytes())
    assert struct.unpack("<H", tags[277][2][:2])[0] == 3  # RGB


async def test_tile_download_survives_a_dropped_connection(
    sk: SpaceKnow, eo_emulator: Emulator, tmp_path: Path
) -> None:
    scene = scenes_of("pl")[0]
    result = await released(sk, "imagery", scene)
    z, x, y = result.tiles[0]
    path = sk.kraken.tile_path(result.map_id, "-", z, x, y, "truecolor.png")
    clean = await sk.kraken.download_tile(
        result.map_id, "-", z, x, y, "truecolor.png", tmp_path / "clean.png"
    )
    eo_emulator.faults.inject("drop", path_prefix=path)
    got = await sk.kraken.download_tile(
        result.map_id, "-", z, x, y, "truecolor.png", tmp_path / "dropped.png"
    )
    assert got.resumes == 1 and got.bytes == clean.bytes
    assert got.path.read_bytes() == clean.path.read_bytes()
    check_png(got.path.read_bytes())
    assert no_part_files(tmp_path)
    tries = [r for r in eo_emulator.requests if r.path == path]
    assert [r.fault for r in tries] == [None, "drop", None]
    (seen,) = kraken_store(eo_emulator.state).range_requests
    assert seen[0] == path and seen[1] == f"bytes={clean.bytes // 2}-"


async def test_download_without_range_support_restarts_the_whole_file(
    sk: SpaceKnow, eo_emulator: Emulator, tmp_path: Path
) -> None:
    eo_emulator.faults.inject("drop", path_prefix="/test/plain/a")
    got = await download_file(sk.transport, "/test/plain/a", tmp_path / "a.bin")
    assert got.path.read_bytes() == _PLAIN and got.resumes == 1
    # Broken off every time: the last error surfaces, nothing is left on disk.
    eo_emulator.faults.inject("drop", path_prefix="/test/plain/b", count=10)
    with pytest.raises(TransportError):
        await download_file(sk.transport, "/test/plain/b", tmp_path / "b.bin", attempts=3)
    assert not (tmp_path / "b.bin").exists() and no_part_files(tmp_path)
    eo_emulator.faults.clear()


async def test_bulk_download_reports_a_tile_that_keeps_failing(
    sk: SpaceKnow, eo_emulator: Emulator, tmp_path: Path
) -> None:
    scene = scenes_of("gbdx")[0]
    result = await released(sk, "ships", scene)
    files = await sk.kraken.grid_files("ships")
    z, x, y = result.tiles[1]
    broken = f"/kraken/grid/{result.map_id}/-/{z}/{x}/{y}/"
    eo_emulator.faults.inject("server_error", path_prefix=broken, count=1000, status=503)
    report = await sk.kraken.download_map(result, tmp_path)
    assert not report.ok
    assert len(report.failures) == len(files)
    assert {f.item.dest.parent for f in report.failures} == {tmp_path / str(z) / str(x) / str(y)}
    assert all(isinstance(f.error, ServerError) and f.error.status == 503 for f in report.failures)
    assert len(report.files) == (len(result.tiles) - 1) * len(files)
    assert all(f.path.is_file() for f in report.files)
    assert not files_in(tmp_path / str(z) / str(x) / str(y))
    assert no_part_files(tmp_path)
    with pytest.raises(BulkDownloadError) as info:
        report.raise_for_failures()
    assert len(info.value.failures) == len(files)
    eo_emulator.faults.clear()
    retry = await sk.kraken.download_map(result, tmp_path)
    assert retry.ok and len(retry.downloaded) == len(files) and len(retry.skipped) == len(report.files)


async def test_cancelling_a_bulk_download_leaves_no_partial_files(
    sk: SpaceKnow, eo_emulator: Emulator, tmp_path: Path, no_leaked_tasks: Callable[[], None]
) -> None:
    scene = scenes_of("gbdx")[0]
    result = await released(sk, "imagery", scene)
    store = kraken_store(eo_emulator.state)
    store.stall_after = 100  # every grid body stops after 100 bytes until released
    seen: list[Any] = []
    try:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(
                    lambda: sk.kraken.download_map(
                        result, tmp_path, files=["truecolor.png"], on_item=seen.append
                    )
                )
                for _ in range(500):  # until bodies are half sent (bounded, no timing assumed)
                    if store.stalled >= 4:
                        break
                    await anyio.sleep(0.01)
                assert store.stalled >= 4 and files_in(tmp_path, "*.part")
                scope.cancel()
        assert scope.cancelled_caught
    finally:
        store.release_stalled()
    assert no_part_files(tmp_path)
    # Nothing finished before the cancel; had anything, it would be complete and reported.
    finished = files_in(tmp_path)
    assert finished == sorted(item.path for item in seen if isinstance(item, Downloaded))
    assert len(finished) < len(result.tiles)
    no_leaked_tasks()


async def test_tile_options_are_applied(sk: SpaceKnow, eo_emulator: Emulator, tmp_path: Path) -> None:
    scene = scenes_of("gbdx")[0]
    ships = await released(sk, "ships", scene)
    features: list[Any] = []
    for z, x, y in ships.tiles:  # a tile with a few detections (edge tiles may have none)
        every = await sk.kraken.download_tile(
            ships.map_id, "-", z, x, y, "detections.geojson", tmp_path / f"all-{x}-{y}.geojson"
        )
        features = json.loads(every.path.read_bytes())["features"]
        if len(features) >= 2:
            break
    assert len(features) >= 2
    cut = sorted(f["properties"]["area"] for f in features)[len(features) // 2]
    some = await sk.kraken.download_tile(
        ships.map_id,
        "-",
        z,
        x,
        y,
        "detections.geojson",
        tmp_path / "some.geojson",
        detection_filters=[("area", "gt", cut), "score ge 0"],
    )
    kept = json.loads(some.path.read_bytes())["features"]
    assert kept and len(kept) < len(features) and all(f["properties"]["area"] > cut for f in kept)
    query = next(r.query for r in eo_emulator.requests if r.path.endswith("/detections.geojson") and r.query)
    assert f"detection_filters=area gt {cut}\nscore ge 0" in query  # the emulator logs it decoded

    ndvi_scene = scenes_of("pl")[4]
    ndvi = await released(sk, "ndvi", ndvi_scene)
    nz, nx, ny = ndvi.tiles[0]
    binary = await sk.kraken.download_tile(
        ndvi.map_id,
        "-",
        nz,
        nx,
        ny,
        "ndvi.png",
        tmp_path / "ndvi.png",
        user_threshold=0.25,
        download_unclipped=True,
    )
    raw = binary.path.read_bytes()
    assert check_png(raw) == (256, 256, 0)
    (length,) = struct.unpack(">I", raw[33:37])
    pixels = zlib.decompress(raw[41 : 41 + length])
    assert set(pixels) <= {0, 255}  # filter bytes are 0 too
    forced = await sk.kraken.download_tile(
        ships.map_id,
        "-",
        z,
        x,
        y,
        "segmentation.png",
        tmp_path / "custom.png",
        classification="custom_classification",
        force_download=True,
    )
    check_png(forced.path.read_bytes())

    with pytest.raises(BadRequestError) as bad:
        await sk.kraken.download_tile(
            ships.map_id,
            "-",
            z,
            x,
            y,
            "detections.geojson",
            tmp_path / "bad.geojson",
            detection_filters="area about 5",
        )
    assert bad.value.code == "INVALID-DETECTION-FILTERS"
    with pytest.raises(BadRequestError) as no_threshold:
        await sk.kraken.download_tile(
            ships.map_id, "-", z, x, y, "ships.png", tmp_path / "t.png", user_threshold=0.1
        )
    assert no_threshold.value.code == "USER-THRESHOLD-NOT-SUPPORTED"
    with pytest.raises(NotFoundError) as missing:
        await sk.kraken.download_tile(
            ships.map_id, "-", ships.max_zoom + 1, 0, 0, "ships.png", tmp_path / "z.png"
        )
    assert missing.value.code == "TILE-NOT-FOUND"
    with pytest.raises(NotFoundError) as no_file:
        await sk.kraken.download_tile(ships.map_id, "-", z, x, y, "trees.png", tmp_path / "f.png")
    assert no_file.value.code == "FILE-NOT-FOUND"
    assert not (tmp_path / "bad.geojson").exists() and no_part_files(tmp_path)


async def test_bulk_helper_takes_tuples_and_async_iterables(sk: SpaceKnow, tmp_path: Path) -> None:
    async def items() -> Any:
        for name in ("a", "b", "c"):
            yield (f"/test/plain/{name}", tmp_path / name)

    report = await download_all(sk.transport, items(), concurrency=2)
    assert report.ok and report.bytes == 3 * len(_PLAIN)
    assert [p.name for p in files_in(tmp_path)] == ["a", "b", "c"]
    with pytest.raises(ValidationError):
        await download_all(sk.transport, [("/test/plain/a",)], concurrency=2)


# -- input errors: refused before anything is sent ---------------------------------------------------------

_EXTENT = box(*PRAGUE_CORE)
_RELEASED = {"mapId": "m1", "maxZoom": 16, "tiles": [[15, 1, 1]]}


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda k: k.release("imagery", [], _EXTENT), "scene_ids"),
        (lambda k: k.release([], ["s1"], _EXTENT), "map_types"),
        (lambda k: k.release(["imagery", ""], ["s1"], _EXTENT), "map_types[1]"),
        (lambda k: k.release("imagery", [None], _EXTENT), "scene_ids[0]"),
        (lambda k: k.release("imagery", ["s1"], {"type": "Point", "coordinates": [14.4, 50.0]}), "extent"),
        (lambda k: k.release("imagery", ["s1"], box(14.0, 50.0, 194.0, 51.0)), "extent.coordinates[0][1][0]"),
        (lambda k: k.release("imagery", ["s1"], _EXTENT, sub_geometry={"type": "Nope"}), "sub_geometry"),
        (lambda k: k.dry_run([], _EXTENT), "dry_runs"),
        (lambda k: k.dry_run([{"mapTypes": ["imagery"], "scenes": []}], _EXTENT), "dry_runs[0].scenes"),
        (lambda k: k.dry_run([{"mapTypes": ["imagery"], "scenes": [[]]}], _EXTENT), "dry_runs[0].scenes[0]"),
        (lambda k: k.dry_run([{"scenes": [["s1"]]}], _EXTENT), "dry_runs[0].mapTypes"),
        (lambda k: k.pairs([], _EXTENT), "scene_ids"),
        (lambda k: k.pairs(["a", "b"], _EXTENT, min_intersection=-1), "min_intersection"),
        (lambda k: k.pairs(["a", "b"], _EXTENT, min_day_delta=5, max_day_delta=2), "max_day_delta"),
        (lambda k: k.nwise(["a", "b"], _EXTENT), "scene_ids"),
        (lambda k: k.nwise(["a", "b", "c"], _EXTENT, grouping_type="stacked"), "grouping_type"),
        (lambda k: k.nwise(["a", "b", "c"], _EXTENT, min_scenes=2), "min_scenes"),
        (lambda k: k.map_classes("a/b"), "map_id"),
        (lambda k: k.download_tile("m1", "-", 31, 0, 0, "a.png", "x"), "zoom"),
        (lambda k: k.download_tile("m1", "-", -1, 0, 0, "a.png", "x"), "zoom"),
        (lambda k: k.download_tile("m1", "-", True, 0, 0, "a.png", "x"), "zoom"),
        (lambda k: k.download_tile("m1", "-", 2, 4, 0, "a.png", "x"), "x"),
        (lambda k: k.download_tile("m1", "-", 2, 0, -1, "a.png", "x"), "y"),
        (lambda k: k.download_tile("m1", "-", 2, 0, 0, "../a.png", "x"), "file_name"),
        (lambda k: k.download_tile("../m", "-", 2, 0, 0, "a.png", "x"), "map_id"),
        (lambda k: k.download_tile("m1", "", 2, 0, 0, "a.png", "x"), "geometry_id"),
        (lambda k: k.download_tile("m1", "-", 2, 0, 0, "a.png", "x", user_threshold=1.5), "user_threshold"),
        (
            lambda k: k.download_tile("m1", "-", 2, 0, 0, "a.png", "x", user_threshold=float("nan")),
            "user_threshold",
        ),
        (
            lambda k: k.download_tile("m1", "-", 2, 0, 0, "a.png", "x", detection_filters="area gt"),
            "detection_filters[0]",
        ),
        (
            lambda k: k.download_tile(
                "m1", "-", 2, 0, 0, "a.png", "x", detection_filters="area gt 1\nwidth lt 1 2"
            ),
            "detection_filters[1]",
        ),
        (
            lambda k: k.download_tile("m1", "-", 2, 0, 0, "a.png", "x", detection_filters=[("area", "gt")]),
            "detection_filters[0]",
        ),
        (
            lambda k: k.download_tile("m1", "-", 2, 0, 0, "a.png", "x", detection_filters=""),
            "detection_filters",
        ),
        (lambda k: k.download_tile("m1", "-", 2, 0, 0, "a.png", "x", force_download=2), "force_download"),
        (lambda k: k.download_tile("m1", "-", 2, 0, 0, "a.png", "x", classification=""), "classification"),
        (lambda k: k.download_map(_RELEASED, "out", files=[]), "files"),
        (lambda k: k.download_map(_RELEASED, "out", files=["a.png"], concurrency=0), "concurrency"),
        (lambda k: k.download_map({"maxZoom": 3}, "out", files=["a.png"]), "release.mapId"),
        (lambda k: k.download_map({**_RELEASED, "tiles": [[2, 9, 0]]}, "out", files=["a.png"]), "x"),
    ],
)
async def test_input_errors_are_refused_before_sending(
    sk: SpaceKnow,
    eo_emulator: Emulator,
    call: Callable[[Any], Any],
    field: str,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError) as info:
        await call(sk.kraken)
    assert info.value.field == field
    assert kraken_requests(eo_emulator) == []
    assert not files_in(tmp_path)


async def test_reattaching_with_another_operations_retrieve_path_is_not_found(sk: SpaceKnow) -> None:
    scene = scenes_of("pl")[0]
    dry = await sk.kraken.dry_run([{"mapTypes": ["imagery"], "scenes": [[scene["sceneId"]]]}], around(scene))
    assert isinstance(await dry, DryRunResult)
    with pytest.raises(NotFoundError) as info:
        await sk.pipeline(dry.id, retrieve="/kraken/release/retrieve")
    assert info.value.code == "PIPELINE-NOT-FOUND"
