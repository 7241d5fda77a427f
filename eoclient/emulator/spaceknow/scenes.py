"""The emulated SpaceKnow world: providers, datasets and a deterministic scene catalogue.

Shared by every SpaceKnow family of the emulator (imagery search and scene
info, Kraken releases, credits) so that the scenes one returns are the scenes
the others accept. The catalogue is "the world", independent of the
emulator's seed: the same scene ids every run.

Scenes cluster over a few areas (Prague, Perth, San Francisco, Nairobi), one
every few days per dataset from 2018 to 2024. Besides, the three world-wide
datasets of the reference (Sentinel-5P methane, GSMaP precipitation, VIIRS
monthly night lights: :data:`WORLDWIDE`) have global scenes, kept apart in
:data:`GLOBAL_PROVIDERS` / :func:`global_catalogue` so that :data:`PROVIDERS` and
:func:`catalogue` stay the regional world; :func:`search` and :func:`get_scene`
cover both.

Scenes ingested into one emulator live in that emulator's state
(:func:`ingested`, :func:`add_ingested`): files uploaded to
``/imagery/ingest-scene`` (new scene ids) and world scenes a Kraken release
ingested. :func:`find_scene` looks everywhere; it is how every family resolves
a scene id (unknown ids are 404 ``SCENE-NOT-FOUND``,
:func:`eoclient.emulator.spaceknow.common.scene_not_found`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from eoclient.emulator.core.state import EmulatorState

__all__ = [
    "AREAS",
    "GLOBAL_PROVIDERS",
    "PROVIDERS",
    "SEPARATE_SEARCH",
    "WORLDWIDE",
    "add_ingested",
    "all_providers",
    "catalogue",
    "find_scene",
    "get_scene",
    "global_catalogue",
    "ingested",
    "scene_bbox",
    "search",
]

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


# -- the world-wide datasets --------------------------------------------------------

_CH4: Final = ("ee", "COPERNICUS/S5P/OFFL/L3_CH4")
_GSMAP: Final = ("ee", "JAXA/GPM_L3/GSMaP/v6/operational")
_VIIRS: Final = ("noaa", "VIIRS/Monthly")

WORLDWIDE: Final = frozenset({_CH4, _GSMAP, _VIIRS})
"""``(provider, dataset)`` pairs that may be searched over the whole world (no 400 km limit)."""

SEPARATE_SEARCH: Final = frozenset({_CH4, _GSMAP})
"""Datasets whose search is incompatible with the others: each must be searched alone."""

# provider, dataset, human name, attribution, provider name, gsd (m), days between scenes, bands
_GLOBAL: Final = [
    (
        *_CH4,
        "Sentinel-5P OFFL CH4",
        "Copernicus",
        "Earth Engine",
        1113.2,
        7,
        ["CH4_column_volume_mixing_ratio_dry_air"],
    ),
    (
        *_GSMAP,
        "GSMaP Operational",
        "JAXA",
        "Earth Engine",
        11132.0,
        7,
        ["hourlyPrecipRate", "gaugeQualityInfo"],
    ),
    (*_VIIRS, "VIIRS Monthly Night Lights", "NOAA", "NOAA", 463.8, 0, ["avg_rad", "cf_cvg"]),
]

GLOBAL_PROVIDERS: Final[list[dict[str, Any]]] = [
    {
        "attribution": attribution,
        "changeGroup": f"{prov}_{ds}",
        "clip": "disallowed",
        "dataset": ds,
        "datasetName": name,
        "datasetType": "raster",
        "downloadable": True,
        "exportable": False,
        "maxMbrSide": 40_075_000,
        "provider": prov,
        "providerName": provider_name,
        "requiresSeparateSearch": (prov, ds) in SEPARATE_SEARCH,
        "resolution": [gsd, gsd],
        "thumbnail": False,
    }
    for prov, ds, name, attribution, provider_name, gsd, _, _ in _GLOBAL
]

_WORLD_FOOTPRINT: Final = {
    "type": "MultiPolygon",
    "coordinates": [[[[-180.0, -90.0], [180.0, -90.0], [180.0, 90.0], [-180.0, 90.0], [-180.0, -90.0]]]],
}


def all_providers() -> list[dict[str, Any]]:
    """Every dataset's provider description: the regional ones, then the world-wide ones."""
    return [*PROVIDERS, *GLOBAL_PROVIDERS]


