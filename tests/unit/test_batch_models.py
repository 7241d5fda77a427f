"""Batch request checks, status mapping and resume tokens, without a server."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
import pytest

from eoclient.errors import ValidationError
from eoclient.jobs import Job, JobState, resume_job
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.batch_jobs import LEGACY, V2, BatchJobStrategy, batch_job_status, request_id
from eoclient.sentinelhub.batch_models import (
    BatchInput,
    BatchOutput,
    BatchRequest,
    GeoPackageDefaults,
    prepare_batch_spec,
)
from eoclient.sentinelhub.batch_v1_models import (
    BatchV1Request,
    prepare_batch_v1_spec,
    prepare_batch_v1_update,
)
from eoclient.sentinelhub.data_collections import DataCollection

UID = "497f6eca-6276-4993-bfeb-53cbbbba6f08"


def offline_sh() -> SentinelHub:
    """A Sentinel Hub client that is never opened (a resume token needs a client of its service)."""
    return SentinelHub(
        "offline-id",
        "offline-secret-5d1c9e",
        base_url="http://127.0.0.1:9",
        token_url="http://127.0.0.1:9/token",
    )


ROLE = "arn:aws:iam::123456789012:role/sh"


def spec(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "processRequest": {
            "input": {"bounds": {"bbox": [8.44, 41.31, 9.66, 43.1]}, "data": [{"type": "sentinel-2-l2a"}]},
            "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
            "evalscript": "//VERSION=3 ...",
        },
        "input": {"type": "tiling-grid", "id": 0, "resolution": 60.0},
        "output": {"type": "raster", "delivery": {"s3": {"url": "s3://bucket", "iamRoleARN": ROLE}}},
    }
    body.update(changes)
    return body


def record(status: str, **fields: Any) -> BatchRequest:
    return BatchRequest(id=UID, status=status, **fields)


# -- status mapping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "fields", "state"),
    [
        ("CREATED", {}, JobState.PENDING),
        ("ANALYSING", {}, JobState.RUNNING),
        ("ANALYSIS_DONE", {}, JobState.RUNNING),
        ("PROCESSING", {"completion_percentage": 42.0}, JobState.RUNNING),
        ("DONE", {}, JobState.SUCCEEDED),
        ("DONE", {"error": "3 of 12 tiles failed"}, JobState.SUCCEEDED),
        ("PARTIAL", {}, JobState.SUCCEEDED),
        ("FAILED", {"error": "boom"}, JobState.FAILED),
        ("STOPPED", {"stopped_status_reason": "USER_ACTION"}, JobState.CANCELLED),
        ("STOPPED", {"stopped_status_reason": "OUT_OF_PU"}, JobState.FAILED),
        ("STOPPED", {"stopped_status_reason": "UNHEALTHY"}, JobState.FAILED),
        ("CANCELED", {}, JobState.CANCELLED),
        ("SOMETHING_NEW", {}, JobState.RUNNING),
    ],
)
def test_status_mapping(status: str, fields: dict[str, Any], state: JobState) -> None:
    rec = record(status, **fields)
    mapped = batch_job_status(rec, stopped_reason=rec.stopped_status_reason)
    assert mapped.state is state and mapped.raw == status


def test_progress_and_texts() -> None:
    assert batch_job_status(record("PROCESSING", completion_percentage=42.0)).progress == 0.42
    assert batch_job_status(record("DONE")).progress == 1.0
    failed = batch_job_status(record("FAILED", error="evalscript exploded"))
    assert failed.error == "evalscript exploded"
    assert batch_job_status(record("FAILED")).error == "the batch request failed"
    out_of_pu = batch_job_status(record("STOPPED"), stopped_reason="OUT_OF_PU")
    assert out_of_pu.error is not None and "OUT_OF_PU" in out_of_pu.error
    partial = batch_job_status(record("DONE", error="3 of 12 tiles failed"))
    assert partial.message is not None and "3 of 12" in partial.message and partial.error is None
    strict = batch_job_status(record("DONE", error="3 of 12 tiles failed"), allow_partial=False)
    assert strict.state is JobState.FAILED and strict.error is not None and "3 of 12" in strict.error


def test_analysis_goal_ends_once_analysed() -> None:
    for status in ("ANALYSIS_DONE", "PROCESSING", "DONE"):
        assert batch_job_status(record(status), until="analysis").state is JobState.SUCCEEDED
    assert batch_job_status(record("ANALYSING"), until="analysis").state is JobState.RUNNING
    assert batch_job_status(record("FAILED"), until="analysis").state is JobState.FAILED


def test_partial_flags() -> None:
    assert record("DONE", error="x").partial and not record("DONE").partial
    assert BatchV1Request(id=UID, status="PARTIAL").partial
    assert BatchV1Request(id=UID, status="PARTIAL").progress == 1.0
    assert BatchV1Request(id=UID, status="PROCESSING").progress is None


# -- ids and resume tokens -----------------------------------------------------------------


def test_request_ids() -> None:
    assert request_id(UID.upper()) == UID
    assert request_id(f" {UID}\n") == UID
    assert request_id(UID) == UID
    assert request_id(UID.replace("-", "")) == UID  # the 32 hex digits alone
    assert request_id(record("DONE")) == UID
    for bad in ("nope", 3, None, UID[:-1] + "g"):
        with pytest.raises(ValidationError):
            request_id(bad)


@pytest.mark.parametrize("surface", [V2, LEGACY])
def test_resume_token_keeps_the_settings(surface: Any) -> None:
    ctx: Any = object()  # nothing is sent
    strategy: BatchJobStrategy[Any] = BatchJobStrategy(
        ctx, surface, UID, start=True, until="done", allow_partial=False
    )
    token = Job(strategy).resume_token
    resumed = resume_job(token, offline_sh())
    again = resumed.strategy
    assert isinstance(again, BatchJobStrategy)
    assert (again.surface, again.job_id, again.start, again.allow_partial) == (surface, UID, True, False)
    assert msgspec.json.decode(token)["data"] == {"start": True, "until": "done", "allowPartial": False}


def test_a_resumed_strategy_holds_the_clients_context() -> None:
    token = Job(BatchJobStrategy(object(), V2, UID)).resume_token  # type: ignore[arg-type]
    sh = offline_sh()
    for resumed in (resume_job(token, sh), sh.resume_job(token), resume_job(token, sh.context)):
        assert resumed.strategy._ctx is sh.context  # type: ignore[attr-defined]


def test_resume_token_with_a_bad_goal_is_refused() -> None:
    token = msgspec.json.encode({"v": 1, "kind": V2.kind, "id": UID, "data": {"until": "forever"}})
    with pytest.raises(ValidationError):
        resume_job(token, offline_sh())


# -- v2 request checks ---------------------------------------------------------------------


def test_dict_keeps_unknown_keys_and_collections_become_types() -> None:
    body = spec(description="d", futureOption={"a": 1})
    body["processRequest"]["input"]["data"] = [{"type": DataCollection.SENTINEL2_L2A, "extra": True}]
    model, wire = prepare_batch_spec(body)
    assert wire["futureOption"] == {"a": 1}
    assert wire["processRequest"]["input"]["data"][0]["type"] == "sentinel-2-l2a"
    assert wire["processRequest"]["input"]["data"][0]["extra"] is True
    assert model.input is not None and model.input.id == 0
    assert body["processRequest"]["input"]["data"][0]["type"] is DataCollection.SENTINEL2_L2A  # untouched


def test_wire_names() -> None:
    _, wire = prepare_batch_spec(
        spec(
            input=BatchInput.tiling_grid(0, 60.0, buffer_x=3, buffer_y=4),
            output=BatchOutput.raster("s3://b/x", iam_role_arn=ROLE, skip_existing=True, cog_output=True),
        )
    )
    assert wire["input"] == {"type": "tiling-grid", "id": 0, "resolution": 60.0, "bufferX": 3, "bufferY": 4}
    assert wire["output"]["delivery"] == {"s3": {"url": "s3://b/x", "iamRoleARN": ROLE}}
    assert wire["output"]["skipExisting"] is True and wire["output"]["cogOutput"] is True


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"input": {"type": "tiling-grid", "id": "zero", "resolution": 60}}, "input.id"),
        ({"input": {"type": "tiling-grid", "id": 0}}, "input.resolution"),
        ({"input": {"type": "geopackage"}}, "input.features"),
        (
            {
                "input": {
                    "type": "geopackage",
                    "features": {"s3": {"url": "s3://b/f.gpkg"}},
                    "defaults": {"width": 10, "resolution": 5.0},
                }
            },
            "input.defaults",
        ),
        (
            {
                "input": {
                    "type": "geopackage",
                    "features": {"s3": {"url": "s3://b/f.gpkg"}},
                    "defaults": {"width": 4000},
                }
            },
            "input.defaults.width",
        ),
        ({"output": {"type": "raster"}}, "output.delivery"),
        (
            {"output": {"type": "raster", "delivery": {"s3": {"url": "s3://b"}, "gs": {"url": "gs://b"}}}},
            "output.delivery",
        ),
        (
            {"output": {"type": "raster", "delivery": {"s3": {"url": "s3://b", "iamRoleARN": "role"}}}},
            "output.delivery.s3.iamRoleARN",
        ),
        (
            {
                "output": {
                    "type": "raster",
                    "delivery": {"s3": {"url": "s3://b"}},
                    "createCollection": True,
                    "collectionId": UID,
                    "cogOutput": True,
                }
            },
            "output.collectionId",
        ),
        (
            {
                "output": {
                    "type": "raster",
                    "delivery": {"s3": {"url": "s3://b"}},
                    "cogOutput": True,
                    "cogParameters": {"resamplingAlgorithm": "bilinear"},
                }
            },
            "output.cogParameters.resamplingAlgorithm",
        ),
        (
            {"output": {"type": "zarr", "delivery": {"s3": {"url": "s3://b/<tileName>"}}}},
            "processRequest.output.responses[0].format.type",
        ),
    ],
)
def test_v2_checks_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        prepare_batch_spec(spec(**changes))
    assert info.value.field == field


def test_several_outputs_need_output_id_in_a_template() -> None:
    body = spec()
    body["processRequest"]["output"]["responses"].append(
        {"identifier": "userdata", "format": {"type": "application/json"}}
    )
    body["output"]["delivery"]["s3"]["url"] = "s3://b/<tileName>.tif"
    with pytest.raises(ValidationError, match="outputId") as info:
        prepare_batch_spec(body)
    assert info.value.field == "output.delivery.s3.url"
    body["output"]["delivery"]["s3"]["url"] = "s3://b/<tileName>/<outputId>.<format>"
    prepare_batch_spec(body)
    body["output"]["delivery"]["s3"]["url"] = "s3://b/plain/prefix"
    prepare_batch_spec(body)


def test_zarr_checks() -> None:
    body = spec()
    body["processRequest"]["output"]["responses"] = [
        {"identifier": "ndvi", "format": {"type": "zarr/array"}},
        {"identifier": "b04", "format": {"type": "zarr/array"}},
    ]
    params = {"dtype": "<u2", "order": "C", "chunks": [1, 1000, 1000], "fill_value": 0}
    zarr = {"type": "zarr", "delivery": {"s3": {"url": "s3://b/<requestId>"}}, "group": {"zarr_format": 2}}
    prepare_batch_spec(
        spec(processRequest=body["processRequest"], output={**zarr, "arrayParameters": params})
    )
    only_overrides = {**zarr, "arrayOverrides": {"ndvi": params, "b04": {**params, "dtype": "<f4"}}}
    prepare_batch_spec(spec(processRequest=body["processRequest"], output=only_overrides))
    cases = [
        ({**zarr, "group": {"zarr_format": 3}, "arrayParameters": params}, "output.group.zarr_format"),
        ({**zarr, "arrayParameters": {**params, "order": "F"}}, "output.arrayParameters.order"),
        ({**zarr, "arrayParameters": {**params, "chunks": [1, 10]}}, "output.arrayParameters.chunks"),
        ({**zarr, "arrayOverrides": {"ndvi": params}}, "output.arrayParameters"),
        (
            {**zarr, "arrayParameters": params, "arrayOverrides": {"nope": params}},
            "output.arrayOverrides.nope",
        ),
        (
            {**zarr, "delivery": {"s3": {"url": "s3://b/<tileName>"}}, "arrayParameters": params},
            "output.delivery.s3.url",
        ),
    ]
    for output, field in cases:
        with pytest.raises(ValidationError) as info:
            prepare_batch_spec(spec(processRequest=copy.deepcopy(body["processRequest"]), output=output))
        assert info.value.field == field, output


def test_geopackage_needs_no_bounds() -> None:
    body = spec(
        input=BatchInput.geopackage("s3://b/f.gpkg", iam_role_arn=ROLE, defaults={"resolution": 10.0})
    )
    del body["processRequest"]["input"]["bounds"]
    model, wire = prepare_batch_spec(body)
    assert wire["input"]["defaults"] == {"resolution": 10.0}
    assert isinstance(model.input.defaults if model.input else None, GeoPackageDefaults)
    body["input"] = {"type": "tiling-grid", "id": 0, "resolution": 60.0}
    with pytest.raises(ValidationError) as info:
        prepare_batch_spec(body)
    assert info.value.field == "processRequest.input.bounds"


def test_wrong_types_name_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        prepare_batch_spec(spec(description=3))
    assert info.value.field == "description"
    with pytest.raises(ValidationError) as info:
        prepare_batch_spec("not a request")  # type: ignore[arg-type]
    assert info.value.field == "request"


def test_collections_of_another_deployment_are_refused() -> None:
    body = spec()
    body["processRequest"]["input"]["data"] = [{"type": DataCollection.SENTINEL2_L2A}]
    prepare_batch_spec(body, "https://services.sentinel-hub.com")
    body["processRequest"]["input"]["data"] = [{"type": DataCollection.LANDSAT_OT_L2}]  # on US West
    with pytest.raises(ValidationError) as info:
        prepare_batch_spec(body, "https://services.sentinel-hub.com")
    assert info.value.field == "processRequest.input.data[0].type"
    assert "LANDSAT_OT_L2" in str(info.value)


# -- legacy request checks -----------------------------------------------------------------


def legacy(**changes: Any) -> dict[str, Any]:
    body = {
        "processRequest": spec()["processRequest"],
        "tilingGrid": {"id": 0, "resolution": 60.0},
        "bucketName": "bucket",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def test_legacy_spec() -> None:
    _, wire = prepare_batch_v1_spec(legacy(description="x"))
    assert wire["tilingGrid"] == {"id": 0, "resolution": 60.0} and wire["bucketName"] == "bucket"
    prepare_batch_v1_spec(legacy(tilingGrid=None, tilingGridId=0, resolution=60.0))  # the deprecated spelling
    with pytest.raises(ValidationError, match="exactly one"):
        prepare_batch_v1_spec(legacy(output={"defaultTilePath": "s3://b"}))
    with pytest.raises(ValidationError, match="exactly one"):
        prepare_batch_v1_spec(legacy(bucketName=None))
    with pytest.raises(ValidationError) as info:
        prepare_batch_v1_spec(legacy(bucketName=None, output={"overwrite": True}))
    assert info.value.field == "output.defaultTilePath"
    _, wire = prepare_batch_v1_spec(
        legacy(bucketName=None, output={"defaultTilePath": "s3://b/<tileId>.tif", "cogOutput": True})
    )
    assert wire["output"]["cogOutput"] is True


def test_legacy_update() -> None:
    assert prepare_batch_v1_update(None, "d") == {"description": "d"}
    body = prepare_batch_v1_update({"defaultTilePath": "s3://b/x", "skipExisting": True}, None)
    assert body == {"output": {"defaultTilePath": "s3://b/x", "skipExisting": True}}
    with pytest.raises(ValidationError):
        prepare_batch_v1_update(None, None)
    with pytest.raises(ValidationError) as info:
        prepare_batch_v1_update({"defaultTilePath": "https://b"}, None)
    assert info.value.field == "output.defaultTilePath.s3.url"


def test_storage_secrets_never_in_repr() -> None:
    model, _ = prepare_batch_spec(
        spec(
            output={
                "type": "raster",
                "delivery": {
                    "s3": {
                        "url": "s3://b",
                        "accessKey": "AKIAEXAMPLE000",
                        "secretAccessKey": "super-secret-123",
                    }
                },
            }
        )
    )
    assert "super-secret-123" not in repr(model)
    assert "AKIAEXAMPLE000" not in repr(model)
