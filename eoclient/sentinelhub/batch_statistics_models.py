"""Request and status models of the Batch Statistical API (``/api/v1/statistics/batch``), and their checks.

A Batch Statistical request is a Statistical API request over every feature
(polygon) of a GeoPackage in object storage (``input.features``) instead of
one ``input.bounds``, with its results written as one JSON file per feature
to object storage (``output``). ``aggregation`` and ``calculations`` are the
Statistical API's (:mod:`eoclient.sentinelhub.statistics_models`) and are
checked the same way; the evalscript may also be read from a bucket
(``aggregation.evalscriptReference``).

Lifecycle (``status``)::

    CREATED --analyse--> ANALYSING -> ANALYSIS_DONE --start--> PROCESSING -> DONE | PARTIAL | FAILED
    CREATED --start--> ANALYSING -> PROCESSING -> ...        any running state --stop--> STOPPED

Example (the documentation's request)::

    request = {
        "input": {"features": {"s3": {"url": "s3://my-bucket/fields.gpkg", "accessKey": KEY,
                                      "secretAccessKey": SECRET}},
                  "data": [{"type": "sentinel-2-l2a", "dataFilter": {"mosaickingOrder": "leastCC"}}]},
        "aggregation": {"timeRange": {"from": "2020-06-01T00:00:00Z", "to": "2020-07-31T00:00:00Z"},
                        "aggregationInterval": {"of": "P30D"}, "evalscript": EVALSCRIPT,
                        "resx": 10, "resy": 10},
        "output": {"s3": {"url": "s3://my-bucket/results", "accessKey": KEY, "secretAccessKey": SECRET}},
    }
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from eoclient._models import Model
from eoclient.errors import ValidationError
from eoclient.sentinelhub.process_models import (
    MOSAICKING_ORDERS,
    InputData,
    check_evalscript,
    check_size,
    check_time_range,
    fix_field,
    to_request,
)
from eoclient.sentinelhub.statistics_models import (
    LAST_INTERVAL_BEHAVIORS,
    CalculationDefinition,
    StatisticsAggregation,
    StatisticsResponse,
    check_calculations,
    parse_duration,
)
from eoclient.sentinelhub.storage import ObjectStorage, check_storage
from eoclient.storage.outputs import Output
from eoclient.tables import feature_frame

__all__ = [
    "OUTPUT_PLACEHOLDERS",
    "STATUSES",
    "BatchStatisticsAggregation",
    "BatchStatisticsInput",
    "BatchStatisticsRequest",
    "BatchStatisticsStatus",
    "BatchStatisticsTask",
    "FeatureStatistics",
    "prepare_batch_statistics_request",
]

STATUSES: Final = frozenset(
    {"CREATED", "ANALYSING", "ANALYSIS_DONE", "PROCESSING", "DONE", "FAILED", "STOPPED", "PARTIAL"}
)
"""Every ``status`` of a Batch Statistical request (OpenAPI ``BatchStatisticsTaskStatusDto``)."""

OUTPUT_PLACEHOLDERS: Final = frozenset({"<REQUEST_ID>", "<ID>", "<IDENTIFIER>"})
"""Placeholders a templated output URL may hold; a templated URL needs ``<ID>`` or ``<IDENTIFIER>``."""


class BatchStatisticsInput(Model):
    """``input``: the GeoPackage of features (``features``) and the collections (``data``)."""

    features: ObjectStorage | None = None
    data: list[InputData] | None = None


class BatchStatisticsAggregation(StatisticsAggregation):
    """``aggregation`` of the Statistical API, where the evalscript may come from a bucket instead."""

    evalscript_reference: ObjectStorage | None = None


class BatchStatisticsRequest(Model):
    """A whole Batch Statistical request."""

    input: BatchStatisticsInput | None = None
    aggregation: BatchStatisticsAggregation | None = None
    calculations: dict[str, CalculationDefinition] | None = None
    output: ObjectStorage | None = None


class BatchStatisticsStatus(Model):
    """Where a request is (``GET .../{id}/status``).

    ``completion_percentage`` runs 0..100; ``cost_pu`` is what it has cost so
    far; ``error`` says why it FAILED; ``stopped_status_reason`` why it was
    STOPPED (``USER_ACTION`` or ``OUT_OF_PU``).
    """

    id: str
    status: str
    error: str | None = None
    completion_percentage: float | None = None
    last_updated: datetime | None = None
    cost_pu: float | None = None
    created: datetime | None = None
    stopped_status_reason: str | None = None


class BatchStatisticsTask(BatchStatisticsStatus):
    """A whole request as the service keeps it (``GET .../{id}``): the status plus the request."""

    request: BatchStatisticsRequest | None = None
    user_action: str | None = None
    user_action_updated: datetime | None = None
    domain_account_id: str | None = None
    project_id: str | None = None
    workspace_id: str | None = None


@dataclass(frozen=True, slots=True)
class FeatureStatistics:
    """The statistics of one feature, as the request delivered them (``job.results()``).

    ``feature_id`` and ``identifier`` are the feature's ``id`` and
    ``identifier`` as its object's key gives them (``<ID>``,
    ``<IDENTIFIER>``; ``None`` when the key does not hold it); ``output``
    is the object (bucket, key, size, checksum); ``statistics`` its
    content, the Statistical API's answer for that feature — the same
    model ``sh.statistics`` returns (``processing_units`` is ``None``: the
    service reports the cost of the whole request).
    """

    feature_id: str | None
    identifier: str | None
    output: Output
    statistics: StatisticsResponse

    @property
    def feature(self) -> str | None:
        """The feature's ``id``, else its ``identifier``."""
        return self.feature_id if self.feature_id is not None else self.identifier

    def to_pandas(self, *, histograms: bool = False) -> Any:
        """This feature's statistics as a tidy DataFrame, led by a ``feature`` column.

        The columns of :meth:`StatisticsResponse.to_pandas` after ``feature``
        (:attr:`feature`). Many features in one frame:
        :func:`eoclient.tables.statistics_frame` (a list) or
        ``await eoclient.tables.frame_of(job.results())``.
        """
        return feature_frame(self.feature, self.statistics, histograms=histograms)


