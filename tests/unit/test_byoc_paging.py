"""Sentinel Hub view paging (``links.nextToken`` / ``links.next``) against aioresponses."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aioresponses import aioresponses

from eoclient._context import ServiceContext
from eoclient._http.dialects import SENTINELHUB
from eoclient._http.transport import Transport
from eoclient._polling import PollPolicy
from eoclient.errors import ForeignHostError, ResponseDecodeError
from eoclient.paging import Page, ViewToken
from eoclient.sentinelhub._paging import view_paginator
from eoclient.sentinelhub.tiling_grids import TilingGrid, TilingGrids

BASE = "https://sh.test"
URL = re.compile(r"^https://sh\.test/api/v2/batch/tilinggrids.*$")


def grids_of(transport: Transport) -> TilingGrids:
    return TilingGrids(ServiceContext(transport, PollPolicy(), None))


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    t = Transport(base_url=BASE, dialect=SENTINELHUB)
    yield t
    await t.aclose()


async def test_follows_next_token_then_next_url(transport: Transport) -> None:
    with aioresponses() as mock:
        mock.get(URL, payload={"data": [{"id": 0}], "links": {"nextToken": "t1"}})
        mock.get(
            URL,
            payload={"data": [{"id": 1}], "links": {"next": f"{BASE}/api/v2/batch/tilinggrids?viewtoken=u2"}},
        )
        mock.get(URL, payload={"data": [{"id": 2}], "links": {}})
        grids = await grids_of(transport).list(count=1).collect()
        assert [g.id for g in grids] == [0, 1, 2]
        urls = [str(key[1]) for key in mock.requests]
        assert urls == [
            f"{BASE}/api/v2/batch/tilinggrids?count=1",
            f"{BASE}/api/v2/batch/tilinggrids?count=1&viewtoken=t1",
            f"{BASE}/api/v2/batch/tilinggrids?viewtoken=u2",
        ]


@pytest.mark.parametrize(
    "href",
    [
        "https://elsewhere.test/api/v2/batch/tilinggrids?viewtoken=u2",
        "http://sh.test/api/v2/batch/tilinggrids",
    ],
)
async def test_a_next_url_on_another_host_is_refused(transport: Transport, href: str) -> None:
    with aioresponses() as mock:
        mock.get(URL, payload={"data": [{"id": 0}], "links": {"next": href}})
        with pytest.raises(ForeignHostError, match=r"refusing to send credentials"):
            await grids_of(transport).list().collect()
        assert len(mock.requests) == 1


async def test_an_empty_page_ends_the_listing(transport: Transport) -> None:
    with aioresponses() as mock:
        mock.get(URL, payload={"data": [], "links": {"nextToken": "again"}})
        assert await grids_of(transport).list().collect() == []


async def test_a_repeated_token_is_caught(transport: Transport) -> None:
    with aioresponses() as mock:
        mock.get(URL, payload={"data": [{"id": 0}], "links": {"nextToken": "same"}}, repeat=True)
        pager = view_paginator(transport, "/api/v2/batch/tilinggrids", TilingGrid, operation="t")
        with pytest.raises(ResponseDecodeError, match="repeated"):
            await pager.collect()


async def test_get_accepts_a_data_envelope_and_rejects_a_bad_shape(transport: Transport) -> None:
    with aioresponses() as mock:
        mock.get(f"{BASE}/api/v2/batch/tilinggrids/1", payload={"data": {"id": 1, "name": "UTM 10km grid"}})
        mock.get(f"{BASE}/api/v2/batch/tilinggrids/2", payload={"id": "two"})
        assert (await grids_of(transport).get(1)).name == "UTM 10km grid"
        with pytest.raises(ResponseDecodeError):
            await grids_of(transport).get(2)


async def test_a_resumed_url_cursor_is_checked_for_the_host_again(transport: Transport) -> None:
    listing = grids_of(transport).list()
    with aioresponses() as mock:
        mock.get(URL, payload={"data": [{"id": 5}], "links": {}})
        start = ViewToken(f"{BASE}/api/v2/batch/tilinggrids?viewtoken=u5")
        assert [g.id for g in await _items(listing.pages(start=start))] == [5]
        assert [str(key[1]) for key in mock.requests] == [f"{BASE}/api/v2/batch/tilinggrids?viewtoken=u5"]
        # Saved text is the user's: a URL elsewhere would take the bearer with it.
        with pytest.raises(ForeignHostError):
            await _items(listing.pages(start=ViewToken("https://elsewhere.test/api/v2/batch/tilinggrids")))
        assert len(mock.requests) == 1


async def _items(pages: AsyncIterator[Page[TilingGrid, ViewToken]]) -> list[TilingGrid]:
    return [item async for page in pages for item in page.items]
