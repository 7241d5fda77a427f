"""SpaceKnow results as they arrive (issue #12): a released map's tiles and files, get-image's export.

Against the emulator: ``sk.kraken.tiles`` iterates a release without a request
per tile; ``download_map_each`` yields each grid file as it completes (resumed
after a dropped connection, skipped on a rerun, nothing partial left when
cancelled); ``sk.imagery.download_image`` fetches the GeoTIFF the get-image
answer's ``url`` points to, with the bearer only on the SpaceKnow host itself.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from contextlib import aclosing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import anyio
import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.spaceknow.imagery import imagery_store
from eoclient.emulator.spaceknow.kraken import kraken_store
from eoclient.errors import ServerError, ValidationError
from eoclient.spaceknow import SpaceKnow
from eoclient.spaceknow.imagery_models import GetImageResult
from eoclient.spaceknow.kraken_models import MapTile, TileFile
from tests.integration.test_sk_imagery import PSSCENE, first, small_box
from tests.integration.test_sk_kraken import files_in, no_part_files, released, scenes_of

pytestmark = pytest.mark.eo_emulator(clock_speed=500.0)


def grid_requests(emu: Emulator) -> list[Any]:
    return [r for r in emu.requests if r.path.startswith("/kraken/grid/")]


def export_requests(emu: Emulator) -> list[Any]:
    return [r for r in emu.requests if r.path.startswith("/imagery/exports/")]


def tiff_size(data: bytes) -> tuple[int, int, int]:
    """A little-endian baseline TIFF's width, height and samples per pixel (and its strip fits the file)."""
    assert data[:4] == b"II*\x00"
    (ifd,) = struct.unpack("<I", data[4:8])
    (count,) = struct.unpack("<H", data[ifd : ifd + 2])
    tags = {}
    for i in range(count):
        tag, _, _, value = struct.unpack("<HHII", data[ifd + 2 + 12 * i : ifd + 14 + 12 * i])
        tags[tag] = value & 0xFFFF if tag in (258, 277) else value
    assert tags[273] + tags[279] == len(data)
    return tags[256], tags[257], tags[277]


# -- a released map's tiles ------------------------------------------------------------------------------


async def test_tiles_iterate_the_release_in_order_without_a_request_per_tile(
    sk: SpaceKnow, eo_emulator: Emulator
) -> None:
    result = await released(sk, "aircraft", scenes_of("gbdx")[0])
    files = await sk.kraken.grid_files("aircraft")
    before = len(eo_emulator.requests)
    tiles = sk.kraken.tiles(result)  # checked now, sent nothing yet
    assert len(eo_emulator.requests) == before
    got = [t async for t in tiles]
    assert [t.tile for t in got] == [tuple(t) for t in result.tiles]
    assert len(got) == len(result.tiles) > 1
    for tile in got:
        assert isinstance(tile, MapTile) and tile.map_id == result.map_id and tile.geometry_id == "-"
        assert tile.files == files
        for name in files:
            path = sk.kraken.tile_path(result.map_id, "-", tile.zoom, tile.x, tile.y, name)
            assert tile.paths[name] == path
            assert tile.urls[name] == sk.transport.url(path)
    # The file names came from the map's classes and the algorithms: nothing per tile.
    asked = [r.path for r in eo_emulator.requests[before:]]
    assert asked == [f"/kraken/map-classes/{result.map_id}", "/kraken/algorithms"]

    # Files named: no request at all.
    before = len(eo_emulator.requests)
    named = [t async for t in sk.kraken.tiles(result, "segmentation.png")]
    assert [t.files for t in named] == [["segmentation.png"]] * len(result.tiles)
    assert len(eo_emulator.requests) == before
    with pytest.raises(ValidationError, match="files"):
        sk.kraken.tiles(result, [])


# -- a whole map, file by file ---------------------------------------------------------------------------


