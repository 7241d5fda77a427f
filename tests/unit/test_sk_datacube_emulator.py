"""The emulator's Datacube engine, called directly: malformed vs unrunnable queries, semantics."""

from __future__ import annotations

from typing import Any

import pytest

from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.spaceknow.datacube import PRODUCTS, evaluate, product_rows

PROJECT = {"type": "value-list", "field": "project", "params": {"values": ["industrial_production"]}}
ALGORITHM = {"type": "value-list", "field": "algorithm", "params": {"values": ["truck_count"]}}


def query(*extra: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {"filters": [PROJECT, ALGORITHM, *extra], **options}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"filters": []},
        {"filters": [PROJECT]},
        query({"type": "near", "field": "aoi", "params": {}}),
        query({"type": "value-range", "field": "value", "params": {"min": 2, "max": 1}}),
        query(
            {
                "type": "time-range",
                "field": "startDatetime",
                "params": {"from": "2019-02-01", "to": "2019-01-01"},
            }
        ),
        query({"type": "time-range", "field": "startDatetime", "params": {"from": "soon"}}),
        query({"type": "value-list", "field": "tag", "params": {"values": []}}),
        query(resample="hourly"),
        query(aggregator="mode"),
        query(columns=[]),
        query(keepAllVersions="yes"),
    ],
)
def test_malformed_queries(body: dict[str, Any]) -> None:
    with pytest.raises(Refusal) as info:
        evaluate(body)
    assert info.value.code == "BAD-REQUEST"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (query({"type": "value-range", "field": "colour", "params": {"max": 1}}), "UNKNOWN-FIELD"),
        (query({"type": "time-range", "field": "value", "params": {"from": "2019-01-01"}}), "UNKNOWN-FIELD"),
        (query({"type": "value-list", "field": "colour", "params": {"values": ["red"]}}), "UNKNOWN-FIELD"),
        (query({"type": "geo-intersects", "field": "aoi", "params": {"geometryLabel": "mars"}}),
         "AOI-NOT-FOUND"),
        (query({"type": "geo-intersects", "field": "aoi", "params": {"geometry": {"type": "Point"}}}),
         "INVALID-GEOMETRY"),
        (query(columns=["aoi", "colour"]), "UNKNOWN-FIELD"),
    ],
)  # fmt: skip
def test_queries_that_cannot_run(body: dict[str, Any], code: str) -> None:
    with pytest.raises(Refusal) as info:
        evaluate(body)
    assert info.value.code == code


def test_results_are_deterministic_and_ordered() -> None:
    first = evaluate(query())
    assert first == evaluate(query())
    keys = [(r["aoi"], r["startDatetime"]) for r in first["data"]]
    assert keys == sorted(keys)
    assert all(r["value"] == int(r["value"]) >= 0 for r in first["data"])  # counts


def test_count_aggregator_and_limit() -> None:
    counted = evaluate(query(aggregator="count", resample="yearly"))
    raw = evaluate(query())
    assert [r["value"] for r in counted["data"]] == [float(raw["totalRows"])]
    assert counted["data"][0]["aoiCount"] == 2
    with pytest.raises(Refusal) as info:
        evaluate(query(), limit=10)
    assert info.value.code == "QUERY-TOO-LARGE"


def test_product_rows_point_in_time_and_formats() -> None:
    product = PRODUCTS["SK_PI_C_CN_W"]
    rows = list(product_rows(product, pit_dt=None, rich=False))
    assert rows[0] == ["value_dt", "delivery_dt", *product.columns]
    rich = list(product_rows(product, pit_dt=None, rich=True))
    assert len(rich) == len(rows) and rich[0][-1] == "comment"
    from datetime import date

    early = list(product_rows(product, pit_dt=date(2015, 3, 1), rich=False))
    assert 1 < len(early) < len(rows)
    assert all(r[1][:10] <= "2015-03-01" for r in early[1:])
