"""Request and result models of the Process API (``POST /api/v1/process``), and their checks.

A request is a :class:`ProcessRequest` or a plain dict written exactly as in
the Sentinel Hub documentation. Both are checked on the client before anything
is sent (:func:`eoclient.sentinelhub.prepared.prepare_process`), so a mistake raises
:class:`~eoclient.errors.ValidationError` naming the field (``output.width``,
``input.data[0].dataFilter.timeRange``) instead of costing a round trip.

A dict keeps every key it has, also keys this module does not model (new or
dataset-specific options): the typed model checks and normalizes the fields it
knows (geometry, CRS, times) and the user's other keys are sent unchanged.

Example::

    request = ProcessRequest(
        input=ProcessInput(
            bounds=Bounds.from_bbox([13.8, 45.8, 14.5, 46.2]),
            data=[InputData(type="sentinel-2-l2a",
                            data_filter=DataFilter(time_range=TimeRange.of("2024-06-01T00:00:00Z",
                                                                           "2024-06-30T00:00:00Z")))],
        ),
        output=ProcessOutput(width=512, height=512,
                             responses=[OutputResponse(identifier="default",
                                                       format=OutputFormat(type="image/tiff"))]),
        evalscript=EVALSCRIPT,
    )
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import EllipsisType
from typing import Any, Final, TypeVar

import msgspec

from eoclient._models import Model, from_json, from_user, to_wire
from eoclient.arrays import GeoRef, to_dataset
from eoclient.arrays.georef import epsg_of
from eoclient.errors import ValidationError
from eoclient.geo import as_geojson, bbox_of, checked_geometry_bounds, crs_url, validate_bbox
from eoclient.sentinelhub.data_collections import DataCollection, normalize_data_types
from eoclient.sentinelhub.multipart import TAR_TYPES, ResponsePart, parse_tar
from eoclient.timeutils import TimeLike, parse_time_interval

__all__ = [
    "ACCEPT_TYPES",
    "MAX_SIZE",
    "MULTIPART_TYPES",
    "OUTPUT_FORMATS",
    "Bounds",
    "BoundsProperties",
    "DataFilter",
    "InputData",
    "OutputFormat",
    "OutputResponse",
    "ProcessFile",
    "ProcessInput",
    "ProcessOutput",
    "ProcessRequest",
    "ProcessResult",
    "Processing",
    "ResponsePart",
    "TimeRange",
    "accept_header",
    "resolve_accept",
    "validate_process_request",
]

T = TypeVar("T", bound=Model)
_D = TypeVar("_D")

OUTPUT_FORMATS: Final = frozenset({"image/jpeg", "image/png", "image/tiff", "application/json"})
"""``output.responses[].format.type`` values (OpenAPI ``ProcessRequestOutputFormat*``)."""

MULTIPART_TYPES: Final = frozenset({"application/tar", "application/x-tar", "multipart/mixed"})
"""``Accept`` values that return several responses in one body."""

ACCEPT_TYPES: Final = OUTPUT_FORMATS | MULTIPART_TYPES | {"application/octet-stream"}
"""Every ``Accept`` value the Process API documents."""

MAX_SIZE: Final = 2500
"""Largest width or height of an output image, in pixels."""

DEFAULT_SIZE: Final = 256  # the service's width/height when neither size nor resolution is given
MOSAICKING_ORDERS: Final = frozenset({"mostRecent", "leastRecent", "leastCC"})
GEOMETRY_TYPES: Final = frozenset({"Polygon", "MultiPolygon"})
_FEATURES: Final = frozenset({"Feature", "FeatureCollection"})


# -- input -----------------------------------------------------------------------


def _as_datetime(value: Any, field: str) -> datetime | None:
    """Datetimes (or ISO-8601 strings) as timezone-aware values; naive ones are taken as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(field, f"not an ISO-8601 date-time: {value!r}") from None
    if not isinstance(value, datetime):
        raise ValidationError(field, f"expected a datetime, got {type(value).__name__}")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class TimeRange(Model):
    """``{"from": ..., "to": ...}``; both ends inclusive and may be equal. Naive datetimes are UTC."""

    from_: datetime | None = msgspec.field(default=None, name="from")
    to: datetime | None = None

    def __post_init__(self) -> None:
        self.from_ = _as_datetime(self.from_, "timeRange.from")
        self.to = _as_datetime(self.to, "timeRange.to")

    @classmethod
    def of(cls, start: TimeLike, end: datetime | str | EllipsisType | None = ...) -> TimeRange:
        """``TimeRange.of("2024-06-01T00:00:00Z", datetime(2024, 6, 30, tzinfo=UTC))``.

        With one argument it is an interval as :func:`eoclient.timeutils.parse_time_interval`
        reads it: ``TimeRange.of("2024-06-01")`` is that whole day (in UTC),
        ``TimeRange.of(("2024-06-01", "2024-06-30"))`` runs to the end of June 30.
        """
        if isinstance(end, EllipsisType):
            first, last = parse_time_interval(start, field="timeRange")
            return cls(from_=first, to=last)
        return cls(from_=start, to=end)  # type: ignore[arg-type]  # strings are parsed in __post_init__


