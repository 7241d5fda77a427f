"""Sentinel Hub services: Process, Statistical, Catalog (STAC), BYOC, tiling grids,
Async Process, Batch (v2 and legacy), Batch Statistical, Zarr Import, Metadata."""

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
