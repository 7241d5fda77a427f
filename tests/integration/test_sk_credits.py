"""SpaceKnow Credits against the emulator: area checks, balance, paging, limits, permissions."""

from __future__ import annotations

import math
from typing import Any

import pytest
from aiohttp import web

from eoclient.emulator import Emulator
from eoclient.emulator.core.auth import TOKEN_KEY
from eoclient.emulator.core.refusal import Refusal, spaceknow_shape
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.spaceknow.accounts import MAIN_GROUP, OTHER_GROUP, OUTSIDER, TEAMMATE, accounts
from eoclient.emulator.spaceknow.credits import PAGE_SIZE, allocate, area_cost, ledger
from eoclient.emulator.spaceknow.scenes import catalogue, scene_bbox
from eoclient.errors import NotFoundError, PermissionDeniedError, ValidationError
from eoclient.spaceknow import SpaceKnow


def allocate_route(app: web.Application, state: EmulatorState) -> None:
    """A test-only endpoint that allocates the way a Kraken release would."""

    async def _allocate(request: web.Request) -> web.Response:
        body = await request.json()
        try:
            cost = allocate(get_state(request), body["sceneIds"], body["geojson"], request[TOKEN_KEY].subject)
        except Refusal as exc:
            return spaceknow_shape(exc)
        return web.json_response({"cost": cost})

    app.router.add_post("/_test/credits/allocate", _allocate)


pytestmark = pytest.mark.eo_emulator(clock_speed=500.0, spaceknow_setup=[allocate_route])


def scenes(provider: str, area: str, count: int) -> list[dict[str, Any]]:
    found = [s for s in catalogue() if s["provider"] == provider and s["foreignId"].startswith(area + "-")]
    return found[:count]


def box_in(scene: dict[str, Any], half_w: float = 0.02, half_h: float = 0.015) -> dict[str, Any]:
    """A small polygon around the centre of a scene's footprint."""
    x0, y0, x1, y1 = scene_bbox(scene)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ring = [[cx - half_w, cy - half_h], [cx + half_w, cy - half_h], [cx + half_w, cy + half_h]]
    ring += [[cx - half_w, cy + half_h], ring[0]]
    return {"type": "Polygon", "coordinates": [ring]}


def credit_requests(emu: Emulator) -> list[Any]:
    return [r for r in emu.requests if r.path.startswith("/credits/")]


async def my_id(sk: SpaceKnow) -> str:
    return (await sk.credits.user_info()).id


