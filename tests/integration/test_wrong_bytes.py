"""Never take the wrong bytes for data (issue #9): every download path given a 200 of the wrong type.

A proxy's HTML page, a JSON error sent with 200, an image of another format:
each is a typed :class:`~eoclient.errors.UnexpectedContentError` (or the
service's error), never returned, never written under the final name, never
cached; a cache entry stored with another type is not served.
"""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from pathlib import Path

import pytest
from aiohttp import web

from eoclient.bulk import download_all, download_file
from eoclient.errors import APIError, ResponseDecodeError, UnexpectedContentError
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.cache import META_FILE, RESPONSE_FILE
from eoclient.spaceknow import SpaceKnow
from tests.integration.conftest import FAST_RETRY
from tests.integration.hostile import PASSWORD, Hostile, raw_server, sh_kwargs

PROCESS = "/api/v1/process"
STATISTICS = "/api/v1/statistics"
PAGE = b"<html><head><title>Proxy login required</title></head><body>please sign in</body></html>"
TIFF = b"II*\x00" + bytes(200)
EVALSCRIPT = (
    "//VERSION=3\nfunction setup(){return {input:['B04'],output:{bands:1}}}\n"
    "function evaluatePixel(s){return [s.B04]}"
)


def process_request(*identifiers: str) -> dict:
    responses = [{"identifier": i, "format": {"type": "image/tiff"}} for i in identifiers or ("default",)]
    return {
        "input": {"bounds": {"bbox": [13.0, 45.0, 13.1, 45.1]}, "data": [{"type": "sentinel-2-l2a"}]},
        "evalscript": EVALSCRIPT,
        "output": {"width": 8, "height": 8, "responses": responses},
    }


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
async def hostile() -> Hostile:
    async with Hostile().running() as h:
        yield h


def sent(hostile: Hostile, path: str) -> int:
    return sum(1 for r in hostile.received if r.path == path)


# -- Process ---------------------------------------------------------------------------------------


async def test_process_refuses_a_page_and_caches_nothing(hostile: Hostile, tmp_path: Path) -> None:
    hostile.answer("POST", PROCESS, PAGE, "text/html; charset=utf-8")
    async with SentinelHub(**sh_kwargs(hostile, cache_dir=tmp_path / "cache")) as sh:
        with pytest.raises(UnexpectedContentError) as info:
            await sh.process(process_request())
        assert sh.cache is not None and sh.cache.stores == 0
    err = info.value
    assert err.expected == ("image/tiff",) and err.received == "text/html"
    assert "Proxy login required" in err.excerpt and "image/tiff" in str(err) and "text/html" in str(err)
    assert not list((tmp_path / "cache").rglob(RESPONSE_FILE))


async def test_process_to_file_writes_nothing_for_a_page(hostile: Hostile, tmp_path: Path) -> None:
    hostile.answer("POST", PROCESS, PAGE, "text/html")
    out = tmp_path / "out"
    async with SentinelHub(**sh_kwargs(hostile, cache_dir=tmp_path / "cache")) as sh:
        with pytest.raises(UnexpectedContentError):
            await sh.process_to_file(process_request(), out / "scene.tif")
    assert files_under(tmp_path) == []


async def test_an_image_of_another_format_is_refused(hostile: Hostile) -> None:
    hostile.answer("POST", PROCESS, b"\x89PNG\r\n\x1a\n" + bytes(50), "image/png")
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        with pytest.raises(UnexpectedContentError, match=r"expected image/tiff, got image/png"):
            await sh.process(process_request())


async def test_a_multi_output_request_refuses_a_single_image(hostile: Hostile) -> None:
    hostile.answer("POST", PROCESS, TIFF, "image/tiff")
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        with pytest.raises(UnexpectedContentError, match="application/tar"):
            await sh.process(process_request("default", "userdata"))


