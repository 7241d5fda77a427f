"""The bodies Data Import is sent, checked per provider before anything goes out.

Each check follows the OpenAPI document's schemas for the provider named in
``provider`` (``PLANET``: ``PlanetSearchQuery``, ``PlanetOrderRequest``,
``PlanetSubscriptionRequest``; ``MAXAR``: ``MaxarSearchQuery``,
``MaxarOrderRequest``) and raises :class:`~eoclient.errors.ValidationError`
naming the field (``order.input.data[0].harmonizeTo``). Fields the document
does not describe are passed through: the providers add some.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from eoclient._redact import register_secret
from eoclient.errors import ValidationError
from eoclient.sentinelhub.byoc_models import area_geometry, uuid_id

__all__ = [
    "PROVIDERS",
    "native_search_body",
    "order_body",
    "search_body",
    "subscription_body",
]

PROVIDERS: Final = ("PLANET", "MAXAR")
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
_SUBSCRIPTION_BUNDLES: Final = _BUNDLES[:4]
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
MAX_PLANET_ITEMS: Final = 250
MAX_MAXAR_IMAGES: Final = 10


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(where, f"expected an object, got {type(value).__name__}")
    return dict(value)


def _string(obj: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise ValidationError(f"{where}.{key}", "is required")
        return None
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{where}.{key}", f"expected non-empty text, got {value!r:.60}")
    return value


def _api_key(obj: Mapping[str, Any], where: str, *, required: bool = False) -> None:
    """The provider's API key: checked without echoing it, and scrubbed from every log and error."""
    value = obj.get("planetApiKey")
    if value is None:
        if required:
            raise ValidationError(f"{where}.planetApiKey", "is required")
        return
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{where}.planetApiKey", "expected non-empty text")
    register_secret(value)


def _enum(
    obj: Mapping[str, Any], key: str, allowed: tuple[str, ...], where: str, *, required: bool = False
) -> None:
    value = _string(obj, key, where, required=required)
    if value is not None and value not in allowed:
        raise ValidationError(f"{where}.{key}", f"must be one of {list(allowed)}, got {value!r}")


def _number(obj: Mapping[str, Any], key: str, low: float, high: float, where: str) -> None:
    value = obj.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValidationError(f"{where}.{key}", f"must be a number from {low:g} to {high:g}, got {value!r}")


def _strings(obj: Mapping[str, Any], key: str, most: int, where: str) -> None:
    value = obj.get(key)
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValidationError(f"{where}.{key}", "expected a list of ids (text)")
    if not 1 <= len(value) <= most:
        raise ValidationError(f"{where}.{key}", f"must list 1 to {most} ids, got {len(value)}")


def _time(obj: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> None:
    value = obj.get(key)
    if value is None:
        if required:
            raise ValidationError(f"{where}.{key}", "is required")
        return
    # The document: "a date representation without time (e.g. 2019-01-31) will not work".
    if not isinstance(value, str) or "T" not in value.upper():
        raise ValidationError(f"{where}.{key}", f"expected an ISO 8601 date-time, got {value!r:.60}")
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{where}.{key}", f"not an ISO 8601 date-time: {value!r:.60}") from None


def _time_range(data_filter: Mapping[str, Any], where: str, *, from_required: bool = False) -> None:
    raw = data_filter.get("timeRange")
    if raw is None:
        if from_required:
            raise ValidationError(f"{where}.timeRange", "is required (at least timeRange.from)")
        return
    span = _mapping(raw, f"{where}.timeRange")
    _time(span, "from", f"{where}.timeRange", required=from_required)
    _time(span, "to", f"{where}.timeRange")


def _bounds(value: Any, where: str) -> dict[str, Any]:
    """``ProcessRequestInputBounds``: a bbox and/or a Polygon/MultiPolygon geometry."""
    if value is None:
        raise ValidationError(where, "is required: a bbox and/or a geometry")
    bounds = _mapping(value, where)
    bbox, geometry = bounds.get("bbox"), bounds.get("geometry")
    if bbox is None and geometry is None:
        raise ValidationError(where, "needs a bbox and/or a geometry")
    if bbox is not None:
        if (
            not isinstance(bbox, list | tuple)
            or len(bbox) != 4
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox)
        ):
            raise ValidationError(f"{where}.bbox", "expected 4 numbers [minx, miny, maxx, maxy]")
        if bbox[0] >= bbox[2] or bbox[1] >= bbox[3]:
            raise ValidationError(f"{where}.bbox", f"is empty: {list(bbox)}")
        bounds["bbox"] = [float(v) for v in bbox]
    if geometry is not None:
        bounds["geometry"] = area_geometry(geometry, field=f"{where}.geometry")
    if bounds.get("properties") is not None:
        _string(_mapping(bounds["properties"], f"{where}.properties"), "crs", f"{where}.properties")
    return bounds


def _one_data(query: Mapping[str, Any], where: str) -> dict[str, Any]:
    data = query.get("data")
    if not isinstance(data, list) or len(data) != 1:
        raise ValidationError(f"{where}.data", "must be a list of exactly one data specification")
    return _mapping(data[0], f"{where}.data[0]")


def _provider(query: Mapping[str, Any], where: str, allowed: tuple[str, ...] = PROVIDERS) -> str:
    provider = _string(query, "provider", where, required=True)
    if provider not in allowed:
        raise ValidationError(f"{where}.provider", f"must be one of {list(allowed)}, got {provider!r}")
    return provider


