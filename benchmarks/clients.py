"""eoclient as the benchmarks use it: the default client, aimed at the emulator, and bounded gathering."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import eoclient

T = TypeVar("T")


def sentinelhub(info: dict[str, Any]) -> eoclient.SentinelHub:
    """A :class:`eoclient.SentinelHub` with its defaults (retries, limits, timeouts), on the emulator."""
    creds = info["credentials"]
    return eoclient.SentinelHub(
        creds["sh_client_id"],
        creds["sh_client_secret"],
        base_url=info["sentinelhub_url"],
        token_url=info["sentinelhub_token_url"],
    )


async def bounded(jobs: Sequence[Callable[[], Awaitable[T]]], concurrency: int) -> list[T]:
    """``asyncio.gather`` of ``jobs`` with at most ``concurrency`` running at a time, results in order."""
    sem = asyncio.Semaphore(concurrency)

    async def run(job: Callable[[], Awaitable[T]]) -> T:
        async with sem:
            return await job()

    return await asyncio.gather(*(run(job) for job in jobs))
