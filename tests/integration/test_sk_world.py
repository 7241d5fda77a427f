"""One emulated SpaceKnow world: scenes, accounts, credits and ingested imagery seen alike by every family."""

from __future__ import annotations

from typing import Any

import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.spaceknow import scenes as sk_scenes
from eoclient.emulator.spaceknow.accounts import MAIN_GROUP, TEAMMATE, accounts, subject_of
from eoclient.emulator.spaceknow.credits import ledger
from eoclient.errors import JobFailedError, NotFoundError, PermissionDeniedError
from eoclient.geo import BBox
from eoclient.spaceknow import SpaceKnow
from eoclient.spaceknow.imagery_models import Scene

pytestmark = pytest.mark.eo_emulator(clock_speed=500.0)

PSSCENE = ("pl", "PSScene")
NAIROBI = BBox(36.80, -1.30, 36.84, -1.27)  # no allocation of the seeded history is here


def square(scene: Scene | dict[str, Any], size: float = 0.02) -> dict[str, Any]:
    """A square of ``size`` degrees at the centre of a scene's footprint."""
    raw = scene if isinstance(scene, dict) else scene.to_dict()
    x0, y0, x1, y1 = sk_scenes.scene_bbox(raw)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return BBox(cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2).__geo_interface__


async def planet_scenes(sk: SpaceKnow, count: int) -> list[Scene]:
    found = await sk.imagery.search(
        [PSSCENE], NAIROBI.__geo_interface__, start_datetime="2021-01-01", end_datetime="2021-03-31"
    ).collect()
    assert len(found) >= count
    return found[:count]


def dry_run_of(scene: Scene) -> list[dict[str, Any]]:
    return [{"mapTypes": ["imagery"], "scenes": [[scene.scene_id]]}]


