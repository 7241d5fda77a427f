"""Orders, subscriptions and delivery archives as :class:`~eoclient.jobs.Job` objects.

An order's job ends when the order does (``DONE``, ``PARTIAL``: succeeded;
``FAILED``; ``CANCELLED``); its result is its deliveries, an async iterator.
A subscription's job runs until it is ``COMPLETED`` (its time range is over),
``CANCELLED`` (``job.cancel()`` cancels it on the service) or ``FAILED``.
A delivery's job ends when its data is imported (``DONE``) or cannot be
(``DELIVERY_FAILED``, ``IMPORT_FAILED``, ``NON_INGESTIBLE``); an archive's job
ends when the archive can be downloaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from eoclient._context import ServiceContext
from eoclient._models import from_wire
from eoclient._outcome import act_or_check
from eoclient.errors import ValidationError
from eoclient.jobs import JobState, JobStatus, register_job_kind
from eoclient.paging import Paginator, ViewToken
from eoclient.sentinelhub._paging import view_paginator
from eoclient.sentinelhub.byoc_models import uuid_id
from eoclient.sentinelhub.dataimport.models import Delivery, DeliveryArchive, Order, Subscription

__all__ = [
    "ArchiveJob",
    "DeliveryJob",
    "OrderJob",
    "SubscriptionJob",
    "deliveries_of",
    "order_status",
    "subscription_status",
]

BASE: Final = "/api/v1/dataimport"
ORDER_KIND: Final = "sentinelhub.dataimport.order"
SUBSCRIPTION_KIND: Final = "sentinelhub.dataimport.subscription"
ARCHIVE_KIND: Final = "sentinelhub.dataimport.archive"
DELIVERY_KIND: Final = "sentinelhub.dataimport.delivery"

_ORDER_STATES: Final = {
    "CREATED": JobState.PENDING,
    "RUNNING": JobState.RUNNING,
    "DONE": JobState.SUCCEEDED,
    "PARTIAL": JobState.SUCCEEDED,  # some deliveries failed: the others are imported
    "FAILED": JobState.FAILED,
    "CANCELLED": JobState.CANCELLED,
}
_SUBSCRIPTION_STATES: Final = {
    "CREATED": JobState.PENDING,
    "RUNNING": JobState.RUNNING,
    "COMPLETED": JobState.SUCCEEDED,
    "FAILED": JobState.FAILED,
    "CANCELLED": JobState.CANCELLED,
}
_DELIVERY_STATES: Final = {
    "WAITING": JobState.PENDING,
    "DELIVERED": JobState.RUNNING,
    "PREPARING": JobState.RUNNING,
    "INGESTING": JobState.RUNNING,
    "DONE": JobState.SUCCEEDED,
    "DELIVERY_FAILED": JobState.FAILED,
    "IMPORT_FAILED": JobState.FAILED,
    "NON_INGESTIBLE": JobState.FAILED,
}
_ARCHIVE_STATES: Final = {
    "WAITING": JobState.PENDING,
    "PREPARING": JobState.RUNNING,
    "DONE": JobState.SUCCEEDED,
    "FAILED": JobState.FAILED,
}


def _status(raw: str | None, states: Mapping[str, JobState]) -> JobStatus:
    text = raw or "UNKNOWN"
    # A status added later is taken as still running, never as an end.
    state = states.get(text, JobState.RUNNING)
    return JobStatus(state=state, raw=text, error=f"status {text}" if state is JobState.FAILED else None)


def order_status(order: Order) -> JobStatus:
    """An order's status as a Job sees it."""
    return _status(order.status, _ORDER_STATES)


def subscription_status(subscription: Subscription) -> JobStatus:
    """A subscription's status as a Job sees it."""
    return _status(subscription.status, _SUBSCRIPTION_STATES)


