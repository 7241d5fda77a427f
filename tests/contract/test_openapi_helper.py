"""The contract helper itself: it must reject a body the document rejects."""

from __future__ import annotations

import jsonschema
import pytest

from tests.contract.openapi import require_spec, spec_path_for, validate_request


def test_maps_live_paths_to_spec_paths() -> None:
    require_spec()
    assert spec_path_for("/api/v1/process") == "/process/v1"
    assert spec_path_for("/api/v1/catalog/1.0.0/search") == "/catalog/v1/search"
    assert spec_path_for("/api/v1/byoc/collections/abc/tiles/1") == (
        "/byoc/v1/collections/{collectionId}/tiles/{tileId}"
    )
    assert spec_path_for("/api/v2/batch/tilinggrids/1") == "/batch/v2/tilinggrids/{id}"


def test_a_valid_process_body_passes_and_a_broken_one_fails() -> None:
    require_spec()
    body = {
        "input": {
            "bounds": {"bbox": [13.8, 45.8, 14.5, 46.2]},
            "data": [{"type": "sentinel-2-l2a"}],
        },
        "evalscript": "//VERSION=3\nfunction setup(){return {input:['B02'],output:{bands:1}}}\n"
        "function evaluatePixel(s){return [s.B02]}",
    }
    validate_request("POST", "/api/v1/process", body)
    broken = {**body, "input": {"bounds": {"bbox": [1, 2, 3]}, "data": [{"type": "sentinel-2-l2a"}]}}
    with pytest.raises(jsonschema.ValidationError):
        validate_request("POST", "/api/v1/process", broken)


def test_a_body_erratum_is_applied_only_where_the_published_document_needs_it() -> None:
    require_spec()
    from tests.contract import openapi

    search = "/api/v1/catalog/1.0.0/search"
    base = {"collections": ["sentinel-2-l2a"], "datetime": "2020-01-01T00:00:00Z/.."}
    either = {"op": "or", "args": [{"op": "<", "args": [{"property": "eo:cloud_cover"}, n]} for n in (5, 9)]}
    published = openapi.validator_for(openapi.request_schema("POST", search), openapi.published())
    with pytest.raises(jsonschema.ValidationError):
        published.validate({**base, "filter": either})  # as published, Basic CQL2's `or` is refused...
    validate_request("POST", search, {**base, "filter": either})  # ...corrected by errata.py
    for still_wrong in (
        {"op": "in", "args": [{"property": "platform"}, ["a", "b"]]},  # not corrected: not in the service
        {"op": "or", "args": [{"op": "<", "args": [{"property": "eo:cloud_cover"}, 5]}]},  # one argument
    ):
        with pytest.raises(jsonschema.ValidationError):
            validate_request("POST", search, {**base, "filter": still_wrong})
