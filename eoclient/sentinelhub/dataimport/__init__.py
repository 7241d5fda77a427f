"""Sentinel Hub Data Import (third-party data: Planet, Maxar), reached as ``sh.dataimport``.

:mod:`.client` holds :class:`DataImport` (search, quotes and orders,
subscriptions, quotas); :mod:`.deliveries` the deliveries, their files,
archives and BYOC tiles; :mod:`.jobs` orders, subscriptions and archives as
Jobs; :mod:`.models` the wire models; :mod:`.requests` the per-provider
checks of what is sent.
"""

from __future__ import annotations

from eoclient.sentinelhub.dataimport.client import DataImport
from eoclient.sentinelhub.dataimport.deliveries import Deliveries
from eoclient.sentinelhub.dataimport.models import (
    Delivery,
    DeliveryArchive,
    DeliveryTile,
    Order,
    Quota,
    Subscription,
)

__all__ = [
    "DataImport",
    "Deliveries",
    "Delivery",
    "DeliveryArchive",
    "DeliveryTile",
    "Order",
    "Quota",
    "Subscription",
]
