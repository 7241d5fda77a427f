"""Kraken maps once released: the algorithms' grid files, map classes, and the tiles on disk.

:class:`KrakenGrid` is the half of :class:`eoclient.spaceknow.kraken.Kraken`
that reads what a release produced: ``tiles`` (an async iterator of the map's
tiles and their grid files), ``tile_path`` / ``download_tile`` for one file of
one tile, ``download_map_each`` (each file as it completes) and
``download_map`` (a report at the end) for every tile and file at once
(through :mod:`eoclient.bulk`: bounded concurrency, atomic files, resumed
transfers, skipped when complete), and the listings they need
(``algorithms``, ``grid_files``, ``map_classes``). The pipelines that produce
maps are in ``kraken.py``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import anyio

from eoclient._checks import optional_text
from eoclient._context import ServiceContext
from eoclient._models import from_user
from eoclient._paths import segment
from eoclient.bulk import BulkReport, Download, Downloaded, Failure, download_each, download_file
from eoclient.errors import ValidationError
from eoclient.paging import NoCursor, Page, Paginator
from eoclient.spaceknow.kraken_models import Algorithm, MapClasses, MapTile, ReleaseResult, TileFile

__all__ = [
    "ALGORITHMS_PATH",
    "GRID_PATH",
    "MAP_CLASSES_PATH",
    "MAX_ZOOM",
    "FilterLine",
    "KrakenGrid",
    "detection_filters_text",
    "file_params",
    "tile_params",
]

ALGORITHMS_PATH: Final = "/kraken/algorithms"
MAP_CLASSES_PATH: Final = "/kraken/map-classes/{map_id}"
GRID_PATH: Final = "/kraken/grid/{map_id}/{geometry_id}/{zoom}/{x}/{y}/{file_name}"
MAX_ZOOM: Final = 30

FilterLine = str | tuple[str, str, Any]


def check_map_types(value: Any, field: str = "map_types") -> list[str]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, Sequence) or isinstance(names, bytes) or not names:
        raise ValidationError(field, "give at least one map type (e.g. 'imagery', 'aircraft')")
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"{field}[{i}]", f"must be a map type name, got {name!r}")
    return list(names)


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


def tile_params(
    *,
    user_threshold: float | None,
    download_unclipped: bool | None,
    force_download: bool | None,
    classification: str | None,
    detection_filters: str | Sequence[FilterLine] | None,
) -> dict[str, str]:
    """The grid-file options of a whole map, checked (a ValidationError names the option), as query text."""
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


def _file_names(files: str | Sequence[str] | None) -> list[str] | None:
    if isinstance(files, str):
        files = [files]
    if files is not None and (isinstance(files, bytes) or not isinstance(files, Sequence) or not files):
        raise ValidationError("files", "must name at least one grid file (or be None for all)")
    return [_segment(f, f"files[{i}]") for i, f in enumerate(files)] if files is not None else None


@dataclass(frozen=True)
class _MapPlan:
    """A released map's tiles and the files asked for, checked before anything is sent."""

    result: ReleaseResult
    geometry_id: str
    tiles: list[tuple[int, int, int]]
    names: list[str] | None  # None: every grid file of the map's types (looked up when iterated)
    map_types: str | Sequence[str] | None


def file_params(file_name: str, params: Mapping[str, str]) -> dict[str, str]:
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


