"""SpaceKnow Kraken: analyses released as tiled maps, their cost, scene pairing, and the grid tiles.

Every analysis is a SpaceKnow pipeline: ``await sk.kraken.release(...)`` returns
a :class:`~eoclient.jobs.Job` (await it for the :class:`ReleaseResult`, watch
it, resume it in another process). The map's tiles are files on a web-mercator
grid, fetched one by one with :meth:`Kraken.download_tile` or all at once with
:meth:`Kraken.download_map` (bounded concurrency, atomic files, resumed
transfers, a report of what failed).

Example::

    async with SpaceKnow() as sk:
        job = await sk.kraken.release("trees", [scene_id], extent=aoi)
        released = await job
        report = await sk.kraken.download_map(released, "out/trees")
        report.raise_for_failures()

Paths: ``/kraken/{release,dry-run,pairs,nwise}/{initiate,retrieve}`` (POST),
``/kraken/algorithms`` (POST ``{}``), ``/kraken/map-classes/{map_id}`` and
``/kraken/grid/{map_id}/{geometry_id}/{zoom}/{x}/{y}/{file_name}`` (GET).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import anyio

from eoclient._checks import check_flag, non_negative, optional_text
from eoclient._client import BaseClient
from eoclient._models import from_user
from eoclient._paths import segment
from eoclient.bulk import BulkReport, Download, Downloaded, Failure, download_all, download_file
from eoclient.errors import ValidationError
from eoclient.geo import as_geojson, geometry_bounds
from eoclient.jobs import Job
from eoclient.paging import Page, Paginator
from eoclient.spaceknow.kraken_models import (
    Algorithm,
    AlgorithmDataset,
    ClassInfo,
    DryRun,
    DryRunResult,
    DryRunScene,
    MapClasses,
    NwiseResult,
    PairsResult,
    ReleaseResult,
    ScenePair,
    SegmentationMetadata,
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
    "NwiseResult",
    "PairsResult",
    "ReleaseResult",
    "ScenePair",
    "SegmentationMetadata",
    "detection_filters_text",
]

RELEASE: Final = "/kraken/release"
DRY_RUN: Final = "/kraken/dry-run"
PAIRS: Final = "/kraken/pairs"
NWISE: Final = "/kraken/nwise"
ALGORITHMS_PATH: Final = "/kraken/algorithms"
MAP_CLASSES_PATH: Final = "/kraken/map-classes/{map_id}"
GRID_PATH: Final = "/kraken/grid/{map_id}/{geometry_id}/{zoom}/{x}/{y}/{file_name}"
MAX_ZOOM: Final = 30
GROUPING_TYPES: Final = ("cumulated",)
MIN_NWISE_SCENES: Final = 3
_POLYGONAL: Final = frozenset({"Polygon", "MultiPolygon"})

register_result(f"{RELEASE}/retrieve", ReleaseResult)
register_result(f"{DRY_RUN}/retrieve", DryRunResult)
register_result(f"{PAIRS}/retrieve", PairsResult)
register_result(f"{NWISE}/retrieve", NwiseResult)

FilterLine = str | tuple[str, str, Any]


# -- input checks (everything here runs before a request is sent) ----------------------------------------


def _map_types(value: Any, field: str = "map_types") -> list[str]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, Sequence) or isinstance(names, bytes) or not names:
        raise ValidationError(field, "give at least one map type (e.g. 'imagery', 'aircraft')")
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"{field}[{i}]", f"must be a map type name, got {name!r}")
    return list(names)


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


def _segment(value: Any, field: str) -> str:
    """``value`` checked to be one path segment (it also names a local file): returned unquoted."""
    if isinstance(value, str) and ("/" in value or "\\" in value):
        raise ValidationError(field, f"must be a single path segment, got {value!r}")
    segment(value, field)
    return str(value)


def _tile(zoom: Any, x: Any, y: Any) -> tuple[int, int, int]:
    for name, v in (("zoom", zoom), ("x", x), ("y", y)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValidationError(name, f"must be an integer, got {v!r}")
    if not 0 <= zoom <= MAX_ZOOM:
        raise ValidationError("zoom", f"must be between 0 and {MAX_ZOOM}, got {zoom}")
    side = 2**zoom
    for name, v in (("x", x), ("y", y)):
        if not 0 <= v < side:
            raise ValidationError(name, f"must be in [0, {side - 1}] at zoom {zoom}, got {v}")
    return zoom, x, y


def detection_filters_text(filters: str | Sequence[FilterLine]) -> str:
    """``detection_filters`` as the grid endpoint takes them: one ``property condition value`` per line.

    Accepts the text itself (``"area gt 1000\\nwidth lt 100"``) or a list of
    lines or ``(property, condition, value)`` tuples; every line must have
    exactly three space-separated items.
    """
    lines: list[Any] = filters.splitlines() if isinstance(filters, str) else list(filters)
    out = []
    for i, line in enumerate(lines):
        where = f"detection_filters[{i}]"
        if isinstance(line, tuple):
            if len(line) != 3:
                raise ValidationError(where, f"expected (property, condition, value), got {line!r}")
            items = [str(v) for v in line]
            if any(not item or item.split() != [item] for item in items):
                raise ValidationError(where, f"items must be single words, got {line!r}")
        elif isinstance(line, str):
            if not line.strip():
                continue
            items = line.split()
        else:
            raise ValidationError(where, f"expected a line of text or a 3-tuple, got {line!r}")
        if len(items) != 3:
            raise ValidationError(where, f"expected 'property condition value', got {' '.join(items)!r}")
        out.append(" ".join(items))
    if not out:
        raise ValidationError("detection_filters", "no filter given (use None for none)")
    return "\n".join(out)


def _query_flag(value: Any, field: str) -> str | None:
    """A tile option as the query wants it: ``\"1\"``/``\"0\"`` (``None``: not sent)."""
    if value is None:
        return None
    if value in (True, False, 0, 1):
        return "1" if value else "0"
    raise ValidationError(field, f"must be a bool (or 0/1), got {value!r}")


