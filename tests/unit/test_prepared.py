"""A Process/Statistical request prepared once: its body, headers, answer types and cost basis."""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
import pytest

from eoclient.errors import ValidationError
from eoclient.sentinelhub.budget import CostBasis
from eoclient.sentinelhub.cache import cache_key
from eoclient.sentinelhub.prepared import prepare_process, prepare_statistics

SCRIPT = '//VERSION=3\nfunction setup(){return {input:["B02","B03","B04"], output:{bands:3}}}'
BBOX = [13.8, 45.8, 14.5, 46.2]
RING = [[13.8, 45.8], [14.5, 45.8], [14.5, 46.2], [13.8, 46.2], [13.8, 45.8]]


def process_body(**output: Any) -> dict[str, Any]:
    return {
        "input": {"bounds": {"bbox": BBOX}, "data": [{"type": "sentinel-2-l2a", "futureKey": 1}]},
        "output": {"width": 64, "height": 32, **output},
        "evalscript": SCRIPT,
    }


def test_the_body_is_the_wire_form_encoded_once_with_sorted_keys() -> None:
    prepared = prepare_process(process_body())
    assert msgspec.json.decode(prepared.body) == prepared.wire
    assert prepared.wire["input"]["data"][0]["futureKey"] == 1  # unknown keys are sent as written
    assert prepared.body == msgspec.json.encode(prepared.wire, order="sorted")
    url = "https://services.sentinel-hub.com/api/v1/process"
    assert cache_key(url=url, accept="image/png", body=prepared.body) == cache_key(
        url=url, accept="image/png", body=prepared.wire
    )


def test_accept_headers_and_answer_types_are_decided_up_front() -> None:
    single = prepare_process(process_body(responses=[{"format": {"type": "image/tiff"}}]))
    assert single.accept == "image/tiff"
    assert single.headers == {"Accept": "image/tiff", "Content-Type": "application/json"}
    assert single.expect == {"image/tiff"}
    assert single.parts == (("default", "image/tiff"),)
    two = [{"identifier": "a", "format": {"type": "image/png"}}, {"identifier": "userdata"}]
    multi = prepare_process(process_body(responses=two))
    assert multi.accept == "application/x-tar"
    assert multi.expect == {"application/x-tar", "application/tar"}
    assert multi.identifiers == ["a", "userdata"]
    with pytest.raises(ValidationError) as info:
        prepare_process(process_body(responses=two), accept="image/png")
    assert info.value.field == "accept"


def test_the_cost_basis_keeps_the_size_found_by_the_checks() -> None:
    body = {**process_body(), "output": {"resx": 1 / 512, "resy": 1 / 256}}
    body["input"] = {**body["input"], "bounds": {"bbox": [0, 0, 1, 1]}}
    by_resolution = prepare_process(body)  # 512 x 256 px from the bbox and the resolution
    assert by_resolution.cost == CostBasis(512, 256, SCRIPT, collections=1, tiff=False)
    assert by_resolution.cost.estimate() == pytest.approx(0.5)
    default = prepare_process({k: v for k, v in process_body().items() if k != "output"})
    assert (default.cost.width, default.cost.height) == (256, 256)


def test_a_geometry_gives_the_extent_for_the_size() -> None:
    body = process_body()
    body["input"]["bounds"] = {"geometry": {"type": "Polygon", "coordinates": [RING]}}
    body["output"] = {"width": 100}
    prepared = prepare_process(body)
    assert (prepared.cost.width, prepared.cost.height) == (100, round(100 * 0.4 / 0.7))


def test_a_prepared_request_cannot_be_changed() -> None:
    prepared = prepare_process(process_body())
    with pytest.raises(dataclasses.FrozenInstanceError):
        prepared.accept = "image/png"  # type: ignore[misc]


def test_statistics_are_prepared_with_their_intervals() -> None:
    prepared = prepare_statistics(
        {
            "input": {"bounds": {"bbox": BBOX}, "data": [{"type": "sentinel-2-l2a"}]},
            "aggregation": {
                "timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-04T00:00:00Z"},
                "aggregationInterval": {"of": "P1D"},
                "evalscript": SCRIPT,
                "width": 16,
                "height": 16,
            },
        }
    )
    assert prepared.intervals == 3 and prepared.cost.samples == 3
    assert prepared.headers == {"Accept": "application/json", "Content-Type": "application/json"}
    assert msgspec.json.decode(prepared.body) == prepared.wire
