"""Catalog search requests: validated once, rendered as a POST body or a GET query.

:class:`SearchQuery` holds what :meth:`eoclient.sentinelhub.Catalog.search`
was asked for, checked (collections, bbox or intersects, the required
``datetime``, ids, a CQL2 filter through :mod:`eoclient.cql2`, fields,
distinct, the page size); ``body()`` and ``params()`` are the two wire forms.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import msgspec

from eoclient import cql2
from eoclient.errors import ValidationError
from eoclient.geo import CRS84, BBox, as_geojson, bbox_of
from eoclient.sentinelhub.data_collections import DataCollection
from eoclient.timeutils import parse_time, parse_time_interval, serialize_time

__all__ = [
    "MAX_LIMIT",
    "CollectionsLike",
    "DatetimeLike",
    "FieldsLike",
    "SearchQuery",
    "format_datetime",
    "format_number",
    "page_size",
    "query_bbox",
]

MAX_LIMIT: Final = 100
"""Sentinel Hub's largest page size (``limit``)."""

FILTER_LANGS: Final = ("cql2-text", "cql2-json")
_DATETIME_REQUIRED: Final = (
    "is required by Sentinel Hub's catalog search: a date-time, a date or an interval; "
    'for an open interval leave one end open, e.g. datetime=("2020-01-01", None) '
    'or "2020-01-01T00:00:00Z/.."'
)
_OPEN_ENDS: Final = frozenset({"", ".."})

DatetimeEnd = str | dt.datetime | dt.date | None
DatetimeLike = DatetimeEnd | tuple[DatetimeEnd, DatetimeEnd] | Sequence[DatetimeEnd]
FieldsLike = Mapping[str, Sequence[str]] | Sequence[str] | str
CollectionsLike = str | DataCollection | Sequence[str | DataCollection]


# -- request building ------------------------------------------------------------------


class SearchQuery:
    """Validated search parameters, rendered as a POST body or GET query."""

    def __init__(self) -> None:
        self.collections: list[str] = []
        self.bbox: list[float] | None = None
        self.intersects: dict[str, Any] | None = None
        self.datetime = ""
        self.ids: list[str] | None = None
        self.filter: dict[str, Any] | None = None  # CQL2 JSON, checked
        self.include: list[str] = []
        self.exclude: list[str] = []
        self.fields = False
        self.distinct: str | None = None
        self.limit: int | None = None

    @classmethod
    def build(
        cls,
        *,
        collections: Any,
        bbox: Any,
        intersects: Any,
        datetime: Any,
        ids: Any,
        filter: Any,
        filter_lang: Any,
        fields: Any,
        distinct: Any,
        limit: int | None,
        sentinelhub: bool = True,
    ) -> SearchQuery:
        """The checked query. ``sentinelhub``: Sentinel Hub's rules too (exactly one collection,
        ``datetime`` required); without them, as any STAC API takes it (both optional)."""
        q = cls()
        if sentinelhub or collections is not None:
            q.collections = _names(collections, "collections")
        if sentinelhub and len(q.collections) != 1:
            raise ValidationError("collections", "Sentinel Hub searches exactly one collection at a time")
        if sentinelhub and datetime is None:
            raise ValidationError("datetime", _DATETIME_REQUIRED)
        if bbox is not None and intersects is not None:
            raise ValidationError("intersects", "give either bbox or intersects, not both")
        if bbox is not None:
            q.bbox = query_bbox(bbox)
        if intersects is not None:
            q.intersects = as_geojson(intersects, field="intersects")
        if datetime is not None:
            q.datetime = format_datetime(datetime)
        if ids is not None:
            q.ids = _names(ids, "ids")
        q.filter = _filter(filter, filter_lang)
        if fields is not None:
            q.include, q.exclude = _fields(fields)
            q.fields = True
        if distinct is not None:
            if not isinstance(distinct, str) or not distinct.strip():
                raise ValidationError("distinct", "must be a property name such as 'date'")
            q.distinct = distinct.strip()
        q.limit = limit
        return q

    def body(self) -> dict[str, Any]:
        """The POST body: ``filter`` always CQL2 JSON (the contract's only POST filter)."""
        body: dict[str, Any] = {}
        if self.collections:
            body["collections"] = list(self.collections)
        if self.bbox is not None:
            body["bbox"] = self.bbox
        if self.intersects is not None:
            body["intersects"] = self.intersects
        if self.datetime:
            body["datetime"] = self.datetime
        if self.ids is not None:
            body["ids"] = self.ids
        if self.filter is not None:
            body["filter"] = self.filter
            body["filter-lang"] = "cql2-json"
        if self.fields:
            fields: dict[str, list[str]] = {}
            if self.include:
                fields["include"] = self.include
            if self.exclude:
                fields["exclude"] = self.exclude
            body["fields"] = fields
        if self.distinct is not None:
            body["distinct"] = self.distinct
        if self.limit is not None:
            body["limit"] = self.limit
        return body

    def params(self) -> dict[str, str]:
        """The GET query: lists comma-separated, the geometry as JSON text, the filter as CQL2 text.

        The contract takes ``filter`` in cql2-text only here and has no ``filter-lang``
        parameter for GET, so a filter is always written as text.
        """
        params: dict[str, str] = {}
        if self.collections:
            params["collections"] = ",".join(self.collections)
        if self.bbox is not None:
            params["bbox"] = ",".join(format_number(v) for v in self.bbox)
        if self.intersects is not None:
            params["intersects"] = json.dumps(self.intersects, separators=(",", ":"))
        if self.datetime:
            params["datetime"] = self.datetime
        if self.ids is not None:
            params["ids"] = ",".join(self.ids)
        if self.filter is not None:
            params["filter"] = cql2.to_text(self.filter)
        if self.fields:
            params["fields"] = ",".join([*self.include, *(f"-{name}" for name in self.exclude)])
        if self.distinct is not None:
            params["distinct"] = self.distinct
        if self.limit is not None:
            params["limit"] = str(self.limit)
        return params


