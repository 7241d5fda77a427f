"""The emulated Credits' routes: check an area, a group's transactions and allocations, limits, user info.

Listings page by ``cursor``: :data:`CURSOR`, :data:`PAGE_SIZE` items a page.
"""

from __future__ import annotations

import math
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler

from eoclient.emulator.core.paging import OffsetToken, page
from eoclient.emulator.core.refusal import Refusal, json_body
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.spaceknow.accounts import Accounts, User, accounts, current_user, require
from eoclient.emulator.spaceknow.credits.engine import area_cost, ledger, used_by

__all__ = ["CURSOR", "PAGE_SIZE", "setup"]


PAGE_SIZE: Final = 5


CURSOR: Final = OffsetToken(
    "cursor", urlsafe=False, code="INVALID-CURSOR", message="the cursor is not one this service gave"
)
"""The listings' ``cursor``: standard padded base64 of the offset of the next page."""


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise Refusal(400, "BAD-REQUEST", f"{key} must be a non-empty string or null")
    return value


def _page(items: list[dict[str, Any]], cursor: Any) -> web.Response:
    offset = CURSOR.decode(cursor)
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
    used = used_by(ledger(state), user.id)
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


# Every Credits call is a POST with a JSON body: path -> handler, required fields, optional fields.
_ROUTES: Final[dict[str, tuple[Handler, tuple[str, ...], tuple[str, ...]]]] = {
    "/credits/check-area": (
        _check_area,
        ("sceneIds", "geojson"),
        ("userId", "creditsTier", "costFreeAllocation"),
    ),
    "/credits/list-group-transactions": (_listing("transactions"), (), ("groupId", "cursor")),
    "/credits/list-group-allocations": (_listing("allocations"), (), ("groupId", "cursor")),
    "/credits/set-user-credit-limit": (_set_user_limit, ("userId",), ("creditLimit",)),
    "/credits/user-info": (_user_info, (), ("userId",)),
}


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the Credits routes to the SpaceKnow app."""
    del state
    for path, (handler, required, optional) in _ROUTES.items():
        add_route(app, "POST", path, handler, required_fields=required, fields=optional)
