"""small-json-get: N authenticated GETs of a small JSON document, C in flight.

What the transport costs per request: eoclient's full transport (auth,
retry policy, limiter, log events, msgspec decode) against a bare aiohttp
session with a hand-set bearer (the floor), ``requests`` with a Session
(keep-alive) sequentially and in a thread pool, and ``requests.request()``
per call in a thread pool, which is how sentinelhub-py's download client
sends (no Session: a new connection every time).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp

from benchmarks import clients
from benchmarks.measure import Context
from benchmarks.spec import Row, Scenario


def prepare(info: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Create the document to GET (a sample job) once, in the parent."""

    async def create() -> str:
        async with clients.sentinelhub(info) as sh:
            job = (await sh.request("POST", "/_sample/jobs", json={"results": 1})).json()
        return f"/_sample/jobs/{job['id']}"

    return {"path": asyncio.run(create())}


def eoclient_transport(ctx: Context) -> None:
    n, c, path = ctx.params["requests"], ctx.params["concurrency"], ctx.params["path"]

    async def main() -> None:
        async with clients.sentinelhub(ctx.info) as sh:

            async def one() -> str:
                data = await sh.transport.request_json("GET", path, operation="bench.get")
                return str(data["id"])

            await one()  # warm-up: token, first connection
            for _ in ctx.repeats():
                with ctx.timed():
                    ids = await clients.bounded([one] * n, c)
                ctx.fact(documents=len(ids))

    asyncio.run(main())


def aiohttp_bare(ctx: Context) -> None:
    _aiohttp(ctx, None)


def aiohttp_read_timeout(ctx: Context) -> None:
    # eoclient's default Timeouts: a read timeout is one more aiohttp timer, re-armed at each read.
    _aiohttp(ctx, aiohttp.ClientTimeout(total=300, sock_connect=10, sock_read=60))


def _aiohttp(ctx: Context, timeout: aiohttp.ClientTimeout | None) -> None:
    n, c, path = ctx.params["requests"], ctx.params["concurrency"], ctx.params["path"]
    creds = ctx.info["credentials"]

    async def main() -> None:
        async with aiohttp.ClientSession(**({"timeout": timeout} if timeout else {})) as http:
            form = {
                "grant_type": "client_credentials",
                "client_id": creds["sh_client_id"],
                "client_secret": creds["sh_client_secret"],
            }
            async with http.post(ctx.info["sentinelhub_token_url"], data=form) as resp:
                resp.raise_for_status()
                headers = {"Authorization": f"Bearer {(await resp.json())['access_token']}"}
            url = ctx.info["sentinelhub_url"] + path

            async def one() -> str:
                async with http.get(url, headers=headers) as resp:
                    resp.raise_for_status()
                    return str((await resp.json())["id"])

            await one()
            for _ in ctx.repeats():
                with ctx.timed():
                    ids = await clients.bounded([one] * n, c)
                ctx.fact(documents=len(ids))

    asyncio.run(main())


def _requests(ctx: Context, workers: int, *, keep_alive: bool) -> None:
    import requests  # noqa: PLC0415 - a peer

    from benchmarks.peers import bearer_token  # noqa: PLC0415

    n, path = ctx.params["requests"], ctx.params["path"]
    url = ctx.info["sentinelhub_url"] + path
    headers = {"Authorization": f"Bearer {bearer_token(ctx.info)}"}
    with requests.Session() as session:
        send = session.get if keep_alive else requests.get

        def one(_: int = 0) -> str:
            resp = send(url, headers=headers, timeout=30)
            resp.raise_for_status()
            return str(resp.json()["id"])

        one()
        for _ in ctx.repeats():
            with ctx.timed():
                if workers <= 1:
                    ids = [one() for _ in range(n)]
                else:
                    with ThreadPoolExecutor(workers) as pool:
                        ids = list(pool.map(one, range(n)))
            ctx.fact(documents=len(ids))


def requests_sequential(ctx: Context) -> None:
    _requests(ctx, 1, keep_alive=True)


def requests_threads(ctx: Context) -> None:
    _requests(ctx, ctx.params["concurrency"], keep_alive=True)


def requests_no_session(ctx: Context) -> None:
    _requests(ctx, ctx.params["concurrency"], keep_alive=False)


SCENARIO = Scenario(
    name="small-json-get",
    module=__name__,
    summary=(
        "N authenticated GETs of a small JSON document with C in flight: what each transport costs per "
        "request. The aiohttp row is the floor (no auth logic, no retries, no limiter, no log events)."
    ),
    rows=(
        Row("eoclient (full transport)", "eoclient_transport"),
        Row("aiohttp (bare, hand-set bearer)", "aiohttp_bare", "aiohttp"),
        Row(
            "aiohttp (bare, with a read timeout)",
            "aiohttp_read_timeout",
            "aiohttp",
            "the floor with eoclient's default timeouts (sock_read 60 s): the same stalled-read guard",
        ),
        Row("requests Session, sequential", "requests_sequential", "requests"),
        Row("requests Session, C threads", "requests_threads", "requests"),
        Row(
            "requests.get per call, C threads (as sh-py)",
            "requests_no_session",
            "requests",
            "no Session, a new connection per request: how sentinelhub-py's download client sends",
        ),
    ),
    normal={"requests": 2000, "concurrency": 50, "repeat": 5},
    quick={"requests": 100, "concurrency": 10, "repeat": 1},
    unit="req/s",
    amount=lambda params, facts: float(params["requests"]),
    headline=lambda p: f"{p['requests']} GETs, C={p['concurrency']} in flight",
    agree=("documents",),
    prepare=prepare,
)
