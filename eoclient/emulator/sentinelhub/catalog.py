"""Emulated Sentinel Hub Catalog: a STAC API 1.0.0 over thousands of synthetic scenes.

Routes (under ``/api/v1/catalog/1.0.0``; landing page and conformance are
public as on the live service, the rest need a Sentinel Hub bearer)::

    GET  /                                    landing page (links, conformsTo)
    GET  /conformance                         conformance classes
    GET  /collections?next=                   collections, 4 a page (``next`` links)
    GET  /collections/{cid}                   one collection (404 if unknown)
    GET  /collections/{cid}/queryables        JSON Schema of the filterable properties
    GET  /collections/{cid}/items?bbox=&datetime=&limit=&next=   OGC API Features listing
    GET  /collections/{cid}/items/{id}        one item (404 if unknown)
    GET  /search?collections=&bbox=&intersects=&datetime=&ids=&filter=&fields=
                &distinct=&limit=&next=
    POST /search                              the same as a JSON body

Any other query parameter is refused (the route declarations at the end of this
module, checked by :mod:`eoclient.emulator.core.routing`).

Data: five collections (``sentinel-2-l2a`` 5000 items, ``sentinel-2-l1c`` 3000,
``sentinel-1-grd`` 2500, ``landsat-ot-l2`` 1500, ``sentinel-3-olci`` 600),
generated on first use from a fixed seed (:data:`SEED`), so every run and every
emulator holds the same items. Each item is kept as a small record; its
GeoJSON is rendered when answered. Items are ordered by ``datetime``, then id.

Search semantics, as Sentinel Hub's: exactly one collection; ``datetime``
required (an RFC 3339 instant or interval with ``..`` for open ends; optional
on the items listing); ``limit`` 1..100 (default 10), anything else is a 400;
``bbox`` (4 or 6 numbers) and ``intersects`` (matched by the geometry's
bounding box) are exclusive; ``filter`` in CQL2 JSON (``{"op": "<", "args":
[{"property": "eo:cloud_cover"}, 20]}``) or text (``eo:cloud_cover < 20 AND
platform = 'sentinel-2a'``; the only form a GET search takes, and GET has no
``filter-lang``), read by :mod:`eoclient.cql2` (the client's parser too):
``= <> < <= > >=``, ``and``, ``or``, ``not``, ``between``, ``isNull`` over the
collection's queryables; anything else is a 400. A GET listing refuses a query
parameter it does not take, or one given twice (lists are comma-separated).
``fields`` include/exclude dotted paths (include wins; ``id`` and ``type`` are
always kept); ``distinct`` returns the sorted distinct values of a property
(``date`` is the acquisition day) as ``features``. Pages carry ``context``
``{next, limit, returned}`` and a ``next`` link: for POST ``{"method": "POST",
"body": {"next": N}, "merge": true}``, for GET the same query with ``next=N``.
Errors are STAC exceptions ``{"code": ..., "description": ...}``.
"""

from __future__ import annotations

import bisect
import calendar
import dataclasses
import datetime as dt
import functools
import json
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec
from aiohttp import web
from multidict import MultiMapping

from eoclient import cql2
from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import PUBLIC_PATHS_KEY, EmulatorState, get_state

__all__ = ["BASE_PATH", "COLLECTION_PAGE_SIZE", "SEED", "CatalogData", "Record", "catalog_data", "setup"]

BASE_PATH: Final = "/api/v1/catalog/1.0.0"
SEED: Final = 20_170_101
COLLECTION_PAGE_SIZE: Final = 4
DEFAULT_LIMIT: Final = 10
MAX_LIMIT: Final = 100
_STORE: Final = "sh_catalog"
_GEOJSON: Final = "application/geo+json"
_STAC_VERSION: Final = "1.0.0"
_GEOMETRY_TYPES: Final = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"}
)

CONFORMS_TO: Final = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#fields",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#context",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#filter",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#fields",
    "https://api.stacspec.org/v1.0.0/item-search#context",
    "https://api.stacspec.org/v1.0.0/item-search#filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
)


class StacError(Exception):
    """Answered as a STAC exception ``{"code", "description"}`` with ``status``."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description


def _bad(description: str) -> StacError:
    return StacError(400, "InvalidParameterValue", description)


def _json(data: Any, *, status: int = 200, content_type: str = "application/json") -> web.Response:
    return web.Response(body=msgspec.json.encode(data), status=status, content_type=content_type)


def _stac_error(exc: StacError) -> web.Response:
    return _json({"code": exc.code, "description": exc.description}, status=exc.status)


# -- the synthetic data --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """One item, compactly: everything else is derived from these when rendered."""

    id: str
    time: int  # epoch seconds, UTC
    bbox: tuple[float, float, float, float]
    cloud: float | None
    variant: int  # seeded bits for per-item choices (platform, orbit, tile letters...)

    @property
    def datetime(self) -> str:
        return _rfc3339(self.time)


@dataclass(frozen=True, eq=False)  # hashed by identity: _generate caches per spec
class _Spec:
    """How one collection's items look."""

    id: str
    title: str
    description: str
    count: int
    start: dt.date
    end: dt.date
    footprint: tuple[float, float]  # width, height in degrees
    constellation: str
    platforms: tuple[str, ...]
    instruments: tuple[str, ...]
    gsd: float
    cloudy: bool
    extensions: tuple[str, ...]
    summaries: dict[str, Any]
    queryables: dict[str, dict[str, Any]]
    make_id: Callable[[_Spec, Record], str]
    properties: Callable[[_Spec, Record], dict[str, Any]]
    asset: Callable[[_Spec, Record], dict[str, Any]]