async def test_a_missing_content_type_is_refused(hostile: Hostile) -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(TIFF) + TIFF
    async with raw_server(answer) as url, SentinelHub(**sh_kwargs(hostile, base_url=url)) as sh:
        with pytest.raises(UnexpectedContentError, match="no Content-Type"):
            await sh.process(process_request())


async def test_a_cache_entry_stored_with_another_type_is_not_served(hostile: Hostile, tmp_path: Path) -> None:
    hostile.answer("POST", PROCESS, TIFF, "image/tiff")
    cache_dir = tmp_path / "cache"
    async with SentinelHub(**sh_kwargs(hostile, cache_dir=cache_dir)) as sh:
        assert (await sh.process(process_request())).content == TIFF
        # An entry poisoned by an older version (or by hand): stored as a web page.
        (meta_path,) = cache_dir.rglob(META_FILE)
        meta = json.loads(meta_path.read_bytes())
        meta["content_type"] = "text/html"
        meta_path.write_text(json.dumps(meta))
        assert (await sh.process(process_request())).content == TIFF
        assert sent(hostile, PROCESS) == 2  # asked again instead of serving the entry
        meta_path.write_text(json.dumps(meta))
        await sh.process_to_file(process_request(), tmp_path / "a.tif")
        assert sent(hostile, PROCESS) == 3
    assert (tmp_path / "a.tif").read_bytes() == TIFF


# -- JSON answers ----------------------------------------------------------------------------------


async def test_statistics_refuse_a_page(hostile: Hostile) -> None:
    hostile.answer("POST", STATISTICS, PAGE, "text/html")
    request = {
        "input": {"bounds": {"bbox": [13.0, 45.0, 13.1, 45.1]}, "data": [{"type": "sentinel-2-l2a"}]},
        "aggregation": {
            "timeRange": {"from": "2023-01-01T00:00:00Z", "to": "2023-01-31T00:00:00Z"},
            "aggregationInterval": {"of": "P10D"},
            "evalscript": EVALSCRIPT,
            "resx": 10,
            "resy": 10,
        },
    }
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        with pytest.raises(UnexpectedContentError, match="expected application/json, got text/html"):
            await sh.statistics(request)


async def test_json_in_a_page_is_not_taken_for_json(hostile: Hostile) -> None:
    grid = {"id": 1, "name": "g", "properties": {"unit": "METRE", "resolutions": [10.0]}}
    hostile.answer("GET", "/api/v2/batch/tilinggrids/1", json.dumps(grid).encode(), "text/html")
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        with pytest.raises(UnexpectedContentError):
            await sh.tiling_grids.get(1)


async def test_a_sentinelhub_error_document_sent_with_200_is_an_error(hostile: Hostile) -> None:
    error = {"error": {"status": 400, "reason": "Bad Request", "message": "Invalid grid", "code": "X_BAD"}}
    hostile.answer("GET", "/api/v2/batch/tilinggrids/1", json.dumps(error).encode(), "application/json")
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        with pytest.raises(APIError) as info:
            await sh.tiling_grids.get(1)
    assert info.value.status == 200 and info.value.code == "X_BAD"
    assert info.value.service_message == "Invalid grid"


async def test_a_spaceknow_error_document_sent_with_200_is_an_error(hostile: Hostile) -> None:
    error = {"error": "NOT-AUTHORIZED", "errorMessage": "no permission for this AoI"}
    hostile.answer("POST", "/credits/get-remaining-credits", json.dumps(error).encode(), "application/json")
    async with SpaceKnow(
        "me@example.com", PASSWORD, base_url=hostile.url, auth_url=hostile.login_url, retry=FAST_RETRY
    ) as sk:
        with pytest.raises(APIError) as info:
            await sk.request("POST", "/credits/get-remaining-credits", json={})
    assert info.value.code == "NOT-AUTHORIZED"


