"""SpaceKnow Imagery (Ragnar): search scenes, export images, scene info, providers, ingest.

Search and get-image are SpaceKnow pipelines (initiate → ``/tasking/get-status``
→ retrieve) driven by :class:`~eoclient.jobs.Job`. A search answers one page
at a time and its ``cursor`` goes into a *new* initiate call, so
:meth:`Imagery.search` is a :class:`~eoclient.paging.Paginator` whose every
page is a whole pipeline, run only when the page is needed.

Input the reference rules out is refused before anything is sent
(:class:`~eoclient.errors.ValidationError` naming the field): no datasets,
malformed datasets, the two world-wide datasets that must be searched alone
mixed with others, datetimes that are not datetimes or end before they
start, ``min_intersection`` outside [0, 1], a missing extent, a search area
whose minimum bounding rectangle has a side over 400 km (4000 km with
``scene_coverage``; the world-wide datasets have no limit).

Example::

    async with SpaceKnow() as sk:
        scenes = sk.imagery.search(
            [("gbdx", "idaho-pansharpened")],
            extent=aoi,                      # GeoJSON or anything with __geo_interface__
            start_datetime="2023-01-01",
            end_datetime=datetime(2023, 6, 30, tzinfo=UTC),
        )
        async for scene in scenes:
            print(scene.scene_id, scene.datetime, scene.band_names)
        image = await (await sk.imagery.get_image(scene_id, aoi))
        got = await sk.imagery.download_image(image, "out/")   # the exported GeoTIFF, streamed
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import IO, Any, Final
from urllib.parse import urlsplit

import anyio
import anyio.to_thread

from eoclient._checks import check_flag
from eoclient._context import ServiceContext
from eoclient._http.retry import RetryPolicy
from eoclient._models import from_user
from eoclient._redact import register_secret
from eoclient.bulk import Downloaded, download_file
from eoclient.errors import ValidationError
from eoclient.geo import as_geojson, geometry_bounds
from eoclient.jobs import Job
from eoclient.paging import Page, Paginator, SceneCursor
from eoclient.spaceknow.imagery_models import (
    Band,
    Dataset,
    GetImageResult,
    ImageMeta,
    IngestedScene,
    IngestResult,
    Provider,
    Scene,
    SearchResults,
)
from eoclient.spaceknow.pipelines import initiate, register_result
from eoclient.spaceknow.uploads import upload_body

__all__ = [
    "DATETIME_FORMAT",
    "GET_IMAGE_RETRIEVE",
    "MAX_MBR_SIDE_KM",
    "SCENE_COVERAGE_MBR_SIDE_KM",
    "SEARCH_RETRIEVE",
    "SEPARATE_SEARCH_DATASETS",
    "WORLDWIDE_DATASETS",
    "Band",
    "Dataset",
    "GetImageResult",
    "ImageMeta",
    "Imagery",
    "IngestResult",
    "IngestedScene",
    "Provider",
    "Scene",
    "SearchResults",
    "format_datetime",
    "mbr_sides_km",
    "parse_datasets",
    "search_request",
]

SEARCH_INITIATE: Final = "/imagery/search/initiate"
SEARCH_RETRIEVE: Final = "/imagery/search/retrieve"
GET_IMAGE_INITIATE: Final = "/imagery/get-image/initiate"
GET_IMAGE_RETRIEVE: Final = "/imagery/get-image/retrieve"
SCENE_INFO_PATH: Final = "/imagery/scene-info"
PROVIDERS_PATH: Final = "/imagery/providers"
INGEST_PATH: Final = "/imagery/ingest-scene"

DATETIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
"""SpaceKnow's UTC datetime format on the wire."""

MAX_MBR_SIDE_KM: Final = 400.0
SCENE_COVERAGE_MBR_SIDE_KM: Final = 4000.0
_KM_PER_DEGREE: Final = 111.32

_CH4: Final = ("ee", "COPERNICUS/S5P/OFFL/L3_CH4")
_GSMAP: Final = ("ee", "JAXA/GPM_L3/GSMaP/v6/operational")
WORLDWIDE_DATASETS: Final = frozenset({_CH4, _GSMAP, ("noaa", "VIIRS/Monthly")})
"""Datasets that may be searched over the whole world (no 400 km limit, extent optional)."""
SEPARATE_SEARCH_DATASETS: Final = frozenset({_CH4, _GSMAP})
"""Datasets whose search is incompatible with the others: each is searched on its own."""

_DATE_ONLY: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DEFAULT_CHUNK: Final = 1 << 20
_PLAIN_NAME: Final = re.compile(r"[A-Za-z0-9._-]{1,200}")

