"""Object storage locations, Async Process and Batch Statistical models: checks without HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from eoclient._models import from_wire
from eoclient._redact import Secret, scrub
from eoclient.errors import ResponseDecodeError, ValidationError
from eoclient.jobs import JobState
from eoclient.sentinelhub.async_process_models import output_locations, prepare_async_request
from eoclient.sentinelhub.batch_statistics import to_job_status
from eoclient.sentinelhub.batch_statistics_models import BatchStatisticsStatus
from eoclient.sentinelhub.storage import GSStorage, ObjectStorage, S3Storage, prepare_storage

KEY = "AKIAUNITTESTKEY00001"
SECRET = "unit-test-secret-access-key-0001"
EVALSCRIPT = "function setup() {} function evaluatePixel(s) {}"


def test_s3_keys_never_in_repr_and_always_scrubbed() -> None:
    storage = ObjectStorage.from_s3("s3://bucket/x", access_key=KEY, secret_access_key=Secret(SECRET))
    for text in (
        repr(storage),
        str(storage),
        repr([storage]),
        repr(storage.s3),
        str(storage.s3.__rich_repr__()),
    ):  # type: ignore[union-attr]
        assert KEY not in text and SECRET not in text
    assert scrub(f"echo {KEY} {SECRET}") == "echo *** ***"
    assert storage.to_dict() == {"s3": {"url": "s3://bucket/x", "accessKey": KEY, "secretAccessKey": SECRET}}


def test_secrets_coming_back_from_the_service_are_registered_too() -> None:
    wire = {"gs": {"url": "gs://b", "credentials": "service-account-json-from-the-wire"}}
    answer = from_wire(wire, ObjectStorage)
    assert isinstance(answer.gs, GSStorage)
    assert "service-account-json-from-the-wire" not in repr(answer)
    assert scrub("x service-account-json-from-the-wire") == "x ***"


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("https://bucket/x", "delivery.s3.url"),
        ("s3://", "delivery.s3.url"),
        ("s3:///x", "delivery.s3.url"),
        ("s3://bucket/a b", "delivery.s3.url"),
        ({"s3": {"url": "s3://b", "secretAccessKey": SECRET}}, "delivery.s3.accessKey"),
        ({"s3": {"url": "s3://b", "accessKey": " ", "secretAccessKey": SECRET}}, "delivery.s3.accessKey"),
        ({"s3": {"url": "s3://b", "iamRoleARN": "role"}}, "delivery.s3.iamRoleARN"),
        ({"s3": {"url": 7}}, "delivery.s3.url"),
        ({"s3": {}}, "delivery.s3.url"),
        ({}, "delivery"),
        ({"gs": {"url": "gs://b"}}, "delivery.gs.credentials"),
        ({"gs": {"url": "s3://b", "credentials": "eyJ9"}}, "delivery.gs.url"),
        (42, "delivery"),
    ],
)
def test_storage_checks_name_the_field(value: Any, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        prepare_storage(value, "delivery")
    assert info.value.field == field
    assert SECRET not in str(info.value)


def test_storage_placeholders() -> None:
    allowed = frozenset({"<REQUEST_ID>", "<ID>", "<IDENTIFIER>"})
    need = frozenset({"<ID>", "<IDENTIFIER>"})
    prepare_storage(
        "s3://b/<REQUEST_ID>/<IDENTIFIER>.json", "output", placeholders=allowed, require_one_of=need
    )
    prepare_storage("s3://b/plain", "output", placeholders=allowed, require_one_of=need)
    with pytest.raises(ValidationError, match="must contain <ID> or <IDENTIFIER>"):
        prepare_storage("s3://b/<REQUEST_ID>.json", "output", placeholders=allowed, require_one_of=need)
    with pytest.raises(ValidationError, match="unknown placeholder <DATE>"):
        prepare_storage("s3://b/<DATE>/<ID>", "output", placeholders=allowed, require_one_of=need)
    with pytest.raises(ValidationError, match="unknown placeholder"):
        prepare_storage("s3://b/<ID>", "evalscriptReference")  # no templates there


def test_storage_keeps_unknown_keys_and_takes_models() -> None:
    _, wire = prepare_storage({"s3": {"url": "s3://b", "newOption": True}}, "output")
    assert wire == {"s3": {"url": "s3://b", "newOption": True}}
    model, wire = prepare_storage(S3Storage(url="s3://b", region="eu-central-1"), "output")
    assert model.url == "s3://b" and wire == {"s3": {"url": "s3://b", "region": "eu-central-1"}}
    _, wire = prepare_storage(
        {"s3": {"url": "s3://b", "accessKey": KEY, "secretAccessKey": Secret(SECRET)}}, "x"
    )
    assert wire["s3"]["secretAccessKey"] == SECRET


def test_output_locations() -> None:
    rid = "0f3a1c52-8d3e-4b8e-9c3f-2a1b0c9d8e7f"
    responses = [("default", "image/tiff"), ("userdata", "application/json"), ("rgb", "image/png")]
    assert output_locations(rid, "s3://b/out/", responses) == {
        "default": f"s3://b/out/{rid}/default.tif",
        "userdata": f"s3://b/out/{rid}/userdata.json",
        "rgb": f"s3://b/out/{rid}/rgb.png",
    }
    assert output_locations(rid, "s3://b/<OUTPUT>", [("default", "image/jpeg")]) == {
        "default": "s3://b/default.jpg"
    }
    assert output_locations(rid, None, responses) == {}


def _async(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "input": {"bounds": {"bbox": [0, 0, 1, 1]}, "data": [{"type": "sentinel-2-l2a"}]},
        "output": {"width": 10_000, "height": 10},
        "evalscript": EVALSCRIPT,
    }
    body.update(changes)
    return body


def test_async_request_delivery_argument_sets_output_delivery() -> None:
    model, wire = prepare_async_request(
        _async(), {"s3": {"url": "s3://b", "accessKey": KEY, "secretAccessKey": SECRET}}
    )
    assert wire["output"] == {
        "width": 10_000,
        "height": 10,
        "delivery": {"s3": {"url": "s3://b", "accessKey": KEY, "secretAccessKey": SECRET}},
    }
    assert model.responses == [("default", "image/png")]
    assert SECRET not in repr(model)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_async(output={"width": 10_001, "delivery": {"s3": {"url": "s3://b"}}}), "output.width"),
        (_async(output={"resx": 0.00001, "resy": 0.1, "delivery": {"s3": {"url": "s3://b"}}}), "output.resx"),
        (_async(output={"resx": 0.1, "delivery": {"s3": {"url": "s3://b"}}}), "output.resy"),
        (
            _async(output={"width": 10, "resx": 0.1, "resy": 0.1, "delivery": {"s3": {"url": "s3://b"}}}),
            "output",
        ),
        (_async(output={"responses": [], "delivery": {"s3": {"url": "s3://b"}}}), "output.responses"),
        (_async(output={"width": "wide", "delivery": {"s3": {"url": "s3://b"}}}), "output.width"),
        (_async(evalscript=None, output={"delivery": {"s3": {"url": "s3://b"}}}), "evalscript"),
        (
            _async(
                evalscriptReference={"s3": {"url": "b/script.js"}},
                evalscript=None,
                output={"delivery": {"s3": {"url": "s3://b"}}},
            ),
            "evalscriptReference.s3.url",
        ),
        (_async(output={}), "output.delivery"),
    ],
)
def test_async_request_checks(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        prepare_async_request(body)
    assert info.value.field == field


def _status(status: str, **fields: Any) -> BatchStatisticsStatus:
    return BatchStatisticsStatus(id="x", status=status, **fields)


@pytest.mark.parametrize(
    ("status", "fields", "state"),
    [
        ("CREATED", {}, JobState.PENDING),
        ("ANALYSING", {}, JobState.RUNNING),
        ("ANALYSIS_DONE", {}, JobState.PENDING),
        ("PROCESSING", {"completion_percentage": 42.5}, JobState.RUNNING),
        ("DONE", {"completion_percentage": 100}, JobState.SUCCEEDED),
        ("PARTIAL", {"error": "2 of 10 features failed"}, JobState.SUCCEEDED),
        ("FAILED", {"error": "boom"}, JobState.FAILED),
        ("STOPPED", {"stopped_status_reason": "USER_ACTION"}, JobState.CANCELLED),
        ("STOPPED", {}, JobState.CANCELLED),
        ("STOPPED", {"stopped_status_reason": "OUT_OF_PU"}, JobState.FAILED),
    ],
)
def test_status_mapping(status: str, fields: dict[str, Any], state: JobState) -> None:
    job_status = to_job_status(_status(status, **fields))
    assert job_status.state is state
    assert job_status.raw == status
    if status == "PROCESSING":
        assert job_status.progress == pytest.approx(0.425)
    if status == "FAILED":
        assert job_status.error == "boom"
    if fields.get("stopped_status_reason") == "OUT_OF_PU":
        assert job_status.error is not None and "OUT_OF_PU" in job_status.error


def test_unknown_status_is_a_decode_error() -> None:
    with pytest.raises(ResponseDecodeError):
        to_job_status(_status("EXPLODED"))
