"""The emulator's own S3 API subset: listing pages, Range, XML errors, the access key, store faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.core.deliveries import Delivery
from tests.s3server import emulator_s3_client as boto


def signed(emu: Emulator, key: str | None = None) -> dict[str, str]:
    """A SigV4-shaped header (the emulator checks the access key id, not the signature)."""
    access = key or emu.credentials.s3_access_key
    cred = f"{access}/20240101/{emu.credentials.s3_region}/s3/aws4_request"
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders=host, Signature=00"}


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator() as running:
        running.objects.put("b", "one.bin", bytes(range(100)))
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_listing_pages_with_continuation_tokens(emu: Emulator) -> None:
    for i in range(1205):
        emu.objects.put("many", f"k/{i:05d}", b"x")
    client = boto(emu)
    first = await asyncio.to_thread(client.list_objects_v2, Bucket="many", MaxKeys=5000)
    assert first["KeyCount"] == 1000 and first["IsTruncated"] and first["MaxKeys"] == 1000
    pages = await asyncio.to_thread(
        lambda: list(
            client.get_paginator("list_objects_v2").paginate(
                Bucket="many", PaginationConfig={"PageSize": 500}
            )
        )
    )
    keys = [o["Key"] for p in pages for o in p["Contents"]]
    assert len(pages) == 3 and keys == [f"k/{i:05d}" for i in range(1205)]
    after = await asyncio.to_thread(client.list_objects_v2, Bucket="many", StartAfter="k/01200")
    assert [o["Key"] for o in after["Contents"]] == [f"k/0120{i}" for i in range(1, 5)]


async def test_range_and_unsatisfiable_range(emu: Emulator, http: aiohttp.ClientSession) -> None:
    url = f"{emu.s3_url}/b/one.bin"
    async with http.get(url, headers={**signed(emu), "Range": "bytes=10-19"}) as r:
        assert r.status == 206 and r.headers["Content-Range"] == "bytes 10-19/100"
        assert await r.read() == bytes(range(10, 20))
    async with http.get(url, headers={**signed(emu), "Range": "bytes=-5"}) as r:
        assert r.status == 206 and await r.read() == bytes(range(95, 100))
    async with http.get(url, headers={**signed(emu), "Range": "bytes=100-"}) as r:
        assert r.status == 416 and r.headers["Content-Range"] == "bytes */100"
        assert "<Code>InvalidRange</Code>" in await r.text()


async def test_errors_are_s3_xml(emu: Emulator, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{emu.s3_url}/b/missing", headers=signed(emu)) as r:
        assert r.status == 404 and r.content_type == "application/xml"
        text = await r.text()
        assert text.startswith("<?xml") and "<Error><Code>NoSuchKey</Code><Message>" in text
    async with http.get(f"{emu.s3_url}/nobucket?list-type=2", headers=signed(emu)) as r:
        assert r.status == 404 and "<Code>NoSuchBucket</Code>" in await r.text()
    async with http.get(f"{emu.s3_url}/b?list-type=2&max-keys=ten", headers=signed(emu)) as r:
        assert r.status == 400 and "<Code>InvalidArgument</Code>" in await r.text()
    async with http.head(f"{emu.s3_url}/b/missing", headers=signed(emu)) as r:
        assert r.status == 404 and await r.read() == b""


async def test_conditional_writes_hold_like_s3(emu: Emulator, http: aiohttp.ClientSession) -> None:
    url = f"{emu.s3_url}/b/one.bin"
    before = emu.objects.get("b", "one.bin")
    assert before is not None
    async with http.put(url, data=b"other", headers={**signed(emu), "If-None-Match": "*"}) as r:
        assert r.status == 412 and "<Code>PreconditionFailed</Code>" in await r.text()
    async with http.put(url, data=b"other", headers={**signed(emu), "If-Match": '"not-it"'}) as r:
        assert r.status == 412
    async with http.put(url, data=b"other", headers={**signed(emu), "If-None-Match": before.etag}) as r:
        assert r.status == 501 and "<Code>NotImplemented</Code>" in await r.text()
    assert emu.objects.get("b", "one.bin") == before  # refused writes changed nothing
    async with http.put(f"{emu.s3_url}/b/new.bin", data=b"x", headers={**signed(emu), "If-Match": "*"}) as r:
        assert r.status == 404 and "<Code>NoSuchKey</Code>" in await r.text()
    async with http.put(url, data=b"other", headers={**signed(emu), "If-Match": before.etag}) as r:
        assert r.status == 200
    async with http.put(
        f"{emu.s3_url}/b/new.bin", data=b"x", headers={**signed(emu), "If-None-Match": "*"}
    ) as r:
        assert r.status == 200
    got = emu.objects.get("b", "one.bin"), emu.objects.get("b", "new.bin")
    assert got[0] is not None and got[0].body == b"other" and got[1] is not None and got[1].body == b"x"


async def test_access_key_is_checked(emu: Emulator, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{emu.s3_url}/b/one.bin", headers=signed(emu, "AKIAWRONG")) as r:
        assert r.status == 403 and "<Code>InvalidAccessKeyId</Code>" in await r.text()
    async with http.get(f"{emu.s3_url}/b/one.bin") as r:
        assert r.status == 403 and "<Code>AccessDenied</Code>" in await r.text()


async def test_slow_down_and_drop_faults(emu: Emulator, http: aiohttp.ClientSession) -> None:
    emu.faults.inject("server_error", service="s3", status=503)
    async with http.get(f"{emu.s3_url}/b/one.bin", headers=signed(emu)) as r:
        assert r.status == 503 and "<Code>SlowDown</Code>" in await r.text()
    emu.faults.inject("drop", service="s3")
    with pytest.raises(aiohttp.ClientPayloadError):
        async with http.get(f"{emu.s3_url}/b/one.bin", headers=signed(emu)) as r:
            await r.read()
    async with http.get(f"{emu.s3_url}/b/one.bin", headers=signed(emu)) as r:  # then it serves again
        assert r.status == 200 and len(await r.read()) == 100


class _Once:
    def __init__(self, delivery: Delivery) -> None:
        self.delivery, self.sent = delivery, False

    def due(self, now: float) -> list[Delivery]:
        if self.sent:
            return []
        self.sent = True
        return [self.delivery]

    def finished(self, now: float) -> bool:
        return self.sent


async def test_late_delivery_appears_after_emulated_seconds(emu: Emulator) -> None:
    emu.faults.inject("late", path_prefix="/b/late/", seconds=600)
    emu.deliveries.register(_Once(Delivery("b", "late/x", b"late")))
    emu.deliveries.register(_Once(Delivery("b", "now/y", b"now")))
    client = boto(emu)
    listed = await asyncio.to_thread(client.list_objects_v2, Bucket="b")
    assert [o["Key"] for o in listed["Contents"]] == ["now/y", "one.bin"]
    emu.clock.advance(600)
    listed = await asyncio.to_thread(client.list_objects_v2, Bucket="b")
    assert [o["Key"] for o in listed["Contents"]] == ["late/x", "now/y", "one.bin"]
