"""StacClient against a real STAC API nobody here wrote: ``rustac serve`` (memory backend) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from benchmarks.rustac_server import COLLECTION, make_items, rustac_process
from eoclient.errors import NotFoundError, ValidationError
from eoclient.stac import Item, StacClient
from eoclient.stac.models import SearchPage

pytestmark = pytest.mark.integration

COUNT = 230  # five pages of 50, the last one short


@pytest.fixture(scope="module")
def stac_url() -> Iterator[str]:
    with rustac_process(COUNT) as info:
        yield info["url"]


def _ids(found: list[Any]) -> list[str]:
    return [f["id"] if isinstance(f, dict) else f.id for f in found]


async def test_search_pages_through_every_item_typed_and_as_dicts(stac_url: str) -> None:
    async with StacClient(stac_url) as stac:
        search = stac.search(collections=COLLECTION, limit=50)
        items = await search.collect()
        dicts = await search.dicts().collect()

    expected = sorted(item["id"] for item in make_items(COUNT))
    assert all(isinstance(item, Item) for item in items)
    assert sorted(_ids(items)) == expected
    assert _ids(dicts) == _ids(items)  # the same pages, in the same order
    first = items[0]
    assert first.collection == COLLECTION and first.datetime is not None and first.datetime.tzinfo
    assert len(first.assets) == 13 and first.assets["B04"].href.endswith("/B04.tif")
    assert dicts[0]["properties"]["eo:cloud_cover"] == first.properties["eo:cloud_cover"]


async def test_pages_follow_the_servers_post_next_links(stac_url: str) -> None:
    async with StacClient(stac_url) as stac:
        pages = [page async for page in stac.search(collections=[COLLECTION], limit=50).pages()]

    assert [len(p.items) for p in pages] == [50, 50, 50, 50, 30]
    assert all(isinstance(p, SearchPage) for p in pages)
    assert [p.next is None for p in pages] == [False, False, False, False, True]
    assert pages[0].next is not None and pages[0].next.request()["method"] == "POST"


async def test_max_items_trims_and_asks_for_no_further_page(stac_url: str) -> None:
    async with StacClient(stac_url) as stac:
        pages = [page async for page in stac.search(limit=50, max_items=120).pages()]
        dicts = await stac.search(limit=50, max_items=120).dicts().collect()

    assert [len(p.items) for p in pages] == [50, 50, 20]
    assert pages[-1].next is None
    assert len(dicts) == 120


async def test_get_search_and_collection_items_listing(stac_url: str) -> None:
    async with StacClient(stac_url) as stac:
        by_get = await stac.search(limit=100, method="get").collect()
        listed = await stac.items(COLLECTION, limit=100).collect()
        landing = await stac.landing_page()
        collection = await stac.collection(COLLECTION)

    assert len(by_get) == COUNT and sorted(_ids(by_get)) == sorted(_ids(listed))
    assert landing.link("search") is not None
    assert collection.id == COLLECTION


async def test_a_listing_resumes_from_a_saved_cursor(stac_url: str) -> None:
    async with StacClient(stac_url) as stac:
        search = stac.search(collections=COLLECTION, limit=100)
        pages = [page async for page in search.pages()]
        first = pages[0]
        assert first.next is not None
        saved = str(first.next)
        rest = [item async for page in search.pages(start=saved) for item in page.items]

    assert len(first.items) + len(rest) == COUNT
    assert not set(_ids(list(first.items))) & set(_ids(rest))


async def test_unknown_collection_is_not_found(stac_url: str) -> None:
    async with StacClient(stac_url) as stac:
        with pytest.raises(NotFoundError):
            await stac.collection("no-such-collection")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": True}, "limit"),
        ({"method": "PUT"}, "method"),
        ({"bbox": [1, 2, 3]}, "bbox"),
        ({"collections": []}, "collections"),
        ({"filter": "eo:cloud_cover <"}, "filter"),
        ({"datetime": "not a date"}, "datetime"),
    ],
)
async def test_bad_input_is_refused_before_anything_is_sent(kwargs: dict[str, Any], field: str) -> None:
    # Nothing listens on port 9: a request would fail with a transport error, not a ValidationError.
    async with StacClient("http://127.0.0.1:9") as stac:
        with pytest.raises(ValidationError) as caught:
            stac.search(**kwargs)
    assert caught.value.field.split("[")[0].split(".")[0] == field


def test_the_url_must_be_http() -> None:
    with pytest.raises(ValidationError, match="url"):
        StacClient("earth-search.aws.element84.com/v1")
