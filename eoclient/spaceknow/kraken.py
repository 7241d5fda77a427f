"""SpaceKnow Kraken: analyses released as tiled maps, their cost, scene pairing, and the grid tiles.

Every analysis is a SpaceKnow pipeline: ``await sk.kraken.release(...)`` returns
a :class:`~eoclient.jobs.Job` (await it for the :class:`ReleaseResult`, watch
it, resume it in another process). The map's tiles are files on a web-mercator
grid: :meth:`Kraken.tiles` iterates them (with each grid file's path and URL),
:meth:`Kraken.download_tile` fetches one file, :meth:`Kraken.download_map_each`
all of them, yielding each file as it completes, and :meth:`Kraken.download_map`
the same with a report at the end (bounded concurrency, atomic files, resumed
transfers, complete files skipped on a rerun).

Example::

    async with SpaceKnow() as sk:
        job = await sk.kraken.release("trees", [scene_id], extent=aoi)
        released = await job
        async with aclosing(sk.kraken.download_map_each(released, "out/trees")) as files:
            async for got in files:
                print(got.tile.tile, got.name, got.bytes if got.ok else got.error)

Paths: ``/kraken/{release,dry-run,pairs,nwise}/{initiate,retrieve}`` (POST),
``/kraken/algorithms`` (POST ``{}``), ``/kraken/map-classes/{map_id}`` and
``/kraken/grid/{map_id}/{geometry_id}/{zoom}/{x}/{y}/{file_name}`` (GET).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from eoclient._checks import check_flag, non_negative, optional_text
from eoclient._models import from_user
from eoclient.errors import ValidationError
from eoclient.geo import as_geojson, geometry_bounds
from eoclient.jobs import Job
from eoclient.spaceknow.kraken_grid import (
    KrakenGrid,
    check_map_types,
    detection_filters_text,
)
from eoclient.spaceknow.kraken_models import (
    Algorithm,
    AlgorithmDataset,
    ClassInfo,
    DryRun,
    DryRunResult,
    DryRunScene,
    MapClasses,
    MapTile,
    NwiseResult,
    PairsResult,
    ReleaseResult,
    ScenePair,
    SegmentationMetadata,
    TileFile,
)
from eoclient.spaceknow.pipelines import initiate, register_result

__all__ = [
    "Algorithm",
    "AlgorithmDataset",
    "ClassInfo",
    "DryRun",
    "DryRunResult",
    "DryRunScene",
    "Kraken",
    "MapClasses",
    "MapTile",
    "NwiseResult",
    "PairsResult",
    "ReleaseResult",
    "ScenePair",
    "SegmentationMetadata",
    "TileFile",
    "detection_filters_text",
]

RELEASE: Final = "/kraken/release"
DRY_RUN: Final = "/kraken/dry-run"
PAIRS: Final = "/kraken/pairs"
NWISE: Final = "/kraken/nwise"
GROUPING_TYPES: Final = ("cumulated",)
MIN_NWISE_SCENES: Final = 3
_POLYGONAL: Final = frozenset({"Polygon", "MultiPolygon"})

register_result(f"{RELEASE}/retrieve", ReleaseResult)
register_result(f"{DRY_RUN}/retrieve", DryRunResult)
register_result(f"{PAIRS}/retrieve", PairsResult)
register_result(f"{NWISE}/retrieve", NwiseResult)


# -- input checks (everything here runs before a request is sent) ----------------------------------------


def _scene_id(value: Any, field: str) -> str:
    """A scene id from a string, a search result dict (``sceneId``) or a model (``scene_id``)."""
    if isinstance(value, Mapping):
        value = value.get("sceneId")
    elif not isinstance(value, str):
        value = getattr(value, "scene_id", value)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, f"must be a scene id, got {value!r}")
    return value


def _scene_ids(value: Any, field: str = "scene_ids", *, minimum: int = 1) -> list[str]:
    items = [value] if isinstance(value, str | Mapping) else value
    if not isinstance(items, Sequence) or isinstance(items, bytes):
        raise ValidationError(field, "must be a list of scene ids")
    if len(items) < minimum:
        need = "must not be empty" if minimum == 1 else f"needs at least {minimum} scenes, got {len(items)}"
        raise ValidationError(field, need)
    return [_scene_id(item, f"{field}[{i}]") for i, item in enumerate(items)]


def _extent(value: Any, field: str = "extent") -> dict[str, Any]:
    """A polygonal GeoJSON geometry in WGS84 longitude/latitude."""
    geometry = as_geojson(value, field=field)
    parts = geometry.get("geometries", []) if geometry["type"] == "GeometryCollection" else [geometry]
    for part in parts:
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind not in _POLYGONAL:
            raise ValidationError(
                field, f"must be a Polygon or MultiPolygon (or a collection of them), not {kind}"
            )
    if not parts:
        raise ValidationError(field, "an empty GeometryCollection covers no area")
    west, south, east, north = geometry_bounds(geometry)
    if west < -180 or east > 180 or south < -90 or north > 90:
        raise ValidationError(field, "coordinates must be WGS84 longitude/latitude")
    if west == east or south == north:
        raise ValidationError(field, "covers no area")
    return geometry


# -- the family ------------------------------------------------------------------------------------------


class Kraken(KrakenGrid):
    """SpaceKnow Kraken, reached as ``sk.kraken`` of :class:`~eoclient.SpaceKnow`.

    The pipelines that analyse scenes and release maps are here; reading a
    released map's tiles (``tiles``, ``download_tile``, ``download_map_each``,
    ``download_map``, ``algorithms``, ``map_classes``) comes from
    :class:`~eoclient.spaceknow.kraken_grid.KrakenGrid`.
    """

    # pipelines ------------------------------------------------------------------------------------------

    async def release(
        self,
        map_types: str | Sequence[str],
        scene_ids: Any,
        extent: Any,
        *,
        sub_geometry: Any = None,
        only_ingested: bool | None = None,
    ) -> Job[ReleaseResult]:
        """Run analyses (``map_types``) over ``extent`` in the given scenes; a job of the released map.

        ``scene_ids``: one scene for single-scene map types, ``[old, new]`` for
        change (pairwise) types (e.g. ``pair.scene_ids`` from :meth:`pairs`), a
        group from :meth:`nwise` for n-wise types; ids, or search results
        carrying ``sceneId``. ``extent`` / ``sub_geometry``: GeoJSON polygons in
        WGS84 (dicts or objects with ``__geo_interface__``); ``extent`` must
        meet every scene's footprint.

        A release starts an analysis, which may spend credits, so it is never
        sent twice: if its answer is lost (connection dropped after sending,
        read timeout, 500/502/503/504) :class:`~eoclient.errors.OutcomeUnknownError`
        is raised — SpaceKnow lists no pipelines — saying to check
        ``sk.credits.transactions()`` before releasing again.

        Example::

            job = await sk.kraken.release(["imagery", "aircraft"], [scene_id], extent=aoi)
            released = await job
            print(released.map_id, len(released.tiles))
        """
        body: dict[str, Any] = {
            "mapTypes": check_map_types(map_types),
            "sceneIds": _scene_ids(scene_ids),
            "extent": _extent(extent),
        }
        if sub_geometry is not None:
            body["subGeometry"] = _extent(sub_geometry, "sub_geometry")
        if check_flag("only_ingested", only_ingested) is not None:
            body["onlyIngested"] = only_ingested
        return await initiate(
            self._ctx,
            f"{RELEASE}/initiate",
            body,
            retrieve=f"{RELEASE}/retrieve",
            result=ReleaseResult,
            operation="kraken.release",
            how_to_find=(
                "SpaceKnow lists no pipelines, so the release cannot be looked up and its map id is lost; "
                "it may have run and spent credits: check sk.credits.transactions() for a new "
                "transaction of these scenes before releasing again"
            ),
        )

    async def dry_run(
        self,
        dry_runs: DryRun | Mapping[str, Any] | Sequence[DryRun | Mapping[str, Any]],
        extent: Any,
        *,
        allocate: bool | None = None,
        ignore_cache: bool | None = None,
        only_ingested: bool | None = None,
    ) -> Job[DryRunResult]:
        """Size and cost of analyses before running them; a job of the :class:`DryRunResult`.

        ``dry_runs``: :class:`DryRun` entries or docs-style dicts
        ``{"mapTypes": [...], "scenes": [[scene_id], ...]}``. With
        ``allocate=True`` the area is allocated (credits are spent).

        Without ``allocate`` a dry run only reads (sizes and prices), so a
        lost answer is simply retried. With ``allocate=True`` it is never sent
        twice: a lost answer raises :class:`~eoclient.errors.OutcomeUnknownError`
        saying to check ``sk.credits.transactions()`` (a ``credit.allocate``
        for these scenes) or ``sk.credits.check_area(...)`` (an allocated area
        costs nothing more).

        Example::

            cost = await (await sk.kraken.dry_run([DryRun(map_types=["aircraft"], scenes=[[sid]])], aoi))
        """
        entries = [dry_runs] if isinstance(dry_runs, DryRun | Mapping) else dry_runs
        if not isinstance(entries, Sequence) or not entries:
            raise ValidationError("dry_runs", "give at least one dry run")
        wire_runs = []
        for i, entry in enumerate(entries):
            run = from_user(entry, DryRun, field=f"dry_runs[{i}]")
            groups = run.scenes
            if not groups:
                raise ValidationError(f"dry_runs[{i}].scenes", "must not be empty")
            wire_runs.append(
                {
                    "mapTypes": check_map_types(run.map_types, f"dry_runs[{i}].mapTypes"),
                    "scenes": [_scene_ids(g, f"dry_runs[{i}].scenes[{j}]") for j, g in enumerate(groups)],
                }
            )
        body: dict[str, Any] = {"dryRuns": wire_runs, "extent": _extent(extent)}
        for key, name, value in (
            ("allocate", "allocate", allocate),
            ("ignoreCache", "ignore_cache", ignore_cache),
            ("onlyIngested", "only_ingested", only_ingested),
        ):
            if check_flag(name, value) is not None:
                body[key] = value
        return await initiate(
            self._ctx,
            f"{DRY_RUN}/initiate",
            body,
            retrieve=f"{DRY_RUN}/retrieve",
            result=DryRunResult,
            operation="kraken.dry-run",
            # Without allocate it only sizes and prices: a second pipeline costs nothing.
            idempotent=not allocate,
            how_to_find=(
                "SpaceKnow lists no pipelines, so the dry run cannot be looked up; with allocate=True "
                "it may have allocated the area: check sk.credits.transactions() for a credit.allocate "
                "of these scenes, or sk.credits.check_area(...) (an allocated area costs 0 more), "
                "before sending it again"
            ),
        )

    async def pairs(
        self,
        scene_ids: Any,
        extent: Any,
        *,
        pairing_type: str | None = None,
        periodicity: str | None = None,
        min_intersection: float | None = None,
        min_day_delta: float | None = None,
        max_day_delta: float | None = None,
        only_top_orbit_number: bool | None = None,
        max_yoy_delta: float | None = None,
    ) -> Job[PairsResult]:
        """Pair scenes for pairwise (change) map types; a job of the :class:`PairsResult`.

        ``periodicity`` (e.g. ``"daily"``) generates time slots; ``pairing_type``
        chooses how scenes pair (``"yoy"`` for year over year, tuned by
        ``max_yoy_delta`` days); ``min_intersection`` is in km²; the day deltas
        and ``only_top_orbit_number`` are SAR specific.

        Example::

            pairs = await (await sk.kraken.pairs(scene_ids, aoi, periodicity="monthly"))
            jobs = [await sk.kraken.release("change", p.scene_ids, aoi) for p in pairs.pairwise]
        """
        body: dict[str, Any] = {"sceneIds": _scene_ids(scene_ids), "extent": _extent(extent)}
        options = {
            "pairingType": optional_text("pairing_type", pairing_type),
            "periodicity": optional_text("periodicity", periodicity),
            "minIntersection": non_negative("min_intersection", min_intersection),
            "minDayDelta": non_negative("min_day_delta", min_day_delta),
            "maxDayDelta": non_negative("max_day_delta", max_day_delta),
            "maxYoyDelta": non_negative("max_yoy_delta", max_yoy_delta),
        }
        low, high = options["minDayDelta"], options["maxDayDelta"]
        if isinstance(low, float) and isinstance(high, float) and high < low:
            raise ValidationError("max_day_delta", f"must not be less than min_day_delta ({low})")
        body.update({k: v for k, v in options.items() if v is not None})
        if check_flag("only_top_orbit_number", only_top_orbit_number) is not None:
            body["onlyTopOrbitNumber"] = only_top_orbit_number
        return await initiate(
            self._ctx,
            f"{PAIRS}/initiate",
            body,
            retrieve=f"{PAIRS}/retrieve",
            result=PairsResult,
            operation="kraken.pairs",
            idempotent=True,  # groups scenes, creates and charges nothing: retried as a read
        )

    async def nwise(
        self,
        scene_ids: Any,
        extent: Any,
        *,
        grouping_type: str = "cumulated",
        min_scenes: int | None = None,
    ) -> Job[NwiseResult]:
        """Group at least three scenes for n-wise map types; a job of the :class:`NwiseResult`.

        The pipeline fails with ``SCENES-WITH-SAME-DATETIME`` when two scenes of
        one orbit share a datetime: deduplicate on datetime first.

        Example::

            groups = await (await sk.kraken.nwise(scene_ids, aoi, min_scenes=4))
        """
        ids = _scene_ids(scene_ids, minimum=MIN_NWISE_SCENES)
        if grouping_type not in GROUPING_TYPES:
            raise ValidationError("grouping_type", f"must be one of {', '.join(GROUPING_TYPES)}")
        body: dict[str, Any] = {"groupingType": grouping_type, "sceneIds": ids, "extent": _extent(extent)}
        if min_scenes is not None:
            if (
                isinstance(min_scenes, bool)
                or not isinstance(min_scenes, int)
                or min_scenes < MIN_NWISE_SCENES
            ):
                raise ValidationError("min_scenes", f"must be an integer >= {MIN_NWISE_SCENES}")
            body["minScenes"] = min_scenes
        return await initiate(
            self._ctx,
            f"{NWISE}/initiate",
            body,
            retrieve=f"{NWISE}/retrieve",
            result=NwiseResult,
            idempotent=True,  # groups scenes, creates and charges nothing: retried as a read
            operation="kraken.nwise",
        )
