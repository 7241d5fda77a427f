"""Catalog (STAC) client against the emulator: every operation, paging both ways, filters, faults."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import msgspec
import pytest

from eoclient._http.retry import RetryPolicy
from eoclient.emulator import Emulator
from eoclient.emulator.sentinelhub.catalog import COLLECTION_PAGE_SIZE, Record, catalog_data
from eoclient.errors import BadRequestError, NotFoundError, ValidationError
from eoclient.geo import BBox
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.catalog import CATALOG_PATH
from eoclient.sentinelhub.catalog_models import Collection, Item, SearchPage

SEARCH = f"{CATALOG_PATH}/search"
S2 = "sentinel-2-l2a"
EUROPE = [0.0, 40.0, 20.0, 55.0]
YEAR_2020 = ("2020-01-01", "2020-12-31")
JUNE_2020 = ("2020-06-01T00:00:00+00:00", "2020-06-30T23:59:59.999999+00:00")
ALL_2020 = ("2020-01-01T00:00:00+00:00", "2020-12-31T23:59:59.999999+00:00")


@pytest.fixture
async def sh(eo_emulator: Emulator) -> AsyncIterator[SentinelHub]:
    async with SentinelHub(
        eo_emulator.credentials.sh_client_id,
        eo_emulator.credentials.sh_client_secret,
        base_url=eo_emulator.sentinelhub_url,
        token_url=eo_emulator.sentinelhub_token_url,
        deployments=eo_emulator.deployment_urls,  # Landsat is read on the US-West listener
        retry=RetryPolicy(attempts=4, initial_backoff=0.01, max_backoff=0.05),
    ) as client:
        yield client


def epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


def truth(
    emu: Emulator,
    collection: str,
    *,
    start: str | None = None,
    end: str | None = None,
    bbox: list[float] | None = None,
    keep: Any = None,
) -> list[Record]:
    """What should match, by brute force over the emulator's data (independent of its search code)."""
    found = []
    data = catalog_data(emu.state)
    for rec in data.records(collection):
        if start is not None and rec.time < epoch(start):
            continue
        if end is not None and rec.time > epoch(end):
            continue
        if bbox is not None:
            x0, y0, x1, y1 = rec.bbox
            if x1 < bbox[0] or x0 > bbox[2] or y1 < bbox[1] or y0 > bbox[3]:
                continue
        if keep is not None and not keep(data.properties(collection, rec)):
            continue
        found.append(rec)
    return found


def requests_to(emu: Emulator, path: str) -> list[Any]:
    return [r for r in emu.requests if r.path == path]


# -- core, collections, items -----------------------------------------------------------


async def test_landing_page_and_conformance(sh: SentinelHub, eo_emulator: Emulator) -> None:
    landing = await sh.catalog.landing_page()
    assert landing.id == "sentinel-hub" and landing.stac_version == "1.0.0"
    post_search = landing.link("search", method="POST")
    assert post_search is not None and post_search.href.endswith(SEARCH)
    assert {link.title for link in landing.links if link.rel == "child"} >= {"Sentinel 2 L2A"}
    conformance = await sh.catalog.conformance()
    assert "https://api.stacspec.org/v1.0.0/item-search#filter" in conformance
    assert conformance.conforms_to == landing.conforms_to

    # Public on the live service, like here; everything else wants the bearer.
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{eo_emulator.sentinelhub_url}{CATALOG_PATH}/conformance") as resp:
            assert resp.status == 200
        async with http.get(f"{eo_emulator.sentinelhub_url}{CATALOG_PATH}/collections") as resp:
            assert resp.status == 401


async def test_collections_follow_next_links(sh: SentinelHub, eo_emulator: Emulator) -> None:
    pages = [page async for page in sh.catalog.collections().pages()]
    data = catalog_data(eo_emulator.state)
    assert [len(p.items) for p in pages] == [COLLECTION_PAGE_SIZE, len(data.specs) - COLLECTION_PAGE_SIZE]
    collections = [c for p in pages for c in p.items]
    assert all(isinstance(c, Collection) for c in collections)
    assert [c.id for c in collections] == list(data.specs)
    assert {"sentinel-2-l2a", "sentinel-2-l1c", "sentinel-1-grd", "landsat-ot-l2"} <= {
        c.id for c in collections
    }
    queries = [r.query for r in requests_to(eo_emulator, f"{CATALOG_PATH}/collections")]
    assert queries[0] == "" and "next=" in queries[1]
    assert len(await sh.catalog.collections(max_items=2).collect()) == 2
    # The contract gives this listing no query parameters: the page size is the service's.
    with pytest.raises(BadRequestError, match="limit: unknown query parameter"):
        await sh.request("GET", f"{CATALOG_PATH}/collections", params={"limit": "2"})


