"""Paginator: pages on demand, max_items trims exactly, restartable, cursor loops caught."""

from __future__ import annotations

import asyncio
import json
import pickle

import pytest

from eoclient.errors import ResponseDecodeError, ValidationError
from eoclient.paging import (
    Cursor,
    NoCursor,
    Page,
    Paginator,
    SceneCursor,
    SkCursor,
    StacNext,
    ViewToken,
)


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


# -- typed cursors -----------------------------------------------------------------------


def by_token(total: int, size: int) -> tuple[Paginator[int, ViewToken], list[ViewToken | None]]:
    """A listing whose cursors are ViewTokens (the next start index as text)."""
    calls: list[ViewToken | None] = []

    async def fetch(cursor: ViewToken | None) -> Page[int, ViewToken]:
        calls.append(cursor)
        start = 0 if cursor is None else int(cursor)
        nxt = start + size
        return Page(list(range(start, min(nxt, total))), ViewToken(str(nxt)) if nxt < total else None)

    return Paginator(fetch, cursor_kind=ViewToken), calls


@pytest.mark.parametrize(
    "wrong",
    [SkCursor("3"), SceneCursor("3"), StacNext.of({"method": "GET", "url": "/x"}), 3, {"next": "3"}],
)
async def test_a_cursor_of_another_kind_is_refused_before_fetching(wrong: object) -> None:
    listing, calls = by_token(10, 3)
    with pytest.raises(ValidationError) as info:
        await anext(listing.pages(start=wrong))  # type: ignore[arg-type]  # mypy refuses it too
    assert info.value.field == "start"
    assert type(wrong).__name__ in str(info.value) and "ViewToken" in str(info.value)
    assert calls == []


async def test_saved_text_resumes_as_the_listings_kind() -> None:
    listing, calls = by_token(10, 3)
    pages = listing.pages()
    first = await anext(pages)
    await pages.aclose()
    assert isinstance(first.next, ViewToken)
    saved = json.dumps({"cursor": first.next})  # a cursor is a str: JSON takes it as it is
    for start in (json.loads(saved)["cursor"], ViewToken(str(first.next))):
        calls.clear()
        rest = [i async for page in listing.pages(start=start) for i in page.items]
        assert rest == [3, 4, 5, 6, 7, 8, 9]
        assert calls[0] == "3" and type(calls[0]) is ViewToken


async def test_text_that_is_no_cursor_of_the_kind_is_refused() -> None:
    async def fetch(cursor: SceneCursor | None) -> Page[int, SceneCursor]:
        raise AssertionError("nothing is fetched")

    for text in ("abc", "-1", ""):
        with pytest.raises(ValidationError) as info:
            await anext(Paginator(fetch, cursor_kind=SceneCursor).pages(start=text))  # type: ignore[arg-type]
        assert info.value.field == "start"


async def test_a_single_page_listing_has_nothing_to_resume_from() -> None:
    async def fetch(cursor: NoCursor | None) -> Page[int, NoCursor]:
        return Page([1, 2])

    listing = Paginator(fetch, cursor_kind=NoCursor)
    assert await listing.collect() == [1, 2]
    with pytest.raises(ValidationError, match="one page"):
        await anext(listing.pages(start="x"))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="one page"):
        NoCursor("x")