class KrakenGrid:
    """Grid files of released maps (the base of :class:`~eoclient.spaceknow.kraken.Kraken`)."""

    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self._ctx = ctx

    # listings -------------------------------------------------------------------------------------------

    def algorithms(self) -> Paginator[Algorithm, NoCursor]:
        """The map types this user may run, with datasets, grid files and classes (one page).

        Example::

            files = {a.map_type: a.files for a in await sk.kraken.algorithms().collect()}
        """

        async def fetch(cursor: NoCursor | None) -> Page[Algorithm, NoCursor]:
            items = await self._ctx.transport.request_json(
                "POST",
                ALGORITHMS_PATH,
                operation="kraken.algorithms",
                json={},
                idempotent=True,
                type=list[Algorithm],
            )
            return Page(items, None)

        return Paginator(fetch, cursor_kind=NoCursor)

    async def map_classes(self, map_id: str) -> MapClasses:
        """Classes and colours the algorithm of map ``map_id`` used."""
        path = MAP_CLASSES_PATH.format(map_id=segment(_segment(map_id, "map_id"), "map_id"))
        result: MapClasses = await self._ctx.transport.request_json(
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
        params = tile_params(
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
            self._ctx.transport, path, target, operation="kraken.grid", params=params or None
        )

    async def grid_files(self, map_types: str | Sequence[str]) -> list[str]:
        """Every grid file name the given map types offer (from :meth:`algorithms`)."""
        names = check_map_types(map_types)
        known = {a.map_type: a for a in await self.algorithms().collect()}
        files: list[str] = []
        for name in names:
            if name not in known:
                raise ValidationError("map_types", f"{name!r} is not among this user's algorithms")
            files.extend(f for f in known[name].files if f not in files)
        return files

    # the released map's tiles ---------------------------------------------------------------------------

    def _plan(
        self,
        release: ReleaseResult | Mapping[str, Any],
        files: str | Sequence[str] | None,
        map_types: str | Sequence[str] | None,
    ) -> _MapPlan:
        result = from_user(release, ReleaseResult, field="release")
        names = _file_names(files)
        if map_types is not None:
            check_map_types(map_types)
        geometry_id = _segment(result.geometry_id, "release.subGeometryId")
        tiles = list(dict.fromkeys(_tile(*t) for t in result.tiles))  # release order, each tile once
        return _MapPlan(result, geometry_id, tiles, names, map_types)

    async def _tiles_of(self, plan: _MapPlan) -> AsyncIterator[MapTile]:
        names = plan.names
        if names is None:
            types = plan.map_types
            if types is None:
                types = (await self.map_classes(plan.result.map_id)).map_type
            if types is None:
                raise ValidationError("map_types", "the service did not say the map's type; pass map_types")
            names = await self.grid_files(types)
        url = self._ctx.transport.url
        map_id = plan.result.map_id
        for zoom, x, y in plan.tiles:
            paths = {name: self.tile_path(map_id, plan.geometry_id, zoom, x, y, name) for name in names}
            yield MapTile(
                map_id, plan.geometry_id, zoom, x, y, paths, {name: url(p) for name, p in paths.items()}
            )

    def tiles(
        self,
        release: ReleaseResult | Mapping[str, Any],
        files: str | Sequence[str] | None = None,
        *,
        map_types: str | Sequence[str] | None = None,
    ) -> AsyncIterator[MapTile]:
        """The released map's tiles, in the release's order, each with its grid files' paths and URLs.

        Computed from the release itself: no request per tile. ``files=None``
        takes every grid file of ``map_types`` (default: the map's own type,
        from :meth:`map_classes`; pass ``map_types`` for a release of several
        types), which costs one or two requests when iteration starts. The
        arguments are checked now.

        Example::

            async for tile in sk.kraken.tiles(released, ["trees.png"]):
                print(tile.zoom, tile.x, tile.y, tile.urls["trees.png"])
        """
        return self._tiles_of(self._plan(release, files, map_types))

    # whole maps -----------------------------------------------------------------------------------------

    def download_map_each(
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
    ) -> AsyncGenerator[TileFile, None]:
        """Download a released map into ``dest_dir/<zoom>/<x>/<y>/<file>``; yield each file as it completes.

        Every outcome is a :class:`TileFile`: the tile, the file name, the
        path and bytes, ``skipped`` when it was already complete on disk
        (unless ``overwrite``), or ``error`` with the typed exception of a file
        that kept failing (the rest go on). At most ``concurrency`` transfers
        run at a time (``limiter`` shares a bound between several calls);
        each is streamed to a ``.part`` file renamed when complete and its
        size checked, and a connection lost mid-body is resumed with ``Range``.
        Tiles are read lazily from :meth:`tiles`, so files start as soon as
        the first tile is known. See :meth:`download_map` for the options.

        Leaving the loop early (or cancelling) stops the transfers still
        running and leaves no partial file; wrap the call in
        ``contextlib.aclosing`` so that happens at once::

            async with aclosing(sk.kraken.download_map_each(released, "out/map")) as files:
                async for got in files:
                    print(got.tile.tile, got.name, got.bytes if got.ok else got.error)
        """
        plan = self._plan(release, files, map_types)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValidationError("concurrency", "must be a positive integer")
        params = tile_params(
            user_threshold=user_threshold,
            download_unclipped=download_unclipped,
            force_download=force_download,
            classification=classification,
            detection_filters=detection_filters,
        )
        return self._download_each(plan, Path(dest_dir), params, concurrency, limiter, overwrite)

    async def _download_each(  # noqa: PLR0917 - private, called from one place
        self,
        plan: _MapPlan,
        root: Path,
        params: Mapping[str, str],
        concurrency: int,
        limiter: anyio.CapacityLimiter | None,
        overwrite: bool,
    ) -> AsyncGenerator[TileFile, None]:
        # The engine reports by destination; the tile of each file in flight is found by it.
        in_flight: dict[Path, tuple[MapTile, str]] = {}

        async def items() -> AsyncIterator[Download]:
            async for tile in self._tiles_of(plan):
                for name, path in tile.paths.items():
                    dest = root / str(tile.zoom) / str(tile.x) / str(tile.y) / name
                    in_flight[dest] = (tile, name)
                    yield Download(path, dest, file_params(name, params) or None, "kraken.grid")

        each = download_each(
            self._ctx.transport,
            items(),
            concurrency=concurrency,
            limiter=limiter,
            overwrite=overwrite,
        )
        async with aclosing(each) as outcomes:
            async for outcome in outcomes:
                dest = outcome.item.dest if isinstance(outcome, Failure) else outcome.path
                tile, name = in_flight.pop(dest)
                yield TileFile(tile, name, outcome)

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

        :meth:`download_map_each` run to the end, into a report. ``files=None``
        takes every grid file of ``map_types`` (default: the map's own type as
        :meth:`map_classes` reports it; pass ``map_types`` for a release of
        several types). At most ``concurrency`` transfers run at a time; files
        already complete on disk are skipped unless ``overwrite``. A tile that
        keeps failing is reported in :attr:`BulkReport.failures` with its typed
        error while the rest completes; cancelling leaves no partial file.
        ``user_threshold`` and ``classification`` go with the PNG files,
        ``detection_filters`` with the GeoJSON ones. ``on_item`` is called with
        each :class:`~eoclient.bulk.Downloaded` or :class:`~eoclient.bulk.Failure`.

        Example::

            report = await sk.kraken.download_map(released, "out/map", files=["trees.png"])
            print(report.bytes, [f.item.source for f in report.failures])
        """
        each = self.download_map_each(
            release,
            dest_dir,
            files,
            concurrency,
            map_types=map_types,
            user_threshold=user_threshold,
            download_unclipped=download_unclipped,
            force_download=force_download,
            classification=classification,
            detection_filters=detection_filters,
            overwrite=overwrite,
            limiter=limiter,
        )
        report = BulkReport()
        async with aclosing(each) as done:
            async for got in done:
                if isinstance(got.outcome, Failure):
                    report.failures.append(got.outcome)
                else:
                    report.files.append(got.outcome)
                if on_item is not None:
                    on_item(got.outcome)
        return report
