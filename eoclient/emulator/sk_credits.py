"""Emulated SpaceKnow Credits: accounts and permissions, a group credit balance, allocations.

The world: the group ``group_emulator`` (1000 credits, tier ``basic``) holds
the emulator's login user (created on first sight of its token) and a
teammate who already allocated an area over Prague; ``group_other`` holds one
outsider. Every allocation costs the area newly covered — tiles of 0.01° of a
scene's footprint that the group has not allocated before — times the
provider's rate and the tier's factor, and is recorded as a ``credit.allocate``
transaction plus an allocation (same id), lowering the group's balance.

Other SpaceKnow families allocate through :func:`allocate` (e.g. a Kraken
release)::

    try:
        cost = allocate(state, scene_ids, extent, request[TOKEN_KEY].subject)
    except CreditsError as exc:
        return exc.response()

and check permissions with :func:`require`. Paths follow the permission names
(``credits.check-area`` → ``/credits/check-area``); listings page by
``cursor`` (base64 of an offset, :data:`PAGE_SIZE` items a page).

Error codes: ``NOT-AUTHORIZED`` (403, a permission is missing),
``LICENSE-EXPIRED`` (403), ``CREDIT-LIMIT-EXCEEDED`` (403, the user's limit),
``INSUFFICIENT-CREDIT`` (403, the group's balance), ``SCENE-NOT-FOUND``,
``USER-NOT-FOUND``, ``GROUP-NOT-FOUND`` (404), ``INVALID-CURSOR`` and
``BAD-REQUEST`` (400).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import math
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.auth import TOKEN_KEY
from eoclient.emulator.errors import sk_error
from eoclient.emulator.sk_scenes import catalogue, get_scene, scene_bbox
from eoclient.emulator.state import EmulatorState, get_state

__all__ = [
    "DEFAULT_PERMISSIONS",
    "MAIN_GROUP",
    "OTHER_GROUP",
    "OUTSIDER",
    "PAGE_SIZE",
    "TEAMMATE",
    "Account",
    "CreditsError",
    "Group",
    "Ledger",
    "allocate",
    "area_cost",
    "caller",
    "grant",
    "ledger",
    "require",
    "revoke",
    "setup",
    "used_credit",
]

PAGE_SIZE: Final = 5
TILE_DEG: Final = 0.01
MAX_LATITUDE: Final = 85.0
MAIN_GROUP: Final = "group_emulator"
OTHER_GROUP: Final = "group_other"
TEAMMATE: Final = "auth0|teammate00000000000001"
OUTSIDER: Final = "auth0|outsider00000000000001"

# Credits per km² by provider, and the factor of each credits tier.
RATES: Final = {"ee": 0.01, "pl": 0.5, "gbdx": 2.0, "airbus": 1.5}
TIERS: Final = {"basic": 1.0, "standard": 0.8, "premium": 0.6}

DEFAULT_PERMISSIONS: Final = frozenset(
    {
        "credits.check-area",
        "credits.list-group-transactions",
        "credits.list-group-allocations",
        "credits.user-info",
        # The emulator's user manages the credit of its own group, nothing beyond it.
        "admin.credits.set-user-credit-limit",
        "datacube.get",
        "datacube.get-aoi-positions",
        "datacube.get-aoi-tags",
        "imagery.availability",
        "imagery.scene-info",
        "imagery.images",
        "kraken.release",
        "kraken.dry-run",
    }
)


class CreditsError(Exception):
    """A refusal in SpaceKnow's shape, raised by :func:`allocate` for the calling handler."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> web.Response:
        return sk_error(self.status, self.code, self.message)


@dataclass
class Account:
    id: str
    email: str
    name: str
    group_id: str
    permissions: set[str]
    credit_limit: float | None = None


@dataclass
class Group:
    id: str
    name: str
    balance: float
    credits_tier: str = "basic"
    license_expired: bool = False


