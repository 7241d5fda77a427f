"""The emulated Data Import data: orders, subscriptions, deliveries on the clock, quotas, files.

What the service checks is checked here (a :class:`Refusal` in Sentinel Hub's
``RestErrorWrapper`` shape); the package docstring says how each thing
moves on the emulated clock.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from eoclient.emulator.core.refusal import Refusal, invalid
from eoclient.emulator.core.state import EmulatorState
from eoclient.emulator.sentinelhub.byoc import PLANET_BUCKET_PREFIX, byoc_store
from eoclient.emulator.sentinelhub.byoc.data import Collection, Tile, iso, new_id, tile_status

__all__ = [
    "DELIVERY_PHASES",
    "Archive",
    "DataImportStore",
    "Delivery",
    "Parent",
    "dataimport_store",
]

# A delivery's phases from its start (emulated seconds) before its BYOC tile is ingested.
DELIVERY_PHASES: Final = (("WAITING", 2.0), ("DELIVERED", 2.0), ("PREPARING", 2.0))
_PRE_INGEST: Final = sum(s for _, s in DELIVERY_PHASES)
ARCHIVE_PHASES: Final = (("WAITING", 1.0), ("PREPARING", 4.0))
SUBSCRIPTION_PERIOD: Final = 10.0
"""A running subscription gets a new delivery every this many emulated seconds."""
MAXAR_MIN_SQKM: Final = 25.0
"""Maxar's minimum order area: a smaller order costs this much."""
_EARTH_RADIUS_KM: Final = 6371.0088

_ITEM_TYPES: Final = ("PSScene", "SkySatCollect")
_BUNDLES: Final = (
    "analytic_udm2",
    "analytic_sr_udm2",
    "analytic_8b_udm2",
    "analytic_8b_sr_udm2",
    "analytic",
    "analytic_sr",
    "panchromatic",
)
_HARMONIZE: Final = ("NONE", "Sentinel-2")
_SENSORS: Final = ("WV01", "WV02", "WV03", "WV04", "GE01")
_KERNELS: Final = ("CC", "NN", "MTF")
_PV_TYPES: Final = (
    "soil_water_content",
    "biomass_proxy",
    "land_surface_temperature",
    "forest_carbon_diligence_30m",
    "forest_carbon_monitoring_3m",
)


@dataclass
class Delivery:
    """One delivery: its item(s), when it started, the BYOC tile it became."""

    id: str
    provider: str
    started: float
    sqkm: float
    item_id: str | None = None
    selected_images: list[str] | None = None
    tile_id: str | None = None


@dataclass
class Parent:
    """An order or a subscription (``kind``): what both have, and their deliveries."""

    kind: str  # "order" / "subscription"
    id: str
    name: str
    account_id: str
    collection_id: str | None
    input: dict[str, Any]
    sqkm: float
    created: float
    status: str = "CREATED"  # CREATED, CANCELLED; else derived from the deliveries
    confirmed: float | None = None
    cancelled: float | None = None
    ends: float | None = None  # a subscription's timeRange.to, as emulated epoch seconds
    deleted: bool = False
    deliveries: list[Delivery] = field(default_factory=list)


@dataclass
class Archive:
    """A delivery's zip, asked for at ``requested``."""

    requested: float
    content: bytes


@dataclass
class DataImportStore:
    """The Data Import data of one emulator, plus test knobs.

    ``quotas[collection] = [bought, used]`` in km² (only Maxar orders use quota);
    ``default_page``: the page size of listings and Planet searches.
    """

    orders: dict[str, Parent] = field(default_factory=dict)
    subscriptions: dict[str, Parent] = field(default_factory=dict)
    archives: dict[str, Archive] = field(default_factory=dict)  # by delivery id
    quotas: dict[str, list[float]] = field(default_factory=lambda: {"MAXAR_WORLDVIEW": [1000.0, 0.0]})
    default_page: int = 5