def delivery_status(delivery: Delivery) -> JobStatus:
    """A delivery's status as a Job sees it (the service's ``errorMessage`` when it failed)."""
    status = _status(delivery.status, _DELIVERY_STATES)
    if status.state is JobState.FAILED and delivery.error_message:
        return JobStatus(state=status.state, raw=status.raw, error=delivery.error_message)
    return status


def _parent(parent: str) -> str:
    if parent not in ("orders", "subscriptions"):
        raise ValidationError("parent", f"must be 'orders' or 'subscriptions', got {parent!r}")
    return parent


def deliveries_of(
    ctx: ServiceContext[Any],
    parent: str,
    parent_id: str,
    *,
    status: str | None = None,
    count: int | None = None,
    max_items: int | None = None,
) -> Paginator[Delivery, ViewToken]:
    """The deliveries of an order (``parent="orders"``) or a subscription, page by page."""
    return view_paginator(
        ctx.transport,
        f"{BASE}/{parent}/{parent_id}/deliveries",
        Delivery,
        operation=f"dataimport.{parent[:-1]}_deliveries",
        params={"status": status, "count": count},
        max_items=max_items,
    )


class OrderJob:
    """Job strategy of a confirmed order: its result is its deliveries (a :class:`Paginator`)."""

    kind = ORDER_KIND

    def __init__(self, ctx: ServiceContext[Any], order_id: str) -> None:
        self._ctx = ctx
        self.job_id = order_id
        self.order: Order | None = None  # the last answer: its collectionId is the BYOC collection

    async def poll(self) -> JobStatus:
        path = f"{BASE}/orders/{self.job_id}"
        op = "dataimport.order"
        answer = await self._ctx.transport.request_json("GET", path, operation=op)
        self.order = from_wire(answer, Order, operation=op, path=path)
        return order_status(self.order)

    async def result(self, final: JobStatus) -> Paginator[Delivery, ViewToken]:
        del final
        return deliveries_of(self._ctx, "orders", self.job_id)

    async def cancel(self) -> bool:
        return False  # a confirmed order cannot be cancelled (Data Import has no such call)

    def resume_data(self) -> dict[str, Any]:
        return {}


class SubscriptionJob:
    """Job strategy of a confirmed subscription; :meth:`cancel` cancels it on the service."""

    kind = SUBSCRIPTION_KIND

    def __init__(self, ctx: ServiceContext[Any], subscription_id: str) -> None:
        self._ctx = ctx
        self.job_id = subscription_id
        self.subscription: Subscription | None = None

    async def poll(self) -> JobStatus:
        path = f"{BASE}/subscriptions/{self.job_id}"
        op = "dataimport.subscription"
        answer = await self._ctx.transport.request_json("GET", path, operation=op)
        self.subscription = from_wire(answer, Subscription, operation=op, path=path)
        return subscription_status(self.subscription)

    async def result(self, final: JobStatus) -> Paginator[Delivery, ViewToken]:
        del final
        return deliveries_of(self._ctx, "subscriptions", self.job_id)

    async def cancel(self) -> bool:
        path = f"{BASE}/subscriptions/{self.job_id}/cancel"
        op = "dataimport.cancel_subscription"

        async def send() -> None:
            await self._ctx.transport.request("POST", path, operation=op)

        async def took_effect() -> bool:
            return (await self.poll()).state is JobState.CANCELLED

        await act_or_check(
            send,
            took_effect=took_effect,
            operation=op,
            resource="Data Import subscription",
            resource_id=self.job_id,
            how_to_find=f"sh.dataimport.subscription({self.job_id!r}).status",
        )
        return True

    def resume_data(self) -> dict[str, Any]:
        return {}


