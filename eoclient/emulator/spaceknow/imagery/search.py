"""Imagery search: ``/imagery/search/initiate``, its body checked, its scenes found and paged.

Scenes are the world's (:mod:`eoclient.emulator.spaceknow.scenes`) and those
ingested into this emulator; a page holds :data:`PAGE_SIZE` scenes and the
integer ``cursor`` of the next page goes into the next initiate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.jobs import Phase
from eoclient.emulator.core.paging import page
from eoclient.emulator.core.refusal import Refusal, json_body
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.spaceknow import scenes as sk_scenes
from eoclient.emulator.spaceknow.accounts import require
from eoclient.emulator.spaceknow.imagery.extent import extent_bounds, mbr_sides_km, overlap
from eoclient.emulator.spaceknow.imagery.store import pop_failure
from eoclient.emulator.spaceknow.pipelines import create_pipeline, initiate_response

__all__ = ["MAX_MBR_SIDE_KM", "PAGE_SIZE", "SCENE_COVERAGE_MBR_SIDE_KM", "SEARCH_FIELDS", "search_initiate"]


PAGE_SIZE: Final = 50


MAX_MBR_SIDE_KM: Final = 400.0


SCENE_COVERAGE_MBR_SIDE_KM: Final = 4000.0


# What the reference lists besides ``datasets`` (table, example, the sceneCoverage note); others are refused.
SEARCH_FIELDS: Final = (
    "extent",
    "startDatetime",
    "endDatetime",
    "cursor",
    "minIntersection",
    "forceRefresh",
    "onlyDownloadable",
    "onlyIngested",
    "sceneCoverage",
)


SEARCH_PHASES: Final = (Phase("NEW", 1.0, "Search queued"), Phase("PROCESSING", 3.0, "Searching imagery"))


def _datetime(body: dict[str, Any], key: str) -> datetime | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Refusal(400, "BAD-REQUEST", f"{key}: must be a string in format YYYY-MM-DD HH:MM:SS")
    try:
        return datetime.strptime(value, sk_scenes.DATETIME_FORMAT)
    except ValueError:
        raise Refusal(400, "BAD-REQUEST", f"{key}: {value!r} is not in format YYYY-MM-DD HH:MM:SS") from None


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise Refusal(400, "BAD-REQUEST", f"{key}: must be a boolean")
    return value


@dataclass
class _Search:
    pairs: list[tuple[str, str]]
    bounds: tuple[float, float, float, float] | None
    start: datetime | None
    end: datetime | None
    min_intersection: float
    only_downloadable: bool
    only_ingested: bool
    cursor: int


def _parse_datasets(body: dict[str, Any]) -> list[tuple[str, str]]:
    datasets = body.get("datasets")
    if not isinstance(datasets, list) or not datasets:
        raise Refusal(400, "BAD-REQUEST", "datasets: a non-empty list of {provider, dataset} is required")
    pairs: list[tuple[str, str]] = []
    known = {(p["provider"], p["dataset"]) for p in sk_scenes.all_providers()}
    for i, item in enumerate(datasets):
        if not isinstance(item, dict):
            raise Refusal(400, "BAD-REQUEST", f"datasets[{i}]: must be an object with provider and dataset")
        provider, dataset = item.get("provider"), item.get("dataset")
        if not isinstance(provider, str) or not isinstance(dataset, str) or not provider or not dataset:
            raise Refusal(
                400, "BAD-REQUEST", f"datasets[{i}]: provider and dataset must be non-empty strings"
            )
        if (provider, dataset) not in known:
            raise Refusal(400, "DATASET-NOT-FOUND", f"dataset {provider} {dataset} does not exist")
        pairs.append((provider, dataset))
    separate = set(pairs) & sk_scenes.SEPARATE_SEARCH
    if separate and len(set(pairs)) > 1:
        names = ", ".join(sorted(f"{p} {d}" for p, d in separate))
        raise Refusal(
            400, "INCOMPATIBLE-DATASETS", f"{names} must be searched separately from other datasets"
        )
    return pairs


def _parse_search(body: dict[str, Any]) -> _Search:
    pairs = _parse_datasets(body)
    start, end = _datetime(body, "startDatetime"), _datetime(body, "endDatetime")
    if start is not None and end is not None and end < start:
        raise Refusal(400, "BAD-REQUEST", "endDatetime: must not be before startDatetime")
    min_intersection = body.get("minIntersection", 0.0)
    if min_intersection is None:
        min_intersection = 0.0
    if isinstance(min_intersection, bool) or not isinstance(min_intersection, int | float):
        raise Refusal(400, "BAD-REQUEST", "minIntersection: must be a number")
    if not 0.0 <= min_intersection <= 1.0:
        raise Refusal(400, "BAD-REQUEST", "minIntersection: must be between 0 and 1")
    cursor = body.get("cursor")
    if cursor is None:
        cursor = 0
    if isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 0:
        raise Refusal(400, "BAD-REQUEST", "cursor: must be a non-negative integer")
    flags = {k: _flag(body, k) for k in ("onlyDownloadable", "onlyIngested", "sceneCoverage", "forceRefresh")}
    worldwide = all(p in sk_scenes.WORLDWIDE for p in pairs)
    bounds: tuple[float, float, float, float] | None = None
    if body.get("extent") is not None:
        bounds = extent_bounds(body["extent"])
    elif not worldwide:
        raise Refusal(400, "BAD-REQUEST", "extent: required unless every dataset may be searched world-wide")
    if bounds is not None and not worldwide:
        limit = SCENE_COVERAGE_MBR_SIDE_KM if flags["sceneCoverage"] else MAX_MBR_SIDE_KM
        width, height = mbr_sides_km(bounds)
        if max(width, height) > limit:
            raise Refusal(
                400,
                "AREA-TOO-LARGE",
                f"search area must be smaller than {limit:g} x {limit:g} km "
                f"(the extent spans {width:.0f} x {height:.0f} km)",
            )
    return _Search(
        pairs=pairs,
        bounds=bounds,
        start=start,
        end=end,
        min_intersection=float(min_intersection),
        only_downloadable=flags["onlyDownloadable"] is True,
        only_ingested=flags["onlyIngested"] is True,
        cursor=cursor,
    )


def _ingested_matches(state: EmulatorState, search: _Search) -> list[dict[str, Any]]:
    wanted = set(search.pairs)
    low = None if search.start is None else search.start.strftime(sk_scenes.DATETIME_FORMAT)
    high = None if search.end is None else search.end.strftime(sk_scenes.DATETIME_FORMAT)
    out = []
    for scene in sk_scenes.ingested(state).values():
        when = scene["datetime"]
        if (scene["provider"], scene["dataset"]) not in wanted:
            continue
        if (low is not None and when < low) or (high is not None and when > high):
            continue
        if search.bounds is not None and overlap(sk_scenes.scene_bbox(scene), search.bounds) is None:
            continue
        out.append(scene)
    return out


def _covers(scene: dict[str, Any], bounds: Sequence[float], fraction: float) -> bool:
    """Whether the scene covers at least ``fraction`` of the extent (measured on rectangles)."""
    common = overlap(sk_scenes.scene_bbox(scene), bounds)
    if common is None:
        return False
    area = (bounds[2] - bounds[0]) * (bounds[3] - bounds[1])
    if area <= 0.0:
        return True
    return (common[2] - common[0]) * (common[3] - common[1]) / area >= fraction


def _results(state: EmulatorState, search: _Search) -> list[dict[str, Any]]:
    scenes = _ingested_matches(state, search)
    if not search.only_ingested:
        bbox = list(search.bounds) if search.bounds is not None else None
        world = sk_scenes.search(search.pairs, bbox=bbox, start=search.start, end=search.end)
        # A world scene released by Kraken is ingested too: listed once.
        scenes = [*world, *(s for s in scenes if sk_scenes.get_scene(s["sceneId"]) is None)]
        scenes.sort(key=lambda s: (s["datetime"], s["sceneId"]))
    if search.only_downloadable:
        scenes = [s for s in scenes if s.get("downloadable")]
    if search.bounds is not None and search.min_intersection > 0.0:
        scenes = [s for s in scenes if _covers(s, search.bounds, search.min_intersection)]
    return scenes


async def search_initiate(request: web.Request) -> web.Response:
    """``POST /imagery/search/initiate``: a search pipeline over one page of scenes."""
    state = get_state(request)
    search = _parse_search(await json_body(request))
    needed = [f"imagery.images.{p}.{d}" for p, d in search.pairs]
    if search.only_ingested:
        needed.append("phoenix.ingested")
    require(request, *needed)
    scenes = _results(state, search)
    window = page(scenes, search.cursor, PAGE_SIZE)
    result = {"results": window.items, "cursor": window.next}
    error = pop_failure(state, "imagery/search")
    job = create_pipeline(state, "imagery/search", result=result, phases=SEARCH_PHASES, error=error)
    return initiate_response(job, state)