async def test_collection_and_queryables(sh: SentinelHub) -> None:
    s1 = await sh.catalog.collection("sentinel-1-grd")
    assert s1.title == "Sentinel 1 GRD" and s1.license == "proprietary"
    assert s1.extent is not None and s1.extent.temporal.interval[0][1] is None
    assert "sat:orbit_state" in s1.summaries
    assert any(link.rel == "items" for link in s1.links)
    queryables = await sh.catalog.queryables(S2)
    assert queryables["type"] == "object"
    assert queryables["properties"]["eo:cloud_cover"]["maximum"] == 100
    with pytest.raises(NotFoundError) as info:
        await sh.catalog.collection("no-such-collection")
    assert info.value.status == 404 and info.value.code == "NotFound"


async def test_items_endpoint_pages_to_the_end(sh: SentinelHub, eo_emulator: Emulator) -> None:
    start, end = "2021-01-01T00:00:00+00:00", "2021-03-31T23:59:59+00:00"
    expected = truth(eo_emulator, "landsat-ot-l2", start=start, end=end)
    assert 20 < len(expected) < 100
    listing = sh.catalog.items("landsat-ot-l2", datetime=(start, end), limit=7)
    pages = [page async for page in listing.pages()]
    assert [item.id for p in pages for item in p.items] == [r.id for r in expected]
    assert len(pages) == math.ceil(len(expected) / 7)
    assert all(p.number_returned == len(p.items) for p in pages)
    assert len(requests_to(eo_emulator, f"{CATALOG_PATH}/collections/landsat-ot-l2/items")) == len(pages)

    boxed = await sh.catalog.items(S2, bbox=EUROPE, datetime="2020-06").collect()
    expected = truth(eo_emulator, S2, start=JUNE_2020[0], end=JUNE_2020[1], bbox=EUROPE)
    assert [i.id for i in boxed] == [r.id for r in expected]


async def test_single_item(sh: SentinelHub, eo_emulator: Emulator) -> None:
    rec = catalog_data(eo_emulator.state).records("sentinel-1-grd")[42]
    item = await sh.catalog.item("sentinel-1-grd", rec.id)
    assert isinstance(item, Item)
    assert (item.id, item.collection, item.bbox) == (rec.id, "sentinel-1-grd", list(rec.bbox))
    assert item.datetime == dt.datetime.fromtimestamp(rec.time, dt.UTC)
    assert item.properties["sar:instrument_mode"] in {"IW", "EW"}
    assert item.geometry is not None and item.geometry["type"] == "Polygon"
    assert item.__geo_interface__["geometry"] == item.geometry
    assert {link.rel for link in item.links} >= {"self", "collection"}
    with pytest.raises(NotFoundError):
        await sh.catalog.item("sentinel-1-grd", "S1X_NOT_THERE")


# -- search ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_search_pages_to_the_end(sh: SentinelHub, eo_emulator: Emulator, method: Any) -> None:
    expected = truth(eo_emulator, S2, start=ALL_2020[0], end=ALL_2020[1], bbox=EUROPE)
    assert len(expected) > 120
    search = sh.catalog.search(S2, bbox=EUROPE, datetime=YEAR_2020, limit=40, method=method)
    items = await search.collect()
    assert [i.id for i in items] == [r.id for r in expected]
    recorded = requests_to(eo_emulator, SEARCH)
    assert len(recorded) == math.ceil(len(expected) / 40)
    assert {r.method for r in recorded} == {method}
    assert all(r.status == 200 for r in recorded)
    if method == "GET":
        assert all(r.body is None for r in recorded)
        assert "next=40" in recorded[1].query and "bbox=0,40,20,55" in recorded[1].query


async def test_post_next_links_merge_the_token_into_the_body(sh: SentinelHub, eo_emulator: Emulator) -> None:
    search = sh.catalog.search(S2, datetime="2019-05", filter="eo:cloud_cover < 50", limit=10)
    pages = [page async for page in search.pages()]
    assert len(pages) >= 3
    bodies = [msgspec.json.decode(r.body) for r in requests_to(eo_emulator, SEARCH)]
    first = bodies[0]
    assert "next" not in first
    for n, body in enumerate(bodies[1:], start=1):
        assert body == {**first, "next": 10 * n}
    link = next(link for link in pages[0].links if link.rel == "next")
    assert (link.method, link.merge, link.body) == ("POST", True, {"next": 10})


