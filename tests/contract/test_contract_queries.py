"""Query parameters, path parameters and headers of every request eoclient sends fit the OpenAPI document.

Every contract test's requests are checked on teardown (``conftest.py``); the
tests here make the requests whose query carries the most: every listing with
every option, both catalog search methods with every parameter, paging by
``viewtoken`` and by ``next`` link, and the Process ``Accept`` header. Each
test also asserts which operations it reached, so that a silent change in
the client (a listing that stops sending its options) cannot empty the check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.sentinelhub.byoc import INGEST_SECONDS
from eoclient.sentinelhub.catalog import CATALOG_PATH
from tests.contract.openapi import (
    ParameterError,
    documented,
    published,
    require_spec,
    spec_path_for,
    validate_parameters,
    validate_recorded,
    validate_recorded_parameters,
)
from tests.contract.test_contract_async_batchstats import async_dict, batch_dict
from tests.integration.conftest import sh_client
from tests.integration.test_batch import corsica
from tests.integration.test_byoc import PLANET_BUCKET

pytestmark = pytest.mark.eo_emulator(clock_speed=1000.0)

S2 = "sentinel-2-l2a"
SEARCH = f"{CATALOG_PATH}/search"


class Footprint:
    @property
    def __geo_interface__(self) -> dict[str, Any]:
        return {"type": "Polygon", "coordinates": [[[5, 44], [12, 44], [12, 50], [5, 44]]]}


def reached(emu: Emulator) -> set[tuple[str, str]]:
    """The (method, OpenAPI path) pairs the client sent requests to."""
    return {(r.method, spec_path_for(r.path)) for r in documented(emu.requests)}


def queries(emu: Emulator, path: str, method: str = "GET") -> list[str]:
    return [r.query for r in emu.requests if r.path == path and r.method == method]


async def test_catalog_requests_fit_the_openapi(eo_emulator: Emulator) -> None:
    require_spec()
    async with sh_client(eo_emulator) as sh:
        cat = sh.catalog
        await cat.landing_page()
        await cat.conformance()
        await cat.collections().collect()  # two pages: the second by the service's next link
        await cat.collection(S2)
        await cat.queryables(S2)
        await cat.items(S2, bbox=[0, 40, 20, 55], datetime="2020-06", limit=5, max_items=12).collect()
        items = await cat.items("landsat-ot-l2", max_items=2).collect()
        await cat.item("landsat-ot-l2", items[0].id)
        everything: dict[str, Any] = {
            "bbox": [0, 40, 20, 55],
            "datetime": ("2020-01-01", "2020-12-31"),
            "filter": "eo:cloud_cover < 30 OR platform = 'sentinel-2b'",
            "fields": {"include": ["id", "properties.eo:cloud_cover"], "exclude": ["assets"]},
            "limit": 7,
            "max_items": 20,
        }
        for method in ("GET", "POST"):
            await cat.search(S2, method=method, **everything).collect()  # type: ignore[call-overload]
            await cat.search(
                S2,
                method=method,  # type: ignore[arg-type]
                intersects=Footprint(),
                datetime=("2021-01-01", None),
                ids=[i.id for i in items] + ["not-there"],
                filter={
                    "op": "and",
                    "args": [
                        {"op": "between", "args": [{"property": "eo:cloud_cover"}, 0, 50]},
                        {"op": "not", "args": [{"op": "isNull", "args": [{"property": "platform"}]}]},
                    ],
                },
            ).collect()
            await cat.search(
                "sentinel-1-grd", method=method, datetime="2020", distinct="date", limit=3, max_items=5
            ).collect()  # type: ignore[arg-type]

    assert reached(eo_emulator) >= {
        ("GET", "/catalog/v1"),
        ("GET", "/catalog/v1/conformance"),
        ("GET", "/catalog/v1/collections"),
        ("GET", "/catalog/v1/collections/{collectionId}"),
        ("GET", "/catalog/v1/collections/{collectionId}/queryables"),
        ("GET", "/catalog/v1/collections/{collectionId}/items"),
        ("GET", "/catalog/v1/collections/{collectionId}/items/{featureId}"),
        ("GET", "/catalog/v1/search"),
        ("POST", "/catalog/v1/search"),
    }
    gets = queries(eo_emulator, SEARCH)
    assert len(gets) >= 6 and all("filter-lang" not in q for q in gets)
    assert any("next=" in q for q in gets)  # a page reached by its link
    assert any("filter=eo:cloud_cover < 30 OR platform = 'sentinel-2b'&" in unquote(q) for q in gets)
    assert validate_recorded(eo_emulator.requests, path_prefix=CATALOG_PATH) >= 6
    assert validate_recorded_parameters(eo_emulator.requests) == len(documented(eo_emulator.requests))


async def test_listings_and_reads_of_every_other_family_fit_the_openapi(
    eo_emulator: Emulator, tmp_path: Path
) -> None:
    require_spec()
    async with sh_client(eo_emulator) as sh:
        # Batch v2 and its tiling grids.
        created = [await sh.batch.create(corsica(f"listing {n}")) for n in range(3)]
        await sh.batch.get(created[0].id)
        await sh.batch.requests(sort="created:desc", count=2).collect()  # viewtoken paging
        await sh.batch.requests().collect()
        grids = await sh.tiling_grids.list(count=2).collect()
        await sh.tiling_grids.get(grids[0].id)
        # Batch Statistical.
        task = await sh.batch_statistics.create(batch_dict())
        await sh.batch_statistics.get(task)
        await sh.batch_statistics.status(task)
        await sh.batch_statistics.list(sort="status:desc", count=1).collect()
        # Async Process.
        job = await sh.async_process.create(async_dict(), delivery="s3://my-bucket/async")
        await sh.async_process.status(job.id)
        # BYOC: every listing option, the file reads of a Planet tile, copies, deletes.
        byoc = sh.byoc
        source = await byoc.create_collection({"name": "planet source", "s3Bucket": PLANET_BUCKET})
        target = await byoc.create_collection({"name": "planet target", "s3Bucket": PLANET_BUCKET})
        tiles = [
            await byoc.create_tile(source.id, {"path": f"2024/12/20241230_10070{n}_56_24fd"})
            for n in range(3)
        ]
        eo_emulator.clock.advance(INGEST_SECONDS + 1)
        await byoc.collections(search="planet", count=1).collect()
        await byoc.collection(source.id)
        await byoc.tiles(source.id, sort="created:desc", count=2).collect()
        await byoc.tiles(source.id, status="INGESTED", path=tiles[0].path).collect()
        await byoc.tile(source.id, tiles[0].id)
        files = await byoc.tile_files(source.id, tiles[0].id).collect()
        await byoc.tile_file_size(source.id, tiles[0].id, files[0])
        await byoc.download_tile_file(source.id, tiles[0].id, files[0], tmp_path / "file")
        await byoc.reingest_tile(source.id, tiles[1].id)
        await byoc.copy_tiles(source.id, target.id)
        await byoc.delete_tile(source.id, tiles[2].id)
        await byoc.delete_collection(target.id)

    assert reached(eo_emulator) >= {
        ("GET", "/batch/v2/process"),
        ("GET", "/batch/v2/process/{taskId}"),
        ("GET", "/batch/v2/tilinggrids"),
        ("GET", "/batch/v2/tilinggrids/{id}"),
        ("GET", "/statistics/batch/v1"),
        ("GET", "/statistics/batch/v1/{requestId}"),
        ("GET", "/statistics/batch/v1/{requestId}/status"),
        ("GET", "/async/v1/process/{requestId}"),
        ("GET", "/byoc/v1/collections"),
        ("GET", "/byoc/v1/collections/{collectionId}"),
        ("DELETE", "/byoc/v1/collections/{collectionId}"),
        ("GET", "/byoc/v1/collections/{collectionId}/tiles"),
        ("GET", "/byoc/v1/collections/{collectionId}/tiles/{tileId}"),
        ("DELETE", "/byoc/v1/collections/{collectionId}/tiles/{tileId}"),
        ("POST", "/byoc/v1/collections/{collectionId}/tiles/{tileId}/reingest"),
        ("GET", "/byoc/v1/collections/{collectionId}/tiles/{tileId}/files"),
        ("GET", "/byoc/v1/collections/{collectionId}/tiles/{tileId}/files/{path}"),
        ("HEAD", "/byoc/v1/collections/{collectionId}/tiles/{tileId}/files/{path}"),
        ("POST", "/byoc/v1/collections/{collectionId}/copyTiles"),
    }
    sent = [r.query for r in documented(eo_emulator.requests)]
    for expected in (
        "sort=created:desc",
        "count=2",
        "viewtoken=",
        "status=INGESTED",
        "search=planet",
        "toCollection=",
    ):
        assert any(expected in q for q in sent), expected
    assert validate_recorded_parameters(eo_emulator.requests) == len(documented(eo_emulator.requests))


async def test_a_multi_output_process_asks_for_a_type_the_200_answer_lists(eo_emulator: Emulator) -> None:
    require_spec()
    request = corsica()["processRequest"]
    request = {
        "input": {"bounds": {"bbox": [13.8, 45.8, 14.5, 46.2]}, "data": request["input"]["data"]},
        "output": {
            "width": 16,
            "height": 16,
            "responses": [
                {"identifier": "default", "format": {"type": "image/tiff"}},
                {"identifier": "userdata", "format": {"type": "application/json"}},
            ],
        },
        "evalscript": request["evalscript"],
    }
    async with sh_client(eo_emulator) as sh:
        result = await sh.process(request)
    assert set(result.parts) == {"default", "userdata"}
    (sent,) = [r for r in eo_emulator.requests if r.path == "/api/v1/process"]
    assert sent.headers["Accept"] == "application/x-tar"
    validate_parameters("POST", sent.path, sent.query, sent.headers)


def test_the_parameter_check_is_not_vacuous() -> None:
    """Each rule refuses what the document refuses (the old client's mistakes among them)."""
    require_spec()
    since = "datetime=2020-01-01T00:00:00Z/.."
    uid = "3c3b5d6e-1f0a-4b8e-9a4e-2b1d0c9e8f7a"
    validate_parameters("GET", SEARCH, f"collections={S2}&{since}&ids=a,b&bbox=0,40,20,55&limit=5")
    refused = [
        (
            "GET",
            SEARCH,
            f"collections={S2}&{since}&filter=eo:cloud_cover<5&filter-lang=cql2-text",
            "filter-lang",
        ),
        ("GET", SEARCH, f"collections={S2}", "'datetime' is missing"),
        ("GET", SEARCH, f"collections={S2}&collections=x&{since}", "comma-separated"),
        ("GET", SEARCH, f"collections={S2},x&{since}", "collections"),  # one collection only
        ("GET", SEARCH, f"collections={S2}&{since}&limit=500", "limit"),
        ("GET", SEARCH, f"collections={S2}&{since}&limit=ten", "integer"),
        ("GET", SEARCH, f"collections={S2}&{since}&bbox=0,40,20", "bbox"),
        ("GET", SEARCH, f"collections={S2}&{since}&intersects=Polygon", "JSON"),
        ("GET", f"{CATALOG_PATH}/collections", "limit=2", "'limit'"),
        ("GET", "/api/v2/batch/process", "sort=newest", "sort"),
        ("GET", "/api/v2/batch/process", "count=1.5", "integer"),
        ("GET", f"/api/v1/byoc/collections/{uid}/tiles", "status=DONE", "status"),
        ("GET", f"/api/v1/byoc/collections/{uid}/tiles", "count=0", "count"),
        ("POST", f"/api/v1/byoc/collections/{uid}/copyTiles", "", "'toCollection' is missing"),
        ("GET", "/api/v2/batch/process/not-a-uuid", "", "taskId"),
        ("GET", "/api/v2/batch/tilinggrids/one", "", "integer"),
    ]
    for method, path, query, says in refused:
        with pytest.raises(ParameterError, match=says):
            validate_parameters(method, path, query)
    with pytest.raises(ParameterError, match="application/tar"):
        validate_parameters("POST", "/api/v1/process", "", {"Accept": "application/tar"})
    validate_parameters("POST", "/api/v1/process", "", {"Accept": "application/x-tar"})
    validate_parameters("POST", "/api/v1/statistics", "", {"Accept": "application/json"})


def test_the_query_errata_are_still_errors_of_the_document() -> None:
    """When the document is fixed, these fail: the erratum can go (see ``errata.py``)."""
    require_spec()
    components = published()["components"]["parameters"]
    intersects = components["CatalogItemSearchIntersects"]
    assert (intersects.get("style"), intersects.get("explode")) == (
        "form",
        False,
    ) and "content" not in intersects
    tiles = published()["paths"]["/byoc/v1/collections/{collectionId}/tiles"]["get"]["parameters"]
    (status,) = [p for p in tiles if p.get("name") == "status"]
    assert "content" in status
    for path in (
        "/catalog/v1/search",
        "/catalog/v1/collections/{collectionId}/items",
        "/catalog/v1/collections",
    ):
        params = published()["paths"][path]["get"].get("parameters") or []
        names = {(components[p["$ref"].rsplit("/", 1)[-1]] if "$ref" in p else p)["name"] for p in params}
        assert "next" not in names, path
