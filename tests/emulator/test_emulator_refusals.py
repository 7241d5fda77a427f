"""The emulator refuses what the real services refuse, each answer checked for the service's own shape.

User tests that pass against the emulator must not fail against the live
service for the same input: an unknown query parameter, an unknown or
missing body field, an unknown collection, a bbox outside its CRS's range,
an unknown output format or sample type are refused here as there.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

from eoclient.emulator import SENTINELHUB, SPACEKNOW, Emulator, EmulatorState, build_app
from eoclient.emulator.core.auth import CONTROL_PREFIX, is_auth_path
from eoclient.emulator.core.routing import Contract, contract_of
from eoclient.emulator.core.tokens import S3 as OBJECT_STORE
from eoclient.emulator.core.tokens import Service
from eoclient.emulator.sentinelhub.catalog import BASE_PATH as CATALOG
from eoclient.emulator.server import build_s3_app
from tests.contract.openapi import LIVE_PREFIXES, SPEC_PATH, require_spec

EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: ["B04", "dataMask"], output: {id: "default", bands: 1, sampleType: "UINT8"}};
}
function evaluatePixel(s) { return [s.B04]; }
"""
BBOX = [13.8, 45.8, 14.5, 46.2]
S3 = {"s3": {"url": "s3://my-bucket/out", "accessKey": "AKIAREFUSALS", "secretAccessKey": "refusals-secret"}}
UUID = "3c3b5d6e-1f0a-4b8e-9a4e-2b1d0c9e8f7a"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- the three error shapes --------------------------------------------------------------------


def sh_refusal(body: Any, parameter: str) -> dict[str, Any]:
    """Sentinel Hub's ``{"error": {status, reason, message, code[, errors]}}`` naming ``parameter``."""
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert (
        {"status", "reason", "message", "code"}
        <= set(error)
        <= {"status", "reason", "message", "code", "errors"}
    )
    assert error["status"] == 400 and error["reason"] == "Bad Request"
    assert isinstance(error["code"], str) and error["code"].isupper()
    assert parameter in error["message"], (parameter, error)
    if "errors" in error:
        assert all(set(e) == {"parameter", "invalidValue", "violation"} for e in error["errors"])
    assert isinstance(error, dict)
    return error


def sk_refusal(body: Any, field: str) -> str:
    """SpaceKnow's ``{"error": "BAD-REQUEST", "errorMessage"}`` naming ``field`` first."""
    assert isinstance(body, dict) and set(body) == {"error", "errorMessage"}, body
    assert body["error"] == "BAD-REQUEST"
    message = body["errorMessage"]
    assert isinstance(message, str) and message.startswith(f"{field}: "), (field, message)
    return message


def stac_refusal(body: Any, parameter: str) -> None:
    """The Catalog's STAC exception ``{"code", "description"}``."""
    assert isinstance(body, dict) and set(body) == {"code", "description"}, body
    assert body["code"] == "InvalidParameterValue"
    assert parameter in body["description"]


# -- every route declares what it accepts, and the Sentinel Hub ones as the OpenAPI document does --


def _service_routes(service: Service) -> Iterator[tuple[web.Application, Any, str]]:
    state = EmulatorState.create()
    app = build_s3_app(state) if service == OBJECT_STORE else build_app(service, state)
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith(CONTROL_PREFIX) or is_auth_path(service, path):
            continue
        yield app, route, path


@pytest.mark.parametrize("service", [SENTINELHUB, SPACEKNOW, OBJECT_STORE])
def test_every_route_declares_its_contract(service: Service) -> None:
    routes = list(_service_routes(service))
    undeclared = [f"{route.method} {path}" for app, route, path in routes if contract_of(app, route) is None]
    assert routes and undeclared == []


# Where the emulator's declaration differs from the document, and why (one place, with reasons).
DOCUMENT_EXCEPTIONS: dict[tuple[str, str], tuple[set[str], set[str], str]] = {
    # (method, spec template): (extra allowed, required the route leaves to its handler, reason)
    ("GET", "/catalog/v1/collections"): (
        {"next"},
        set(),
        "the page token of the `next` links the emulator answers with",
    ),
    ("GET", "/catalog/v1/collections/{}/items"): (
        {"next"},
        set(),
        "the page token of the `next` links (the document's own example links carry `next=1`)",
    ),
    ("GET", "/catalog/v1/search"): (
        {"next"},
        {"collections", "datetime"},
        "`next` as for items; the search itself checks collections and datetime (STAC errors)",
    ),
}


