"""The floor table's client processes: eoclient's side and the floor's side of each measure.

Each function is a row for :mod:`benchmarks.child` (one process each, see
:mod:`benchmarks.measure`): it warms up, then times ``ctx.repeats()`` runs and
records, as facts, how much one run did (requests, bytes, polls) so that the
runner can divide and check that both sides did the same work.

* Small Process requests (``process_*``): M requests of a small TIFF with C
  in flight on the emulator. eoclient: ``sh.process(dict)``; the floor: one
  aiohttp session posting the same dict as JSON with a hand-set bearer and
  reading the body, nothing else (no validation, no retry, no limiter).
* The same requests one at a time, this process's data pushed out of the caches
  before each (``process_*_cold``): what the footprint line counts under
  callgrind's cache simulation (:mod:`benchmarks.floor.instructions`).
* 1 GiB to a file (``to_file_*``): the stand-in server (:mod:`benchmarks.standin`)
  streams the body. eoclient: ``sh.process_to_file`` (``.part`` then
  rename); the floor: aiohttp reading up to 1 MiB at a time, each chunk
  written with a plain blocking ``write`` (no ``.part``, no thread). While the
  loop is blocked in a write the socket fills, so each read returns one
  received piece (256 KiB, asyncio's read size): what eoclient's
  ``iter_received`` yields without asking.
* Job status updates (``jobs_*``): N Batch v2 request ids on the stand-in,
  which answers PROCESSING and then DONE on each id's ``polls``-th GET.
  eoclient: ``sh.batch.job(id)`` handles, all awaited at once
  (``asyncio.gather(job.wait() ...)``); the floor: one asyncio task per id
  that GETs, decodes the JSON, checks the status and sleeps. The same fixed
  delay between polls on both sides, and the server counts the calls.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp

import eoclient
from benchmarks import clients
from benchmarks.measure import Context
from benchmarks.scenarios._process import eoclient_request, evalscript, tile

SMALL_SCRIPT = evalscript(3, "UINT8")
LARGE_SCRIPT = evalscript(3, "FLOAT32")
BBOX = (13.8, 45.8, 14.5, 46.2)
LARGE, WARM = 2500, 32  # the stand-in answers a request narrower than 100 px with a small body
READ_CHUNK = 1 << 20  # the most one read may join (see the module docstring)


async def _bearer(http: aiohttp.ClientSession, info: dict[str, Any]) -> dict[str, str]:
    creds = info["credentials"]
    form = {
        "grant_type": "client_credentials",
        "client_id": creds["sh_client_id"],
        "client_secret": creds["sh_client_secret"],
    }
    async with http.post(info["sentinelhub_token_url"], data=form) as resp:
        resp.raise_for_status()
        return {"Authorization": f"Bearer {(await resp.json())['access_token']}"}


# --- small Process requests -------------------------------------------------------------------


def _small(i: int, size: int) -> dict[str, Any]:
    """The i-th small request, the dict a user pastes from the documentation (both sides build it)."""
    return eoclient_request(tile(i), size, size, SMALL_SCRIPT)


Post = Callable[[int], Awaitable[Any]]  # sends the i-th small request, returns its answer


@asynccontextmanager
async def _eoclient_post(ctx: Context) -> AsyncIterator[Post]:
    """eoclient's side: ``sh.process`` of the i-th small request (the result: a ProcessResult)."""
    size = ctx.params["size"]
    async with clients.sentinelhub(ctx.info) as sh:
        yield lambda i: sh.process(_small(i, size))


@asynccontextmanager
async def _aiohttp_post(ctx: Context) -> AsyncIterator[Post]:
    """The floor's side: one aiohttp session posting the i-th small request, reading the body."""
    size = ctx.params["size"]
    url = ctx.info["sentinelhub_url"] + "/api/v1/process"
    async with aiohttp.ClientSession() as http:
        headers = {**await _bearer(http, ctx.info), "Accept": "image/tiff"}

        async def one(i: int) -> bytes:
            async with http.post(url, json=_small(i, size), headers=headers) as resp:
                resp.raise_for_status()
                return await resp.read()

        yield one


def _answer_bytes(answer: Any) -> int:
    return len(answer) if isinstance(answer, bytes) else len(answer.content)


