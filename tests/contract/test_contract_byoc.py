"""Every JSON body the BYOC client sends validates against the official OpenAPI document."""

from __future__ import annotations

import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.sentinelhub.byoc import INGEST_SECONDS
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.byoc_models import (
    BandFormat,
    Collection,
    CollectionAdditionalData,
    Tile,
    TileUpdate,
)
from tests.contract.openapi import require_spec, spec_path_for, validate_recorded

COVER = {"type": "Polygon", "coordinates": [[[14.0, 46.0], [14.2, 46.0], [14.2, 46.2], [14.0, 46.0]]]}
MULTI = {"type": "MultiPolygon", "coordinates": [COVER["coordinates"]]}


class Shape:
    """Anything with ``__geo_interface__`` (shapely & co.)."""

    __geo_interface__ = COVER


async def test_byoc_request_bodies_match_the_openapi(eo_emulator: Emulator) -> None:
    require_spec()
    async with SentinelHub(
        eo_emulator.credentials.sh_client_id,
        eo_emulator.credentials.sh_client_secret,
        base_url=eo_emulator.sentinelhub_url,
        token_url=eo_emulator.sentinelhub_token_url,
    ) as sh:
        byoc = sh.byoc
        bands = {"B1": BandFormat(bit_depth=16, sample_format="UINT", band_index=1, source="b1", no_data=0)}
        coll = await byoc.create_collection(
            Collection(
                name="model", s3_bucket="bucket", additional_data=CollectionAdditionalData(bands=bands)
            )
        )
        plain = await byoc.create_collection(
            {"name": "dict", "s3Bucket": "bucket", "isConfigured": False, "noData": 0, "additionalData": {}}
        )
        tile = await byoc.create_tile(
            coll.id, Tile(path="a/b_(BAND)", cover_geometry=COVER, sensing_time="2024-01-01T00:00:00.123456Z")
        )
        await byoc.create_tile(coll.id, {"path": "c", "coverGeometry": Shape(), "sensingTime": None})
        await byoc.create_tile(plain.id, {"path": "d", "coverGeometry": MULTI})
        eo_emulator.clock.advance(INGEST_SECONDS + 1)

        fetched = await byoc.collection(coll.id)
        fetched.name = "renamed"
        await byoc.update_collection(coll.id, fetched)  # a fetched model carries read-only fields
        await byoc.update_collection(
            plain.id, {"name": "dict", "s3Bucket": "bucket", "additionalData": {"bands": {}}}
        )
        await byoc.update_tile(
            coll.id, tile.id, {"coverGeometry": MULTI, "sensingTime": "2024-02-02T02:02:02Z"}
        )
        await byoc.update_tile(coll.id, tile.id, {"sensingTime": None})
        await byoc.update_tile(coll.id, tile.id, TileUpdate(cover_geometry=COVER))
        await byoc.update_tile(coll.id, tile.id, await byoc.tile(coll.id, tile.id))

    checked = validate_recorded(eo_emulator.requests, path_prefix="/api/v1/byoc")
    assert checked == 11
    # And every BYOC URL the client used is a path of the document.
    for record in eo_emulator.requests:
        if record.path.startswith("/api/v1/byoc"):
            assert spec_path_for(record.path).startswith("/byoc/v1/collections")


async def test_tiling_grid_and_file_urls_are_in_the_openapi() -> None:
    require_spec()
    assert spec_path_for("/api/v2/batch/tilinggrids") == "/batch/v2/tilinggrids"
    assert spec_path_for("/api/v2/batch/tilinggrids/3") == "/batch/v2/tilinggrids/{id}"
    uid = "3c3b5d6e-1f0a-4b8e-9a4e-2b1d0c9e8f7a"
    files = f"/api/v1/byoc/collections/{uid}/tiles/{uid}/files"
    assert spec_path_for(files) == "/byoc/v1/collections/{collectionId}/tiles/{tileId}/files"
    assert (
        spec_path_for(files + "/x.tif") == "/byoc/v1/collections/{collectionId}/tiles/{tileId}/files/{path}"
    )
    assert spec_path_for(f"/api/v1/byoc/collections/{uid}/copyTiles").endswith("/copyTiles")


pytestmark = pytest.mark.eo_emulator(seed=7)