async def test_searched_scene_dry_run_allocates_through_credits(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    [scene] = await planet_scenes(sk, 1)
    aoi = square(scene)
    before = await sk.credits.user_info()
    quoted = await sk.credits.check_area([scene.scene_id], aoi)

    priced = await (await sk.kraken.dry_run(dry_run_of(scene), aoi))
    assert priced.allocated_credits == 0
    assert priced.cost == pytest.approx(quoted.cost, abs=0.01) and priced.cost > 0
    assert (await sk.credits.user_info()).remaining_credit == before.remaining_credit

    spent = await (await sk.kraken.dry_run(dry_run_of(scene), aoi, allocate=True))
    assert spent.allocated_credits == pytest.approx(priced.cost, abs=0.001)
    assert spent.allocated_km2 == pytest.approx(quoted.km2, abs=0.001)
    after = await sk.credits.user_info()
    assert before.remaining_credit is not None and before.used_credit is not None
    assert after.remaining_credit == pytest.approx(
        before.remaining_credit - spent.allocated_credits, abs=0.01
    )
    assert after.used_credit == pytest.approx(before.used_credit + spent.allocated_credits, abs=0.01)
    group = accounts(eo_emulator.state).groups[MAIN_GROUP]
    assert after.remaining_credit == pytest.approx(group.balance, abs=0.01)

    [transaction] = [t for t in await sk.credits.transactions().collect() if t.scene_id == scene.scene_id]
    assert transaction.kind == "credit.allocate" and transaction.user_id == before.id
    assert transaction.credit == pytest.approx(spent.allocated_credits)
    allocations = await sk.credits.allocations().collect()
    assert transaction.id in {a.id for a in allocations if a.scene_id == scene.scene_id}

    # Allocated once, the area is the group's: free in credits and in Kraken, allocated again for nothing.
    assert (await sk.credits.check_area([scene.scene_id], aoi)).cost == 0
    again = await (await sk.kraken.dry_run(dry_run_of(scene), aoi, allocate=True))
    assert again.cost == 0 and again.allocated_credits == 0 and again.ingested_km2 > 0
    assert [a.scene_id for a in await sk.credits.allocations().collect()].count(scene.scene_id) == 1


async def test_credit_refusals_surface_from_kraken(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    cheap, dear = await planet_scenes(sk, 2)
    await (await sk.kraken.dry_run(dry_run_of(cheap), square(cheap, 0.005), allocate=True))
    me = await sk.credits.user_info()
    assert me.used_credit is not None and me.used_credit > 0
    await sk.credits.set_user_limit(me.id, me.used_credit + 0.01)
    book = ledger(eo_emulator.state)
    history = (len(book.transactions), accounts(eo_emulator.state).groups[MAIN_GROUP].balance)

    with pytest.raises(PermissionDeniedError) as limit:
        await sk.kraken.dry_run(dry_run_of(dear), square(dear), allocate=True)
    assert limit.value.code == "CREDIT-LIMIT-EXCEEDED"
    await sk.credits.set_user_limit(me.id, None)
    accounts(eo_emulator.state).groups[MAIN_GROUP].balance = 0.01
    with pytest.raises(PermissionDeniedError) as balance:
        await sk.kraken.dry_run(dry_run_of(dear), square(dear), allocate=True)
    assert balance.value.code == "INSUFFICIENT-CREDIT"
    assert len(book.transactions) == history[0]
    # Pricing alone spends nothing, so it is never refused for want of credit.
    assert (await (await sk.kraken.dry_run(dry_run_of(dear), square(dear)))).cost > 0


async def test_guardian_and_teammate_are_the_same_users_in_users_and_credits(
    sk: SpaceKnow, eo_emulator: Emulator
) -> None:
    await sk.users.create_guardian_user("gwen@example.com", "a-long-guardian-password", "Gwen Guardian")
    guardian_id = subject_of("gwen@example.com")
    accounts(eo_emulator.state).grant("admin.credits.user-info")
    mine = await sk.credits.user_info()
    credit = await sk.credits.user_info(guardian_id)
    assert (credit.email, credit.name, credit.group_id) == ("gwen@example.com", "Gwen Guardian", MAIN_GROUP)
    assert credit.used_credit == 0 and credit.remaining_credit == mine.remaining_credit
    # Same group: its manager sets its credit limit without admin.users.manage.
    accounts(eo_emulator.state).revoke("admin.users.manage")
    await sk.credits.set_user_limit(guardian_id, 5)
    assert (await sk.credits.user_info(guardian_id)).remaining_credit == 5
    accounts(eo_emulator.state).grant("admin.users.manage")

    mate_user, mate_credit = await sk.users.info(TEAMMATE), await sk.credits.user_info(TEAMMATE)
    assert (mate_user.email, mate_user.name) == (mate_credit.email, mate_credit.name)
    assert mate_credit.group_id == MAIN_GROUP and mate_credit.used_credit

    await sk.users.delete_guardian_user("gwen@example.com")
    with pytest.raises(NotFoundError) as gone:
        await sk.credits.user_info(guardian_id)
    assert gone.value.code == "USER-NOT-FOUND"


async def test_one_permission_store_for_every_family(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    [scene] = await planet_scenes(sk, 1)
    accounts(eo_emulator.state).revoke("kraken.dry-run", "imagery.images.pl.PSScene")
    me = await sk.users.info()
    assert not me.has_permission("kraken.dry-run") and me.has_permission("kraken.release")
    with pytest.raises(PermissionDeniedError) as dry:
        await sk.kraken.dry_run(dry_run_of(scene), square(scene))
    with pytest.raises(PermissionDeniedError) as release:
        await sk.kraken.release("imagery", [scene.scene_id], square(scene))
    assert dry.value.code == release.value.code == "NOT-AUTHORIZED"
    assert "imagery.images.pl.PSScene" in (release.value.service_message or "")
    assert PSSCENE not in {(p.provider, p.dataset) for p in await sk.imagery.providers()}
    imagery = {a.map_type: a for a in await sk.kraken.algorithms().collect()}["imagery"]
    assert "pl" not in imagery.available_datasets and "gbdx" in imagery.available_datasets


async def test_ingested_imagery_is_shared_by_imagery_kraken_and_credits(sk: SpaceKnow) -> None:
    [scene] = await planet_scenes(sk, 1)
    aoi = square(scene)
    failed = await sk.kraken.release("imagery", [scene.scene_id], aoi, only_ingested=True)
    with pytest.raises(JobFailedError) as not_ingested:
        await failed
    assert "NO-INGESTED-IMAGERY" in (not_ingested.value.error or "")
    small = square(scene, 0.001)
    assert await sk.imagery.search([PSSCENE], small, only_ingested=True).collect() == []
    await (await sk.kraken.release("imagery", [scene.scene_id], aoi))
    # Released imagery is ingested: found by an onlyIngested search, still listed once otherwise.
    ingested = await sk.imagery.search([PSSCENE], small, only_ingested=True).collect()
    assert [s.scene_id for s in ingested] == [scene.scene_id]
    everything = [s.scene_id for s in await sk.imagery.search([PSSCENE], small).collect()]
    assert everything.count(scene.scene_id) == 1
    await (await sk.kraken.release("imagery", [scene.scene_id], aoi, only_ingested=True))

    # An uploaded scene is a scene for Kraken and credits too.
    uploaded = (await sk.imagery.ingest("pl", b"an uploaded PlanetScope scene" * 1000)).ingested_scenes[0]
    info = await sk.imagery.scene_info(uploaded.scene_id)
    released = await (
        await sk.kraken.release("imagery", [uploaded.scene_id], square(info.to_dict()), only_ingested=True)
    )
    assert released.tiles
    assert (await sk.credits.check_area([uploaded.scene_id], square(info.to_dict()))).cost > 0


async def test_unknown_scene_is_the_same_error_everywhere(sk: SpaceKnow) -> None:
    aoi = NAIROBI.__geo_interface__
    calls = [
        sk.imagery.scene_info("no-such-scene"),
        sk.imagery.get_image("no-such-scene", aoi),
        sk.kraken.release("imagery", ["no-such-scene"], aoi),
        sk.kraken.dry_run([{"mapTypes": ["imagery"], "scenes": [["no-such-scene"]]}], aoi),
        sk.credits.check_area(["no-such-scene"], aoi),
    ]
    for call in calls:
        with pytest.raises(NotFoundError) as info:
            await call
        assert (info.value.status, info.value.code) == (404, "SCENE-NOT-FOUND")
