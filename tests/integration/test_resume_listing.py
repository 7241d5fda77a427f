"""A listing resumed from a saved cursor (``Paginator.pages(start=...)``), the cursor kept as JSON or text.

One test per kind of cursor: Sentinel Hub's viewtoken, the STAC next link (a
whole request), SpaceKnow's cursor; each saved as JSON and read back as plain
text, and saved with ``str()`` and restored with its kind. A cursor of another
kind is refused before anything is sent.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.spaceknow.credits import PAGE_SIZE, allocate
from eoclient.errors import ValidationError
from eoclient.paging import Cursor, Paginator, SkCursor, StacNext, ViewToken
from eoclient.sentinelhub import SentinelHub
from eoclient.spaceknow import SpaceKnow
from tests.integration.test_sk_credits import box_in, my_id, scenes


async def first_page_then_rest(
    listing: Paginator[Any, Any], kind: type[Cursor] | None = None
) -> tuple[list[Any], list[Any]]:
    """Every item in one go, and the same listing taken up again after its first page.

    The cursor is saved as JSON and read back as plain text, or (``kind`` given)
    saved with ``str()`` and restored as ``kind(text)``.
    """
    whole = await listing.collect()
    pages = listing.pages()
    first = await anext(pages)
    await pages.aclose()
    assert first.next is not None
    if kind is None:
        saved = json.dumps(first.next)  # what a process would write down before stopping
        start = json.loads(saved)
    else:
        assert type(first.next) is kind
        start = kind(str(first.next))
        assert start == first.next
    rest = [item async for page in listing.pages(start=start) for item in page.items]
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


async def test_viewtoken_listing_resumes_from_text(sh: SentinelHub) -> None:
    whole, resumed = await first_page_then_rest(sh.tiling_grids.list(count=1), ViewToken)
    assert len(whole) > 1 and [g.id for g in resumed] == [g.id for g in whole]


async def test_stac_search_resumes_from_text(sh: SentinelHub) -> None:
    search = sh.catalog.search("sentinel-2-l2a", bbox=[10.0, 45.0, 20.0, 52.0], datetime="2023", limit=5)
    whole, resumed = await first_page_then_rest(search, StacNext)
    assert len(whole) > 5 and [i.id for i in resumed] == [i.id for i in whole]


async def test_spaceknow_cursor_listing_resumes_from_text(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    me = await my_id(sk)
    for scene in scenes("pl", "perth", 10):
        allocate(eo_emulator.state, [scene["sceneId"]], box_in(scene, 0.01, 0.01), me)
    whole, resumed = await first_page_then_rest(sk.credits.transactions(), SkCursor)
    assert len(whole) > PAGE_SIZE
    assert [t.id for t in resumed] == [t.id for t in whole]


async def test_a_cursor_of_another_listing_kind_is_refused_before_sending(
    eo_emulator: Emulator, sh: SentinelHub
) -> None:
    search = sh.catalog.search("sentinel-2-l2a", bbox=[10.0, 45.0, 20.0, 52.0], datetime="2023", limit=5)
    pages = search.pages()
    stac_next = (await anext(pages)).next
    await pages.aclose()
    assert isinstance(stac_next, StacNext)
    grids = sh.tiling_grids.list(count=1)
    sent = len(eo_emulator.requests)
    for wrong in (stac_next, SkCursor("MQ=="), {"method": "GET"}):
        with pytest.raises(ValidationError) as info:
            await anext(grids.pages(start=wrong))  # type: ignore[arg-type]  # mypy refuses it too
        assert info.value.field == "start"
        assert "ViewToken" in str(info.value) and type(wrong).__name__ in str(info.value)
    with pytest.raises(ValidationError) as info:
        await anext(search.pages(start=ViewToken("abc")))  # type: ignore[arg-type]
    assert "StacNext" in str(info.value) and "ViewToken" in str(info.value)
    assert len(eo_emulator.requests) == sent