def _spec_operations() -> dict[tuple[str, str], tuple[set[str], set[str]]]:
    """``(METHOD, template with {} params) -> (query parameters, required ones)`` of the document."""
    with SPEC_PATH.open("rb") as fh:
        spec = yaml.safe_load(fh)
    shared = spec["components"].get("parameters", {})

    def resolve(param: dict[str, Any]) -> dict[str, Any]:
        ref = param.get("$ref")
        return shared[ref.rsplit("/", 1)[-1]] if ref else param

    out = {}
    for path, item in spec["paths"].items():
        common = [resolve(p) for p in item.get("parameters", [])]
        for method, operation in item.items():
            if method == "parameters":
                continue
            params = common + [resolve(p) for p in operation.get("parameters", [])]
            query = {p["name"] for p in params if p["in"] == "query"}
            required = {p["name"] for p in params if p["in"] == "query" and p.get("required")}
            out[(method.upper(), re.sub(r"\{[^}]*\}", "{}", path))] = (query, required)
    return out


def _spec_template(live: str) -> str | None:
    for live_prefix, spec_prefix in LIVE_PREFIXES:
        if live == live_prefix or live.startswith(live_prefix + "/"):
            path = (spec_prefix + live[len(live_prefix) :]).rstrip("/")
            return re.sub(r"\{[^}]*\}", "{}", path)
    return None


def test_query_declarations_are_the_openapi_documents() -> None:
    require_spec()
    operations = _spec_operations()
    checked = 0
    for app, route, path in _service_routes(SENTINELHUB):
        template = _spec_template(path)
        if template is None or (route.method, template) not in operations:
            assert route.method == "HEAD" or template is None, f"{route.method} {path} is not in the document"
            continue  # the legacy batch API, sample jobs, GET's automatic HEAD
        contract = contract_of(app, route)
        assert isinstance(contract, Contract)
        query, required = operations[(route.method, template)]
        extra, left_to_handler, _reason = DOCUMENT_EXCEPTIONS.get(
            (route.method, template), (set(), set(), "")
        )
        assert set(contract.query) == query | extra, (route.method, path)
        assert set(contract.required_query) == required - left_to_handler, (route.method, path)
        checked += 1
    assert checked >= 35


# -- unknown query parameters ------------------------------------------------------------------

SH_QUERY_CASES = [
    ("POST", "/api/v1/process", {"x": "1"}, "x"),
    ("POST", "/api/v1/statistics", {"format": "json"}, "format"),
    ("POST", "/api/v1/async/process", {"x": "1"}, "x"),
    ("GET", f"/api/v1/async/process/{UUID}", {"expand": "1"}, "expand"),
    ("GET", "/api/v2/batch/process", {"search": "corsica"}, "search"),  # v2 lists count, viewtoken, sort only
    ("GET", "/api/v2/batch/process", {"limit": "5"}, "limit"),
    ("POST", f"/api/v2/batch/process/{UUID}/start", {"force": "true"}, "force"),
    ("GET", "/api/v2/batch/tilinggrids", {"sort": "id"}, "sort"),
    ("GET", "/api/v1/statistics/batch", {"search": "x"}, "search"),
    ("GET", "/api/v1/byoc/collections", {"sort": "created:asc"}, "sort"),
    ("GET", f"/api/v1/byoc/collections/{UUID}/tiles", {"search": "x"}, "search"),
    ("POST", f"/api/v1/byoc/collections/{UUID}/copyTiles", {"toCollection": UUID, "x": "1"}, "x"),
    ("GET", "/api/v1/batch/process", {"limit": "5"}, "limit"),  # the legacy API, as its reference lists
    ("GET", "/_sample/jobs/abc/results", {"page": "2"}, "page"),
]


