"""The emulator's framework pieces: one refusal in each service's shape, one paging helper."""

from __future__ import annotations

import base64
import json

import pytest

from eoclient.emulator.core.geojson import GeoJSONError, geojson_bounds
from eoclient.emulator.core.paging import OffsetToken, page
from eoclient.emulator.core.refusal import Refusal, invalid, sentinelhub_shape, spaceknow_shape
from eoclient.emulator.sentinelhub.catalog.data import CatalogData
from eoclient.emulator.sentinelhub.catalog.query import search_query


def _body(response: object) -> object:
    return json.loads(response.body)  # type: ignore[attr-defined]


def test_one_refusal_two_shapes() -> None:
    refusal = invalid("output->width", -1, "must be positive")
    sh = sentinelhub_shape(refusal)
    assert sh.status == 400
    assert _body(sh) == {
        "error": {
            "status": 400,
            "reason": "Bad Request",
            "message": "output->width: must be positive",
            "code": "COMMON_BAD_PAYLOAD",
            "errors": [{"parameter": "output->width", "invalidValue": -1, "violation": "must be positive"}],
        }
    }
    sk = spaceknow_shape(refusal)
    assert _body(sk) == {"error": "BAD-REQUEST", "errorMessage": "output->width: must be positive"}


def test_refusal_code_and_headers_kept() -> None:
    refusal = Refusal(429, None, "slow down", headers={"Retry-After": "2"})
    answer = spaceknow_shape(refusal)
    assert answer.status == 429
    assert answer.headers["Retry-After"] == "2"
    assert _body(answer) == {"error": "RATE-LIMIT-EXCEEDED", "errorMessage": "slow down"}
    assert _body(sentinelhub_shape(Refusal(404, "MY_CODE", "gone")))["error"]["code"] == "MY_CODE"  # type: ignore[index]


def test_page_windows() -> None:
    items = list(range(7))
    first = page(items, 0, 3)
    assert (first.items, first.next) == ([0, 1, 2], 3)
    last = page(items, 6, 3)
    assert (last.items, last.next) == ([6], None)
    assert page(items, 4, 3).next is None


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (OffsetToken("viewtoken", prefix="view"), base64.urlsafe_b64encode(b"view:40").decode().rstrip("=")),
        (OffsetToken("cursor", urlsafe=False), base64.b64encode(b"40").decode()),
        (OffsetToken("next", opaque=False), "40"),
    ],
)
def test_offset_tokens_round_trip(token: OffsetToken, expected: str) -> None:
    assert token.encode(40) == expected
    assert token.decode(expected) == 40
    assert token.decode(None) == 0


@pytest.mark.parametrize(
    "raw",
    [
        "nope",
        "-1",
        base64.urlsafe_b64encode(b"page:3").decode(),
        "4.5",
    ],
)
def test_offset_token_refuses_what_it_did_not_hand_out(raw: str) -> None:
    with pytest.raises(Refusal) as caught:
        OffsetToken("viewtoken", prefix="view", code="BAD_TOKEN").decode(raw)
    assert caught.value.status == 400
    assert caught.value.code == "BAD_TOKEN"
    assert "viewtoken" in caught.value.message


def test_offset_token_refuses_in_the_services_words() -> None:
    token = OffsetToken(
        "cursor", urlsafe=False, code="INVALID-CURSOR", message="{parameter} {raw!r} is not ours"
    )
    with pytest.raises(Refusal) as caught:
        token.decode("nope")
    assert (caught.value.status, caught.value.code) == (400, "INVALID-CURSOR")
    assert caught.value.message == "cursor 'nope' is not ours"


@pytest.mark.parametrize(
    ("geometry", "bounds"),
    [
        ({"type": "Point", "coordinates": [14.5, 46.0, 300.0]}, (14.5, 46.0, 14.5, 46.0)),
        ({"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 1], [0, 0]]]}, (0.0, 0.0, 2.0, 1.0)),
        (
            {
                "type": "GeometryCollection",
                "geometries": [
                    {"type": "LineString", "coordinates": [[-1, -1], [0, 0]]},
                    {"type": "MultiPoint", "coordinates": [[3, 4]]},
                ],
            },
            (-1.0, -1.0, 3.0, 4.0),
        ),
    ],
)
def test_geojson_bounds(geometry: dict[str, object], bounds: tuple[float, ...]) -> None:
    assert geojson_bounds(geometry) == bounds


@pytest.mark.parametrize(
    "geometry",
    [
        [1, 2],
        {"type": "Circle", "coordinates": [0, 0]},
        {"type": "Polygon", "coordinates": [[0, 0], [1, 1]]},  # one level too shallow
        {"type": "Point", "coordinates": [True, 1]},
        {"type": "MultiPoint", "coordinates": []},
        {"type": "GeometryCollection", "geometries": []},
    ],
)
def test_geojson_bounds_refuses_what_is_not_geojson(geometry: object) -> None:
    with pytest.raises(GeoJSONError):
        geojson_bounds(geometry)


def test_catalog_intersects_collection_is_the_bounds_of_its_parts() -> None:
    params = {
        "collections": ["sentinel-2-l2a"],
        "datetime": "2020-01-01T00:00:00Z/..",
        "intersects": {
            "type": "GeometryCollection",
            "geometries": [
                {"type": "Point", "coordinates": [14.0, 46.0]},
                {"type": "LineString", "coordinates": [[-1.0, 45.0], [2.0, 47.5]]},
            ],
        },
    }
    query = search_query(CatalogData(), params, from_get=False)
    assert query.bbox == (-1.0, 45.0, 14.0, 47.5)


def test_plain_offset_token_refuses_digits_int_cannot_read() -> None:
    """``"²".isdigit()`` is true, yet ``int("²")`` fails: a 400, not a crash (a 500)."""
    with pytest.raises(Refusal) as caught:
        OffsetToken("next", opaque=False).decode("²")
    assert caught.value.status == 400
