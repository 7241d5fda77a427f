"""process-many: M small Process API requests (256x256 TIFF, a trivial evalscript), C in flight.

eoclient: ``asyncio.gather`` over ``sh.process(...)`` bounded by a semaphore;
the TIFF bytes stay bytes. sentinelhub-py: ``SentinelHubRequest`` objects
downloaded with ``SentinelHubDownloadClient.download(..., max_threads=C)``: by
default it decodes every TIFF into a numpy array (``decode_data=True``); with
``decode_data=False`` it returns the raw bytes (``DownloadResponse.content``),
the like-for-like comparison. The floor is bare aiohttp posting the same dict
(encoded with msgspec) with a hand-set bearer and reading the bytes. Building
the requests is part of the timed work on every side.
"""

from __future__ import annotations

import asyncio
from functools import partial

from benchmarks import clients
from benchmarks.measure import Context
from benchmarks.scenarios._process import eoclient_request, evalscript, sentinelhub_request, tile
from benchmarks.spec import Row, Scenario

SCRIPT = evalscript(3, "UINT8")


def eoclient_process(ctx: Context) -> None:
    m, c, size = ctx.params["requests"], ctx.params["concurrency"], ctx.params["size"]

    async def main() -> None:
        async with clients.sentinelhub(ctx.info) as sh:
            await sh.process(eoclient_request(tile(0), size, size, SCRIPT))  # warm-up

            for _ in ctx.repeats():
                with ctx.timed():
                    jobs = [
                        partial(sh.process, eoclient_request(tile(i), size, size, SCRIPT)) for i in range(m)
                    ]
                    results = await clients.bounded(jobs, c)
                ctx.fact(responses=len(results), bytes=sum(len(r.content) for r in results))
                del jobs, results  # work MB is one repetition's, not two

    asyncio.run(main())


def aiohttp_process(ctx: Context) -> None:
    """The floor: bare aiohttp posting the same request as JSON with a hand-set bearer, reading the bytes.

    No checks, no retries, no limits: what any client must at least do (encode
    the dict, send it, read the answer), so eoclient's row divided by this one
    is what eoclient's own work costs on top.
    """
    import aiohttp  # noqa: PLC0415 - eoclient's dependency; this row uses it bare
    import msgspec  # noqa: PLC0415

    from benchmarks.peers import bearer_token  # noqa: PLC0415

    m, c, size = ctx.params["requests"], ctx.params["concurrency"], ctx.params["size"]
    url = ctx.info["sentinelhub_url"] + "/api/v1/process"
    headers = {
        "Authorization": f"Bearer {bearer_token(ctx.info)}",
        "Accept": "image/tiff",
        "Content-Type": "application/json",
    }

    async def fetch(session: aiohttp.ClientSession, i: int) -> bytes:
        body = msgspec.json.encode(eoclient_request(tile(i), size, size, SCRIPT))
        async with session.post(url, data=body, headers=headers) as resp:
            resp.raise_for_status()
            return await resp.read()

    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            await fetch(session, 0)  # warm-up: the first connection
            for _ in ctx.repeats():
                with ctx.timed():
                    jobs = [partial(fetch, session, i) for i in range(m)]
                    results = await clients.bounded(jobs, c)
                ctx.fact(responses=len(results), bytes=sum(len(r) for r in results))
                del jobs, results

    asyncio.run(main())


def _sentinelhub(ctx: Context, *, decode: bool, paced: bool = True) -> None:
    from sentinelhub import SentinelHubDownloadClient  # noqa: PLC0415 - the peer is optional

    from benchmarks.peers import sentinelhub_config, unpaced  # noqa: PLC0415

    m, c, size = ctx.params["requests"], ctx.params["concurrency"], ctx.params["size"]
    config = sentinelhub_config(ctx.info)
    client = SentinelHubDownloadClient(config=config)
    if not paced:
        unpaced(client)
    warm = sentinelhub_request(ctx.info, config, tile(0), size, size, SCRIPT)
    client.download(warm.download_list, decode_data=True)  # warm-up: token, imports (tifffile)
    for _ in ctx.repeats():
        with ctx.timed():
            requests = [
                sentinelhub_request(ctx.info, config, tile(i), size, size, SCRIPT).download_list[0]
                for i in range(m)
            ]
            results = client.download(requests, max_threads=c, decode_data=decode)
        if decode:
            ctx.fact(responses=len(results), pixels=sum(int(a.size) for a in results))
        else:
            ctx.fact(responses=len(results), bytes=sum(len(r.content) for r in results))
        del requests, results  # work MB is one repetition's, not two


def sentinelhub_decoded(ctx: Context) -> None:
    _sentinelhub(ctx, decode=True)


def sentinelhub_raw(ctx: Context) -> None:
    _sentinelhub(ctx, decode=False)


def sentinelhub_raw_unpaced(ctx: Context) -> None:
    _sentinelhub(ctx, decode=False, paced=False)


SCENARIO = Scenario(
    name="process-many",
    module=__name__,
    summary=(
        "M small Process API requests (a 256x256 3-band UINT8 TIFF each, a trivial evalscript, small "
        "boxes over Slovenia) with C in flight; every answer kept in memory."
    ),
    rows=(
        Row("eoclient gather(sh.process()), bytes", "eoclient_process"),
        Row(
            "aiohttp post + read() (floor)",
            "aiohttp_process",
            "aiohttp",
            "bare aiohttp: the dict encoded with msgspec, a hand-set bearer, no checks, no retries",
        ),
        Row(
            "sentinelhub-py download(), numpy (default)",
            "sentinelhub_decoded",
            "sentinelhub",
            "decode_data=True: every TIFF decoded to a numpy array (its default)",
        ),
        Row(
            "sentinelhub-py download(decode_data=False)",
            "sentinelhub_raw",
            "sentinelhub",
            "raw bytes (DownloadResponse.content): like for like with eoclient",
        ),
        Row(
            "sentinelhub-py raw bytes, pacing off",
            "sentinelhub_raw_unpaced",
            "sentinelhub",
            "diagnostic: raw bytes with SentinelHubRateLimit(minimum_wait_time=0)",
        ),
    ),
    normal={"requests": 100, "concurrency": 16, "size": 256, "repeat": 5},
    quick={"requests": 10, "concurrency": 4, "size": 64, "repeat": 1},
    unit="req/s",
    amount=lambda params, facts: float(params["requests"]),
    headline=lambda p: f"{p['requests']} requests of {p['size']}x{p['size']} TIFF, C={p['concurrency']}",
    agree=("responses", "bytes", "pixels"),
)
