"""Data Import against the emulator: search, quotas, thumbnails, quotes and orders as Jobs."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from eoclient._outcome import created_id
from eoclient.emulator import Emulator
from eoclient.emulator.sentinelhub.dataimport import dataimport_store
from eoclient.errors import (
    ConflictError,
    JobFailedError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    ServerError,
    ValidationError,
)
from eoclient.jobs import JobState, resume_job
from eoclient.sentinelhub import SentinelHub

BBOX = [14.0, 46.0, 14.05, 46.05]  # about 21 km²
PLANET_ORDER: dict[str, Any] = {
    "name": "fields",
    "input": {
        "provider": "PLANET",
        "planetApiKey": "pl-key",
        "bounds": {"bbox": BBOX},
        "data": [
            {
                "itemType": "PSScene",
                "productBundle": "analytic_sr_udm2",
                "harmonizeTo": "NONE",
                "itemIds": ["20240801_101010_12_2431", "20240802_101010_12_2431"],
            }
        ],
    },
}
MAXAR_ORDER: dict[str, Any] = {
    "name": "city",
    "input": {
        "provider": "MAXAR",
        "bounds": {"bbox": BBOX},
        "data": [{"productBands": "4BB", "selectedImages": ["1040010082A9B200"]}],
    },
}


def planet(**data: Any) -> dict[str, Any]:
    order = copy.deepcopy(PLANET_ORDER)
    order["input"]["data"][0].update(data)
    return order


async def test_search_pages_planet_and_maxar_answers_in_one(sh: SentinelHub) -> None:
    query = {
        "provider": "PLANET",
        "bounds": {"bbox": BBOX},
        "data": [{"itemType": "PSScene", "productBundle": "analytic_sr_udm2"}],
    }
    pages = [page async for page in sh.dataimport.search(query, count=4).pages()]
    items = [item for page in pages for item in page.items]
    assert len(pages) > 1 and len(items) == 12 and len({i["id"] for i in items}) == 12
    assert all(i["properties"]["item_type"] == "PSScene" for i in items)
    clear = await sh.dataimport.search(
        {**query, "data": [{**query["data"][0], "dataFilter": {"maxCloudCoverage": 30}}]}
    ).collect()
    assert len(clear) < 12 and all(i["properties"]["cloud_cover"] <= 0.3 for i in clear)

    maxar = {"provider": "MAXAR", "bounds": {"bbox": BBOX}, "data": [{"productBands": "4BB"}]}
    found = await sh.dataimport.search(maxar).collect()
    assert found and all("sensor" in f["properties"] for f in found)
    native = await sh.dataimport.native_search({"provider": "PLANET", "item_types": ["PSScene"]})
    assert native["features"]


async def test_search_is_checked_per_provider_before_sending(sh: SentinelHub, eo_emulator: Emulator) -> None:
    sent = len(eo_emulator.requests)
    cases = [
        ({"provider": "AIRBUS", "bounds": {"bbox": BBOX}, "data": [{}]}, "query.provider"),
        (
            {"provider": "PLANET", "bounds": {"bbox": BBOX}, "data": [{"itemType": "PSScene"}]},
            "productBundle",
        ),
        ({"provider": "MAXAR", "bounds": {"bbox": BBOX}, "data": [{"productBands": "8BB"}]}, "productBands"),
        ({"provider": "MAXAR", "bounds": {}, "data": [{"productBands": "4BB"}]}, "query.bounds"),
        (
            {
                "provider": "MAXAR",
                "bounds": {"bbox": BBOX},
                "data": [{"productBands": "4BB", "dataFilter": {"maxOffNadir": 60}}],
            },
            "query.data[0].dataFilter.maxOffNadir",
        ),
    ]
    for query, field in cases:
        with pytest.raises(ValidationError) as err:
            sh.dataimport.search(query)
        assert field in err.value.field
    with pytest.raises(ValidationError, match=r"order\.input\.data\[0\]\.harmonizeTo"):
        await sh.dataimport.quote(planet(harmonizeTo="Landsat"))
    with pytest.raises(ValidationError, match="planetApiKey"):
        await sh.dataimport.quote({**PLANET_ORDER, "input": {**PLANET_ORDER["input"], "planetApiKey": None}})
    with pytest.raises(ValidationError, match="selectedImages"):
        bad = copy.deepcopy(MAXAR_ORDER)
        bad["input"]["data"][0]["selectedImages"] = [f"IMG{i}" for i in range(11)]
        await sh.dataimport.quote(bad)
    assert len(eo_emulator.requests) == sent


async def test_quotas_and_thumbnail(sh: SentinelHub) -> None:
    quotas = await sh.dataimport.quotas()
    assert [q.collection_id for q in quotas] == ["MAXAR_WORLDVIEW"]
    one = await sh.dataimport.quota("MAXAR_WORLDVIEW")
    assert one.quota_sqkm == 1000 and one.available == 1000
    with pytest.raises(ValidationError, match="collection_id"):
        await sh.dataimport.quota("PLANET_SCOPE")
    png = await sh.dataimport.thumbnail("PLANET_SCOPE", "20240801_101010_12_2431", planet_api_key="k")
    assert png.startswith(b"\x89PNG")
    with pytest.raises(ValidationError, match="collection_id"):
        await sh.dataimport.thumbnail("SENTINEL", "x")


async def test_quote_then_place_an_order_it_becomes_a_byoc_collection(
    sh: SentinelHub, eo_emulator: Emulator
) -> None:
    quote = await sh.dataimport.quote(PLANET_ORDER)
    assert quote.status == "CREATED" and quote.provider == "PLANET"
    assert quote.sqkm is not None and 2 * 20 < quote.sqkm < 2 * 25  # two items of ~21 km²
    assert "planetApiKey" not in (quote.input or {})

    job = await sh.dataimport.confirm_order(quote.id, max_km2=100)
    assert job.status is not None and job.status.state is JobState.RUNNING
    token = job.resume_token
    with pytest.raises(ConflictError):  # confirmed already
        await sh.dataimport.confirm_order(quote.id)
    with pytest.raises(ConflictError):  # running orders stay
        await sh.dataimport.delete_order(quote.id)

    eo_emulator.clock.advance(30)  # delivered and ingested
    states = [s.raw async for s in job.watch()]
    assert states[-1] == "DONE" and "RUNNING" in states
    deliveries = [d async for d in job.results()]
    assert len(deliveries) == 2 and all(d.status == "DONE" for d in deliveries)
    assert {d.item_id for d in deliveries} == set(PLANET_ORDER["input"]["data"][0]["itemIds"])

    coll = await sh.dataimport.order_collection(quote.id)
    assert coll.name == "fields"
    tiles = await sh.byoc.tiles(coll.id).collect()
    assert len(tiles) == 2 and all(t.status == "INGESTED" for t in tiles)

    again = resume_job(token, sh)
    assert [d.id async for d in await again] == [d.id for d in deliveries]
    done = await sh.dataimport.order(quote.id)
    assert done.status == "DONE" and done.collection_id == coll.id
    assert [o.id for o in await sh.dataimport.orders(status="DONE").collect()] == [quote.id]
    assert [o.id for o in await sh.dataimport.orders(collection_id=coll.id).collect()] == [quote.id]
    await sh.dataimport.delete_order(quote.id)
    assert await sh.dataimport.orders().collect() == []
    assert [o.id for o in await sh.dataimport.orders(deleted=True).collect()] == [quote.id]


async def test_an_order_above_the_limit_is_not_placed(sh: SentinelHub, eo_emulator: Emulator) -> None:
    with pytest.raises(ValidationError) as err:
        await sh.dataimport.place_order(PLANET_ORDER, max_km2=10)
    assert err.value.field == "max_km2"
    assert await sh.dataimport.orders().collect() == []  # the quote was deleted
    assert not any(r.path.endswith("/confirm") for r in eo_emulator.requests)

    quote = await sh.dataimport.quote(PLANET_ORDER)
    with pytest.raises(ValidationError, match="max_km2"):
        await sh.dataimport.confirm_order(quote.id, max_km2=1)
    assert (await sh.dataimport.order(quote.id)).status == "CREATED"
    await sh.dataimport.delete_order(quote.id)
    with pytest.raises(NotFoundError):  # a quote goes for good
        await sh.dataimport.order(quote.id)


async def test_maxar_orders_use_quota_and_are_refused_beyond_it(
    sh: SentinelHub, eo_emulator: Emulator
) -> None:
    job = await sh.dataimport.place_order(MAXAR_ORDER, max_km2=30)
    eo_emulator.clock.advance(30)
    order = await sh.dataimport.order(job.id)
    assert order.sqkm == 25  # Maxar's minimum order area
    assert (await sh.dataimport.quota()).quota_used == 25
    deliveries = [d async for d in job.results()]
    assert deliveries[0].selected_images == ["1040010082A9B200"] and deliveries[0].provider == "MAXAR"

    dataimport_store(eo_emulator.state).quotas["MAXAR_WORLDVIEW"] = [40.0, 25.0]
    quote = await sh.dataimport.quote(MAXAR_ORDER)
    with pytest.raises(PermissionDeniedError) as err:
        await sh.dataimport.confirm_order(quote.id)
    assert err.value.details == {"availableQuota": 15, "requiredQuota": 25}
    assert (await sh.dataimport.order(quote.id)).status == "CREATED"


async def test_failed_items_make_a_partial_order(sh: SentinelHub, eo_emulator: Emulator) -> None:
    job = await sh.dataimport.place_order(planet(itemIds=["20240801_ok", "20240801_fail"]))
    eo_emulator.clock.advance(30)
    deliveries = await job
    statuses = {d.item_id: d.status async for d in deliveries}
    assert statuses == {"20240801_ok": "DONE", "20240801_fail": "IMPORT_FAILED"}
    assert job.status is not None and job.status.raw == "PARTIAL"
    failed = await sh.dataimport.order_deliveries.list(job.id, status="IMPORT_FAILED").collect()
    assert len(failed) == 1 and failed[0].error_message

    nothing = await sh.dataimport.place_order(planet(itemIds=["20240801_nodeliver"]))
    eo_emulator.clock.advance(30)
    with pytest.raises(JobFailedError):
        await nothing
    assert nothing.status is not None and nothing.status.state is JobState.FAILED


# The clock all but stands still: the tests move it, so what they see before and after is certain.
pytestmark = pytest.mark.eo_emulator(seed=11, clock_speed=0.001)


# -- lost answers: an order or subscription action is never sent twice ---------------------------

ORDERS = "/api/v1/dataimport/orders"


@pytest.mark.parametrize("kind", ["drop", "server_error_after"])
async def test_a_lost_confirm_answer_is_checked_not_resent(
    sh: SentinelHub, eo_emulator: Emulator, kind: str
) -> None:
    quote = await sh.dataimport.quote(PLANET_ORDER)
    eo_emulator.faults.inject(kind, path_prefix=f"{ORDERS}/{quote.id}/confirm", method="POST", status=502)  # type: ignore[arg-type]
    job = await sh.dataimport.confirm_order(quote.id)  # it happened: no error, a Job
    assert job.status is not None and job.status.raw == "RUNNING"
    confirms = [r for r in eo_emulator.requests if r.path.endswith("/confirm")]
    assert len(confirms) == 1


async def test_a_confirm_that_did_not_happen_raises_and_place_order_keeps_the_quote(
    sh: SentinelHub, eo_emulator: Emulator
) -> None:
    eo_emulator.faults.inject("server_error", path_prefix=f"{ORDERS}/", method="POST", status=503)
    with pytest.raises(ServerError) as err:
        await sh.dataimport.place_order(PLANET_ORDER)
    quote_id = created_id(err.value)
    assert quote_id is not None
    assert (await sh.dataimport.order(quote_id)).status == "CREATED"
    assert any("can be sent again" in note for note in err.value.__notes__)


async def test_a_lost_create_answer_is_reported_not_resent(sh: SentinelHub, eo_emulator: Emulator) -> None:
    eo_emulator.faults.inject("drop", path_prefix=ORDERS, method="POST")
    with pytest.raises(OutcomeUnknownError, match="orders"):
        await sh.dataimport.quote(PLANET_ORDER)
    assert len([r for r in eo_emulator.requests if r.method == "POST" and r.path == ORDERS]) == 1


async def test_each_delivery_is_a_job_that_ends_imported_or_failed(
    sh: SentinelHub, eo_emulator: Emulator
) -> None:
    job = await sh.dataimport.place_order(planet(itemIds=["20240801_ok", "20240801_fail"]))
    deliveries = sh.dataimport.order_deliveries
    by_item = {d.item_id: d.id async for d in deliveries.list(job.id)}
    ok, bad = deliveries.job(job.id, by_item["20240801_ok"]), deliveries.job(job.id, by_item["20240801_fail"])
    assert (await ok.refresh()).state is JobState.PENDING  # WAITING
    token = ok.resume_token
    eo_emulator.clock.advance(30)
    done = await resume_job(token, sh)  # resumed from its token, it follows the same delivery
    assert done.id == by_item["20240801_ok"] and done.status == "DONE"
    with pytest.raises(JobFailedError) as failed:
        await bad
    assert bad.status is not None and bad.status.raw == "IMPORT_FAILED"
    message = (await deliveries.get(job.id, by_item["20240801_fail"])).error_message
    assert message and message in str(failed.value)  # the service's errorMessage, said
    with pytest.raises(ValidationError, match="delivery_id"):
        deliveries.job(job.id, "nope")