@dataclass
class Ledger:
    """All credit bookkeeping: groups, accounts, transactions and allocations (wire dicts, oldest first)."""

    groups: dict[str, Group] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    transactions: list[dict[str, Any]] = field(default_factory=list)
    allocations: list[dict[str, Any]] = field(default_factory=list)
    allocated: dict[tuple[str, str], set[tuple[int, int]]] = field(default_factory=dict)
    counter: int = 0

    def next_id(self) -> str:
        self.counter += 1
        return f"transaction_{self.counter:08d}"


# -- accounts and permissions ---------------------------------------------------------------


def ledger(state: EmulatorState) -> Ledger:
    """The credit bookkeeping of this emulator (seeded on first use)."""
    return state.store("sk_credits", lambda: _seed(state))


def _seed(state: EmulatorState) -> Ledger:
    book = Ledger()
    book.groups[MAIN_GROUP] = Group(MAIN_GROUP, "Emulator Org", 0.0)
    book.groups[OTHER_GROUP] = Group(OTHER_GROUP, "Other Org", 0.0, credits_tier="premium")
    book.accounts[TEAMMATE] = Account(
        TEAMMATE, "teammate@example.com", "Terry Teammate", MAIN_GROUP, set(DEFAULT_PERMISSIONS)
    )
    book.accounts[OUTSIDER] = Account(
        OUTSIDER, "outsider@example.org", "Olga Outsider", OTHER_GROUP, set(DEFAULT_PERMISSIONS)
    )
    _update(book, MAIN_GROUP, 1000.0, "auth0|spaceknow-sales", "2024-01-02 09:00:00")
    _update(book, OTHER_GROUP, 500.0, "auth0|spaceknow-sales", "2024-01-03 09:00:00")
    # History: each group already allocated part of one scene.
    for user, area, provider, when in (
        (TEAMMATE, "prague", "pl", "2024-03-01 10:00:00"),
        (OUTSIDER, "perth", "gbdx", "2024-03-02 11:00:00"),
    ):
        scene = next(
            s for s in catalogue() if s["provider"] == provider and s["foreignId"].startswith(area + "-")
        )
        x0, y0, x1, y1 = scene_bbox(scene)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        box = _box(cx - 0.03, cy - 0.02, cx + 0.03, cy + 0.02)
        _allocate(book, [scene["sceneId"]], box, user, time=when, tier=None, email="")
    return book


def _box(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def _update(book: Ledger, group_id: str, credit: float, user_id: str, time: str) -> None:
    book.groups[group_id].balance += credit
    book.transactions.append(
        {
            "areaKm2": 0,
            "credit": credit,
            "groupId": group_id,
            "id": book.next_id(),
            "kind": "credit.update",
            "time": time,
            "userId": user_id,
        }
    )


def _account(book: Ledger, user_id: str, email: str) -> Account:
    """The account of ``user_id``; an unknown token subject joins the main group (it is the login user)."""
    account = book.accounts.get(user_id)
    if account is None:
        account = Account(user_id, email, "Emulator User", MAIN_GROUP, set(DEFAULT_PERMISSIONS))
        book.accounts[user_id] = account
    return account


def caller(request: web.Request) -> Account:
    """The account of the user making ``request`` (created on first sight)."""
    state = get_state(request)
    return _account(ledger(state), request[TOKEN_KEY].subject, state.credentials.sk_username)


def require(request: web.Request, *permissions: str) -> web.Response | None:
    """A 403 NOT-AUTHORIZED answer if the caller lacks one of ``permissions``, else ``None``."""
    account = caller(request)
    missing = [p for p in permissions if p not in account.permissions]
    if missing:
        return sk_error(403, "NOT-AUTHORIZED", f"missing permission {missing[0]}")
    return None


def grant(state: EmulatorState, user_id: str, *permissions: str) -> None:
    """Give ``user_id`` (created if it is the login user not seen yet) more permissions."""
    _account(ledger(state), user_id, state.credentials.sk_username).permissions.update(permissions)


def revoke(state: EmulatorState, user_id: str, *permissions: str) -> None:
    """Take permissions away from ``user_id``."""
    _account(ledger(state), user_id, state.credentials.sk_username).permissions.difference_update(permissions)


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
    """Polygons (lists of rings) of a Polygon/MultiPolygon; ``CreditsError`` 400 otherwise."""
    if not isinstance(geojson, dict):
        raise CreditsError(400, "BAD-REQUEST", "geojson must be a GeoJSON geometry object")
    kind, coords = geojson.get("type"), geojson.get("coordinates")
    polygons: list[Any]
    if kind == "Polygon" and isinstance(coords, list):
        polygons = [coords]
    elif kind == "MultiPolygon" and isinstance(coords, list):
        polygons = coords
    else:
        raise CreditsError(400, "BAD-REQUEST", "geojson must be a Polygon or a MultiPolygon")
    try:
        out = [[[[float(p[0]), float(p[1])] for p in ring] for ring in polygon] for polygon in polygons]
    except (TypeError, ValueError, IndexError):
        raise CreditsError(400, "BAD-REQUEST", "geojson coordinates must be [lon, lat] pairs") from None
    points = [p for polygon in out for ring in polygon for p in ring]
    if not points or any(len(ring) < 4 for polygon in out for ring in polygon):
        raise CreditsError(400, "BAD-REQUEST", "geojson rings need at least 4 positions")
    for lon, lat in points:
        if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lon) > 180:
            raise CreditsError(400, "BAD-REQUEST", "geojson coordinates must be WGS84 lon/lat")
        if abs(lat) > MAX_LATITUDE:
            raise CreditsError(400, "BAD-REQUEST", "The GeoJSON must be within -85 to 85 degrees of latitude")
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


