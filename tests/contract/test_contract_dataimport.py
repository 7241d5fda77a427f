"""Every request the Data Import client sends validates against the official OpenAPI document.

The conftest checks the path, query and header parameters of every request;
this test checks the JSON bodies, and that every ``dataimport_*`` operation of
the document was called.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eoclient.emulator import Emulator
from eoclient.errors import JobCancelledError
from eoclient.sentinelhub import SentinelHub
from tests.contract.openapi import published, require_spec, spec_path_for, validate_recorded

BBOX = [14.0, 46.0, 14.05, 46.05]
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[14.0, 46.0], [14.05, 46.0], [14.05, 46.05], [14.0, 46.05], [14.0, 46.0]]],
}
PLANET_DATA = {"itemType": "PSScene", "productBundle": "analytic_sr_udm2"}


def _documented_operations() -> set[tuple[str, str]]:
    ops = set()
    for path, item in published()["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and any(t.startswith("dataimport") for t in op.get("tags", ())):
                ops.add((method.upper(), path))
    return ops


async def test_dataimport_requests_match_the_openapi(eo_emulator: Emulator, tmp_path: Path) -> None:
    require_spec()
    async with SentinelHub(
        eo_emulator.credentials.sh_client_id,
        eo_emulator.credentials.sh_client_secret,
        base_url=eo_emulator.sentinelhub_url,
        token_url=eo_emulator.sentinelhub_token_url,
    ) as sh:
        di = sh.dataimport
        planet_query: dict[str, Any] = {
            "provider": "PLANET",
            "planetApiKey": "key",
            "bounds": {
                "geometry": SQUARE,
                "properties": {"crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
            },
            "data": [{**PLANET_DATA, "dataFilter": {"timeRange": {"from": "2024-01-01T00:00:00Z"}}}],
        }
        await di.search(planet_query, count=5).collect()
        maxar_query = {
            "provider": "MAXAR",
            "bounds": {"bbox": BBOX},
            "data": [{"productBands": "4BB", "dataFilter": {"maxOffNadir": 30, "sensor": "WV03"}}],
        }
        await di.search(maxar_query).collect()
        await di.native_search({"provider": "PLANET", "item_types": ["PSScene"]})
        await di.thumbnail("PLANET_SCOPE", "20240801_101010_12_2431", planet_api_key="key")
        await di.quotas()
        await di.quota("MAXAR_WORLDVIEW")

        order_input = {
            "provider": "PLANET",
            "planetApiKey": "key",
            "bounds": {"bbox": BBOX},
            "data": [{**PLANET_DATA, "harmonizeTo": "NONE", "itemIds": ["20240801_101010_12_2431"]}],
        }
        quote = await di.quote({"name": "contract", "input": order_input})
        await di.delete_order(quote.id)
        maxar = await di.quote(
            {
                "input": {
                    "provider": "MAXAR",
                    "bounds": {"bbox": BBOX},
                    "data": [{"productBands": "4BB", "productKernel": "CC", "selectedImages": ["10400100"]}],
                }
            }
        )
        await di.delete_order(maxar.id)
        job = await di.place_order({"name": "contract", "input": order_input}, max_km2=1000)
        order = await di.order(job.id)
        await di.orders(
            status="RUNNING", collection_id=order.collection_id, search="contract", count=10
        ).collect()
        await di.orders(deleted=True).collect()
        eo_emulator.clock.advance(60)
        deliveries = [d async for d in await job]
        await di.place_order({"collectionId": order.collection_id, "input": order_input})

        await _deliveries(di.order_deliveries, job.id, deliveries[0].id, eo_emulator, tmp_path)

        sub = await di.create_subscription(
            {
                "name": "watch",
                "input": {
                    "provider": "PLANET",
                    "planetApiKey": "key",
                    "bounds": {"bbox": BBOX},
                    "data": [
                        {
                            "type": "catalog",
                            "itemType": "PSScene",
                            "productBundle": "analytic_sr_udm2",
                            "harmonizeTo": "Sentinel-2",
                            "dataFilter": {
                                "timeRange": {"from": "2024-01-01T00:00:00Z"},
                                "maxCloudCoverage": 20,
                            },
                        }
                    ],
                },
            }
        )
        sub_job = await di.confirm_subscription(sub.id)
        await di.subscriptions(status="RUNNING", search="watch").collect()
        await di.subscription(sub.id)
        eo_emulator.clock.advance(40)
        sub_deliveries = await di.subscription_deliveries.list(sub.id, status="DONE").collect()
        await _deliveries(di.subscription_deliveries, sub.id, sub_deliveries[0].id, eo_emulator, tmp_path)
        await di.cancel_subscription(sub.id)
        with pytest.raises(JobCancelledError):
            await sub_job.wait()
        await di.delete_subscription(sub.id)

    checked = validate_recorded(eo_emulator.requests, path_prefix="/api/v1/dataimport")
    assert checked == 10  # 3 Planet search pages + 1 Maxar, nativesearch, 4 orders, 1 subscription
    called = {(r.method, spec_path_for(r.path)) for r in eo_emulator.requests if "/dataimport/" in r.path}
    assert called == _documented_operations()


async def _deliveries(
    deliveries: Any, parent_id: str, delivery_id: str, emu: Emulator, tmp_path: Path
) -> None:
    await deliveries.get(parent_id, delivery_id)
    names = await deliveries.files(parent_id, delivery_id).collect()
    got = await deliveries.download_file(parent_id, delivery_id, names[0], tmp_path / "f.bin")
    assert got.size > 0
    job = await deliveries.create_archive(parent_id, delivery_id)
    emu.clock.advance(10)
    archive = await job
    assert archive.status == "DONE"
    zipped = await deliveries.download_archive(parent_id, delivery_id, tmp_path / "a.zip")
    assert zipped.size == archive.size
    tiles = await deliveries.tiles(parent_id, delivery_id)
    await deliveries.tile(parent_id, delivery_id, tiles[0].id)


pytestmark = pytest.mark.eo_emulator(seed=7)
