"""Credentials and tokens go only where they belong (issue #9), proven with a probe on another host.

A hostile service points the client at :class:`~tests.integration.hostile.Probe`
(another origin on loopback) with paging links and redirects; the probe must
receive nothing. Malformed answers and echoed headers must not carry the
bearer into exceptions, their causes or their pickles.
"""

from __future__ import annotations

import pickle
import uuid

import pytest
from aiohttp import web

from eoclient.errors import (
    APIError,
    EOClientError,
    ForeignHostError,
    TransportError,
    UnsafeRedirectError,
    ValidationError,
)
from eoclient.sentinelhub import SentinelHub
from eoclient.spaceknow import SpaceKnow
from tests.integration.conftest import FAST_POLL, FAST_RETRY
from tests.integration.hostile import (
    PASSWORD,
    SECRET,
    SK_TOKEN,
    TOKEN,
    Hostile,
    Probe,
    everything_said,
    raw_server,
    sh_kwargs,
)

COLLECTION = str(uuid.UUID(int=7))
TILES = f"/api/v1/byoc/collections/{COLLECTION}/tiles"
GRID = "/api/v2/batch/tilinggrids/1"
GRID_JSON = {"id": 1, "name": "UTM 10km", "properties": {"unit": "METRE", "resolutions": [10.0]}}


@pytest.fixture
async def probe() -> Probe:
    async with Probe().running() as p:
        yield p


@pytest.fixture
async def hostile() -> Hostile:
    async with Hostile().running() as h:
        yield h


# -- paging links ---------------------------------------------------------------------------------


async def test_a_viewtoken_listing_does_not_follow_next_to_another_host(
    hostile: Hostile, probe: Probe
) -> None:
    async def first_page(request: web.Request) -> web.StreamResponse:
        tile = {"id": str(uuid.UUID(int=1)), "path": "a/b", "status": "INGESTED"}
        return web.json_response({"data": [tile], "links": {"next": f"{probe.url}{TILES}?viewtoken=2"}})

    hostile.on("GET", TILES, first_page)
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        with pytest.raises(ForeignHostError, match="refusing to send credentials") as info:
            await sh.byoc.tiles(COLLECTION).collect()
    assert probe.received == []
    assert probe.url.split("//")[1] in str(info.value)


async def test_an_absolute_url_on_another_host_gets_no_bearer(hostile: Hostile, probe: Probe) -> None:
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        with pytest.raises(ForeignHostError):
            await sh.request("GET", f"{probe.url}/anything")
        # Asked for without credentials it is the caller's business, and it goes.
        resp = await sh.request("GET", f"{probe.url}/public", authenticate=False)
    assert resp.status == 200
    assert [r.path for r in probe.received] == ["/public"]
    assert "Authorization" not in probe.received[0].headers


# -- redirects ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirected_token_request_does_not_send_the_client_secret(
    hostile: Hostile, probe: Probe, status: int
) -> None:
    hostile.redirect("POST", "/oauth/token", status, f"{probe.url}/oauth/token")
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        with pytest.raises(UnsafeRedirectError) as info:
            await sh.tiling_grids.get(1)
    assert probe.received == []
    assert info.value.status == status and "credentials" in info.value.reason
    assert SECRET not in everything_said(info.value)


async def test_a_redirected_spaceknow_login_does_not_send_the_password(
    hostile: Hostile, probe: Probe
) -> None:
    hostile.redirect("POST", "/login", 308, f"{probe.url}/login")
    async with SpaceKnow(
        "me@example.com", PASSWORD, base_url=hostile.url, auth_url=hostile.login_url, retry=FAST_RETRY
    ) as sk:
        with pytest.raises(UnsafeRedirectError):
            await sk.request("POST", "/user/info", json={})
    assert probe.received == []
    assert [r.path for r in hostile.received] == ["/login"]


async def test_a_redirected_process_request_does_not_resend_its_body(hostile: Hostile, probe: Probe) -> None:
    hostile.redirect("POST", "/api/v1/process", 307, f"{probe.url}/api/v1/process")
    request = {
        "input": {
            "bounds": {"bbox": [13.0, 45.0, 13.1, 45.1]},
            "data": [{"type": "sentinel-2-l2a"}],
        },
        "evalscript": "//VERSION=3\nfunction setup(){return {input:['B04'],output:{bands:1}}}\n"
        "function evaluatePixel(s){return [s.B04]}",
        "output": {"width": 8, "height": 8},
    }
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        with pytest.raises(UnsafeRedirectError, match="never re-sent"):
            await sh.process(request)
    assert probe.received == []


async def test_a_read_redirected_to_another_host_is_refused(hostile: Hostile, probe: Probe) -> None:
    hostile.redirect("GET", GRID, 302, f"{probe.url}{GRID}")
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        with pytest.raises(UnsafeRedirectError, match="another host") as info:
            await sh.tiling_grids.get(1)
    assert probe.received == []
    assert info.value.location == f"{probe.url}{GRID}"


async def test_a_read_redirected_on_the_same_host_is_followed_with_the_bearer(hostile: Hostile) -> None:
    hostile.redirect("GET", GRID, 302, "/moved/grid?x=1")

    async def moved(request: web.Request) -> web.StreamResponse:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        return web.json_response(GRID_JSON)

    hostile.on("GET", "/moved/grid", moved)
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        grid = await sh.tiling_grids.get(1)
    assert grid.id == 1
    assert [(r.path, r.query) for r in hostile.received if r.path != "/oauth/token"] == [
        (GRID, ""),
        ("/moved/grid", "x=1"),
    ]