def dataimport_store(state: EmulatorState) -> DataImportStore:
    """The Data Import store of an emulator's state (created on first use)."""
    return state.store("sh_dataimport", DataImportStore)


# -- checks of what is sent ------------------------------------------------------------------


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(where, value, "must be an object")
    return value


def _enum(
    obj: dict[str, Any], key: str, allowed: tuple[str, ...], where: str, *, required: bool = False
) -> None:
    value = obj.get(key)
    if value is None:
        if required:
            raise invalid(f"{where}.{key}", None, "is required")
        return
    if value not in allowed:
        raise invalid(f"{where}.{key}", value, f"must be one of {list(allowed)}")


def _range(obj: dict[str, Any], key: str, high: float, where: str) -> None:
    value = obj.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= high:
        raise invalid(f"{where}.{key}", value, f"must be a number from 0 to {high:g}")


def _ids(obj: dict[str, Any], key: str, most: int, where: str) -> list[str] | None:
    value = obj.get(key)
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or not value
        or len(value) > most
        or not all(isinstance(v, str) for v in value)
    ):
        raise invalid(f"{where}.{key}", value, f"must list 1 to {most} ids")
    return value


def _time(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, str) or "T" not in value.upper():
        raise invalid(where, value, "must be an ISO 8601 date-time (a date alone will not work)")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise invalid(where, value, "must be an ISO 8601 date-time") from None


def _polygons(geometry: Any, where: str) -> list[list[list[list[float]]]]:
    geometry = _obj(geometry, where)
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Polygon" and isinstance(coords, list):
        return [coords]
    if kind == "MultiPolygon" and isinstance(coords, list):
        return coords
    raise invalid(f"{where}.type", kind, "must be Polygon or MultiPolygon")


def _ring_km2(ring: list[list[float]], meters: bool) -> float:
    """The area of a ring: planar for metres, on the sphere for degrees."""
    total = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
        if meters:
            total += x0 * y1 - x1 * y0
        else:
            total += math.radians(x1 - x0) * (2 + math.sin(math.radians(y0)) + math.sin(math.radians(y1)))
    return abs(total) / 2 / 1e6 if meters else abs(total) * _EARTH_RADIUS_KM**2 / 2


def bounds_km2(bounds: Any, where: str = "input.bounds") -> float:
    """The area of ``bounds`` (its geometry if given, else its bbox) in km²; refused when absent or empty."""
    bounds = _obj(bounds, where)
    crs = str(_obj(bounds.get("properties") or {}, f"{where}.properties").get("crs", "CRS84"))
    meters = not (crs.endswith("CRS84") or crs.endswith("4326"))
    if bounds.get("geometry") is not None:
        polys = _polygons(bounds["geometry"], f"{where}.geometry")
        try:
            area = sum(
                _ring_km2([[float(x), float(y)] for x, y, *_ in poly[0]], meters)
                - sum(_ring_km2([[float(x), float(y)] for x, y, *_ in hole], meters) for hole in poly[1:])
                for poly in polys
            )
        except (TypeError, ValueError, IndexError):
            raise invalid(
                f"{where}.geometry", None, "coordinates must be rings of [x, y] positions"
            ) from None
    elif bounds.get("bbox") is not None:
        bbox = bounds["bbox"]
        if not isinstance(bbox, list) or len(bbox) != 4 or not all(isinstance(v, int | float) for v in bbox):
            raise invalid(f"{where}.bbox", bbox, "must be 4 numbers")
        x0, y0, x1, y1 = bbox
        area = _ring_km2([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], meters)
    else:
        raise invalid(where, bounds, "a bbox and/or a geometry is required")
    if area <= 0:
        raise invalid(where, None, "the area is empty")
    return area


def _one_data(query: dict[str, Any], where: str) -> dict[str, Any]:
    data = query.get("data")
    if not isinstance(data, list) or len(data) != 1:
        raise invalid(f"{where}.data", data, "must hold exactly one item")
    return _obj(data[0], f"{where}.data[0]")


