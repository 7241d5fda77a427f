"""SpaceKnow Credits: what an area costs, the group's transactions and allocations, user limits.

Reached as ``sk.credits``::

    async with eoclient.SpaceKnow() as sk:
        check = await sk.credits.check_area(scene_ids, geometry)
        print(check.cost, check.km2)
        async for tx in sk.credits.transactions():
            print(tx.time, tx.kind, tx.credit)
        info = await sk.credits.user_info()
        print(info.remaining_credit)

The reference documents bodies and answers but not the URL of each operation;
the paths below follow the permission each one needs (``credits.check-area`` →
``/credits/check-area``), like every other SpaceKnow operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, TypeVar

from eoclient._context import ServiceContext
from eoclient._models import from_wire
from eoclient.errors import ValidationError
from eoclient.paging import Paginator, SkCursor
from eoclient.spaceknow._paging import cursor_paginator
from eoclient.spaceknow.credits_models import (
    AreaCheck,
    CreditAllocation,
    CreditTransaction,
    CreditUserInfo,
    check_area_geojson,
    check_credit_limit,
    check_scene_ids,
)

__all__ = ["Credits"]

CHECK_AREA: Final = "/credits/check-area"
TRANSACTIONS: Final = "/credits/list-group-transactions"
ALLOCATIONS: Final = "/credits/list-group-allocations"
SET_USER_LIMIT: Final = "/credits/set-user-credit-limit"
USER_INFO: Final = "/credits/user-info"

T = TypeVar("T")


def _optional_id(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValidationError(field, "must be a non-empty string or None")
    return value


class Credits:
    """SpaceKnow Credits. Reached as ``sk.credits`` of :class:`~eoclient.SpaceKnow`."""

    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self._ctx = ctx

    async def check_area(
        self,
        scene_ids: Sequence[str],
        geojson: Any,
        *,
        user_id: str | None = None,
        credits_tier: str | None = None,
        cost_free_allocation: bool | None = None,
    ) -> AreaCheck:
        """What allocating ``geojson`` in ``scene_ids`` would cost the group (credits and km²).

        ``geojson`` is a GeoJSON geometry (or Feature, or anything with
        ``__geo_interface__``) in WGS84, within ±85° of latitude. Areas the
        group has already allocated are free. ``user_id`` checks for another
        user (special permissions needed).

        Example::

            check = await sk.credits.check_area([scene.scene_id], {"type": "Polygon", ...})
            if check.cost > 10:
                ...
        """
        body: dict[str, Any] = {
            "sceneIds": check_scene_ids(scene_ids),
            "geojson": check_area_geojson(geojson),
        }
        if (uid := _optional_id(user_id, "user_id")) is not None:
            body["userId"] = uid
        if (tier := _optional_id(credits_tier, "credits_tier")) is not None:
            body["creditsTier"] = tier
        if cost_free_allocation is not None:
            if not isinstance(cost_free_allocation, bool):
                raise ValidationError("cost_free_allocation", "must be a bool or None")
            body["costFreeAllocation"] = cost_free_allocation
        data = await self._ctx.transport.request_json(
            "POST", CHECK_AREA, operation="credits.check-area", json=body, idempotent=True
        )
        return from_wire(data, AreaCheck, operation="credits.check-area", path=CHECK_AREA)

    def transactions(
        self, *, group_id: str | None = None, max_items: int | None = None
    ) -> Paginator[CreditTransaction, SkCursor]:
        """The credit transactions of your group (or of ``group_id``: admin permission needed).

        Pages are fetched as the iteration reaches them::

            async for tx in sk.credits.transactions():
                print(tx.time, tx.kind, tx.credit)
        """
        return self._group_listing(TRANSACTIONS, CreditTransaction, group_id, max_items)

    def allocations(
        self, *, group_id: str | None = None, max_items: int | None = None
    ) -> Paginator[CreditAllocation, SkCursor]:
        """The allocated areas of your group (or of ``group_id``: admin permission needed)."""
        return self._group_listing(ALLOCATIONS, CreditAllocation, group_id, max_items)

    def _group_listing(
        self, path: str, item_type: type[T], group_id: str | None, max_items: int | None
    ) -> Paginator[T, SkCursor]:
        """A cursor listing of your group (or of ``group_id``), its operation named after ``path``."""
        body = {"groupId": _optional_id(group_id, "group_id")}
        operation = "credits." + path.removeprefix("/credits/")  # "credits.list-group-transactions"
        return cursor_paginator(
            self._ctx.transport, path, item_type, body, operation=operation, max_items=max_items
        )

    async def set_user_limit(self, user_id: str, credit_limit: float | None) -> None:
        """Set (or, with ``None``, remove) the credit ``user_id`` may spend.

        Needs ``admin.credits.set-user-credit-limit`` (and ``admin.users.manage``
        for a user outside your group).
        """
        uid = _optional_id(user_id, "user_id")
        if uid is None:
            raise ValidationError("user_id", "is required")
        body = {"userId": uid, "creditLimit": check_credit_limit(credit_limit)}
        # Setting an absolute limit twice leaves the same state, so a retry is safe.
        await self._ctx.transport.request(
            "POST", SET_USER_LIMIT, operation="credits.set-user-credit-limit", json=body, idempotent=True
        )

    async def user_info(self, user_id: str | None = None) -> CreditUserInfo:
        """Credit information (tier, group, remaining and used credit) of you or of ``user_id``."""
        body: dict[str, Any] = {}
        if (uid := _optional_id(user_id, "user_id")) is not None:
            body["userId"] = uid
        data = await self._ctx.transport.request_json(
            "POST", USER_INFO, operation="credits.user-info", json=body, idempotent=True
        )
        return from_wire(data, CreditUserInfo, operation="credits.user-info", path=USER_INFO)