class DeliveryJob:
    """Job strategy of one delivery of an order or a subscription; its result is the ``DONE`` delivery."""

    kind = DELIVERY_KIND

    def __init__(self, ctx: ServiceContext[Any], parent: str, parent_id: str, delivery_id: str) -> None:
        self._ctx = ctx
        self.parent, self.parent_id, self.job_id = _parent(parent), parent_id, delivery_id
        self.delivery: Delivery | None = None

    async def poll(self) -> JobStatus:
        path = f"{BASE}/{self.parent}/{self.parent_id}/deliveries/{self.job_id}"
        op = f"dataimport.{self.parent[:-1]}_delivery"
        answer = await self._ctx.transport.request_json("GET", path, operation=op)
        self.delivery = from_wire(answer, Delivery, operation=op, path=path)
        return delivery_status(self.delivery)

    async def result(self, final: JobStatus) -> Delivery:
        del final
        assert self.delivery is not None  # a final status was polled
        return self.delivery

    async def cancel(self) -> bool:
        return False  # a delivery cannot be stopped

    def resume_data(self) -> dict[str, Any]:
        return {"parent": self.parent, "parentId": self.parent_id}


class ArchiveJob:
    """Job strategy of a delivery archive being made; its result is the ``DONE`` archive."""

    kind = ARCHIVE_KIND

    def __init__(self, ctx: ServiceContext[Any], parent: str, parent_id: str, delivery_id: str) -> None:
        self._ctx = ctx
        self.parent, self.parent_id, self.job_id = _parent(parent), parent_id, delivery_id
        self.archive: DeliveryArchive | None = None

    async def poll(self) -> JobStatus:
        path = f"{BASE}/{self.parent}/{self.parent_id}/deliveries/{self.job_id}/archive/status"
        op = "dataimport.archive_status"
        answer = await self._ctx.transport.request_json("GET", path, operation=op, params={"format": "zip"})
        self.archive = from_wire(answer, DeliveryArchive, operation=op, path=path)
        return _status(self.archive.status, _ARCHIVE_STATES)

    async def result(self, final: JobStatus) -> DeliveryArchive:
        del final
        assert self.archive is not None  # a final status was polled
        return self.archive

    async def cancel(self) -> bool:
        return False  # archiving cannot be stopped

    def resume_data(self) -> dict[str, Any]:
        return {"parent": self.parent, "parentId": self.parent_id}


def _resume_order(ctx: ServiceContext[Any], job_id: str, data: Mapping[str, Any]) -> OrderJob:
    del data
    return OrderJob(ctx, uuid_id(job_id, field="resume_token", prefix=""))


def _resume_subscription(ctx: ServiceContext[Any], job_id: str, data: Mapping[str, Any]) -> SubscriptionJob:
    del data
    return SubscriptionJob(ctx, uuid_id(job_id, field="resume_token", prefix=""))


def _of_delivery(
    kind: type[ArchiveJob] | type[DeliveryJob], ctx: ServiceContext[Any], job_id: str, data: Mapping[str, Any]
) -> Any:
    parent, parent_id = data.get("parent"), data.get("parentId")
    if not isinstance(parent, str) or not isinstance(parent_id, str):
        raise ValidationError("resume_token", "malformed Data Import delivery data")
    return kind(
        ctx,
        parent,
        uuid_id(parent_id, field="resume_token", prefix=""),
        uuid_id(job_id, field="resume_token", prefix=""),
    )


def _resume_archive(ctx: ServiceContext[Any], job_id: str, data: Mapping[str, Any]) -> ArchiveJob:
    job: ArchiveJob = _of_delivery(ArchiveJob, ctx, job_id, data)
    return job


def _resume_delivery(ctx: ServiceContext[Any], job_id: str, data: Mapping[str, Any]) -> DeliveryJob:
    job: DeliveryJob = _of_delivery(DeliveryJob, ctx, job_id, data)
    return job


register_job_kind(ORDER_KIND, _resume_order, service="sentinelhub")
register_job_kind(SUBSCRIPTION_KIND, _resume_subscription, service="sentinelhub")
register_job_kind(ARCHIVE_KIND, _resume_archive, service="sentinelhub")
register_job_kind(DELIVERY_KIND, _resume_delivery, service="sentinelhub")