register_result(SEARCH_RETRIEVE, SearchResults)
register_result(GET_IMAGE_RETRIEVE, GetImageResult)

DatetimeLike = str | dt.datetime | dt.date
DatasetLike = Dataset | tuple[str, str] | Sequence[str] | Mapping[str, Any]
IngestSource = str | os.PathLike[str] | bytes | bytearray | memoryview | AsyncIterable[bytes] | IO[bytes]


# -- validation helpers (pure, no I/O) ---------------------------------------------------


def format_datetime(value: DatetimeLike, *, field: str, end: bool = False) -> str:
    """SpaceKnow's ``"YYYY-MM-DD HH:MM:SS"`` (UTC) from a datetime, a date or a string.

    Naive datetimes are taken as UTC; aware ones are converted. A bare date
    (``date`` or ``"2023-06-30"``) means the start of that day, or its last
    second when ``end`` is true. Strings may be SpaceKnow's format or ISO 8601
    (``"2023-06-30T12:00:00Z"``). Sub-seconds are rounded inwards (a start up,
    an end down), so the range never grows.
    """
    if isinstance(value, str):
        text = value.strip()
        parse = dt.date.fromisoformat if _DATE_ONLY.match(text) else dt.datetime.fromisoformat
        try:
            value = parse(text)
        except ValueError:
            raise ValidationError(
                field, f"{value!r} is not a datetime (use 'YYYY-MM-DD HH:MM:SS' UTC or ISO 8601)"
            ) from None
    if isinstance(value, dt.datetime):
        when = value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo is not None else value
        if when.microsecond and not end:
            when = when.replace(microsecond=0) + dt.timedelta(seconds=1)
        return when.strftime(DATETIME_FORMAT)
    if isinstance(value, dt.date):
        day = dt.datetime(value.year, value.month, value.day)
        return (day + dt.timedelta(seconds=86399) if end else day).strftime(DATETIME_FORMAT)
    raise ValidationError(field, f"expected a datetime, date or string, got {type(value).__name__}")


def parse_datasets(datasets: Iterable[DatasetLike] | None, *, field: str = "datasets") -> list[Dataset]:
    """``(provider, dataset)`` tuples, ``{"provider", "dataset"}`` dicts or :class:`Dataset` → Datasets."""
    if datasets is None or isinstance(datasets, str | bytes | Mapping | Dataset):
        raise ValidationError(field, "expected a list of (provider, dataset) pairs")
    if isinstance(datasets, tuple) and len(datasets) == 2 and all(isinstance(v, str) for v in datasets):
        raise ValidationError(field, f"expected a list of (provider, dataset) pairs: use [{datasets!r}]")
    out: list[Dataset] = []
    for i, item in enumerate(datasets):
        where = f"{field}[{i}]"
        if isinstance(item, Dataset):
            parsed = item
        elif isinstance(item, Mapping):
            parsed = from_user(item, Dataset, field=where)
        elif isinstance(item, Sequence) and not isinstance(item, str | bytes) and len(item) == 2:
            parsed = Dataset(provider=item[0], dataset=item[1])
        else:
            raise ValidationError(where, f"expected (provider, dataset) or a dict, got {item!r}")
        if not isinstance(parsed.provider, str) or not isinstance(parsed.dataset, str):
            raise ValidationError(where, "provider and dataset must be strings")
        if not parsed.provider.strip() or not parsed.dataset.strip():
            raise ValidationError(where, "provider and dataset must not be empty")
        out.append(parsed)
    if not out:
        raise ValidationError(field, "at least one dataset is required")
    pairs = {d.pair for d in out}
    separate = pairs & SEPARATE_SEARCH_DATASETS
    if separate and len(pairs) > 1:
        names = ", ".join(sorted(f"{p} {d}" for p, d in separate))
        raise ValidationError(field, f"{names} must be searched on its own, not with other datasets")
    return out


def mbr_sides_km(bounds: Sequence[float]) -> tuple[float, float]:
    """East-west and north-south sides (km) of the lon/lat rectangle ``bounds``.

    The east-west side is measured along the parallel nearest the equator,
    where the rectangle is widest.
    """
    x0, y0, x1, y1 = bounds
    nearest = 0.0 if y0 <= 0.0 <= y1 else min(abs(y0), abs(y1))
    return (x1 - x0) * _KM_PER_DEGREE * math.cos(math.radians(nearest)), (y1 - y0) * _KM_PER_DEGREE


