"""The emulator's credit bookkeeping, called directly: cost model, tiles, balance, limits."""

from __future__ import annotations

from typing import Any

import pytest

from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.core.state import EmulatorState
from eoclient.emulator.spaceknow.accounts import MAIN_GROUP, TEAMMATE, accounts
from eoclient.emulator.spaceknow.credits import allocate, area_cost, ledger, used_credit
from eoclient.emulator.spaceknow.scenes import catalogue, scene_bbox

USER = "auth0|unit-test-user"


def scene_of(provider: str, area: str, index: int = 1) -> dict[str, Any]:
    return [s for s in catalogue() if s["provider"] == provider and s["foreignId"].startswith(area + "-")][
        index
    ]


def square(scene: dict[str, Any], half: float) -> dict[str, Any]:
    x0, y0, x1, y1 = scene_bbox(scene)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ring = [[cx - half, cy - half], [cx + half, cy - half], [cx + half, cy + half], [cx - half, cy + half]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


@pytest.fixture
def state() -> EmulatorState:
    return EmulatorState.create(seed=1)


def test_seeded_world_is_consistent(state: EmulatorState) -> None:
    book = ledger(state)
    for group in accounts(state).groups.values():
        txs = [t for t in book.transactions if t["groupId"] == group.id]
        added = sum(t["credit"] for t in txs if t["kind"] == "credit.update")
        spent = sum(t["credit"] for t in txs if t["kind"] == "credit.allocate")
        assert group.balance == pytest.approx(added - spent)
    assert used_credit(state, TEAMMATE) > 0
    assert {a["id"] for a in book.allocations} <= {t["id"] for t in book.transactions}


def test_cost_scales_with_area_rate_and_tier(state: EmulatorState) -> None:
    scene = scene_of("pl", "perth")
    small_cost, small_km2 = area_cost(state, [scene["sceneId"]], square(scene, 0.02), USER)
    _, big_km2 = area_cost(state, [scene["sceneId"]], square(scene, 0.04), USER)
    assert big_km2 == pytest.approx(4 * small_km2, rel=0.3)
    assert small_cost == pytest.approx(0.5 * small_km2, abs=0.01)
    premium, _ = area_cost(state, [scene["sceneId"]], square(scene, 0.02), USER, credits_tier="premium")
    assert premium == pytest.approx(0.6 * small_cost, abs=0.01)
    dear = scene_of("gbdx", "perth")
    gbdx_cost, gbdx_km2 = area_cost(state, [dear["sceneId"]], square(dear, 0.02), USER)
    assert gbdx_cost == pytest.approx(2.0 * gbdx_km2, abs=0.01)
    # Outside the footprint there is nothing to pay for; a tiny area still costs one tile.
    far = {"type": "Polygon", "coordinates": [[[0, 0], [0.1, 0], [0.1, 0.1], [0, 0.1], [0, 0]]]}
    assert area_cost(state, [scene["sceneId"]], far, USER) == (0, 0)
    tiny_cost, tiny_km2 = area_cost(state, [scene["sceneId"]], square(scene, 0.0001), USER)
    assert 0 < tiny_km2 < 1.5 and tiny_cost > 0


def test_allocation_lowers_balance_and_repeats_are_free(state: EmulatorState) -> None:
    book = ledger(state)
    scene = scene_of("airbus", "san-francisco")
    before = accounts(state).groups[MAIN_GROUP].balance
    expected, _ = area_cost(state, [scene["sceneId"]], square(scene, 0.02), USER)
    cost = allocate(state, [scene["sceneId"], scene["sceneId"]], square(scene, 0.02), USER)
    assert cost == pytest.approx(expected, abs=0.01)
    assert accounts(state).groups[MAIN_GROUP].balance == pytest.approx(before - cost)
    assert book.transactions[-1]["kind"] == "credit.allocate" and book.transactions[-1]["userId"] == USER
    assert book.allocations[-1]["id"] == book.transactions[-1]["id"]
    count = len(book.transactions)
    assert allocate(state, [scene["sceneId"]], square(scene, 0.015), USER) == 0
    assert len(book.transactions) == count
    assert used_credit(state, USER) == pytest.approx(cost)


def test_limits_and_balance_refuse_without_changing_anything(state: EmulatorState) -> None:
    book = ledger(state)
    scene = scene_of("gbdx", "nairobi")
    allocate(state, [scene_of("pl", "nairobi")["sceneId"]], square(scene_of("pl", "nairobi"), 0.005), USER)
    accounts(state).users[USER].credit_limit = used_credit(state, USER) + 0.5
    snapshot = (len(book.transactions), len(book.allocations), accounts(state).groups[MAIN_GROUP].balance)
    with pytest.raises(Refusal) as limit:
        allocate(state, [scene["sceneId"]], square(scene, 0.05), USER)
    assert (limit.value.status, limit.value.code) == (403, "CREDIT-LIMIT-EXCEEDED")
    accounts(state).users[USER].credit_limit = None
    accounts(state).groups[MAIN_GROUP].balance = 1.0
    with pytest.raises(Refusal) as balance:
        allocate(state, [scene["sceneId"]], square(scene, 0.05), USER)
    assert balance.value.code == "INSUFFICIENT-CREDIT"
    assert (len(book.transactions), len(book.allocations)) == snapshot[:2]


@pytest.mark.parametrize(
    ("scene_ids", "geojson", "code"),
    [
        (["nope"], None, "SCENE-NOT-FOUND"),
        ([], None, "BAD-REQUEST"),
        (None, {"type": "Polygon", "coordinates": [[[0, 86], [1, 86], [1, 87], [0, 86]]]}, "BAD-REQUEST"),
        (None, {"type": "Point", "coordinates": [0, 0]}, "BAD-REQUEST"),
        (None, {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}, "BAD-REQUEST"),
    ],
)
def test_bad_allocations(state: EmulatorState, scene_ids: Any, geojson: Any, code: str) -> None:
    scene = scene_of("pl", "prague")
    with pytest.raises(Refusal) as info:
        allocate(
            state,
            [scene["sceneId"]] if scene_ids is None else scene_ids,
            geojson or square(scene, 0.01),
            USER,
        )
    assert info.value.code == code