class DataFilter(Model):
    """``input.data[].dataFilter``: the documented filters of every collection (all optional)."""

    time_range: TimeRange | None = None
    max_cloud_coverage: float | None = None
    mosaicking_order: str | None = None
    preview_mode: str | None = None
    tiers: str | None = None
    # Sentinel-1
    acquisition_mode: str | None = None
    polarization: str | None = None
    orbit_direction: str | None = None
    resolution: str | None = None
    timeliness: str | None = None
    # DEM, HLS
    dem_instance: str | None = None
    constellation: str | None = None


class Processing(Model):
    """``input.data[].processing``: the documented options of every collection (all optional)."""

    upsampling: str | None = None
    downsampling: str | None = None
    harmonize_values: bool | None = None
    # Sentinel-1
    back_coeff: str | None = None
    orthorectify: bool | None = None
    dem_instance: str | None = None
    radiometric_terrain_oversampling: float | None = None
    speckle_filter: dict[str, Any] | None = None
    # DEM
    clamp_negative: bool | None = None
    egm: bool | None = None


class InputData(Model, dict=True):  # dict=True: room for the DataCollection, which is not sent
    """One collection of ``input.data``: ``type`` (``"sentinel-2-l2a"``, ``"byoc-<id>"``...).

    :meth:`of` builds one from a :class:`~eoclient.sentinelhub.data_collections.DataCollection`.
    """

    type: str
    id: str | None = None
    data_filter: DataFilter | None = None
    processing: Processing | None = None

    def __post_init__(self) -> None:
        kind: Any = self.type
        if isinstance(kind, DataCollection):  # InputData(type=DataCollection.X) works at runtime too
            self.type = kind.api_id
            self._attach(kind)

    def _attach(self, collection: DataCollection) -> None:
        """Remember the collection (for the deployment check) and add its implied filters."""
        self.__dict__["_collection"] = collection
        if collection.data_filter:
            given = msgspec.to_builtins(self.data_filter) if self.data_filter is not None else {}
            self.data_filter = msgspec.convert(
                {**collection.default_data_filter(), **given}, DataFilter, strict=False
            )

    @property
    def data_collection(self) -> DataCollection | None:
        """The collection this entry was made from (``None`` for a plain ``type`` string)."""
        found = self.__dict__.get("_collection")
        return found if isinstance(found, DataCollection) else None

    @classmethod
    def of(
        cls,
        collection: DataCollection | str,
        *,
        time_range: TimeRange | TimeLike = None,
        max_cloud_coverage: float | None = None,
        mosaicking_order: str | None = None,
        data_filter: DataFilter | Mapping[str, Any] | None = None,
        processing: Processing | Mapping[str, Any] | None = None,
        id: str | None = None,
    ) -> InputData:
        """An ``input.data`` entry for ``collection`` with the common filters.

        ``time_range`` is a :class:`TimeRange` or anything
        :func:`eoclient.timeutils.parse_time_interval` reads (a date is that
        whole day); ``max_cloud_coverage`` is in percent (refused for a
        collection without cloud cover metadata); ``data_filter`` and
        ``processing`` add any other documented option (a model or a wire dict).

        Example::

            InputData.of(DataCollection.SENTINEL2_L2A, time_range=("2024-06-01", "2024-06-30"),
                         max_cloud_coverage=20, mosaicking_order="leastCC")
        """
        if isinstance(collection, DataCollection):
            api_id = collection.api_id
            if max_cloud_coverage is not None and not collection.has_cloud_coverage:
                raise ValidationError(
                    "max_cloud_coverage", f"{collection.name} has no cloud cover to filter by"
                )
        elif isinstance(collection, str) and collection.strip():
            api_id = collection
        else:
            raise ValidationError("collection", f"expected a DataCollection or a type, got {collection!r}")
        flt = from_user(data_filter, DataFilter, field="data_filter") if data_filter is not None else None
        changes: dict[str, Any] = {}
        if time_range is not None:
            if not isinstance(time_range, TimeRange):
                first, last = parse_time_interval(time_range, field="time_range")
                time_range = TimeRange(from_=first, to=last)
            changes["time_range"] = time_range
        if max_cloud_coverage is not None:
            changes["max_cloud_coverage"] = max_cloud_coverage
        if mosaicking_order is not None:
            changes["mosaicking_order"] = mosaicking_order
        if changes:
            flt = msgspec.structs.replace(flt if flt is not None else DataFilter(), **changes)
        proc = from_user(processing, Processing, field="processing") if processing is not None else None
        entry = cls(type=api_id, id=id, data_filter=flt, processing=proc)
        if isinstance(collection, DataCollection):
            entry._attach(collection)
        return entry


