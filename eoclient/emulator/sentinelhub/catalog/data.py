"""The Catalog's synthetic data: five collections of seeded items, rendered as STAC when answered.

Each item is kept as a small :class:`Record`; the collections are generated on
first use from :data:`SEED`, so every run and every emulator holds the same
items, ordered by ``datetime`` then id. Tests may read the truth behind an
answer: ``catalog_data(emu.state)``.
"""

from __future__ import annotations

import bisect
import calendar
import dataclasses
import datetime as dt
import functools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from eoclient.emulator.core.state import EmulatorState
from eoclient.emulator.sentinelhub.catalog.stac import GEOJSON, STAC_VERSION

__all__ = ["SEED", "CatalogData", "Record", "Spec", "catalog_data"]

SEED: Final = 20_170_101
_STORE: Final = "sh_catalog"


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
class Spec:
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
    make_id: Callable[[Spec, Record], str]
    properties: Callable[[Spec, Record], dict[str, Any]]
    asset: Callable[[Spec, Record], dict[str, Any]]


def _rfc3339(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _compact(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y%m%dT%H%M%S")


def _platform(spec: Spec, rec: Record) -> str:
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


def _s2_id(spec: Spec, rec: Record) -> str:
    level = "MSIL2A" if spec.id.endswith("l2a") else "MSIL1C"
    sat = _platform(spec, rec)[-1].upper()
    orbit = (rec.variant >> 14) % 143 + 1
    baseline = ("N0213", "N0400", "N0500", "N0509")[(rec.variant >> 22) % 4]
    return (
        f"S2{sat}_{level}_{_compact(rec.time)}_{baseline}_R{orbit:03d}_T{_s2_tile(rec)}"
        f"_{_compact(rec.time + 3600 + rec.variant % 7200)}"
    )


def _base_properties(spec: Spec, rec: Record) -> dict[str, Any]:
    """What every item's properties start with: its time, platform, instruments and constellation."""
    return {
        "datetime": rec.datetime,
        "platform": _platform(spec, rec),
        "instruments": list(spec.instruments),
        "constellation": spec.constellation,
    }


def _s2_properties(spec: Spec, rec: Record) -> dict[str, Any]:
    zone, north = _utm_zone(rec)
    return {
        **_base_properties(spec, rec),
        "gsd": spec.gsd,
        "eo:cloud_cover": rec.cloud,
        "proj:epsg": (32600 if north else 32700) + zone,
    }


def _s2_asset(spec: Spec, rec: Record) -> dict[str, Any]:
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


def _s1_id(spec: Spec, rec: Record) -> str:
    mode, _, pols = _s1_bits(rec)
    pol = {"VV+VH": "DV", "HH+HV": "DH", "VV": "SV"}["+".join(pols)]
    orbit = 10_000 + (rec.time // 6000) % 50_000
    return (
        f"S1{_platform(spec, rec)[-1].upper()}_{mode}_GRDH_1S{pol}"
        f"_{_compact(rec.time)}_{_compact(rec.time + 25)}"
        f"_{orbit:06d}_{rec.variant % 0xFFFFFF:06X}_{(rec.variant >> 8) % 0xFFFF:04X}"
    )


def _s1_properties(spec: Spec, rec: Record) -> dict[str, Any]:
    mode, orbit_state, pols = _s1_bits(rec)
    return {
        **_base_properties(spec, rec),
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


def _s1_asset(spec: Spec, rec: Record) -> dict[str, Any]:
    day = dt.datetime.fromtimestamp(rec.time, dt.UTC)
    mode, _, _ = _s1_bits(rec)
    href = f"s3://sentinel-s1-l1c/GRD/{day.year}/{day.month}/{day.day}/{mode}/DV/{rec.id}/"
    return {"s3": {"href": href, "title": "s3", "type": "inode/directory"}}


def _landsat_path_row(rec: Record) -> tuple[int, int]:
    return (rec.variant >> 3) % 233 + 1, (rec.variant >> 11) % 248 + 1


def _landsat_id(spec: Spec, rec: Record) -> str:
    path, row = _landsat_path_row(rec)
    sat = "08" if _platform(spec, rec) == "landsat-8" else "09"
    day = dt.datetime.fromtimestamp(rec.time, dt.UTC).strftime("%Y%m%d")
    processed = dt.datetime.fromtimestamp(rec.time + 86400 * 14, dt.UTC).strftime("%Y%m%d")
    return f"LC{sat}_L2SP_{path:03d}{row:03d}_{day}_{processed}_02_T1"


def _landsat_properties(spec: Spec, rec: Record) -> dict[str, Any]:
    path, row = _landsat_path_row(rec)
    zone, north = _utm_zone(rec)
    return {
        **_base_properties(spec, rec),
        "gsd": spec.gsd,
        "eo:cloud_cover": rec.cloud,
        "proj:epsg": (32600 if north else 32700) + zone,
        "landsat:wrs_path": f"{path:03d}",
        "landsat:wrs_row": f"{row:03d}",
    }


def _landsat_asset(spec: Spec, rec: Record) -> dict[str, Any]:
    path, row = _landsat_path_row(rec)
    year = dt.datetime.fromtimestamp(rec.time, dt.UTC).year
    href = f"s3://usgs-landsat/collection02/level-2/standard/oli-tirs/{year}/{path:03d}/{row:03d}/{rec.id}/"
    return {"data": {"href": href, "title": "s3", "type": "inode/directory"}}


def _s3_id(spec: Spec, rec: Record) -> str:
    sat = _platform(spec, rec)[-1].upper()
    relative = (rec.variant >> 6) % 385 + 1
    return (
        f"S3{sat}_OL_1_EFR____{_compact(rec.time)}_{_compact(rec.time + 180)}"
        f"_{_compact(rec.time + 86400)}_0179_{(rec.variant >> 3) % 99:03d}_{relative:03d}"
        "_2160_LN1_O_NT_002.SEN3"
    )


def _s3_properties(spec: Spec, rec: Record) -> dict[str, Any]:
    return {
        **_base_properties(spec, rec),
        "gsd": spec.gsd,
        "sat:orbit_state": ("ascending", "descending")[(rec.variant >> 3) % 2],
    }


def _s3_asset(spec: Spec, rec: Record) -> dict[str, Any]:
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


def _specs() -> tuple[Spec, ...]:
    s2_platforms = ("sentinel-2a", "sentinel-2b")
    s1_platforms = ("sentinel-1a", "sentinel-1b")
    s3_platforms = ("sentinel-3a", "sentinel-3b")
    landsat_platforms = ("landsat-8", "landsat-9")
    s2_l2a = Spec(
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
        summaries={
            "platform": list(s2_platforms),
            "instrument": ["msi"],
            "constellation": ["sentinel-2"],
            "gsd": [10],
            "eo:cloud_cover": {"minimum": 0, "maximum": 100},
        },
        queryables={"eo:cloud_cover": _CLOUD_QUERYABLE, "platform": _platform_queryable(s2_platforms)},
        make_id=_s2_id,
        properties=_s2_properties,
        asset=_s2_asset,
        start=dt.date(2017, 1, 1),
        end=dt.date(2024, 12, 31),
    )
    return (
        s2_l2a,
        # The same satellites, one processing level lower.
        dataclasses.replace(
            s2_l2a,
            id="sentinel-2-l1c",
            title="Sentinel 2 L1C",
            description="Sentinel 2 imagery processed to level 1C",
            count=3000,
        ),
        Spec(
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
        Spec(
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
        Spec(
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
def _generate(spec: Spec) -> tuple[Record, ...]:
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
        self.specs: dict[str, Spec] = dict(_SPECS)
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
            "stac_version": STAC_VERSION,
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
                {"href": f"{collection_url}/items/{rec.id}", "rel": "self", "type": GEOJSON},
                {"href": collection_url, "rel": "parent", "type": "application/json"},
                {"href": collection_url, "rel": "collection", "type": "application/json"},
            ],
        }

    def collection(self, collection_id: str, root: str) -> dict[str, Any]:
        spec = self.specs[collection_id]
        url = f"{root}/collections/{spec.id}"
        return {
            "stac_version": STAC_VERSION,
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
                {"href": f"{url}/items", "rel": "items", "type": GEOJSON},
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
