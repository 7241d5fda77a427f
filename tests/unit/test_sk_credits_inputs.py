"""Credits input checks and the cursor paginator, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from eoclient.errors import ResponseDecodeError, ValidationError
from eoclient.spaceknow._paging import cursor_paginator
from eoclient.spaceknow.credits_models import (
    CreditTransaction,
    check_area_geojson,
    check_credit_limit,
    check_scene_ids,
)

SQUARE = [[[14.0, 50.0], [14.1, 50.0], [14.1, 50.1], [14.0, 50.1], [14.0, 50.0]]]


class Shape:
    @property
    def __geo_interface__(self) -> dict[str, Any]:
        return {"type": "Polygon", "coordinates": tuple(tuple(tuple(p) for p in r) for r in SQUARE)}


def test_geometries_within_85_degrees_pass() -> None:
    assert check_area_geojson({"type": "Polygon", "coordinates": SQUARE})["type"] == "Polygon"
    assert check_area_geojson(Shape())["coordinates"] == SQUARE
    feature = {"type": "Feature", "geometry": {"type": "MultiPolygon", "coordinates": [SQUARE]}}
    assert check_area_geojson(feature)["type"] == "MultiPolygon"
    edge = [[[0, -85], [1, -85], [1, 85], [0, 85], [0, -85]]]
    check_area_geojson({"type": "Polygon", "coordinates": edge})


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "Polygon", "coordinates": [[[0, 85.0001], [1, 0], [1, 1], [0, 85.0001]]]},
        {"type": "MultiPolygon", "coordinates": [[[[0, -89], [1, 0], [1, 1], [0, -89]]]]},
        {"type": "Point", "coordinates": [0, 90]},
        {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [10, -86]}]},
        {"type": "Polygon", "coordinates": [[[181, 0], [1, 0], [1, 1], [181, 0]]]},
        {"type": "Polygon", "coordinates": []},
        {"type": "Polygon"},
        "POLYGON((0 0, 1 0, 1 1, 0 0))",
    ],
)
def test_bad_geometries_are_refused(geometry: Any) -> None:
    with pytest.raises(ValidationError) as info:
        check_area_geojson(geometry)
    assert info.value.field.startswith("geojson")


@pytest.mark.parametrize(
    ("value", "field"),
    [([], "scene_ids"), ("abc", "scene_ids"), (None, "scene_ids"), (["a", 3], "scene_ids[1]"),
     (["a", ""], "scene_ids[1]")],
)  # fmt: skip
def test_scene_ids(value: Any, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        check_scene_ids(value)
    assert info.value.field == field


def test_credit_limits() -> None:
    assert check_credit_limit(None) is None
    assert check_credit_limit(5) == 5.0
    for bad in (-0.01, float("inf"), True, "10"):
        with pytest.raises(ValidationError):
            check_credit_limit(bad)


class FakeTransport:
    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.bodies: list[dict[str, Any]] = []

    async def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        assert method == "POST" and kwargs["idempotent"] is True
        self.bodies.append(kwargs["json"])
        return self.answers.pop(0)


class FakeClient:
    def __init__(self, answers: list[Any]) -> None:
        self.transport = FakeTransport(answers)


def tx(i: int) -> dict[str, Any]:
    return {"id": f"t{i}", "kind": "credit.update", "credit": 1.0, "unknownField": True}


async def test_cursor_paging_follows_the_cursor_until_it_is_gone() -> None:
    client = FakeClient(
        [
            {"cursor": "MQ==", "results": [tx(1), tx(2)]},
            {"cursor": "Mg==", "results": [tx(3)]},
            {"results": [tx(4)]},
        ]
    )
    pager = cursor_paginator(client.transport, "/x", CreditTransaction, {"groupId": None}, operation="x")  # type: ignore[arg-type]
    assert [t.id for t in await pager.collect()] == ["t1", "t2", "t3", "t4"]
    assert client.transport.bodies == [{}, {"cursor": "MQ=="}, {"cursor": "Mg=="}]


async def test_an_empty_page_ends_even_with_a_cursor() -> None:
    client = FakeClient([{"cursor": "MQ==", "results": []}])
    pager = cursor_paginator(client.transport, "/x", CreditTransaction, {"groupId": "g"}, operation="x")  # type: ignore[arg-type]
    assert await pager.collect() == []
    assert client.transport.bodies == [{"groupId": "g"}]


async def test_a_repeated_cursor_or_bad_shape_is_an_error() -> None:
    looping = FakeClient([{"cursor": "MQ==", "results": [tx(1)]}, {"cursor": "MQ==", "results": [tx(2)]}])
    with pytest.raises(ResponseDecodeError):
        await cursor_paginator(looping.transport, "/x", CreditTransaction, {}, operation="x").collect()  # type: ignore[arg-type]
    with pytest.raises(ResponseDecodeError):
        shapeless = FakeClient([[1]])
        await cursor_paginator(shapeless.transport, "/x", CreditTransaction, {}, operation="x").collect()  # type: ignore[arg-type]
    bad_item = FakeClient([{"results": [{"kind": "credit.update"}]}])  # no id
    with pytest.raises(ResponseDecodeError):
        await cursor_paginator(bad_item.transport, "/x", CreditTransaction, {}, operation="x").collect()  # type: ignore[arg-type]