class BoundsProperties(Model):
    """``input.bounds.properties``: the CRS as an EPSG code, ``"EPSG:n"`` or an OGC URL."""

    crs: str | int | None = None

    def __post_init__(self) -> None:
        if self.crs is not None:
            self.crs = crs_url(self.crs, field="input.bounds.properties.crs")


def bounds_crs(properties: Any) -> str:
    """The CRS URL of ``input.bounds.properties`` (a model, a dict or ``None``: WGS84)."""
    crs = properties.get("crs") if isinstance(properties, Mapping) else getattr(properties, "crs", None)
    return crs_url(crs, field="input.bounds.properties.crs")


class Bounds(Model):
    """``input.bounds``: a ``bbox`` and/or a ``geometry`` (GeoJSON or ``__geo_interface__``)."""

    bbox: list[float] | None = None
    geometry: Any = None
    properties: BoundsProperties | None = None

    def __post_init__(self) -> None:
        if self.geometry is not None:
            # Coordinates are checked against the range of the CRS they are in.
            self.geometry = as_geojson(
                self.geometry, field="input.bounds.geometry", crs=bounds_crs(self.properties)
            )

    @classmethod
    def from_bbox(cls, bbox: Any, crs: int | str | None = None) -> Bounds:
        """From a :class:`eoclient.geo.BBox` (its CRS is used), four numbers, or anything with ``bounds``."""
        if crs is None:
            crs = getattr(bbox, "crs", None)
        props = BoundsProperties(crs=crs) if crs is not None else None
        return cls(bbox=bbox_of(bbox, field="input.bounds.bbox", crs=bounds_crs(props)), properties=props)

    @classmethod
    def from_geometry(cls, geometry: Any, crs: int | str | None = None) -> Bounds:
        """From a GeoJSON geometry (or Feature) dict or any object with ``__geo_interface__``."""
        props = BoundsProperties(crs=crs) if crs is not None else None
        return cls(geometry=geometry, properties=props)


class ProcessInput(Model):
    """``input``: where (``bounds``) and what (``data``, one entry per collection)."""

    bounds: Bounds | None = None
    data: list[InputData] | None = None


# -- output ----------------------------------------------------------------------


class OutputFormat(Model):
    """``{"type": "image/tiff"}``; ``quality`` (0..100) applies to JPEG only."""

    type: str
    quality: int | None = None


