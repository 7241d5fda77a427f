"""Routing decisions: which deployment a request goes to, and which hosts get the bearer."""

from __future__ import annotations

from typing import Any

import pytest

from eoclient._http.dialects import SENTINELHUB
from eoclient._http.transport import Transport
from eoclient.errors import ForeignHostError, ValidationError
from eoclient.sentinelhub import DataCollection, InputData, ProcessInput, ProcessRequest, SentinelHub
from eoclient.sentinelhub.data_collections import (
    CREODIAS_URL,
    MAIN_URL,
    USWEST_URL,
    Deployment,
    deployment_map,
    deployment_resume_data,
    resumed_deployment,
    route_collections,
    route_request,
)
from eoclient.sentinelhub.process_models import Bounds

BBOX = [13.8, 45.8, 14.5, 46.2]
LOCAL_MAIN = "http://127.0.0.1:9000"
LOCAL_USWEST = "http://127.0.0.1:9001"
LOCAL_CREODIAS = "http://127.0.0.1:9002"


def request(*types: Any) -> dict[str, Any]:
    return {
        "input": {"bounds": {"bbox": BBOX}, "data": [{"type": t} for t in types]},
        "evalscript": "//VERSION=3",
    }


def on_sentinelhub() -> Transport:
    return Transport(base_url=MAIN_URL, dialect=SENTINELHUB, deployments=deployment_map(MAIN_URL, None))


def local() -> Transport:
    """A client at a local main deployment that reaches local US-West and Creodias (as the emulator's)."""
    mapping = {MAIN_URL: LOCAL_MAIN, USWEST_URL: LOCAL_USWEST, CREODIAS_URL: LOCAL_CREODIAS}
    return Transport(
        base_url=LOCAL_MAIN, dialect=SENTINELHUB, deployments=deployment_map(LOCAL_MAIN, mapping)
    )


# -- where a client reaches each deployment ------------------------------------------------------


def test_a_client_on_sentinel_hub_reaches_its_deployments_at_their_public_urls() -> None:
    assert deployment_map(MAIN_URL + "/", None) == {u: u for u in (MAIN_URL, USWEST_URL, CREODIAS_URL)}
    assert deployment_map(USWEST_URL, None)[CREODIAS_URL] == CREODIAS_URL
    # elsewhere (Copernicus Data Space, a proxy, the emulator) only what it is given
    assert deployment_map("https://sh.dataspace.copernicus.eu", None) == {}
    assert deployment_map(LOCAL_MAIN, {USWEST_URL: LOCAL_USWEST + "/"}) == {USWEST_URL: LOCAL_USWEST}
    # routing=False: none (collections elsewhere are refused)
    assert deployment_map(MAIN_URL, {USWEST_URL: LOCAL_USWEST}, routing=False) == {}


@pytest.mark.parametrize("given", [{"ftp://x": LOCAL_USWEST}, {USWEST_URL: "not a url"}, [USWEST_URL]])
def test_bad_deployments_are_refused_naming_the_field(given: Any) -> None:
    with pytest.raises(ValidationError) as info:
        deployment_map(MAIN_URL, given)
    assert info.value.field == "deployments"
    with pytest.raises(ValidationError) as info:
        SentinelHub("id", "routing-unit-secret-9", base_url=MAIN_URL, deployments=given)
    assert info.value.field == "deployments"


# -- routing decisions -----------------------------------------------------------------------------


def test_collections_of_no_deployment_stay_on_base_url() -> None:
    assert route_request(request(DataCollection.SENTINEL2_L2A, DataCollection.DEM), on_sentinelhub()) is None
    assert route_request(request("sentinel-1-grd"), local()) is None
    assert route_request({"input": None}, local()) is None


def test_a_collection_of_another_deployment_goes_there() -> None:
    assert route_request(request(DataCollection.LANDSAT_OT_L2), on_sentinelhub()) == Deployment(
        USWEST_URL, USWEST_URL
    )
    olci = route_request(request(DataCollection.SENTINEL3_OLCI), local())
    assert olci == Deployment(CREODIAS_URL, LOCAL_CREODIAS)
    assert olci.path("/api/v1/process") == LOCAL_CREODIAS + "/api/v1/process"
    # a collection of any deployment goes along with one of a given deployment
    mixed = request(DataCollection.SENTINEL2_L2A, DataCollection.HARMONIZED_LANDSAT_SENTINEL)
    assert route_request(mixed, local()) == Deployment(USWEST_URL, LOCAL_USWEST)


