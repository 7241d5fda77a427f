"""Reading a Catalog search (a POST body, or a GET query as the same JSON-like values) and matching items.

:func:`search_query` checks a search as Sentinel Hub does (see the package
docstring) into a :class:`Query`; :func:`matching` finds its records,
:func:`distinct` their distinct values, :func:`fields_of` applies the STAC
fields extension to an item.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from multidict import MultiMapping

from eoclient.emulator.core.geojson import GEOMETRY_TYPES, union_bounds
from eoclient.emulator.core.paging import OffsetToken
from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.sentinelhub.catalog.cql2 import Filter, parse_cql2_text
from eoclient.emulator.sentinelhub.catalog.data import CatalogData, Record
from eoclient.emulator.sentinelhub.catalog.stac import INVALID, bad

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "NEXT_TOKEN",
    "Query",
    "distinct",
    "fields_of",
    "get_params",
    "matching",
    "search_query",
]

DEFAULT_LIMIT: Final = 10
MAX_LIMIT: Final = 100
NEXT_TOKEN: Final = OffsetToken(
    "next", opaque=False, code=INVALID, message="next must be the token of a previous page"
)
"""The ``next`` token of a page: a plain offset (the Catalog's own format), in a query or a body."""


@dataclass
class Query:
    """A checked search: one collection and what its items must match, the page asked for."""

    collection: str
    bbox: tuple[float, float, float, float] | None = None
    start: float | None = None
    end: float | None = None
    ids: frozenset[str] | None = None
    filter: Filter | None = None
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    distinct: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def _parse_instant(text: str) -> float:
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise bad(f"datetime {text!r} is not RFC 3339") from None
    if "T" not in text.upper():
        raise bad(f"datetime {text!r} is not RFC 3339 (a date-time is needed)")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def _parse_datetime(value: Any) -> tuple[float | None, float | None]:
    if not isinstance(value, str) or not value.strip():
        raise bad("datetime must be an RFC 3339 date-time or interval")
    parts = value.strip().split("/")
    if len(parts) == 1:
        instant = _parse_instant(parts[0])
        return instant, instant
    if len(parts) != 2:
        raise bad(f"datetime {value!r} is not an interval")
    start = None if parts[0] in {"", ".."} else _parse_instant(parts[0])
    end = None if parts[1] in {"", ".."} else _parse_instant(parts[1])
    if start is None and end is None:
        raise bad("a datetime interval needs at least one end")
    if start is not None and end is not None and start > end:
        raise bad("the datetime interval starts after it ends")
    return start, end


def _parse_bbox(values: Any) -> tuple[float, float, float, float]:
    if not isinstance(values, list) or len(values) not in (4, 6):
        raise bad("bbox must have 4 or 6 numbers")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise bad("bbox must have 4 or 6 numbers")
    nums = [float(v) for v in values]
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if nums[1] > nums[3]:
        raise bad("bbox: the minimum latitude is above the maximum")
    # WGS84, as for every other request (the antimeridian lets min_x exceed max_x, not leave ±180).
    if not all(-180.0 <= x <= 180.0 for x in (nums[0], nums[2])) or not all(
        -90.0 <= y <= 90.0 for y in (nums[1], nums[3])
    ):
        raise bad("bbox: coordinates outside WGS84 (longitude -180..180, latitude -90..90)")
    return nums[0], nums[1], nums[2], nums[3]


def _positions(coords: Any) -> Iterable[Sequence[float]]:
    """Every position of a GeoJSON ``coordinates`` array, in order.

    Laxer than :func:`~eoclient.emulator.core.geojson.geojson_bounds` (any
    nesting, any position length) and refusing in the Catalog's own words.
    """
    if isinstance(coords, list) and coords and all(isinstance(v, int | float) for v in coords):
        yield coords
    elif isinstance(coords, list):
        for part in coords:
            yield from _positions(part)
    else:
        raise bad("intersects: coordinates must be nested lists of numbers")


def _parse_intersects(value: Any) -> tuple[float, float, float, float]:
    """The bounding box of a GeoJSON geometry (matching by bbox is this emulator's approximation)."""
    if not isinstance(value, dict) or value.get("type") not in GEOMETRY_TYPES:
        raise bad("intersects must be a GeoJSON geometry")
    if value["type"] == "GeometryCollection":
        parts = value.get("geometries")
        if not isinstance(parts, list) or not parts:
            raise bad("intersects: a GeometryCollection needs geometries")
        return union_bounds(_parse_intersects(part) for part in parts)
    points = list(_positions(value.get("coordinates")))
    if not points or any(len(p) < 2 for p in points):
        raise bad("intersects: the geometry has no coordinates")
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    if min(xs) < -180.0 or max(xs) > 180.0 or min(ys) < -90.0 or max(ys) > 90.0:
        raise bad("intersects: coordinates outside WGS84 (longitude -180..180, latitude -90..90)")
    return min(xs), min(ys), max(xs), max(ys)


def _parse_limit(value: Any) -> int:
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise bad(f"limit must be an integer, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad("limit must be an integer")
    if not 1 <= value <= MAX_LIMIT:
        raise bad(f"limit must be between 1 and {MAX_LIMIT}, got {value}")
    return value


def _parse_fields(value: Any) -> tuple[list[str], list[str]]:
    if isinstance(value, str):
        names = [n.strip() for n in value.split(",") if n.strip()]
        include = [n.removeprefix("+") for n in names if not n.startswith("-")]
        return include, [n[1:] for n in names if n.startswith("-")]
    if not isinstance(value, dict) or set(value) - {"include", "exclude"}:
        raise bad("fields must be an object with 'include' and/or 'exclude' lists")
    out: list[list[str]] = []
    for key in ("include", "exclude"):
        names = value.get(key) or []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise bad(f"fields.{key} must be a list of strings")
        out.append(names)
    return out[0], out[1]


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def search_query(
    data: CatalogData, params: Mapping[str, Any], *, from_get: bool, search: bool = True
) -> Query:
    """Check a search (POST body, or GET query already split into JSON-like values).

    ``search`` is False for the items listing, whose ``datetime`` is optional.
    """
    collections = params.get("collections")
    if (
        not isinstance(collections, list)
        or not collections
        or not all(isinstance(c, str) for c in collections)
    ):
        raise bad("collections is required: a list with one collection id")
    if len(collections) != 1:
        raise bad("exactly one collection can be searched at a time")
    collection = collections[0]
    if collection not in data.specs:
        raise Refusal(400, "IllegalCollection", f"Illegal collection: {collection}")
    query = Query(collection)
    if params.get("bbox") is not None and params.get("intersects") is not None:
        raise bad("bbox and intersects cannot be combined")
    if params.get("bbox") is not None:
        query.bbox = _parse_bbox(params["bbox"])
    if params.get("intersects") is not None:
        query.bbox = _parse_intersects(params["intersects"])
    if params.get("datetime") is not None:
        query.start, query.end = _parse_datetime(params["datetime"])
    elif search:
        raise bad(
            "datetime is required: a date-time or an interval, '..' for an open end (2020-01-01T00:00:00Z/..)"
        )
    if params.get("ids") is not None:
        ids = params["ids"]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise bad("ids must be a list of strings")
        query.ids = frozenset(ids)
    if params.get("filter") is not None:
        query.filter = _parse_filter(data, collection, params["filter"], params.get("filter-lang"), from_get)
    if params.get("fields") is not None:
        query.include, query.exclude = _parse_fields(params["fields"])
    if params.get("distinct") is not None:
        if not isinstance(params["distinct"], str) or not params["distinct"]:
            raise bad("distinct must be a property name")
        query.distinct = params["distinct"]
    if params.get("limit") is not None:
        query.limit = _parse_limit(params["limit"])
    query.offset = NEXT_TOKEN.decode(params.get("next"))
    return query


def _parse_filter(data: CatalogData, collection: str, value: Any, lang: Any, from_get: bool) -> Filter:
    """A GET search's filter is cql2-text (there is no ``filter-lang`` there); a POST body's either."""
    if lang is not None and lang not in ("cql2-text", "cql2-json"):
        raise bad(f"filter-lang must be cql2-text or cql2-json, got {lang!r}")
    if lang is None:
        lang = "cql2-text" if isinstance(value, str) else "cql2-json"
    if from_get or lang == "cql2-text":
        if not isinstance(value, str):
            raise bad("filter-lang is cql2-text but the filter is not a string")
        expr = parse_cql2_text(value)
    elif isinstance(value, dict):
        expr = value
    else:
        raise bad("filter-lang is cql2-json but the filter is not an object")
    return Filter(expr, data.specs[collection].queryables)


def get_params(query: MultiMapping[str]) -> dict[str, Any]:
    """A GET search query as the JSON-like values of a POST body."""
    params: dict[str, Any] = {}
    for name in ("datetime", "fields", "filter", "distinct", "limit", "next"):
        if name in query:
            params[name] = query[name]
    if "collections" in query:
        params["collections"] = _split(query["collections"])
    if "ids" in query:
        params["ids"] = _split(query["ids"])
    if "bbox" in query:
        try:
            params["bbox"] = [float(v) for v in query["bbox"].split(",")]
        except ValueError:
            raise bad("bbox must be comma-separated numbers") from None
    if "intersects" in query:
        try:
            params["intersects"] = json.loads(query["intersects"])
        except ValueError:
            raise bad("intersects must be a GeoJSON geometry") from None
    return params


# -- matching and answering ------------------------------------------------------------


def _overlaps(a: tuple[float, float, float, float], box: tuple[float, float, float, float]) -> bool:
    if a[1] > box[3] or a[3] < box[1]:
        return False
    if box[0] <= box[2]:
        return not (a[0] > box[2] or a[2] < box[0])
    # A box across the antimeridian: west-most edge > east-most edge.
    return a[2] >= box[0] or a[0] <= box[2]


def matching(data: CatalogData, query: Query) -> list[Record]:
    """The records of ``query``'s collection that match it, in order."""
    found: list[Record] = []
    for rec in data.in_time(query.collection, query.start, query.end):
        if query.ids is not None and rec.id not in query.ids:
            continue
        if query.bbox is not None and not _overlaps(rec.bbox, query.bbox):
            continue
        if query.filter is not None:
            props = data.properties(query.collection, rec)
            props["id"] = rec.id
            if not query.filter(props):
                continue
        found.append(rec)
    return found


def distinct(data: CatalogData, query: Query, records: Sequence[Record]) -> list[Any]:
    """The sorted distinct values of ``query.distinct`` among ``records``."""
    values: dict[str, Any] = {}
    for rec in records:
        if query.distinct == "date":
            value: Any = rec.datetime[:10]
        else:
            value = data.properties(query.collection, rec).get(query.distinct or "")
            if value is None:
                continue
        values.setdefault(json.dumps(value, sort_keys=True), value)
    return sorted(values.values(), key=_sort_key)


def _sort_key(value: Any) -> tuple[int, float, str]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return 0, float(value), ""
    return 1, 0.0, value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _pluck(source: Mapping[str, Any], target: dict[str, Any], path: list[str]) -> None:
    head, *rest = path
    if head not in source:
        return
    if not rest:
        target[head] = source[head]
    elif isinstance(source[head], Mapping):
        child = target.setdefault(head, {})
        if isinstance(child, dict):
            _pluck(source[head], child, rest)


def _drop(target: dict[str, Any], path: list[str]) -> None:
    head, *rest = path
    if not rest:
        target.pop(head, None)
    elif isinstance(target.get(head), dict):
        _drop(target[head], rest)


def fields_of(item: dict[str, Any], include: Sequence[str], exclude: Sequence[str]) -> dict[str, Any]:
    """The STAC fields extension: include wins over exclude; ``id`` and ``type`` always stay."""
    if include:
        shaped: dict[str, Any] = {"id": item["id"], "type": item["type"]}
        for path in include:
            _pluck(item, shaped, path.split("."))
        item = shaped
    for path in exclude:
        if path not in include and path not in ("id", "type"):
            _drop(item, path.split("."))
    return item
