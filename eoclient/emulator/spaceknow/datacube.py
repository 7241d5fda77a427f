"""Emulated SpaceKnow Datacube: AoIs, catalogue, datapoints (sync and pipeline), products and CSVs.

The world is fixed (the same every run, whatever the seed): five AoIs
(countries and regions) holding ten sites, a catalogue of algorithms over
them (some in two versions), datapoints generated from a hash of
(site, algorithm, version, date) for every date of each catalogue entry, and
five products whose CSVs are generated row by row and streamed as ``text/csv``.

Datapoints queries are evaluated for real: filters (``time-range``,
``value-range``, ``value-list``, ``geo-intersects`` by AoI label or GeoJSON),
only the latest version matched unless ``keepAllVersions``, exact duplicates
dropped unless ``keepDuplicates``, ``resample`` (weekly / monthly / yearly
buckets) and ``aggregator`` (across AoIs; also how buckets are combined,
``mean`` by default) computed on the rows, then ``columns``. A malformed
query is refused at once (400); a query naming fields or AoIs that do not
exist is 400 ``UNKNOWN-FIELD`` / ``AOI-NOT-FOUND`` synchronously and a FAILED
pipeline through ``initiate``. The synchronous get refuses queries matching
more than :data:`MAX_SYNC_ROWS` rows (``QUERY-TOO-LARGE``): use the pipeline.

Every route needs ``datacube.get``; ``showAoiPositions`` and ``showAoiTags``
need ``datacube.get-aoi-positions`` / ``datacube.get-aoi-tags`` (permissions
live in :mod:`eoclient.emulator.spaceknow.accounts`).
"""

from __future__ import annotations

import calendar
import csv
import functools
import hashlib
import io
import math
import statistics
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.refusal import Refusal, json_body
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.spaceknow.accounts import require
from eoclient.emulator.spaceknow.pipelines import create_pipeline, initiate_response, retrieve_handler

__all__ = ["AOIS", "CATALOGUE", "MAX_SYNC_ROWS", "PRODUCTS", "SITES", "evaluate", "product_rows", "setup"]

MAX_SYNC_ROWS: Final = 2000
FMT: Final = "%Y-%m-%d %H:%M:%S"
FILTER_TYPES: Final = ("time-range", "value-range", "value-list", "geo-intersects")
RESAMPLES: Final = ("weekly", "monthly", "yearly")
NUMERIC: Final = ("cloudCover", "value")
TIME_FIELDS: Final = ("startDatetime", "endDatetime")
COLUMNS: Final = (
    "aoi",
    "aoiName",
    "project",
    "algorithm",
    "source",
    "version",
    "startDatetime",
    "endDatetime",
    "cloudCover",
    "value",
)
LIST_FIELDS: Final = ("aoi", "aoiName", "project", "algorithm", "source", "version", "tag")
_CSV_BATCH: Final = 500  # rows per streamed write
# The body fields the reference lists (table and example); others are refused (core.routing).
CATALOGUE_FIELDS: Final = ("version", "project", "source", "algorithm", "aoiName", "aoiLabel")
DATAPOINTS_FIELDS: Final = (
    "aggregator",
    "showAoiPositions",
    "showAoiTags",
    "postprocessType",
    "resample",
    "columns",
    "keepDuplicates",
    "keepAllVersions",
)
_PRODUCT_ID_MAX: Final = 140


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

# label -> (name, rough outline as one (lon, lat) ring): enough to tell which sites lie where.
AOIS: Final[dict[str, tuple[str, tuple[tuple[float, float], ...]]]] = {
    "cz": ("Czech Republic", ((12.1, 50.3), (12.5, 49.6), (13.8, 48.6), (15.0, 49.0), (16.9, 48.6),
                              (18.9, 49.5), (18.0, 50.1), (16.6, 50.2), (15.0, 51.0), (14.3, 51.05))),
    "de": ("Germany", ((6.0, 51.9), (5.9, 50.8), (6.4, 49.5), (7.5, 47.6), (10.2, 47.3), (13.0, 47.5),
                       (13.8, 48.6), (12.5, 49.6), (12.1, 50.3), (14.3, 51.05), (14.6, 51.8), (14.2, 53.9),
                       (11.0, 54.0), (8.6, 54.9), (7.0, 53.5))),
    "au-wa": ("Western Australia", ((112.9, -35.2), (129.0, -35.2), (129.0, -13.7), (112.9, -13.7))),
    "us-ca": ("California", ((-124.4, 42.0), (-120.0, 42.0), (-120.0, 39.0), (-114.6, 35.0), (-114.1, 32.7),
                             (-117.1, 32.5), (-120.6, 34.5), (-122.5, 37.5), (-124.4, 40.3))),
    "ke": ("Kenya", ((33.9, -1.0), (34.0, 4.6), (35.9, 5.0), (41.9, 4.0), (41.0, -1.7), (39.5, -4.7),
                     (37.7, -3.0))),
}  # fmt: skip