async def test_a_read_without_credentials_follows_a_redirect_anywhere(hostile: Hostile, probe: Probe) -> None:
    # authenticate=False (a public or presigned URL): no bearer travels, so another host is fine.
    hostile.redirect("GET", "/public/file", 302, f"{probe.url}/bucket/file?X-Signature=abc")
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        resp = await sh.request("GET", "/public/file", authenticate=False)
    assert resp.status == 200
    assert [(r.path, r.query) for r in probe.received] == [("/bucket/file", "X-Signature=abc")]
    assert "Authorization" not in probe.received[0].headers


async def test_a_redirect_loop_ends(hostile: Hostile) -> None:
    hostile.redirect("GET", GRID, 302, GRID)
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        with pytest.raises(UnsafeRedirectError, match="more than 5 redirects"):
            await sh.tiling_grids.get(1)


# -- secrets in exceptions ------------------------------------------------------------------------

MALFORMED = {
    "an 8 kB header": b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 9000 + b"\r\nContent-Length: 2\r\n\r\n{}",
    "a negative Content-Length": b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}",
    "a bad status line": b"HTTP/1.1 abc OK\r\nContent-Length: 2\r\n\r\n{}",
    "garbage": b"\x00\x01\x02 not http at all\r\n\r\n",
}


@pytest.mark.parametrize("answer", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_answers_carry_no_bearer(hostile: Hostile, answer: bytes) -> None:
    async with raw_server(answer) as url:
        kwargs = sh_kwargs(hostile, base_url=url)
        async with SentinelHub(**kwargs) as sh:
            with pytest.raises(EOClientError) as info:
                await sh.request("GET", "/api/v1/anything")
    assert isinstance(info.value, TransportError)
    said = everything_said(info.value)
    assert TOKEN not in said and SECRET not in said
    assert info.value.__cause__ is None and info.value.__context__ is None


async def test_an_echoed_authorization_header_is_scrubbed_from_details(hostile: Hostile) -> None:
    async def echo(request: web.Request) -> web.StreamResponse:
        auth = request.headers["Authorization"]
        error = {
            "status": 400,
            "reason": "Bad Request",
            "message": f"you sent {auth}",
            "code": "COMMON_BAD_PAYLOAD",
            "errors": [{"headers": {"Authorization": auth}, "echo": auth, "raw": auth.split()[1]}],
        }
        return web.json_response({"error": error}, status=400)

    hostile.on("GET", GRID, echo)
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        with pytest.raises(APIError) as info:
            await sh.tiling_grids.get(1)
    said = everything_said(info.value) + repr(info.value.details)
    assert TOKEN not in said
    restored = pickle.loads(pickle.dumps(info.value))
    assert TOKEN not in repr(restored.details) and restored.code == "COMMON_BAD_PAYLOAD"


async def test_the_live_tokens_are_not_plain_attributes(hostile: Hostile) -> None:
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        await sh.request("GET", "/anything", ok={404: True})
        assert sh.transport.auth is not None
        assert TOKEN not in repr(vars(sh.transport.auth)) and TOKEN not in repr(vars(sh.transport))
    async with SpaceKnow(
        "me@example.com", PASSWORD, base_url=hostile.url, auth_url=hostile.login_url, retry=FAST_RETRY
    ) as sk:
        await sk.request("POST", "/anything", json={}, ok={404: True})
        assert sk.transport.auth is not None
        assert SK_TOKEN not in repr(vars(sk.transport.auth))
        assert PASSWORD not in repr(vars(sk.transport.auth))


# -- path segments --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../etc/x", "a/../../b", "..", "./x", "a//b", "a\\..\\b"])
async def test_a_byoc_file_name_cannot_change_the_request_path(hostile: Hostile, tmp_path, name: str) -> None:
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        with pytest.raises(ValidationError, match="path"):
            await sh.byoc.download_tile_file(COLLECTION, str(uuid.UUID(int=1)), name, tmp_path / "x.tif")
    assert hostile.received == []


@pytest.mark.parametrize("item_id", ["..", "."])
async def test_a_catalog_id_cannot_climb_out_of_its_collection(hostile: Hostile, item_id: str) -> None:
    async with SentinelHub(**sh_kwargs(hostile)) as sh:
        with pytest.raises(ValidationError, match="item_id"):
            await sh.catalog.item("sentinel-2-l2a", item_id)
    assert hostile.received == []


async def test_odd_characters_in_ids_stay_inside_one_segment(hostile: Hostile) -> None:
    async with SentinelHub(**sh_kwargs(hostile, retry=FAST_RETRY, poll=FAST_POLL)) as sh:
        with pytest.raises(APIError):  # the hostile service knows no such item: 404
            await sh.catalog.item("sentinel-2-l2a", "a/b?c#d")
    item_requests = [r for r in hostile.received if "items" in r.path]
    assert [(r.path, r.query) for r in item_requests] == [
        ("/api/v1/catalog/1.0.0/collections/sentinel-2-l2a/items/a/b?c#d", "")
    ]