def test_a_model_request_routes_by_its_attached_collection() -> None:
    model = ProcessRequest(
        input=ProcessInput(bounds=Bounds.from_bbox(BBOX), data=[InputData.of(DataCollection.LANDSAT_TM_L2)]),
        evalscript="//VERSION=3",
    )
    assert route_request(model, local()) == Deployment(USWEST_URL, LOCAL_USWEST)


def test_a_type_written_as_a_string_routes_by_the_built_in_catalogue() -> None:
    assert route_request(request("landsat-etm-l2"), local()) == Deployment(USWEST_URL, LOCAL_USWEST)
    # where the client does not reach that deployment it is sent as written
    alone = Transport(base_url=LOCAL_MAIN, dialect=SENTINELHUB)
    assert route_request(request("landsat-etm-l2"), alone) is None


def test_collections_of_two_deployments_in_one_request_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        route_request(request(DataCollection.LANDSAT_OT_L1, DataCollection.SENTINEL3_OLCI), local())
    assert info.value.field == "input.data[1].type"
    assert CREODIAS_URL in info.value.message and "LANDSAT_OT_L1" in info.value.message
    with pytest.raises(ValidationError) as info:
        route_request(request("modis", "sentinel-5p-l2"), local(), prefix="processRequest.")
    assert info.value.field == "processRequest.input.data[1].type"


def test_a_deployment_the_client_does_not_reach_is_refused() -> None:
    cdse = Transport(base_url="https://sh.dataspace.copernicus.eu", dialect=SENTINELHUB)
    with pytest.raises(ValidationError) as info:
        route_request(request(DataCollection.SENTINEL2_L2A, DataCollection.SENTINEL5P), cdse)
    assert info.value.field == "input.data[1].type"
    assert CREODIAS_URL in info.value.message and "deployments=" in info.value.message


def test_define_from_routes_to_its_service_url_when_reached() -> None:
    proxy = "https://sh-proxy.example.com"
    mine = DataCollection.SENTINEL3_SLSTR.define_from("SLSTR_VIA_PROXY", service_url=proxy)
    here = DataCollection.LANDSAT_OT_L2.define_from("LANDSAT_HERE", service_url=LOCAL_MAIN)
    reaching = Transport(
        base_url=LOCAL_MAIN, dialect=SENTINELHUB, deployments=deployment_map(LOCAL_MAIN, {proxy: proxy})
    )
    assert route_request(request(mine), reaching) == Deployment(proxy, proxy)
    assert route_request(request(here), reaching) is None  # the client's own deployment
    with pytest.raises(ValidationError):
        route_request(request(mine), local())


def test_catalog_calls_route_by_collection() -> None:
    assert route_collections(DataCollection.MODIS, local()) == Deployment(USWEST_URL, LOCAL_USWEST)
    assert route_collections(["sentinel-3-slstr"], local()) == Deployment(CREODIAS_URL, LOCAL_CREODIAS)
    assert route_collections("sentinel-2-l2a", local()) is None
    with pytest.raises(ValidationError) as info:
        route_collections([DataCollection.MODIS, DataCollection.SENTINEL3_OLCI], local())
    assert info.value.field == "collections[1]"


def test_resume_data_keeps_the_public_url_and_resolves_it_per_client() -> None:
    routed = route_request(request(DataCollection.LANDSAT_OT_L2), local())
    data = deployment_resume_data(routed)
    assert data == {"deployment": USWEST_URL}  # not the local URL: another client maps it its own way
    assert resumed_deployment(on_sentinelhub(), data) == Deployment(USWEST_URL, USWEST_URL)
    assert resumed_deployment(local(), {}) is None
    with pytest.raises(ValidationError) as info:
        resumed_deployment(Transport(base_url=LOCAL_MAIN, dialect=SENTINELHUB), data)
    assert info.value.field == "resume_token"


# -- the bearer goes to our deployments only -------------------------------------------------------------


def test_deployment_hosts_are_our_own_and_no_other() -> None:
    transport = local()
    assert transport.is_own_host(LOCAL_USWEST + "/api/v1/process")
    assert transport.is_own_host("/api/v1/process")
    assert transport.check_own_host(LOCAL_CREODIAS + "/x") == LOCAL_CREODIAS + "/x"
    assert not transport.is_own_host("http://127.0.0.1:9003/api/v1/process")
    with pytest.raises(ForeignHostError):
        transport.check_own_host("https://evil.example.com/api/v1/process")
    # public URLs mapped elsewhere are not ours: the bearer goes where the client was told
    assert not transport.is_own_host(USWEST_URL + "/api/v1/process")
    assert transport.deployment_url(USWEST_URL + "/") == LOCAL_USWEST
    assert transport.deployment_url("HTTP://127.0.0.1:9000") == LOCAL_MAIN
    assert transport.deployment_url("https://sh.dataspace.copernicus.eu") is None