@dataclass
class _SceneCost:
    scene: dict[str, Any]
    tiles: set[tuple[int, int]]
    km2: float
    cost: float


def _costs(
    book: Ledger, scene_ids: Iterable[str], geojson: Any, group: Group, tier: str | None
) -> list[_SceneCost]:
    polygons = _polygons(geojson)
    factor = TIERS[tier or group.credits_tier]
    out: list[_SceneCost] = []
    for scene_id in dict.fromkeys(scene_ids):  # a scene listed twice is paid once
        scene = get_scene(scene_id)
        if scene is None:
            raise CreditsError(404, "SCENE-NOT-FOUND", f"scene {scene_id} not found")
        tiles = _scene_tiles(scene, polygons) - book.allocated.get((group.id, scene_id), set())
        km2 = sum(_tile_km2(scene, j) for _, j in tiles)
        out.append(_SceneCost(scene, tiles, km2, km2 * RATES.get(scene["provider"], 1.0) * factor))
    return out


def _group(book: Ledger, account: Account) -> Group:
    group = book.groups[account.group_id]
    if group.license_expired:
        raise CreditsError(403, "LICENSE-EXPIRED", f"the license of group {group.id} has expired")
    return group


def _check_tier(tier: Any) -> str | None:
    if tier is not None and tier not in TIERS:
        raise CreditsError(400, "BAD-REQUEST", f"creditsTier must be one of {', '.join(TIERS)}")
    return tier  # type: ignore[no-any-return]