@pytest.mark.parametrize(("method", "path", "query", "parameter"), SH_QUERY_CASES)
async def test_unknown_query_parameter_is_a_sentinel_hub_400(
    http: aiohttp.ClientSession,
    eo_emulator: Emulator,
    sh_token: str,
    method: str,
    path: str,
    query: dict[str, str],
    parameter: str,
) -> None:
    url = eo_emulator.sentinelhub_url + path
    async with http.request(method, url, params=query, headers=auth(sh_token), json={}) as resp:
        assert resp.status == 400
        error = sh_refusal(await resp.json(), parameter)
    assert error["code"] == "COMMON_BAD_PAYLOAD"
    assert error["errors"][0]["parameter"] == parameter and "unknown query parameter" in error["message"]


async def test_a_required_query_parameter_is_required(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str, sk_token: str
) -> None:
    url = f"{eo_emulator.sentinelhub_url}/api/v1/byoc/collections/{UUID}/copyTiles"
    async with http.post(url, headers=auth(sh_token)) as resp:
        assert resp.status == 400
        sh_refusal(await resp.json(), "toCollection")
    url = f"{eo_emulator.spaceknow_url}/imagery/ingest-scene"
    async with http.post(url, headers=auth(sk_token), data=b"scene bytes" * 1000) as resp:
        assert resp.status == 400
        sk_refusal(await resp.json(), "provider")


@pytest.mark.parametrize(
    ("method", "path", "query", "parameter"),
    [
        ("GET", "/collections", {"limit": "2"}, "limit"),  # the document lists no parameter here
        ("GET", "/", {"f": "json"}, "f"),
        ("GET", "/collections/sentinel-2-l2a/items", {"filter": "eo:cloud_cover < 5"}, "filter"),
        ("GET", "/collections/sentinel-2-l2a/items", {"sortby": "datetime"}, "sortby"),
        (
            "GET",
            "/search",
            {
                "collections": "sentinel-2-l2a",
                "datetime": "2020-01-01T00:00:00Z/..",
                "filter-lang": "cql2-text",
            },
            "filter-lang",
        ),
        ("POST", "/search", {"limit": "5"}, "limit"),
    ],
)
async def test_unknown_catalog_query_parameter_is_a_stac_400(
    http: aiohttp.ClientSession,
    eo_emulator: Emulator,
    sh_token: str,
    method: str,
    path: str,
    query: dict[str, str],
    parameter: str,
) -> None:
    body = (
        {"collections": ["sentinel-2-l2a"], "datetime": "2020-01-01T00:00:00Z/.."}
        if method == "POST"
        else None
    )
    url = eo_emulator.sentinelhub_url + CATALOG + path
    async with http.request(method, url, params=query, headers=auth(sh_token), json=body) as resp:
        assert resp.status == 400
        stac_refusal(await resp.json(), parameter)


async def test_documented_query_parameters_are_accepted(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str
) -> None:
    base = eo_emulator.sentinelhub_url
    for path, query in [
        ("/api/v2/batch/process", {"count": "2", "sort": "created:desc"}),
        ("/api/v2/batch/tilinggrids", {"count": "1"}),
        ("/api/v1/byoc/collections", {"count": "5", "search": "x"}),
        (f"{CATALOG}/collections/sentinel-2-l2a/items", {"limit": "2", "bbox": "13,45,14,46"}),
        (
            f"{CATALOG}/search",
            {"collections": "sentinel-2-l2a", "datetime": "2020-06-01T00:00:00Z/..", "limit": "1"},
        ),
    ]:
        async with http.get(base + path, params=query, headers=auth(sh_token)) as resp:
            assert resp.status == 200, (path, await resp.text())


async def test_unknown_query_parameter_is_a_spaceknow_400(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sk_token: str
) -> None:
    base = eo_emulator.spaceknow_url
    async with http.post(
        f"{base}/user/info", params={"userId": "x"}, headers=auth(sk_token), json={}
    ) as resp:
        assert resp.status == 400
        sk_refusal(await resp.json(), "userId")  # a body field, not a query parameter
    grid = f"{base}/kraken/grid/map/-/19/1/2/truecolor.png"
    async with http.get(grid, params={"threshold": "0.5"}, headers=auth(sk_token)) as resp:
        assert resp.status == 400
        assert "user_threshold" in sk_refusal(await resp.json(), "threshold")  # says what it takes


# -- SpaceKnow body fields, as the reference lists them ------------------------------------------