async def _in_flight(ctx: Context, post: Post) -> None:
    """The timed runs of the CPU rows: ``requests`` requests, ``concurrency`` in flight."""
    m, c = ctx.params["requests"], ctx.params["concurrency"]
    await clients.bounded([partial(post, i) for i in range(c)], c)  # warm-up: token, C connections
    for _ in ctx.repeats():
        with ctx.timed():
            jobs = [partial(post, i) for i in range(m)]
            results = await clients.bounded(jobs, c)
        ctx.fact(requests=len(results), bytes=sum(map(_answer_bytes, results)))
        del jobs, results


async def _cold(ctx: Context, post: Post) -> None:
    """The footprint line's runs: one request at a time, the caches evicted before each."""
    m = ctx.params["requests"]
    for i in range(WARM_UP):
        await post(i)
    for _ in ctx.repeats():
        with ctx.timed():
            results = []
            for i in range(m):
                _evict()
                results.append(await post(i))
        ctx.fact(requests=len(results), bytes=sum(map(_answer_bytes, results)))
        del results


def _evict() -> None:
    """Push this process's data out of the caches: what another process running in between does.

    Writes only (a memset), so that the eviction itself adds no read misses to the count.
    """
    ctypes.memset(_EVICTION, 1, len(_EVICTION))


WARM_UP = 8  # requests before the timed ones: token, connection, every code path once
_EVICTION = ctypes.create_string_buffer(8 << 20)  # larger than the last level the footprint line simulates


def _run(
    ctx: Context,
    side: Callable[[Context], AbstractAsyncContextManager[Post]],
    how: Callable[[Context, Post], Awaitable[None]],
) -> None:
    """Run ``how`` (the timed runs) with the requests of ``side``."""

    async def main() -> None:
        async with side(ctx) as post:
            await how(ctx, post)

    asyncio.run(main())


def process_eoclient(ctx: Context) -> None:
    _run(ctx, _eoclient_post, _in_flight)


def process_aiohttp(ctx: Context) -> None:
    _run(ctx, _aiohttp_post, _in_flight)


def process_eoclient_cold(ctx: Context) -> None:
    """One request at a time, the caches evicted before each: for the cache footprint line."""
    _run(ctx, _eoclient_post, _cold)


def process_aiohttp_cold(ctx: Context) -> None:
    """The floor of :func:`process_eoclient_cold`."""
    _run(ctx, _aiohttp_post, _cold)


# --- one large answer to a file ---------------------------------------------------------------


def _out(ctx: Context, name: str) -> Path:
    """Where a large answer goes: ``params["dir"]`` (a tmpfs by default, see the runner) or the workdir."""
    where = ctx.params.get("dir") or ""
    folder = Path(tempfile.mkdtemp(prefix="eoclient-floor-", dir=where)) if where else ctx.workdir
    return folder / name


def to_file_eoclient(ctx: Context) -> None:
    out = _out(ctx, "eoclient.tif")

    async def main() -> None:
        async with clients.sentinelhub(ctx.info) as sh:
            await sh.process_to_file(eoclient_request(BBOX, WARM, WARM, LARGE_SCRIPT), out)
            out.unlink()
            for _ in ctx.repeats():
                with ctx.timed():
                    info = await sh.process_to_file(eoclient_request(BBOX, LARGE, LARGE, LARGE_SCRIPT), out)
                size = out.stat().st_size
                assert info.size == size, (info.size, size)
                ctx.fact(bytes=size)
                out.unlink()

    try:
        asyncio.run(main())
    finally:
        if out.parent != ctx.workdir:
            shutil.rmtree(out.parent, ignore_errors=True)