def area_cost(
    state: EmulatorState,
    scene_ids: Sequence[str],
    geojson: Any,
    user_id: str,
    *,
    credits_tier: str | None = None,
) -> tuple[float, float]:
    """``(cost, km2)`` of allocating ``geojson`` in ``scene_ids`` for the group of ``user_id`` (a dry run)."""
    book = ledger(state)
    account = _account(book, user_id, state.credentials.sk_username)
    costs = _costs(book, scene_ids, geojson, _group(book, account), _check_tier(credits_tier))
    return round(sum(c.cost for c in costs), 2), round(sum(c.km2 for c in costs), 3)


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
    with new tiles, and lowers the group's balance. Raises :class:`CreditsError`
    (``CREDIT-LIMIT-EXCEEDED``, ``INSUFFICIENT-CREDIT``, ``SCENE-NOT-FOUND``,
    ``LICENSE-EXPIRED``, ``BAD-REQUEST``) without changing anything.
    """
    when = datetime.fromtimestamp(state.clock.now(), UTC).strftime("%Y-%m-%d %H:%M:%S")
    return _allocate(
        ledger(state),
        scene_ids,
        geojson,
        user_id,
        time=when,
        tier=_check_tier(credits_tier),
        email=state.credentials.sk_username,
    )


def _allocate(
    book: Ledger,
    scene_ids: Sequence[str],
    geojson: Any,
    user_id: str,
    *,
    time: str,
    tier: str | None,
    email: str,
) -> float:
    if not scene_ids:
        raise CreditsError(400, "BAD-REQUEST", "sceneIds must not be empty")
    account = _account(book, user_id, email)
    group = _group(book, account)
    costs = [c for c in _costs(book, scene_ids, geojson, group, tier) if c.tiles]
    total = round(sum(round(c.cost, 6) for c in costs), 6)
    if account.credit_limit is not None and _used(book, user_id) + total > account.credit_limit + 1e-9:
        raise CreditsError(
            403,
            "CREDIT-LIMIT-EXCEEDED",
            f"allocation costs {total:.2f} credits, the user's limit of {account.credit_limit:g} "
            f"leaves {max(account.credit_limit - _used(book, user_id), 0):.2f}",
        )
    if total > group.balance + 1e-9:
        raise CreditsError(
            403,
            "INSUFFICIENT-CREDIT",
            f"allocation costs {total:.2f} credits, group {group.id} has {group.balance:.2f}",
        )
    for c in costs:
        tx_id = book.next_id()
        tiles = [list(t) for t in sorted(c.tiles)]
        book.transactions.append(
            {
                "areaKm2": round(c.km2, 3),
                "credit": round(c.cost, 6),
                "dataset": c.scene["dataset"],
                "groupId": group.id,
                "id": tx_id,
                "kind": "credit.allocate",
                "provider": c.scene["provider"],
                "sceneId": c.scene["sceneId"],
                "tiles": tiles,
                "time": time,
                "userId": user_id,
            }
        )
        book.allocations.append(
            {"groupId": group.id, "id": tx_id, "sceneId": c.scene["sceneId"], "tiles": tiles}
        )
        book.allocated.setdefault((group.id, c.scene["sceneId"]), set()).update(c.tiles)
    group.balance = round(group.balance - total, 6)
    return total


# -- HTTP -----------------------------------------------------------------------------------

RouteFn = Callable[[web.Request], Awaitable[web.Response]]


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise CreditsError(400, "BAD-REQUEST", "the request body must be JSON") from None
    if not isinstance(body, dict):
        raise CreditsError(400, "BAD-REQUEST", "the request body must be a JSON object")
    return body


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise CreditsError(400, "BAD-REQUEST", f"{key} must be a non-empty string or null")
    return value


def _page(items: list[dict[str, Any]], cursor: Any) -> web.Response:
    offset = 0
    if cursor is not None:
        try:
            offset = int(base64.b64decode(str(cursor), validate=True).decode("ascii"))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise CreditsError(400, "INVALID-CURSOR", "the cursor is not one this service gave") from None
        if not 0 < offset <= len(items):
            raise CreditsError(400, "INVALID-CURSOR", "the cursor is out of range")
    end = offset + PAGE_SIZE
    answer: dict[str, Any] = {"results": items[offset:end]}
    if end < len(items):
        answer["cursor"] = base64.b64encode(str(end).encode("ascii")).decode("ascii")
    return web.json_response(answer)


def _other_user(book: Ledger, user_id: str | None, me: Account) -> Account:
    if user_id is None or user_id == me.id:
        return me
    account = book.accounts.get(user_id)
    if account is None:
        raise CreditsError(404, "USER-NOT-FOUND", f"user {user_id} not found")
    return account


def _handler(fn: RouteFn) -> RouteFn:
    """Turn a :class:`CreditsError` raised by a handler into its answer."""

    async def handle(request: web.Request) -> web.Response:
        try:
            response: web.Response = await fn(request)
        except CreditsError as exc:
            return exc.response()
        return response

    return handle


async def _check_area(request: web.Request) -> web.Response:
    if (denied := require(request, "credits.check-area")) is not None:
        return denied
    state = get_state(request)
    book = ledger(state)
    body = await _body(request)
    scene_ids = body.get("sceneIds")
    if (
        not isinstance(scene_ids, list)
        or not scene_ids
        or not all(isinstance(s, str) and s for s in scene_ids)
    ):
        raise CreditsError(400, "BAD-REQUEST", "sceneIds must be a non-empty list of scene ids")
    if "geojson" not in body:
        raise CreditsError(400, "BAD-REQUEST", "geojson is required")
    me = caller(request)
    user_id = _optional_str(body, "userId")
    if user_id is not None and user_id != me.id and (denied := require(request, "admin.credits.check-area")):
        return denied
    account = _other_user(book, user_id, me)
    cost, km2 = area_cost(
        state, scene_ids, body["geojson"], account.id, credits_tier=_optional_str(body, "creditsTier")
    )
    free = body.get("costFreeAllocation")
    if free is not None and not isinstance(free, bool):
        raise CreditsError(400, "BAD-REQUEST", "costFreeAllocation must be a boolean")
    return web.json_response({"cost": 0.0 if free else cost, "km2": km2})


def _listing(kind: str, items_of: Callable[[Ledger], list[dict[str, Any]]]) -> RouteFn:
    async def listing(request: web.Request) -> web.Response:
        book = ledger(get_state(request))
        body = await _body(request)
        group_id = _optional_str(body, "groupId")
        if group_id is not None:
            if (denied := require(request, f"admin.credits.list-group-{kind}")) is not None:
                return denied
            if group_id not in book.groups:
                raise CreditsError(404, "GROUP-NOT-FOUND", f"group {group_id} not found")
        else:
            if (denied := require(request, f"credits.list-group-{kind}")) is not None:
                return denied
            group_id = caller(request).group_id
        items = [item for item in items_of(book) if item["groupId"] == group_id]
        return _page(items, body.get("cursor"))

    return listing


async def _set_user_limit(request: web.Request) -> web.Response:
    if (denied := require(request, "admin.credits.set-user-credit-limit")) is not None:
        return denied
    book = ledger(get_state(request))
    body = await _body(request)
    user_id = body.get("userId")
    if not isinstance(user_id, str) or not user_id:
        raise CreditsError(400, "BAD-REQUEST", "userId is required")
    limit = body.get("creditLimit")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int | float) or not math.isfinite(limit) or limit < 0
    ):
        raise CreditsError(400, "BAD-REQUEST", "creditLimit must be a number >= 0 or null")
    me = caller(request)
    target = book.accounts.get(user_id)
    if target is None:
        raise CreditsError(404, "USER-NOT-FOUND", f"user {user_id} not found")
    if target.group_id != me.group_id and (denied := require(request, "admin.users.manage")):
        return denied
    target.credit_limit = None if limit is None else float(limit)
    return web.json_response({})


async def _user_info(request: web.Request) -> web.Response:
    if (denied := require(request, "credits.user-info")) is not None:
        return denied
    book = ledger(get_state(request))
    body = await _body(request)
    me = caller(request)
    user_id = _optional_str(body, "userId")
    if user_id is not None and user_id != me.id and (denied := require(request, "admin.credits.user-info")):
        return denied
    account = _other_user(book, user_id, me)
    group = book.groups[account.group_id]
    used = _used(book, account.id)
    remaining = group.balance
    if account.credit_limit is not None:
        remaining = min(remaining, max(account.credit_limit - used, 0.0))
    return web.json_response(
        {
            "creditsTier": group.credits_tier,
            "email": account.email,
            "groupId": group.id,
            "id": account.id,
            "name": account.name,
            "remainingCredit": round(remaining, 2),
            "usedCredit": round(used, 2),
        }
    )


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the Credits routes to the SpaceKnow app."""
    del state
    app.router.add_post("/credits/check-area", _handler(_check_area))
    app.router.add_post(
        "/credits/list-group-transactions", _handler(_listing("transactions", lambda b: b.transactions))
    )
    app.router.add_post(
        "/credits/list-group-allocations", _handler(_listing("allocations", lambda b: b.allocations))
    )
    app.router.add_post("/credits/set-user-credit-limit", _handler(_set_user_limit))
    app.router.add_post("/credits/user-info", _handler(_user_info))
