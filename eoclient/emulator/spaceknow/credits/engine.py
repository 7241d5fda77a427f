"""The engine of the emulated Credits: the ledger, its seeded history, the cost model, allocation.

:func:`ledger` is one emulator's :class:`Ledger` (transactions and
allocations as wire dicts, oldest first, and the tiles each group has
allocated). :func:`quote` prices an area in some scenes for a user's group,
:func:`allocate` spends it (one ``credit.allocate`` transaction and one
allocation per scene with new tiles; the group's balance goes down). Both
raise a :class:`~eoclient.emulator.core.refusal.Refusal` that the calling
route answers as it is. Balances live with the groups in
:mod:`eoclient.emulator.spaceknow.accounts`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.core.state import EmulatorState
from eoclient.emulator.spaceknow.accounts import (
    MAIN_GROUP,
    OTHER_GROUP,
    OUTSIDER,
    TEAMMATE,
    Accounts,
    Group,
    User,
    accounts,
)
from eoclient.emulator.spaceknow.common import scene_not_found
from eoclient.emulator.spaceknow.credits.area import area_polygons, scene_tiles, tile_km2
from eoclient.emulator.spaceknow.scenes import catalogue, find_scene, scene_bbox

__all__ = [
    "RATES",
    "TIERS",
    "Ledger",
    "SceneQuote",
    "allocate",
    "area_cost",
    "ledger",
    "quote",
    "used_by",
    "used_credit",
]


RATES: Final = {"ee": 0.01, "pl": 0.5, "gbdx": 2.0, "airbus": 1.5}
"""Credits per km² by provider (at the ``basic`` tier)."""


TIERS: Final = {"basic": 1.0, "standard": 0.8, "premium": 0.6}
"""The factor of each credits tier."""


@dataclass
class Ledger:
    """All credit bookkeeping: transactions and allocations (wire dicts, oldest first), allocated tiles."""

    transactions: list[dict[str, Any]] = field(default_factory=list)
    allocations: list[dict[str, Any]] = field(default_factory=list)
    allocated: dict[tuple[str, str], set[tuple[int, int]]] = field(default_factory=dict)
    counter: int = 0

    def next_id(self) -> str:
        self.counter += 1
        return f"transaction_{self.counter:08d}"


def ledger(state: EmulatorState) -> Ledger:
    """The credit bookkeeping of this emulator (its history seeded on first use)."""
    return state.store("sk_credits", lambda: _seed(state))


# Who allocated what before the emulator started: (user, area, provider, time).
_HISTORY: Final = (
    (TEAMMATE, "prague", "pl", "2024-03-01 10:00:00"),
    (OUTSIDER, "perth", "gbdx", "2024-03-02 11:00:00"),
)


_OPENING: Final = {MAIN_GROUP: "2024-01-02 09:00:00", OTHER_GROUP: "2024-01-03 09:00:00"}


def _seed(state: EmulatorState) -> Ledger:
    """A history that explains the groups' balances as they are now: credit given, then spent."""
    book, world = Ledger(), accounts(state)
    plans: list[tuple[User, str, dict[str, Any], str]] = []
    spent = dict.fromkeys(world.groups, 0.0)
    for user_id, area, provider, when in _HISTORY:
        user = world.for_subject(user_id)
        scene = next(
            s for s in catalogue() if s["provider"] == provider and s["foreignId"].startswith(area + "-")
        )
        x0, y0, x1, y1 = scene_bbox(scene)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        box = _box(cx - 0.03, cy - 0.02, cx + 0.03, cy + 0.02)
        costs = _costs(state, book, [scene["sceneId"]], box, world.group_of(user), tier=None)
        spent[user.group_id] += _total(costs)
        plans.append((user, scene["sceneId"], box, when))
    for group in world.groups.values():
        # The allocations below take back what is added here: the balance ends where it was.
        group.balance = round(group.balance + spent[group.id], 6)
        book.transactions.append(
            {
                "areaKm2": 0,
                "credit": group.balance,
                "groupId": group.id,
                "id": book.next_id(),
                "kind": "credit.update",
                "time": _OPENING.get(group.id, "2024-01-01 09:00:00"),
                "userId": "auth0|spaceknow-sales",
            }
        )
    for user, scene_id, box, when in plans:
        _allocate(state, book, [scene_id], box, user, time=when, tier=None)
    return book


