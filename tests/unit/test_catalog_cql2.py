"""The emulator's CQL2 subset: text parsed into the JSON form, JSON evaluated, the rest refused."""

from __future__ import annotations

from typing import Any

import pytest

from eoclient.emulator.sh_catalog import StacError, _Filter, parse_cql2_text

QUERYABLES = ("eo:cloud_cover", "platform", "sat:orbit_state")


def prop(name: str) -> dict[str, str]:
    return {"property": name}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("eo:cloud_cover < 20", {"op": "<", "args": [prop("eo:cloud_cover"), 20]}),
        ("eo:cloud_cover>=12.5", {"op": ">=", "args": [prop("eo:cloud_cover"), 12.5]}),
        ("platform != 'sentinel-2a'", {"op": "<>", "args": [prop("platform"), "sentinel-2a"]}),
        ('"eo:cloud_cover" = -1', {"op": "=", "args": [prop("eo:cloud_cover"), -1]}),
        (
            "eo:cloud_cover < 20 and platform = 'sentinel-2a'",
            {
                "op": "and",
                "args": [
                    {"op": "<", "args": [prop("eo:cloud_cover"), 20]},
                    {"op": "=", "args": [prop("platform"), "sentinel-2a"]},
                ],
            },
        ),
        (
            "NOT (eo:cloud_cover > 5 OR platform = 'x')",
            {
                "op": "not",
                "args": [
                    {
                        "op": "or",
                        "args": [
                            {"op": ">", "args": [prop("eo:cloud_cover"), 5]},
                            {"op": "=", "args": [prop("platform"), "x"]},
                        ],
                    }
                ],
            },
        ),
        (
            "eo:cloud_cover BETWEEN 1 AND 5 AND platform IN ('a', 'b')",
            {
                "op": "and",
                "args": [
                    {"op": "between", "args": [prop("eo:cloud_cover"), 1, 5]},
                    {"op": "in", "args": [prop("platform"), ["a", "b"]]},
                ],
            },
        ),
        ("platform IS NOT NULL", {"op": "not", "args": [{"op": "isNull", "args": [prop("platform")]}]}),
        ("platform = 'it''s'", {"op": "=", "args": [prop("platform"), "it's"]}),
    ],
)
def test_text_parses_to_json(text: str, expected: dict[str, Any]) -> None:
    assert parse_cql2_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "eo:cloud_cover <",
        "eo:cloud_cover < 20 AND",
        "(eo:cloud_cover < 20",
        "platform LIKE 'sentinel%'",
        "S_INTERSECTS(geometry, POINT(1 2))",
        "eo:cloud_cover < 20 20",
        "eo:cloud_cover ~ 3",
    ],
)
def test_text_refused(text: str) -> None:
    with pytest.raises(StacError) as info:
        parse_cql2_text(text)
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("expr", "props", "expected"),
    [
        ({"op": "<", "args": [prop("eo:cloud_cover"), 20]}, {"eo:cloud_cover": 10}, True),
        ({"op": "<", "args": [prop("eo:cloud_cover"), 20]}, {"eo:cloud_cover": 30}, False),
        ({"op": "<", "args": [prop("eo:cloud_cover"), 20]}, {}, False),
        ({"op": "<", "args": [prop("eo:cloud_cover"), 20]}, {"eo:cloud_cover": "x"}, False),
        ({"op": "isNull", "args": [prop("eo:cloud_cover")]}, {"eo:cloud_cover": None}, True),
        ({"op": "between", "args": [prop("eo:cloud_cover"), 1, 5]}, {"eo:cloud_cover": 5}, True),
        ({"op": "in", "args": [prop("platform"), ["a", "b"]]}, {"platform": "b"}, True),
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


@pytest.mark.parametrize(
    "expr",
    [
        {"op": "like", "args": [prop("platform"), "s%"]},
        {"op": "s_intersects", "args": [prop("geometry"), {"type": "Point", "coordinates": [0, 0]}]},
        {"op": "<", "args": [prop("unknown:thing"), 1]},
        {"op": "<", "args": [prop("eo:cloud_cover")]},
        {"op": "and", "args": [{"op": "<", "args": [prop("eo:cloud_cover"), 1]}]},
        {"op": "<", "args": [{"function": "f"}, 1]},
        {"args": []},
        "eo:cloud_cover < 1",
    ],
)
def test_json_refused(expr: Any) -> None:
    with pytest.raises(StacError):
        _Filter(expr, QUERYABLES)
