"""Wire models, filters and query checks of SpaceKnow Datacube.

Filters are small frozen dataclasses that build the wire form and check
themselves when created; the same filters written as the reference's dicts
(``{"type": "value-range", "field": "cloudCover", "params": {"max": 0.05}}``)
are accepted too and checked the same way::

    filters = [
        ValueList("project", ["coal"]),
        ValueList("algorithm", ["ndmi_mean"]),
        TimeRange(start="2018-01-01", end=datetime(2019, 6, 30, tzinfo=UTC)),
        ValueRange("cloudCover", max=0.05),
        GeoIntersects(label="cz"),
    ]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Final

import msgspec

from eoclient._models import Model
from eoclient.errors import ValidationError
from eoclient.geo import as_geojson

__all__ = [
    "AGGREGATORS",
    "CSV_FORMATS",
    "FILTER_TYPES",
    "RESAMPLES",
    "Aoi",
    "CatalogueEntry",
    "DateRange",
    "Datapoints",
    "Filter",
    "GeoIntersects",
    "Product",
    "TimeRange",
    "ValueList",
    "ValueRange",
    "datapoints_body",
    "format_datetime",
    "parse_filter",
]

FILTER_TYPES: Final = ("time-range", "value-range", "value-list", "geo-intersects")
RESAMPLES: Final = ("weekly", "monthly", "yearly")
CSV_FORMATS: Final = ("simple", "rich")
AGGREGATORS: Final = ("sum", "mean", "min", "max", "median", "count")
"""Aggregators the emulator implements; the client passes any other name through to the service."""

DATETIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
_DATETIME_INPUTS: Final = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


# -- answers --------------------------------------------------------------------------------


class Aoi(Model):
    """An area of interest datapoints can be filtered by (``geo-intersects`` ``geometryLabel``)."""

    label: str
    name: str | None = None


class DateRange(Model):
    """A span of dates for which the catalogue has data (``from``/``to`` on the wire)."""

    start: str = msgspec.field(name="from")
    end: str = msgspec.field(name="to")


class CatalogueEntry(Model, rename=None):
    """One (algorithm, AoI, project, source, version) the Datacube has datapoints for.

    The service writes these in snake_case (``aoi_label``, ``date_ranges``).
    """

    algorithm: str
    aoi_label: str | None = None
    aoi_name: str | None = None
    project: str | None = None
    source: str | None = None
    version: str | None = None
    date_ranges: list[DateRange] = msgspec.field(default_factory=list)
    last_update: str | None = None
    metadata: dict[str, Any] | None = None


class Product(Model):
    """A SpaceKnow product of the Datacube; ``sales_info`` describes each of its columns."""

    product_id: str
    active: bool | None = None
    downloadable: bool | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    sales_info: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)

    @property
    def name(self) -> str | None:
        """``metadata.productName``, if the service gave one."""
        value = self.metadata.get("productName")
        return value if isinstance(value, str) else None


class Datapoints(Model):
    """Datapoints matching a query: ``total_rows`` and the rows themselves.

    Rows are plain dicts because their columns depend on the algorithm and on
    the query (``columns``, ``showAoiTags``...): ``aoi``, ``project``,
    ``algorithm``, ``source``, ``version``, ``startDatetime``, ``endDatetime``,
    ``cloudCover``, ``value``, ...
    """

    total_rows: int
    data: list[dict[str, Any]] = msgspec.field(default_factory=list)

    def column(self, name: str) -> list[Any]:
        """The values of one column, in row order (``None`` where a row lacks it)."""
        return [row.get(name) for row in self.data]


# -- filters --------------------------------------------------------------------------------

DatetimeLike = str | datetime | date


def format_datetime(value: Any, *, field: str) -> str:
    """The service's ``YYYY-MM-DD HH:MM:SS`` (UTC) from a datetime, a date or a string.

    Aware datetimes are converted to UTC, naive ones are taken as UTC; a date
    means its midnight. Strings may be ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM:SS`` or
    ISO with ``T`` (and an optional ``Z``).
    """
    if isinstance(value, datetime):
        moment: datetime = value
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return moment.strftime(DATETIME_FORMAT)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day).strftime(DATETIME_FORMAT)
    if isinstance(value, str):
        text = value.strip().removesuffix("Z")
        for fmt in _DATETIME_INPUTS:
            try:
                return datetime.strptime(text, fmt).strftime(DATETIME_FORMAT)
            except ValueError:
                continue
        raise ValidationError(field, f"not a date-time in the form 'YYYY-MM-DD HH:MM:SS': {value!r}")
    raise ValidationError(field, f"expected a datetime, a date or a string, got {type(value).__name__}")


def _check_field(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError("field", "must be a non-empty string")
    return value


def _number(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(field, f"must be a finite number, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class TimeRange:
    """``time-range``: datapoints whose ``field`` lies in ``[start, end]`` (either may be open).

    Example: ``TimeRange(start="2018-01-01", end="2018-12-31 23:59:59")``.
    """

    field: str = "startDatetime"
    start: DatetimeLike | None = None
    end: DatetimeLike | None = None
    type: ClassVar[str] = "time-range"

    def __post_init__(self) -> None:
        _check_field(self.field)
        if self.start is None and self.end is None:
            raise ValidationError("params", "a time-range needs 'from', 'to' or both")
        start = None if self.start is None else format_datetime(self.start, field="params.from")
        end = None if self.end is None else format_datetime(self.end, field="params.to")
        if start is not None and end is not None and end < start:
            raise ValidationError("params.to", f"ends ({end}) before it starts ({start})")

    def to_wire(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.start is not None:
            params["from"] = format_datetime(self.start, field="params.from")
        if self.end is not None:
            params["to"] = format_datetime(self.end, field="params.to")
        return {"field": self.field, "params": params, "type": self.type}


@dataclass(frozen=True, slots=True)
class ValueRange:
    """``value-range``: datapoints whose numeric ``field`` lies in ``[min, max]``.

    Example: ``ValueRange("cloudCover", max=0.05)``.
    """

    field: str
    min: float | None = None
    max: float | None = None
    type: ClassVar[str] = "value-range"

    def __post_init__(self) -> None:
        _check_field(self.field)
        low = _number(self.min, "params.min")
        high = _number(self.max, "params.max")
        if low is None and high is None:
            raise ValidationError("params", "a value-range needs 'min', 'max' or both")
        if low is not None and high is not None and low > high:
            raise ValidationError("params.min", f"min {low} is greater than max {high}")

    def to_wire(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.min is not None:
            params["min"] = self.min
        if self.max is not None:
            params["max"] = self.max
        return {"field": self.field, "params": params, "type": self.type}


@dataclass(frozen=True, slots=True)
class ValueList:
    """``value-list``: datapoints whose ``field`` is one of ``values``.

    Example: ``ValueList("tag", ["mine", "ore"])``.
    """

    field: str
    values: Sequence[str | int | float]
    type: ClassVar[str] = "value-list"

    def __post_init__(self) -> None:
        _check_field(self.field)
        if isinstance(self.values, str | bytes) or not isinstance(self.values, Sequence):
            raise ValidationError("params.values", "expected a list of values")
        if len(self.values) == 0:
            raise ValidationError("params.values", "must not be empty")
        for i, v in enumerate(self.values):
            if isinstance(v, bool) or not isinstance(v, str | int | float):
                raise ValidationError(f"params.values[{i}]", f"must be a string or a number, got {v!r}")
        object.__setattr__(self, "values", tuple(self.values))

    def to_wire(self) -> dict[str, Any]:
        return {"field": self.field, "params": {"values": list(self.values)}, "type": self.type}


@dataclass(frozen=True, slots=True)
class GeoIntersects:
    """``geo-intersects``: datapoints whose AoI intersects a named AoI or a GeoJSON geometry.

    Give exactly one of ``label`` (an :class:`Aoi` label, ``geometryLabel`` on
    the wire) or ``geometry`` (GeoJSON or ``__geo_interface__``).
    Example: ``GeoIntersects(label="cz")``.
    """

    field: str = "aoi"
    label: str | None = None
    geometry: Any = None
    type: ClassVar[str] = "geo-intersects"

    def __post_init__(self) -> None:
        _check_field(self.field)
        if (self.label is None) == (self.geometry is None):
            raise ValidationError("params", "give exactly one of 'geometryLabel' and 'geometry'")
        if self.label is not None and (not isinstance(self.label, str) or not self.label):
            raise ValidationError("params.geometryLabel", "must be a non-empty string")
        if self.geometry is not None:
            as_geojson(self.geometry, field="params.geometry")

    def to_wire(self) -> dict[str, Any]:
        params: dict[str, Any]
        if self.label is not None:
            params = {"geometryLabel": self.label}
        else:
            params = {"geometry": as_geojson(self.geometry, field="params.geometry")}
        return {"field": self.field, "params": params, "type": self.type}


Filter = TimeRange | ValueRange | ValueList | GeoIntersects

_PARAMS: Final[dict[str, frozenset[str]]] = {
    "time-range": frozenset({"from", "to"}),
    "value-range": frozenset({"min", "max"}),
    "value-list": frozenset({"values"}),
    "geo-intersects": frozenset({"geometryLabel", "geometry"}),
}


def _filter_from_dict(data: Mapping[str, Any]) -> Filter:
    unknown = set(data) - {"type", "field", "params"}
    if unknown:
        raise ValidationError(sorted(unknown)[0], "unknown filter key (expected type, field, params)")
    kind = data.get("type")
    if kind not in FILTER_TYPES:
        expected = ", ".join(FILTER_TYPES)
        raise ValidationError("type", f"unknown filter type {kind!r}; expected one of {expected}")
    if "field" not in data:
        raise ValidationError("field", "is required")
    params = data.get("params")
    if not isinstance(params, Mapping):
        raise ValidationError("params", "is required and must be an object")
    extra = set(params) - _PARAMS[kind]
    if extra:
        raise ValidationError(f"params.{sorted(extra)[0]}", f"not a parameter of a {kind} filter")
    name = data["field"]
    if kind == "time-range":
        return TimeRange(name, params.get("from"), params.get("to"))
    if kind == "value-range":
        return ValueRange(name, params.get("min"), params.get("max"))
    if kind == "value-list":
        if "values" not in params:
            raise ValidationError("params.values", "is required")
        return ValueList(name, params["values"])
    return GeoIntersects(name, params.get("geometryLabel"), params.get("geometry"))


def parse_filter(value: Any, *, where: str = "filter") -> Filter:
    """A filter dataclass from a filter or a reference-style dict; errors name ``where.<field>``."""
    if isinstance(value, TimeRange | ValueRange | ValueList | GeoIntersects):
        return value
    if not isinstance(value, Mapping):
        raise ValidationError(where, f"expected a filter or a dict, got {type(value).__name__}")
    try:
        return _filter_from_dict(value)
    except ValidationError as exc:
        raise ValidationError(f"{where}.{exc.field}", exc.message.partition(": ")[2]) from None


# -- the datapoints query -------------------------------------------------------------------

# Python keyword -> wire name of every option of /datacube/datapoints/get besides filters.
_OPTIONS: Final = {
    "aggregator": "aggregator",
    "show_aoi_positions": "showAoiPositions",
    "show_aoi_tags": "showAoiTags",
    "postprocess_type": "postprocessType",
    "resample": "resample",
    "columns": "columns",
    "keep_duplicates": "keepDuplicates",
    "keep_all_versions": "keepAllVersions",
}
_WIRE_OPTIONS: Final = {wire: py for py, wire in _OPTIONS.items()}
_BOOL_OPTIONS: Final = frozenset(
    {"show_aoi_positions", "show_aoi_tags", "keep_duplicates", "keep_all_versions"}
)


def _single_value(filters: Sequence[Filter], name: str) -> None:
    """The service needs exactly one project and one algorithm, each chosen by a value-list."""
    chosen = [f for f in filters if isinstance(f, ValueList) and f.field == name]
    if len(chosen) != 1 or len(chosen[0].values) != 1:
        raise ValidationError(
            "filters", f"exactly one value-list filter on {name!r} with a single value is required"
        )


def _check_option(name: str, value: Any) -> Any:
    if name in _BOOL_OPTIONS:
        if not isinstance(value, bool):
            raise ValidationError(name, f"must be a bool, got {value!r}")
        return value
    if name == "resample":
        if value not in RESAMPLES:
            raise ValidationError(name, f"must be one of {', '.join(RESAMPLES)}, got {value!r}")
        return value
    if name == "columns":
        if isinstance(value, str | bytes) or not isinstance(value, Sequence) or len(value) == 0:
            raise ValidationError(name, "expected a non-empty list of column names")
        for i, column in enumerate(value):
            if not isinstance(column, str) or not column:
                raise ValidationError(f"{name}[{i}]", "must be a non-empty string")
        return list(value)
    # aggregator, postprocess_type: names the service defines; only their shape is checked here.
    if not isinstance(value, str) or not value:
        raise ValidationError(name, f"must be a non-empty string, got {value!r}")
    return value


def datapoints_body(filters: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body of ``/datacube/datapoints/get`` (and its ``initiate``), checked.

    ``filters`` is a list of filters / filter dicts, or a whole reference-style
    query dict (``{"filters": [...], "resample": "monthly", ...}``); ``options``
    are the Python keywords (``resample="monthly"``), ``None`` meaning "not set".
    """
    given = {k: v for k, v in options.items() if v is not None}
    if isinstance(filters, Mapping):
        query = dict(filters)
        if "filters" not in query:
            raise ValidationError("filters", "is required")
        filters = query.pop("filters")
        for wire, value in query.items():
            name = _WIRE_OPTIONS.get(wire)
            if name is None:
                raise ValidationError(wire, "not a field of a datapoints query")
            if value is not None:
                given.setdefault(name, value)
    if isinstance(filters, str | bytes) or not isinstance(filters, Sequence):
        raise ValidationError("filters", "expected a list of filters")
    if len(filters) == 0:
        raise ValidationError("filters", "must not be empty")
    parsed = [parse_filter(f, where=f"filters[{i}]") for i, f in enumerate(filters)]
    _single_value(parsed, "project")
    _single_value(parsed, "algorithm")
    body: dict[str, Any] = {"filters": [f.to_wire() for f in parsed]}
    for name, value in given.items():
        if name not in _OPTIONS:
            raise ValidationError(name, "not an option of a datapoints query")
        body[_OPTIONS[name]] = _check_option(name, value)
    return body
