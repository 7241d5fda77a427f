"""Every JSON body the Batch clients send validates against the official OpenAPI document.

Two bodies need a correction of the document (a raster output without a Zarr
``group``, a GeoPackage input without ``bounds``): :mod:`tests.contract.errata`
says why, and :func:`~tests.contract.openapi.validate_request` applies it. The
legacy API's paths are not in the document, but its schemas are: legacy bodies
are checked against ``BatchProcessRequest`` and ``BatchProcessOutput``.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import msgspec
import pytest

from eoclient.emulator import Emulator
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.batch_models import (
    BatchInput,
    BatchOutput,
    BatchProcessOutput,
    BatchProcessRequest,
    BatchSpec,
    CogParameters,
    ZarrArrayParameters,
    ZarrGroup,
)
from eoclient.sentinelhub.data_collections import DataCollection
from eoclient.sentinelhub.process_models import Bounds, InputData, ProcessInput
from tests.contract import openapi
from tests.contract.openapi import require_spec, spec_path_for, validate_recorded, validate_request
from tests.integration.conftest import sh_client
from tests.integration.test_batch import EVALSCRIPT, ROLE, corsica

pytestmark = pytest.mark.eo_emulator(clock_speed=1000.0)

V2 = "/api/v2/batch/process"
LEGACY = "/api/v1/batch/process"


def validate_v2(method: str, path: str, body: bytes) -> None:
    validate_request(method, path, msgspec.json.decode(body))


def validate_component(name: str, instance: Any) -> None:
    openapi.validator_for({"$ref": f"#/components/schemas/{name}"}).validate(instance)


def spec_variants() -> list[Any]:
    aoi = ProcessInput(
        bounds=Bounds.from_geometry(
            {"type": "Polygon", "coordinates": [[[8.5, 41.4], [9.6, 41.4], [9.6, 43.0], [8.5, 41.4]]]},
            crs=4326,
        ),
        data=[
            InputData.of(
                DataCollection.SENTINEL2_L2A, time_range=("2019-04-01", "2019-06-30"), max_cloud_coverage=70
            )
        ],
    )
    raster = BatchSpec(
        process_request=BatchProcessRequest(
            input=aoi,
            output=BatchProcessOutput.of("default", "image/tiff", "userdata", "application/json"),
            evalscript=EVALSCRIPT,
        ),
        input=BatchInput.tiling_grid(0, 60.0, buffer_x=5, buffer_y=5),
        output=BatchOutput.raster(
            "s3://my-bucket/<requestId>/<tileName>/<outputId>.<format>",
            iam_role_arn=ROLE,
            skip_existing=True,
        ),
        description="models, two outputs",
    )
    cog = msgspec.structs.replace(
        raster,
        process_request=BatchProcessRequest(
            input=aoi, output=BatchProcessOutput.of("default", "image/tiff"), evalscript=EVALSCRIPT
        ),
        output=BatchOutput.raster(
            "s3://my-bucket/cog",
            iam_role_arn=ROLE,
            cog_output=True,
            cog_parameters=CogParameters(resampling_algorithm="average", blockxsize=512, blockysize=512),
        ),
    )
    zarr = BatchSpec(
        process_request=BatchProcessRequest(
            input=aoi,
            output=BatchProcessOutput.of("maxNDVI", "zarr/array", "band04", "zarr/array"),
            evalscript=EVALSCRIPT,
        ),
        input=BatchInput.tiling_grid(6, 100.0),
        output=BatchOutput.zarr(
            "s3://my-bucket/<requestId>",
            iam_role_arn=ROLE,
            group=ZarrGroup(),
            array_parameters=ZarrArrayParameters(
                dtype="<u2", order="C", chunks=[1, 1000, 1000], fill_value=0
            ),
            array_overrides={
                "maxNDVI": ZarrArrayParameters(
                    dtype="<f4", order="C", chunks=[1, 1000, 1000], fill_value=-1.0
                )
            },
        ),
        description="zarr",
    )
    geopackage = {
        **corsica("geopackage"),
        "input": {
            "type": "geopackage",
            "features": {"s3": {"url": "s3://my-bucket/features.gpkg", "iamRoleARN": ROLE}},
            "defaults": {"resolution": 10.0},
        },
    }
    geopackage["processRequest"] = {
        **geopackage["processRequest"],
        "input": {"data": geopackage["processRequest"]["input"]["data"]},
    }
    return [corsica(), raster, cog, zarr, geopackage]


async def test_v2_request_bodies_match_the_openapi(eo_emulator: Emulator) -> None:
    require_spec()
    async with sh_client(eo_emulator) as sh:
        created = [await sh.batch.create(spec) for spec in spec_variants()]
        await sh.batch.update(created[0].id, description="renamed")
        job = await sh.batch.run(corsica("through a job"))
        await job
        await sh.batch.analyse(created[1].id)
        await sh.batch.stop(created[1].id)
        await sh.batch.requests(sort="status:desc").collect()

    checked = 0
    for record in eo_emulator.requests:
        if record.path.startswith(V2):
            spec_path_for(record.path)  # every URL is a path of the document
            if record.body is not None:
                validate_v2(record.method, record.path, record.body)
                checked += 1
    assert checked == 7  # six creates and one update


async def test_the_workarounds_are_narrow() -> None:
    require_spec()
    body = corsica()
    validate_v2("POST", V2, msgspec.json.encode(body))
    body["output"]["delivery"] = {"s3": {}}  # anything else wrong is still caught
    with pytest.raises(jsonschema.ValidationError):
        validate_v2("POST", V2, msgspec.json.encode(body))
    body = spec_variants()[-1]
    assert isinstance(body, dict)
    body["processRequest"]["input"] = {}  # data are still required
    with pytest.raises(jsonschema.ValidationError):
        validate_v2("POST", V2, msgspec.json.encode(body))


async def test_zarr_bodies_need_no_workaround(eo_emulator: Emulator) -> None:
    require_spec()
    async with sh_client(eo_emulator) as sh:
        await sh.batch.create(spec_variants()[3])
    assert validate_recorded(eo_emulator.requests, path_prefix=V2) == 1


async def test_legacy_request_bodies_match_the_openapi_schemas(eo_emulator: Emulator) -> None:
    require_spec()
    async with sh_client(eo_emulator) as sh:
        await _legacy_calls(sh)
    checked = 0
    for record in eo_emulator.requests:
        if not record.path.startswith(LEGACY) or record.body is None:
            continue
        instance = msgspec.json.decode(record.body)
        if record.method == "POST":
            validate_component("BatchProcessRequest", instance)
        else:
            assert set(instance) <= {"output", "description"}
            validate_component("BatchProcessOutput", instance["output"])
        checked += 1
    assert checked == 3


async def _legacy_calls(sh: SentinelHub) -> None:
    base = {"processRequest": corsica()["processRequest"], "description": "legacy"}
    bodies = [
        {**base, "tilingGrid": {"id": 0, "resolution": 60.0}, "bucketName": "my-bucket"},
        {
            **base,
            "tilingGrid": {"id": 1, "resolution": 10.0, "bufferX": 2, "bufferY": 2},
            "output": {"defaultTilePath": "s3://my-bucket/<tileName>/<outputId>.<format>", "overwrite": True},
        },
    ]
    created = [await sh.batch.v1.create(body) for body in bodies]
    await sh.batch.v1.update(created[1].id, output={"defaultTilePath": "s3://my-bucket/v2"}, description="x")