class OutputResponse(Model):
    """One output file: ``identifier`` is an evalscript output id or ``"userdata"`` (unset: ``"default"``)."""

    identifier: str | None = None
    format: OutputFormat | None = None


class ProcessOutput(Model):
    """``output``: ``width``/``height`` in pixels *or* ``resx``/``resy`` in CRS units, and the responses."""

    width: int | None = None
    height: int | None = None
    resx: float | None = None
    resy: float | None = None
    responses: list[OutputResponse] | None = None


class ProcessRequest(Model):
    """A whole Process API request."""

    input: ProcessInput | None = None
    evalscript: str | None = None
    output: ProcessOutput | None = None

    @property
    def identifiers(self) -> list[str]:
        """The response identifiers in request order (``["default"]`` when none are given)."""
        responses = self.output.responses if self.output is not None else None
        return [r.identifier or "default" for r in responses] if responses else ["default"]


# -- results ---------------------------------------------------------------------


def positional_maker(cls: type[_D]) -> Callable[..., _D]:
    """A constructor of the frozen slots dataclass ``cls``: every field, positionally, in order.

    What its generated ``__init__`` does, but each field set through its slot
    (half the cost of the ``object.__setattr__`` a frozen ``__init__`` calls
    per field): for the objects made on every request. No defaults are
    filled in and no ``__post_init__`` runs: the caller vouches for the values.
    """
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls}
    for i, name in enumerate(names):
        # The slot's own descriptor (on the class that declares the field): no frozen check.
        slot = next(klass.__dict__[name] for klass in cls.__mro__ if name in klass.__dict__)
        scope[f"set{i}"] = slot.__set__
    params = ", ".join(f"v{i}" for i in range(len(names)))
    sets = "".join(f"    set{i}(o, v{i})\n" for i in range(len(names)))
    exec(f"def make({params}):\n    o = new(cls)\n{sets}    return o\n", scope)  # noqa: S102 - our own text
    make: Callable[..., _D] = scope["make"]
    return make


@dataclass(frozen=True, slots=True)
class ProcessResult:
    """A Process API answer held in memory.

    ``content`` is the whole body; ``parts`` maps each response identifier to
    its file (a multi-part tar or multipart answer is split; a single answer is
    its one part), so ``result["default"].content`` works either way.
    ``processing_units`` comes from the ``x-processingunits-spent`` header.
    ``georef`` is where the image lies, computed from the request (bounds, CRS,
    size), and ``time`` the start of its ``input.data[0]`` time range (``None``
    if it has none): :meth:`to_xarray` labels the pixels with both.
    """

    content: bytes
    content_type: str
    processing_units: float | None
    headers: Mapping[str, str]
    parts: Mapping[str, ResponsePart]
    georef: GeoRef | None = None
    time: datetime | None = None

    def __getitem__(self, identifier: str) -> ResponsePart:
        try:
            return self.parts[identifier]
        except KeyError:
            known = ", ".join(sorted(self.parts)) or "none"
            raise KeyError(f"no response {identifier!r} in this result (have: {known})") from None

    def json(self) -> Any:
        """The body decoded as JSON (for an ``application/json`` answer).

        A body that is not JSON is a :class:`~eoclient.errors.ResponseDecodeError`.
        """
        return from_json(self.content, operation="process")

    def to_numpy(self, *, bands: int | None = None, sample_type: str | None = None) -> Any:
        """The image as a numpy array, band axis last (``(H, W)`` for one band, ``(H, W, B)``).

        The dtype is the one the evalscript asked for (UINT8, UINT16,
        FLOAT32). An answer with several images is a
        :class:`~eoclient.errors.ValidationError`: take one,
        ``result["default"].to_numpy(result.georef)``. Raw
        ``application/octet-stream`` pixels need ``bands`` and ``sample_type``.
        Needs ``pip install 'eoclient[arrays]'``.
        """
        part = _only_image(self.parts)
        return part.to_numpy(self.georef, bands=bands, sample_type=sample_type)

    def to_xarray(
        self,
        *,
        band_names: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
        bands: int | None = None,
        sample_type: str | None = None,
    ) -> Any:
        """The image as an ``xarray.DataArray`` with coordinates; several images as a ``Dataset``.

        Dimensions ``("y", "x", "band")``, with ``time`` first when the
        request has a time range (so :func:`eoclient.arrays.stack_time` stacks
        a series of results); ``x``/``y`` are pixel centres in the request's
        CRS, recorded as rioxarray reads it (``da.rio.crs``). ``userdata`` and
        other JSON outputs are left out of a Dataset. ``band_names`` labels
        the bands (per identifier, as a mapping, for several images).
        Needs ``pip install 'eoclient[xarray]'``.
        """
        return _to_xarray(
            self.parts, self.georef, self.time, band_names, bands=bands, sample_type=sample_type
        )


