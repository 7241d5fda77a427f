"""Datacube datapoints queries, evaluated for real on the generated rows.

:func:`parse_query` refuses a malformed body (400 ``BAD-REQUEST``);
:func:`evaluate` also refuses, with another code, a well-formed query that
cannot run (``UNKNOWN-FIELD``, ``AOI-NOT-FOUND``, ``INVALID-GEOMETRY``,
``QUERY-TOO-LARGE``) — the synchronous route answers that as a 400, the
pipeline route as a FAILED pipeline.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.spaceknow.datacube.data import AOIS, CATALOGUE, COLUMNS, FMT, SITES, Site, entry_rows

__all__ = ["AGGREGATORS", "Query", "evaluate", "parse_query"]


FILTER_TYPES: Final = ("time-range", "value-range", "value-list", "geo-intersects")


RESAMPLES: Final = ("weekly", "monthly", "yearly")


NUMERIC: Final = ("cloudCover", "value")


TIME_FIELDS: Final = ("startDatetime", "endDatetime")


LIST_FIELDS: Final = ("aoi", "aoiName", "project", "algorithm", "source", "version", "tag")


def _agg_sum(values: list[float]) -> float:
    return math.fsum(values)


AGGREGATORS: Final[dict[str, Callable[[list[float]], float]]] = {
    "sum": _agg_sum,
    "mean": statistics.fmean,
    "min": min,
    "max": max,
    "median": statistics.median,
    "count": lambda values: float(len(values)),
}


def _parse_time(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise Refusal(400, "BAD-REQUEST", f"{where} must be a date-time string")
    for fmt in (FMT, "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).strftime(FMT)
        except ValueError:
            continue
    raise Refusal(400, "BAD-REQUEST", f"{where} must be 'YYYY-MM-DD HH:MM:SS'")


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Refusal(400, "BAD-REQUEST", f"{where} must be a number")
    return float(value)


@dataclass
class _Filter:
    type: str
    field: str
    params: dict[str, Any]


def _check_filters(raw: Any) -> list[_Filter]:
    if not isinstance(raw, list) or not raw:
        raise Refusal(400, "BAD-REQUEST", "filters must be a non-empty list")
    out: list[_Filter] = []
    for i, f in enumerate(raw):
        where = f"filters[{i}]"
        if not isinstance(f, dict):
            raise Refusal(400, "BAD-REQUEST", f"{where} must be an object")
        kind, name, params = f.get("type"), f.get("field"), f.get("params")
        if kind not in FILTER_TYPES:
            raise Refusal(400, "BAD-REQUEST", f"{where}.type: unknown filter type {kind!r}")
        if not isinstance(name, str) or not name:
            raise Refusal(400, "BAD-REQUEST", f"{where}.field is required")
        if not isinstance(params, dict):
            raise Refusal(400, "BAD-REQUEST", f"{where}.params is required")
        if kind == "time-range":
            start = (
                None if params.get("from") is None else _parse_time(params["from"], f"{where}.params.from")
            )
            end = None if params.get("to") is None else _parse_time(params["to"], f"{where}.params.to")
            if start is None and end is None:
                raise Refusal(400, "BAD-REQUEST", f"{where}.params needs from or to")
            if start is not None and end is not None and end < start:
                raise Refusal(400, "BAD-REQUEST", f"{where}.params: to is before from")
            params = {"from": start, "to": end}
        elif kind == "value-range":
            low = _number(params.get("min"), f"{where}.params.min")
            high = _number(params.get("max"), f"{where}.params.max")
            if low is None and high is None:
                raise Refusal(400, "BAD-REQUEST", f"{where}.params needs min or max")
            if low is not None and high is not None and low > high:
                raise Refusal(400, "BAD-REQUEST", f"{where}.params: min is greater than max")
            params = {"min": low, "max": high}
        elif kind == "value-list":
            values = params.get("values")
            if not isinstance(values, list) or not values:
                raise Refusal(400, "BAD-REQUEST", f"{where}.params.values must be a non-empty list")
        else:
            label, geometry = params.get("geometryLabel"), params.get("geometry")
            if (label is None) == (geometry is None):
                raise Refusal(
                    400, "BAD-REQUEST", f"{where}.params needs exactly one of geometryLabel and geometry"
                )
            if geometry is not None and not isinstance(geometry, dict):
                raise Refusal(400, "BAD-REQUEST", f"{where}.params.geometry must be GeoJSON")
        out.append(_Filter(kind, name, params))
    for name in ("project", "algorithm"):
        chosen = [f for f in out if f.type == "value-list" and f.field == name]
        if len(chosen) != 1 or len(chosen[0].params["values"]) != 1:
            raise Refusal(400, "BAD-REQUEST", f"filter on single {name} is required")
    return out


@dataclass
class Query:
    filters: list[_Filter]
    aggregator: str | None
    resample: str | None
    columns: list[str] | None
    show_positions: bool
    show_tags: bool
    keep_duplicates: bool
    keep_all_versions: bool


def parse_query(body: dict[str, Any]) -> Query:
    """Check a datapoints body; a 400 ``BAD-REQUEST`` :class:`Refusal` if it is malformed."""
    filters = _check_filters(body.get("filters"))
    aggregator = body.get("aggregator")
    if aggregator is not None and aggregator not in AGGREGATORS:
        raise Refusal(
            400, "BAD-REQUEST", f"unknown aggregator {aggregator!r}; one of {', '.join(AGGREGATORS)}"
        )
    resample = body.get("resample")
    if resample is not None and resample not in RESAMPLES:
        raise Refusal(400, "BAD-REQUEST", f"resample must be one of {', '.join(RESAMPLES)}")
    columns = body.get("columns")
    if columns is not None and (
        not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns)
    ):
        raise Refusal(400, "BAD-REQUEST", "columns must be a non-empty list of strings")
    flags = {}
    for key in ("showAoiPositions", "showAoiTags", "keepDuplicates", "keepAllVersions"):
        value = body.get(key)
        if value is not None and not isinstance(value, bool):
            raise Refusal(400, "BAD-REQUEST", f"{key} must be a boolean")
        flags[key] = bool(value)
    postprocess = body.get("postprocessType")
    if postprocess is not None and not isinstance(postprocess, str):
        raise Refusal(400, "BAD-REQUEST", "postprocessType must be a string")
    return Query(
        filters,
        aggregator,
        resample,
        columns,
        flags["showAoiPositions"],
        flags["showAoiTags"],
        flags["keepDuplicates"],
        flags["keepAllVersions"],
    )


def _in_ring(x: float, y: float, ring: Sequence[Sequence[float]]) -> bool:
    """Ray casting; the ring may or may not repeat its first position at the end."""
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, [*ring[1:], ring[0]], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _polygons(geometry: dict[str, Any]) -> list[list[list[tuple[float, float]]]]:
    """The polygons (rings of (lon, lat)) of a GeoJSON Polygon or MultiPolygon."""
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    parts: list[Any] = []
    if isinstance(coords, list):
        parts = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
    try:
        polygons = [[[(float(p[0]), float(p[1])) for p in ring] for ring in part] for part in parts]
    except (TypeError, ValueError, IndexError):
        polygons = []
    if not polygons or any(len(ring) < 3 for poly in polygons for ring in poly):
        raise Refusal(400, "INVALID-GEOMETRY", "geo-intersects needs a GeoJSON Polygon or MultiPolygon")
    return polygons


def _site_in(site: Site, polygons: list[list[list[tuple[float, float]]]]) -> bool:
    return any(
        _in_ring(site.lon, site.lat, poly[0]) and not any(_in_ring(site.lon, site.lat, h) for h in poly[1:])
        for poly in polygons
    )


def _predicate(f: _Filter) -> Callable[[dict[str, Any]], bool]:
    if f.type == "time-range":
        if f.field not in TIME_FIELDS:
            raise Refusal(400, "UNKNOWN-FIELD", f"{f.field!r} is not a date-time field")
        start, end = f.params["from"], f.params["to"]
        return lambda r: (start is None or r[f.field] >= start) and (end is None or r[f.field] <= end)
    if f.type == "value-range":
        if f.field not in NUMERIC:
            raise Refusal(400, "UNKNOWN-FIELD", f"{f.field!r} is not a numeric field")
        low, high = f.params["min"], f.params["max"]
        return lambda r: (low is None or r[f.field] >= low) and (high is None or r[f.field] <= high)
    if f.type == "value-list":
        if f.field not in LIST_FIELDS:
            raise Refusal(400, "UNKNOWN-FIELD", f"{f.field!r} is not a field of datapoints")
        wanted = {str(v) for v in f.params["values"]}
        if f.field == "tag":
            return lambda r: any(t in wanted for t in SITES[r["aoi"]].tags)
        return lambda r: str(r[f.field]) in wanted
    if f.field != "aoi":
        raise Refusal(400, "UNKNOWN-FIELD", f"geo-intersects works on 'aoi', not {f.field!r}")
    label = f.params.get("geometryLabel")
    if label is not None:
        if label not in AOIS:
            raise Refusal(400, "AOI-NOT-FOUND", f"no AoI labelled {label!r}")
        polygons = [[list(AOIS[label][1])]]
    else:
        polygons = _polygons(f.params["geometry"])
    # A site is one place: it intersects an area when its position lies inside.
    inside = {label for label, site in SITES.items() if _site_in(site, polygons)}
    return lambda r: r["aoi"] in inside


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), version) if version.isdigit() else (-1, version)


def _bucket(start: str, resample: str) -> tuple[str, str]:
    day = datetime.strptime(start, FMT).date()
    if resample == "weekly":
        first = day - timedelta(days=day.weekday())
        after = first + timedelta(days=7)
    elif resample == "monthly":
        first = day.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
    else:
        first = day.replace(month=1, day=1)
        after = first.replace(year=first.year + 1)
    end = datetime(after.year, after.month, after.day) - timedelta(seconds=1)
    return datetime(first.year, first.month, first.day).strftime(FMT), end.strftime(FMT)


def _combine(rows: list[dict[str, Any]], query: Query) -> list[dict[str, Any]]:
    """Resample into time buckets and/or aggregate across AoIs."""
    combine = AGGREGATORS[query.aggregator or "mean"]
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        if query.resample:
            when = _bucket(row["startDatetime"], query.resample)
        else:
            when = (row["startDatetime"], row["endDatetime"])
        where = None if query.aggregator else row["aoi"]
        key = (row["project"], row["algorithm"], row["source"], row["version"], where, *when)
        groups.setdefault(key, []).append(row)
    out: list[dict[str, Any]] = []
    for (project, algorithm, source, version, where, start, end), members in groups.items():
        aois = sorted({m["aoi"] for m in members})
        combined: dict[str, Any] = {
            "aoi": where if where is not None else "*",
            "aoiName": members[0]["aoiName"] if where is not None else f"{len(aois)} AoIs",
            "project": project,
            "algorithm": algorithm,
            "source": source,
            "version": version,
            "startDatetime": start,
            "endDatetime": end,
        }
        for name in NUMERIC:
            combined[name] = round(combine([m[name] for m in members]), 6)
        combined["count"] = len(members)
        if where is None:
            combined["aoiCount"] = len(aois)
        out.append(combined)
    return out


def evaluate(body: dict[str, Any], *, limit: int | None = None) -> dict[str, Any]:
    """Run a datapoints query: ``{"totalRows": n, "data": [...]}``.

    Raises a 400 :class:`Refusal`: ``BAD-REQUEST`` when malformed (what
    :func:`parse_query` refuses), another code when it cannot run
    (``UNKNOWN-FIELD``, ``AOI-NOT-FOUND``, ``INVALID-GEOMETRY``, or
    ``QUERY-TOO-LARGE``: more than ``limit`` rows matched).
    """
    query = parse_query(body)
    project = str(next(f for f in query.filters if f.field == "project").params["values"][0])
    algorithm = str(next(f for f in query.filters if f.field == "algorithm").params["values"][0])
    predicates = [_predicate(f) for f in query.filters]
    if query.columns:
        extra = {"count", "aoiCount"} if (query.resample or query.aggregator) else set()
        unknown = [c for c in query.columns if c not in COLUMNS and c not in extra]
        if unknown:
            raise Refusal(400, "UNKNOWN-FIELD", f"no column {unknown[0]!r}")
    rows = [
        row
        for entry in CATALOGUE
        if entry.project == project and entry.algorithm == algorithm
        for row in entry_rows(entry)
        if all(p(row) for p in predicates)
    ]
    if not query.keep_all_versions:
        latest: dict[tuple[str, str], str] = {}
        for row in rows:
            key = (row["aoi"], row["source"])
            if key not in latest or _version_key(row["version"]) > _version_key(latest[key]):
                latest[key] = row["version"]
        rows = [r for r in rows if r["version"] == latest[(r["aoi"], r["source"])]]
    if not query.keep_duplicates:
        seen: set[tuple[Any, ...]] = set()
        unique = []
        for row in rows:
            key = tuple(row.values())
            if key not in seen:
                seen.add(key)
                unique.append(row)
        rows = unique
    if limit is not None and len(rows) > limit:
        raise Refusal(
            400,
            "QUERY-TOO-LARGE",
            f"{len(rows)} datapoints match, more than {limit}; use /datacube/datapoints/get/initiate",
        )
    rows = _combine(rows, query) if query.resample or query.aggregator else [dict(r) for r in rows]
    rows.sort(key=lambda r: (r["aoi"], r["startDatetime"], _version_key(r["version"]), r["source"]))
    for row in rows:
        sites = [SITES[a] for a in ([row["aoi"]] if row["aoi"] in SITES else [])]
        if query.columns:
            kept = {c: row.get(c) for c in query.columns}
            row.clear()
            row.update(kept)
        if query.show_positions and sites:
            row["aoiPosition"] = {"type": "Point", "coordinates": [sites[0].lon, sites[0].lat]}
        if query.show_tags and sites:
            row["aoiTags"] = list(sites[0].tags)
    return {"totalRows": len(rows), "data": rows}
