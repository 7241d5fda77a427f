"""The emulated Data Import refuses what the service refuses, in its error shape (raw requests)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from eoclient.emulator import Emulator
from eoclient.errors import APIError, BadRequestError, ConflictError, NotFoundError
from eoclient.sentinelhub import SentinelHub
from tests.integration.test_dataimport import MAXAR_ORDER, PLANET_ORDER

BASE = "/api/v1/dataimport"
MISSING = "00000000-0000-4000-8000-000000000000"


async def send(sh: SentinelHub, method: str, path: str, body: Any = None, **params: str) -> Any:
    """A request as is: the client's own checks are not in the way."""
    return await sh.context.transport.request_json(
        method, BASE + path, operation="test", json=body, params=params or None
    )


def bad_order(path: list[Any], value: Any, base: dict[str, Any] = PLANET_ORDER) -> dict[str, Any]:
    body = copy.deepcopy(base)
    node: Any = body
    for key in path[:-1]:
        node = node[key]
    if value is None:
        node.pop(path[-1])
    else:
        node[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("path", "value", "parameter"),
    [
        (["input", "data", 0, "harmonizeTo"], None, "input.data[0].harmonizeTo"),
        (["input", "data", 0, "itemType"], "PSScene4Band", "input.data[0].itemType"),
        (["input", "planetApiKey"], None, "input.planetApiKey"),
        (["input", "bounds"], {}, "input.bounds"),
        (["input", "provider"], "AIRBUS", "input.provider"),
    ],
)
async def test_bad_planet_orders_are_refused_naming_the_field(
    sh: SentinelHub, path: list[Any], value: Any, parameter: str
) -> None:
    with pytest.raises(BadRequestError) as err:
        await send(sh, "POST", "/orders", bad_order(path, value))
    assert err.value.details[0]["parameter"] == parameter


async def test_bad_maxar_orders_and_searches_are_refused(sh: SentinelHub) -> None:
    for path, value in [
        (["input", "data", 0, "productBands"], "8BB"),
        (["input", "data", 0, "selectedImages"], [str(i) for i in range(11)]),
        (["input", "data", 0, "productKernel"], "BICUBIC"),
    ]:
        with pytest.raises(BadRequestError):
            await send(sh, "POST", "/orders", bad_order(path, value, MAXAR_ORDER))
    search = {"provider": "MAXAR", "bounds": {"bbox": [0, 0, 1, 1]}, "data": [{"productBands": "4BB"}]}
    search["data"][0]["dataFilter"] = {"minSunElevation": 95}
    with pytest.raises(BadRequestError, match="minSunElevation"):
        await send(sh, "POST", "/search", search)


async def test_unknown_ids_are_404_and_wrong_states_409_in_the_service_shape(
    sh: SentinelHub, eo_emulator: Emulator
) -> None:
    for path in (f"/orders/{MISSING}", f"/subscriptions/{MISSING}", f"/orders/{MISSING}/deliveries"):
        with pytest.raises(NotFoundError) as err:
            await send(sh, "GET", path)
        assert err.value.code == "COMMON_NOT_FOUND"
    with pytest.raises(NotFoundError):
        await sh.context.transport.request(
            "GET", f"{BASE}/collections/SENTINEL_2/products/x/thumbnail", operation="t"
        )
    with pytest.raises(NotFoundError, match="BYOC collection"):
        await send(sh, "POST", "/orders", {**PLANET_ORDER, "collectionId": MISSING})
    order = await send(sh, "POST", "/orders", PLANET_ORDER)
    await send(sh, "POST", f"/orders/{order['id']}/confirm")
    with pytest.raises(ConflictError):
        await send(sh, "POST", f"/orders/{order['id']}/confirm")
    with pytest.raises(ConflictError):
        await send(sh, "DELETE", f"/orders/{order['id']}")
    with pytest.raises(BadRequestError):
        await send(sh, "GET", "/orders", status="SHIPPED")
    with pytest.raises(APIError) as refused:
        await send(sh, "GET", "/orders", unknown="1")  # a query parameter the document does not list
    assert refused.value.status == 400


pytestmark = pytest.mark.eo_emulator(seed=13, clock_speed=0.001)