@dataclass(frozen=True)
class Site:
    label: str
    name: str
    lon: float
    lat: float
    tags: tuple[str, ...]


SITES: Final[dict[str, Site]] = {
    s.label: s
    for s in (
        Site("cz-most", "Most coal mine", 13.60, 50.53, ("mine", "coal")),
        Site("cz-ostrava", "Ostrava steel works", 18.26, 49.83, ("steel", "industrial", "coal")),
        Site("cz-prague", "Prague", 14.45, 50.07, ("city",)),
        Site("de-garzweiler", "Garzweiler mine", 6.50, 51.05, ("mine", "coal", "lignite")),
        Site("de-duisburg", "Duisburg steel and port", 6.76, 51.43, ("steel", "industrial", "port")),
        Site("de-berlin", "Berlin", 13.40, 52.52, ("city",)),
        Site("au-pilbara", "Pilbara iron ore", 118.60, -20.31, ("mine", "ore", "iron", "port")),
        Site("au-perth", "Perth port", 115.75, -32.05, ("port",)),
        Site("us-sf", "San Francisco port", -122.39, 37.79, ("port", "city")),
        Site("us-la", "Los Angeles port", -118.26, 33.74, ("port",)),
        Site("ke-nairobi", "Nairobi logistics", 36.82, -1.29, ("city", "logistics")),
        Site("ke-mombasa", "Mombasa port", 39.66, -4.04, ("port",)),
    )
}


@dataclass(frozen=True)
class Entry:
    """One catalogue entry and the sites its datapoints are computed for."""

    algorithm: str
    aoi: str
    project: str
    source: str
    version: str
    ranges: tuple[tuple[str, str], ...]
    frequency: str  # D, W or M
    name: str
    sites: tuple[str, ...]
    base: float
    scale: float


_Y2 = (("2018-01-01", "2019-12-31"),)
CATALOGUE: Final[tuple[Entry, ...]] = (
    Entry("ndmi_mean", "cz", "coal", "LANDSAT/LC08/C01/T1", "160", _Y2, "W", "Czech coal NDMI",
          ("cz-most", "cz-ostrava"), 0.2, 0.1),
    Entry("ndmi_mean", "cz", "coal", "LANDSAT/LC08/C01/T1", "162", (("2019-01-01", "2019-12-31"),), "W",
          "Czech coal NDMI", ("cz-most", "cz-ostrava"), 0.22, 0.1),
    Entry("ndmi_mean", "de", "coal", "COPERNICUS/S2", "160", _Y2, "W", "German coal NDMI",
          ("de-garzweiler", "de-duisburg"), 0.15, 0.1),
    Entry("ndmi_mean", "cz", "steel", "COPERNICUS/S2", "160",
          (("2018-01-01", "2018-06-30"), ("2018-09-01", "2019-02-28")), "W", "Czech steel NDMI",
          ("cz-ostrava",), 0.1, 0.05),
    Entry("radiance_mean", "de", "night_lights", "VIIRS/Monthly", "162", _Y2, "M",
          "Germany night lights monthly", ("de-berlin", "de-duisburg"), 40.0, 8.0),
    Entry("radiance_mean", "cz", "night_lights", "VIIRS/Monthly", "162", _Y2, "M",
          "Czech night lights monthly", ("cz-prague", "cz-ostrava"), 30.0, 6.0),
    Entry("ship_count", "au-wa", "industrial_production", "COPERNICUS/S1_GRD", "170",
          (("2017-01-01", "2019-12-31"),), "D", "Western Australia ports daily",
          ("au-pilbara", "au-perth"), 20.0, 6.0),
    Entry("ship_count", "us-ca", "industrial_production", "COPERNICUS/S1_GRD", "170",
          (("2019-01-01", "2019-12-31"),), "D", "California ports daily", ("us-sf", "us-la"), 35.0, 8.0),
    Entry("truck_count", "ke", "industrial_production", "PSScene", "171", (("2019-01-01", "2019-12-31"),),
          "W", "Kenya logistics weekly", ("ke-nairobi", "ke-mombasa"), 120.0, 30.0),
    Entry("ore_stockpile", "au-wa", "industrial_production", "PSScene", "171", _Y2, "W",
          "Pilbara ore stockpiles weekly", ("au-pilbara",), 5000.0, 800.0),
)  # fmt: skip


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from ``parts``."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _dates(entry: Entry) -> Iterator[tuple[datetime, datetime]]:
    """(start, end) of every datapoint time of ``entry``."""
    for first, last in entry.ranges:
        day = date.fromisoformat(first)
        end = date.fromisoformat(last)
        while day <= end:
            if entry.frequency == "M":
                days = calendar.monthrange(day.year, day.month)[1]
                start = datetime(day.year, day.month, 1)
                yield start, start + timedelta(days=days) - timedelta(seconds=1)
                day = (start + timedelta(days=days)).date()
            else:
                moment = datetime(day.year, day.month, day.day, 10, int(_unit(entry.source, day) * 60))
                yield moment, moment
                day += timedelta(days=1 if entry.frequency == "D" else 7)