async def test_a_token_endpoint_error_sent_with_200_is_an_authentication_error(hostile: Hostile) -> None:
    body = json.dumps({"error": "invalid_client", "error_description": "bad secret"}).encode()
    hostile.answer("POST", "/oauth/token", body, "application/json")
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        with pytest.raises(APIError) as info:
            await sh.tiling_grids.get(1)
    assert type(info.value).__name__ == "AuthenticationError" and info.value.code == "invalid_client"


# -- downloads -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "served"),
    [
        ("tile.png", "text/html"),
        ("tile.tif", "image/png"),
        ("meta.json", "text/html"),
        ("blob.bin", "text/html"),
    ],
)
async def test_a_streamed_download_refuses_the_wrong_type(
    hostile: Hostile, tmp_path: Path, name: str, served: str
) -> None:
    hostile.answer("GET", f"/files/{name}", PAGE, served)
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        with pytest.raises(UnexpectedContentError):
            await download_file(sh.transport, f"/files/{name}", tmp_path / name)
    assert files_under(tmp_path) == []


async def test_a_generic_binary_type_is_accepted_for_a_known_extension(
    hostile: Hostile, tmp_path: Path
) -> None:
    hostile.answer("GET", "/files/tile.tif", TIFF, "binary/octet-stream")
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        got = await download_file(sh.transport, "/files/tile.tif", tmp_path / "tile.tif")
    assert got.bytes == len(TIFF) and (tmp_path / "tile.tif").read_bytes() == TIFF


async def test_a_bulk_run_reports_pages_as_failures_and_keeps_the_good_files(
    hostile: Hostile, tmp_path: Path
) -> None:
    hostile.answer("GET", "/files/a.png", b"\x89PNG\r\n\x1a\n" + bytes(20), "image/png")
    hostile.answer("GET", "/files/b.png", PAGE, "text/html")
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        report = await download_all(
            sh.transport, [("/files/a.png", tmp_path / "a.png"), ("/files/b.png", tmp_path / "b.png")]
        )
    assert [f.path.name for f in report.files] == ["a.png"]
    assert [type(f.error) for f in report.failures] == [UnexpectedContentError]
    assert files_under(tmp_path) == ["a.png"]


async def test_a_byoc_file_download_refuses_a_page(hostile: Hostile, tmp_path: Path) -> None:
    collection, tile = str(uuid.UUID(int=7)), str(uuid.UUID(int=1))
    base = f"/api/v1/byoc/collections/{collection}/tiles/{tile}/files/B04.tif"

    async def head(request: web.Request) -> web.StreamResponse:
        return web.Response(headers={"Content-Type": "image/tiff", "Content-Length": str(len(PAGE))})

    hostile.on("HEAD", base, head)
    hostile.answer("GET", base, PAGE, "text/html")
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        with pytest.raises(UnexpectedContentError):
            await sh.byoc.download_tile_file(collection, tile, "B04.tif", tmp_path / "B04.tif")
    assert files_under(tmp_path) == []


def tar_of(**members: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name.replace("_", "."))
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


async def test_an_archive_part_of_the_wrong_type_is_refused(hostile: Hostile, tmp_path: Path) -> None:
    body = tar_of(default_png=b"\x89PNG\r\n\x1a\n" + bytes(20), userdata_json=b"{}")
    hostile.answer("POST", PROCESS, body, "application/x-tar")
    async with SentinelHub(**sh_kwargs(hostile, cache_dir=tmp_path)) as sh:
        with pytest.raises(
            UnexpectedContentError, match=r"part 'default'.*expected image/tiff, got image/png"
        ):
            await sh.process(process_request("default", "userdata"))
        assert sh.cache is not None and sh.cache.stores == 0


async def test_an_archive_without_a_requested_part_is_refused(hostile: Hostile) -> None:
    hostile.answer("POST", PROCESS, tar_of(default_tif=TIFF), "application/tar")
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        with pytest.raises(ResponseDecodeError, match="no part 'userdata'"):
            await sh.process(process_request("default", "userdata"))
