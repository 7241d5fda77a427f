"""Paginator: pages on demand, max_items trims exactly, restartable, cursor loops caught."""

from __future__ import annotations

import pytest

from eoclient.errors import ResponseDecodeError, ValidationError
from eoclient.paging import Page, Paginator


def numbered(total: int, size: int):
    calls: list[object] = []

    async def fetch(cursor: object) -> Page[int]:
        calls.append(cursor)
        start = 0 if cursor is None else int(str(cursor))
        items = list(range(start, min(start + size, total)))
        nxt = start + size if start + size < total else None
        return Page(items, None if nxt is None else str(nxt))

    return fetch, calls


async def test_iterates_all_items_across_pages() -> None:
    fetch, calls = numbered(10, 3)
    assert await Paginator(fetch).collect() == list(range(10))
    assert calls == [None, "3", "6", "9"]


async def test_max_items_stops_without_fetching_more() -> None:
    fetch, calls = numbered(100, 10)
    pager = Paginator(fetch, max_items=25)
    pages = [page async for page in pager.pages()]
    assert [len(p.items) for p in pages] == [10, 10, 5]
    assert len(calls) == 3
    assert await Paginator(fetch, max_items=0).collect() == []


async def test_restartable() -> None:
    fetch, _ = numbered(5, 2)
    pager = Paginator(fetch)
    assert await pager.collect() == await pager.collect()


async def test_early_break_fetches_no_further_page() -> None:
    fetch, calls = numbered(100, 10)
    async for item in Paginator(fetch):
        if item == 3:
            break
    assert calls == [None]


async def test_repeated_cursor_is_an_error_not_a_loop() -> None:
    async def fetch(cursor: object) -> Page[int]:
        return Page([1], "same")

    with pytest.raises(ResponseDecodeError, match="repeated"):
        await Paginator(fetch).collect()


def test_negative_max_items() -> None:
    async def fetch(cursor: object) -> Page[int]:
        return Page([], None)

    with pytest.raises(ValidationError):
        Paginator(fetch, max_items=-1)


async def test_pages_resume_from_a_saved_cursor() -> None:
    fetch, calls = numbered(10, 3)
    first = [page async for page in Paginator(fetch, max_items=3).pages()]
    # max_items trims the last page's cursor away; a plain listing keeps it.
    pages = Paginator(fetch).pages()
    page = await anext(pages)
    await pages.aclose()
    assert page.items == [0, 1, 2] and first[0].next is None
    calls.clear()
    rest = [p async for p in Paginator(fetch).pages(start=page.next)]
    assert [i for p in rest for i in p.items] == [3, 4, 5, 6, 7, 8, 9]
    assert calls == ["3", "6", "9"]  # the first page was not asked for again
