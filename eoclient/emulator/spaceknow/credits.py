"""Emulated SpaceKnow Credits: a group's credit balance, its transactions and allocations, area costs.

Users, groups (balance, credits tier, license) and permissions are
:mod:`eoclient.emulator.spaceknow.accounts`; this module keeps the bookkeeping
(:class:`Ledger`) and the cost model. Every allocation costs the area newly
covered — tiles of 0.01° of a scene's footprint that the group has not
allocated before — times the provider's rate and the tier's factor, and is
recorded as a ``credit.allocate`` transaction plus an allocation (same id),
lowering the group's balance. The seeded history explains the opening
balances: a ``credit.update`` per group, then the teammate's allocation over
Prague and the outsider's over Perth.

Other SpaceKnow families price areas with :func:`quote` and allocate through
:func:`allocate` (a Kraken dry run with ``allocate``); its refusals are
:class:`~eoclient.emulator.core.refusal.Refusal`, answered as they are by the
route that called it::

    cost = allocate(state, scene_ids, extent, current_user(request).id)

Paths follow the permission names (``credits.check-area`` →
``/credits/check-area``); listings page by ``cursor`` (standard base64 of an
offset, :data:`PAGE_SIZE` items a page: :data:`CURSOR`, paged with
:func:`eoclient.emulator.core.paging.page`).

Error codes: ``NOT-AUTHORIZED`` (403, a permission is missing),
``LICENSE-EXPIRED`` (403), ``CREDIT-LIMIT-EXCEEDED`` (403, the user's limit),
``INSUFFICIENT-CREDIT`` (403, the group's balance), ``SCENE-NOT-FOUND``,
``USER-NOT-FOUND``, ``GROUP-NOT-FOUND`` (404), ``INVALID-CURSOR`` and
``BAD-REQUEST`` (400).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler

from eoclient.emulator.core.paging import OffsetToken, page
from eoclient.emulator.core.refusal import Refusal, json_body
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.spaceknow.accounts import (
    MAIN_GROUP,
    OTHER_GROUP,
    OUTSIDER,
    TEAMMATE,
    Accounts,
    Group,
    User,
    accounts,
    current_user,
    require,
)
from eoclient.emulator.spaceknow.common import scene_not_found
from eoclient.emulator.spaceknow.scenes import catalogue, find_scene, scene_bbox

__all__ = [
    "CURSOR",
    "PAGE_SIZE",
    "RATES",
    "TIERS",
    "Ledger",
    "SceneQuote",
    "allocate",
    "area_cost",
    "ledger",
    "quote",
    "setup",
    "used_credit",
]

PAGE_SIZE: Final = 5
TILE_DEG: Final = 0.01
MAX_LATITUDE: Final = 85.0

RATES: Final = {"ee": 0.01, "pl": 0.5, "gbdx": 2.0, "airbus": 1.5}
"""Credits per km² by provider (at the ``basic`` tier)."""
TIERS: Final = {"basic": 1.0, "standard": 0.8, "premium": 0.6}
"""The factor of each credits tier."""
CURSOR: Final = OffsetToken("cursor", urlsafe=False, code="INVALID-CURSOR")
"""The listings' ``cursor``: standard padded base64 of the offset of the next page."""


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


# -- the ledger and its history ------------------------------------------------------------


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
    return _used(ledger(state), user_id)


def _used(book: Ledger, user_id: str) -> float:
    spent: float = sum(
        float(t["credit"])
        for t in book.transactions
        if t["kind"] == "credit.allocate" and t["userId"] == user_id
    )
    return round(spent, 6)


# -- geometry and cost ----------------------------------------------------------------------


def _polygons(geojson: Any) -> list[list[list[list[float]]]]:
    """Polygons (lists of rings) of a (Multi)Polygon, a Feature or a GeometryCollection of them."""
    if not isinstance(geojson, dict):
        raise Refusal(400, "BAD-REQUEST", "geojson must be a GeoJSON geometry object")
    kind, coords = geojson.get("type"), geojson.get("coordinates")
    polygons: list[Any]
    if kind == "Feature":
        return _polygons(geojson.get("geometry"))
    if kind == "GeometryCollection" and isinstance(geojson.get("geometries"), list):
        return [p for part in geojson["geometries"] for p in _polygons(part)]
    if kind == "Polygon" and isinstance(coords, list):
        polygons = [coords]
    elif kind == "MultiPolygon" and isinstance(coords, list):
        polygons = coords
    else:
        raise Refusal(400, "BAD-REQUEST", "geojson must be a Polygon or a MultiPolygon")
    try:
        out = [[[[float(p[0]), float(p[1])] for p in ring] for ring in polygon] for polygon in polygons]
    except (TypeError, ValueError, IndexError):
        raise Refusal(400, "BAD-REQUEST", "geojson coordinates must be [lon, lat] pairs") from None
    points = [p for polygon in out for ring in polygon for p in ring]
    if not points or any(len(ring) < 4 for polygon in out for ring in polygon):
        raise Refusal(400, "BAD-REQUEST", "geojson rings need at least 4 positions")
    for lon, lat in points:
        if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lon) > 180:
            raise Refusal(400, "BAD-REQUEST", "geojson coordinates must be WGS84 lon/lat")
        if abs(lat) > MAX_LATITUDE:
            raise Refusal(400, "BAD-REQUEST", "The GeoJSON must be within -85 to 85 degrees of latitude")
    return out


