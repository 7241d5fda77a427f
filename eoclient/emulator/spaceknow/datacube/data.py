"""The emulated Datacube's world: AoIs and their sites, the catalogue and its datapoints, the products.

The same every run, whatever the seed: datapoints are generated from a hash
of (site, algorithm, version, date) for every date of each catalogue entry
(:func:`entry_rows`), product CSV rows likewise, one at a time
(:func:`product_rows`).
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

__all__ = [
    "AOIS",
    "CATALOGUE",
    "COLUMNS",
    "FMT",
    "PRODUCTS",
    "SITES",
    "Entry",
    "ProductDef",
    "Site",
    "entry_rows",
    "product_json",
    "product_rows",
    "sales_info",
]


FMT: Final = "%Y-%m-%d %H:%M:%S"


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


def unit_value(*parts: object) -> float:
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
                moment = datetime(day.year, day.month, day.day, 10, int(unit_value(entry.source, day) * 60))
                yield moment, moment
                day += timedelta(days=1 if entry.frequency == "D" else 7)


@functools.cache
def entry_rows(entry: Entry) -> tuple[dict[str, Any], ...]:
    """Every datapoint of ``entry`` (some twice: the service's duplicates), ordered by site and time."""
    out: list[dict[str, Any]] = []
    optical = entry.source not in {"VIIRS/Monthly", "COPERNICUS/S1_GRD"}
    for label in entry.sites:
        site = SITES[label]
        for start, end in _dates(entry):
            season = math.sin(2 * math.pi * start.timetuple().tm_yday / 365.25)
            noise = unit_value(label, entry.algorithm, entry.version, start) - 0.5
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
                "cloudCover": round(unit_value("cc", label, start) ** 2, 4) if optical else 0.0,
                "value": round(value, 4),
            }
            out.append(row)
            if unit_value("dup", label, entry.version, start) < 0.03:
                out.append(dict(row))
    return tuple(out)


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


def sales_info(p: ProductDef) -> dict[str, dict[str, str]]:
    """A product's ``salesInfo``: one entry per value column."""
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


def product_json(p: ProductDef) -> dict[str, Any]:
    """A product as ``/datacube/products/list`` lists it."""
    return {
        "active": p.active,
        "downloadable": p.downloadable,
        "metadata": {"productName": p.name},
        "productId": p.product_id,
        "salesInfo": sales_info(p),
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
        seconds = int(unit_value(p.product_id, day) * 3600)
        value_dt = datetime(day.year, day.month, day.day, 8) + timedelta(seconds=seconds)
        delivery_dt = value_dt + timedelta(days=1, seconds=int(unit_value("d", p.product_id, day) * 600))
        if pit_dt is not None and delivery_dt.date() > pit_dt:
            break  # rows are in delivery order: nothing later was known then
        row = [value_dt.strftime(FMT) + " UTC", delivery_dt.strftime(FMT) + " UTC"]
        if rich:
            row += [p.product_id, p.region, p.frequency]
        for column in p.columns:
            u = unit_value(column, day)
            row.append("" if u < 0.03 else f"{u * 2 - 0.5:.4f}")
        if rich:
            # Now and then a revision note with a comma, quotes and a line break: real CSV quoting.
            revised = unit_value("rev", p.product_id, day) < 0.02
            row.append('revised, see "methodology"\nsecond line' if revised else "")
        yield row