def to_file_aiohttp(ctx: Context) -> None:
    out = _out(ctx, "aiohttp.tif")
    sync = bool(ctx.params.get("fsync"))
    url = ctx.info["sentinelhub_url"] + "/api/v1/process"

    async def fetch(http: aiohttp.ClientSession, headers: dict[str, str], width: int) -> None:
        body = eoclient_request(BBOX, width, width, LARGE_SCRIPT)
        with out.open("wb") as fh:
            async with http.post(url, json=body, headers=headers) as resp:
                resp.raise_for_status()
                async for chunk in resp.content.iter_chunked(READ_CHUNK):
                    fh.write(chunk)
            if sync:  # the durable floor: what eoclient's atomic commit also does before the rename
                fh.flush()
                os.fsync(fh.fileno())

    async def main() -> None:
        async with aiohttp.ClientSession() as http:
            headers = {**await _bearer(http, ctx.info), "Accept": "image/tiff"}
            await fetch(http, headers, WARM)
            out.unlink()
            for _ in ctx.repeats():
                with ctx.timed():
                    await fetch(http, headers, LARGE)
                ctx.fact(bytes=out.stat().st_size)
                out.unlink()

    try:
        asyncio.run(main())
    finally:
        if out.parent != ctx.workdir:
            shutil.rmtree(out.parent, ignore_errors=True)


# --- many jobs on one loop --------------------------------------------------------------------


def _job_ids(n: int) -> tuple[str, list[str]]:
    """N Batch request ids (UUIDs) sharing a fresh prefix: the stand-in counts each id's GETs from 0."""
    prefix = secrets.token_hex(4)
    return prefix, [f"{prefix}-0000-4000-8000-{i:012x}" for i in range(n)]


async def _polls(http: aiohttp.ClientSession, info: dict[str, Any], prefix: str) -> int:
    async with http.get(f"{info['sentinelhub_url']}/_stats/polls/{prefix}") as resp:
        resp.raise_for_status()
        return int((await resp.json())["polls"])


def jobs_eoclient(ctx: Context) -> None:
    from benchmarks.scenarios.jobs_idle_memory import _traced  # noqa: PLC0415 - the idle-memory measure

    n, delay = ctx.params["jobs"], ctx.params["delay"]
    if ctx.params.get("trace_idle", 1):  # off when instructions are counted (it scales with n)
        idle, polled = _traced(n)
        ctx.fact(idle_bytes_per_job=round(idle), polled_bytes_per_job=round(polled))
    creds = ctx.info["credentials"]
    policy = eoclient.PollPolicy(initial=delay, multiplier=1.0, max_delay=delay, jitter=0.0)

    async def main() -> None:
        client = eoclient.SentinelHub(
            creds["sh_client_id"],
            creds["sh_client_secret"],
            base_url=ctx.info["sentinelhub_url"],
            token_url=ctx.info["sentinelhub_token_url"],
            poll=policy,
        )
        async with client as sh, aiohttp.ClientSession() as stats:
            _, warm = _job_ids(4)
            await asyncio.gather(*(sh.batch.job(i).wait() for i in warm))  # token, connections, imports
            for _ in ctx.repeats():
                prefix, ids = _job_ids(n)
                jobs = [sh.batch.job(i) for i in ids]
                with ctx.timed():
                    finals = await asyncio.gather(*(job.wait() for job in jobs))
                done = sum(record.status == "DONE" for record in finals)
                ctx.fact(jobs=n, done=done, polls=await _polls(stats, ctx.info, prefix))
                del jobs, finals

    asyncio.run(main())


def jobs_aiohttp(ctx: Context) -> None:
    n, delay = ctx.params["jobs"], ctx.params["delay"]
    base = ctx.info["sentinelhub_url"] + "/api/v2/batch/process/"

    async def main() -> None:
        async with aiohttp.ClientSession() as http:
            headers = await _bearer(http, ctx.info)

            async def follow(job_id: str) -> str:
                url = base + job_id
                while True:
                    async with http.get(url, headers=headers) as resp:
                        resp.raise_for_status()
                        status = str((await resp.json())["status"])
                    if status in ("DONE", "FAILED", "STOPPED"):
                        return status
                    await asyncio.sleep(delay)

            _, warm = _job_ids(4)
            await asyncio.gather(*(follow(i) for i in warm))
            for _ in ctx.repeats():
                prefix, ids = _job_ids(n)
                with ctx.timed():
                    finals = await asyncio.gather(*(follow(i) for i in ids))
                ctx.fact(jobs=n, done=finals.count("DONE"), polls=await _polls(http, ctx.info, prefix))
                del finals

    asyncio.run(main())
