"""Catalog items and SpaceKnow scenes from the emulator: GeoJSON Features, pystac, geopandas."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import pytest

from eoclient.errors import ConfigurationError, ValidationError
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.catalog_models import Item, to_pystac_collection
from eoclient.spaceknow import SpaceKnow
from tests.extras import need

pystac = need("pystac")
geopandas = need("geopandas")
shapely_geometry = need("shapely.geometry")

S2 = "sentinel-2-l2a"
EUROPE = [0.0, 40.0, 20.0, 55.0]
PRAGUE_POLYGON = {
    "type": "Polygon",
    "coordinates": [[[14.3, 49.9], [14.6, 49.9], [14.6, 50.2], [14.3, 50.2], [14.3, 49.9]]],
}
PSSCENE = ("pl", "PSScene")


def _is_feature(feature: dict[str, Any]) -> None:
    """The GeoJSON Feature contract, and that it is JSON as it is (no datetimes, no models)."""
    assert feature["type"] == "Feature"
    assert isinstance(feature["id"], str) and feature["id"]
    assert isinstance(feature["properties"], dict)
    assert feature["geometry"] is None or feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert json.loads(json.dumps(feature)) == feature


async def _items(sh: SentinelHub, count: int = 12) -> list[Item]:
    items = await sh.catalog.search(S2, bbox=EUROPE, datetime="2020", max_items=count).collect()
    assert len(items) == count
    return items


async def test_catalog_items_are_features_for_geopandas(sh: SentinelHub) -> None:
    items = await _items(sh)
    for item in items:
        feature = item.__geo_interface__
        _is_feature(feature)
        assert feature["id"] == item.id and feature["bbox"] == item.bbox
        assert feature["geometry"] == item.geometry and feature["properties"] == item.properties
        assert feature["collection"] == S2
    frame = geopandas.GeoDataFrame.from_features(items, crs="EPSG:4326")
    assert len(frame) == len(items)
    assert list(frame["datetime"]) == [item.properties["datetime"] for item in items]
    assert list(frame["eo:cloud_cover"]) == [item.properties["eo:cloud_cover"] for item in items]
    for geom, item in zip(frame.geometry, items, strict=True):
        assert geom.equals(shapely_geometry.shape(item.geometry))
        # The geometry lies in the item's bbox.
        west, south, east, north = geom.bounds
        assert item.bbox is not None
        assert item.bbox[0] - 1e-9 <= west and east <= item.bbox[2] + 1e-9
        assert item.bbox[1] - 1e-9 <= south and north <= item.bbox[3] + 1e-9
    assert shapely_geometry.shape(items[0]).equals(frame.geometry.iloc[0])


async def test_catalog_items_to_pystac(sh: SentinelHub) -> None:
    items = await _items(sh, 5)
    for item in items:
        stac = item.to_pystac()
        assert isinstance(stac, pystac.Item)
        # validate() would fetch the JSON schemas from the network: the fields are checked here instead.
        assert stac.id == item.id and stac.collection_id == S2
        assert stac.datetime == item.datetime and stac.datetime is not None
        assert stac.geometry == item.geometry and list(stac.bbox) == item.bbox
        assert stac.properties["eo:cloud_cover"] == item.properties["eo:cloud_cover"]
        assert set(stac.assets) == set(item.assets)
        for key, asset in item.assets.items():
            assert stac.assets[key].href == asset.href and stac.assets[key].media_type == asset.type
        # Not link.href: pystac resolves the root link for it, over the network.
        links = [(link.rel, link.get_href(transform_href=False)) for link in stac.links]
        assert links == [(link.rel, link.href) for link in item.links]
        assert stac.stac_extensions == item.stac_extensions
        as_dict = stac.to_dict(include_self_link=False, transform_hrefs=False)
        assert as_dict["type"] == "Feature" and as_dict["stac_version"]
    collection = to_pystac_collection(items)
    assert isinstance(collection, pystac.ItemCollection)
    assert [i.id for i in collection] == [i.id for i in items]


async def test_an_item_without_datetime_is_refused_by_name(sh: SentinelHub) -> None:
    search = sh.catalog.search(
        S2, bbox=EUROPE, datetime="2020-06", max_items=1, fields={"exclude": ["properties"]}
    )
    (item,) = await search.collect()
    assert "datetime" not in item.properties
    with pytest.raises(ValidationError) as err:
        item.to_pystac()
    assert err.value.field == "properties.datetime" and item.id in str(err.value)


async def test_without_pystac_the_error_says_what_to_install(
    sh: SentinelHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    (item,) = await _items(sh, 1)
    monkeypatch.setitem(sys.modules, "pystac", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'eoclient\[stac\]'"):
        item.to_pystac()
    with pytest.raises(ConfigurationError, match=r"pip install 'eoclient\[stac\]'"):
        to_pystac_collection([item])


@pytest.mark.eo_emulator(clock_speed=500.0)  # the search is a task the emulated clock completes
async def test_spaceknow_scenes_are_features_for_geopandas(sk: SpaceKnow) -> None:
    scenes = await sk.imagery.search(
        [PSSCENE], PRAGUE_POLYGON, start_datetime="2020-01-01", end_datetime="2020-03-31", max_items=10
    ).collect()
    assert scenes
    for scene in scenes:
        feature = scene.__geo_interface__
        _is_feature(feature)
        assert feature["id"] == scene.scene_id and feature["geometry"] == scene.footprint
        props = feature["properties"]
        assert "footprint" not in props
        assert props["sceneId"] == scene.scene_id and props["provider"] == "pl"
        assert scene.datetime is not None
        assert dt.datetime.fromisoformat(props["datetime"]) == scene.datetime
    frame = geopandas.GeoDataFrame.from_features(scenes, crs="EPSG:4326")
    assert list(frame["sceneId"]) == [s.scene_id for s in scenes]
    assert list(frame["dataset"]) == ["PSScene"] * len(scenes)
    for geom, scene in zip(frame.geometry, scenes, strict=True):
        assert geom.equals(shapely_geometry.shape(scene.footprint))
        assert shapely_geometry.shape(scene).equals(geom)  # a scene still stands for its footprint
    # And a scene is still accepted where an area is: its footprint is searched.
    again = await sk.imagery.search([PSSCENE], scenes[0], max_items=1).collect()
    assert again