@functools.cache
def _rows(entry: Entry) -> tuple[dict[str, Any], ...]:
    """Every datapoint of ``entry`` (some twice: the service's duplicates), ordered by site and time."""
    out: list[dict[str, Any]] = []
    optical = entry.source not in {"VIIRS/Monthly", "COPERNICUS/S1_GRD"}
    for label in entry.sites:
        site = SITES[label]
        for start, end in _dates(entry):
            season = math.sin(2 * math.pi * start.timetuple().tm_yday / 365.25)
            noise = _unit(label, entry.algorithm, entry.version, start) - 0.5
            value = entry.base + entry.scale * (0.6 * season + noise)
            if entry.algorithm.endswith("_count"):
                value = float(max(round(value), 0))
            row = {
                "aoi": label,
                "aoiName": site.name,
                "project": entry.project,
                "algorithm": entry.algorithm,
                "source": entry.source,
                "version": entry.version,
                "startDatetime": start.strftime(FMT),
                "endDatetime": end.strftime(FMT),
                "cloudCover": round(_unit("cc", label, start) ** 2, 4) if optical else 0.0,
                "value": round(value, 4),
            }
            out.append(row)
            if _unit("dup", label, entry.version, start) < 0.03:
                out.append(dict(row))
    return tuple(out)


# -- query evaluation ----------------------------------------------------------------------


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
        for row in _rows(entry)
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


# -- products -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductDef:
    product_id: str
    name: str
    region: str
    topic: str
    index: str
    frequency: str  # daily, weekly, monthly
    rolling: str
    units: str
    first: str
    columns: tuple[str, ...]
    downloadable: bool = True
    active: bool = True


PRODUCTS: Final[dict[str, ProductDef]] = {
    p.product_id: p
    for p in (
        ProductDef("SK_PI_C_CN_W", "SpaceKnow China Purchasing Index Weekly", "china", "Manufacturing", "PI",
                   "weekly", "7d", "index", "2015-01-05", ("SK_PI_C_CN_W_index", "SK_PI_C_CN_W_change")),
        ProductDef("SK_ABAI_AR_M", "SpaceKnow Argentina Monthly", "argentina", "Transport", "ABAI", "monthly",
                   "1d", "%", "2016-01-01", ("SK_ABAI_AR_M_1d_activity", "SK_ABAI_AR_M_1d_change")),
        ProductDef("SK_TRA_DIS_CON_LOG_ASI_US_D", "SpaceKnow US Logistics Activity Daily", "United States",
                   "Transport", "ASI", "daily", "30d", "%", "1995-01-01",
                   ("SK_TRA_DIS_CON_LOG_ASI_US_D_30d_normal_activity_level",
                    "SK_TRA_DIS_CON_LOG_ASI_US_D_30d_high_activity_level",
                    "SK_TRA_DIS_CON_LOG_ASI_US_D_30d_low_activity_level")),
        ProductDef("SK_NL_DE_M", "SpaceKnow Germany Night Lights Monthly", "germany", "Energy", "NL",
                   "monthly", "1m", "nW/cm2/sr", "2018-01-01", ("SK_NL_DE_M_radiance",), downloadable=False),
        ProductDef("SK_OLD_US_W", "SpaceKnow US Retired Index Weekly", "United States", "Retail", "RI",
                   "weekly", "7d", "index", "2012-01-02", ("SK_OLD_US_W_index",), downloadable=False,
                   active=False),
    )
}  # fmt: skip
LAST_DAY: Final = date(2024, 12, 31)


def _sales_info(p: ProductDef) -> dict[str, dict[str, str]]:
    return {
        column: {
            "frequency": p.frequency,
            "region": p.region,
            "rolling": p.rolling,
            "topic": p.topic,
            "typeOfIndex": p.index
            + (" - " + column.rsplit("_", 3)[-3] if "activity_level" in column else ""),
            "units": p.units,
            "valueType": "activity",
        }
        for column in p.columns
    }