def check_query(query: Any, where: str, *, order: bool) -> dict[str, Any]:
    """A ``SearchQuery`` (or an order's input): provider-specific, as the schemas say; its ``data[0]``."""
    query = _obj(query, where)
    provider = query.get("provider")
    _enum(query, "provider", ("PLANET", "MAXAR"), where, required=True)
    bounds_km2(query.get("bounds"), f"{where}.bounds")
    spec = _one_data(query, where)
    at = f"{where}.data[0]"
    data_filter = _obj(spec.get("dataFilter") or {}, f"{at}.dataFilter")
    span = _obj(data_filter.get("timeRange") or {}, f"{at}.dataFilter.timeRange")
    _time(span.get("from"), f"{at}.dataFilter.timeRange.from")
    _time(span.get("to"), f"{at}.dataFilter.timeRange.to")
    _range(data_filter, "maxCloudCoverage", 100, f"{at}.dataFilter")
    if provider == "PLANET":
        if order and not query.get("planetApiKey"):
            raise invalid(f"{where}.planetApiKey", None, "is required")
        _enum(spec, "type", ("catalog",), at)
        _enum(spec, "itemType", _ITEM_TYPES, at, required=True)
        _enum(spec, "productBundle", _BUNDLES, at, required=True)
        if order:
            _enum(spec, "harmonizeTo", _HARMONIZE, at, required=True)
            if spec.get("harmonizeTo") == "Sentinel-2" and spec.get("itemType") != "PSScene":
                raise invalid(
                    f"{at}.harmonizeTo", "Sentinel-2", "Sentinel-2 harmonization is only for PSScene"
                )
            _ids(spec, "itemIds", 250, at)
        return spec
    _enum(spec, "productBands", ("4BB",), at, required=True)
    for key, high in (
        ("minOffNadir", 45),
        ("maxOffNadir", 45),
        ("minSunElevation", 90),
        ("maxSunElevation", 90),
    ):
        _range(data_filter, key, high, f"{at}.dataFilter")
    _enum(data_filter, "sensor", _SENSORS, f"{at}.dataFilter")
    if order:
        _enum(spec, "productKernel", _KERNELS, at)
        _ids(spec, "selectedImages", 10, at)
    return spec


def check_subscription_input(query: Any, where: str = "input") -> dict[str, Any]:
    """A ``PlanetSubscriptionRequest``'s input; its ``data[0]``."""
    query = _obj(query, where)
    _enum(query, "provider", ("PLANET",), where, required=True)
    if not query.get("planetApiKey"):
        raise invalid(f"{where}.planetApiKey", None, "is required")
    bounds_km2(query.get("bounds"), f"{where}.bounds")
    spec = _one_data(query, where)
    at = f"{where}.data[0]"
    if spec.get("dataFilter") is None:
        raise invalid(f"{at}.dataFilter", None, "is required")
    span = _obj(
        _obj(spec["dataFilter"], f"{at}.dataFilter").get("timeRange") or {}, f"{at}.dataFilter.timeRange"
    )
    if span.get("from") is None:
        raise invalid(f"{at}.dataFilter.timeRange.from", None, "is required: a subscription needs a start")
    _time(span["from"], f"{at}.dataFilter.timeRange.from")
    _time(span.get("to"), f"{at}.dataFilter.timeRange.to")
    kind = spec.get("type", "catalog")
    if kind == "catalog":
        _enum(spec, "itemType", ("PSScene",), at, required=True)
        _enum(spec, "productBundle", _BUNDLES[:4], at, required=True)
        _enum(spec, "harmonizeTo", _HARMONIZE, at, required=True)
    else:
        _enum(spec, "type", (*_PV_TYPES, "analysis_ready_ps"), at, required=True)
        if not isinstance(spec.get("id"), str):
            raise invalid(f"{at}.id", spec.get("id"), "is required")
    return spec


# -- search results ----------------------------------------------------------------------------


def _digest(*parts: Any) -> bytes:
    return hashlib.sha256("\n".join(str(p) for p in parts).encode()).digest()