def _box(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def used_credit(state: EmulatorState, user_id: str) -> float:
    """Credit ``user_id`` has spent on allocations."""
    return used_by(ledger(state), user_id)


def used_by(book: Ledger, user_id: str) -> float:
    """Credit ``user_id`` has spent on allocations, as ``book`` records it."""
    spent: float = sum(
        float(t["credit"])
        for t in book.transactions
        if t["kind"] == "credit.allocate" and t["userId"] == user_id
    )
    return round(spent, 6)


@dataclass(frozen=True)
class SceneQuote:
    """What allocating an area in one scene costs a group now."""

    scene: dict[str, Any]
    tiles: frozenset[tuple[int, int]]  # the tiles not yet allocated by the group
    km2: float  # the whole area (allocated before or not)
    new_km2: float  # the area of ``tiles``
    rate: float  # credits per km², tier included
    cost: float  # ``new_km2 * rate``


def _costs(
    state: EmulatorState,
    book: Ledger,
    scene_ids: Iterable[str],
    geojson: Any,
    group: Group,
    *,
    tier: str | None,
) -> list[SceneQuote]:
    polygons = area_polygons(geojson)
    factor = TIERS[tier or group.credits_tier]
    out: list[SceneQuote] = []
    for scene_id in dict.fromkeys(scene_ids):  # a scene listed twice is paid once
        scene = find_scene(scene_id, state)
        if scene is None:
            raise scene_not_found(scene_id)
        touched = scene_tiles(scene, polygons)
        tiles = touched - book.allocated.get((group.id, scene_id), set())
        km2 = sum(tile_km2(scene, j) for _, j in touched)
        new_km2 = sum(tile_km2(scene, j) for _, j in tiles)
        rate = RATES.get(scene["provider"], 1.0) * factor
        out.append(SceneQuote(scene, frozenset(tiles), km2, new_km2, rate, new_km2 * rate))
    return out


def _total(costs: Iterable[SceneQuote]) -> float:
    return round(sum(round(c.cost, 6) for c in costs if c.tiles), 6)


def _group(world: Accounts, user: User) -> Group:
    group = world.group_of(user)
    if group.license_expired:
        raise Refusal(403, "LICENSE-EXPIRED", f"the license of group {group.id} has expired")
    return group


def _check_tier(tier: Any) -> str | None:
    if tier is not None and tier not in TIERS:
        raise Refusal(400, "BAD-REQUEST", f"creditsTier must be one of {', '.join(TIERS)}")
    return tier  # type: ignore[no-any-return]


def quote(
    state: EmulatorState,
    scene_ids: Sequence[str],
    geojson: Any,
    user_id: str,
    *,
    credits_tier: str | None = None,
) -> list[SceneQuote]:
    """What allocating ``geojson`` in each of ``scene_ids`` would cost ``user_id``'s group now.

    Raises a :class:`Refusal` (``SCENE-NOT-FOUND``, ``LICENSE-EXPIRED``, ``BAD-REQUEST``).
    """
    world = accounts(state)
    group = _group(world, world.for_subject(user_id))
    return _costs(state, ledger(state), scene_ids, geojson, group, tier=_check_tier(credits_tier))


def area_cost(
    state: EmulatorState,
    scene_ids: Sequence[str],
    geojson: Any,
    user_id: str,
    *,
    credits_tier: str | None = None,
) -> tuple[float, float]:
    """``(cost, km2)`` of allocating ``geojson`` in ``scene_ids`` for the group of ``user_id`` (a dry run)."""
    costs = quote(state, scene_ids, geojson, user_id, credits_tier=credits_tier)
    return round(sum(c.cost for c in costs), 2), round(sum(c.new_km2 for c in costs), 3)


def allocate(
    state: EmulatorState,
    scene_ids: Sequence[str],
    geojson: Any,
    user_id: str,
    *,
    credits_tier: str | None = None,
) -> float:
    """Allocate ``geojson`` in ``scene_ids`` for ``user_id``'s group and return what it cost.

    Records one ``credit.allocate`` transaction and one allocation per scene
    with new tiles, and lowers the group's balance. Raises a :class:`Refusal`
    (``CREDIT-LIMIT-EXCEEDED``, ``INSUFFICIENT-CREDIT``, ``SCENE-NOT-FOUND``,
    ``LICENSE-EXPIRED``, ``BAD-REQUEST``) without changing anything.
    """
    when = datetime.fromtimestamp(state.clock.now(), UTC).strftime("%Y-%m-%d %H:%M:%S")
    return _allocate(
        state,
        ledger(state),
        scene_ids,
        geojson,
        accounts(state).for_subject(user_id),
        time=when,
        tier=_check_tier(credits_tier),
    )


def _allocate(
    state: EmulatorState,
    book: Ledger,
    scene_ids: Sequence[str],
    geojson: Any,
    user: User,
    *,
    time: str,
    tier: str | None,
) -> float:
    if not scene_ids:
        raise Refusal(400, "BAD-REQUEST", "sceneIds must not be empty")
    group = _group(accounts(state), user)
    costs = [c for c in _costs(state, book, scene_ids, geojson, group, tier=tier) if c.tiles]
    total = _total(costs)
    used = used_by(book, user.id)
    if user.credit_limit is not None and used + total > user.credit_limit + 1e-9:
        raise Refusal(
            403,
            "CREDIT-LIMIT-EXCEEDED",
            f"allocation costs {total:.2f} credits, the user's limit of {user.credit_limit:g} "
            f"leaves {max(user.credit_limit - used, 0):.2f}",
        )
    if total > group.balance + 1e-9:
        raise Refusal(
            403,
            "INSUFFICIENT-CREDIT",
            f"allocation costs {total:.2f} credits, group {group.id} has {group.balance:.2f}",
        )
    for c in costs:
        tx_id = book.next_id()
        tiles = [list(t) for t in sorted(c.tiles)]
        book.transactions.append(
            {
                "areaKm2": round(c.new_km2, 3),
                "credit": round(c.cost, 6),
                "dataset": c.scene["dataset"],
                "groupId": group.id,
                "id": tx_id,
                "kind": "credit.allocate",
                "provider": c.scene["provider"],
                "sceneId": c.scene["sceneId"],
                "tiles": tiles,
                "time": time,
                "userId": user.id,
            }
        )
        book.allocations.append(
            {"groupId": group.id, "id": tx_id, "sceneId": c.scene["sceneId"], "tiles": tiles}
        )
        book.allocated.setdefault((group.id, c.scene["sceneId"]), set()).update(c.tiles)
    group.balance = round(group.balance - total, 6)
    return total