def _rfc3339(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _compact(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y%m%dT%H%M%S")


def _platform(spec: _Spec, rec: Record) -> str:
    return spec.platforms[rec.variant % len(spec.platforms)]


def _utm_zone(rec: Record) -> tuple[int, bool]:
    lon = (rec.bbox[0] + rec.bbox[2]) / 2
    lat = (rec.bbox[1] + rec.bbox[3]) / 2
    return min(60, int((lon + 180) // 6) + 1), lat >= 0


def _s2_tile(rec: Record) -> str:
    zone, _ = _utm_zone(rec)
    lat = (rec.bbox[1] + rec.bbox[3]) / 2
    band = "CDEFGHJKLMNPQRSTUVWX"[max(0, min(19, int((lat + 80) // 8)))]
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    return f"{zone:02d}{band}{letters[(rec.variant >> 4) % 24]}{letters[(rec.variant >> 9) % 20]}"


def _s2_id(spec: _Spec, rec: Record) -> str:
    level = "MSIL2A" if spec.id.endswith("l2a") else "MSIL1C"
    sat = _platform(spec, rec)[-1].upper()
    orbit = (rec.variant >> 14) % 143 + 1
    baseline = ("N0213", "N0400", "N0500", "N0509")[(rec.variant >> 22) % 4]
    return (
        f"S2{sat}_{level}_{_compact(rec.time)}_{baseline}_R{orbit:03d}_T{_s2_tile(rec)}"
        f"_{_compact(rec.time + 3600 + rec.variant % 7200)}"
    )


def _s2_properties(spec: _Spec, rec: Record) -> dict[str, Any]:
    zone, north = _utm_zone(rec)
    return {
        "datetime": rec.datetime,
        "platform": _platform(spec, rec),
        "instruments": list(spec.instruments),
        "constellation": spec.constellation,
        "gsd": spec.gsd,
        "eo:cloud_cover": rec.cloud,
        "proj:epsg": (32600 if north else 32700) + zone,
    }


def _s2_asset(spec: _Spec, rec: Record) -> dict[str, Any]:
    tile = _s2_tile(rec)
    day = dt.datetime.fromtimestamp(rec.time, dt.UTC)
    bucket = "sentinel-s2-l2a" if spec.id.endswith("l2a") else "sentinel-s2-l1c"
    href = f"s3://{bucket}/tiles/{int(tile[:2])}/{tile[2]}/{tile[3:]}/{day.year}/{day.month}/{day.day}/0/"
    return {"data": {"href": href, "title": "s3", "type": "inode/directory"}}


def _s1_bits(rec: Record) -> tuple[str, str, list[str]]:
    mode = "EW" if (rec.variant >> 5) % 10 == 0 else "IW"
    orbit_state = ("ascending", "descending")[(rec.variant >> 3) % 2]
    polarizations = [["VV", "VH"], ["HH", "HV"], ["VV"]][(rec.variant >> 7) % 3]
    return mode, orbit_state, polarizations


def _s1_id(spec: _Spec, rec: Record) -> str:
    mode, _, pols = _s1_bits(rec)
    pol = {"VV+VH": "DV", "HH+HV": "DH", "VV": "SV"}["+".join(pols)]
    orbit = 10_000 + (rec.time // 6000) % 50_000
    return (
        f"S1{_platform(spec, rec)[-1].upper()}_{mode}_GRDH_1S{pol}"
        f"_{_compact(rec.time)}_{_compact(rec.time + 25)}"
        f"_{orbit:06d}_{rec.variant % 0xFFFFFF:06X}_{(rec.variant >> 8) % 0xFFFF:04X}"
    )


def _s1_properties(spec: _Spec, rec: Record) -> dict[str, Any]:
    mode, orbit_state, pols = _s1_bits(rec)
    return {
        "datetime": rec.datetime,
        "platform": _platform(spec, rec),
        "instruments": list(spec.instruments),
        "constellation": spec.constellation,
        "sat:orbit_state": orbit_state,
        "sar:instrument_mode": mode,
        "sar:frequency_band": "C",
        "sar:center_frequency": 5.405,
        "sar:product_type": "GRD",
        "sar:polarizations": pols,
        "s1:polarization": {"VV+VH": "DV", "HH+HV": "DH", "VV": "SV"}["+".join(pols)],
        "s1:resolution": "HIGH",
        "s1:timeliness": ("NRT3h", "Fast24h", "Offline")[(rec.variant >> 11) % 3],
    }


def _s1_asset(spec: _Spec, rec: Record) -> dict[str, Any]:
    day = dt.datetime.fromtimestamp(rec.time, dt.UTC)
    mode, _, _ = _s1_bits(rec)
    href = f"s3://sentinel-s1-l1c/GRD/{day.year}/{day.month}/{day.day}/{mode}/DV/{rec.id}/"
    return {"s3": {"href": href, "title": "s3", "type": "inode/directory"}}


def _landsat_path_row(rec: Record) -> tuple[int, int]:
    return (rec.variant >> 3) % 233 + 1, (rec.variant >> 11) % 248 + 1


def _landsat_id(spec: _Spec, rec: Record) -> str:
    path, row = _landsat_path_row(rec)
    sat = "08" if _platform(spec, rec) == "landsat-8" else "09"
    day = dt.datetime.fromtimestamp(rec.time, dt.UTC).strftime("%Y%m%d")
    processed = dt.datetime.fromtimestamp(rec.time + 86400 * 14, dt.UTC).strftime("%Y%m%d")
    return f"LC{sat}_L2SP_{path:03d}{row:03d}_{day}_{processed}_02_T1"


def _landsat_properties(spec: _Spec, rec: Record) -> dict[str, Any]:
    path, row = _landsat_path_row(rec)
    zone, north = _utm_zone(rec)
    return {
        "datetime": rec.datetime,
        "platform": _platform(spec, rec),
        "instruments": list(spec.instruments),
        "constellation": spec.constellation,
        "gsd": spec.gsd,
        "eo:cloud_cover": rec.cloud,
        "proj:epsg": (32600 if north else 32700) + zone,
        "landsat:wrs_path": f"{path:03d}",
        "landsat:wrs_row": f"{row:03d}",
    }


def _landsat_asset(spec: _Spec, rec: Record) -> dict[str, Any]:
    path, row = _landsat_path_row(rec)
    year = dt.datetime.fromtimestamp(rec.time, dt.UTC).year
    href = f"s3://usgs-landsat/collection02/level-2/standard/oli-tirs/{year}/{path:03d}/{row:03d}/{rec.id}/"
    return {"data": {"href": href, "title": "s3", "type": "inode/directory"}}


def _s3_id(spec: _Spec, rec: Record) -> str:
    sat = _platform(spec, rec)[-1].upper()
    relative = (rec.variant >> 6) % 385 + 1
    return (
        f"S3{sat}_OL_1_EFR____{_compact(rec.time)}_{_compact(rec.time + 180)}"
        f"_{_compact(rec.time + 86400)}_0179_{(rec.variant >> 3) % 99:03d}_{relative:03d}"
        "_2160_LN1_O_NT_002.SEN3"
    )


def _s3_properties(spec: _Spec, rec: Record) -> dict[str, Any]:
    return {
        "datetime": rec.datetime,
        "platform": _platform(spec, rec),
        "instruments": list(spec.instruments),
        "constellation": spec.constellation,
        "gsd": spec.gsd,
        "sat:orbit_state": ("ascending", "descending")[(rec.variant >> 3) % 2],
    }


def _s3_asset(spec: _Spec, rec: Record) -> dict[str, Any]:
    day = dt.datetime.fromtimestamp(rec.time, dt.UTC)
    href = f"s3://eodata/Sentinel-3/OLCI/OL_1_EFR___/{day.year}/{day.month:02d}/{day.day:02d}/{rec.id}"
    return {"data": {"href": href, "title": "s3", "type": "inode/directory"}}


_CLOUD_QUERYABLE: Final = {"description": "Cloud Cover", "type": "number", "minimum": 0, "maximum": 100}
_EO_EXT: Final = "https://stac-extensions.github.io/eo/v1.0.0/schema.json"
_SCI_EXT: Final = "https://stac-extensions.github.io/scientific/v1.0.0/schema.json"
_SAT_EXT: Final = "https://stac-extensions.github.io/sat/v1.0.0/schema.json"
_SAR_EXT: Final = "https://stac-extensions.github.io/sar/v1.0.0/schema.json"


def _platform_queryable(platforms: Sequence[str]) -> dict[str, Any]:
    return {"description": "Platform", "type": "string", "enum": list(platforms)}


def _specs() -> tuple[_Spec, ...]:
    s2_platforms = ("sentinel-2a", "sentinel-2b")
    s2_summaries = {
        "platform": list(s2_platforms),
        "instrument": ["msi"],
        "constellation": ["sentinel-2"],
        "gsd": [10],
        "eo:cloud_cover": {"minimum": 0, "maximum": 100},
    }
    s2_queryables = {"eo:cloud_cover": _CLOUD_QUERYABLE, "platform": _platform_queryable(s2_platforms)}
    s1_platforms = ("sentinel-1a", "sentinel-1b")
    s3_platforms = ("sentinel-3a", "sentinel-3b")
    landsat_platforms = ("landsat-8", "landsat-9")
    return (
        _Spec(
            id="sentinel-2-l2a",
            title="Sentinel 2 L2A",
            description="Sentinel 2 imagery processed to level 2A",
            count=5000,
            footprint=(1.4, 1.0),
            constellation="sentinel-2",
            platforms=s2_platforms,
            instruments=("msi",),
            gsd=10,
            cloudy=True,
            extensions=(_SCI_EXT, _EO_EXT),
            summaries=s2_summaries,
            queryables=s2_queryables,
            make_id=_s2_id,
            properties=_s2_properties,
            asset=_s2_asset,
            start=dt.date(2017, 1, 1),
            end=dt.date(2024, 12, 31),
        ),
        _Spec(
            id="sentinel-2-l1c",
            title="Sentinel 2 L1C",
            description="Sentinel 2 imagery processed to level 1C",
            count=3000,
            footprint=(1.4, 1.0),
            constellation="sentinel-2",
            platforms=s2_platforms,
            instruments=("msi",),
            gsd=10,
            cloudy=True,
            extensions=(_SCI_EXT, _EO_EXT),
            summaries=s2_summaries,
            queryables=s2_queryables,
            make_id=_s2_id,
            properties=_s2_properties,
            asset=_s2_asset,
            start=dt.date(2017, 1, 1),
            end=dt.date(2024, 12, 31),
        ),
        _Spec(
            id="sentinel-1-grd",
            title="Sentinel 1 GRD",
            description="Sentinel 1 Ground Range Detected Imagery",
            count=2500,
            footprint=(3.2, 2.2),
            constellation="sentinel-1",
            platforms=s1_platforms,
            instruments=("c-sar",),
            gsd=10,
            cloudy=False,
            extensions=(_SCI_EXT, _SAT_EXT, _SAR_EXT),
            summaries={
                "platform": list(s1_platforms),
                "instrument": ["c-sar"],
                "constellation": ["sentinel-1"],
                "sat:orbit_state": ["ascending", "descending"],
                "sar:instrument_mode": ["IW", "EW"],
                "sar:polarizations": ["HH", "HV", "VH", "VV"],
            },
            queryables={
                "platform": _platform_queryable(s1_platforms),
                "sat:orbit_state": {"type": "string", "enum": ["ascending", "descending"]},
                "sar:instrument_mode": {"type": "string", "enum": ["IW", "EW"]},
                "s1:polarization": {"type": "string", "enum": ["DV", "DH", "SV"]},
                "s1:resolution": {"type": "string", "enum": ["HIGH"]},
                "s1:timeliness": {"type": "string", "enum": ["NRT3h", "Fast24h", "Offline"]},
            },
            make_id=_s1_id,
            properties=_s1_properties,
            asset=_s1_asset,
            start=dt.date(2017, 1, 1),
            end=dt.date(2024, 12, 31),
        ),
        _Spec(
            id="landsat-ot-l2",
            title="Landsat 8-9 L2",
            description="Landsat 8 and 9 Collection 2 Level-2 surface reflectance",
            count=1500,
            start=dt.date(2018, 1, 1),
            end=dt.date(2024, 12, 31),
            footprint=(2.6, 2.0),
            constellation="landsat",
            platforms=landsat_platforms,
            instruments=("oli", "tirs"),
            gsd=30,
            cloudy=True,
            extensions=(_SCI_EXT, _EO_EXT),
            summaries={
                "platform": list(landsat_platforms),
                "instrument": ["oli", "tirs"],
                "gsd": [30],
                "eo:cloud_cover": {"minimum": 0, "maximum": 100},
            },
            queryables={
                "eo:cloud_cover": _CLOUD_QUERYABLE,
                "platform": _platform_queryable(landsat_platforms),
            },
            make_id=_landsat_id,
            properties=_landsat_properties,
            asset=_landsat_asset,
        ),
        _Spec(
            id="sentinel-3-olci",
            title="Sentinel 3 OLCI",
            description="Sentinel 3 OLCI level 1B full resolution",
            count=600,
            start=dt.date(2018, 1, 1),
            end=dt.date(2024, 12, 31),
            footprint=(12.0, 9.0),
            constellation="sentinel-3",
            platforms=s3_platforms,
            instruments=("olci",),
            gsd=300,
            cloudy=False,
            extensions=(_SCI_EXT, _SAT_EXT),
            summaries={"platform": list(s3_platforms), "instrument": ["olci"], "gsd": [300]},
            queryables={
                "platform": _platform_queryable(s3_platforms),
                "sat:orbit_state": {"type": "string", "enum": ["ascending", "descending"]},
            },
            make_id=_s3_id,
            properties=_s3_properties,
            asset=_s3_asset,
        ),
    )


@functools.cache
def _generate(spec: _Spec) -> tuple[Record, ...]:
    """The collection's records, the same on every run (seeded by :data:`SEED` and the id).

    Cached for the process: records are immutable, so every emulator shares them.
    """
    rng = random.Random(f"{SEED}:{spec.id}")
    t0 = calendar.timegm(spec.start.timetuple())
    t1 = calendar.timegm(spec.end.timetuple()) + 86399
    width, height = spec.footprint
    records: list[Record] = []
    seen: set[str] = set()
    for _ in range(spec.count):
        # Most scenes over Europe (so small searches find something), the rest anywhere.
        if rng.random() < 0.7:
            lon, lat = rng.uniform(-10.0, 30.0), rng.uniform(35.0, 60.0)
        else:
            lon, lat = rng.uniform(-175.0, 175.0), rng.uniform(-56.0, 75.0)
        bbox = (
            round(max(-180.0, lon - width / 2), 6),
            round(max(-90.0, lat - height / 2), 6),
            round(min(180.0, lon + width / 2), 6),
            round(min(90.0, lat + height / 2), 6),
        )
        cloud = round(rng.betavariate(0.6, 0.9) * 100, 2) if spec.cloudy else None
        rec = Record("", rng.randint(t0, t1), bbox, cloud, rng.getrandbits(32))
        rec = dataclasses.replace(rec, id=spec.make_id(spec, rec))
        while rec.id in seen:  # ids built from coarse fields can collide: pick other bits
            rec = dataclasses.replace(rec, variant=rng.getrandbits(32))
            rec = dataclasses.replace(rec, id=spec.make_id(spec, rec))
        seen.add(rec.id)
        records.append(rec)
    records.sort(key=lambda r: (r.time, r.id))
    return tuple(records)


_SPECS: Final = {spec.id: spec for spec in _specs()}


class CatalogData:
    """The emulated catalog's collections and items (generated per collection on first use).

    Tests may read it for the truth behind an answer: ``catalog_data(emu.state)``.
    """

    def __init__(self) -> None:
        self.specs: dict[str, _Spec] = dict(_SPECS)
        self._records: dict[str, Sequence[Record]] = {}
        self._times: dict[str, list[int]] = {}
        self._by_id: dict[str, dict[str, Record]] = {}

    @property
    def collection_ids(self) -> list[str]:
        return list(self.specs)

    def records(self, collection_id: str) -> Sequence[Record]:
        """Every record of a collection, ordered by time then id."""
        if collection_id not in self._records:
            records = _generate(self.specs[collection_id])
            self._records[collection_id] = records
            self._times[collection_id] = [r.time for r in records]
            self._by_id[collection_id] = {r.id: r for r in records}
        return self._records[collection_id]

    def record(self, collection_id: str, item_id: str) -> Record | None:
        self.records(collection_id)
        return self._by_id[collection_id].get(item_id)

    def in_time(self, collection_id: str, start: float | None, end: float | None) -> Sequence[Record]:
        """Records with ``start <= time <= end`` (``None``: open)."""
        records = self.records(collection_id)
        times = self._times[collection_id]
        lo = 0 if start is None else bisect.bisect_left(times, start)
        hi = len(records) if end is None else bisect.bisect_right(times, end)
        return records[lo:hi]

    def properties(self, collection_id: str, rec: Record) -> dict[str, Any]:
        spec = self.specs[collection_id]
        return spec.properties(spec, rec)

    def render(self, collection_id: str, rec: Record, root: str) -> dict[str, Any]:
        """The STAC item of ``rec``; ``root`` is the catalog URL (``http://host/api/v1/catalog/1.0.0``)."""
        spec = self.specs[collection_id]
        x0, y0, x1, y1 = rec.bbox
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        collection_url = f"{root}/collections/{collection_id}"
        return {
            "stac_version": _STAC_VERSION,
            "stac_extensions": list(spec.extensions),
            "id": rec.id,
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "bbox": [x0, y0, x1, y1],
            "properties": spec.properties(spec, rec),
            "assets": spec.asset(spec, rec),
            "collection": collection_id,
            "links": [
                {"href": f"{root}/", "rel": "root", "type": "application/json"},
                {"href": f"{collection_url}/items/{rec.id}", "rel": "self", "type": _GEOJSON},
                {"href": collection_url, "rel": "parent", "type": "application/json"},
                {"href": collection_url, "rel": "collection", "type": "application/json"},
            ],
        }

    def collection(self, collection_id: str, root: str) -> dict[str, Any]:
        spec = self.specs[collection_id]
        url = f"{root}/collections/{spec.id}"
        return {
            "stac_version": _STAC_VERSION,
            "stac_extensions": list(spec.extensions),
            "type": "Collection",
            "id": spec.id,
            "title": spec.title,
            "description": spec.description,
            "sci:citation": "Modified Copernicus Sentinel data [Year]/Sentinel Hub",
            "license": "proprietary",
            "providers": [
                {"name": "ESA", "roles": ["producer"], "url": "https://esa.int/"},
                {"name": "Sinergise", "roles": ["processor"], "url": "https://www.sinergise.com/"},
            ],
            "extent": {
                "spatial": {"bbox": [[-180, -56, 180, 83]]},
                "temporal": {"interval": [[f"{spec.start.isoformat()}T00:00:00Z", None]]},
            },
            "summaries": spec.summaries,
            "links": [
                {"href": f"{root}/", "rel": "root", "type": "application/json"},
                {"href": url, "rel": "self", "type": "application/json"},
                {"href": f"{root}/collections", "rel": "parent", "type": "application/json"},
                {
                    "href": f"{url}/queryables",
                    "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                    "type": "application/schema+json",
                },
                {"href": f"{url}/items", "rel": "items", "type": _GEOJSON},
            ],
        }

    def queryables(self, collection_id: str, root: str) -> dict[str, Any]:
        return {
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "$id": f"{root}/collections/{collection_id}/queryables/",
            "type": "object",
            "title": "Queryables for Catalog STAC API",
            "description": "Queryable names for the Catalog STAC API Item Search filter.",
            "properties": self.specs[collection_id].queryables,
            "additionalProperties": False,
        }


def catalog_data(state: EmulatorState) -> CatalogData:
    """The catalog data of an emulator (created on first use)."""
    return state.store(_STORE, CatalogData)


# -- CQL2: parsed and checked by eoclient.cql2 (the client's parser too), evaluated here ----------

_MISSING: Final = object()


def parse_cql2_text(text: str) -> dict[str, Any]:
    """CQL2 text as CQL2 JSON (:func:`eoclient.cql2.parse_text`); :class:`StacError` when unsupported."""
    try:
        return cql2.parse_text(text)
    except cql2.Cql2Error as exc:
        raise _bad(str(exc)) from None


class _Filter:
    """A checked CQL2 JSON expression, evaluated against item properties."""

    def __init__(self, expr: Any, queryables: Iterable[str]) -> None:
        known = frozenset(queryables) | {"id", "datetime"}
        try:
            self.expr = cql2.check(expr, queryables=known)
        except cql2.Cql2Error as exc:
            raise _bad(str(exc)) from None

    def __call__(self, props: Mapping[str, Any]) -> bool:
        return self._eval(self.expr, props)

    def _eval(self, expr: Mapping[str, Any], props: Mapping[str, Any]) -> bool:
        op = expr["op"]
        args = expr["args"]
        if op == "and":
            return all(self._eval(a, props) for a in args)
        if op == "or":
            return any(self._eval(a, props) for a in args)
        if op == "not":
            return not self._eval(args[0], props)
        value = self._value(args[0], props)
        if op == "isNull":
            return value is None or value is _MISSING
        if value is None or value is _MISSING:
            return False
        try:
            if op == "between":
                return bool(self._value(args[1], props) <= value <= self._value(args[2], props))
            other = self._value(args[1], props)
            if other is None or other is _MISSING:
                return False
            return bool(_COMPARE[op](value, other))
        except TypeError:  # comparing a string with a number matches nothing
            return False

    @staticmethod
    def _value(operand: Any, props: Mapping[str, Any]) -> Any:
        if isinstance(operand, Mapping):
            return props.get(operand["property"], _MISSING)
        return operand


_COMPARE: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


# -- request parsing -------------------------------------------------------------------


@dataclass
class _Query:
    collection: str
    bbox: tuple[float, float, float, float] | None = None
    start: float | None = None
    end: float | None = None
    ids: frozenset[str] | None = None
    filter: _Filter | None = None
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    distinct: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def _parse_instant(text: str) -> float:
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _bad(f"datetime {text!r} is not RFC 3339") from None
    if "T" not in text.upper():
        raise _bad(f"datetime {text!r} is not RFC 3339 (a date-time is needed)")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def _parse_datetime(value: Any) -> tuple[float | None, float | None]:
    if not isinstance(value, str) or not value.strip():
        raise _bad("datetime must be an RFC 3339 date-time or interval")
    parts = value.strip().split("/")
    if len(parts) == 1:
        instant = _parse_instant(parts[0])
        return instant, instant
    if len(parts) != 2:
        raise _bad(f"datetime {value!r} is not an interval")
    start = None if parts[0] in {"", ".."} else _parse_instant(parts[0])
    end = None if parts[1] in {"", ".."} else _parse_instant(parts[1])
    if start is None and end is None:
        raise _bad("a datetime interval needs at least one end")
    if start is not None and end is not None and start > end:
        raise _bad("the datetime interval starts after it ends")
    return start, end


def _parse_bbox(values: Any) -> tuple[float, float, float, float]:
    if not isinstance(values, list) or len(values) not in (4, 6):
        raise _bad("bbox must have 4 or 6 numbers")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise _bad("bbox must have 4 or 6 numbers")
    nums = [float(v) for v in values]
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if nums[1] > nums[3]:
        raise _bad("bbox: the minimum latitude is above the maximum")
    # WGS84, as for every other request (the antimeridian lets min_x exceed max_x, not leave ±180).
    if not all(-180.0 <= x <= 180.0 for x in (nums[0], nums[2])) or not all(
        -90.0 <= y <= 90.0 for y in (nums[1], nums[3])
    ):
        raise _bad("bbox: coordinates outside WGS84 (longitude -180..180, latitude -90..90)")
    return nums[0], nums[1], nums[2], nums[3]


def _positions(coords: Any) -> Iterable[Sequence[float]]:
    """Every position of a GeoJSON ``coordinates`` array, in order."""
    if isinstance(coords, list) and coords and all(isinstance(v, int | float) for v in coords):
        yield coords
    elif isinstance(coords, list):
        for part in coords:
            yield from _positions(part)
    else:
        raise _bad("intersects: coordinates must be nested lists of numbers")


def _parse_intersects(value: Any) -> tuple[float, float, float, float]:
    """The bounding box of a GeoJSON geometry (matching by bbox is this emulator's approximation)."""
    if not isinstance(value, dict) or value.get("type") not in _GEOMETRY_TYPES:
        raise _bad("intersects must be a GeoJSON geometry")
    if value["type"] == "GeometryCollection":
        parts = value.get("geometries")
        if not isinstance(parts, list) or not parts:
            raise _bad("intersects: a GeometryCollection needs geometries")
        boxes = [_parse_intersects(part) for part in parts]
        return (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
    points = list(_positions(value.get("coordinates")))
    if not points or any(len(p) < 2 for p in points):
        raise _bad("intersects: the geometry has no coordinates")
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    if min(xs) < -180.0 or max(xs) > 180.0 or min(ys) < -90.0 or max(ys) > 90.0:
        raise _bad("intersects: coordinates outside WGS84 (longitude -180..180, latitude -90..90)")
    return min(xs), min(ys), max(xs), max(ys)


def _parse_limit(value: Any) -> int:
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise _bad(f"limit must be an integer, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad("limit must be an integer")
    if not 1 <= value <= MAX_LIMIT:
        raise _bad(f"limit must be between 1 and {MAX_LIMIT}, got {value}")
    return value


def _parse_offset(value: Any) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad("next must be the token of a previous page")
    return value


def _parse_fields(value: Any) -> tuple[list[str], list[str]]:
    if isinstance(value, str):
        names = [n.strip() for n in value.split(",") if n.strip()]
        include = [n.removeprefix("+") for n in names if not n.startswith("-")]
        return include, [n[1:] for n in names if n.startswith("-")]
    if not isinstance(value, dict) or set(value) - {"include", "exclude"}:
        raise _bad("fields must be an object with 'include' and/or 'exclude' lists")
    out: list[list[str]] = []
    for key in ("include", "exclude"):
        names = value.get(key) or []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise _bad(f"fields.{key} must be a list of strings")
        out.append(names)
    return out[0], out[1]


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _search_query(
    data: CatalogData, params: Mapping[str, Any], *, from_get: bool, search: bool = True
) -> _Query:
    """Check a search (POST body, or GET query already split into JSON-like values).

    ``search`` is False for the items listing, whose ``datetime`` is optional.
    """
    collections = params.get("collections")
    if (
        not isinstance(collections, list)
        or not collections
        or not all(isinstance(c, str) for c in collections)
    ):
        raise _bad("collections is required: a list with one collection id")
    if len(collections) != 1:
        raise _bad("exactly one collection can be searched at a time")
    collection = collections[0]
    if collection not in data.specs:
        raise StacError(400, "IllegalCollection", f"Illegal collection: {collection}")
    query = _Query(collection)
    if params.get("bbox") is not None and params.get("intersects") is not None:
        raise _bad("bbox and intersects cannot be combined")
    if params.get("bbox") is not None:
        query.bbox = _parse_bbox(params["bbox"])
    if params.get("intersects") is not None:
        query.bbox = _parse_intersects(params["intersects"])
    if params.get("datetime") is not None:
        query.start, query.end = _parse_datetime(params["datetime"])
    elif search:
        raise _bad(
            "datetime is required: a date-time or an interval, '..' for an open end (2020-01-01T00:00:00Z/..)"
        )
    if params.get("ids") is not None:
        ids = params["ids"]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise _bad("ids must be a list of strings")
        query.ids = frozenset(ids)
    if params.get("filter") is not None:
        query.filter = _parse_filter(data, collection, params["filter"], params.get("filter-lang"), from_get)
    if params.get("fields") is not None:
        query.include, query.exclude = _parse_fields(params["fields"])
    if params.get("distinct") is not None:
        if not isinstance(params["distinct"], str) or not params["distinct"]:
            raise _bad("distinct must be a property name")
        query.distinct = params["distinct"]
    if params.get("limit") is not None:
        query.limit = _parse_limit(params["limit"])
    if params.get("next") is not None:
        query.offset = _parse_offset(params["next"])
    return query


def _parse_filter(data: CatalogData, collection: str, value: Any, lang: Any, from_get: bool) -> _Filter:
    """A GET search's filter is cql2-text (there is no ``filter-lang`` there); a POST body's either."""
    if lang is not None and lang not in ("cql2-text", "cql2-json"):
        raise _bad(f"filter-lang must be cql2-text or cql2-json, got {lang!r}")
    if lang is None:
        lang = "cql2-text" if isinstance(value, str) else "cql2-json"
    if from_get or lang == "cql2-text":
        if not isinstance(value, str):
            raise _bad("filter-lang is cql2-text but the filter is not a string")
        expr = parse_cql2_text(value)
    elif isinstance(value, dict):
        expr = value
    else:
        raise _bad("filter-lang is cql2-json but the filter is not an object")
    return _Filter(expr, data.specs[collection].queryables)


def _get_params(query: MultiMapping[str]) -> dict[str, Any]:
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
            raise _bad("bbox must be comma-separated numbers") from None
    if "intersects" in query:
        try:
            params["intersects"] = json.loads(query["intersects"])
        except ValueError:
            raise _bad("intersects must be a GeoJSON geometry") from None
    return params


# -- matching and answering ------------------------------------------------------------


def _overlaps(a: tuple[float, float, float, float], box: tuple[float, float, float, float]) -> bool:
    if a[1] > box[3] or a[3] < box[1]:
        return False
    if box[0] <= box[2]:
        return not (a[0] > box[2] or a[2] < box[0])
    # A box across the antimeridian: west-most edge > east-most edge.
    return a[2] >= box[0] or a[0] <= box[2]


def _matching(data: CatalogData, query: _Query) -> list[Record]:
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


def _distinct(data: CatalogData, query: _Query, records: Sequence[Record]) -> list[Any]:
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


def _shape(item: dict[str, Any], include: Sequence[str], exclude: Sequence[str]) -> dict[str, Any]:
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


def _root(request: web.Request) -> str:
    return f"{request.url.origin()}{BASE_PATH}"


def _search_page(request: web.Request, data: CatalogData, query: _Query, *, method: str) -> dict[str, Any]:
    root = _root(request)
    records = _matching(data, query)
    features: list[Any]
    total: int
    if query.distinct is not None:
        values = _distinct(data, query, records)
        total = len(values)
        features = values[query.offset : query.offset + query.limit]
    else:
        total = len(records)
        page = records[query.offset : query.offset + query.limit]
        features = [
            _shape(data.render(query.collection, rec, root), query.include, query.exclude) for rec in page
        ]
    following = query.offset + query.limit
    has_next = following < total
    context: dict[str, Any] = {"limit": query.limit, "returned": len(features)}
    links: list[dict[str, Any]] = [{"href": f"{root}/search", "rel": "self", "type": _GEOJSON}]
    if has_next:
        context = {"next": following, **context}
        if method == "POST":
            links.append(
                {
                    "href": f"{root}/search",
                    "rel": "next",
                    "type": _GEOJSON,
                    "title": "Next set of results",
                    "method": "POST",
                    "body": {"next": following},
                    "merge": True,
                }
            )
        else:
            href = str(request.url.update_query(next=str(following)))
            links.append({"href": href, "rel": "next", "type": _GEOJSON, "title": "Next set of results"})
    if method == "GET":
        links[0]["href"] = str(request.url)
    return {"type": "FeatureCollection", "features": features, "links": links, "context": context}


def _known_collection(data: CatalogData, request: web.Request) -> str:
    collection_id = request.match_info["collection_id"]
    if collection_id not in data.specs:
        raise StacError(404, "NotFound", f"Collection {collection_id} not found")
    return collection_id


# -- handlers --------------------------------------------------------------------------


def _handler(fn: Callable[[web.Request, CatalogData], Any]) -> Callable[[web.Request], Any]:
    """A route answering STAC errors (its query parameters are checked by the route's contract)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            result = fn(request, catalog_data(get_state(request)))
            if hasattr(result, "__await__"):
                result = await result
        except StacError as exc:
            return _stac_error(exc)
        assert isinstance(result, web.StreamResponse)
        return result

    return handle


def _landing(request: web.Request, data: CatalogData) -> web.Response:
    root = _root(request)
    links: list[dict[str, Any]] = [
        {"href": f"{root}/", "rel": "root", "type": "application/json"},
        {"href": f"{root}/", "rel": "self", "type": "application/json"},
        {"href": f"{root}/collections", "rel": "data", "type": "application/json"},
        {
            "href": f"{root}/conformance",
            "rel": "conformance",
            "type": "application/json",
            "title": "STAC conformance classes implemented by this server",
        },
        {
            "href": f"{root}/search",
            "rel": "search",
            "type": _GEOJSON,
            "title": "STAC search",
            "method": "GET",
        },
        {
            "href": f"{root}/search",
            "rel": "search",
            "type": _GEOJSON,
            "title": "STAC search",
            "method": "POST",
        },
    ]
    for spec in data.specs.values():
        links.append(
            {
                "href": f"{root}/collections/{spec.id}",
                "rel": "child",
                "type": "application/json",
                "title": spec.title,
            }
        )
    return _json(
        {
            "type": "Catalog",
            "stac_version": _STAC_VERSION,
            "id": "sentinel-hub",
            "title": "Sentinel Hub STAC catalog",
            "description": "STAC v1.0.0 implementation by Sentinel Hub (emulated)",
            "conformsTo": list(CONFORMS_TO),
            "links": links,
        }
    )


def _conformance(request: web.Request, data: CatalogData) -> web.Response:
    return _json({"conformsTo": list(CONFORMS_TO)})


def _collections(request: web.Request, data: CatalogData) -> web.Response:
    root = _root(request)
    limit = COLLECTION_PAGE_SIZE
    offset = _parse_offset(request.query["next"]) if "next" in request.query else 0
    ids = data.collection_ids
    page = ids[offset : offset + limit]
    links: list[dict[str, Any]] = [
        {"href": f"{root}/", "rel": "root", "type": "application/json"},
        {"href": str(request.url), "rel": "self", "type": "application/json"},
        {"href": f"{root}/", "rel": "parent", "type": "application/json"},
    ]
    if offset + limit < len(ids):
        href = str(request.url.update_query(next=str(offset + limit)))
        links.append({"href": href, "rel": "next", "type": "application/json"})
    return _json({"collections": [data.collection(cid, root) for cid in page], "links": links})


def _collection(request: web.Request, data: CatalogData) -> web.Response:
    return _json(data.collection(_known_collection(data, request), _root(request)))


def _queryables(request: web.Request, data: CatalogData) -> web.Response:
    collection_id = _known_collection(data, request)
    return _json(data.queryables(collection_id, _root(request)), content_type="application/schema+json")


def _items(request: web.Request, data: CatalogData) -> web.Response:
    collection_id = _known_collection(data, request)
    params = _get_params(request.query)
    query = _search_query(data, {**params, "collections": [collection_id]}, from_get=True, search=False)
    root = _root(request)
    records = _matching(data, query)
    page = records[query.offset : query.offset + query.limit]
    collection_url = f"{root}/collections/{collection_id}"
    links: list[dict[str, Any]] = [
        {"href": f"{root}/", "rel": "root", "type": "application/json"},
        {"href": str(request.url), "rel": "self", "type": _GEOJSON},
        {"href": collection_url, "rel": "parent", "type": "application/json"},
    ]
    following = query.offset + query.limit
    if following < len(records):
        href = str(request.url.update_query(next=str(following)))
        links.append({"href": href, "rel": "next", "type": _GEOJSON, "title": "Next set of results"})
    return _json(
        {
            "type": "FeatureCollection",
            "features": [data.render(collection_id, rec, root) for rec in page],
            "links": links,
            "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "numberReturned": len(page),
        },
        content_type=_GEOJSON,
    )


def _item(request: web.Request, data: CatalogData) -> web.Response:
    collection_id = _known_collection(data, request)
    item_id = request.match_info["item_id"]
    rec = data.record(collection_id, item_id)
    if rec is None:
        raise StacError(404, "NotFound", f"Item {item_id} not found in {collection_id}")
    return _json(data.render(collection_id, rec, _root(request)), content_type=_GEOJSON)


def _search_get(request: web.Request, data: CatalogData) -> web.Response:
    query = _search_query(data, _get_params(request.query), from_get=True)
    return _json(_search_page(request, data, query, method="GET"), content_type=_GEOJSON)


async def _search_post(request: web.Request, data: CatalogData) -> web.Response:
    raw = await request.read()
    try:
        body = msgspec.json.decode(raw) if raw else None
    except msgspec.DecodeError:
        raise _bad("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise _bad("the request body must be a JSON object")
    query = _search_query(data, body, from_get=False)
    return _json(_search_page(request, data, query, method="POST"), content_type=_GEOJSON)


# The query parameters of each GET operation, as the OpenAPI document lists them; any other is
# refused (eoclient.emulator.core.routing). ``next`` is the page token of the links this catalog
# answers with (the document's own example links carry it; its CatalogLink ``merge`` note
# turns a body ``{"next": ...}`` into ``&next=``); ``filter-lang`` is not a GET parameter.
ITEMS_QUERY: Final = ("limit", "bbox", "datetime", "next")
SEARCH_QUERY: Final = (
    "bbox",
    "intersects",
    "datetime",
    "limit",
    "ids",
    "collections",
    "fields",
    "filter",
    "distinct",
    "next",
)


def _stac_shape(refusal: Refusal) -> web.Response:
    # A STAC API answers its exceptions as {"code", "description"}.
    code = refusal.code or ("NotFound" if refusal.status == 404 else "InvalidParameterValue")
    return _json({"code": code, "description": refusal.message}, status=refusal.status)


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the Catalog routes to the Sentinel Hub app."""
    del state  # the data is created in the state's store on first request
    base = BASE_PATH
    routes: list[tuple[str, str, Callable[[web.Request, CatalogData], Any], Sequence[str]]] = [
        ("GET", f"{base}/", _landing, ()),
        ("GET", base, _landing, ()),
        ("GET", f"{base}/conformance", _conformance, ()),
        ("GET", f"{base}/collections", _collections, ("next",)),
        ("GET", f"{base}/collections/{{collection_id}}", _collection, ()),
        ("GET", f"{base}/collections/{{collection_id}}/queryables", _queryables, ()),
        ("GET", f"{base}/collections/{{collection_id}}/items", _items, ITEMS_QUERY),
        ("GET", f"{base}/collections/{{collection_id}}/items/{{item_id}}", _item, ()),
        ("GET", f"{base}/search", _search_get, SEARCH_QUERY),
        ("POST", f"{base}/search", _search_post, ()),
    ]
    for method, path, func, query in routes:
        add_route(app, method, path, _handler(func), query=query, shape=_stac_shape)
    # Public on the live service too (the OpenAPI gives them no security).
    app[PUBLIC_PATHS_KEY].update({f"{base}/", base, f"{base}/conformance"})
