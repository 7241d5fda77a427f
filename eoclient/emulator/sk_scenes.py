"""The emulated SpaceKnow world: providers, datasets and a deterministic scene catalogue.

Shared by every SpaceKnow family of the emulator (imagery search and scene
info, Kraken releases, credits) so that the scenes one returns are the scenes
the others accept. The catalogue is "the world", independent of the
emulator's seed: the same scene ids every run.

Scenes cluster over a few areas (Prague, Perth, San Francisco, Nairobi), one
every few days per dataset from 2018 to 2024.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

__all__ = ["AREAS", "PROVIDERS", "catalogue", "get_scene", "scene_bbox", "search"]

DATETIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"

# (lon, lat) centres of the areas the catalogue covers.
AREAS: Final = {
    "prague": (14.45, 50.07),
    "perth": (115.85, -31.96),
    "san-francisco": (-122.43, 37.75),
    "nairobi": (36.82, -1.29),
}

_BANDS: Final = {
    "optical-rgb": [("red", "r"), ("green", "g"), ("blue", "b")],
    "optical-ms": [("red", "r"), ("green", "g"), ("blue", "b"), ("nir", "n")],
    "sar-grd": [("vv", "vv"), ("vh", "vh")],
}

# provider, dataset, human name, type, gsd (m), revisit (days), downloadable, satellite
_DATASETS: Final = [
    (
        "ee",
        "COPERNICUS/S2_HARMONIZED",
        "Copernicus Sentinel-2 Harmonized",
        "optical-ms",
        10.0,
        5,
        False,
        "S2A",
    ),
    ("ee", "COPERNICUS/S1_GRD", "Copernicus Sentinel-1 GRD", "sar-grd", 10.0, 6, True, "S1A"),
    ("pl", "PSScene", "PlanetScope Scene", "optical-ms", 3.0, 3, True, "PS2"),
    ("gbdx", "idaho-pansharpened", "DigitalGlobe IDAHO pansharpened", "optical-rgb", 0.5, 30, True, "WV02"),
    ("airbus", "pleiades", "Airbus Pleiades", "optical-rgb", 0.5, 20, True, "PHR1A"),
]

PROVIDERS: Final[list[dict[str, Any]]] = [
    {
        "attribution": {"ee": "Copernicus", "pl": "Planet", "gbdx": "Maxar", "airbus": "Airbus"}[prov],
        "changeGroup": f"{prov}_{ds}",
        "clip": "disallowed" if prov == "ee" else "allowed",
        "dataset": ds,
        "datasetName": name,
        "datasetType": "sar-grd" if kind == "sar-grd" else "optical",
        "downloadable": down,
        "exportable": prov != "ee",
        "maxMbrSide": 400000,
        "provider": prov,
        "providerName": {"ee": "Earth Engine", "pl": "Planet", "gbdx": "GBDX", "airbus": "Airbus"}[prov],
        "requiresSeparateSearch": False,
        "resolution": [gsd, gsd * 4 if kind == "sar-grd" else gsd],
        "thumbnail": prov != "gbdx",
    }
    for prov, ds, name, kind, gsd, _, down, _ in _DATASETS
]

_START: Final = datetime(2018, 1, 1)
_END: Final = datetime(2024, 12, 31)


def _scene_id(provider: str, dataset: str, area: str, when: datetime) -> str:
    digest = hashlib.sha256(f"{provider}|{dataset}|{area}|{when.isoformat()}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:34]


def _footprint(centre: tuple[float, float], rng: random.Random) -> dict[str, Any]:
    lon, lat = centre
    half_w = rng.uniform(0.05, 0.2)
    half_h = rng.uniform(0.04, 0.15)
    x0, x1 = lon - half_w + rng.uniform(-0.05, 0.05), lon + half_w + rng.uniform(-0.05, 0.05)
    y0, y1 = lat - half_h + rng.uniform(-0.05, 0.05), lat + half_h + rng.uniform(-0.05, 0.05)
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "MultiPolygon", "coordinates": [[[[round(x, 6), round(y, 6)] for x, y in ring]]]}


@functools.cache
def catalogue() -> tuple[dict[str, Any], ...]:
    """Every scene of the world, ordered by datetime (built once, a few thousand small dicts)."""
    rng = random.Random(20150101)
    scenes: list[dict[str, Any]] = []
    for prov, ds, _, kind, gsd, revisit, down, satellite in _DATASETS:
        for area, centre in AREAS.items():
            when = _START + timedelta(days=rng.randrange(revisit), seconds=rng.randrange(86400))
            while when <= _END:
                pixel = gsd / 111_320.0
                scenes.append(
                    {
                        "bands": [
                            {
                                "bitDepth": 16 if kind != "optical-rgb" else 8,
                                "gsd": gsd,
                                "names": [short, long],
                                "pixelSizeX": pixel,
                                "pixelSizeY": -pixel,
                            }
                            for long, short in _BANDS[kind]
                        ],
                        "clippedImagery": prov != "ee",
                        "crsEpsg": 4326,
                        "dataset": ds,
                        "datetime": when.strftime(DATETIME_FORMAT),
                        "downloadable": down,
                        "footprint": _footprint(centre, rng),
                        "foreignId": f"{area}-{when:%Y%m%d%H%M%S}",
                        "minArea": 0.5 if gsd < 1 else 5.5,
                        "offNadir": round(rng.uniform(0, 30), 6) if kind != "sar-grd" else 0.0,
                        "provider": prov,
                        "satellite": satellite,
                        "satelliteAzimuth": round(rng.uniform(0, 360), 3),
                        "sceneId": _scene_id(prov, ds, area, when),
                        "sunAzimuth": round(rng.uniform(0, 360), 6),
                        "sunElevation": round(rng.uniform(10, 80), 6),
                    }
                )
                when += timedelta(days=revisit, seconds=rng.randrange(-3600, 3600))
    scenes.sort(key=lambda s: (s["datetime"], s["sceneId"]))
    return tuple(scenes)


@functools.cache
def _by_id() -> dict[str, dict[str, Any]]:
    return {s["sceneId"]: s for s in catalogue()}


def get_scene(scene_id: str) -> dict[str, Any] | None:
    """The scene with ``scene_id``, or ``None``."""
    return _by_id().get(scene_id)


def scene_bbox(scene: dict[str, Any]) -> tuple[float, float, float, float]:
    """``(min_lon, min_lat, max_lon, max_lat)`` of a scene's footprint."""
    ring = scene["footprint"]["coordinates"][0][0]
    xs = [p[0] for p in ring]
    ys = [p[1] for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def _overlaps(a: Sequence[float], b: Sequence[float]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def search(
    datasets: Iterable[tuple[str, str]],
    *,
    bbox: Sequence[float] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[dict[str, Any]]:
    """Scenes of the given ``(provider, dataset)`` pairs intersecting ``bbox`` within ``[start, end]``."""
    wanted = set(datasets)
    out = []
    for scene in catalogue():
        if (scene["provider"], scene["dataset"]) not in wanted:
            continue
        when = datetime.strptime(scene["datetime"], DATETIME_FORMAT)
        if (start is not None and when < start) or (end is not None and when > end):
            continue
        if bbox is not None and not _overlaps(scene_bbox(scene), bbox):
            continue
        out.append(scene)
    return out