async def test_download_map_each_yields_each_file_as_it_completes_and_resumes_a_drop(
    sk: SpaceKnow, eo_emulator: Emulator, tmp_path: Path
) -> None:
    result = await released(sk, "aircraft", scenes_of("gbdx")[0])
    files = await sk.kraken.grid_files("aircraft")
    total = len(result.tiles) * len(files)
    z, x, y = result.tiles[-1]
    dropped = sk.kraken.tile_path(result.map_id, "-", z, x, y, "segmentation.png")
    eo_emulator.faults.inject("drop", path_prefix=dropped)
    got: list[TileFile] = []
    on_disk_at_first: int | None = None
    async with aclosing(sk.kraken.download_map_each(result, tmp_path, concurrency=1)) as each:
        async for item in each:
            if on_disk_at_first is None:
                on_disk_at_first = len(files_in(tmp_path)) - len(files_in(tmp_path, "*.part"))
            # Yielded once complete: the file is there, whole, under its name.
            assert item.ok and item.path.is_file() and item.path.stat().st_size == item.bytes > 0
            got.append(item)
    # One transfer at a time and one outcome buffered: the first came long before the last file.
    assert on_disk_at_first is not None and on_disk_at_first <= 3 < total
    assert len(got) == total and not any(g.skipped for g in got)
    assert {(g.tile.tile, g.name) for g in got} == {(tuple(t), n) for t in result.tiles for n in files}
    for item in got:
        assert item.path == tmp_path / str(item.tile.zoom) / str(item.tile.x) / str(item.tile.y) / item.name
    (resumed,) = [g for g in got if g.resumes]
    assert resumed.tile.tile == (z, x, y) and resumed.name == "segmentation.png" and resumed.resumes == 1
    assert [r.fault for r in grid_requests(eo_emulator) if r.path == dropped] == ["drop", None]
    (seen,) = kraken_store(eo_emulator.state).range_requests
    assert seen == (dropped, f"bytes={resumed.bytes // 2}-")
    assert no_part_files(tmp_path)

    # A rerun finds every file complete and sends no grid request.
    sent = len(grid_requests(eo_emulator))
    again = [g async for g in sk.kraken.download_map_each(result, tmp_path)]
    assert len(again) == total and all(g.skipped and g.ok for g in again)
    assert {g.path: g.bytes for g in again} == {g.path: g.bytes for g in got}
    assert len(grid_requests(eo_emulator)) == sent
    # The awaitable form still reports the same run.
    report = await sk.kraken.download_map(result, tmp_path)
    assert report.ok and len(report.skipped) == total and report.bytes == 0


async def test_download_map_each_yields_a_failing_file_with_its_typed_error(
    sk: SpaceKnow, eo_emulator: Emulator, tmp_path: Path
) -> None:
    result = await released(sk, "imagery", scenes_of("gbdx")[0])
    z, x, y = result.tiles[0]
    broken = sk.kraken.tile_path(result.map_id, "-", z, x, y, "truecolor.png")
    eo_emulator.faults.inject("server_error", path_prefix=broken, count=1000, status=503)
    got = [g async for g in sk.kraken.download_map_each(result, tmp_path, "truecolor.png")]
    eo_emulator.faults.clear()
    (failed,) = [g for g in got if not g.ok]
    assert failed.tile.tile == (z, x, y) and isinstance(failed.error, ServerError) and failed.bytes == 0
    assert not failed.path.exists() and len(got) == len(result.tiles)
    assert no_part_files(tmp_path)


async def test_cancelling_download_map_each_leaves_no_partial_file(
    sk: SpaceKnow, eo_emulator: Emulator, tmp_path: Path, no_leaked_tasks: Callable[[], None]
) -> None:
    result = await released(sk, "imagery", scenes_of("gbdx")[0])
    store = kraken_store(eo_emulator.state)
    store.stall_after = 100  # every grid body stops after 100 bytes until released
    seen: list[TileFile] = []

    async def consume() -> None:
        async with aclosing(sk.kraken.download_map_each(result, tmp_path, "truecolor.png")) as each:
            async for item in each:
                seen.append(item)

    try:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(consume)
                for _ in range(500):  # until bodies are part-way (bounded, no timing assumed)
                    if store.stalled >= 4:
                        break
                    await anyio.sleep(0.01)
                assert store.stalled >= 4 and files_in(tmp_path, "*.part")
                scope.cancel()
        assert scope.cancelled_caught
    finally:
        store.release_stalled()
    assert no_part_files(tmp_path)
    assert files_in(tmp_path) == sorted(item.path for item in seen)
    assert len(seen) < len(result.tiles)
    no_leaked_tasks()


async def test_leaving_the_loop_early_stops_the_rest_cleanly(
    sk: SpaceKnow, eo_emulator: Emulator, tmp_path: Path
) -> None:
    result = await released(sk, "imagery", scenes_of("gbdx")[0])
    total = len(result.tiles) * len(await sk.kraken.grid_files("imagery"))
    got: list[TileFile] = []
    async with aclosing(sk.kraken.download_map_each(result, tmp_path, concurrency=2)) as each:
        async for item in each:
            got.append(item)
            break
    assert got[0].path.is_file() and no_part_files(tmp_path)
    assert len(files_in(tmp_path)) < total


