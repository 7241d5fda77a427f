"""Sentinel Hub Data Import: third-party (Planet, Maxar) search, orders, subscriptions, quotas.

Reached as ``sh.dataimport``::

    async with eoclient.SentinelHub() as sh:
        async for item in sh.dataimport.search(query):          # a Paginator (Planet pages)
            ...
        job = await sh.dataimport.place_order(order, max_km2=50) # quote, check, confirm
        async for delivery in job.results():                     # its deliveries
            print(delivery.id, delivery.status)
        coll = await sh.dataimport.order_collection(job.id)      # the BYOC collection it became

An order is created as a quote (status ``CREATED``, ``sqkm`` what it costs of
the quota) and placed by confirming it. A placed order, a confirmed
subscription and an archive being made are :class:`~eoclient.jobs.Job` objects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from eoclient._checks import optional_text
from eoclient._context import ServiceContext
from eoclient._models import from_wire
from eoclient._outcome import act_or_check, create_or_find, note_created
from eoclient._redact import register_secret
from eoclient.errors import ResponseDecodeError, ValidationError
from eoclient.jobs import Job
from eoclient.paging import Page, Paginator, ViewToken
from eoclient.sentinelhub._paging import view_paginator
from eoclient.sentinelhub.byoc import BYOC
from eoclient.sentinelhub.byoc_models import Collection, page_count, uuid_id
from eoclient.sentinelhub.dataimport.deliveries import Deliveries
from eoclient.sentinelhub.dataimport.jobs import (
    BASE,
    OrderJob,
    SubscriptionJob,
    order_status,
    subscription_status,
)
from eoclient.sentinelhub.dataimport.models import (
    ORDER_STATUSES,
    SUBSCRIPTION_STATUSES,
    Delivery,
    Order,
    Quota,
    Subscription,
)
from eoclient.sentinelhub.dataimport.requests import (
    native_search_body,
    order_body,
    search_body,
    subscription_body,
)

__all__ = ["DataImport"]

THUMBNAIL_COLLECTIONS: Final = ("PLANET_SCOPE", "PLANET_SKYSAT", "MAXAR_WORLDVIEW")
QUOTA_COLLECTIONS: Final = ("MAXAR_WORLDVIEW",)
_Created = TypeVar("_Created", Order, Subscription)


def _id(value: Any, field: str) -> str:
    return uuid_id(value, field=field, prefix="")


def _limit(value: float | None, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValidationError(field, f"must be a number of km² >= 0, got {value!r}")
    return float(value)


def _filters(
    status: str | None, allowed: frozenset[str], collection_id: Any, search: str | None, deleted: bool | None
) -> dict[str, Any]:
    if status is not None and status not in allowed:
        raise ValidationError("status", f"must be one of {sorted(allowed)}, got {status!r}")
    if deleted is not None and not isinstance(deleted, bool):
        raise ValidationError("deleted", f"expected True or False, got {deleted!r}")
    return {
        "status": status,
        "collectionId": None if collection_id is None else _id(collection_id, "collection_id"),
        "search": optional_text("search", search, allow_empty=True) or None,
        "deleted": None if deleted is None else str(deleted).lower(),
    }


class DataImport:
    """Third-party data: search, quotes and orders, subscriptions, deliveries, quotas. ``sh.dataimport``.

    Methods taking a request take the docs' JSON as a dict (or a fetched
    :class:`Order`/:class:`Subscription`); it is checked for its provider
    (``PLANET``, ``MAXAR``) and a mistake is a
    :class:`~eoclient.errors.ValidationError` naming the field, before
    anything is sent. The service's refusals: :class:`~eoclient.errors.BadRequestError`,
    :class:`~eoclient.errors.ConflictError` (a status that does not allow the
    call), :class:`~eoclient.errors.PermissionDeniedError` (403, e.g. not
    enough quota: its ``details`` hold ``availableQuota`` and ``requiredQuota``).
    """

    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self._ctx = ctx
        self.order_deliveries = Deliveries(ctx, "orders")
        """The deliveries of orders, their files, archives and tiles."""
        self.subscription_deliveries = Deliveries(ctx, "subscriptions")
        """The deliveries of subscriptions, their files, archives and tiles."""

    # -- search --------------------------------------------------------------------------

    def search(
        self, query: Mapping[str, Any], count: int | None = None, *, max_items: int | None = None
    ) -> Paginator[dict[str, Any], ViewToken]:
        """The products matching ``query`` (``SearchQuery``), as the provider describes them (features).

        Planet results come in pages (``count``: page size); Maxar answers in
        one page. Each item is one GeoJSON feature of the provider's.
        """
        body = search_body(query)
        params = {"count": page_count(count, maximum=1000)}
        op, path = "dataimport.search", f"{BASE}/search"
        transport = self._ctx.transport

        async def fetch(cursor: ViewToken | None) -> Page[dict[str, Any], ViewToken]:
            query_params: dict[str, Any] = {k: v for k, v in params.items() if v is not None}
            if cursor is not None:
                query_params["viewtoken"] = str(cursor)
            answer = await transport.request_json("POST", path, operation=op, json=body, params=query_params)
            if not isinstance(answer, dict) or not isinstance(answer.get("features"), list):
                raise ResponseDecodeError('expected {"features": [...]}', operation=op, path=path)
            items = from_wire(answer["features"], list[dict[str, Any]], operation=op, path=path)
            links = answer.get("links")
            token = links.get("nextToken") if isinstance(links, dict) else None
            nxt = ViewToken(token) if isinstance(token, str) and token and items else None
            return Page(items, nxt)

        return Paginator(fetch, cursor_kind=ViewToken, max_items=max_items)

    async def native_search(self, query: Mapping[str, Any]) -> dict[str, Any]:
        """A search in the provider's own terms: ``provider`` plus its search body; the answer as is."""
        body = native_search_body(query)
        return await self._ctx.transport.request_json(  # type: ignore[no-any-return]
            "POST",
            f"{BASE}/nativesearch",
            operation="dataimport.native_search",
            json=body,
            type=dict[str, Any],
        )

    async def thumbnail(
        self, collection_id: str, product_id: str, *, planet_api_key: str | None = None
    ) -> bytes:
        """A small image of a product found by :meth:`search`; ``collection_id`` e.g. ``"PLANET_SCOPE"``."""
        if collection_id not in THUMBNAIL_COLLECTIONS:
            raise ValidationError(
                "collection_id", f"must be one of {list(THUMBNAIL_COLLECTIONS)}, got {collection_id!r}"
            )
        if not isinstance(product_id, str) or not product_id or "/" in product_id:
            raise ValidationError("product_id", f"expected a product id, got {product_id!r:.60}")
        if planet_api_key is not None and (not isinstance(planet_api_key, str) or not planet_api_key):
            raise ValidationError("planet_api_key", "expected non-empty text")
        register_secret(planet_api_key)
        path = f"{BASE}/collections/{collection_id}/products/{product_id}/thumbnail"
        params = {"planetApiKey": planet_api_key} if planet_api_key else None
        resp = await self._ctx.transport.request(
            "GET", path, operation="dataimport.thumbnail", params=params, expect=("image/*",)
        )
        return resp.body

    # -- quotas --------------------------------------------------------------------------

    async def quotas(self) -> list[Quota]:
        """The account's quotas (km² bought and used), one per third-party collection."""
        op, path = "dataimport.quotas", f"{BASE}/accountquotas"
        answer = await self._ctx.transport.request_json("GET", path, operation=op)
        if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
            raise ResponseDecodeError('expected {"data": [...]}', operation=op, path=path)
        return from_wire(answer["data"], list[Quota], operation=op, path=path)

    async def quota(self, collection_id: str = "MAXAR_WORLDVIEW") -> Quota:
        """The quota of one third-party collection."""
        if collection_id not in QUOTA_COLLECTIONS:
            raise ValidationError(
                "collection_id", f"must be one of {list(QUOTA_COLLECTIONS)}, got {collection_id!r}"
            )
        op, path = "dataimport.quota", f"{BASE}/accountquotas/{collection_id}"
        answer = await self._ctx.transport.request_json("GET", path, operation=op)
        return from_wire(answer, Quota, operation=op, path=path)

    # -- orders --------------------------------------------------------------------------

    async def quote(self, order: Order | Mapping[str, Any]) -> Order:
        """Create an order without placing it: the quote (status ``CREATED``, ``sqkm`` its cost in km²).

        Review it, then :meth:`confirm_order` it, or :meth:`delete_order` it.
        :meth:`place_order` does both with a limit.

        Example::

            quote = await sh.dataimport.quote({
                "name": "fields",
                "input": {
                    "provider": "PLANET", "planetApiKey": key,
                    "bounds": {"bbox": [14.0, 46.0, 14.05, 46.05]},
                    "data": [{"itemType": "PSScene", "productBundle": "analytic_sr_udm2",
                              "harmonizeTo": "NONE", "itemIds": ["20240801_101010_12_2431"]}],
                },
            })
            print(quote.sqkm)
        """
        return await self._create(
            "order",
            order_body(order),
            Order,
            how_to_find="sh.dataimport.orders(status='CREATED', search=<its name>) lists the quotes",
        )

    async def place_order(
        self, order: Order | Mapping[str, Any], *, max_km2: float | None = None
    ) -> Job[Paginator[Delivery, ViewToken]]:
        """Quote an order, refuse it if it costs more than ``max_km2``, else confirm it; a Job.

        Above the limit the quote is deleted and a
        :class:`~eoclient.errors.ValidationError` (field ``max_km2``) raised:
        nothing is ordered. The Job's result is the order's deliveries.
        """
        limit = _limit(max_km2, "max_km2")
        body = order_body(order)  # checked before the limit is used
        quote = await self.quote(body)
        assert quote.id is not None
        if limit is not None and (quote.sqkm or 0.0) > limit:
            await self.delete_order(quote.id)
            raise ValidationError(
                "max_km2",
                f"the order would cost {quote.sqkm:g} km², above the limit of {limit:g}: not placed",
            )
        try:
            return await self._confirm(quote.id)
        except Exception as exc:
            note_created(
                exc,
                resource="Data Import order",
                resource_id=quote.id,
                hint="see its status with sh.dataimport.order(); a CREATED one can be confirmed or deleted",
            )
            raise

    async def confirm_order(
        self, order_id: Any, *, max_km2: float | None = None
    ) -> Job[Paginator[Delivery, ViewToken]]:
        """Place a quoted order (``CREATED``); a Job whose result is its deliveries.

        With ``max_km2`` the order is read first and refused (ValidationError)
        if its ``sqkm`` is above it. Without enough quota the service refuses
        (403, :class:`~eoclient.errors.PermissionDeniedError`); a status other
        than ``CREATED``: 409.
        """
        limit = _limit(max_km2, "max_km2")
        oid = _id(order_id, "order_id")
        if limit is not None:
            found = await self.order(oid)
            if (found.sqkm or 0.0) > limit:
                raise ValidationError(
                    "max_km2",
                    f"order {oid} costs {found.sqkm:g} km², above the limit of {limit:g}: not confirmed",
                )
        return await self._confirm(oid)

    async def _confirm(self, order_id: str) -> Job[Paginator[Delivery, ViewToken]]:
        """Confirm; a lost answer is checked (the order left ``CREATED``), never sent twice."""
        op, path = "dataimport.confirm_order", f"{BASE}/orders/{order_id}/confirm"
        answers: list[Order] = []

        async def send() -> None:
            answer = await self._ctx.transport.request_json("POST", path, operation=op)
            answers.append(from_wire(answer, Order, operation=op, path=path))

        async def took_effect() -> bool:
            answers.append(await self.order(order_id))
            return answers[-1].status != "CREATED"

        await act_or_check(
            send,
            took_effect=took_effect,
            operation=op,
            resource="Data Import order",
            resource_id=order_id,
            how_to_find=f"sh.dataimport.order({order_id!r}).status",
        )
        status = order_status(answers[-1])
        return Job(OrderJob(self._ctx, order_id), poll=self._ctx.poll, initial_status=status)

    def order_job(self, order_id: Any) -> Job[Paginator[Delivery, ViewToken]]:
        """A Job following an order already placed (its result: the order's deliveries)."""
        return Job(OrderJob(self._ctx, _id(order_id, "order_id")), poll=self._ctx.poll)

    def orders(
        self,
        status: str | None = None,
        collection_id: Any = None,
        search: str | None = None,
        deleted: bool | None = None,
        count: int | None = None,
        *,
        max_items: int | None = None,
    ) -> Paginator[Order, ViewToken]:
        """The account's orders, page by page; filter by ``status``, BYOC ``collection_id``, ``search`` words.

        ``deleted=True`` lists the deleted ones (which stay queryable).
        """
        params = _filters(status, ORDER_STATUSES, collection_id, search, deleted)
        params["count"] = page_count(count)
        return view_paginator(
            self._ctx.transport,
            f"{BASE}/orders",
            Order,
            operation="dataimport.orders",
            params=params,
            max_items=max_items,
        )

    async def order(self, order_id: Any) -> Order:
        """One order."""
        op, path = "dataimport.order", f"{BASE}/orders/{_id(order_id, 'order_id')}"
        answer = await self._ctx.transport.request_json("GET", path, operation=op)
        return from_wire(answer, Order, operation=op, path=path)

    async def delete_order(self, order_id: Any) -> None:
        """Delete an order: a quote for good, a finished one from listings; ``RUNNING``/``PARTIAL``: 409."""
        path = f"{BASE}/orders/{_id(order_id, 'order_id')}"
        await self._ctx.transport.request("DELETE", path, operation="dataimport.delete_order")

    async def order_collection(self, order_id: Any) -> Collection:
        """The BYOC collection an order's data is imported into (see ``sh.byoc``)."""
        found = await self.order(order_id)
        if not found.collection_id:
            raise ResponseDecodeError(
                "the order has no collectionId",
                operation="dataimport.order",
                path=f"{BASE}/orders/{found.id}",
            )
        return await BYOC(self._ctx).collection(found.collection_id)

    # -- subscriptions -------------------------------------------------------------------

    async def create_subscription(self, subscription: Subscription | Mapping[str, Any]) -> Subscription:
        """Create a subscription (status ``CREATED``; ``sqkm``: the area); confirm it to start it."""
        return await self._create(
            "subscription",
            subscription_body(subscription),
            Subscription,
            how_to_find="sh.dataimport.subscriptions(status='CREATED', search=<its name>) lists them",
        )

    async def _create(
        self, what: str, body: dict[str, Any], model: type[_Created], *, how_to_find: str
    ) -> _Created:
        """POST a new order or subscription (``what``).

        Names are not unique and neither carries a creation time: a lost answer
        cannot be matched to one, so it is reported (a stray quote costs
        nothing), never re-sent.
        """
        op, path = f"dataimport.create_{what}", f"{BASE}/{what}s"

        async def send() -> _Created:
            answer = await self._ctx.transport.request_json("POST", path, operation=op, json=body)
            return from_wire(answer, model, operation=op, path=path)

        return await create_or_find(
            send,
            find=None,
            identify=lambda found: found.id or "",
            operation=op,
            resource=f"Data Import {what}",
            how_to_find=how_to_find,
        )

    async def confirm_subscription(self, subscription_id: Any) -> Job[Paginator[Delivery, ViewToken]]:
        """Start a subscription; a Job (cancel it with ``job.cancel()``) whose result is its deliveries."""
        sid = _id(subscription_id, "subscription_id")
        op, path = "dataimport.confirm_subscription", f"{BASE}/subscriptions/{sid}/confirm"
        confirmed = await self._subscription_action(sid, op, path, lambda status: status != "CREATED")
        return Job(
            SubscriptionJob(self._ctx, sid),
            poll=self._ctx.poll,
            initial_status=subscription_status(confirmed),
        )

    async def _subscription_action(
        self, sid: str, op: str, path: str, moved: Callable[[str | None], bool]
    ) -> Subscription:
        """POST an action; a lost answer is checked against the subscription's status, never sent twice."""
        answers: list[Subscription] = []

        async def send() -> None:
            answer = await self._ctx.transport.request_json("POST", path, operation=op)
            answers.append(from_wire(answer, Subscription, operation=op, path=path))

        async def took_effect() -> bool:
            answers.append(await self.subscription(sid))
            return moved(answers[-1].status)

        await act_or_check(
            send,
            took_effect=took_effect,
            operation=op,
            resource="Data Import subscription",
            resource_id=sid,
            how_to_find=f"sh.dataimport.subscription({sid!r}).status",
        )
        return answers[-1]

    def subscription_job(self, subscription_id: Any) -> Job[Paginator[Delivery, ViewToken]]:
        """A Job following a confirmed subscription."""
        return Job(SubscriptionJob(self._ctx, _id(subscription_id, "subscription_id")), poll=self._ctx.poll)

    async def cancel_subscription(self, subscription_id: Any) -> Subscription:
        """Stop a ``RUNNING`` subscription (imported data stays); another status: 409."""
        sid = _id(subscription_id, "subscription_id")
        op, path = "dataimport.cancel_subscription", f"{BASE}/subscriptions/{sid}/cancel"
        return await self._subscription_action(sid, op, path, lambda status: status == "CANCELLED")

    def subscriptions(
        self,
        status: str | None = None,
        collection_id: Any = None,
        search: str | None = None,
        deleted: bool | None = None,
        count: int | None = None,
        *,
        max_items: int | None = None,
    ) -> Paginator[Subscription, ViewToken]:
        """The account's subscriptions, page by page (filters as for :meth:`orders`)."""
        params = _filters(status, SUBSCRIPTION_STATUSES, collection_id, search, deleted)
        params["count"] = page_count(count)
        return view_paginator(
            self._ctx.transport,
            f"{BASE}/subscriptions",
            Subscription,
            operation="dataimport.subscriptions",
            params=params,
            max_items=max_items,
        )

    async def subscription(self, subscription_id: Any) -> Subscription:
        """One subscription."""
        op, path = (
            "dataimport.subscription",
            f"{BASE}/subscriptions/{_id(subscription_id, 'subscription_id')}",
        )
        answer = await self._ctx.transport.request_json("GET", path, operation=op)
        return from_wire(answer, Subscription, operation=op, path=path)

    async def delete_subscription(self, subscription_id: Any) -> None:
        """Delete a subscription that is not ``RUNNING`` (cancel it first; else 409)."""
        path = f"{BASE}/subscriptions/{_id(subscription_id, 'subscription_id')}"
        await self._ctx.transport.request("DELETE", path, operation="dataimport.delete_subscription")