def _extent(
    extent: Any, *, field: str = "extent"
) -> tuple[dict[str, Any], tuple[float, float, float, float]]:
    geometry = as_geojson(extent, field=field)
    try:
        bounds = geometry_bounds(geometry)
    except ValidationError as exc:
        raise ValidationError(field, exc.message) from None
    x0, y0, x1, y1 = bounds
    if not (-180.0 <= x0 <= x1 <= 180.0 and -90.0 <= y0 <= y1 <= 90.0):
        raise ValidationError(field, "coordinates must be WGS84 longitude/latitude")
    return geometry, bounds


def search_request(
    datasets: Iterable[DatasetLike],
    extent: Any = None,
    *,
    start_datetime: DatetimeLike | None = None,
    end_datetime: DatetimeLike | None = None,
    min_intersection: float | None = None,
    only_downloadable: bool | None = None,
    only_ingested: bool | None = None,
    scene_coverage: bool | None = None,
    force_refresh: bool | None = None,
) -> dict[str, Any]:
    """The validated body of ``/imagery/search/initiate`` (without ``cursor``)."""
    parsed = parse_datasets(datasets)
    body: dict[str, Any] = {"datasets": [d.to_dict() for d in parsed]}
    worldwide = all(d.pair in WORLDWIDE_DATASETS for d in parsed)
    if extent is not None:
        geometry, bounds = _extent(extent)
        if not worldwide:
            limit = SCENE_COVERAGE_MBR_SIDE_KM if scene_coverage else MAX_MBR_SIDE_KM
            width, height = mbr_sides_km(bounds)
            if max(width, height) > limit:
                hint = "" if scene_coverage else " (scene_coverage=True allows 4000 km)"
                raise ValidationError(
                    "extent",
                    f"the search area spans {width:.0f} x {height:.0f} km; "
                    f"it must fit in {limit:g} x {limit:g} km{hint}",
                )
        body["extent"] = geometry
    elif not worldwide:
        raise ValidationError("extent", "required (only the world-wide datasets may be searched without one)")
    start = None if start_datetime is None else format_datetime(start_datetime, field="start_datetime")
    end = None if end_datetime is None else format_datetime(end_datetime, field="end_datetime", end=True)
    if start is not None and end is not None and end < start:
        raise ValidationError("end_datetime", f"{end} is before start_datetime {start}")
    if start is not None:
        body["startDatetime"] = start
    if end is not None:
        body["endDatetime"] = end
    if min_intersection is not None:
        if isinstance(min_intersection, bool) or not isinstance(min_intersection, int | float):
            raise ValidationError("min_intersection", "must be a number between 0 and 1")
        if not 0.0 <= min_intersection <= 1.0:
            raise ValidationError("min_intersection", f"must be between 0 and 1, got {min_intersection}")
        body["minIntersection"] = float(min_intersection)
    for key, value, field in (
        ("onlyDownloadable", only_downloadable, "only_downloadable"),
        ("onlyIngested", only_ingested, "only_ingested"),
        ("sceneCoverage", scene_coverage, "scene_coverage"),
        ("forceRefresh", force_refresh, "force_refresh"),
    ):
        if check_flag(field, value) is not None:
            body[key] = value
    return body


def _scene_id(scene_id: Any, field: str = "scene_id") -> str:
    if not isinstance(scene_id, str) or not scene_id.strip():
        raise ValidationError(field, "must be a non-empty string")
    return scene_id


def _cursor(cursor: Any) -> int | None:
    if cursor is not None and (isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 0):
        raise ValidationError("cursor", "must be a non-negative integer or None")
    return cursor


# -- upload sources ---------------------------------------------------------------------


