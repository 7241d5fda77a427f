"""s3-download: one large object (1 GiB) from a real S3 server (moto) streamed to a file.

eoclient's ``ObjectStore.download`` (the bulk engine: ``.part`` file,
atomic rename, size check), obstore's ``get_async(...).stream()``,
aiobotocore's ``get_object`` body read in chunks, and bare aiohttp with an
unsigned GET (the floor). Every client writes the file; memory is the point
as much as speed.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from pathlib import Path
from typing import Any

from benchmarks.measure import Context
from benchmarks.s3server import create_bucket, with_moto
from benchmarks.scenarios._s3 import aiobotocore_client, figures, imported, obstore_store, settings
from benchmarks.spec import Row, Scenario

KEY = "big/object.bin"
WARM = "big/warm.bin"
CHUNK = 1 << 20


class _Pattern(io.RawIOBase):
    """``size`` bytes of a repeating pattern, read without holding them all."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.block = hashlib.sha256(b"eoclient").digest() * (CHUNK // 32)

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        n = min(len(buf), self.left, len(self.block))
        buf[:n] = self.block[:n]
        self.left -= n
        return n


def _seed(s3: dict[str, Any], params: dict[str, Any]) -> None:
    client = create_bucket(s3)
    size = params["mib"] * CHUNK
    # public-read: the aiohttp floor sends unsigned GETs
    public = {"ACL": "public-read"}
    client.upload_fileobj(io.BufferedReader(_Pattern(size)), s3["bucket"], KEY, ExtraArgs=public)
    client.put_object(Bucket=s3["bucket"], Key=WARM, Body=b"warm" * 1000, **public)


def _record(ctx: Context, out: Path) -> None:
    ctx.fact(bytes=out.stat().st_size)
    out.unlink()


def eoclient_download(ctx: Context) -> None:
    imported(ctx, "eoclient.storage")
    from eoclient.storage import open_store  # noqa: PLC0415

    out = ctx.workdir / "object.bin"

    async def main() -> None:
        store = open_store(f"s3://{ctx.info['s3']['bucket']}", settings(ctx))
        await store.download(WARM, out)
        out.unlink()
        for _ in ctx.repeats():
            with ctx.timed():
                await store.download(KEY, out)
            _record(ctx, out)

    asyncio.run(main())


def obstore_download(ctx: Context) -> None:
    imported(ctx, "obstore")
    import obstore  # noqa: PLC0415 - the peer is optional

    out = ctx.workdir / "object.bin"

    async def main() -> None:
        store = obstore_store(ctx)
        await (await obstore.get_async(store, WARM)).bytes_async()
        for _ in ctx.repeats():
            with ctx.timed(), out.open("wb") as fh:
                result = await obstore.get_async(store, KEY)
                async for chunk in result.stream(min_chunk_size=CHUNK):
                    fh.write(chunk)
            _record(ctx, out)

    asyncio.run(main())


def aiobotocore_download(ctx: Context) -> None:
    imported(ctx, "aiobotocore.session")
    bucket = ctx.info["s3"]["bucket"]
    out = ctx.workdir / "object.bin"

    async def main() -> None:
        async with aiobotocore_client(ctx) as client:
            resp = await client.get_object(Bucket=bucket, Key=WARM)
            async with resp["Body"] as body:
                await body.read()
            for _ in ctx.repeats():
                with ctx.timed(), out.open("wb") as fh:
                    resp = await client.get_object(Bucket=bucket, Key=KEY)
                    async with resp["Body"] as body:
                        async for chunk in body.iter_chunks(CHUNK):
                            fh.write(chunk)
                _record(ctx, out)

    asyncio.run(main())


def aiohttp_download(ctx: Context) -> None:
    imported(ctx, "aiohttp")
    import aiohttp  # noqa: PLC0415

    base = f"{ctx.info['s3']['endpoint']}/{ctx.info['s3']['bucket']}/"
    out = ctx.workdir / "object.bin"

    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            async with session.get(base + WARM) as resp:
                await resp.read()
            for _ in ctx.repeats():
                with ctx.timed(), out.open("wb") as fh:
                    async with session.get(base + KEY) as resp:
                        resp.raise_for_status()
                        async for chunk in resp.content.iter_chunked(CHUNK):
                            fh.write(chunk)
                _record(ctx, out)

    asyncio.run(main())


SCENARIO = Scenario(
    name="s3-download",
    module=__name__,
    summary=(
        "One large object streamed from moto's S3 server to a file; eoclient.storage, obstore and "
        "aiobotocore signed, bare aiohttp unsigned (the floor); each client in its own process."
    ),
    rows=(
        Row("eoclient.storage download() (.part, atomic)", "eoclient_download"),
        Row(
            "obstore get_async().stream()",
            "obstore_download",
            "obstore",
            "1 MiB chunks",
        ),
        Row("aiobotocore get_object() body", "aiobotocore_download", "aiobotocore", "iter_chunks(1 MiB)"),
        Row("aiohttp unsigned GET (floor)", "aiohttp_download", "aiohttp", "iter_chunked(1 MiB)"),
    ),
    normal={"mib": 1024, "repeat": 3},
    quick={"mib": 4, "repeat": 1},
    unit="MB/s",
    amount=lambda params, facts: facts.get("bytes", 0) / 1e6,
    headline=lambda p: f"one {p['mib']:,} MiB object from moto's S3 server to a file",
    agree=("bytes",),
    memory=True,
    setup=with_moto(_seed),
    figures=figures,
)