def _tile_params(
    *,
    user_threshold: float | None,
    download_unclipped: bool | None,
    force_download: bool | None,
    classification: str | None,
    detection_filters: str | Sequence[FilterLine] | None,
) -> dict[str, str]:
    params: dict[str, str] = {}
    if user_threshold is not None:
        if (
            isinstance(user_threshold, bool)
            or not isinstance(user_threshold, int | float)
            or not -1.0 <= user_threshold <= 1.0  # NaN fails this too
        ):
            raise ValidationError("user_threshold", f"must be a number in [-1, 1], got {user_threshold!r}")
        params["user_threshold"] = repr(float(user_threshold))
    for name, value in (("download_unclipped", download_unclipped), ("force_download", force_download)):
        flag = _query_flag(value, name)
        if flag is not None:
            params[name] = flag
    text = optional_text("classification", classification)
    if text is not None:
        params["classification"] = text
    if detection_filters is not None:
        params["detection_filters"] = detection_filters_text(detection_filters)
    return params


def _params_for(file_name: str, params: Mapping[str, str]) -> dict[str, str]:
    """The options that apply to one kind of grid file when a whole map is downloaded."""
    raster = file_name.endswith(".png")
    vector = file_name.endswith(".geojson")
    out = {}
    for key, value in params.items():
        if key == "detection_filters" and not vector:
            continue
        if key in ("user_threshold", "classification") and not raster:
            continue
        out[key] = value
    return out


# -- the family ------------------------------------------------------------------------------------------