def _product_json(p: ProductDef) -> dict[str, Any]:
    return {
        "active": p.active,
        "downloadable": p.downloadable,
        "metadata": {"productName": p.name},
        "productId": p.product_id,
        "salesInfo": _sales_info(p),
    }


def _value_days(p: ProductDef) -> Iterator[date]:
    day = date.fromisoformat(p.first)
    while day <= LAST_DAY:
        yield day
        if p.frequency == "daily":
            day += timedelta(days=1)
        elif p.frequency == "weekly":
            day += timedelta(days=7)
        else:
            day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def product_rows(p: ProductDef, *, pit_dt: date | None, rich: bool) -> Iterator[list[str]]:
    """The CSV rows of a product, header first, generated one by one."""
    header = ["value_dt", "delivery_dt"]
    if rich:
        header += ["product_id", "region", "frequency"]
    header += list(p.columns)
    if rich:
        header.append("comment")
    yield header
    for day in _value_days(p):
        seconds = int(_unit(p.product_id, day) * 3600)
        value_dt = datetime(day.year, day.month, day.day, 8) + timedelta(seconds=seconds)
        delivery_dt = value_dt + timedelta(days=1, seconds=int(_unit("d", p.product_id, day) * 600))
        if pit_dt is not None and delivery_dt.date() > pit_dt:
            break  # rows are in delivery order: nothing later was known then
        row = [value_dt.strftime(FMT) + " UTC", delivery_dt.strftime(FMT) + " UTC"]
        if rich:
            row += [p.product_id, p.region, p.frequency]
        for column in p.columns:
            u = _unit(column, day)
            row.append("" if u < 0.03 else f"{u * 2 - 0.5:.4f}")
        if rich:
            # Now and then a revision note with a comma, quotes and a line break: real CSV quoting.
            revised = _unit("rev", p.product_id, day) < 0.02
            row.append('revised, see "methodology"\nsecond line' if revised else "")
        yield row


# -- HTTP -----------------------------------------------------------------------------------


Handler = Callable[[web.Request, dict[str, Any]], Any]


def _route(handler: Handler) -> Callable[[web.Request], Any]:
    """Permission ``datacube.get`` and a JSON object body, then ``handler(request, body)``."""

    async def route(request: web.Request) -> web.StreamResponse:
        require(request, "datacube.get")
        response: web.StreamResponse = await handler(request, await json_body(request, required=False))
        return response

    return route


async def _aois(request: web.Request, body: dict[str, Any]) -> web.Response:
    del request, body
    return web.json_response([{"label": label, "name": name} for label, (name, _) in AOIS.items()])


async def _catalogue(request: web.Request, body: dict[str, Any]) -> web.Response:
    del request
    wanted = {
        "version": body.get("version"),
        "project": body.get("project"),
        "source": body.get("source"),
        "algorithm": body.get("algorithm"),
        "aoi_name": body.get("aoiName"),
        "aoi_label": body.get("aoiLabel"),
    }
    out: dict[str, list[dict[str, Any]]] = {}
    for e in CATALOGUE:
        entry = {
            "algorithm": e.algorithm,
            "aoi_label": e.aoi,
            "aoi_name": AOIS[e.aoi][0],
            "date_ranges": [{"from": a, "to": b} for a, b in e.ranges],
            "last_update": f"{e.ranges[-1][1]} 17:39:56",
            "metadata": {"frequency": e.frequency, "name": e.name},
            "project": e.project,
            "source": e.source,
            "version": e.version,
        }
        # An empty string filters nothing, like an absent field.
        if all(v in (None, "") or entry[k] == v for k, v in wanted.items()):
            out.setdefault(e.algorithm, []).append(entry)
    return web.json_response(out)


def _permissions(request: web.Request, body: dict[str, Any]) -> None:
    if body.get("showAoiPositions") is True:
        require(request, "datacube.get-aoi-positions")
    if body.get("showAoiTags") is True:
        require(request, "datacube.get-aoi-tags")


async def _datapoints(request: web.Request, body: dict[str, Any]) -> web.Response:
    _permissions(request, body)
    return web.json_response(evaluate(body, limit=MAX_SYNC_ROWS))


async def _datapoints_initiate(request: web.Request, body: dict[str, Any]) -> web.Response:
    _permissions(request, body)
    state = get_state(request)
    parse_query(body)  # a malformed query is refused at once
    try:
        result: dict[str, Any] | None = evaluate(body)
        error = None
    except Refusal as exc:  # well-formed but cannot run: the pipeline FAILS with the reason
        result, error = None, f"{exc.code}: {exc.message}"
    job = create_pipeline(
        state,
        "datacube/datapoints/get",
        result=result,
        outcome="FAILED" if error else "RESOLVED",
        error=error,
    )
    return initiate_response(job, state)


