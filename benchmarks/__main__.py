"""python -m benchmarks [--requests N] [--concurrency C] [--repeat R]"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp

import eoclient
from eoclient._http.retry import RetryPolicy

RESULTS = Path(__file__).parent / "results"


def start_emulator() -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "eoclient.emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    return proc, info


def urls(info: dict[str, Any]) -> tuple[str, str, str, str]:
    creds = info["credentials"]
    return (
        info["sentinelhub_url"],
        info["sentinelhub_token_url"],
        creds["sh_client_id"],
        creds["sh_client_secret"],
    )


async def _prepare(info: dict[str, Any]) -> tuple[str, str]:
    """A job to GET, and a bearer token for the peers."""
    base, token_url, cid, secret = urls(info)
    async with eoclient.SentinelHub(cid, secret, base_url=base, token_url=token_url) as sh:
        job = (await sh.request("POST", "/_sample/jobs", json={"results": 1})).json()
        async with aiohttp.ClientSession() as http:
            form = {"grant_type": "client_credentials", "client_id": cid, "client_secret": secret}
            async with http.post(token_url, data=form) as resp:
                token = (await resp.json())["access_token"]
    return f"/_sample/jobs/{job['id']}", token


async def bounded(n: int, c: int, one: Callable[[], Awaitable[None]]) -> None:
    sem = asyncio.Semaphore(c)

    async def run() -> None:
        async with sem:
            await one()

    await asyncio.gather(*(run() for _ in range(n)))


async def eoclient_run(info: dict[str, Any], path: str, n: int, c: int) -> None:
    base, token_url, cid, secret = urls(info)
    retry = RetryPolicy(attempts=3)
    async with eoclient.SentinelHub(cid, secret, base_url=base, token_url=token_url, retry=retry) as sh:

        async def one() -> None:
            data = await sh.transport.request_json("GET", path, operation="bench.get")
            assert data["id"]

        await bounded(n, c, one)


async def aiohttp_run(info: dict[str, Any], path: str, token: str, n: int, c: int) -> None:
    base = urls(info)[0]
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http:

        async def one() -> None:
            async with http.get(base + path, headers=headers) as resp:
                resp.raise_for_status()
                assert (await resp.json())["id"]

        await bounded(n, c, one)


def requests_run(info: dict[str, Any], path: str, token: str, n: int, workers: int) -> None:
    import requests  # noqa: PLC0415 - only the bench session installs it

    base = urls(info)[0]
    headers = {"Authorization": f"Bearer {token}"}
    with requests.Session() as http:

        def one(_: int) -> None:
            resp = http.get(base + path, headers=headers, timeout=30)
            resp.raise_for_status()
            assert resp.json()["id"]

        if workers <= 1:
            for i in range(n):
                one(i)
        else:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(one, range(n)))


def measure(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n, c, r = args.requests, args.concurrency, args.repeat

    proc, info = start_emulator()
    try:
        path, token = asyncio.run(_prepare(info))
        rows = {
            "eoclient (full transport)": measure(lambda: asyncio.run(eoclient_run(info, path, n, c)), r),
            "aiohttp (bare, hand-set bearer)": measure(
                lambda: asyncio.run(aiohttp_run(info, path, token, n, c)), r
            ),
            "requests (sequential, as sentinelhub-py)": measure(
                lambda: requests_run(info, path, token, n, 1), r
            ),
            f"requests ({c} threads)": measure(lambda: requests_run(info, path, token, n, c), r),
        }
    finally:
        proc.terminate()
        proc.wait(10)

    base = rows["eoclient (full transport)"]
    lines = [
        f"small-json-get: {n} GETs, {c} in flight, median of {r}",
        f"{'client':44} {'seconds':>8} {'req/s':>8} {'time vs eoclient':>17}",
    ]
    for name, seconds in rows.items():
        lines.append(f"{name:44} {seconds:8.3f} {n / seconds:8.0f} {seconds / base:16.2f}x")
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "small-json-get.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
