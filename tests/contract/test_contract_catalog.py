"""Every JSON body the Catalog client sends validates against the official OpenAPI document."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from eoclient._http.retry import RetryPolicy
from eoclient.emulator import Emulator
from eoclient.geo import BBox
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.catalog import CATALOG_PATH

from .openapi import require_spec, validate_recorded, validate_request


class Footprint:
    """Something with ``__geo_interface__`` (tuples, as shapely gives them)."""

    @property
    def __geo_interface__(self) -> dict[str, Any]:
        return {"type": "Polygon", "coordinates": (((5, 44), (12, 44), (12, 50), (5, 44)),)}


async def test_search_bodies_match_the_openapi(eo_emulator: Emulator) -> None:
    require_spec()
    emu = eo_emulator
    async with SentinelHub(
        emu.credentials.sh_client_id,
        emu.credentials.sh_client_secret,
        base_url=emu.sentinelhub_url,
        token_url=emu.sentinelhub_token_url,
        deployments=emu.deployment_urls,  # Landsat is searched on the US-West listener
        retry=RetryPolicy(attempts=2, initial_backoff=0.01),
    ) as sh:
        cat = sh.catalog
        # Paging: the second and later bodies are the first merged with {"next": N}.
        await cat.search(
            "sentinel-2-l2a", bbox=[0, 40, 20, 55], datetime="2020-06", limit=5, max_items=12
        ).collect()
        await cat.search(
            "sentinel-2-l2a", bbox=BBox(5, 44, 12, 50), datetime=("2020-01-01", None), max_items=3
        ).collect()
        await cat.search(
            "sentinel-2-l2a",
            intersects=Footprint(),
            datetime=("2021-01-01T00:00:00Z", "2021-06-30T00:00:00Z"),
            filter={
                "op": "and",
                "args": [
                    {"op": "<", "args": [{"property": "eo:cloud_cover"}, 30]},
                    {"op": "between", "args": [{"property": "eo:cloud_cover"}, 0, 50]},
                ],
            },
            fields={"include": ["id", "properties.eo:cloud_cover"], "exclude": ["assets"]},
            limit=10,
            max_items=25,
        ).collect()
        await cat.search(
            "sentinel-1-grd",
            datetime="2020",
            filter={
                "op": "not",
                "args": [{"op": "=", "args": [{"property": "sat:orbit_state"}, "ascending"]}],
            },
            distinct="date",
            limit=100,
            max_items=150,
        ).collect()
        # cql2-text, as users write it: sent as CQL2 JSON (with `or`, see errata.py)
        await cat.search(
            "sentinel-2-l2a",
            datetime="2020-06",
            filter="eo:cloud_cover BETWEEN 0 AND 40 AND (platform = 'sentinel-2a' OR eo:cloud_cover < 5)",
            max_items=5,
        ).collect()
        await cat.search(
            "sentinel-1-grd", datetime="2020-06", filter="platform <> 'sentinel-1b'", max_items=3
        ).collect()
        ids = [i.id for i in await cat.search("landsat-ot-l2", datetime="2022-03", max_items=2).collect()]
        await cat.search("landsat-ot-l2", ids=ids, datetime="2022", fields=["-links"]).collect()
        # GET searches and listings send no body; they must not break the check either.
        await cat.search("sentinel-2-l2a", datetime="2020-06", method="GET", max_items=3).collect()

    checked = validate_recorded(emu.requests, path_prefix=CATALOG_PATH)
    search_posts = [r for r in emu.requests if r.method == "POST" and r.path == f"{CATALOG_PATH}/search"]
    assert checked == len(search_posts) >= 10
    assert any(b"next" in (r.body or b"") for r in search_posts)
    bodies = [msgspec.json.decode(r.body) for r in search_posts]
    filtered = [b for b in bodies if "filter" in b]
    assert len(filtered) >= 4
    assert all(isinstance(b["filter"], dict) and b["filter-lang"] == "cql2-json" for b in filtered)


def test_the_check_rejects_a_bad_body() -> None:
    """The validator is not vacuous: Sentinel Hub's own limits are in the document."""
    import jsonschema

    require_spec()
    path = f"{CATALOG_PATH}/search"
    validate_request("POST", path, {"collections": ["sentinel-2-l2a"], "datetime": "2020-01-01T00:00:00Z/.."})
    for bad in (
        {"collections": ["a", "b"], "datetime": "2020-01-01T00:00:00Z/.."},  # one collection only
        {"collections": ["a"], "datetime": "2020-01-01T00:00:00Z/..", "limit": 101},
        {"collections": ["a"], "datetime": "2020-01-01T00:00:00Z/..", "filter-lang": "cql"},
        {"collections": ["a"]},  # datetime is required
        {"collections": ["a"], "datetime": "2020-01-01T00:00:00Z/..", "filter": "eo:cloud_cover < 5"},  # text
    ):
        with pytest.raises(jsonschema.ValidationError):
            validate_request("POST", path, bad)