@dataclass(frozen=True, slots=True)
class ProcessFile:
    """A Process API answer written to ``path`` (a tar file for a multi-part answer).

    ``georef`` and ``time`` are those of :class:`ProcessResult`.
    """

    path: Path
    size: int
    content_type: str
    processing_units: float | None
    headers: Mapping[str, str]
    georef: GeoRef | None = None
    time: datetime | None = None

    def parts(self) -> dict[str, ResponsePart]:
        """The file's responses, read from disk: one part, or each member of a tar answer."""
        body = self.path.read_bytes()
        kind = self.content_type.split(";", 1)[0].strip().lower()
        if kind in TAR_TYPES:
            return parse_tar(body)
        return {"default": ResponsePart("default", body, kind, self.path.name)}

    def to_numpy(self, *, bands: int | None = None, sample_type: str | None = None) -> Any:
        """The image in the file as a numpy array (see :meth:`ProcessResult.to_numpy`)."""
        return _only_image(self.parts()).to_numpy(self.georef, bands=bands, sample_type=sample_type)

    def to_xarray(
        self,
        *,
        band_names: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
        bands: int | None = None,
        sample_type: str | None = None,
    ) -> Any:
        """The file's images with coordinates (see :meth:`ProcessResult.to_xarray`)."""
        return _to_xarray(
            self.parts(), self.georef, self.time, band_names, bands=bands, sample_type=sample_type
        )


def _images(parts: Mapping[str, ResponsePart]) -> list[ResponsePart]:
    images = [part for part in parts.values() if part.is_image]
    if not images:
        raise ValidationError("result", f"holds no image (only {', '.join(sorted(parts)) or 'nothing'})")
    return images


def _only_image(parts: Mapping[str, ResponsePart]) -> ResponsePart:
    images = _images(parts)
    if len(images) > 1:
        names = ", ".join(repr(p.identifier) for p in images)
        raise ValidationError(
            "result",
            f"holds {len(images)} images ({names}): take one, result[{images[0].identifier!r}].to_numpy()",
        )
    return images[0]


def _to_xarray(
    parts: Mapping[str, ResponsePart],
    georef: GeoRef | None,
    time: datetime | None,
    band_names: Sequence[str] | Mapping[str, Sequence[str]] | None,
    *,
    bands: int | None,
    sample_type: str | None,
) -> Any:
    images = _images(parts)
    if len(images) == 1:
        names = band_names.get(images[0].identifier) if isinstance(band_names, Mapping) else band_names
        return images[0].to_xarray(georef, time=time, band_names=names, bands=bands, sample_type=sample_type)
    if band_names is not None and not isinstance(band_names, Mapping):
        raise ValidationError("band_names", "with several images, map each identifier to its band names")
    named = band_names or {}
    return to_dataset(
        {
            part.identifier: part.to_xarray(georef, time=time, band_names=named.get(part.identifier))
            for part in images
        }
    )


def request_time(request: ProcessRequest) -> datetime | None:
    """The start of ``input.data[0].dataFilter.timeRange`` (``None`` when the request has none)."""
    data = request.input.data if request.input is not None else None
    flt = data[0].data_filter if data else None
    return flt.time_range.from_ if flt is not None and flt.time_range is not None else None