class Imagery:
    """SpaceKnow Imagery (Ragnar), reached as ``sk.imagery``."""

    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self._ctx = ctx

    # -- search ---------------------------------------------------------------------

    def search(
        self,
        datasets: Iterable[DatasetLike],
        extent: Any = None,
        *,
        start_datetime: DatetimeLike | None = None,
        end_datetime: DatetimeLike | None = None,
        min_intersection: float | None = None,
        only_downloadable: bool | None = None,
        only_ingested: bool | None = None,
        scene_coverage: bool | None = None,
        force_refresh: bool | None = None,
        max_items: int | None = None,
    ) -> Paginator[Scene, SceneCursor]:
        """Scenes of ``datasets`` over ``extent``, page by page (each page one search pipeline).

        ``datasets`` are ``(provider, dataset)`` tuples, ``{"provider", "dataset"}``
        dicts or :class:`Dataset`; ``extent`` is GeoJSON or anything with
        ``__geo_interface__`` (required except for the world-wide datasets);
        datetimes are ``datetime``/``date``/strings (see :func:`format_datetime`).
        ``max_items`` stops after that many scenes without starting another page.
        The arguments are checked now; nothing is sent until iteration starts.

        Example::

            async for scene in sk.imagery.search([("pl", "PSScene")], aoi, start_datetime="2024-01-01"):
                ...
        """
        body = search_request(
            datasets,
            extent,
            start_datetime=start_datetime,
            end_datetime=end_datetime,
            min_intersection=min_intersection,
            only_downloadable=only_downloadable,
            only_ingested=only_ingested,
            scene_coverage=scene_coverage,
            force_refresh=force_refresh,
        )

        async def fetch(cursor: SceneCursor | None) -> Page[Scene, SceneCursor]:
            job = await self._search_job(body, None if cursor is None else cursor.offset)
            page = await job
            return Page(page.results, None if page.cursor is None else SceneCursor(str(page.cursor)))

        return Paginator(fetch, cursor_kind=SceneCursor, max_items=max_items)

    async def search_job(
        self,
        datasets: Iterable[DatasetLike],
        extent: Any = None,
        *,
        start_datetime: DatetimeLike | None = None,
        end_datetime: DatetimeLike | None = None,
        min_intersection: float | None = None,
        only_downloadable: bool | None = None,
        only_ingested: bool | None = None,
        scene_coverage: bool | None = None,
        force_refresh: bool | None = None,
        cursor: int | None = None,
    ) -> Job[SearchResults]:
        """Start the search pipeline of one page (``cursor`` from the previous page) and return its job.

        ``await job`` gives :class:`SearchResults` (``results`` and the next
        ``cursor``). Use :meth:`search` to iterate every page.
        """
        body = search_request(
            datasets,
            extent,
            start_datetime=start_datetime,
            end_datetime=end_datetime,
            min_intersection=min_intersection,
            only_downloadable=only_downloadable,
            only_ingested=only_ingested,
            scene_coverage=scene_coverage,
            force_refresh=force_refresh,
        )
        return await self._search_job(body, _cursor(cursor))

    async def _search_job(self, body: dict[str, Any], cursor: int | None) -> Job[SearchResults]:
        payload = body if cursor is None else {**body, "cursor": cursor}
        return await initiate(
            self._ctx,
            SEARCH_INITIATE,
            payload,
            retrieve=SEARCH_RETRIEVE,
            result=SearchResults,
            operation="imagery.search",
            # A search only reads the catalogue: a second pipeline for the same page costs nothing
            # and an orphaned one is harmless, so a lost answer is retried like any read.
            idempotent=True,
        )

    # -- images ---------------------------------------------------------------------

    async def get_image(
        self,
        scene_id: str,
        extent: Any,
        *,
        resolution: float | None = None,
        export_raster: str | None = None,
    ) -> Job[GetImageResult]:
        """Start exporting the rectangle of ``scene_id`` around ``extent`` (an SKI, at most 3 MPx).

        ``resolution`` (meters) rescales every band; ``export_raster`` asks for
        a raster of that type instead of an SKI (the two exclude each other).
        ``await job`` gives :class:`GetImageResult`.

        Example::

            job = await sk.imagery.get_image(scene.scene_id, aoi, resolution=2.0)
            image = await job
            print(image.meta.bands[0].approximate_resolution_x)
        """
        body: dict[str, Any] = {"sceneId": _scene_id(scene_id), "extent": _extent(extent)[0]}
        if resolution is not None:
            if isinstance(resolution, bool) or not isinstance(resolution, int | float):
                raise ValidationError("resolution", "must be a number of meters")
            if not math.isfinite(resolution) or resolution <= 0:
                raise ValidationError("resolution", f"must be a positive number of meters, got {resolution}")
            body["resolution"] = float(resolution)
        if export_raster is not None:
            if not isinstance(export_raster, str) or not export_raster.strip():
                raise ValidationError("export_raster", "must be a non-empty string")
            if resolution is not None:
                raise ValidationError(
                    "export_raster", "an exported raster cannot be rescaled: drop resolution"
                )
            body["exportRaster"] = export_raster
        return await initiate(
            self._ctx,
            GET_IMAGE_INITIATE,
            body,
            retrieve=GET_IMAGE_RETRIEVE,
            result=GetImageResult,
            operation="imagery.get-image",
        )

    async def download_image(
        self,
        image: GetImageResult | Job[GetImageResult] | Mapping[str, Any],
        dest: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        attempts: int | None = None,
    ) -> Downloaded:
        """Download the exported raster a get-image answer points to (its ``url``) into ``dest``.

        ``image`` is the :class:`GetImageResult` (or its dict), or the job of
        :meth:`get_image` (awaited first). ``dest`` is a file path, or a
        directory to put the file in under the link's own name. Streamed
        through :mod:`eoclient.bulk`: into ``<dest>.part``, renamed when
        complete and size-checked; a connection lost mid-body is resumed with
        ``Range``; cancelling leaves nothing behind. A file already at
        ``dest`` is returned as ``skipped`` unless ``overwrite``.

        The bearer goes only to the SpaceKnow host itself: a link on another
        host (a signed storage URL) is fetched without it, and its query (the
        signature) is kept out of logs and errors.

        Example::

            image = await (await sk.imagery.get_image(scene_id, aoi, export_raster="geotiff"))
            got = await sk.imagery.download_image(image, "exports/")
            print(got.path, got.bytes)
        """
        result = await image if isinstance(image, Job) else from_user(image, GetImageResult, field="image")
        url = result.url
        if not url:
            raise ValidationError("image.url", "this get-image answer gives no URL to download")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") and not url.startswith("/"):
            raise ValidationError("image.url", "is not an http(s) URL")
        register_secret(parts.query)  # a signed link's query is a credential of its own
        target = Path(dest)
        if await anyio.to_thread.run_sync(target.is_dir):
            # The link's own file name when it is a plain one (never a path out of ``dest``).
            name = PurePosixPath(parts.path).name
            plain = _PLAIN_NAME.fullmatch(name) and name.strip(".")
            target = target / (name if plain else f"{result.meta.scene_id}.tif")
        if not overwrite and await anyio.to_thread.run_sync(target.is_file):
            size = (await anyio.Path(target).stat()).st_size  # downloads are atomic: a file there is whole
            return Downloaded(target, size, skipped=True, source=url)
        transport = self._ctx.transport
        return await download_file(
            transport,
            url,
            target,
            operation="imagery.download-image",
            attempts=attempts,
            authenticate=transport.is_own_host(url),
        )

    # -- synchronous reads ------------------------------------------------------------

    async def scene_info(
        self,
        scene_id: str,
        *,
        tiles: Sequence[Sequence[int]] | None = None,
        force_offline: bool | None = None,
    ) -> Scene:
        """Metadata of one scene (bands with CRS origin and resolution, footprint, angles).

        ``tiles`` (``[[x, y], ...]``) limits the returned footprint to those tiles.
        """
        body: dict[str, Any] = {"sceneId": _scene_id(scene_id)}
        if tiles is not None:
            checked: list[list[int]] = []
            for i, tile in enumerate(tiles):
                if (
                    isinstance(tile, str | bytes)
                    or not isinstance(tile, Sequence)
                    or len(tile) != 2
                    or not all(isinstance(v, int) and not isinstance(v, bool) for v in tile)
                ):
                    raise ValidationError(f"tiles[{i}]", f"expected an [x, y] pair of integers, got {tile!r}")
                checked.append([int(tile[0]), int(tile[1])])
            body["tiles"] = checked
        if check_flag("force_offline", force_offline) is not None:
            body["forceOffline"] = force_offline
        result: Scene = await self._ctx.transport.request_json(
            "POST", SCENE_INFO_PATH, operation="imagery.scene-info", json=body, idempotent=True, type=Scene
        )
        return result

    async def providers(self) -> list[Provider]:
        """Every dataset the account can access, with its provider and limits."""
        result: list[Provider] = await self._ctx.transport.request_json(
            "POST",
            PROVIDERS_PATH,
            operation="imagery.providers",
            json={},
            idempotent=True,
            type=list[Provider],
        )
        return result

    # -- ingest -----------------------------------------------------------------------

    async def ingest(
        self, provider: str, source: IngestSource, *, chunk_size: int = _DEFAULT_CHUNK
    ) -> IngestResult:
        """Ingest one scene file (streamed), making it searchable and downloadable at once.

        ``source`` is a file path, ``bytes``, a binary file object, or an async
        iterable of ``bytes``; it is streamed chunk by chunk and never read
        whole into memory. A path or a seekable file is sent again if the
        transport retries; an async iterable is sent once (no retry).
        The endpoint is synchronous and meant for on-premises deployments.

        Example::

            result = await sk.imagery.ingest("pl", "scene.zip")
            print(result.ingested_scenes[0].scene_id)
        """
        if not isinstance(provider, str) or not provider.strip():
            raise ValidationError("provider", "must be a non-empty string")
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0:
            raise ValidationError("chunk_size", "must be a positive integer")
        data, replayable = await upload_body(source, chunk_size)
        result: IngestResult = await self._ctx.transport.request_json(
            "POST",
            INGEST_PATH,
            operation="imagery.ingest",
            params={"provider": provider},
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            retry=None if replayable else RetryPolicy.never(),
            type=IngestResult,
        )
        return result