class Kraken:
    """SpaceKnow Kraken, reached as ``sk.kraken`` of :class:`~eoclient.SpaceKnow`."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client

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
            "mapTypes": _map_types(map_types),
            "sceneIds": _scene_ids(scene_ids),
            "extent": _extent(extent),
        }
        if sub_geometry is not None:
            body["subGeometry"] = _extent(sub_geometry, "sub_geometry")
        if check_flag("only_ingested", only_ingested) is not None:
            body["onlyIngested"] = only_ingested
        return await initiate(
            self._client,
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
                    "mapTypes": _map_types(run.map_types, f"dry_runs[{i}].mapTypes"),
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
            self._client,
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
            self._client,
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
            self._client,
            f"{NWISE}/initiate",
            body,
            retrieve=f"{NWISE}/retrieve",
            result=NwiseResult,
            idempotent=True,  # groups scenes, creates and charges nothing: retried as a read
            operation="kraken.nwise",
        )

    # listings -------------------------------------------------------------------------------------------

    def algorithms(self) -> Paginator[Algorithm]:
        """The map types this user may run, with datasets, grid files and classes (one page).

        Example::

            files = {a.map_type: a.files for a in await sk.kraken.algorithms().collect()}
        """

        async def fetch(cursor: Any) -> Page[Algorithm]:
            items = await self._client.transport.request_json(
                "POST",
                ALGORITHMS_PATH,
                operation="kraken.algorithms",
                json={},
                idempotent=True,
                type=list[Algorithm],
            )
            return Page(items, None)

        return Paginator(fetch)

    async def map_classes(self, map_id: str) -> MapClasses:
        """Classes and colours the algorithm of map ``map_id`` used."""
        path = MAP_CLASSES_PATH.format(map_id=segment(_segment(map_id, "map_id"), "map_id"))
        result: MapClasses = await self._client.transport.request_json(
            "GET", path, operation="kraken.map-classes", type=MapClasses
        )
        return result

    # grid tiles -----------------------------------------------------------------------------------------

    @staticmethod
    def tile_path(  # noqa: PLR0917 - the URL's own order
        map_id: str, geometry_id: str, zoom: int, x: int, y: int, file_name: str
    ) -> str:
        """The grid path of one file of one tile (checked, quoted)."""
        zoom, x, y = _tile(zoom, x, y)
        return GRID_PATH.format(
            map_id=segment(_segment(map_id, "map_id"), "map_id"),
            geometry_id=segment(_segment(geometry_id, "geometry_id"), "geometry_id"),
            zoom=zoom,
            x=x,
            y=y,
            file_name=segment(_segment(file_name, "file_name"), "file_name"),
        )

    async def download_tile(  # noqa: PLR0917 - the URL's own order
        self,
        map_id: str,
        geometry_id: str,
        zoom: int,
        x: int,
        y: int,
        file_name: str,
        dest: str | os.PathLike[str],
        *,
        user_threshold: float | None = None,
        download_unclipped: bool | None = None,
        force_download: bool | None = None,
        classification: str | None = None,
        detection_filters: str | Sequence[FilterLine] | None = None,
    ) -> Downloaded:
        """Download one grid file of one tile to ``dest`` (a file path, or a directory to put it in).

        Streamed to disk through a ``.part`` file renamed when complete; a
        connection lost mid-body is resumed with ``Range``. ``geometry_id`` is
        ``"-"`` or the release's ``sub_geometry_id``; ``user_threshold`` in
        [-1, 1] binarises pixel-index maps; ``detection_filters`` (lines of
        ``property condition value``, e.g. ``"area gt 1000"``) filter vector
        files.

        Example::

            got = await sk.kraken.download_tile(m.map_id, "-", *m.tiles[0], "trees.png", "out/")
        """
        path = self.tile_path(map_id, geometry_id, zoom, x, y, file_name)
        params = _tile_params(
            user_threshold=user_threshold,
            download_unclipped=download_unclipped,
            force_download=force_download,
            classification=classification,
            detection_filters=detection_filters,
        )
        target = Path(dest)
        if await anyio.to_thread.run_sync(target.is_dir):
            target = target / file_name
        return await download_file(
            self._client.transport, path, target, operation="kraken.grid", params=params or None
        )

    async def grid_files(self, map_types: str | Sequence[str]) -> list[str]:
        """Every grid file name the given map types offer (from :meth:`algorithms`)."""
        names = _map_types(map_types)
        known = {a.map_type: a for a in await self.algorithms().collect()}
        files: list[str] = []
        for name in names:
            if name not in known:
                raise ValidationError("map_types", f"{name!r} is not among this user's algorithms")
            files.extend(f for f in known[name].files if f not in files)
        return files

    async def download_map(
        self,
        release: ReleaseResult | Mapping[str, Any],
        dest_dir: str | os.PathLike[str],
        files: str | Sequence[str] | None = None,
        concurrency: int = 16,
        *,
        map_types: str | Sequence[str] | None = None,
        user_threshold: float | None = None,
        download_unclipped: bool | None = None,
        force_download: bool | None = None,
        classification: str | None = None,
        detection_filters: str | Sequence[FilterLine] | None = None,
        overwrite: bool = False,
        limiter: anyio.CapacityLimiter | None = None,
        on_item: Callable[[Downloaded | Failure], object] | None = None,
    ) -> BulkReport:
        """Download every listed tile and file of a released map into ``dest_dir/<zoom>/<x>/<y>/<file>``.

        ``files=None`` takes every grid file of ``map_types`` (default: the map's
        own type as :meth:`map_classes` reports it; pass ``map_types`` for a
        release of several types). At most ``concurrency`` transfers run at a
        time; files already complete on disk are skipped unless ``overwrite``.
        A tile that keeps failing is reported in :attr:`BulkReport.failures`
        with its typed error while the rest completes; cancelling leaves no
        partial file. ``user_threshold`` and ``classification`` go with the PNG
        files, ``detection_filters`` with the GeoJSON ones.

        Example::

            report = await sk.kraken.download_map(released, "out/map", files=["trees.png"])
            print(report.bytes, [f.item.source for f in report.failures])
        """
        result = from_user(release, ReleaseResult, field="release")
        if isinstance(files, str):
            files = [files]
        if files is not None and (not isinstance(files, Sequence) or not files):
            raise ValidationError("files", "must name at least one grid file (or be None for all)")
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValidationError("concurrency", "must be a positive integer")
        names = [_segment(f, f"files[{i}]") for i, f in enumerate(files)] if files is not None else None
        params = _tile_params(
            user_threshold=user_threshold,
            download_unclipped=download_unclipped,
            force_download=force_download,
            classification=classification,
            detection_filters=detection_filters,
        )
        geometry_id = _segment(result.geometry_id, "release.subGeometryId")
        tiles = [_tile(*t) for t in result.tiles]
        if names is None:
            types = map_types if map_types is not None else (await self.map_classes(result.map_id)).map_type
            if types is None:
                raise ValidationError("map_types", "the service did not say the map's type; pass map_types")
            names = await self.grid_files(types)
        root = Path(dest_dir)

        def items() -> Iterator[Download]:
            assert names is not None
            for zoom, x, y in tiles:
                for name in names:
                    yield Download(
                        self.tile_path(result.map_id, geometry_id, zoom, x, y, name),
                        root / str(zoom) / str(x) / str(y) / name,
                        _params_for(name, params) or None,
                        "kraken.grid",
                    )

        return await download_all(
            self._client.transport,
            items(),
            concurrency=concurrency,
            limiter=limiter,
            overwrite=overwrite,
            on_item=on_item,
        )