def test_cursors_are_text_that_survives_str_json_and_pickle() -> None:
    request = {"method": "POST", "url": "/search", "body": {"limit": 5, "collections": ["s2"]}}
    cursors: list[Cursor] = [
        ViewToken("abc"),
        ViewToken("https://sh.test/api/v2/x?viewtoken=2"),
        SkCursor("MQ=="),
        SceneCursor("40"),
        StacNext.of(request),
    ]
    for cursor in cursors:
        kind = type(cursor)
        assert kind(str(cursor)) == cursor and type(kind(str(cursor))) is kind
        assert kind(json.loads(json.dumps(cursor))) == cursor
        again = pickle.loads(pickle.dumps(cursor))
        assert again == cursor and type(again) is kind
        assert repr(cursor).startswith(f"{kind.__name__}(")
    assert StacNext.of(request).request() == request
    assert StacNext.of(request) == StacNext.of(dict(reversed(request.items())))  # keys sorted
    assert SceneCursor("40").offset == 40
    assert ViewToken("https://sh.test/x").is_url and not ViewToken("abc").is_url


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (StacNext, "not json"),
        (StacNext, '["GET", "/x"]'),
        (StacNext, '{"method": "DELETE", "url": "/x"}'),
        (StacNext, '{"method": "GET", "url": "/x", "body": [1]}'),
        (SceneCursor, "4.5"),
        (ViewToken, ""),
    ],
)
def test_malformed_cursor_text_is_refused(kind: type[Cursor], text: str) -> None:
    with pytest.raises(ValidationError) as info:
        kind(text)
    assert info.value.field == "cursor"


# -- collect() reading ahead (a listing that decodes its pages itself) ----------------------------


class TwoPhase(Paginator[int, str]):
    """Pages of ``size`` numbers; fetching a head and settling it are recorded as events."""

    _read_ahead = True

    def __init__(self, total: int, size: int, *, max_items: int | None = None, fail_at: int | None = None):
        super().__init__(self._whole, max_items=max_items)
        self.total, self.size, self.fail_at = total, size, fail_at
        self.events: list[str] = []

    def _head(self, cursor: str | None) -> Page[int, str]:
        start = 0 if cursor is None else int(cursor)
        items = list(range(start, min(start + self.size, self.total)))
        end = start + self.size
        return Page(items, str(end) if end < self.total else None)

    async def _whole(self, cursor: str | None) -> Page[int, str]:
        self.events.append(f"fetch {cursor}")
        return self._head(cursor)

    async def _fetch_head(self, cursor: str | None) -> Page[int, str]:
        self.events.append(f"head {cursor}")
        await asyncio.sleep(0)  # an answer takes at least a turn of the loop
        self.events.append(f"answer {cursor}")
        return self._head(cursor)

    def _settle(self, page: Page[int, str]) -> Page[int, str]:
        first = page.items[0] if page.items else None
        self.events.append(f"decode {first}")
        if first is not None and first == self.fail_at:
            raise ResponseDecodeError("bad page", operation="test")
        return page


async def test_collect_asks_for_the_next_page_before_decoding_this_one() -> None:
    pager = TwoPhase(6, 2)
    assert await pager.collect() == list(range(6))
    assert pager.events == [
        "head None", "answer None",
        "head 2", "decode 0", "answer 2",  # page 2 is asked for before page 1 is decoded
        "head 4", "decode 2", "answer 4",
        "decode 4",  # the last page: nothing to read ahead
    ]  # fmt: skip


async def test_iterating_reads_no_page_ahead() -> None:
    pager = TwoPhase(6, 2)
    async for _ in pager:
        break
    assert pager.events == ["fetch None"]


async def test_collect_reads_no_page_beyond_max_items() -> None:
    for max_items, heads in ((4, ["head None", "head 2"]), (5, ["head None", "head 2", "head 4"])):
        pager = TwoPhase(100, 2, max_items=max_items)
        assert await pager.collect() == list(range(max_items))
        assert [e for e in pager.events if e.startswith("head")] == heads


async def test_a_page_that_fails_to_decode_drops_the_page_read_ahead(no_leaked_tasks) -> None:
    pager = TwoPhase(10, 2, fail_at=2)
    with pytest.raises(ResponseDecodeError, match="bad page"):
        await pager.collect()
    no_leaked_tasks()  # the read-ahead of page 3 was cancelled and awaited, not left running
    assert pager.events[-1] == "decode 2"


async def test_collect_still_catches_a_repeated_cursor() -> None:
    class Stuck(TwoPhase):
        def _head(self, cursor: str | None) -> Page[int, str]:
            return Page([1], "same")

    with pytest.raises(ResponseDecodeError, match="repeated a page cursor"):
        await Stuck(10, 1).collect()