async def test_pages_expose_context(sh: SentinelHub) -> None:
    pages = [p async for p in sh.catalog.search(S2, datetime="2020-03", limit=40).pages()]
    assert all(isinstance(p, SearchPage) for p in pages)
    assert pages[0].context is not None
    assert (pages[0].context.limit, pages[0].context.returned, pages[0].context.next) == (40, 40, 40)
    assert pages[-1].context is not None and pages[-1].context.next is None
    assert pages[-1].context.returned == len(pages[-1].items)
    assert pages[-1].next is None


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_max_items_fetches_no_page_beyond(sh: SentinelHub, eo_emulator: Emulator, method: Any) -> None:
    search = sh.catalog.search(S2, datetime=YEAR_2020, limit=10, max_items=25, method=method)
    pages = [p async for p in search.pages()]
    assert [len(p.items) for p in pages] == [10, 10, 5]
    assert pages[-1].context is not None and pages[-1].context.next == 30  # the service had more
    assert len(requests_to(eo_emulator, SEARCH)) == 3

    eo_emulator.state.requests.clear()
    few = await sh.catalog.search(S2, datetime=YEAR_2020, max_items=7, method=method).collect()
    assert len(few) == 7
    (only,) = requests_to(eo_emulator, SEARCH)  # the page size followed max_items: one request
    assert ("limit=7" in only.query) if method == "GET" else msgspec.json.decode(only.body)["limit"] == 7


async def test_text_and_json_filters_agree_with_the_truth(sh: SentinelHub, eo_emulator: Emulator) -> None:
    expected = truth(
        eo_emulator,
        S2,
        start=ALL_2020[0],
        end=ALL_2020[1],
        keep=lambda p: p["eo:cloud_cover"] < 20 and p["platform"] == "sentinel-2a",
    )
    text = "eo:cloud_cover < 20 AND platform = 'sentinel-2a'"
    cql2_json = {
        "op": "and",
        "args": [
            {"op": "<", "args": [{"property": "eo:cloud_cover"}, 20]},
            {"op": "=", "args": [{"property": "platform"}, "sentinel-2a"]},
        ],
    }
    for method in ("POST", "GET"):
        for flt in (text, cql2_json):
            found = await sh.catalog.search(S2, datetime=YEAR_2020, filter=flt, method=method).collect()
            assert [i.id for i in found] == [r.id for r in expected], (method, flt)
    assert all(i.properties["eo:cloud_cover"] < 20 for i in found)


async def test_text_with_or_and_json_written_as_text_agree(sh: SentinelHub, eo_emulator: Emulator) -> None:
    expected = truth(
        eo_emulator,
        S2,
        start=JUNE_2020[0],
        end=JUNE_2020[1],
        keep=lambda p: p["eo:cloud_cover"] < 5 or p["eo:cloud_cover"] > 95,
    )
    assert expected
    text = "eo:cloud_cover < 5 OR eo:cloud_cover > 95"
    for method in ("POST", "GET"):
        found = await sh.catalog.search(S2, datetime="2020-06", filter=text, method=method).collect()
        assert [i.id for i in found] == [r.id for r in expected], method
    post, get = requests_to(eo_emulator, SEARCH)[:1] + requests_to(eo_emulator, SEARCH)[-1:]
    assert msgspec.json.decode(post.body)["filter"]["op"] == "or"  # POST: CQL2 JSON
    assert "filter-lang" not in get.query and "filter=eo:cloud_cover" in get.query  # GET: text only


async def test_unsupported_filter_is_refused_before_sending_and_by_the_emulator(
    sh: SentinelHub, eo_emulator: Emulator
) -> None:
    with pytest.raises(ValidationError, match="LIKE") as refused:
        sh.catalog.search(S2, datetime=YEAR_2020, filter="platform LIKE 'sentinel%'")
    assert refused.value.field == "filter"
    assert requests_to(eo_emulator, SEARCH) == []
    body = {"collections": [S2], "datetime": "2020-01-01T00:00:00Z/..", "filter": "platform LIKE 's%'"}
    with pytest.raises(BadRequestError) as info:
        await sh.request("POST", SEARCH, json=body)
    assert info.value.status == 400 and info.value.code == "InvalidParameterValue"
    assert info.value.service_message is not None and "LIKE" in info.value.service_message
    with pytest.raises(BadRequestError, match="queryable"):
        await sh.catalog.search(
            S2, datetime=YEAR_2020, filter={"op": "=", "args": [{"property": "x"}, 1]}
        ).collect()