def request_georef(request: ProcessRequest, width: int, height: int) -> GeoRef | None:
    """Where the image of a checked request lies (``None`` when its bounds do not say).

    What :meth:`GeoRef.from_request` finds, read from the checked model
    directly: it was validated and normalized once, so it is neither turned
    back into a dict nor walked again (this runs for every answer).
    """
    bounds = request.input.bounds if request.input is not None else None
    if bounds is None:
        return None
    try:
        crs = epsg_of(bounds.properties.crs if bounds.properties is not None else None)
        if bounds.bbox is not None:
            x0, y0, x1, y1 = bounds.bbox
            return GeoRef(crs, (x0, y0, x1, y1), width, height)
        if bounds.geometry is not None:
            return GeoRef(crs, checked_geometry_bounds(bounds.geometry), width, height)
    except (ValidationError, ValueError):  # ValueError: a bbox that is not four numbers
        return None
    return None


# -- turning user input into a checked request ---------------------------------------


def plain_copy(value: Any) -> Any:
    """JSON-ready copy of a user's value (tuples to lists, mappings to dicts)."""
    if hasattr(value, "__geo_interface__"):
        return as_geojson(value, crs=None)  # a key the models do not know: its CRS is not known either
    if isinstance(value, Mapping):
        return {str(k): plain_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_copy(v) for v in value]
    return value


def _overlay(known: Any, user: Any) -> Any:
    """The model's wire form, plus every key of the user's dict the model does not know.

    ``known`` is ``to_builtins`` output (plain dicts, lists and scalars), so exact
    type tests decide the branch; a scalar, or a list of scalars (a bbox), is the
    model's value as it is, and nothing under it is visited.
    """
    kind = type(known)
    if kind is dict:
        # `type(...) is` first: an ABC isinstance on every dict of every request is not free.
        if not (type(user) is dict or isinstance(user, Mapping)) or user.get("type") in _FEATURES:
            return known  # a Feature: the model took its geometry, the Feature's own keys are not sent
        out = dict(known)
        for key, value in user.items():
            if key in out:
                mine = out[key]
                if type(mine) is dict or type(mine) is list:  # a scalar is the model's as it is
                    out[key] = _overlay(mine, value)
            elif value is not None:
                out[str(key)] = plain_copy(value)
        return out
    if (
        kind is list
        and (type(user) is list or (isinstance(user, Sequence) and not isinstance(user, str)))
        and len(known) == len(user)
        and any(type(k) is dict or type(k) is list for k in known)
    ):
        return [_overlay(k, u) for k, u in zip(known, user, strict=True)]
    return known


def to_request(value: Any, type_: type[T]) -> tuple[T, dict[str, Any]]:
    """``(model, wire dict)`` from a model or a docs-style dict; type errors name the field."""
    value = normalize_data_types(value)  # DataCollection objects in a dict's input.data[].type
    model = from_user(value, type_, field="request")
    wire = to_wire(model)
    if not isinstance(value, type_):
        wire = _overlay(wire, value)
    assert isinstance(wire, dict)
    return model, wire


_FIELD_RE: Final = re.compile(r"^([A-Za-z_][\w.\[\]]*): (.*)$", re.S)


def fix_field(exc: ValidationError) -> ValidationError:
    """Rename ``request.input...`` (from :func:`from_user`) to the wire path ``input...``.

    A check inside a model (``timeRange.from: not an ISO-8601 date-time``)
    names its own field; it is joined to the path msgspec reports.
    """
    name = exc.field.removeprefix("request").lstrip(".") or "request"
    text = exc.message.split(": ", 1)[1] if ": " in exc.message else exc.message
    inner = _FIELD_RE.match(text)
    if inner:
        sub, text = inner.group(1), inner.group(2)
        name = sub if name == "request" else _join(name, sub)
    return ValidationError(name, text)


def _join(outer: str, inner: str) -> str:
    """``processRequest.input.bounds`` + ``input.bounds.geometry``: ``processRequest.input.bounds.geometry``.

    The inner path may repeat the end of the outer one (a model names its own
    place as seen from a Process request); the overlap is counted once.
    """
    parts = outer.split(".")
    for i in range(len(parts)):
        tail = ".".join(parts[i:])
        if inner == tail or inner.startswith((tail + ".", tail + "[")):
            return ".".join([*parts[:i], inner])
    return f"{outer}.{inner}"


