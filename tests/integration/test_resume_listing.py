"""A listing resumed from a saved cursor (``Paginator.pages(start=...)``), the cursor kept as JSON.

One test per kind of cursor: Sentinel Hub's viewtoken, the STAC next link (a
whole request), SpaceKnow's cursor.
"""

from __future__ import annotations

import json
from typing import Any

from eoclient.emulator import Emulator
from eoclient.emulator.spaceknow.credits import PAGE_SIZE, allocate
from eoclient.paging import Paginator
from eoclient.sentinelhub import SentinelHub
from eoclient.spaceknow import SpaceKnow
from tests.integration.test_sk_credits import box_in, my_id, scenes


async def first_page_then_rest(listing: Paginator[Any]) -> tuple[list[Any], list[Any]]:
    """Every item in one go, and the same listing taken up again after its first page."""
    whole = await listing.collect()
    pages = listing.pages()
    first = await anext(pages)
    await pages.aclose()
    saved = json.dumps(first.next)  # what a process would write down before stopping
    assert first.next is not None
    rest = [item async for page in listing.pages(start=json.loads(saved)) for item in page.items]
    return whole, [*first.items, *rest]


async def test_viewtoken_listing_resumes(sh: SentinelHub) -> None:
    whole, resumed = await first_page_then_rest(sh.tiling_grids.list(count=1))
    assert len(whole) > 1 and [g.id for g in resumed] == [g.id for g in whole]


async def test_stac_search_resumes(sh: SentinelHub) -> None:
    search = sh.catalog.search(
        "sentinel-2-l2a", bbox=[10.0, 45.0, 20.0, 52.0], datetime=("2023-01-01", "2023-12-31"), limit=5
    )
    whole, resumed = await first_page_then_rest(search)
    assert len(whole) > 5 and [i.id for i in resumed] == [i.id for i in whole]


async def test_spaceknow_cursor_listing_resumes(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    me = await my_id(sk)
    for scene in scenes("pl", "perth", 10):  # transactions beyond the first page
        allocate(eo_emulator.state, [scene["sceneId"]], box_in(scene, 0.01, 0.01), me)
    whole, resumed = await first_page_then_rest(sk.credits.transactions())
    assert len(whole) > PAGE_SIZE
    assert [t.id for t in resumed] == [t.id for t in whole]