def search_features(query: dict[str, Any], spec: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """The products a search finds: fixed by the query, filtered as it asks."""
    provider = query["provider"]
    bounds = query["bounds"]
    bbox = bounds.get("bbox") or _geometry_bbox(bounds["geometry"])
    data_filter = spec.get("dataFilter") or {}
    max_cloud = data_filter.get("maxCloudCoverage", 100)
    sensor = data_filter.get("sensor")
    found = []
    for i in range(12 if provider == "PLANET" else 4):
        seed = _digest(provider, bbox, spec.get("itemType"), i)
        acquired = now - 86400 * (1 + seed[0])
        cloud = seed[1] * 100 / 255
        if cloud > max_cloud:
            continue
        stamp = datetime.fromtimestamp(acquired).strftime("%Y%m%d_%H%M%S")
        geometry = {
            "type": "Polygon",
            "coordinates": [
                [
                    [bbox[0], bbox[1]],
                    [bbox[2], bbox[1]],
                    [bbox[2], bbox[3]],
                    [bbox[0], bbox[3]],
                    [bbox[0], bbox[1]],
                ]
            ],
        }
        if provider == "PLANET":
            props = {
                "acquired": iso(acquired),
                "cloud_cover": round(cloud / 100, 2),
                "item_type": spec["itemType"],
            }
            found.append(
                {
                    "type": "Feature",
                    "id": f"{stamp}_{seed[2]:02d}_{seed[3]:04x}",
                    "geometry": geometry,
                    "properties": props,
                }
            )
        else:
            name = _SENSORS[seed[2] % len(_SENSORS)]
            if sensor is not None and sensor != name:
                continue
            props = {"acquisitionDate": iso(acquired), "cloudCover": round(cloud, 1), "sensor": name}
            found.append(
                {"type": "Feature", "id": seed[4:12].hex().upper(), "geometry": geometry, "properties": props}
            )
    return found


def _geometry_bbox(geometry: dict[str, Any]) -> list[float]:
    points = [p for poly in _polygons(geometry, "bounds.geometry") for ring in poly for p in ring]
    return [
        min(p[0] for p in points),
        min(p[1] for p in points),
        max(p[0] for p in points),
        max(p[1] for p in points),
    ]


# -- orders, subscriptions and their deliveries on the clock ---------------------------------


def delivery_status(state: EmulatorState, delivery: Delivery, now: float) -> str:
    """A delivery's status at ``now``; its BYOC tile decides once it is being ingested."""
    elapsed = now - delivery.started
    for status, seconds in DELIVERY_PHASES:
        if elapsed < seconds:
            return status
        elapsed -= seconds
        if status == "WAITING" and "nodeliver" in _items(delivery):
            return "DELIVERY_FAILED"
    tile = _tile(state, delivery)
    if tile is None:
        return "NON_INGESTIBLE"
    status = tile_status(tile, now)
    return "DONE" if status == "INGESTED" else "IMPORT_FAILED" if status == "FAILED" else "INGESTING"


def _items(delivery: Delivery) -> str:
    return " ".join([delivery.item_id or "", *(delivery.selected_images or [])]).lower()


def _tile(state: EmulatorState, delivery: Delivery) -> Tile | None:
    for tiles in byoc_store(state).tiles.values():
        if delivery.tile_id in tiles:
            return tiles[delivery.tile_id]
    return None


def error_message(status: str, delivery: Delivery) -> str | None:
    """Why a delivery failed (``errorMessage``)."""
    if status == "DELIVERY_FAILED":
        return f"the provider did not deliver {_items(delivery)}"
    if status == "IMPORT_FAILED":
        return "the delivered files could not be ingested into the BYOC collection"
    if status == "NON_INGESTIBLE":
        return "the BYOC collection of the delivery no longer exists"
    return None


def settle(state: EmulatorState, parent: Parent, now: float) -> None:
    """Bring ``parent`` up to ``now``: new subscription deliveries, BYOC tiles of ingesting deliveries."""
    if parent.kind == "subscription" and parent.confirmed is not None:
        stop = min(t for t in (now, parent.cancelled, parent.ends) if t is not None)
        due = int((stop - parent.confirmed) // SUBSCRIPTION_PERIOD)
        while len(parent.deliveries) < due:
            n = len(parent.deliveries) + 1
            started = parent.confirmed + n * SUBSCRIPTION_PERIOD
            item = f"{datetime.fromtimestamp(started).strftime('%Y%m%d_%H%M%S')}_{n:02d}_sub"
            parent.deliveries.append(
                Delivery(id=new_id(state), provider="PLANET", started=started, sqkm=parent.sqkm, item_id=item)
            )
    byoc = byoc_store(state)
    for delivery in parent.deliveries:
        ingest = delivery.started + _PRE_INGEST
        if delivery.tile_id is not None or now < ingest or "nodeliver" in _items(delivery):
            continue
        coll_id = parent.collection_id
        if coll_id is None or coll_id not in byoc.collections:
            continue  # NON_INGESTIBLE
        tile = Tile(
            id=new_id(state),
            path=f"{parent.id}/{delivery.id}/{delivery.item_id or '_'.join(delivery.selected_images or [])}",
            seq=byoc.next_seq(),
            created=ingest,
            ingest_started=ingest,
            cover_geometry=_cover(parent.input.get("bounds") or {}),
            sensing_time=iso(delivery.started),
        )
        byoc.tiles.setdefault(coll_id, {})[tile.id] = tile
        delivery.tile_id = tile.id


def _cover(bounds: dict[str, Any]) -> dict[str, Any] | None:
    if bounds.get("geometry") is not None:
        return dict(bounds["geometry"])
    bbox = bounds.get("bbox")
    if not bbox:
        return None
    x0, y0, x1, y1 = bbox
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def parent_status(state: EmulatorState, parent: Parent, now: float) -> str:
    """An order's or a subscription's status at ``now``."""
    if parent.status in ("CREATED", "CANCELLED"):
        return parent.status
    statuses = [delivery_status(state, d, now) for d in parent.deliveries]
    running = any(s not in ("DONE", "DELIVERY_FAILED", "IMPORT_FAILED", "NON_INGESTIBLE") for s in statuses)
    if parent.kind == "subscription":
        if parent.cancelled is not None:
            return "CANCELLED"
        return "COMPLETED" if parent.ends is not None and now >= parent.ends and not running else "RUNNING"
    if running or not statuses:
        return "RUNNING"
    done = statuses.count("DONE")
    return "DONE" if done == len(statuses) else "PARTIAL" if done else "FAILED"


def order_deliveries(state: EmulatorState, order: Parent, spec: dict[str, Any], now: float) -> list[Delivery]:
    """The deliveries a confirmed order makes: one per Planet item, one per Maxar order."""
    provider = order.input["provider"]
    if provider == "PLANET":
        items = spec.get("itemIds") or [f["id"] for f in search_features(order.input, spec, now)[:2]]
        share = order.sqkm / max(1, len(items))
        return [
            Delivery(id=new_id(state), provider="PLANET", started=now, sqkm=share, item_id=i) for i in items
        ]
    images = spec.get("selectedImages") or [f["id"] for f in search_features(order.input, spec, now)[:1]]
    return [
        Delivery(id=new_id(state), provider="MAXAR", started=now, sqkm=order.sqkm, selected_images=images)
    ]


def new_collection(state: EmulatorState, parent: Parent, now: float) -> str:
    """The BYOC collection a confirmed order or subscription without one imports into."""
    byoc = byoc_store(state)
    coll = Collection(
        id=new_id(state),
        account_id=byoc.account_id,
        name=parent.name or f"{parent.kind} {parent.id}",
        s3_bucket=f"{PLANET_BUCKET_PREFIX}{parent.kind}s",
        created=now,
    )
    byoc.collections[coll.id] = coll
    byoc.tiles[coll.id] = {}
    return coll.id


def parent_json(state: EmulatorState, parent: Parent, now: float) -> dict[str, Any]:
    """An ``Order`` or ``Subscription`` as the service answers it (the API key is not echoed)."""
    shown = {k: v for k, v in parent.input.items() if k != "planetApiKey"}
    out: dict[str, Any] = {
        "id": parent.id,
        "name": parent.name,
        "accountId": parent.account_id,
        "status": parent_status(state, parent, now),
        "sqkm": round(parent.sqkm, 6),
        "input": shown,
        "created": iso(parent.created),
    }
    if parent.collection_id is not None:
        out["collectionId"] = parent.collection_id
    return out


def delivery_json(state: EmulatorState, parent: Parent, delivery: Delivery, now: float) -> dict[str, Any]:
    """An ``OrderDelivery`` / ``SubscriptionDelivery``."""
    status = delivery_status(state, delivery, now)
    out: dict[str, Any] = {"id": delivery.id, "provider": delivery.provider, "status": status}
    if parent.kind == "order":
        out["sqkm"] = round(delivery.sqkm, 6)
    if delivery.item_id is not None:
        out["itemId"] = delivery.item_id
    if delivery.selected_images is not None:
        out["selectedImages"] = list(delivery.selected_images)
    message = error_message(status, delivery)
    if message is not None:
        out["errorMessage"] = message
    return out


def tiles_json(state: EmulatorState, delivery: Delivery, now: float) -> list[dict[str, Any]]:
    """The ``DeliveryTile`` list of a delivery (its one BYOC tile, once made)."""
    tile = _tile(state, delivery)
    if tile is None:
        return []
    return [{"id": tile.id, "deliveryId": delivery.id, "status": tile_status(tile, now)}]


# -- files and archives ----------------------------------------------------------------------


def delivery_files(delivery: Delivery) -> dict[str, int]:
    """The files of a delivered product by name (with its folder), and their sizes."""
    if delivery.provider == "PLANET":
        item = delivery.item_id or "item"
        names = [
            f"{item}/{item}_3B_AnalyticMS_SR.tif",
            f"{item}/{item}_3B_udm2.tif",
            f"{item}/{item}_metadata.json",
        ]
    else:
        names = ["VOL_WV.XML", *(f"{img}/{img}_P001_MUL.TIF" for img in delivery.selected_images or [])]
    return {name: 20_000 + int.from_bytes(_digest(delivery.id, name)[:2], "big") for name in names}


def file_bytes(delivery: Delivery, name: str, size: int) -> bytes:
    """A file's bytes: the same on every request."""
    block = _digest(delivery.id, name) * 8
    return (block * (size // len(block) + 1))[:size]


def archive_bytes(delivery: Delivery) -> bytes:
    """The zip of a delivery's files (fixed timestamps: the same bytes every time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, size in delivery_files(delivery).items():
            archive.writestr(
                zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), file_bytes(delivery, name, size)
            )
    return out.getvalue()


def archive_status(archive: Archive, now: float) -> str:
    """``WAITING``, ``PREPARING``, then ``DONE``."""
    elapsed = now - archive.requested
    for status, seconds in ARCHIVE_PHASES:
        if elapsed < seconds:
            return status
        elapsed -= seconds
    return "DONE"


def quota_refusal(available: float, required: float) -> Refusal:
    """403 ``QuotaExceededError``: the quota left, and what the order needs."""
    return Refusal(
        403,
        "COMMON_INSUFFICIENT_PERMISSIONS",
        f"Insufficient quota: {required:g} km² required, {available:g} km² available",
        errors={"availableQuota": available, "requiredQuota": required},
    )


def thumbnail_png(product_id: str) -> bytes:
    """A small grey PNG whose shade follows the product id."""
    shade = _digest(product_id)[0]
    width = height = 16
    raw = b"".join(b"\x00" + bytes([shade]) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