def check_evalscript(evalscript: str | None, field: str) -> None:
    """An evalscript must be present and not blank."""
    if evalscript is None:
        raise ValidationError(field, "is required")
    if not evalscript.strip():
        raise ValidationError(field, "must not be empty")


def check_bounds(bounds: Bounds | None, field: str) -> tuple[float, float, float, float] | None:
    """Check ``bounds`` (bbox and/or geometry); returns the extent used for resolution checks."""
    if bounds is None:
        raise ValidationError(field, "is required (a bbox and/or a geometry)")
    if bounds.bbox is None and bounds.geometry is None:
        raise ValidationError(field, "needs a bbox or a geometry")
    extent: tuple[float, float, float, float] | None = None
    if bounds.geometry is not None:
        kind = bounds.geometry.get("type")
        if kind not in GEOMETRY_TYPES:
            raise ValidationError(f"{field}.geometry", f"must be a Polygon or MultiPolygon, got {kind}")
        extent = checked_geometry_bounds(bounds.geometry)  # Bounds checked its geometry when it was made
    if bounds.bbox is not None:
        x0, y0, x1, y1 = validate_bbox(bounds.bbox, field=f"{field}.bbox", crs=bounds_crs(bounds.properties))
        extent = (x0, y0, x1, y1)
    return extent


def check_time_range(time_range: TimeRange | None, field: str, *, required: bool = False) -> None:
    """``from`` must not be after ``to``."""
    if time_range is None:
        if required:
            raise ValidationError(field, "is required")
        return
    if required and (time_range.from_ is None or time_range.to is None):
        raise ValidationError(field, "needs both 'from' and 'to'")
    if time_range.from_ is not None and time_range.to is not None and time_range.from_ > time_range.to:
        raise ValidationError(
            field, f"'from' ({time_range.from_.isoformat()}) is after 'to' ({time_range.to.isoformat()})"
        )


def check_input(inp: ProcessInput | None, field: str) -> tuple[float, float, float, float] | None:
    """Check bounds and data of a Process (or Statistical) input; returns the extent."""
    if inp is None:
        raise ValidationError(field, "is required (bounds and data)")
    extent = check_bounds(inp.bounds, f"{field}.bounds")
    if not inp.data:
        raise ValidationError(f"{field}.data", "needs at least one collection")
    for i, item in enumerate(inp.data):
        where = f"{field}.data[{i}]"
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
    return extent


def check_size(
    width: int | None,
    height: int | None,
    resx: float | None,
    resy: float | None,
    *,
    extent: tuple[float, float, float, float] | None,
    field: str,
) -> tuple[int, int]:
    """Check width/height *or* resx/resy; returns the output size in pixels (estimated)."""
    for name, size in (("width", width), ("height", height)):
        if size is not None and not 1 <= size <= MAX_SIZE:
            raise ValidationError(f"{field}.{name}", f"must be between 1 and {MAX_SIZE}, got {size}")
    has_size = width is not None or height is not None
    has_res = resx is not None or resy is not None
    if has_size and has_res:
        raise ValidationError(field, "set either width/height or resx/resy, not both")
    if has_res:
        if resx is None or resy is None:
            raise ValidationError(
                f"{field}.{'resy' if resy is None else 'resx'}", "resx and resy go together"
            )
        for name, res in (("resx", resx), ("resy", resy)):
            if not math.isfinite(res) or res <= 0:
                raise ValidationError(f"{field}.{name}", f"must be a positive number, got {res}")
        if extent is None:
            return DEFAULT_SIZE, DEFAULT_SIZE
        w = math.ceil((extent[2] - extent[0]) / resx)
        h = math.ceil((extent[3] - extent[1]) / resy)
        for name, pixels in (("resx", w), ("resy", h)):
            if pixels > MAX_SIZE:
                raise ValidationError(
                    f"{field}.{name}",
                    f"gives an image of {pixels} pixels along this axis; the maximum is {MAX_SIZE}",
                )
        return max(w, 1), max(h, 1)
    if width is None and height is None:
        return DEFAULT_SIZE, DEFAULT_SIZE
    if width is not None and height is not None:
        return width, height
    # One side given: the service keeps the aspect ratio of the bounds.
    ratio = 1.0 if extent is None else (extent[3] - extent[1]) / (extent[2] - extent[0])
    if width is not None:
        return width, max(1, round(width * ratio))
    assert height is not None
    return max(1, round(height / ratio)), height