def _check_data(data: list[InputData] | None, field: str) -> None:
    """The Process API's checks of ``input.data`` (there are no bounds: the features are the area)."""
    if not data:
        raise ValidationError(field, "needs at least one collection")
    for i, item in enumerate(data):
        where = f"{field}[{i}]"
        if not item.type.strip():
            raise ValidationError(f"{where}.type", "must not be empty")
        flt = item.data_filter
        if flt is None:
            continue
        check_time_range(flt.time_range, f"{where}.dataFilter.timeRange")
        if flt.max_cloud_coverage is not None and not 0 <= flt.max_cloud_coverage <= 100:
            raise ValidationError(f"{where}.dataFilter.maxCloudCoverage", "must be between 0 and 100")
        if flt.mosaicking_order is not None and flt.mosaicking_order not in MOSAICKING_ORDERS:
            allowed = ", ".join(sorted(MOSAICKING_ORDERS))
            raise ValidationError(f"{where}.dataFilter.mosaickingOrder", f"must be one of {allowed}")


def _check_aggregation(agg: BatchStatisticsAggregation | None) -> None:
    if agg is None:
        raise ValidationError("aggregation", "is required (timeRange, aggregationInterval, evalscript)")
    if agg.evalscript is not None and agg.evalscript_reference is not None:
        raise ValidationError("aggregation.evalscript", "give evalscript or evalscriptReference, not both")
    if agg.evalscript_reference is not None:
        check_storage(agg.evalscript_reference, "aggregation.evalscriptReference")
    else:
        check_evalscript(agg.evalscript, "aggregation.evalscript")
    check_time_range(agg.time_range, "aggregation.timeRange", required=True)
    assert agg.time_range is not None
    if agg.time_range.from_ == agg.time_range.to:
        raise ValidationError("aggregation.timeRange", "'from' and 'to' are equal: the range is empty")
    if agg.aggregation_interval is None:
        raise ValidationError("aggregation.aggregationInterval", "is required, e.g. {'of': 'P1D'}")
    parse_duration(agg.aggregation_interval.of, field="aggregation.aggregationInterval.of")
    behavior = agg.aggregation_interval.last_interval_behavior
    if behavior is not None and behavior not in LAST_INTERVAL_BEHAVIORS:
        raise ValidationError(
            "aggregation.aggregationInterval.lastIntervalBehavior",
            f"must be one of {', '.join(sorted(LAST_INTERVAL_BEHAVIORS))}",
        )
    # Each feature has its own extent, so only the sizes themselves can be checked here.
    check_size(agg.width, agg.height, agg.resx, agg.resy, extent=None, field="aggregation")


def validate_batch_statistics_request(request: BatchStatisticsRequest) -> None:
    """Every client-side check of a Batch Statistical request; raises :class:`ValidationError`."""
    inp = request.input
    if inp is None:
        raise ValidationError("input", "is required (features and data)")
    if inp.features is None:
        raise ValidationError("input.features", "is required: the GeoPackage of features in object storage")
    check_storage(inp.features, "input.features")
    _check_data(inp.data, "input.data")
    _check_aggregation(request.aggregation)
    check_calculations(request.calculations)
    if request.output is None:
        raise ValidationError("output", "is required: where the results are written")
    check_storage(
        request.output,
        "output",
        placeholders=OUTPUT_PLACEHOLDERS,
        require_one_of=frozenset({"<ID>", "<IDENTIFIER>"}),
    )


def prepare_batch_statistics_request(
    value: BatchStatisticsRequest | Mapping[str, Any],
) -> tuple[BatchStatisticsRequest, dict[str, Any]]:
    """Check a request (model or docs-style dict) and return it with its JSON-ready wire form."""
    try:
        model, wire = to_request(value, BatchStatisticsRequest)
    except ValidationError as exc:
        raise fix_field(exc) from None
    validate_batch_statistics_request(model)
    return model, wire