def _in_ring(x: float, y: float, ring: Sequence[Sequence[float]]) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _in_polygons(x: float, y: float, polygons: list[list[list[list[float]]]]) -> bool:
    return any(
        _in_ring(x, y, poly[0]) and not any(_in_ring(x, y, hole) for hole in poly[1:]) for poly in polygons
    )


def _scene_tiles(scene: dict[str, Any], polygons: list[list[list[list[float]]]]) -> set[tuple[int, int]]:
    """Tiles ``(column, row)`` of the scene's 0.01° grid (row 0 at the north edge) the area touches."""
    x0, y0, x1, y1 = scene_bbox(scene)
    points = [p for polygon in polygons for ring in polygon for p in ring]
    gx0, gy0 = max(x0, min(p[0] for p in points)), max(y0, min(p[1] for p in points))
    gx1, gy1 = min(x1, max(p[0] for p in points)), min(y1, max(p[1] for p in points))
    if gx0 > gx1 or gy0 > gy1:
        return set()
    cols = range(
        int((gx0 - x0) / TILE_DEG), min(math.ceil((gx1 - x0) / TILE_DEG), math.ceil((x1 - x0) / TILE_DEG))
    )
    rows = range(
        int((y1 - gy1) / TILE_DEG), min(math.ceil((y1 - gy0) / TILE_DEG), math.ceil((y1 - y0) / TILE_DEG))
    )
    tiles: set[tuple[int, int]] = set()
    for i in cols:
        for j in rows:
            cx, cy = x0 + (i + 0.5) * TILE_DEG, y1 - (j + 0.5) * TILE_DEG
            if _in_polygons(cx, cy, polygons):
                tiles.add((i, j))
    if tiles:
        return tiles
    # An area too small to hold a tile centre still touches the tiles its corners are in.
    for px, py in points:
        if x0 <= px <= x1 and y0 <= py <= y1:
            i = min(int((px - x0) / TILE_DEG), max(math.ceil((x1 - x0) / TILE_DEG) - 1, 0))
            j = min(int((y1 - py) / TILE_DEG), max(math.ceil((y1 - y0) / TILE_DEG) - 1, 0))
            tiles.add((i, j))
    return tiles


def _tile_km2(scene: dict[str, Any], row: int) -> float:
    lat = scene_bbox(scene)[3] - (row + 0.5) * TILE_DEG
    return (TILE_DEG * 111.32 * math.cos(math.radians(lat))) * (TILE_DEG * 110.574)


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
    polygons = _polygons(geojson)
    factor = TIERS[tier or group.credits_tier]
    out: list[SceneQuote] = []
    for scene_id in dict.fromkeys(scene_ids):  # a scene listed twice is paid once
        scene = find_scene(scene_id, state)
        if scene is None:
            raise scene_not_found(scene_id)
        touched = _scene_tiles(scene, polygons)
        tiles = touched - book.allocated.get((group.id, scene_id), set())
        km2 = sum(_tile_km2(scene, j) for _, j in touched)
        new_km2 = sum(_tile_km2(scene, j) for _, j in tiles)
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
    used = _used(book, user.id)
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


# -- HTTP -----------------------------------------------------------------------------------


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise Refusal(400, "BAD-REQUEST", f"{key} must be a non-empty string or null")
    return value


def _page(items: list[dict[str, Any]], cursor: Any) -> web.Response:
    try:
        offset = CURSOR.decode(cursor)
    except Refusal:
        raise Refusal(400, "INVALID-CURSOR", "the cursor is not one this service gave") from None
    if cursor is not None and not 0 < offset <= len(items):
        raise Refusal(400, "INVALID-CURSOR", "the cursor is out of range")
    window = page(items, offset, PAGE_SIZE)
    answer: dict[str, Any] = {"results": window.items}
    if window.next is not None:
        answer["cursor"] = CURSOR.encode(window.next)
    return web.json_response(answer)