# -- get-image's exported raster -------------------------------------------------------------------------


async def get_image(sk: SpaceKnow, size: float = 0.01) -> tuple[GetImageResult, str]:
    scene = first(PSSCENE)
    job = await sk.imagery.get_image(scene["sceneId"], small_box(scene, size))
    return await job, job.id


async def test_download_image_streams_the_exported_geotiff(
    sk: SpaceKnow, eo_emulator: Emulator, tmp_path: Path
) -> None:
    image, pipeline_id = await get_image(sk)
    assert image.url is not None and image.url.startswith(f"{sk.transport.base_url}/imagery/exports/")
    got = await sk.imagery.download_image(image, tmp_path)
    assert got.path == tmp_path / f"{pipeline_id}.tif" and not got.skipped
    data = got.path.read_bytes()
    assert got.bytes == len(data) > 10_000
    width, height, samples = tiff_size(data)
    assert max(width, height) <= 256 and samples == 3
    assert no_part_files(tmp_path)
    (request,) = export_requests(eo_emulator)
    assert request.has_bearer  # the SpaceKnow host itself: its bearer is fine there
    # Again: already complete, nothing sent; a Job is accepted too.
    job = await sk.pipeline(pipeline_id, retrieve="/imagery/get-image/retrieve")
    again = await sk.imagery.download_image(job, tmp_path / f"{pipeline_id}.tif")
    assert again.skipped and again.bytes == got.bytes and len(export_requests(eo_emulator)) == 1
    fresh = await sk.imagery.download_image(image, tmp_path / "other.tif", overwrite=True)
    assert fresh.path.read_bytes() == data


async def test_download_image_resumes_a_dropped_connection_with_range(
    sk: SpaceKnow, eo_emulator: Emulator, tmp_path: Path
) -> None:
    image, pipeline_id = await get_image(sk)
    clean = await sk.imagery.download_image(image, tmp_path / "clean.tif")
    eo_emulator.faults.inject("drop", path_prefix=f"/imagery/exports/{pipeline_id}")
    got = await sk.imagery.download_image(image, tmp_path / "dropped.tif")
    assert got.resumes == 1 and got.path.read_bytes() == clean.path.read_bytes()
    tries = export_requests(eo_emulator)[1:]
    assert [r.fault for r in tries] == ["drop", None]
    assert tries[1].headers.get("Range") == f"bytes={clean.bytes // 2}-"
    assert no_part_files(tmp_path)


async def test_an_export_on_another_host_is_fetched_without_the_bearer(
    sk: SpaceKnow, eo_emulator: Emulator, tmp_path: Path
) -> None:
    # The same server under another origin: to the client, another host.
    port = urlsplit(sk.transport.base_url).port
    imagery_store(eo_emulator.state).export_origin = f"http://localhost:{port}"
    image, _ = await get_image(sk)
    assert image.url is not None and image.url.startswith(f"http://localhost:{port}/")
    got = await sk.imagery.download_image(image, tmp_path)
    tiff_size(got.path.read_bytes())
    (request,) = export_requests(eo_emulator)
    assert not request.has_bearer and "Authorization" not in request.headers
    # The link's signature stays out of errors.
    signature = urlsplit(image.url).query.split("=", 1)[1]
    eo_emulator.faults.inject("server_error", path_prefix="/imagery/exports/", count=100, status=503)
    with pytest.raises(ServerError) as info:
        await sk.imagery.download_image(image, tmp_path / "again.tif")
    eo_emulator.faults.clear()
    assert "/imagery/exports/" in str(info.value)
    assert signature not in str(info.value) and signature not in repr(info.value.__dict__)
    assert no_part_files(tmp_path) and not (tmp_path / "again.tif").exists()


async def test_the_export_link_is_refused_without_its_signature(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    image, _ = await get_image(sk)
    assert image.url is not None
    base = image.url.split("?")[0]
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}?signature=00") as bad:
            assert bad.status == 403 and (await bad.json())["error"] == "ACCESS-DENIED"
        async with session.get(image.url, headers={"Range": "bytes=0-3"}) as head:
            assert head.status == 206 and await head.read() == b"II*\x00"
    with pytest.raises(ValidationError, match="url"):
        await sk.imagery.download_image({"meta": {"sceneId": "x"}}, "nowhere.tif")