# The reference's fields for each SpaceKnow POST: (required, optional), from its tables and examples.
SK_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    "/credits/check-area": ({"sceneIds", "geojson"}, {"userId", "creditsTier", "costFreeAllocation"}),
    "/credits/list-group-transactions": (set(), {"groupId", "cursor"}),
    "/credits/list-group-allocations": (set(), {"groupId", "cursor"}),
    "/credits/set-user-credit-limit": ({"userId"}, {"creditLimit"}),
    "/credits/user-info": (set(), {"userId"}),
    "/datacube/aois/list": (set(), set()),
    "/datacube/catalogue/get": (set(), {"version", "project", "source", "algorithm", "aoiName", "aoiLabel"}),
    "/datacube/datapoints/get": (
        {"filters"},
        {
            "aggregator",
            "showAoiPositions",
            "showAoiTags",
            "postprocessType",
            "resample",
            "columns",
            "keepDuplicates",
            "keepAllVersions",
        },
    ),
    "/datacube/products/list": (set(), {"productId", "downloadableOnly"}),
    "/datacube/products/get-csv": ({"productId"}, {"pitDt", "csvFormat"}),
    "/datacube/products/get-data-dictionary": ({"productId"}, set()),
    "/kraken/release/initiate": ({"mapTypes", "extent", "sceneIds"}, {"subGeometry", "onlyIngested"}),
    "/kraken/dry-run/initiate": ({"dryRuns", "extent"}, {"allocate", "ignoreCache", "onlyIngested"}),
    "/kraken/pairs/initiate": (
        {"sceneIds", "extent"},
        {
            "minIntersection",
            "pairingType",
            "periodicity",
            "minDayDelta",
            "maxDayDelta",
            "onlyTopOrbitNumber",
            "maxYoyDelta",
        },
    ),
    "/kraken/nwise/initiate": ({"groupingType", "sceneIds", "extent"}, {"minScenes"}),
    "/kraken/algorithms": (set(), set()),
    "/imagery/search/initiate": (
        {"datasets"},
        {
            "extent",
            "startDatetime",
            "endDatetime",
            "cursor",
            "minIntersection",
            "forceRefresh",
            "onlyDownloadable",
            "onlyIngested",
            "sceneCoverage",
        },
    ),
    "/imagery/get-image/initiate": ({"sceneId", "extent"}, {"resolution", "exportRaster"}),
    "/imagery/scene-info": ({"sceneId"}, {"tiles", "forceOffline"}),
    "/imagery/providers": (set(), set()),
    "/tasking/get-status": ({"pipelineId"}, {"getProgress"}),
    "/user/info": (set(), {"userId"}),
    "/user/guardian-user/create": ({"email", "password", "name"}, set()),
    "/user/guardian-user/delete": ({"email"}, set()),
}
SK_FIELDS["/datacube/datapoints/get/initiate"] = SK_FIELDS["/datacube/datapoints/get"]  # "the same payload"
SK_FIELDS.update(
    {
        f"/{family}/retrieve": ({"pipelineId"}, set())
        for family in (
            "datacube/datapoints/get",
            "kraken/release",
            "kraken/dry-run",
            "kraken/pairs",
            "kraken/nwise",
            "imagery/search",
            "imagery/get-image",
        )
    }
)


def test_spaceknow_declarations_are_the_references_fields() -> None:
    declared: dict[str, tuple[set[str], set[str]]] = {}
    for app, route, path in _service_routes(SPACEKNOW):
        contract = contract_of(app, route)
        assert contract is not None
        if contract.fields is not None:
            required = set(contract.required_fields)
            declared[path] = (required, set(contract.fields) - required)
        else:  # the GET routes and the streamed ingest: no JSON body to check
            assert route.method == "GET" or path == "/imagery/ingest-scene", path
    assert declared == SK_FIELDS


@pytest.mark.parametrize("path", sorted(SK_FIELDS))
async def test_unknown_and_missing_spaceknow_fields_are_refused(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sk_token: str, path: str
) -> None:
    required, optional = SK_FIELDS[path]
    url = eo_emulator.spaceknow_url + path
    async with http.post(url, headers=auth(sk_token), json={"madeUpField": 1}) as resp:
        assert resp.status == 400
        message = sk_refusal(await resp.json(), "madeUpField")
    assert all(name in message for name in required | optional)
    async with http.post(url, headers=auth(sk_token), json={"x": 1}, params={"debug": "1"}) as resp:
        assert resp.status == 400
        sk_refusal(await resp.json(), "debug")  # POST endpoints take no query parameter
    for i, missing in enumerate(sorted(required)):
        body: dict[str, Any] = {name: "x" for name in required if name != missing}
        if i % 2:
            body[missing] = None  # null is missing too
        async with http.post(url, headers=auth(sk_token), json=body) as resp:
            assert resp.status == 400
            sk_refusal(await resp.json(), missing)


