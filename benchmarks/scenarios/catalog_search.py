"""catalog-search: page through N items of ``sentinel-2-l2a`` (bbox and datetime, ``limit`` per page).

eoclient: ``sh.catalog.search(..., max_items=N).collect()`` (typed
:class:`~eoclient.sentinelhub.catalog_models.Item` objects). sentinelhub-py:
``SentinelHubCatalog.search(...)`` iterated until N items (plain dicts), as
its users do, with its download client's default pacing and, as a
diagnostic, without it. Both ask for the same pages; each client reports a
digest of the item ids it got, and the runner checks they agree.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import itertools
from collections.abc import Iterable

from benchmarks import clients
from benchmarks.measure import Context
from benchmarks.spec import Row, Scenario

COLLECTION = "sentinel-2-l2a"
BBOX = (-10.0, 35.0, 30.0, 60.0)  # most of the emulator's scenes are over Europe
START = dt.datetime(2017, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2024, 12, 31, 23, 59, 59, tzinfo=dt.UTC)


def _digest(ids: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]


def eoclient_collect(ctx: Context) -> None:
    n, limit = ctx.params["items"], ctx.params["limit"]

    async def main() -> None:
        async with clients.sentinelhub(ctx.info) as sh:
            # warm-up: token, imports
            await sh.catalog.search(COLLECTION, bbox=list(BBOX), datetime=(START, END), max_items=1).collect()
            for _ in ctx.repeats():
                with ctx.timed():
                    items = await sh.catalog.search(
                        COLLECTION, bbox=list(BBOX), datetime=(START, END), limit=limit, max_items=n
                    ).collect()
                ctx.fact(items=len(items), ids=_digest(item.id for item in items))
                del items  # work MB is one repetition's, not two

    asyncio.run(main())


def _sentinelhub(ctx: Context, *, paced: bool) -> None:
    from sentinelhub import CRS, BBox, SentinelHubCatalog  # noqa: PLC0415 - the peer is optional

    from benchmarks.peers import sentinelhub_config, unpaced  # noqa: PLC0415

    n, limit = ctx.params["items"], ctx.params["limit"]
    catalog = SentinelHubCatalog(config=sentinelhub_config(ctx.info))
    if not paced:
        unpaced(catalog.client)
    bbox = BBox(BBOX, crs=CRS.WGS84)
    next(iter(catalog.search(COLLECTION, bbox=bbox, time=(START, END), limit=1)))  # warm-up: token, imports
    for _ in ctx.repeats():
        with ctx.timed():
            found = catalog.search(COLLECTION, bbox=bbox, time=(START, END), limit=limit)
            items = list(itertools.islice(found, n))
        ctx.fact(items=len(items), ids=_digest(item["id"] for item in items))
        del found, items


def sentinelhub_search(ctx: Context) -> None:
    _sentinelhub(ctx, paced=True)


def sentinelhub_search_unpaced(ctx: Context) -> None:
    _sentinelhub(ctx, paced=False)


SCENARIO = Scenario(
    name="catalog-search",
    module=__name__,
    summary=(
        "Page through N items of sentinel-2-l2a (a bbox over Europe, 2017-2024, `limit` items a page) "
        "and keep them all. eoclient decodes every page into typed Items; sentinelhub-py hands out the "
        "JSON dicts."
    ),
    rows=(
        Row("eoclient catalog.search().collect()", "eoclient_collect"),
        Row(
            "sentinelhub-py SentinelHubCatalog.search()",
            "sentinelhub_search",
            "sentinelhub",
            "its defaults: the download client starts requests at least 50 ms apart",
        ),
        Row(
            "sentinelhub-py search(), pacing off",
            "sentinelhub_search_unpaced",
            "sentinelhub",
            "diagnostic: the same with SentinelHubRateLimit(minimum_wait_time=0)",
        ),
    ),
    normal={"items": 2000, "limit": 100, "repeat": 7},
    quick={"items": 200, "limit": 100, "repeat": 1},
    unit="items/s",
    amount=lambda params, facts: float(facts.get("items", params["items"])),
    headline=lambda p: (
        f"{p['items']} items of {COLLECTION}, limit {p['limit']} ({-(-p['items'] // p['limit'])} pages)"
    ),
    agree=("items", "ids"),
    memory=True,
)
