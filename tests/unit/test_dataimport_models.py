"""Data Import models and request checks: what is refused before sending, how statuses map to Jobs."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from eoclient._models import from_wire
from eoclient._redact import scrub
from eoclient.errors import ValidationError
from eoclient.jobs import JobState
from eoclient.sentinelhub.dataimport import Delivery, Order, Quota, Subscription
from eoclient.sentinelhub.dataimport.jobs import order_status, subscription_status
from eoclient.sentinelhub.dataimport.requests import order_body, search_body, subscription_body

ORDER: dict[str, Any] = {
    "name": "o",
    "input": {
        "provider": "PLANET",
        "planetApiKey": "k",
        "bounds": {"bbox": [14, 46, 14.1, 46.1]},
        "data": [{"itemType": "PSScene", "productBundle": "analytic_udm2", "harmonizeTo": "NONE"}],
    },
}


def changed(path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(ORDER)
    node: Any = body
    *parents, last = path.split(".")
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return body


def test_a_valid_order_passes_and_read_only_fields_are_dropped() -> None:
    fetched = {**ORDER, "id": "x", "status": "DONE", "sqkm": 3.0, "accountId": "a"}
    body = order_body(fetched)
    assert set(body) == {"name", "input"}
    assert body["input"]["bounds"]["bbox"] == [14.0, 46.0, 14.1, 46.1]
    model = from_wire({**ORDER, "id": "x", "status": "CREATED"}, Order)
    assert order_body(model)["input"]["provider"] == "PLANET"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("input.provider", "AIRBUS", "order.input.provider"),
        ("input.planetApiKey", None, "order.input.planetApiKey"),
        ("input.bounds", {"bbox": [1, 2, 3]}, "order.input.bounds.bbox"),
        ("input.bounds", {"bbox": [3, 2, 1, 4]}, "order.input.bounds.bbox"),
        (
            "input.bounds",
            {"geometry": {"type": "Point", "coordinates": [1, 2]}},
            "order.input.bounds.geometry",
        ),
        ("input.data", [], "order.input.data"),
        ("input.data.0.itemType", "PSScene4Band", "order.input.data[0].itemType"),
        ("input.data.0.harmonizeTo", None, "order.input.data[0].harmonizeTo"),
        ("input.data.0.itemIds", [], "order.input.data[0].itemIds"),
        ("input.data.0.itemIds", [f"i{n}" for n in range(251)], "order.input.data[0].itemIds"),
        ("input.data.0.dataFilter", {"timeRange": {"from": "2024-01-01"}}, "timeRange.from"),
        ("input.data.0.dataFilter", {"maxCloudCoverage": 101}, "dataFilter.maxCloudCoverage"),
        ("collectionId", "not-a-uuid", "order.collectionId"),
        ("input", None, "order.input"),
    ],
)
def test_a_bad_order_names_the_field(path: str, value: Any, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        order_body(changed(path, value))
    assert field in err.value.field


def test_maxar_requests_are_checked_by_maxar_rules() -> None:
    query = {"provider": "MAXAR", "bounds": {"bbox": [0, 0, 1, 1]}, "data": [{"productBands": "4BB"}]}
    assert search_body(query)["provider"] == "MAXAR"
    for key, value in [("minSunElevation", 91), ("sensor", "SPOT6"), ("maxOffNadir", -1)]:
        bad = {**query, "data": [{"productBands": "4BB", "dataFilter": {key: value}}]}
        with pytest.raises(ValidationError, match=key):
            search_body(bad)
    order = {"input": {**query, "data": [{"productBands": "4BB", "productKernel": "XX"}]}}
    with pytest.raises(ValidationError, match="productKernel"):
        order_body(order)
    both = {"input": {**query, "data": [{"productBands": "4BB", "selectedImages": ["a"], "dataFilter": {}}]}}
    with pytest.raises(ValidationError, match="selectedImages"):
        order_body(both)


def test_subscriptions_are_planet_only_and_need_a_start() -> None:
    sub = copy.deepcopy(ORDER)
    sub["input"]["data"][0]["dataFilter"] = {"timeRange": {"from": "2024-01-01T00:00:00Z"}}
    assert subscription_body(sub)["input"]["provider"] == "PLANET"
    sub["input"]["data"][0]["dataFilter"] = {"timeRange": {"to": "2024-01-01T00:00:00Z"}}
    with pytest.raises(ValidationError, match=r"timeRange\.from"):
        subscription_body(sub)
    pv = copy.deepcopy(sub)
    pv["input"]["data"] = [
        {"type": "soil_water_content", "dataFilter": {"timeRange": {"from": "2024-01-01T00:00Z"}}}
    ]
    with pytest.raises(ValidationError, match=r"data\[0\]\.id"):
        subscription_body(pv)


def test_statuses_map_to_job_states() -> None:
    expected = {
        "CREATED": JobState.PENDING,
        "RUNNING": JobState.RUNNING,
        "DONE": JobState.SUCCEEDED,
        "PARTIAL": JobState.SUCCEEDED,
        "FAILED": JobState.FAILED,
        "CANCELLED": JobState.CANCELLED,
        "SOMETHING_NEW": JobState.RUNNING,
    }
    for raw, state in expected.items():
        assert order_status(Order(id="o", status=raw)).state is state
    assert subscription_status(Subscription(id="s", status="COMPLETED")).state is JobState.SUCCEEDED
    assert order_status(Order(id="o", status="FAILED")).error == "status FAILED"


def test_answers_tolerate_unknown_fields() -> None:
    delivery = from_wire({"id": "d", "status": "DONE", "provider": "PLANET", "new": 1}, Delivery)
    assert delivery.is_final and delivery.item_id is None
    assert not from_wire({"id": "d", "status": "INGESTING"}, Delivery).is_final
    quota = from_wire({"collectionId": "MAXAR_WORLDVIEW", "quotaSqkm": 100, "quotaUsed": 30.5}, Quota)
    assert quota.available == 69.5


def test_the_planet_api_key_never_shows() -> None:
    key = "PLAK-4f1e2d3c-not-for-logs"
    answer = {"id": "o-1", "status": "CREATED", "input": {"provider": "PLANET", "planetApiKey": key}}
    for model in (Order, Subscription):
        shown = repr(from_wire(answer, model))
        assert key not in shown and "'planetApiKey': '***'" in shown and "'o-1'" in shown
    # A key given in a request is scrubbed from every later log line and error, wherever it appears.
    order = changed("input.planetApiKey", key)
    order["input"]["data"][0]["itemType"] = 7
    with pytest.raises(ValidationError, match=r"input\.data\[0\]\.itemType"):
        order_body(order)
    assert scrub(f"sent {key} to Planet") == "sent *** to Planet"
