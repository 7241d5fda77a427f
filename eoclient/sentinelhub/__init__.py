"""Sentinel Hub services: Process, Statistical, Catalog (STAC), BYOC, tiling grids,
Async Process, Batch (v2 and legacy), Batch Statistical, Zarr Import, Metadata."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from eoclient._lazy import lazy_names

if TYPE_CHECKING:  # what __getattr__ hands out, for type checkers and editors
    from eoclient.geo import bbox_to_dimensions, bbox_to_resolution, to_utm_bbox, utm_crs
    from eoclient.sentinelhub.async_process_models import AsyncProcessDelivery, AsyncProcessRequest
    from eoclient.sentinelhub.batch_models import BatchProcessRequest, BatchRequest
    from eoclient.sentinelhub.batch_statistics_models import BatchStatisticsRequest, BatchStatisticsTask
    from eoclient.sentinelhub.budget import ProcessingBudget
    from eoclient.sentinelhub.byoc_models import Collection as ByocCollection
    from eoclient.sentinelhub.byoc_models import Tile as ByocTile
    from eoclient.sentinelhub.cache import ResponseCache
    from eoclient.sentinelhub.catalog_models import Collection as StacCollection
    from eoclient.sentinelhub.catalog_models import Item as StacItem
    from eoclient.sentinelhub.client import SentinelHub
    from eoclient.sentinelhub.data_collections import Band, DataCollection
    from eoclient.sentinelhub.metadata_models import CollectionMetadata
    from eoclient.sentinelhub.metadata_models import Location as MetadataLocation
    from eoclient.sentinelhub.process_models import (
        Bounds,
        DataFilter,
        InputData,
        OutputFormat,
        OutputResponse,
        ProcessFile,
        ProcessInput,
        ProcessOutput,
        ProcessRequest,
        ProcessResult,
        TimeRange,
    )
    from eoclient.sentinelhub.statistics_models import StatisticsRequest, StatisticsResponse
    from eoclient.sentinelhub.storage import ObjectStorage
    from eoclient.sentinelhub.tiling_grids import TilingGrid
    from eoclient.sentinelhub.zarr_import_models import ZarrArray, ZarrCollection
    from eoclient.timeutils import filter_times, parse_time_interval, serialize_time

__all__ = [
    "AsyncProcessDelivery",
    "AsyncProcessRequest",
    "BatchProcessRequest",
    "BatchRequest",
    "BatchStatisticsRequest",
    "BatchStatisticsTask",
    "ObjectStorage",
    "ResponseCache",
    "Band",
    "Bounds",
    "ByocCollection",
    "ByocTile",
    "CollectionMetadata",
    "DataCollection",
    "DataFilter",
    "InputData",
    "MetadataLocation",
    "OutputFormat",
    "OutputResponse",
    "ProcessFile",
    "ProcessInput",
    "ProcessOutput",
    "ProcessRequest",
    "ProcessResult",
    "ProcessingBudget",
    "SentinelHub",
    "StacCollection",
    "StacItem",
    "StatisticsRequest",
    "StatisticsResponse",
    "TilingGrid",
    "TimeRange",
    "ZarrArray",
    "ZarrCollection",
    "bbox_to_dimensions",
    "bbox_to_resolution",
    "filter_times",
    "parse_time_interval",
    "serialize_time",
    "to_utm_bbox",
    "utm_crs",
]

# Public name -> its home ("module" or "module:Name"), imported when the name is first asked for.
_LAZY: Final = {
    "AsyncProcessDelivery": "eoclient.sentinelhub.async_process_models",
    "AsyncProcessRequest": "eoclient.sentinelhub.async_process_models",
    "Band": "eoclient.sentinelhub.data_collections",
    "BatchProcessRequest": "eoclient.sentinelhub.batch_models",
    "BatchRequest": "eoclient.sentinelhub.batch_models",
    "BatchStatisticsRequest": "eoclient.sentinelhub.batch_statistics_models",
    "BatchStatisticsTask": "eoclient.sentinelhub.batch_statistics_models",
    "Bounds": "eoclient.sentinelhub.process_models",
    "ByocCollection": "eoclient.sentinelhub.byoc_models:Collection",
    "ByocTile": "eoclient.sentinelhub.byoc_models:Tile",
    "CollectionMetadata": "eoclient.sentinelhub.metadata_models",
    "DataCollection": "eoclient.sentinelhub.data_collections",
    "DataFilter": "eoclient.sentinelhub.process_models",
    "InputData": "eoclient.sentinelhub.process_models",
    "MetadataLocation": "eoclient.sentinelhub.metadata_models:Location",
    "ObjectStorage": "eoclient.sentinelhub.storage",
    "OutputFormat": "eoclient.sentinelhub.process_models",
    "OutputResponse": "eoclient.sentinelhub.process_models",
    "ProcessFile": "eoclient.sentinelhub.process_models",
    "ProcessInput": "eoclient.sentinelhub.process_models",
    "ProcessOutput": "eoclient.sentinelhub.process_models",
    "ProcessRequest": "eoclient.sentinelhub.process_models",
    "ProcessResult": "eoclient.sentinelhub.process_models",
    "ProcessingBudget": "eoclient.sentinelhub.budget",
    "ResponseCache": "eoclient.sentinelhub.cache",
    "SentinelHub": "eoclient.sentinelhub.client",
    "StacCollection": "eoclient.sentinelhub.catalog_models:Collection",
    "StacItem": "eoclient.sentinelhub.catalog_models:Item",
    "StatisticsRequest": "eoclient.sentinelhub.statistics_models",
    "StatisticsResponse": "eoclient.sentinelhub.statistics_models",
    "TilingGrid": "eoclient.sentinelhub.tiling_grids",
    "TimeRange": "eoclient.sentinelhub.process_models",
    "ZarrArray": "eoclient.sentinelhub.zarr_import_models",
    "ZarrCollection": "eoclient.sentinelhub.zarr_import_models",
    "bbox_to_dimensions": "eoclient.geo",
    "bbox_to_resolution": "eoclient.geo",
    "filter_times": "eoclient.timeutils",
    "parse_time_interval": "eoclient.timeutils",
    "serialize_time": "eoclient.timeutils",
    "to_utm_bbox": "eoclient.geo",
    "utm_crs": "eoclient.geo",
}
__getattr__ = lazy_names(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
