"""Sentinel Hub services: Process, Statistical, Catalog (STAC), BYOC, tiling grids."""

from eoclient.sentinelhub.budget import ProcessingBudget
from eoclient.sentinelhub.byoc_models import Collection as ByocCollection
from eoclient.sentinelhub.byoc_models import Tile as ByocTile
from eoclient.sentinelhub.catalog_models import Collection as StacCollection
from eoclient.sentinelhub.catalog_models import Item as StacItem
from eoclient.sentinelhub.client import SentinelHub
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
from eoclient.sentinelhub.tiling_grids import TilingGrid

__all__ = [
    "Bounds",
    "ByocCollection",
    "ByocTile",
    "DataFilter",
    "InputData",
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
]