def check_output(
    output: ProcessOutput | None, extent: tuple[float, float, float, float] | None
) -> tuple[int, int]:
    """Check ``output``; returns the output size in pixels (estimated, for the PU estimate)."""
    if output is None:
        return check_size(None, None, None, None, extent=extent, field="output")
    size = check_size(output.width, output.height, output.resx, output.resy, extent=extent, field="output")
    if output.responses is None:
        return size
    if not output.responses:
        raise ValidationError("output.responses", "must not be empty (omit it for the default PNG)")
    seen: set[str] = set()
    for i, response in enumerate(output.responses):
        where = f"output.responses[{i}]"
        identifier = "default" if response.identifier is None else response.identifier
        if not identifier.strip():
            raise ValidationError(f"{where}.identifier", "must not be empty")
        if identifier in seen:
            raise ValidationError(f"{where}.identifier", f"{identifier!r} is given twice")
        seen.add(identifier)
        fmt = response.format
        if fmt is None:
            continue
        if fmt.type not in OUTPUT_FORMATS:
            allowed = ", ".join(sorted(OUTPUT_FORMATS))
            raise ValidationError(
                f"{where}.format.type", f"unknown format {fmt.type!r}; use one of {allowed}"
            )
        if fmt.quality is not None and (fmt.type != "image/jpeg" or not 0 <= fmt.quality <= 100):
            raise ValidationError(f"{where}.format.quality", "applies to image/jpeg only, from 0 to 100")
    return size


def validate_process_request(request: ProcessRequest) -> tuple[int, int]:
    """Every client-side check of a Process request; returns the output size in pixels.

    Raises :class:`ValidationError` naming the field. Requests are prepared
    (checked, normalized, encoded) by :func:`eoclient.sentinelhub.prepared.prepare_process`.
    """
    check_evalscript(request.evalscript, "evalscript")
    extent = check_input(request.input, "input")
    return check_output(request.output, extent)


def to_checked_request(value: Any, type_: type[T]) -> tuple[T, dict[str, Any]]:
    """:func:`to_request` with the error renamed to its wire path (``input.bounds.bbox``)."""
    try:
        return to_request(value, type_)
    except ValidationError as exc:
        raise fix_field(exc) from None


def resolve_accept(request: ProcessRequest, accept: str | None) -> str:
    """The ``Accept`` header: ``accept`` if given, else the single response's format, else a tar.

    The tar is asked for as ``application/x-tar``: the name the contract lists for the
    200 answer (``application/tar`` is only in the header's description).
    """
    responses = request.output.responses if request.output is not None else None
    fmt = responses[0].format if responses else None
    return accept_header(request.identifiers, fmt.type if fmt is not None else None, accept)


def accept_header(identifiers: Sequence[str], first_format: str | None, accept: str | None) -> str:
    """:func:`resolve_accept` from the response identifiers and the first response's format type."""
    if accept is not None:
        media = accept.split(";")[0].strip().lower()
        if media not in ACCEPT_TYPES:
            raise ValidationError(
                "accept", f"unknown type {accept!r}; use one of {', '.join(sorted(ACCEPT_TYPES))}"
            )
        if len(identifiers) > 1 and media not in MULTIPART_TYPES:
            raise ValidationError(
                "accept",
                f"{len(identifiers)} responses need application/tar, application/x-tar or multipart/mixed",
            )
        return accept
    if len(identifiers) > 1:
        return "application/x-tar"
    return first_format if first_format is not None else "image/png"
