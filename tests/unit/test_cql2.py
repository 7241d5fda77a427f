"""eoclient.cql2, the one CQL2 parser: text to JSON, JSON checked, JSON back to text."""

from __future__ import annotations

import ast
import math
from pathlib import Path
from typing import Any

import pytest

from eoclient import cql2
from eoclient.cql2 import Cql2Error, check, parse_text, to_text


def prop(name: str) -> dict[str, str]:
    return {"property": name}


PARSED = [
    ("eo:cloud_cover < 20", {"op": "<", "args": [prop("eo:cloud_cover"), 20]}),
    ("eo:cloud_cover>=12.5", {"op": ">=", "args": [prop("eo:cloud_cover"), 12.5]}),
    ("platform != 'sentinel-2a'", {"op": "<>", "args": [prop("platform"), "sentinel-2a"]}),
    ('"eo:cloud_cover" = -1', {"op": "=", "args": [prop("eo:cloud_cover"), -1]}),
    ("x > 1e-5", {"op": ">", "args": [prop("x"), 1e-5]}),
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
        "a = 1 OR b = 2 AND c = 3",  # AND binds tighter
        {
            "op": "or",
            "args": [
                {"op": "=", "args": [prop("a"), 1]},
                {
                    "op": "and",
                    "args": [{"op": "=", "args": [prop("b"), 2]}, {"op": "=", "args": [prop("c"), 3]}],
                },
            ],
        },
    ),
    (
        "eo:cloud_cover BETWEEN 1 AND 5 AND platform = 'a'",
        {
            "op": "and",
            "args": [
                {"op": "between", "args": [prop("eo:cloud_cover"), 1, 5]},
                {"op": "=", "args": [prop("platform"), "a"]},
            ],
        },
    ),
    ("x NOT BETWEEN 1 AND 2", {"op": "not", "args": [{"op": "between", "args": [prop("x"), 1, 2]}]}),
    ("platform IS NULL", {"op": "isNull", "args": [prop("platform")]}),
    ("platform IS NOT NULL", {"op": "not", "args": [{"op": "isNull", "args": [prop("platform")]}]}),
    ("platform = 'it''s'", {"op": "=", "args": [prop("platform"), "it's"]}),
    ('"and" = 3', {"op": "=", "args": [prop("and"), 3]}),  # a keyword as a property name, quoted
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_text_parses_to_json(text: str, expected: dict[str, Any]) -> None:
    assert parse_text(text) == expected


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_json_written_as_text_reads_back_the_same(text: str, expected: dict[str, Any]) -> None:
    written = to_text(expected)
    assert parse_text(written) == expected, written


def test_text_spelling() -> None:
    assert (
        to_text(parse_text("eo:cloud_cover<20 and platform='a'")) == "eo:cloud_cover < 20 AND platform = 'a'"
    )
    assert to_text(parse_text("NOT (a = 1 OR b = 2)")) == "NOT (a = 1 OR b = 2)"
    assert to_text(parse_text("(a = 1 OR b = 2) AND c = 3")) == "(a = 1 OR b = 2) AND c = 3"
    assert to_text({"op": "=", "args": [prop("with space"), 1.5]}) == '"with space" = 1.5'
    assert to_text({"op": "=", "args": [prop("in"), "x"]}) == "\"in\" = 'x'"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("eo:cloud_cover <", "ends too early"),
        ("eo:cloud_cover < 20 AND", "ends too early"),
        ("(eo:cloud_cover < 20", r"expected \)"),
        ("platform LIKE 'sentinel%'", "LIKE"),
        ("platform IN ('a', 'b')", "OR"),
        ("S_INTERSECTS(geometry, POINT(1 2))", "S_INTERSECTS"),
        ("datetime > TIMESTAMP('2020-01-01T00:00:00Z')", "TIMESTAMP"),
        ("flag = TRUE", "boolean"),
        ("eo:cloud_cover < 20 20", "unexpected"),
        ("eo:cloud_cover ~ 3", "cannot parse"),
        ("NOT eo:cloud_cover", "comparison"),
        ("x NOT = 1", "BETWEEN"),
        ("x BETWEEN 'a' AND 'b'", "between"),
        ("x IS NULL = 1", "unexpected"),
    ],
)
def test_text_refused_with_a_reason(text: str, says: str) -> None:
    with pytest.raises(Cql2Error, match=says):
        parse_text(text)


@pytest.mark.parametrize(
    "expr",
    [
        {"op": "like", "args": [prop("platform"), "s%"]},
        {"op": "in", "args": [prop("platform"), ["a", "b"]]},
        {"op": "s_intersects", "args": [prop("geometry"), {"type": "Point", "coordinates": [0, 0]}]},
        {"op": "<", "args": [prop("eo:cloud_cover")]},
        {"op": "and", "args": [{"op": "<", "args": [prop("eo:cloud_cover"), 1]}]},
        {"op": "not", "args": []},
        {"op": "<", "args": [{"function": "f"}, 1]},
        {"op": "<", "args": [{"property": ""}, 1]},
        {"op": "<", "args": [prop("x"), True]},
        {"op": "=", "args": [prop("x"), None]},
        {"op": "<", "args": [prop("x"), math.inf]},
        {"op": "isNull", "args": [1]},
        {"op": "=", "args": "x"},
        {"args": []},
        {"op": "AND", "args": []},
        "eo:cloud_cover < 1",
        [],
    ],
)
def test_json_refused(expr: Any) -> None:
    with pytest.raises(Cql2Error):
        check(expr)
    with pytest.raises(Cql2Error):
        to_text(expr)


def test_in_is_refused_with_what_to_write_instead() -> None:
    with pytest.raises(Cql2Error, match="OR"):
        check({"op": "in", "args": [prop("platform"), ["a", "b"]]})


def test_queryables_are_checked_when_given() -> None:
    expr = {"op": "<", "args": [prop("eo:cloud_cover"), 1]}
    assert check(expr, queryables={"eo:cloud_cover"}) is expr
    with pytest.raises(Cql2Error, match="'eo:cloud_cover' is not a queryable"):
        check(expr, queryables={"platform"})


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    expr: dict[str, Any] = {"op": "=", "args": [prop("x"), 1]}
    for _ in range(200):
        expr = {"op": "not", "args": [expr]}
    with pytest.raises(Cql2Error, match="deeply"):
        check(expr)


def test_a_property_name_with_a_double_quote_cannot_be_text() -> None:
    with pytest.raises(Cql2Error, match="cannot be written"):
        to_text({"op": "=", "args": [prop('a"b'), 1]})


def test_the_module_imports_nothing_from_eoclient() -> None:
    """Client and emulator both import it: it must not pull either side in."""
    tree = ast.parse(Path(cql2.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.startswith("eoclient")}, imported