def _months(start: datetime, end: datetime) -> Iterable[datetime]:
    when = start
    while when <= end:
        yield when
        when = when.replace(year=when.year + (when.month == 12), month=when.month % 12 + 1)


@functools.cache
def global_catalogue() -> tuple[dict[str, Any], ...]:
    """Every scene of the world-wide datasets (global footprints), ordered by datetime."""
    scenes: list[dict[str, Any]] = []
    for prov, ds, _, _, _, gsd, every, bands in _GLOBAL:
        if every:
            times: Iterable[datetime] = (
                _START + timedelta(days=d) for d in range(0, (_END - _START).days + 1, every)
            )
        else:
            times = _months(_START, _END)
        pixel = gsd / 111_320.0
        for when in times:
            scenes.append(
                {
                    "bands": [
                        {
                            "bitDepth": 32,
                            "gsd": gsd,
                            "names": [band],
                            "pixelSizeX": pixel,
                            "pixelSizeY": -pixel,
                        }
                        for band in bands
                    ],
                    "clippedImagery": False,
                    "crsEpsg": 4326,
                    "dataset": ds,
                    "datetime": when.strftime(DATETIME_FORMAT),
                    "downloadable": True,
                    "footprint": _WORLD_FOOTPRINT,
                    "foreignId": f"world-{when:%Y%m%d}",
                    "minArea": 0.0,
                    "offNadir": 0.0,
                    "provider": prov,
                    "satellite": {"ee": "S5P" if ds == _CH4[1] else "GPM", "noaa": "SNPP"}[prov],
                    "sceneId": _scene_id(prov, ds, "world", when),
                }
            )
    scenes.sort(key=lambda s: (s["datetime"], s["sceneId"]))
    return tuple(scenes)


@functools.cache
def _by_id() -> dict[str, dict[str, Any]]:
    return {s["sceneId"]: s for s in (*catalogue(), *global_catalogue())}


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
    pool = _everything() if wanted & WORLDWIDE else catalogue()
    # Scene datetimes are whole seconds in a fixed-width format: comparing the text is comparing
    # the instants, and far cheaper than parsing thousands of them per search.
    low = None if start is None else (start + timedelta(microseconds=-start.microsecond % 1_000_000))
    low_text = None if low is None else low.strftime(DATETIME_FORMAT)
    high_text = None if end is None else end.strftime(DATETIME_FORMAT)
    out = []
    for scene in pool:
        if (scene["provider"], scene["dataset"]) not in wanted:
            continue
        when = scene["datetime"]
        if (low_text is not None and when < low_text) or (high_text is not None and when > high_text):
            continue
        if bbox is not None and not _overlaps(scene_bbox(scene), bbox):
            continue
        out.append(scene)
    return out


@functools.cache
def _everything() -> tuple[dict[str, Any], ...]:
    return tuple(sorted((*catalogue(), *global_catalogue()), key=lambda s: (s["datetime"], s["sceneId"])))


# -- scenes ingested into one emulator ----------------------------------------------------


def ingested(state: EmulatorState) -> dict[str, dict[str, Any]]:
    """The scenes ingested into this emulator, by scene id (insertion ordered)."""
    return state.store("sk_scenes.ingested", dict)


def add_ingested(state: EmulatorState, scene: dict[str, Any]) -> bool:
    """Add an ingested scene; ``False`` if a scene with its id was already there (a duplicate)."""
    scenes = ingested(state)
    if scene["sceneId"] in scenes:
        return False
    scenes[scene["sceneId"]] = scene
    return True


def find_scene(scene_id: str, state: EmulatorState | None = None) -> dict[str, Any] | None:
    """The scene with ``scene_id`` in the world or (given ``state``) among this emulator's ingested ones."""
    scene = get_scene(scene_id)
    if scene is None and state is not None:
        scene = ingested(state).get(scene_id)
    return scene