# -- Sentinel Hub bodies: unknown collections, bboxes outside the CRS, formats, sample types ------------


def process_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "input": {"bounds": {"bbox": BBOX}, "data": [{"type": "sentinel-2-l2a"}]},
        "evalscript": EVALSCRIPT,
        "output": {
            "width": 8,
            "height": 8,
            "responses": [{"identifier": "default", "format": {"type": "image/png"}}],
        },
    }
    for dotted, value in changes.items():
        put(body, dotted.split("__"), value)
    return body


def put(body: dict[str, Any], path: list[str], value: Any) -> None:
    target: Any = body
    for key in path[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    target[path[-1]] = value


def crs(code: str) -> dict[str, str]:
    return {"crs": f"http://www.opengis.net/def/crs/EPSG/0/{code}"}


REFUSED_PROCESS = [
    ({"input__data__0__type": "sentinel-2-l3a"}, "input->data[0]->type"),
    ({"input__data__0__type": "S2L2A"}, "input->data[0]->type"),
    ({"input__data__0__type": "byoc-my-collection"}, "input->data[0]->type"),
    ({"input__bounds__bbox": [13.8, 45.8, 14.5, 90.5]}, "input->bounds->bbox"),
    ({"input__bounds__bbox": [-180.5, 10.0, 14.5, 46.2]}, "input->bounds->bbox"),
    (
        {"input__bounds": {"bbox": [400000, 5000000, 1200000, 5100000], "properties": crs("32633")}},
        "input->bounds->bbox",
    ),
    (
        {"input__bounds": {"bbox": [400000, -10, 410000, 5000], "properties": crs("32633")}},
        "input->bounds->bbox",
    ),
    ({"input__bounds": {"bbox": [0, 0, 10, 20100000], "properties": crs("3857")}}, "input->bounds->bbox"),
    (
        {
            "input__bounds": {
                "geometry": {"type": "Polygon", "coordinates": [[[13, 45], [14, 95], [15, 45], [13, 45]]]}
            }
        },
        "input->bounds->geometry",
    ),
    ({"output__responses__0__format__type": "image/webp"}, "output->responses[0]->format->type"),
    ({"evalscript": EVALSCRIPT.replace('"UINT8"', '"UINT32"')}, "UINT32"),
    ({"evalscript": EVALSCRIPT.replace('"UINT8"', "SampleType.FLOAT64")}, "FLOAT64"),
]


@pytest.mark.parametrize(("changes", "parameter"), REFUSED_PROCESS)
async def test_process_refuses_what_the_service_refuses(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str, changes: dict[str, Any], parameter: str
) -> None:
    url = eo_emulator.sentinelhub_url + "/api/v1/process"
    async with http.post(url, headers=auth(sh_token), json=process_body(**changes)) as resp:
        assert resp.status == 400
        error = sh_refusal(await resp.json(), parameter)
    assert error["code"] in ("COMMON_BAD_PAYLOAD", "RENDERER_EXCEPTION")


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"input__data__0__type": f"byoc-{UUID}"},
        {"input__data__0__type": "sentinel-1-grd"},  # Sentinel-3: tests/emulator/test_emulator_deployments.py
        {"input__bounds": {"bbox": [400000, 5000000, 410000, 5010000], "properties": crs("32633")}},
        {"input__bounds": {"bbox": [400000, 9000000, 410000, 9010000], "properties": crs("32733")}},
        {"input__bounds": {"bbox": [1500000, 5700000, 1510000, 5710000], "properties": crs("3857")}},
        {"input__bounds__bbox": [-180, -90, 180, 90], "output__width": 4, "output__height": 2},
        {"evalscript": EVALSCRIPT.replace('"UINT8"', "SampleType.FLOAT32")},
    ],
)
async def test_process_accepts_what_the_service_accepts(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str, changes: dict[str, Any]
) -> None:
    url = eo_emulator.sentinelhub_url + "/api/v1/process"
    async with http.post(url, headers=auth(sh_token), json=process_body(**changes)) as resp:
        assert resp.status == 200, await resp.text()
        await resp.read()


