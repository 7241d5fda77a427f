"""The Sentinel Hub entry point."""

from __future__ import annotations

import os
import random
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eoclient._checks import check_instance
from eoclient._client import BaseClient
from eoclient._http.auth import ClientCredentialsAuth
from eoclient._http.dialects import SENTINELHUB
from eoclient._http.ratelimit import RateLimit
from eoclient._http.retry import RetryPolicy
from eoclient._http.transport import ConnectionLimits, Timeouts, Transport
from eoclient._lazy import Service
from eoclient._polling import PollPolicy
from eoclient._redact import Secret
from eoclient.config import SentinelHubSettings, sentinelhub_settings
from eoclient.errors import ValidationError
from eoclient.sentinelhub.budget import ProcessingBudget
from eoclient.sentinelhub.cache import ResponseCache
from eoclient.sentinelhub.data_collections import deployment_map, route_request
from eoclient.sentinelhub.process import ProcessAPI
from eoclient.sentinelhub.process_models import ProcessFile, ProcessRequest, ProcessResult
from eoclient.sentinelhub.statistics import StatisticsAPI
from eoclient.sentinelhub.statistics_models import StatisticsRequest, StatisticsResponse

if TYPE_CHECKING:  # the services' modules load on first use (eoclient._lazy.Service)
    from eoclient.sentinelhub.async_process import AsyncProcess
    from eoclient.sentinelhub.batch import Batch
    from eoclient.sentinelhub.batch_statistics import BatchStatistics
    from eoclient.sentinelhub.byoc import BYOC
    from eoclient.sentinelhub.catalog import Catalog
    from eoclient.sentinelhub.dataimport import DataImport
    from eoclient.sentinelhub.metadata import Metadata
    from eoclient.sentinelhub.process_area import AreaResult
    from eoclient.sentinelhub.tiling_grids import TilingGrids
    from eoclient.sentinelhub.zarr_import import ZarrImport
    from eoclient.storage.settings import StorageSettings
    from eoclient.storage.store import ObjectStore

__all__ = ["SentinelHub"]


