"""The emulator's catalog filters: parsed by eoclient.cql2, evaluated against items, refused as STAC 400s."""

from __future__ import annotations

from typing import Any

import pytest

from eoclient.emulator.core.refusal import Refusal as StacError
from eoclient.emulator.sentinelhub.catalog.cql2 import Filter as _Filter
from eoclient.emulator.sentinelhub.catalog.cql2 import parse_cql2_text

QUERYABLES = ("eo:cloud_cover", "platform", "sat:orbit_state")


def prop(name: str) -> dict[str, str]:
    return {"property": name}


@pytest.mark.parametrize(
    "text",
    ["", "platform LIKE 'sentinel%'", "platform IN ('a')", "S_INTERSECTS(geometry, POINT(1 2))", "x <"],
)
def test_unsupported_text_is_a_stac_400(text: str) -> None:
    with pytest.raises(StacError) as info:
        parse_cql2_text(text)
    assert info.value.status == 400 and info.value.code == "InvalidParameterValue"


@pytest.mark.parametrize(
    ("expr", "props", "expected"),
    [
        ({"op": "<", "args": [prop("eo:cloud_cover"), 20]}, {"eo:cloud_cover": 10}, True),
        ({"op": "<", "args": [prop("eo:cloud_cover"), 20]}, {"eo:cloud_cover": 30}, False),
        ({"op": "<", "args": [prop("eo:cloud_cover"), 20]}, {}, False),
        ({"op": "<", "args": [prop("eo:cloud_cover"), 20]}, {"eo:cloud_cover": "x"}, False),
        ({"op": "isNull", "args": [prop("eo:cloud_cover")]}, {"eo:cloud_cover": None}, True),
        ({"op": "isNull", "args": [prop("eo:cloud_cover")]}, {}, True),
        ({"op": "between", "args": [prop("eo:cloud_cover"), 1, 5]}, {"eo:cloud_cover": 5}, True),
        ({"op": "between", "args": [prop("eo:cloud_cover"), 1, 5]}, {"eo:cloud_cover": 6}, False),
        (
            {"op": "or", "args": [{"op": "=", "args": [prop("platform"), p]} for p in ("a", "b")]},
            {"platform": "b"},
            True,
        ),
        (
            {
                "op": "and",
                "args": [
                    {"op": ">", "args": [prop("eo:cloud_cover"), 1]},
                    {"op": "not", "args": [{"op": "=", "args": [prop("platform"), "a"]}]},
                ],
            },
            {"eo:cloud_cover": 2, "platform": "b"},
            True,
        ),
    ],
)
def test_json_evaluates(expr: dict[str, Any], props: dict[str, Any], expected: bool) -> None:
    assert _Filter(expr, QUERYABLES)(props) is expected


def test_text_and_json_evaluate_alike() -> None:
    text = "eo:cloud_cover BETWEEN 10 AND 20 AND NOT platform = 'a'"
    props = [{"eo:cloud_cover": c, "platform": p} for c in (5, 10, 15, 25) for p in ("a", "b")]
    as_json = _Filter(parse_cql2_text(text), QUERYABLES)
    assert [as_json(p) for p in props] == [
        p["eo:cloud_cover"] in (10, 15) and p["platform"] == "b" for p in props
    ]


@pytest.mark.parametrize(
    "expr",
    [
        {"op": "like", "args": [prop("platform"), "s%"]},
        {"op": "in", "args": [prop("platform"), ["a", "b"]]},
        {"op": "<", "args": [prop("unknown:thing"), 1]},
        {"op": "<", "args": [prop("eo:cloud_cover")]},
        {"args": []},
        "eo:cloud_cover < 1",
    ],
)
def test_json_refused(expr: Any) -> None:
    with pytest.raises(StacError) as info:
        _Filter(expr, QUERYABLES)
    assert info.value.status == 400


def test_id_and_datetime_are_always_queryable() -> None:
    assert _Filter({"op": "=", "args": [prop("id"), "x"]}, QUERYABLES)({"id": "x"})
    assert _Filter({"op": ">", "args": [prop("datetime"), "2020"]}, QUERYABLES)({"datetime": "2021-01-01"})