async def _products(request: web.Request, body: dict[str, Any]) -> web.Response:
    del request
    product_id = body.get("productId")
    only = body.get("downloadableOnly")
    if only is not None and not isinstance(only, bool):
        raise Refusal(400, "BAD-REQUEST", "downloadableOnly must be a boolean")
    if product_id is not None:
        if product_id not in PRODUCTS:
            raise Refusal(404, "PRODUCT-NOT-FOUND", f"product {product_id} not found")
        chosen = [PRODUCTS[product_id]]
    else:
        chosen = list(PRODUCTS.values())
    return web.json_response([_product_json(p) for p in chosen if p.downloadable or not only])


def _product(body: dict[str, Any]) -> ProductDef:
    product_id = body.get("productId")
    if not isinstance(product_id, str) or not 1 <= len(product_id) <= _PRODUCT_ID_MAX:
        raise Refusal(400, "BAD-REQUEST", "productId must be a string of 1 to 140 characters")
    product = PRODUCTS.get(product_id)
    if product is None:
        raise Refusal(404, "PRODUCT-NOT-FOUND", f"product {product_id} not found")
    return product


async def _stream_csv(
    request: web.Request, rows: Iterator[list[str]], *, quote_all: bool
) -> web.StreamResponse:
    """Write ``rows`` as ``text/csv`` a batch at a time (never the whole body in memory)."""
    response = web.StreamResponse(headers={"Content-Type": "text/csv; charset=utf-8"})
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator="\n"
    )
    for i, row in enumerate(rows, 1):
        writer.writerow(row)
        if i % _CSV_BATCH == 0:
            await response.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        await response.write(buffer.getvalue().encode())
    await response.write_eof()
    return response


async def _product_csv(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
    product = _product(body)
    if not product.downloadable:
        raise Refusal(403, "NOT-AUTHORIZED", f"product {product.product_id} is not downloadable for you")
    csv_format = body.get("csvFormat", "simple")
    if csv_format not in ("simple", "rich"):
        raise Refusal(400, "BAD-REQUEST", "csvFormat must be 'simple' or 'rich'")
    pit: date | None = None
    if body.get("pitDt") is not None:
        try:
            pit = date.fromisoformat(str(body["pitDt"]))
        except ValueError:
            raise Refusal(400, "BAD-REQUEST", "pitDt must be 'YYYY-MM-DD'") from None
    rows = product_rows(product, pit_dt=pit, rich=csv_format == "rich")
    return await _stream_csv(request, rows, quote_all=False)


async def _data_dictionary(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
    product = _product(body)
    header = ["column_id", "topic", "type_of_index", "region", "frequency", "rolling", "value_type", "units"]
    info = _sales_info(product)
    rows = [header] + [
        [
            column,
            i["topic"],
            i["typeOfIndex"],
            i["region"],
            i["frequency"],
            i["rolling"],
            i["valueType"],
            i["units"],
        ]
        for column, i in info.items()
    ]
    return await _stream_csv(request, iter(rows), quote_all=True)


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the Datacube routes to the SpaceKnow app."""
    del state
    add_route(app, "POST", "/datacube/aois/list", _route(_aois), fields=())
    add_route(app, "POST", "/datacube/catalogue/get", _route(_catalogue), fields=CATALOGUE_FIELDS)
    add_route(
        app,
        "POST",
        "/datacube/datapoints/get",
        _route(_datapoints),
        required_fields=("filters",),
        fields=DATAPOINTS_FIELDS,
    )
    add_route(
        app,
        "POST",
        "/datacube/datapoints/get/initiate",
        _route(_datapoints_initiate),
        required_fields=("filters",),
        fields=DATAPOINTS_FIELDS,
    )
    add_route(
        app,
        "POST",
        "/datacube/datapoints/get/retrieve",
        retrieve_handler("datacube/datapoints/get", "datacube.get"),
        required_fields=("pipelineId",),
        fields=(),
    )
    add_route(
        app, "POST", "/datacube/products/list", _route(_products), fields=("productId", "downloadableOnly")
    )
    add_route(
        app,
        "POST",
        "/datacube/products/get-csv",
        _route(_product_csv),
        required_fields=("productId",),
        fields=("pitDt", "csvFormat"),
    )
    add_route(
        app,
        "POST",
        "/datacube/products/get-data-dictionary",
        _route(_data_dictionary),
        required_fields=("productId",),
        fields=(),
    )