class SentinelHub(BaseClient):
    """Asynchronous Sentinel Hub client (also Copernicus Data Space and other deployments).

    Credentials and URLs come from the arguments, else the ``SH_*`` environment
    variables, else the config file profile, else sentinelhub-py's config file
    (see :mod:`eoclient.config`).

    ``cache_dir=path`` (or ``cache=ResponseCache(path)``) answers a repeated
    Process or Statistical request from disk, like sentinelhub-py's
    ``data_folder`` with ``save_data=True``; ``refresh=True`` on a call is its
    ``redownload=True`` (see :mod:`eoclient.sentinelhub.cache`).

    A request for a collection that lives on another deployment (Landsat,
    MODIS, HLS on US-West; Sentinel-3/5P on Creodias) goes to that deployment
    with the same credentials, as sentinelhub-py sends it; the jobs it creates
    are followed there. When ``base_url`` is one of Sentinel Hub's deployments
    the others are reached at their public URLs; ``deployments={public URL:
    URL}`` reaches them elsewhere (a proxy, the emulator) or adds others.
    ``routing=False`` refuses such requests instead (and ignores ``deployments``).
    See :mod:`eoclient.sentinelhub.data_collections`.

    Example::

        async with eoclient.SentinelHub(client_id="...", client_secret="...") as sh:
            resp = await sh.request("GET", "/api/v1/catalog/1.0.0/")
    """

    # The services: each made, its module imported, when first used (eoclient._lazy).
    catalog: Service[Catalog] = Service("eoclient.sentinelhub.catalog", "Catalog")
    """STAC catalog: search, collections, items."""
    byoc: Service[BYOC] = Service("eoclient.sentinelhub.byoc", "BYOC")
    """Bring Your Own COG: collections, tiles, files."""
    dataimport: Service[DataImport] = Service("eoclient.sentinelhub.dataimport", "DataImport")
    """Third-party data (Planet, Maxar): search, orders, subscriptions, deliveries, quotas."""
    tiling_grids: Service[TilingGrids] = Service("eoclient.sentinelhub.tiling_grids", "TilingGrids")
    """Batch tiling grids."""
    async_process: Service[AsyncProcess] = Service("eoclient.sentinelhub.async_process", "AsyncProcess")
    """Async Process API: process requests delivered to object storage, as Jobs."""
    batch: Service[Batch] = Service("eoclient.sentinelhub.batch", "Batch")
    """Batch Process API (v2): large-area processing requests, as Jobs."""
    batch_statistics: Service[BatchStatistics] = Service(
        "eoclient.sentinelhub.batch_statistics", "BatchStatistics"
    )
    """Batch Statistical API: statistics over many features, as Jobs."""
    zarr: Service[ZarrImport] = Service("eoclient.sentinelhub.zarr_import", "ZarrImport")
    """Zarr Import: Zarr collections, their arrays, and their ingestion as Jobs."""
    metadata: Service[Metadata] = Service("eoclient.sentinelhub.metadata", "Metadata")
    """Metadata API: deployment locations, and metadata of BYOC, batch and Zarr collections."""

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | Secret | None = None,
        *,
        base_url: str | None = None,
        token_url: str | None = None,
        profile: str | None = None,
        config_file: str | Path | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
        timeouts: Timeouts | None = None,
        limits: ConnectionLimits | None = None,
        poll: PollPolicy | None = None,
        rng: random.Random | None = None,
        budget: ProcessingBudget | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        cache: ResponseCache | None = None,
        storage: StorageSettings | None = None,
        deployments: Mapping[str, str] | None = None,
        routing: bool = True,
    ) -> None:
        if cache is not None and cache_dir is not None:
            raise ValidationError("cache_dir", "give cache= or cache_dir=, not both")
        self.settings: SentinelHubSettings = sentinelhub_settings(
            client_id=client_id,
            client_secret=client_secret,
            base_url=base_url,
            token_url=token_url,
            profile=profile,
            config_file=config_file,
        )
        auth = ClientCredentialsAuth(
            self.settings.client_id, self.settings.client_secret, self.settings.token_url
        )
        super().__init__(
            Transport(
                base_url=self.settings.base_url,
                dialect=SENTINELHUB,
                auth=auth,
                retry=retry,
                rate_limit=rate_limit,
                timeouts=timeouts,
                limits=limits,
                rng=rng,
                deployments=deployment_map(self.settings.base_url, deployments, routing=routing),
            ),
            poll=poll,
            settings=self.settings,
        )
        if storage is not None:
            from eoclient.storage.settings import StorageSettings  # noqa: PLC0415 - only when given

            check_instance("storage", storage, StorageSettings)
        self.context.storage = storage
        self.cache: ResponseCache | None = ResponseCache(cache_dir) if cache_dir is not None else cache
        """The disk cache of Process and Statistical answers (``None``: no caching)."""
        self._process_api = ProcessAPI(self.context, budget, self.cache)
        self._statistics_api = StatisticsAPI(self.context, budget, self.cache)

    # -- Process and Statistical API (one-shot requests) --

    @property
    def budget(self) -> ProcessingBudget | None:
        """Paces Process and Statistical requests by processing units and requests (``None``: no pacing).

        Set it with the ``budget=`` argument or assign a new one at any time.
        """
        return self._process_api.budget

    @budget.setter
    def budget(self, value: ProcessingBudget | None) -> None:
        self._process_api.budget = value
        self._statistics_api.budget = value

    def process(
        self,
        request: ProcessRequest | Mapping[str, Any],
        *,
        accept: str | None = None,
        refresh: bool = False,
    ) -> Coroutine[Any, Any, ProcessResult]:
        """Render a Process API request and return the answer in memory.

        ``request`` is a :class:`~eoclient.sentinelhub.process_models.ProcessRequest`
        or a dict as in the Sentinel Hub documentation; it is checked before
        anything is sent (:class:`~eoclient.errors.ValidationError` names the
        field). ``Accept`` follows the requested format (a tar for several
        responses) unless ``accept`` overrides it. Several responses are split
        into ``result.parts`` by identifier. With a cache, a repeated request
        is answered from disk unless ``refresh=True``.

        Example::

            result = await sh.process({
                "input": {"bounds": {"bbox": [13.8, 45.8, 14.5, 46.2]},
                          "data": [{"type": "sentinel-2-l2a"}]},
                "output": {"width": 512, "height": 512,
                           "responses": [{"identifier": "default", "format": {"type": "image/tiff"}},
                                         {"identifier": "userdata", "format": {"type": "application/json"}}]},
                "evalscript": EVALSCRIPT,
            })
            tiff = result["default"].content
            meta = result["userdata"].json()
            result.processing_units
        """
        # The Process API's coroutine itself (it routes the request): no level of our own to resume.
        return self._process_api.process(request, accept=accept, refresh=refresh, route=True)

    async def process_to_file(
        self,
        request: ProcessRequest | Mapping[str, Any],
        path: str | os.PathLike[str],
        *,
        accept: str | None = None,
        refresh: bool = False,
    ) -> ProcessFile:
        """Render a Process API request straight to ``path``, streaming (never the whole body in memory).

        The bytes go to ``<path>.part`` and are renamed into place when
        complete; a failure leaves neither file. Several responses are written
        as the tar archive the service sends. With a cache, a repeated request
        is linked or copied from disk (atomically too) unless ``refresh=True``.

        Example::

            info = await sh.process_to_file(request, "scene.tif")
            info.size, info.processing_units
        """
        where = route_request(request, self.transport)
        return await self._process_api.to_file(
            request, path, accept=accept, refresh=refresh, deployment=where
        )

    async def process_area(
        self,
        request: ProcessRequest | Mapping[str, Any],
        area: Any,
        *,
        resolution: float | tuple[float, float],
        tile_pixels: int | tuple[int, int] | None = None,
        tile_size: float | tuple[float, float] | None = None,
        crs: int | str = "utm",
        area_crs: int | str | None = None,
        concurrency: int = 4,
        work_dir: str | os.PathLike[str] | None = None,
        path: str | os.PathLike[str] | None = None,
        accept: str | None = None,
        overwrite: bool = False,
        fill: float = 0,
    ) -> AreaResult:
        """Render ``request`` over a large ``area`` tile by tile and mosaic the tiles into one raster.

        ``area`` (a :class:`~eoclient.geo.BBox`, four numbers, or a GeoJSON
        Polygon/MultiPolygon in ``area_crs``, default WGS84) is split by
        :func:`eoclient.areas.split_area` into tiles of ``tile_pixels`` (or
        ``tile_size`` in CRS units; at most 2500 px a side, the default) at
        ``resolution`` (metres in UTM) in ``crs``: ``"utm"`` (the area's UTM
        zone; an area across zones needs one CRS named here, e.g. one zone's
        EPSG code, or 4326 with a resolution in degrees) or any CRS. Tiles
        that miss the area are not rendered; their pixels are ``fill``.

        Each tile is ``request`` with the tile's bounds, CRS and size
        (everything else as given; it must ask for one TIFF, PNG or JPEG
        image), rendered through the bulk engine: ``concurrency`` at a time,
        the transport's retries, the client's budget, atomic files in
        ``work_dir``. With a ``work_dir`` of your own, a rerun skips the tiles
        already there (``overwrite=True`` renders them again); without one, a
        temporary folder is used and removed.

        Returns an :class:`~eoclient.sentinelhub.process_area.AreaResult`:
        ``result.data`` is an ``xarray.DataArray`` ``(y, x, band)`` with the
        coordinates of the mosaic's pixel centres and its CRS, or, with
        ``path`` (``.tif``: a GeoTIFF; ``.zarr``: a Zarr store), the mosaic is
        written there (whole or not at all) and ``data`` is ``None``. If a
        tile fails for good, :class:`~eoclient.bulk.BulkDownloadError` is
        raised with the run's report (``error.report``) and nothing is
        written under ``path``. Needs the ``xarray`` extra (``zarr`` for a
        Zarr store).

        Example::

            result = await sh.process_area(request, field_polygon, resolution=10, work_dir="tiles")
            ndvi = result.data.sel(band=1)
        """
        where = route_request(request, self.transport)
        from eoclient.sentinelhub.process_area import process_area  # noqa: PLC0415 - on first use

        return await process_area(
            self.transport,
            request,
            area,
            budget=lambda: self._process_api.budget,
            resolution=resolution,
            tile_pixels=tile_pixels,
            tile_size=tile_size,
            crs=crs,
            area_crs=area_crs,
            concurrency=concurrency,
            work_dir=work_dir,
            path=path,
            accept=accept,
            overwrite=overwrite,
            fill=fill,
            deployment=where,
        )

    async def statistics(
        self,
        request: StatisticsRequest | Mapping[str, Any],
        *,
        retry_failed: int = 0,
        refresh: bool = False,
    ) -> StatisticsResponse:
        """Run a Statistical API request: statistics (and histograms) per time interval.

        Intervals the service failed to compute keep their ``error``; see
        ``response.errors`` or call ``response.raise_for_errors()``. With
        ``retry_failed=N``, intervals that failed with ``EXECUTION_ERROR`` or
        ``TIMEOUT`` are re-requested one by one for up to N rounds and merged
        back in order (``processing_units`` then sums every request). With a
        cache, a repeated request is answered from disk unless ``refresh=True``
        (only the final, merged answer is cached).

        Example::

            stats = await sh.statistics(request, retry_failed=2)
            for item in stats.data:
                if item.error is None:
                    print(item.interval.from_, item.outputs["default"].bands["B0"].stats.mean)
        """
        where = route_request(request, self.transport)
        return await self._statistics_api.statistics(
            request, retry_failed=retry_failed, refresh=refresh, deployment=where
        )

    def open_store(self, url: str, *, retries: int = 6) -> ObjectStore:
        """The object store at ``s3://bucket[/prefix]`` (where a job delivers), signed in with ``storage=``.

        Without ``storage=`` the ``AWS_*`` environment variables and AWS
        profile say where the store is and who we are to it (they are not the
        Sentinel Hub credentials). Needs the ``s3`` extra.

        Example::

            job = await sh.batch.run(request)
            await job
            store = sh.open_store("s3://my-bucket/outputs/")
            async for obj in store.list(f"{job.id}/"):
                print(obj.key, obj.size)
        """
        from eoclient.storage.store import open_store  # noqa: PLC0415 - on first use

        return open_store(url, self.context.storage, retries=retries)

    def __repr__(self) -> str:
        return f"SentinelHub(base_url={self.settings.base_url!r}, client_id={self.settings.client_id!r})"