async def test_user_info_reports_group_balance(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    info = await sk.credits.user_info()
    world = accounts(eo_emulator.state)
    assert info.group_id == MAIN_GROUP
    assert info.email == eo_emulator.credentials.sk_username
    assert info.credits_tier == "basic"
    assert info.used_credit == 0
    assert info.remaining_credit == pytest.approx(world.groups[MAIN_GROUP].balance, abs=0.01)
    assert info.id.startswith("auth0|")


async def test_check_area_reports_cost_and_allocates_nothing(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    scene = scenes("pl", "prague", 2)[1]  # the first one's centre is the teammate's already
    geometry = box_in(scene)
    before = await sk.credits.user_info()
    check = await sk.credits.check_area([scene["sceneId"]], geometry)
    me = before.id
    expected_cost, expected_km2 = area_cost(eo_emulator.state, [scene["sceneId"]], geometry, me)
    assert check.cost == pytest.approx(expected_cost) and check.cost > 0
    assert check.km2 == pytest.approx(expected_km2) and check.km2 > 0
    # PlanetScope costs 0.5 credits per km² at the basic tier.
    assert check.cost == pytest.approx(check.km2 * 0.5, abs=0.02)
    after = await sk.credits.user_info()
    assert after.remaining_credit == before.remaining_credit
    # A cheaper tier, and a cost-free allocation, on request.
    premium = await sk.credits.check_area([scene["sceneId"]], geometry, credits_tier="premium")
    assert premium.cost == pytest.approx(check.cost * 0.6, abs=0.02)
    free = await sk.credits.check_area([scene["sceneId"]], geometry, cost_free_allocation=True)
    assert free.cost == 0 and free.km2 == check.km2
    body = credit_requests(eo_emulator)[1].body
    assert body is not None and b'"sceneIds"' in body and b'"geojson"' in body


async def test_allocated_area_is_free_and_balance_goes_down(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    scene = scenes("gbdx", "san-francisco", 1)[0]
    geometry = box_in(scene)
    before = await sk.credits.user_info()
    check = await sk.credits.check_area([scene["sceneId"]], geometry)
    cost = allocate(eo_emulator.state, [scene["sceneId"]], geometry, before.id)
    assert cost == pytest.approx(check.cost, abs=0.01)
    after = await sk.credits.user_info()
    assert after.remaining_credit == pytest.approx(before.remaining_credit - cost, abs=0.01)
    assert after.used_credit == pytest.approx(cost, abs=0.01)
    # The same area again costs nothing; a larger one costs only what is new.
    assert (await sk.credits.check_area([scene["sceneId"]], geometry)).cost == 0
    larger = await sk.credits.check_area([scene["sceneId"]], box_in(scene, 0.04, 0.03))
    fresh = await sk.credits.check_area([scenes("gbdx", "san-francisco", 2)[1]["sceneId"]], geometry)
    assert larger.cost > 0 and larger.km2 < 4 * fresh.km2
    # The allocation shows in the history, under the transaction's id.
    transactions = await sk.credits.transactions().collect()
    allocations = await sk.credits.allocations().collect()
    mine = [t for t in transactions if t.user_id == before.id]
    assert [t.kind for t in mine] == ["credit.allocate"]
    assert mine[0].scene_id == scene["sceneId"] and mine[0].credit == pytest.approx(cost)
    assert mine[0].provider == "gbdx" and mine[0].tiles
    assert mine[0].id in {a.id for a in allocations}


async def test_allocating_through_an_endpoint(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    scene = scenes("airbus", "nairobi", 1)[0]
    before = (await sk.credits.user_info()).remaining_credit
    resp = await sk.request(
        "POST", "/_test/credits/allocate", json={"sceneIds": [scene["sceneId"]], "geojson": box_in(scene)}
    )
    cost = resp.json()["cost"]
    assert cost > 0
    assert before is not None
    assert (await sk.credits.user_info()).remaining_credit == pytest.approx(before - cost, abs=0.01)


async def test_transactions_and_allocations_page_to_the_end(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    me = await my_id(sk)
    for scene in scenes("pl", "perth", 10):
        allocate(eo_emulator.state, [scene["sceneId"]], box_in(scene, 0.01, 0.01), me)
    book = ledger(eo_emulator.state)
    truth_tx = [t["id"] for t in book.transactions if t["groupId"] == MAIN_GROUP]
    truth_alloc = [a["id"] for a in book.allocations if a["groupId"] == MAIN_GROUP]
    assert len(truth_tx) > 2 * PAGE_SIZE

    paginator = sk.credits.transactions()
    pages = [page async for page in paginator.pages()]
    assert [t.id for page in pages for t in page.items] == truth_tx
    assert len(pages) == math.ceil(len(truth_tx) / PAGE_SIZE)
    assert all(len(p.items) == PAGE_SIZE for p in pages[:-1])
    allocations = await sk.credits.allocations().collect()
    assert [a.id for a in allocations] == truth_alloc
    assert all(a.group_id == MAIN_GROUP and a.tiles for a in allocations)

    # max_items stops without asking for further pages.
    eo_emulator.requests.clear()
    first = await sk.credits.transactions(max_items=PAGE_SIZE + 1).collect()
    assert [t.id for t in first] == truth_tx[: PAGE_SIZE + 1]
    assert len(credit_requests(eo_emulator)) == 2
    assert b"cursor" in (credit_requests(eo_emulator)[1].body or b"")


async def test_user_credit_limit_is_enforced(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    me = await my_id(sk)
    cheap, dear = scenes("pl", "san-francisco", 2)
    small = box_in(cheap, 0.01, 0.01)
    spent = allocate(eo_emulator.state, [cheap["sceneId"]], small, me)
    await sk.credits.set_user_limit(me, spent + 1.0)
    info = await sk.credits.user_info()
    assert info.remaining_credit == pytest.approx(1.0, abs=0.01)
    transactions_before = len(ledger(eo_emulator.state).transactions)
    balance_before = accounts(eo_emulator.state).groups[MAIN_GROUP].balance

    with pytest.raises(Refusal) as direct:
        allocate(eo_emulator.state, [dear["sceneId"]], box_in(dear), me)
    assert direct.value.code == "CREDIT-LIMIT-EXCEEDED"
    with pytest.raises(PermissionDeniedError) as through_api:
        await sk.request(
            "POST", "/_test/credits/allocate", json={"sceneIds": [dear["sceneId"]], "geojson": box_in(dear)}
        )
    assert through_api.value.code == "CREDIT-LIMIT-EXCEEDED"
    assert len(ledger(eo_emulator.state).transactions) == transactions_before
    assert accounts(eo_emulator.state).groups[MAIN_GROUP].balance == balance_before

    # Lifting the limit lets the same allocation through.
    await sk.credits.set_user_limit(me, None)
    assert allocate(eo_emulator.state, [dear["sceneId"]], box_in(dear), me) > 0
    sent = [r.body for r in credit_requests(eo_emulator) if r.path == "/credits/set-user-credit-limit"]
    assert sent[-1] is not None and b'"creditLimit":null' in sent[-1]


async def test_group_balance_cannot_go_below_zero(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    me = await my_id(sk)
    accounts(eo_emulator.state).groups[MAIN_GROUP].balance = 0.5
    scene = scenes("gbdx", "prague", 1)[0]
    with pytest.raises(Refusal) as info:
        allocate(eo_emulator.state, [scene["sceneId"]], box_in(scene), me)
    assert info.value.code == "INSUFFICIENT-CREDIT"
    assert (await sk.credits.user_info()).remaining_credit == 0.5


async def test_set_limit_of_teammate_and_outsider(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    # The login user manages users (admin.users.manage, see test_sk_users): here it is a plain member.
    accounts(eo_emulator.state).revoke("admin.users.manage")
    await sk.credits.set_user_limit(TEAMMATE, 100)
    assert accounts(eo_emulator.state).users[TEAMMATE].credit_limit == 100
    with pytest.raises(PermissionDeniedError) as outside:
        await sk.credits.set_user_limit(OUTSIDER, 100)
    assert outside.value.code == "NOT-AUTHORIZED"
    with pytest.raises(NotFoundError) as unknown:
        await sk.credits.set_user_limit("auth0|nobody", 1)
    assert unknown.value.code == "USER-NOT-FOUND"
    me = await my_id(sk)
    accounts(eo_emulator.state).grant("admin.users.manage", user_id=me)
    await sk.credits.set_user_limit(OUTSIDER, 12.5)
    assert accounts(eo_emulator.state).users[OUTSIDER].credit_limit == 12.5
    accounts(eo_emulator.state).revoke("admin.credits.set-user-credit-limit", user_id=me)
    with pytest.raises(PermissionDeniedError):
        await sk.credits.set_user_limit(TEAMMATE, 1)


async def test_group_id_needs_admin_permissions(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    for listing in (sk.credits.transactions, sk.credits.allocations):
        with pytest.raises(PermissionDeniedError) as info:
            await listing(group_id=OTHER_GROUP).collect()
        assert info.value.code == "NOT-AUTHORIZED"
        # Even your own group, when named, is an admin's query.
        with pytest.raises(PermissionDeniedError):
            await listing(group_id=MAIN_GROUP).collect()
    me = await my_id(sk)
    accounts(eo_emulator.state).grant(
        "admin.credits.list-group-transactions", "admin.credits.list-group-allocations", user_id=me
    )
    other = await sk.credits.transactions(group_id=OTHER_GROUP).collect()
    book = ledger(eo_emulator.state)
    assert [t.id for t in other] == [t["id"] for t in book.transactions if t["groupId"] == OTHER_GROUP]
    assert {t.group_id for t in other} == {OTHER_GROUP}
    other_alloc = await sk.credits.allocations(group_id=OTHER_GROUP).collect()
    assert [a.id for a in other_alloc] == [a["id"] for a in book.allocations if a["groupId"] == OTHER_GROUP]
    with pytest.raises(NotFoundError) as missing:
        await sk.credits.transactions(group_id="group_nope").collect()
    assert missing.value.code == "GROUP-NOT-FOUND"


async def test_other_users_need_special_permissions(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    scene = scenes("pl", "prague", 1)[0]
    with pytest.raises(PermissionDeniedError):
        await sk.credits.user_info(TEAMMATE)
    with pytest.raises(PermissionDeniedError):
        await sk.credits.check_area([scene["sceneId"]], box_in(scene), user_id=TEAMMATE)
    me = await my_id(sk)
    accounts(eo_emulator.state).grant("admin.credits.user-info", "admin.credits.check-area", user_id=me)
    mate = await sk.credits.user_info(TEAMMATE)
    assert mate.id == TEAMMATE and mate.used_credit is not None and mate.used_credit > 0
    # The teammate's seeded allocation is the group's: it is free for everyone in the group.
    seeded = ledger(eo_emulator.state).allocations[0]
    seeded_scene = next(s for s in catalogue() if s["sceneId"] == seeded["sceneId"])
    x0, y0, x1, y1 = scene_bbox(seeded_scene)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    inner = {"type": "Polygon", "coordinates": [[[cx - 0.01, cy - 0.01], [cx + 0.01, cy - 0.01],
             [cx + 0.01, cy + 0.01], [cx - 0.01, cy + 0.01], [cx - 0.01, cy - 0.01]]]}  # fmt: skip
    assert (await sk.credits.check_area([seeded["sceneId"]], inner, user_id=TEAMMATE)).cost == 0
    accounts(eo_emulator.state).revoke("credits.check-area", user_id=me)
    with pytest.raises(PermissionDeniedError):
        await sk.credits.check_area([scene["sceneId"]], box_in(scene))


async def test_service_side_refusals(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    scene = scenes("pl", "prague", 1)[0]
    with pytest.raises(NotFoundError) as unknown_scene:
        await sk.credits.check_area(["no-such-scene"], box_in(scene))
    assert unknown_scene.value.code == "SCENE-NOT-FOUND"
    accounts(eo_emulator.state).groups[MAIN_GROUP].license_expired = True
    with pytest.raises(PermissionDeniedError) as expired:
        await sk.credits.check_area([scene["sceneId"]], box_in(scene))
    assert expired.value.code == "LICENSE-EXPIRED"


async def test_input_errors_are_caught_before_sending(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    scene = scenes("pl", "prague", 1)[0]
    geometry = box_in(scene)
    north = {"type": "Polygon", "coordinates": [[[10, 80], [11, 80], [11, 86], [10, 86], [10, 80]]]}
    south = {"type": "MultiPolygon", "coordinates": [[[[10, -86], [11, -86], [11, -80], [10, -86]]]]}
    cases: list[tuple[str, Any]] = [
        ("scene_ids", sk.credits.check_area([], geometry)),
        ("scene_ids", sk.credits.check_area(scene["sceneId"], geometry)),
        ("scene_ids[1]", sk.credits.check_area([scene["sceneId"], ""], geometry)),
        ("geojson", sk.credits.check_area([scene["sceneId"]], north)),
        ("geojson", sk.credits.check_area([scene["sceneId"]], south)),
        ("geojson", sk.credits.check_area([scene["sceneId"]], {"type": "Blob", "coordinates": [1]})),
        ("user_id", sk.credits.check_area([scene["sceneId"]], geometry, user_id="")),
        ("user_id", sk.credits.set_user_limit("", 3)),
        ("credit_limit", sk.credits.set_user_limit(TEAMMATE, -1)),
        ("credit_limit", sk.credits.set_user_limit(TEAMMATE, float("nan"))),
        ("user_id", sk.credits.user_info("")),
    ]
    for field, call in cases:
        with pytest.raises(ValidationError) as info:
            await call
        assert info.value.field == field
    with pytest.raises(ValidationError):
        sk.credits.transactions(group_id="")
    assert credit_requests(eo_emulator) == []