def _other_user(world: Accounts, user_id: str | None, me: User) -> User:
    if user_id is None or user_id == me.id:
        return me
    user = world.find(user_id)
    if user is None:
        raise Refusal(404, "USER-NOT-FOUND", f"user {user_id} not found")
    return user


async def _check_area(request: web.Request) -> web.Response:
    require(request, "credits.check-area")
    state = get_state(request)
    body = await json_body(request, required=False)
    scene_ids = body.get("sceneIds")
    if (
        not isinstance(scene_ids, list)
        or not scene_ids
        or not all(isinstance(s, str) and s for s in scene_ids)
    ):
        raise Refusal(400, "BAD-REQUEST", "sceneIds must be a non-empty list of scene ids")
    if "geojson" not in body:
        raise Refusal(400, "BAD-REQUEST", "geojson is required")
    me = current_user(request)
    user_id = _optional_str(body, "userId")
    if user_id is not None and user_id != me.id:
        require(request, "admin.credits.check-area")
    user = _other_user(accounts(state), user_id, me)
    cost, km2 = area_cost(
        state, scene_ids, body["geojson"], user.id, credits_tier=_optional_str(body, "creditsTier")
    )
    free = body.get("costFreeAllocation")
    if free is not None and not isinstance(free, bool):
        raise Refusal(400, "BAD-REQUEST", "costFreeAllocation must be a boolean")
    return web.json_response({"cost": 0.0 if free else cost, "km2": km2})


def _listing(kind: str) -> Handler:
    async def listing(request: web.Request) -> web.Response:
        state = get_state(request)
        body = await json_body(request, required=False)
        group_id = _optional_str(body, "groupId")
        if group_id is not None:
            require(request, f"admin.credits.list-group-{kind}")
            if group_id not in accounts(state).groups:
                raise Refusal(404, "GROUP-NOT-FOUND", f"group {group_id} not found")
        else:
            require(request, f"credits.list-group-{kind}")
            group_id = current_user(request).group_id
        book = ledger(state)
        items = book.transactions if kind == "transactions" else book.allocations
        return _page([item for item in items if item["groupId"] == group_id], body.get("cursor"))

    return listing


async def _set_user_limit(request: web.Request) -> web.Response:
    require(request, "admin.credits.set-user-credit-limit")
    body = await json_body(request, required=False)
    user_id = body.get("userId")
    if not isinstance(user_id, str) or not user_id:
        raise Refusal(400, "BAD-REQUEST", "userId is required")
    limit = body.get("creditLimit")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int | float) or not math.isfinite(limit) or limit < 0
    ):
        raise Refusal(400, "BAD-REQUEST", "creditLimit must be a number >= 0 or null")
    target = accounts(get_state(request)).find(user_id)
    if target is None:
        raise Refusal(404, "USER-NOT-FOUND", f"user {user_id} not found")
    if target.group_id != current_user(request).group_id:
        require(request, "admin.users.manage")
    target.credit_limit = None if limit is None else float(limit)
    return web.json_response({})


async def _user_info(request: web.Request) -> web.Response:
    require(request, "credits.user-info")
    state = get_state(request)
    body = await json_body(request, required=False)
    me = current_user(request)
    user_id = _optional_str(body, "userId")
    if user_id is not None and user_id != me.id:
        require(request, "admin.credits.user-info")
    world = accounts(state)
    user = _other_user(world, user_id, me)
    group = world.group_of(user)
    used = _used(ledger(state), user.id)
    remaining = group.balance
    if user.credit_limit is not None:
        remaining = min(remaining, max(user.credit_limit - used, 0.0))
    return web.json_response(
        {
            "creditsTier": group.credits_tier,
            "email": user.email,
            "groupId": group.id,
            "id": user.id,
            "name": user.name,
            "remainingCredit": round(remaining, 2),
            "usedCredit": round(used, 2),
        }
    )


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the Credits routes to the SpaceKnow app."""
    del state
    add_route(
        app,
        "POST",
        "/credits/check-area",
        _check_area,
        required_fields=("sceneIds", "geojson"),
        fields=("userId", "creditsTier", "costFreeAllocation"),
    )
    for kind in ("transactions", "allocations"):
        add_route(
            app,
            "POST",
            f"/credits/list-group-{kind}",
            _listing(kind),
            fields=("groupId", "cursor"),
        )
    add_route(
        app,
        "POST",
        "/credits/set-user-credit-limit",
        _set_user_limit,
        required_fields=("userId",),
        fields=("creditLimit",),
    )
    add_route(app, "POST", "/credits/user-info", _user_info, fields=("userId",))