# Good bodies of each Sentinel Hub create and the fields the OpenAPI document requires of them.
def _good_bodies() -> dict[str, dict[str, Any]]:
    data = [{"type": "sentinel-2-l2a"}]
    window = {"timeRange": {"from": "2020-06-01T00:00:00Z", "to": "2020-06-30T00:00:00Z"}}
    return {
        "/api/v1/process": process_body(),
        "/api/v1/statistics": {
            "input": {"bounds": {"bbox": BBOX}, "data": data},
            "aggregation": {
                **window,
                "aggregationInterval": {"of": "P10D"},
                "evalscript": EVALSCRIPT,
                "width": 8,
                "height": 8,
            },
        },
        "/api/v1/async/process": {
            "input": {"bounds": {"bbox": BBOX}, "data": data},
            "evalscript": EVALSCRIPT,
            "output": {"width": 8, "height": 8, "delivery": S3},
        },
        "/api/v2/batch/process": {
            "processRequest": {
                "input": {"bounds": {"bbox": BBOX}, "data": data},
                "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
                "evalscript": EVALSCRIPT,
            },
            "input": {"type": "tiling-grid", "id": 0, "resolution": 60.0},
            "output": {"type": "raster", "delivery": S3},
        },
        "/api/v1/statistics/batch": {
            "input": {"features": {"s3": {**S3["s3"], "url": "s3://my-bucket/f.gpkg"}}, "data": data},
            "aggregation": {
                **window,
                "aggregationInterval": {"of": "P10D"},
                "evalscript": EVALSCRIPT,
                "resx": 10,
                "resy": 10,
            },
            "output": S3,
        },
        "/api/v1/byoc/collections": {"name": "refusals", "s3Bucket": "my-bucket"},
    }


REQUIRED = [
    ("/api/v1/process", ["evalscript", "input", "input.bounds", "input.data"]),
    (
        "/api/v1/statistics",
        [
            "input",
            "aggregation",
            "input.bounds",
            "input.data",
            "aggregation.evalscript",
            "aggregation.timeRange",
            "aggregation.timeRange.from",
            "aggregation.timeRange.to",
            "aggregation.aggregationInterval",
            "aggregation.aggregationInterval.of",
        ],
    ),
    ("/api/v1/async/process", ["input", "output", "input.bounds", "input.data", "output.delivery"]),
    (
        "/api/v2/batch/process",
        [
            "input",
            "output",
            "processRequest",
            "processRequest.evalscript",
            "processRequest.input",
            "processRequest.output",
            "processRequest.input.bounds",
            "processRequest.input.data",
        ],
    ),
    (
        "/api/v1/statistics/batch",
        [
            "input",
            "aggregation",
            "output",
            "input.data",
            "input.features",
            "aggregation.timeRange",
            "aggregation.timeRange.from",
            "aggregation.timeRange.to",
            "aggregation.aggregationInterval",
            "aggregation.aggregationInterval.of",
        ],
    ),
    ("/api/v1/byoc/collections", ["name", "s3Bucket"]),
]


async def test_good_bodies_are_accepted(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str
) -> None:
    for path, body in _good_bodies().items():
        async with http.post(eo_emulator.sentinelhub_url + path, headers=auth(sh_token), json=body) as resp:
            assert resp.status in (200, 201), (path, await resp.text())
            await resp.read()


