"""The collection catalogue against the OpenAPI document, and the emulator's copy of where each lives."""

from __future__ import annotations

from typing import Any

import pytest

from eoclient.emulator.sentinelhub import deployments as emulated
from eoclient.emulator.sentinelhub.process.validation import DATA_TYPES
from eoclient.sentinelhub import DataCollection
from eoclient.sentinelhub.data_collections import CREODIAS_URL, MAIN_URL, USWEST_URL
from tests.contract.openapi import published, require_spec

# DatasetType values that name no Process collection: a placeholder, and the Sentinel-2 Global Mosaic
# (reached in Process as a BYOC collection, DataCollection.define_byoc).
NOT_A_PROCESS_TYPE = {"custom", "s2gm"}

# The catalogue itself (class attributes), not what other tests define in this process.
BUILT_IN = [
    value
    for name in dir(DataCollection)
    if name.isupper() and isinstance(value := getattr(DataCollection, name), DataCollection)
]


def schemas() -> dict[str, Any]:
    require_spec()
    found = published()["components"]["schemas"]
    assert isinstance(found, dict)
    return found


def enum_of(schema: dict[str, Any]) -> set[str]:
    """The ``type`` enum a dataset schema pins (inside its ``allOf``)."""
    values: set[str] = set()
    for part in schema.get("allOf", []):
        kind = part.get("properties", {}).get("type", {}) if isinstance(part, dict) else {}
        values.update(kind.get("enum", []))
    return values


def process_input_types() -> set[str]:
    """Every ``input.data[].type`` the ProcessRequestInputData schemas pin."""
    all_schemas = schemas()
    found: set[str] = set()
    for ref in all_schemas["ProcessRequestInputData"]["items"]["oneOf"]:
        found |= enum_of(all_schemas[ref["$ref"].rsplit("/", 1)[-1]])
    return found


def test_every_process_type_of_the_document_is_a_known_collection() -> None:
    types = process_input_types()
    assert {"landsat-tm-l2", "landsat-mss-l1", "sentinel-1-grd"} <= types  # the document is read
    known = {c.api_id for c in BUILT_IN}
    assert types - known == set()


def test_every_dataset_type_is_known_as_a_type_or_catalog_id() -> None:
    listed = set(schemas()["DatasetType"]["enum"]) - NOT_A_PROCESS_TYPE
    known = {c.api_id for c in BUILT_IN} | {c.catalog_id for c in BUILT_IN}
    assert listed - known == set()


@pytest.mark.parametrize(
    ("collection", "api_id", "deployment"),
    [
        (DataCollection.LANDSAT_MSS_L1, "landsat-mss-l1", USWEST_URL),
        (DataCollection.LANDSAT_TM_L1, "landsat-tm-l1", USWEST_URL),
        (DataCollection.LANDSAT_TM_L2, "landsat-tm-l2", USWEST_URL),
        (DataCollection.LANDSAT_ETM_L1, "landsat-etm-l1", USWEST_URL),
        (DataCollection.LANDSAT_ETM_L2, "landsat-etm-l2", USWEST_URL),
        (DataCollection.LANDSAT8_L1C, "landsat-8-l1c", None),
    ],
)
def test_the_added_landsat_collections(
    collection: DataCollection, api_id: str, deployment: str | None
) -> None:
    assert collection.api_id == collection.catalog_id == api_id
    assert collection.service_url == deployment and collection.has_cloud_coverage
    assert {"B01", "B02", "B03", "B04", "dataMask"} <= set(collection.band_names)
    data = [b for b in collection.bands]
    assert all(b.resolution in (15.0, 30.0, 60.0) for b in data), "every data band says its pixel size"
    assert all(b.units and len(b.units) == len(b.sample_types) for b in data)


def test_thermal_bands_are_kelvin() -> None:
    assert DataCollection.LANDSAT_TM_L2.band("B06").units == ("KELVIN", "DN")
    assert {b.name for b in DataCollection.LANDSAT_ETM_L1.bands if b.units[0] == "KELVIN"} == {
        "B06_VCID_1",
        "B06_VCID_2",
    }
    assert DataCollection.LANDSAT_MSS_L1.band("B01").resolution == 60.0


@pytest.mark.parametrize(
    ("collection", "data_filter", "bands"),
    [
        (DataCollection.SENTINEL1_IW_ASC, {"acquisitionMode": "IW", "orbitDirection": "ASCENDING"}, None),
        (DataCollection.SENTINEL1_IW_DES, {"acquisitionMode": "IW", "orbitDirection": "DESCENDING"}, None),
        (DataCollection.SENTINEL1_EW_ASC, {"acquisitionMode": "EW", "orbitDirection": "ASCENDING"}, None),
        (DataCollection.SENTINEL1_EW_DES, {"acquisitionMode": "EW", "orbitDirection": "DESCENDING"}, None),
        (DataCollection.SENTINEL1_EW_SH, {"acquisitionMode": "EW", "polarization": "SH"}, ("HH",)),
        (
            DataCollection.SENTINEL1_EW_SH_ASC,
            {"acquisitionMode": "EW", "polarization": "SH", "orbitDirection": "ASCENDING"},
            ("HH",),
        ),
        (
            DataCollection.SENTINEL1_EW_SH_DES,
            {"acquisitionMode": "EW", "polarization": "SH", "orbitDirection": "DESCENDING"},
            ("HH",),
        ),
    ],
)
def test_sentinel1_variants_imply_their_filters(
    collection: DataCollection, data_filter: dict[str, str], bands: tuple[str, ...] | None
) -> None:
    assert collection.api_id == "sentinel-1-grd" and collection.service_url is None
    assert collection.default_data_filter() == data_filter
    if bands is not None:
        assert tuple(b.name for b in collection.bands) == bands


def test_the_filter_values_are_the_documents() -> None:
    s1 = schemas()["S1Filtering"]["properties"]
    used: dict[str, set[str]] = {}
    for collection in BUILT_IN:
        if collection.api_id == "sentinel-1-grd":
            for key, value in collection.data_filter:
                used.setdefault(key, set()).add(value)
    assert used.keys() == {"acquisitionMode", "polarization", "orbitDirection"}
    for key, values in used.items():
        assert values <= set(s1[key]["enum"]), key


def test_the_emulator_knows_where_every_collection_lives() -> None:
    built_in = BUILT_IN
    assert {c.name for c in built_in} >= {
        "SENTINEL2_L2A",
        "LANDSAT_TM_L2",
        "SENTINEL1_EW_SH_DES",
        "SENTINEL5P",
    }
    for collection in built_in:
        home = emulated.HOMES.get(collection.api_id)
        assert home == collection.service_url, collection.name
        if collection.catalog_id is not None:
            assert emulated.HOMES.get(collection.catalog_id) == collection.service_url, collection.name
    assert set(emulated.HOMES) <= {c.api_id for c in built_in}
    assert emulated.DEPLOYMENTS == (MAIN_URL, USWEST_URL, CREODIAS_URL)
    # and the emulator's Process API knows every type the client's catalogue sends
    assert {c.api_id for c in built_in} <= DATA_TYPES
