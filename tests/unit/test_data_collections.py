"""DataCollection: the catalogue, user-defined collections, and their use in requests."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from eoclient.errors import ValidationError
from eoclient.sentinelhub import DataCollection, InputData, ProcessInput, ProcessRequest, TimeRange
from eoclient.sentinelhub.data_collections import (
    CREODIAS_URL,
    USWEST_URL,
    Band,
    catalog_collection_ids,
    check_deployment,
    collections_in,
)
from eoclient.sentinelhub.prepared import prepare_process, prepare_statistics
from eoclient.sentinelhub.process_models import Bounds, DataFilter

UUID = "0f3ad1a8-1b6e-4c35-9d0c-1a2b3c4d5e6f"
BBOX = [13.8, 45.8, 14.5, 46.2]


def process_dict(*data: Any) -> dict[str, Any]:
    return {"input": {"bounds": {"bbox": BBOX}, "data": list(data)}, "evalscript": "//VERSION=3"}


# -- the catalogue ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("collection", "api_id", "catalog_id", "service_url", "cloud"),
    [
        (DataCollection.SENTINEL2_L1C, "sentinel-2-l1c", "sentinel-2-l1c", None, True),
        (DataCollection.SENTINEL2_L2A, "sentinel-2-l2a", "sentinel-2-l2a", None, True),
        (DataCollection.SENTINEL1, "sentinel-1-grd", "sentinel-1-grd", None, False),
        (DataCollection.SENTINEL1_IW, "sentinel-1-grd", "sentinel-1-grd", None, False),
        (DataCollection.DEM, "dem", None, None, False),
        (DataCollection.DEM_COPERNICUS_30, "dem", None, None, False),
        (DataCollection.LANDSAT_OT_L1, "landsat-ot-l1", "landsat-ot-l1", USWEST_URL, True),
        (DataCollection.LANDSAT_OT_L2, "landsat-ot-l2", "landsat-ot-l2", USWEST_URL, True),
        (DataCollection.MODIS, "modis", "modis", USWEST_URL, False),
        (DataCollection.HARMONIZED_LANDSAT_SENTINEL, "hls", "hls", USWEST_URL, True),
        (DataCollection.SENTINEL3_OLCI, "sentinel-3-olci", "sentinel-3-olci", CREODIAS_URL, False),
        (DataCollection.SENTINEL3_SLSTR, "sentinel-3-slstr", "sentinel-3-slstr", CREODIAS_URL, True),
        (DataCollection.SENTINEL5P, "sentinel-5p-l2", "sentinel-5p-l2", CREODIAS_URL, False),
    ],
)
def test_known_collections(
    collection: DataCollection, api_id: str, catalog_id: str | None, service_url: str | None, cloud: bool
) -> None:
    assert collection.api_id == collection.type == api_id
    assert collection.catalog_id == catalog_id
    assert collection.service_url == service_url
    assert collection.has_cloud_coverage is cloud
    assert collection.band_names, "every known collection lists its bands"
    assert "dataMask" in collection.band_names
    assert not collection.is_byoc and not collection.is_batch
    assert DataCollection.get(collection.name) is collection


def test_sentinel2_bands_with_units_and_sample_types() -> None:
    l1c, l2a = DataCollection.SENTINEL2_L1C, DataCollection.SENTINEL2_L2A
    assert [b.name for b in l2a.bands] == [
        *("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
    ]
    assert "B10" in l1c.band_names and "B10" not in l2a.band_names  # cirrus: L1C only
    assert l2a.band("B04") == Band("B04", ("REFLECTANCE", "DN"), ("FLOAT32", "UINT16"))
    assert l2a.band("SCL") == Band("SCL", ("DN",), ("UINT8",))
    assert "SCL" not in l1c.band_names
    assert l2a.band("dataMask").sample_types == ("UINT8",)
    with pytest.raises(KeyError, match="has no band 'B99'"):
        l2a.band("B99")


def test_other_band_sets() -> None:
    assert [b.name for b in DataCollection.SENTINEL1.bands] == ["VV", "VH", "HH", "HV"]
    assert DataCollection.SENTINEL1.band("VV").units == ("LINEAR_POWER",)
    ot = DataCollection.LANDSAT_OT_L2
    assert [b.name for b in ot.bands] == ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B10"]
    assert ot.band("B10").units == ("KELVIN", "DN")
    assert "QA_PIXEL" in ot.band_names
    assert DataCollection.DEM.band("DEM") == Band("DEM", ("METERS",), ("FLOAT32",))
    assert len(DataCollection.SENTINEL3_OLCI.bands) == 21


def test_collections_are_immutable_and_hashable() -> None:
    s2 = DataCollection.SENTINEL2_L2A
    with pytest.raises(dataclasses.FrozenInstanceError):
        s2.api_id = "x"  # type: ignore[misc]
    assert len({s2, DataCollection.SENTINEL2_L2A, DataCollection.SENTINEL2_L1C}) == 2
    assert repr(DataCollection.LANDSAT_OT_L2) == (
        f"DataCollection('LANDSAT_OT_L2', type='landsat-ot-l2', service_url='{USWEST_URL}')"
    )


def test_get_by_type_and_ambiguity() -> None:
    assert DataCollection.get("sentinel-2-l2a") is DataCollection.SENTINEL2_L2A
    with pytest.raises(KeyError, match="shared by"):
        DataCollection.get("dem")  # DEM, DEM_MAPZEN, DEM_COPERNICUS_30/90
    with pytest.raises(KeyError, match="no data collection"):
        DataCollection.get("NOPE")
    assert DataCollection.SENTINEL5P in DataCollection.all()


# -- user-defined collections ------------------------------------------------------------


def test_define_byoc_and_batch() -> None:
    byoc = DataCollection.define_byoc(UUID, name="MY_FIELDS", has_cloud_coverage=True)
    assert (byoc.api_id, byoc.catalog_id, byoc.collection_id) == (f"byoc-{UUID}", f"byoc-{UUID}", UUID)
    assert byoc.is_byoc and byoc.has_cloud_coverage and byoc.service_url is None
    # the same definition again is the same collection; "byoc-<id>" is accepted too
    assert DataCollection.define_byoc(f"byoc-{UUID}", name="MY_FIELDS", has_cloud_coverage=True) is byoc
    assert DataCollection.get("MY_FIELDS") is byoc
    batch = DataCollection.define_batch(UUID.upper())
    assert batch.api_id == f"batch-{UUID}" and batch.is_batch
    assert batch.name == f"BATCH_{UUID.replace('-', '_')}"


def test_define_rejects_bad_input() -> None:
    with pytest.raises(ValidationError) as info:
        DataCollection.define_byoc("not-a-uuid")
    assert info.value.field == "collection_id"
    with pytest.raises(ValidationError) as info:
        DataCollection.define_byoc(UUID, name="SENTINEL2_L2A")  # taken by another definition
    assert info.value.field == "name"
    with pytest.raises(ValidationError) as info:
        DataCollection.define_byoc(UUID, name="bad name")
    assert info.value.field == "name"
    with pytest.raises(ValidationError) as info:
        DataCollection.define_byoc(UUID, name="ON_FTP", service_url="ftp://example.com")
    assert info.value.field == "service_url"


def test_define_from_moves_a_collection_to_another_deployment() -> None:
    cdse = DataCollection.SENTINEL3_OLCI.define_from(
        "SENTINEL3_OLCI_CDSE", service_url="https://sh.dataspace.copernicus.eu/"
    )
    assert cdse.api_id == "sentinel-3-olci" and cdse.bands == DataCollection.SENTINEL3_OLCI.bands
    assert cdse.service_url == "https://sh.dataspace.copernicus.eu"
    with pytest.raises(ValidationError):
        DataCollection.SENTINEL3_OLCI.define_from("OTHER", api_id="x")


# -- in requests -------------------------------------------------------------------------------


def test_input_data_of_builds_the_wire_entry() -> None:
    entry = InputData.of(
        DataCollection.SENTINEL2_L2A,
        time_range=("2024-06-01", "2024-06-30"),
        max_cloud_coverage=20,
        mosaicking_order="leastCC",
        processing={"upsampling": "BILINEAR"},
    )
    assert entry.data_collection is DataCollection.SENTINEL2_L2A
    assert entry.to_dict() == {
        "type": "sentinel-2-l2a",
        "dataFilter": {
            "timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-30T23:59:59.999999Z"},
            "maxCloudCoverage": 20,
            "mosaickingOrder": "leastCC",
        },
        "processing": {"upsampling": "BILINEAR"},
    }
    plain = InputData.of("byoc-" + UUID, time_range=TimeRange.of("2024-01-01T00:00:00Z", None))
    assert plain.data_collection is None and plain.type == f"byoc-{UUID}"


def test_input_data_of_adds_implied_filters_and_checks_cloud_cover() -> None:
    dem = InputData.of(DataCollection.DEM_COPERNICUS_30)
    assert dem.to_dict() == {"type": "dem", "dataFilter": {"demInstance": "COPERNICUS_30"}}
    s1 = InputData.of(DataCollection.SENTINEL1_IW, data_filter={"orbitDirection": "ASCENDING"})
    assert s1.to_dict()["dataFilter"] == {"acquisitionMode": "IW", "orbitDirection": "ASCENDING"}
    # the user's own value wins over the implied one
    ew = InputData.of(DataCollection.SENTINEL1_IW, data_filter=DataFilter(acquisition_mode="EW"))
    assert ew.to_dict()["dataFilter"] == {"acquisitionMode": "EW"}
    with pytest.raises(ValidationError) as info:
        InputData.of(DataCollection.DEM, max_cloud_coverage=10)
    assert info.value.field == "max_cloud_coverage"
    with pytest.raises(ValidationError) as info:
        InputData.of(DataCollection.SENTINEL2_L2A, time_range=("2024-07-01", "2024-06-01"))
    assert info.value.field == "time_range"


def test_input_data_accepts_a_collection_as_type() -> None:
    entry = InputData(type=DataCollection.SENTINEL1_EW)  # type: ignore[arg-type]
    assert entry.type == "sentinel-1-grd"
    assert entry.data_collection is DataCollection.SENTINEL1_EW
    assert entry.to_dict() == {"type": "sentinel-1-grd", "dataFilter": {"acquisitionMode": "EW"}}


def test_dict_requests_take_collections_and_are_not_mutated() -> None:
    user = process_dict(
        {"type": DataCollection.SENTINEL2_L2A, "dataFilter": {"maxCloudCoverage": 30}, "myOption": 1},
        {"type": DataCollection.DEM_MAPZEN},
        {"type": "sentinel-1-grd"},
    )
    wire = prepare_process(user).wire
    data = wire["input"]["data"]
    assert data[0] == {"type": "sentinel-2-l2a", "dataFilter": {"maxCloudCoverage": 30}, "myOption": 1}
    assert data[1] == {"type": "dem", "dataFilter": {"demInstance": "MAPZEN"}}
    assert data[2] == {"type": "sentinel-1-grd"}
    assert user["input"]["data"][0]["type"] is DataCollection.SENTINEL2_L2A  # the user's dict is untouched


def test_statistics_requests_take_collections() -> None:
    prepared = prepare_statistics(
        {
            "input": {"bounds": {"bbox": BBOX}, "data": [{"type": DataCollection.SENTINEL2_L1C}]},
            "aggregation": {
                "timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-03T00:00:00Z"},
                "aggregationInterval": {"of": "P1D"},
                "evalscript": "//VERSION=3",
                "resx": 0.01,
                "resy": 0.01,
            },
        }
    )
    assert prepared.wire["input"]["data"] == [{"type": "sentinel-2-l1c"}] and prepared.intervals == 2


# -- deployments ---------------------------------------------------------------------------------


def test_check_deployment_names_the_field_and_the_url() -> None:
    request = process_dict({"type": DataCollection.SENTINEL2_L2A}, {"type": DataCollection.LANDSAT_OT_L2})
    with pytest.raises(ValidationError) as info:
        check_deployment(request, "https://services.sentinel-hub.com")
    assert info.value.field == "input.data[1].type"
    assert USWEST_URL in str(info.value) and "LANDSAT_OT_L2" in str(info.value)
    check_deployment(request, USWEST_URL + "/")  # the right deployment (a trailing slash is fine)
    check_deployment(request, "HTTPS://Services-USWest2.sentinel-hub.com")


def test_check_deployment_of_models_and_plain_strings() -> None:
    model = ProcessRequest(
        input=ProcessInput(
            bounds=Bounds.from_bbox(BBOX),
            data=[InputData.of(DataCollection.SENTINEL5P, time_range=datetime(2024, 6, 1, tzinfo=UTC))],
        ),
        evalscript="//VERSION=3",
    )
    assert [(i, c.name) for i, c in collections_in(model)] == [(0, "SENTINEL5P")]
    with pytest.raises(ValidationError) as info:
        check_deployment(model, "http://127.0.0.1:8080")
    assert info.value.field == "input.data[0].type" and CREODIAS_URL in str(info.value)
    # a type written as a string is sent as written (no guessing about custom deployments)
    check_deployment(process_dict({"type": "landsat-ot-l2"}), "https://services.sentinel-hub.com")
    check_deployment({"input": None}, "https://services.sentinel-hub.com")


def test_catalog_ids() -> None:
    assert catalog_collection_ids(DataCollection.SENTINEL2_L2A) == "sentinel-2-l2a"
    assert catalog_collection_ids([DataCollection.SENTINEL1_IW, "x"]) == ["sentinel-1-grd", "x"]
    assert catalog_collection_ids("sentinel-2-l1c") == "sentinel-2-l1c"
    with pytest.raises(ValidationError, match="not in the Catalog"):
        catalog_collection_ids(DataCollection.DEM)
    # where the search goes is routing's to say (tests/unit/test_deployment_routing.py)
    assert catalog_collection_ids(DataCollection.HARMONIZED_LANDSAT_SENTINEL) == "hls"


def test_time_range_of_one_interval() -> None:
    assert TimeRange.of("2024-06").to_dict() == {
        "from": "2024-06-01T00:00:00Z",
        "to": "2024-06-30T23:59:59.999999Z",
    }
    # the two-argument form is unchanged: date strings are midnight, offsets are kept
    two = TimeRange.of("2024-06-01", "2024-06-30T00:00:00+02:00")
    assert two.to_dict() == {"from": "2024-06-01T00:00:00Z", "to": "2024-06-30T00:00:00+02:00"}