def _names(value: Any, field: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or isinstance(value, bytes):
        raise ValidationError(field, f"expected a string or a list of strings, got {type(value).__name__}")
    names = list(value)
    if not names:
        raise ValidationError(field, "must not be empty")
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"{field}[{i}]", f"must be a non-empty string, got {name!r}")
    return [name.strip() for name in names]


def query_bbox(value: Any) -> list[float]:
    if isinstance(value, BBox) and value.crs != CRS84:
        raise ValidationError("bbox", "the catalog takes WGS84 longitude/latitude (CRS84) boxes only")
    return bbox_of(value, field="bbox")


def format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise ValidationError("limit", f"must be an integer, got {type(limit).__name__}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError("limit", f"must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


def page_size(limit: int | None, max_items: int | None) -> int:
    """``limit`` checked; by default the largest page, or ``max_items`` when that is smaller."""
    if limit is not None:
        return _check_limit(limit)
    if max_items is not None and isinstance(max_items, int) and 0 < max_items < MAX_LIMIT:
        return max_items
    return MAX_LIMIT


def _filter(value: Any, lang: Any) -> dict[str, Any] | None:
    """The filter as checked CQL2 JSON, whatever language the user wrote it in."""
    if lang is not None and lang not in FILTER_LANGS:
        raise ValidationError("filter_lang", f"must be one of {', '.join(FILTER_LANGS)}, got {lang!r}")
    if value is None:
        return None
    decoded: Any
    if isinstance(value, str):
        if not value.strip():
            raise ValidationError("filter", "is empty")
        if lang != "cql2-json":
            return _cql2(cql2.parse_text, value)
        try:
            decoded = json.loads(value)
        except ValueError:
            raise ValidationError("filter", "filter_lang is cql2-json but the filter is not JSON") from None
    elif isinstance(value, Mapping):
        if lang == "cql2-text":
            raise ValidationError("filter_lang", "a dict filter is CQL2 JSON; pass a string for cql2-text")
        try:
            decoded = msgspec.to_builtins(dict(value))
        except (TypeError, msgspec.EncodeError) as exc:  # a value JSON cannot carry
            raise ValidationError("filter", f"is not JSON: {exc}") from None
    else:
        raise ValidationError(
            "filter", f"expected CQL2 text (str) or CQL2 JSON (dict), got {type(value).__name__}"
        )
    return _cql2(cql2.check, decoded)


def _cql2(step: Callable[[Any], dict[str, Any]], value: Any) -> dict[str, Any]:
    try:
        return step(value)
    except cql2.Cql2Error as exc:
        raise ValidationError("filter", str(exc)) from None


def _fields(value: Any) -> tuple[list[str], list[str]]:
    include: list[str] = []
    exclude: list[str] = []
    if isinstance(value, Mapping):
        unknown = set(value) - {"include", "exclude"}
        if unknown:
            raise ValidationError(
                "fields", f"only 'include' and 'exclude' are allowed, got {sorted(unknown)}"
            )
        include = _field_names(value.get("include") or [], "fields.include")
        exclude = _field_names(value.get("exclude") or [], "fields.exclude")
        return include, exclude
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    for name in _field_names(value, "fields"):
        if name.startswith("-"):
            exclude.append(name[1:])
        else:
            include.append(name.removeprefix("+"))
    if any(not name for name in (*include, *exclude)):
        raise ValidationError("fields", "a field name is empty")
    return include, exclude


def _field_names(value: Any, field: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValidationError(field, "expected a list of field names")
    out: list[str] = []
    for i, name in enumerate(value):
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"{field}[{i}]", f"must be a non-empty string, got {name!r}")
        out.append(name.strip())
    return out


# -- datetime ------------------------------------------------------------------------


def format_datetime(value: Any, *, field: str = "datetime") -> str:
    """An RFC 3339 instant or interval as the STAC API takes it, in UTC.

    Accepts an RFC 3339 string or ``start/end`` interval (``..`` or empty for an
    open end), a date or partial date (``"2023"``, ``"2023-06"``,
    ``"2023-06-01"``, a ``date``) meaning the whole period, a ``datetime``
    (naive means UTC), or a ``(start, end)`` pair whose ends are any of those or
    ``None`` for open. The parsing is :mod:`eoclient.timeutils`'.

    >>> format_datetime(("2023-06-01", None))
    '2023-06-01T00:00:00Z/..'
    >>> format_datetime("2023-06")
    '2023-06-01T00:00:00Z/2023-06-30T23:59:59.999999Z'
    """
    if isinstance(value, dt.datetime) or (
        isinstance(value, str) and "/" not in value and "T" in value.upper()
    ):
        return serialize_time(parse_time(value, field=field))
    if value is None or (isinstance(value, str) and value.strip() in _OPEN_ENDS):
        raise ValidationError(field, "is empty")
    if isinstance(value, bytes) or not isinstance(value, str | dt.date | Sequence):
        raise ValidationError(
            field, f"expected a string, datetime, date or (start, end), got {type(value).__name__}"
        )
    start, end = parse_time_interval(value, field=field)
    return f"{serialize_time(start)}/{serialize_time(end)}"