def _data_filter(spec: Mapping[str, Any], where: str) -> dict[str, Any] | None:
    raw = spec.get("dataFilter")
    if raw is None:
        return None
    data_filter = _mapping(raw, f"{where}.dataFilter")
    _time_range(data_filter, f"{where}.dataFilter")
    _number(data_filter, "maxCloudCoverage", 0, 100, f"{where}.dataFilter")
    return data_filter


def _check_query(query: dict[str, Any], where: str, *, order: bool) -> None:
    """A search query (and an order's input, which is one plus what to order)."""
    provider = _provider(query, where)
    query["bounds"] = _bounds(query.get("bounds"), f"{where}.bounds")
    spec = _one_data(query, where)
    at = f"{where}.data[0]"
    data_filter = _data_filter(spec, at)
    if provider == "PLANET":
        _api_key(query, where, required=order)
        _enum(spec, "type", ("catalog",), at)
        _enum(spec, "itemType", _ITEM_TYPES, at, required=True)
        _enum(spec, "productBundle", _BUNDLES, at, required=True)
        if order:
            _enum(spec, "harmonizeTo", _HARMONIZE, at, required=True)
            _strings(spec, "itemIds", MAX_PLANET_ITEMS, at)
            if spec.get("itemIds") is not None and data_filter is not None:
                raise ValidationError(f"{at}.itemIds", "give itemIds or dataFilter, not both")
        return
    _enum(spec, "productBands", ("4BB",), at, required=True)
    if data_filter is not None:
        at_filter = f"{at}.dataFilter"
        for key, high in (
            ("minOffNadir", 45),
            ("maxOffNadir", 45),
            ("minSunElevation", 90),
            ("maxSunElevation", 90),
        ):
            _number(data_filter, key, 0, high, at_filter)
        _enum(data_filter, "sensor", _SENSORS, at_filter)
    if order:
        _enum(spec, "productKernel", _KERNELS, at)
        _strings(spec, "selectedImages", MAX_MAXAR_IMAGES, at)
        if spec.get("selectedImages") is not None and data_filter is not None:
            raise ValidationError(f"{at}.selectedImages", "give selectedImages or dataFilter, not both")
    query["data"] = [spec]


def search_body(query: Any, *, field: str = "query") -> dict[str, Any]:
    """The body of ``POST /dataimport/search`` (``SearchQuery``), checked for its provider."""
    body = _mapping(query, field)
    _check_query(body, field, order=False)
    return body


def native_search_body(query: Any, *, field: str = "query") -> dict[str, Any]:
    """The body of ``POST /dataimport/nativesearch``: ``provider`` plus the provider's own search."""
    body = _mapping(query, field)
    _provider(body, field)
    _api_key(body, field)
    return body


def _named(body: dict[str, Any], field: str) -> None:
    _string(body, "name", field)
    if body.get("collectionId") is not None:
        body["collectionId"] = uuid_id(body["collectionId"], field=f"{field}.collectionId")


def order_body(order: Any, *, field: str = "order") -> dict[str, Any]:
    """The body of ``POST /dataimport/orders`` (``OrderRequest``): name, collectionId, input.

    Read-only fields of a fetched order (id, status, sqkm...) are left out.
    """
    if hasattr(order, "to_dict"):
        order = order.to_dict()
    given = _mapping(order, field)
    body = {k: v for k, v in given.items() if k in ("name", "collectionId", "input")}
    _named(body, field)
    if body.get("input") is None:
        raise ValidationError(f"{field}.input", "is required: what to order")
    body["input"] = _mapping(body["input"], f"{field}.input")
    _check_query(body["input"], f"{field}.input", order=True)
    return body


def _subscription_spec(spec: Mapping[str, Any], at: str) -> None:
    kind = spec.get("type", "catalog")
    raw_filter = spec.get("dataFilter")
    if raw_filter is None:
        raise ValidationError(f"{at}.dataFilter", "is required (at least timeRange.from)")
    data_filter = _mapping(raw_filter, f"{at}.dataFilter")
    _time_range(data_filter, f"{at}.dataFilter", from_required=True)
    if kind == "catalog":
        _enum(spec, "itemType", ("PSScene",), at, required=True)
        _enum(spec, "productBundle", _SUBSCRIPTION_BUNDLES, at, required=True)
        _enum(spec, "harmonizeTo", _HARMONIZE, at, required=True)
        _number(data_filter, "maxCloudCoverage", 0, 100, f"{at}.dataFilter")
        return
    _enum(spec, "type", (*_PV_TYPES, "analysis_ready_ps"), at, required=True)
    _string(spec, "id", at, required=True)


def subscription_body(subscription: Any, *, field: str = "subscription") -> dict[str, Any]:
    """The body of ``POST /dataimport/subscriptions`` (``PlanetSubscriptionRequest``)."""
    if hasattr(subscription, "to_dict"):
        subscription = subscription.to_dict()
    given = _mapping(subscription, field)
    body = {k: v for k, v in given.items() if k in ("name", "collectionId", "input")}
    _named(body, field)
    if body.get("input") is None:
        raise ValidationError(f"{field}.input", "is required: what to subscribe to")
    where = f"{field}.input"
    query = _mapping(body["input"], where)
    _provider(query, where, ("PLANET",))
    _api_key(query, where, required=True)
    query["bounds"] = _bounds(query.get("bounds"), f"{where}.bounds")
    _subscription_spec(_one_data(query, where), f"{where}.data[0]")
    body["input"] = query
    return body