@pytest.mark.parametrize(
    ("path", "field"), [(path, field) for path, fields in REQUIRED for field in fields], ids=str
)
async def test_a_missing_required_field_is_refused(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str, path: str, field: str
) -> None:
    body = copy.deepcopy(_good_bodies()[path])
    *parents, last = field.split(".")
    target = body
    for key in parents:
        target = target[key]
    del target[last]
    async with http.post(eo_emulator.sentinelhub_url + path, headers=auth(sh_token), json=body) as resp:
        assert resp.status == 400, (path, field, await resp.text())
        sh_refusal(await resp.json(), field.replace(".", "->"))


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("/api/v1/statistics", "input.data", [{"type": "sentinel-9"}]),
        ("/api/v1/async/process", "input.bounds", {"bbox": [13.8, -91.0, 14.5, 46.2]}),
        ("/api/v2/batch/process", "processRequest.input.data", [{"type": "landsat-9-l1"}]),
        ("/api/v2/batch/process", "processRequest.evalscript", EVALSCRIPT.replace('"UINT8"', '"UINT12"')),
        ("/api/v1/statistics/batch", "input.data", [{"type": "byoc-"}]),
    ],
)
async def test_other_families_refuse_bad_collections_bboxes_and_sample_types(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str, path: str, field: str, value: Any
) -> None:
    body = copy.deepcopy(_good_bodies()[path])
    put(body, field.split("."), value)
    async with http.post(eo_emulator.sentinelhub_url + path, headers=auth(sh_token), json=body) as resp:
        assert resp.status == 400, await resp.text()
        text = str(value) if "evalscript" in field else field.replace(".", "->")
        sh_refusal(await resp.json(), "UINT12" if "evalscript" in field else text)


@pytest.mark.parametrize(
    "body",
    [
        {"bbox": [13.0, 45.0, 14.0, 95.0]},
        {"bbox": [-190.0, 45.0, 14.0, 46.0]},
        {"intersects": {"type": "Point", "coordinates": [13.0, -91.0]}},
    ],
    ids=["latitude", "longitude", "intersects"],
)
async def test_catalog_search_refuses_coordinates_outside_wgs84(eo_emulator, body) -> None:
    from tests.integration.conftest import sh_client

    async with sh_client(eo_emulator) as sh:
        resp = await sh.request(
            "POST",
            "/api/v1/catalog/1.0.0/search",
            json={"collections": ["sentinel-2-l2a"], "datetime": "2023-01-01T00:00:00Z/..", **body},
            ok={400: True},
        )
    assert resp.status == 400
    error = resp.json()
    assert error["code"] == "InvalidParameterValue" and "outside WGS84" in error["description"]


# -- page tokens the service did not hand out ---------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "query", "body"),
    [
        ("GET", "/collections", {"next": "abc"}, None),
        ("GET", "/collections/sentinel-2-l2a/items", {"next": "-1"}, None),
        ("POST", "/search", {}, {"next": True}),
        ("POST", "/search", {}, {"next": "2.5"}),
    ],
)
async def test_a_catalog_next_token_it_did_not_give_is_refused_in_its_words(
    http: aiohttp.ClientSession,
    eo_emulator: Emulator,
    sh_token: str,
    method: str,
    path: str,
    query: dict[str, str],
    body: dict[str, Any] | None,
) -> None:
    if body is not None:
        body = {"collections": ["sentinel-2-l2a"], "datetime": "2020-01-01T00:00:00Z/..", **body}
    url = eo_emulator.sentinelhub_url + CATALOG + path
    async with http.request(method, url, params=query, headers=auth(sh_token), json=body) as resp:
        assert resp.status == 400
        assert await resp.json() == {
            "code": "InvalidParameterValue",
            "description": "next must be the token of a previous page",
        }


@pytest.mark.parametrize("cursor", ["not base64!", "LTE=", 7])
async def test_a_credits_cursor_it_did_not_give_is_refused_in_its_words(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sk_token: str, cursor: Any
) -> None:
    url = eo_emulator.spaceknow_url + "/credits/list-group-transactions"
    async with http.post(url, headers=auth(sk_token), json={"cursor": cursor}) as resp:
        assert resp.status == 400
        assert await resp.json() == {
            "error": "INVALID-CURSOR",
            "errorMessage": "the cursor is not one this service gave",
        }


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"", "a JSON body is required"),
        (b"{not json", "the request body must be JSON"),
        (b"[1, 2]", "the request body must be a JSON object"),
    ],
    ids=["missing", "not-json", "not-an-object"],
)
async def test_catalog_search_body_is_read_by_the_one_reader_and_refused_as_stac(
    http: aiohttp.ClientSession, eo_emulator: Emulator, sh_token: str, data: bytes, text: str
) -> None:
    url = eo_emulator.sentinelhub_url + CATALOG + "/search"
    headers = {**auth(sh_token), "Content-Type": "application/json"}
    async with http.post(url, data=data, headers=headers) as resp:
        assert resp.status == 400
        assert await resp.json() == {"code": "InvalidParameterValue", "description": text}
