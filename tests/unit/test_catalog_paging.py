"""Catalog paging against a scripted transport: how next links are followed (method, body, merge, host)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from eoclient._context import ServiceContext
from eoclient._http.dialects import SENTINELHUB
from eoclient._http.transport import Response, Transport
from eoclient._polling import PollPolicy
from eoclient.errors import ForeignHostError, ResponseDecodeError
from eoclient.paging import StacNext
from eoclient.sentinelhub.catalog import CATALOG_PATH, Catalog
from eoclient.sentinelhub.catalog_models import SearchPage

BASE = "https://sh.example.com"
SEARCH = f"{BASE}{CATALOG_PATH}/search"
DAY = "2023-01-01T00:00:00Z"


class ScriptedTransport:
    """Answers requests from a list of pages and records what was asked."""

    base_url = BASE

    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = list(pages)
        self.calls: list[dict[str, Any]] = []

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{BASE}/{path.lstrip('/')}"

    def check_own_host(self, url: str, *, operation: str = "") -> str:
        return Transport(base_url=BASE, dialect=SENTINELHUB).check_own_host(url, operation=operation)

    async def request(self, method: str, path: str, **kwargs: Any) -> Response:
        self.calls.append({"method": method, "url": self.url(path), **kwargs})
        body = msgspec.json.encode(self.pages.pop(0))
        return Response(200, CIMultiDictProxy(CIMultiDict()), body, path)


def feature(n: int) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": f"item-{n}",
        "geometry": None,
        "properties": {"datetime": "2023-01-01T00:00:00Z", "n": n},
    }


def page(ns: range, next_link: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    links = [{"rel": "self", "href": SEARCH}]
    if next_link is not None:
        links.append({"rel": "next", **next_link})
    return {"type": "FeatureCollection", "features": [feature(n) for n in ns], "links": links, **extra}


def catalog(pages: list[dict[str, Any]]) -> tuple[Catalog, ScriptedTransport]:
    transport = ScriptedTransport(pages)
    return Catalog(ServiceContext(transport, PollPolicy(), None)), transport  # type: ignore[arg-type]


async def test_merge_true_merges_link_body_into_previous_body() -> None:
    cat, transport = catalog(
        [
            page(range(0, 2), {"href": SEARCH, "method": "POST", "body": {"next": 2}, "merge": True}),
            page(range(2, 4), {"href": SEARCH, "method": "POST", "body": {"next": 4}, "merge": True}),
            page(range(4, 5)),
        ]
    )
    items = await cat.search("s2", datetime=DAY, limit=2).collect()
    assert [i.properties["n"] for i in items] == [0, 1, 2, 3, 4]
    bodies = [c["json"] for c in transport.calls]
    first = {"collections": ["s2"], "datetime": "2023-01-01T00:00:00Z", "limit": 2}
    assert bodies == [first, {**first, "next": 2}, {**first, "next": 4}]
    assert all(c["method"] == "POST" and c["idempotent"] is True for c in transport.calls)


async def test_body_without_merge_replaces_previous_body() -> None:
    cat, transport = catalog(
        [
            page(range(0, 2), {"href": SEARCH, "method": "POST", "body": {"token": "abc"}}),
            page(range(2, 3), {"href": SEARCH, "method": "POST", "body": {"token": "def"}, "merge": False}),
            page(range(3, 4)),
        ]
    )
    items = await cat.search("s2", datetime=DAY, filter="eo:cloud_cover < 5").collect()
    assert len(items) == 4
    assert transport.calls[0]["json"]["filter"] == {"op": "<", "args": [{"property": "eo:cloud_cover"}, 5]}
    assert [c["json"] for c in transport.calls[1:]] == [{"token": "abc"}, {"token": "def"}]


async def test_post_link_without_body_repeats_the_previous_body_and_honours_headers() -> None:
    cat, transport = catalog(
        [
            page(range(0, 1), {"href": f"{SEARCH}?page=2", "method": "POST", "headers": {"X-Page": "2"}}),
            page(range(1, 2)),
        ]
    )
    await cat.search(["s2"], datetime=DAY, ids=["a", "b"]).collect()
    assert transport.calls[1]["json"] == transport.calls[0]["json"]
    assert transport.calls[1]["url"] == f"{SEARCH}?page=2"
    assert transport.calls[1]["headers"] == {"X-Page": "2"}


async def test_get_next_link_after_post_and_relative_href() -> None:
    cat, transport = catalog(
        [
            page(
                range(0, 1), {"href": "search?next=1"}
            ),  # method defaults to GET; relative to the search URL
            page(range(1, 2), {"href": f"{SEARCH}?next=2", "method": "GET"}),
            page(range(2, 3)),
        ]
    )
    assert len(await cat.search("s2", datetime=DAY).collect()) == 3
    assert [(c["method"], c["url"], c.get("json")) for c in transport.calls[1:]] == [
        ("GET", f"{SEARCH}?next=1", None),
        ("GET", f"{SEARCH}?next=2", None),
    ]


@pytest.mark.parametrize(
    "href",
    [
        f"http://evil.example.org{CATALOG_PATH}/search?next=1",
        f"http://sh.example.com{CATALOG_PATH}/search?next=1",  # a downgrade to plain http
        f"https://sh.example.com:8443{CATALOG_PATH}/search?next=1",
    ],
)
async def test_links_to_another_host_are_refused(href: str) -> None:
    # The bearer token must not travel to a host the user did not configure; following such a link
    # on our host instead would ask our host for another deployment's cursor.
    cat, transport = catalog([page(range(0, 1), {"href": href}), page(range(1, 2))])
    with pytest.raises(ForeignHostError, match="refusing to send credentials"):
        await cat.search("s2", datetime=DAY, method="GET").collect()
    assert len(transport.calls) == 1


async def test_a_resumed_cursor_elsewhere_is_refused_before_sending() -> None:
    # A saved cursor is the user's text: its URL is checked like a next link's.
    cat, transport = catalog([page(range(0, 1))])
    elsewhere = StacNext.of({"method": "GET", "url": f"https://evil.example.org{CATALOG_PATH}/search"})
    with pytest.raises(ForeignHostError):
        await anext(cat.search("s2", datetime=DAY).pages(start=elsewhere))
    assert transport.calls == []
    ours = StacNext.of({"method": "GET", "url": f"{SEARCH}?next=1"})
    resumed = cat.search("s2", datetime=DAY).pages(start=ours)
    assert [i.id async for p in resumed for i in p.items] == ["item-0"]
    assert transport.calls[0]["url"] == f"{SEARCH}?next=1"


async def test_relative_links_are_resolved_on_our_host() -> None:
    cat, transport = catalog([page(range(0, 1), {"href": "search?next=1"}), page(range(1, 2))])
    assert len(await cat.search("s2", datetime=DAY, method="GET").collect()) == 2
    assert transport.calls[1]["url"] == f"{SEARCH}?next=1"


async def test_unknown_link_method_is_an_error() -> None:
    cat, _ = catalog([page(range(0, 1), {"href": SEARCH, "method": "DELETE"})])
    with pytest.raises(ResponseDecodeError, match="DELETE"):
        await cat.search("s2", datetime=DAY).collect()


async def test_repeated_next_body_is_caught_not_looped() -> None:
    link = {"href": SEARCH, "method": "POST", "body": {"next": 1}, "merge": True}
    cat, _ = catalog([page(range(0, 1), link), page(range(1, 2), link), page(range(2, 3), link)])
    with pytest.raises(ResponseDecodeError, match="repeated"):
        await cat.search("s2", datetime=DAY).collect()


async def test_pages_carry_context_and_counts_even_when_trimmed() -> None:
    cat, transport = catalog(
        [
            page(
                range(0, 3),
                {"href": SEARCH, "method": "POST", "body": {"next": 3}, "merge": True},
                context={"next": 3, "limit": 3, "returned": 3, "matched": 7},
                numberMatched=7,
                numberReturned=3,
            ),
            page(range(3, 6), context={"limit": 3, "returned": 3}, numberMatched=7),
        ]
    )
    pages = [p async for p in cat.search("s2", datetime=DAY, limit=3, max_items=5).pages()]
    assert all(isinstance(p, SearchPage) for p in pages)
    assert [len(p.items) for p in pages] == [3, 2]
    assert pages[1].features == pages[1].items
    assert pages[0].context is not None and pages[0].context.matched == 7
    assert pages[0].number_matched == 7 and pages[0].number_returned == 3
    assert pages[1].context is not None and pages[1].context.returned == 3
    assert pages[1].next is None
    assert len(transport.calls) == 2


async def test_distinct_yields_raw_values() -> None:
    cat, _ = catalog([{"type": "FeatureCollection", "features": ["2023-01-01", "2023-01-02"], "links": []}])
    assert await cat.search("s2", datetime=DAY, distinct="date").collect() == ["2023-01-01", "2023-01-02"]


async def test_unknown_fields_are_tolerated() -> None:
    extra = page(range(0, 1), somethingNew={"a": 1})
    extra["features"][0]["futureField"] = [1, 2]
    extra["features"][0]["assets"] = {"data": {"href": "s3://x", "file:size": 3}}
    cat, _ = catalog([extra])
    (item,) = await cat.search("s2", datetime=DAY).collect()
    assert item.id == "item-0"
    assert item.assets["data"].href == "s3://x"
    assert item.datetime is not None and item.datetime.year == 2023
