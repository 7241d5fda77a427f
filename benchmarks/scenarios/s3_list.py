"""s3-list: list every key under a prefix of a bucket on a real S3 server (moto), 10,000 keys.

eoclient's :mod:`eoclient.storage` (``ObjectStore.list``: pages followed
lazily, typed ``StoredObject``), obstore's ``list`` stream directly,
aiobotocore's ``list_objects_v2`` paginator, and bare aiohttp sending unsigned
ListObjectsV2 GETs and parsing the XML (the floor; moto does not check
signatures). 1000 keys a page (S3's maximum) for every client.
"""

from __future__ import annotations

import asyncio
import hashlib
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks.measure import Context
from benchmarks.s3server import create_bucket, with_moto
from benchmarks.scenarios._s3 import aiobotocore_client, figures, imported, obstore_store, settings
from benchmarks.spec import Row, Scenario

PREFIX = "tiles/"
_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def _seed(s3: dict[str, Any], params: dict[str, Any]) -> None:
    client = create_bucket(s3)
    keys = [f"{PREFIX}{i // 100:04d}/{i % 100:02d}.tif" for i in range(params["keys"])]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: client.put_object(Bucket=s3["bucket"], Key=k, Body=b"x"), keys))


def _digest(keys: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]


def _record(ctx: Context, keys: list[str], total: int) -> None:
    ctx.fact(keys=len(keys), digest=_digest(keys), bytes=total)


def eoclient_list(ctx: Context) -> None:
    imported(ctx, "eoclient.storage")
    from eoclient.storage import open_store  # noqa: PLC0415

    async def main() -> None:
        store = open_store(f"s3://{ctx.info['s3']['bucket']}", settings(ctx))
        async for _ in store.list(PREFIX + "0000/"):
            pass
        for _ in ctx.repeats():
            with ctx.timed():
                found = [obj async for obj in store.list(PREFIX)]
            _record(ctx, [o.key for o in found], sum(o.size for o in found))

    asyncio.run(main())


def obstore_list(ctx: Context) -> None:
    imported(ctx, "obstore")
    import obstore  # noqa: PLC0415 - the peer is optional

    async def main() -> None:
        store = obstore_store(ctx)
        async for _ in obstore.list(store, PREFIX + "0000/"):
            pass
        for _ in ctx.repeats():
            with ctx.timed():
                found = [
                    meta async for chunk in obstore.list(store, PREFIX, chunk_size=1000) for meta in chunk
                ]
            _record(ctx, [m["path"] for m in found], sum(m["size"] for m in found))

    asyncio.run(main())


def aiobotocore_list(ctx: Context) -> None:
    imported(ctx, "aiobotocore.session")
    bucket = ctx.info["s3"]["bucket"]

    async def main() -> None:
        async with aiobotocore_client(ctx) as client:
            await client.list_objects_v2(Bucket=bucket, Prefix=PREFIX + "0000/")
            for _ in ctx.repeats():
                with ctx.timed():
                    found = []
                    async for page in client.get_paginator("list_objects_v2").paginate(
                        Bucket=bucket, Prefix=PREFIX
                    ):
                        found.extend(page.get("Contents", []))
                _record(ctx, [o["Key"] for o in found], sum(o["Size"] for o in found))

    asyncio.run(main())


def aiohttp_list(ctx: Context) -> None:
    imported(ctx, "aiohttp")
    import aiohttp  # noqa: PLC0415

    url = f"{ctx.info['s3']['endpoint']}/{ctx.info['s3']['bucket']}"

    async def pages(session: aiohttp.ClientSession, prefix: str) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        token = None
        while True:
            params = {"list-type": "2", "prefix": prefix, "max-keys": "1000"}
            if token:
                params["continuation-token"] = token
            async with session.get(url, params=params) as resp:
                resp.raise_for_status()
                root = ET.fromstring(await resp.read())
            found.extend(
                (c.findtext(f"{_NS}Key") or "", int(c.findtext(f"{_NS}Size") or 0))
                for c in root.iter(f"{_NS}Contents")
            )
            token = root.findtext(f"{_NS}NextContinuationToken")
            if root.findtext(f"{_NS}IsTruncated") != "true" or not token:
                return found

    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            await pages(session, PREFIX + "0000/")
            for _ in ctx.repeats():
                with ctx.timed():
                    found = await pages(session, PREFIX)
                _record(ctx, [k for k, _ in found], sum(s for _, s in found))

    asyncio.run(main())


SCENARIO = Scenario(
    name="s3-list",
    module=__name__,
    summary=(
        "List every key under a prefix of a bucket on moto's S3 server (ListObjectsV2, 1000 a page); "
        "eoclient.storage, obstore and aiobotocore signed, bare aiohttp unsigned (the floor)."
    ),
    rows=(
        Row("eoclient.storage list()", "eoclient_list"),
        Row("obstore list()", "obstore_list", "obstore", "obstore's list stream, 1000 a chunk"),
        Row("aiobotocore paginator", "aiobotocore_list", "aiobotocore", "list_objects_v2 paginator"),
        Row("aiohttp unsigned GETs (floor)", "aiohttp_list", "aiohttp", "XML parsed with ElementTree"),
    ),
    normal={"keys": 10_000, "repeat": 5},
    quick={"keys": 120, "repeat": 1},
    unit="keys/s",
    amount=lambda params, facts: float(facts.get("keys", 0)),
    headline=lambda p: f"{p['keys']:,} keys listed from moto's S3 server",
    agree=("keys", "digest", "bytes"),
    setup=with_moto(_seed),
    figures=figures,
)