async def test_intersects_accepts_geo_interface_objects(sh: SentinelHub, eo_emulator: Emulator) -> None:
    box = BBox(5.0, 44.0, 12.0, 50.0)  # BBox has __geo_interface__ (a Polygon)

    class Field:
        __geo_interface__ = box.__geo_interface__

    by_geometry = await sh.catalog.search(S2, intersects=Field(), datetime="2021").collect()
    by_box = await sh.catalog.search(S2, bbox=box, datetime="2021").collect()
    expected = truth(
        eo_emulator,
        S2,
        start="2021-01-01T00:00:00+00:00",
        end="2021-12-31T23:59:59.999999+00:00",
        bbox=box.as_list(),
    )
    assert [i.id for i in by_geometry] == [i.id for i in by_box] == [r.id for r in expected]
    assert len(expected) > 0
    sent = msgspec.json.decode(requests_to(eo_emulator, SEARCH)[0].body)
    assert sent["intersects"]["type"] == "Polygon"
    get = await sh.catalog.search(S2, intersects=Field(), datetime="2021", method="GET").collect()
    assert [i.id for i in get] == [r.id for r in expected]


async def test_ids_fields_and_distinct(sh: SentinelHub, eo_emulator: Emulator) -> None:
    records = catalog_data(eo_emulator.state).records(S2)[100:103]
    since = ("2015-01-01", None)  # an open interval: the service wants a datetime, even with ids
    found = await sh.catalog.search(S2, ids=[r.id for r in records], datetime=since).collect()
    assert [i.id for i in found] == [r.id for r in records]

    slim = await sh.catalog.search(
        S2,
        ids=[records[0].id],
        datetime=since,
        fields={"include": ["id", "properties.eo:cloud_cover", "bbox"], "exclude": ["bbox"]},
    ).collect()
    assert slim[0].id == records[0].id
    assert slim[0].properties == {"eo:cloud_cover": records[0].cloud}
    assert slim[0].bbox == list(records[0].bbox)  # include wins over exclude
    assert slim[0].geometry is None and slim[0].assets == {}
    lean = await sh.catalog.search(
        S2, ids=[records[0].id], datetime=since, fields=["-assets", "-links"], method="GET"
    ).collect()
    assert lean[0].assets == {} and lean[0].links == [] and lean[0].geometry is not None

    dates = await sh.catalog.search(S2, bbox=EUROPE, datetime="2020-06", distinct="date", limit=5).collect()
    in_june = truth(eo_emulator, S2, start=JUNE_2020[0], end=JUNE_2020[1], bbox=EUROPE)
    expected = sorted({r.datetime[:10] for r in in_june})
    assert dates == expected and len(dates) > 5
    states = await sh.catalog.search("sentinel-1-grd", datetime="2020", distinct="sat:orbit_state").collect()
    assert states == ["ascending", "descending"]


async def test_validation_errors_send_nothing(sh: SentinelHub, eo_emulator: Emulator) -> None:
    bad: list[dict[str, Any]] = [
        {"bbox": [20, 40, 10, 50]},
        {"collections": []},
        {"limit": 0},
        {"limit": 101},
        {"bbox": [0, 0, 1, 1], "intersects": {"type": "Point", "coordinates": [0.5, 0.5]}},
        {"filter": "eo:cloud_cover < 5", "filter_lang": "sql"},
        {"datetime": "2020-02-31"},
        {"datetime": "last week"},
        {"datetime": None},
        {"filter": "platform IN ('sentinel-2a')"},
    ]
    for kwargs in bad:
        args = {"collections": [S2], "datetime": "2020", **kwargs}
        with pytest.raises(ValidationError):
            sh.catalog.search(**args)
    with pytest.raises(ValidationError):
        sh.catalog.items(S2, limit=1000)
    assert eo_emulator.requests == []  # not even a token was asked for


