"""Catalog listings through the sync facade: ``for`` over a Paginator, ``.collect()``, ``.pages()``."""

from __future__ import annotations

import pytest

import eoclient.sync
from eoclient.emulator.sentinelhub.catalog import catalog_data
from eoclient.sentinelhub.catalog import CATALOG_PATH
from eoclient.sentinelhub.catalog_models import Item, SearchPage
from tests.integration.test_catalog import ALL_2020, EUROPE, S2, YEAR_2020, truth
from tests.sync.conftest import ThreadedEmulator

SEARCH = f"{CATALOG_PATH}/search"


def searches(emulator: ThreadedEmulator) -> int:
    return emulator.call(lambda: sum(r.path == SEARCH for r in emulator.emu.requests))


def test_for_loop_pages_through_the_whole_search(
    sh: eoclient.sync.SentinelHub, emulator: ThreadedEmulator
) -> None:
    expected = emulator.call(lambda: truth(emulator.emu, S2, start=ALL_2020[0], end=ALL_2020[1], bbox=EUROPE))
    assert len(expected) > 120
    ids = [item.id for item in sh.catalog.search(S2, bbox=EUROPE, datetime=YEAR_2020, limit=40)]
    assert ids == [r.id for r in expected]
    assert searches(emulator) == -(-len(expected) // 40)


def test_collect_pages_and_max_items(sh: eoclient.sync.SentinelHub, emulator: ThreadedEmulator) -> None:
    few = sh.catalog.search(S2, datetime=YEAR_2020, max_items=7).collect()
    assert len(few) == 7 and all(isinstance(item, Item) for item in few)  # plain models, not proxies
    pages = list(sh.catalog.search(S2, datetime=YEAR_2020, limit=10, max_items=25).pages())
    assert all(isinstance(p, SearchPage) for p in pages)
    assert [len(p.items) for p in pages] == [10, 10, 5]
    assert searches(emulator) == 1 + 3


def test_breaking_out_of_a_listing_fetches_no_further_page(
    sh: eoclient.sync.SentinelHub, emulator: ThreadedEmulator
) -> None:
    for n, _item in enumerate(sh.catalog.search(S2, datetime=YEAR_2020, limit=10), start=1):
        if n == 15:
            break
    assert searches(emulator) == 2
    assert sh.catalog.collection(S2).id == S2  # the client goes on after an abandoned iterator


def test_items_match_the_emulator_data(sh: eoclient.sync.SentinelHub, emulator: ThreadedEmulator) -> None:
    (item,) = sh.catalog.search(S2, bbox=EUROPE, datetime=YEAR_2020, max_items=1)
    known = emulator.call(lambda: {r.id for r in catalog_data(emulator.emu.state).records(S2)})
    assert item.id in known


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_both_methods(sh: eoclient.sync.SentinelHub, method: str) -> None:
    listing = sh.catalog.search(S2, datetime="2020-06", limit=5, max_items=12, method=method)
    assert len(listing.collect()) == 12
