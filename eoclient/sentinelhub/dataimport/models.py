"""Wire models of Sentinel Hub Data Import (third-party data): orders, subscriptions, deliveries, quotas.

Names follow the OpenAPI schemas ``Order``, ``Subscription``,
``OrderDelivery``/``SubscriptionDelivery``, ``DeliveryTile``,
``DeliveryArchive`` and ``Quota``; unknown fields from the server are
ignored. An order's or subscription's ``input`` stays a dict: it is the
provider's own request (Planet or Maxar), checked by :mod:`.requests`.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from eoclient._models import Model
from eoclient._redact import scrub_data

__all__ = [
    "ARCHIVE_STATUSES",
    "DELIVERY_STATUSES",
    "ORDER_STATUSES",
    "SUBSCRIPTION_STATUSES",
    "Delivery",
    "DeliveryArchive",
    "DeliveryTile",
    "Order",
    "OrderStatus",
    "Quota",
    "Subscription",
    "SubscriptionStatus",
]

OrderStatus = Literal["CREATED", "CANCELLED", "RUNNING", "DONE", "PARTIAL", "FAILED"]
ORDER_STATUSES: Final[frozenset[str]] = frozenset(
    {"CREATED", "CANCELLED", "RUNNING", "DONE", "PARTIAL", "FAILED"}
)
SubscriptionStatus = Literal["CREATED", "RUNNING", "CANCELLED", "COMPLETED", "FAILED"]
SUBSCRIPTION_STATUSES: Final[frozenset[str]] = frozenset(
    {"CREATED", "RUNNING", "CANCELLED", "COMPLETED", "FAILED"}
)
DELIVERY_STATUSES: Final[frozenset[str]] = frozenset(
    {
        "WAITING",
        "DELIVERED",
        "DELIVERY_FAILED",
        "PREPARING",
        "INGESTING",
        "DONE",
        "IMPORT_FAILED",
        "NON_INGESTIBLE",
    }
)
"""``DeliveryStatus``: ``DONE`` and the three failures are final."""
DELIVERY_FAILURES: Final[frozenset[str]] = frozenset({"DELIVERY_FAILED", "IMPORT_FAILED", "NON_INGESTIBLE"})
ARCHIVE_STATUSES: Final[frozenset[str]] = frozenset({"WAITING", "PREPARING", "DONE", "FAILED"})
"""``DeliveryArchiveStatus``: only a ``DONE`` archive can be downloaded."""


def _masked_repr(obj: Model) -> str:
    """The model's fields as its repr shows them, with the provider's API key in ``input`` masked."""
    shown = (f"{name}={scrub_data(getattr(obj, name))!r}" for name in obj.__struct_fields__)
    return f"{type(obj).__name__}({', '.join(shown)})"


class Order(Model):
    """An order (``Order``): a quote while ``CREATED``, placed once confirmed.

    ``sqkm`` is what the order costs of the quota: its area in km², or the
    provider's minimum order area, whichever is greater. ``collectionId`` is
    the BYOC collection its data is imported into (``sh.byoc``).
    """

    required_in_answers = ("id", "status")

    id: str | None = None
    name: str | None = None
    account_id: str | None = None
    collection_id: str | None = None
    status: str | None = None  # an OrderStatus; kept open for statuses added later
    sqkm: float | None = None
    input: dict[str, Any] | None = None
    created: str | None = None

    @property
    def provider(self) -> str | None:
        """``"PLANET"`` or ``"MAXAR"``: whose data the order is."""
        value = (self.input or {}).get("provider")
        return value if isinstance(value, str) else None

    def __repr__(self) -> str:
        return _masked_repr(self)


class Subscription(Model):
    """A subscription (``Subscription``): new data over an area, imported as it is published."""

    required_in_answers = ("id", "status")

    id: str | None = None
    name: str | None = None
    account_id: str | None = None
    collection_id: str | None = None
    status: str | None = None  # a SubscriptionStatus
    sqkm: float | None = None
    input: dict[str, Any] | None = None
    created: str | None = None

    def __repr__(self) -> str:
        return _masked_repr(self)


class Delivery(Model):
    """A delivery of an order or a subscription (``OrderDelivery``/``SubscriptionDelivery``).

    Planet deliveries have an ``itemId``, Maxar ones ``selectedImages``.
    ``errorMessage`` says why a ``DELIVERY_FAILED``, ``IMPORT_FAILED`` or
    ``NON_INGESTIBLE`` delivery failed.
    """

    required_in_answers = ("id", "status")

    id: str | None = None
    status: str | None = None  # a DeliveryStatus
    provider: str | None = None
    sqkm: float | None = None
    item_id: str | None = None
    selected_images: list[str] | None = None
    error_message: str | None = None

    @property
    def is_final(self) -> bool:
        """True once the delivery ended: ``DONE`` or failed."""
        return self.status == "DONE" or self.status in DELIVERY_FAILURES


class DeliveryTile(Model):
    """A BYOC tile a delivery became (``DeliveryTile``); ``status`` is the BYOC tile's."""

    required_in_answers = ("id",)

    id: str | None = None
    delivery_id: str | None = None
    status: str | None = None


class DeliveryArchive(Model):
    """An archive of a delivery's files (``DeliveryArchive``); ``size`` once ``DONE``."""

    delivery_id: str | None = None
    format: str | None = None
    requested: str | None = None
    status: str | None = None  # a DeliveryArchiveStatus
    size: int | None = None


class Quota(Model):
    """The quota of one third-party collection (``Quota``): km² bought and used."""

    collection_id: str | None = None
    quota_sqkm: float | None = None
    quota_used: float | None = None

    @property
    def available(self) -> float | None:
        """km² still available (``quotaSqkm - quotaUsed``)."""
        if self.quota_sqkm is None:
            return None
        return self.quota_sqkm - (self.quota_used or 0.0)