async def test_emulator_validates_like_the_service(sh: SentinelHub) -> None:
    """Requests the client would refuse, sent raw: the emulator answers 400 in the STAC shape."""
    since = "2020-01-01T00:00:00Z/.."
    bodies: list[tuple[dict[str, Any], str]] = [
        ({"collections": [S2], "datetime": since, "limit": 101}, "limit"),
        ({"collections": [S2], "datetime": since, "limit": 0}, "limit"),
        ({"collections": [S2, "sentinel-2-l1c"], "datetime": since}, "one collection"),
        ({"collections": [], "datetime": since}, "collections"),
        (
            {
                "collections": [S2],
                "datetime": since,
                "bbox": [0, 0, 1, 1],
                "intersects": {"type": "Point", "coordinates": [0, 0]},
            },
            "intersects",
        ),
        ({"collections": [S2], "datetime": "yesterday"}, "RFC 3339"),
        ({"collections": ["nope"], "datetime": since}, "nope"),
        ({"collections": [S2]}, "datetime is required"),
        ({"collections": [S2], "bbox": [0, 0, 1, 1]}, "datetime is required"),
        (
            {
                "collections": [S2],
                "datetime": since,
                "filter": {"op": "in", "args": [{"property": "platform"}, ["a"]]},
            },
            "'in' is not supported",
        ),
    ]
    for body, says in bodies:
        with pytest.raises(BadRequestError, match=says) as info:
            await sh.request("POST", SEARCH, json=body)
        assert info.value.status == 400, body
    get_queries: list[tuple[dict[str, str], str]] = [
        ({"collections": S2, "datetime": since, "limit": "500"}, "limit"),
        ({"collections": S2}, "datetime is required"),
        (
            {
                "collections": S2,
                "datetime": since,
                "filter": "eo:cloud_cover < 5",
                "filter-lang": "cql2-text",
            },
            "filter-lang",
        ),
        (
            {
                "collections": S2,
                "datetime": since,
                "filter": '{"op": "<", "args": [{"property": "eo:cloud_cover"}, 5]}',
            },
            "filter",
        ),
        ({"collections": S2, "datetime": since, "query": "{}"}, "query: unknown query parameter"),
    ]
    for params, says in get_queries:
        with pytest.raises(BadRequestError, match=says):
            await sh.request("GET", SEARCH, params=params)
    with pytest.raises(BadRequestError, match="more than once"):
        await sh.request("GET", f"{SEARCH}?collections={S2}&collections=sentinel-2-l1c&datetime={since}")
    with pytest.raises(BadRequestError):
        await sh.request("GET", f"{CATALOG_PATH}/collections/{S2}/items", params={"limit": "0"})
    with pytest.raises(BadRequestError, match="filter: unknown query parameter"):
        await sh.request(
            "GET", f"{CATALOG_PATH}/collections/{S2}/items", params={"filter": "eo:cloud_cover < 5"}
        )
    for path in (f"{CATALOG_PATH}/collections/{S2}", f"{CATALOG_PATH}/collections/{S2}/queryables"):
        with pytest.raises(BadRequestError, match="f: unknown query parameter"):
            await sh.request("GET", path, params={"f": "json"})
    with pytest.raises(BadRequestError, match="f: unknown query parameter"):
        await sh.request("POST", SEARCH, params={"f": "json"}, json={"collections": [S2], "datetime": since})
    # The items listing, unlike a search, takes no datetime at all.
    assert (
        await sh.request("GET", f"{CATALOG_PATH}/collections/{S2}/items", params={"limit": "1"})
    ).status == 200


@pytest.mark.parametrize(("kind", "status"), [("rate_limit", 429), ("server_error", 503)])
async def test_fault_mid_paging_recovers(
    sh: SentinelHub, eo_emulator: Emulator, kind: str, status: int
) -> None:
    search = sh.catalog.search(S2, datetime="2020", bbox=EUROPE, limit=50)
    collected: list[str] = []
    pages = 0
    async for page in search.pages():
        pages += 1
        collected.extend(i.id for i in page.items)
        if pages == 2:
            eo_emulator.faults.inject(kind, path_prefix=CATALOG_PATH, retry_after=0.01, count=2)
    expected = truth(eo_emulator, S2, start=ALL_2020[0], end=ALL_2020[1], bbox=EUROPE)
    assert collected == [r.id for r in expected]
    recorded = requests_to(eo_emulator, SEARCH)
    faulted = [r for r in recorded if r.fault == kind]
    assert [r.status for r in faulted] == [status, status]
    assert len(recorded) == pages + 2
    # the retried request is the same page request: same merged body as the failed one
    i = recorded.index(faulted[0])
    assert recorded[i].body == recorded[i + 1].body == recorded[i + 2].body
    assert msgspec.json.decode(recorded[i + 2].body)["next"] == 100
