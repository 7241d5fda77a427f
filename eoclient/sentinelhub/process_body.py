"""A docs-style Process request dict checked and turned into its JSON body in one pass.

The general path (:func:`~eoclient.sentinelhub.process_models.to_checked_request`)
converts a dict into the typed models, back into a dict, and lays the user's
dict over it again to keep the keys the models do not know. For the shape
nearly every request has — plain dicts and lists, ``type`` strings, a bbox, the
documented filters and options — :func:`fast_process_body` does the same in one
walk: every field the models check is checked the same way (strict types, CRS,
times, bbox, sizes, responses) and normalized to the same value, and every
other key is copied as the overlay copies it.

It never reports a mistake itself: anything it cannot vouch for (a wrong type,
a failed check, a geometry, a ``DataCollection``, a ``Mapping`` that is not a
``dict``...) returns ``None``, and the caller takes the general path, which
raises the :class:`~eoclient.errors.ValidationError` naming the field. So the
messages stay those of one implementation, and a valid request is checked once.
``tests/unit/test_process_body.py`` holds the two paths to the same body, or
the same error, over a corpus of requests.
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

import msgspec

from eoclient.arrays.georef import GeoRef, epsg_of
from eoclient.errors import ValidationError
from eoclient.geo import CRS84, crs_extent, crs_url
from eoclient.sentinelhub.cache import canonical_json
from eoclient.sentinelhub.process_models import (
    MAX_SIZE,
    MOSAICKING_ORDERS,
    OUTPUT_FORMATS,
    check_size,
    plain_copy,
    positional_maker,
)

__all__ = ["FastBody", "fast_process_body"]

_FEATURES: Final = frozenset({"Feature", "FeatureCollection"})

# Scalar fields of DataFilter and Processing by wire name and the one builtin type msgspec
# (strict) takes for them; `float` also takes an int, which is sent as a float, as the model does.
_STR, _FLOAT, _BOOL, _OTHER = "str", "float", "bool", "other"  # other: the general path's
_FILTER_FIELDS: Final = {
    "maxCloudCoverage": _FLOAT,
    "mosaickingOrder": _STR,
    "previewMode": _STR,
    "tiers": _STR,
    "acquisitionMode": _STR,
    "polarization": _STR,
    "orbitDirection": _STR,
    "resolution": _STR,
    "timeliness": _STR,
    "demInstance": _STR,
    "constellation": _STR,
}
_PROCESSING_FIELDS: Final = {
    "upsampling": _STR,
    "downsampling": _STR,
    "harmonizeValues": _BOOL,
    "backCoeff": _STR,
    "orthorectify": _BOOL,
    "demInstance": _STR,
    "radiometricTerrainOversampling": _FLOAT,
    "speckleFilter": _OTHER,
    "clampNegative": _BOOL,
    "egm": _BOOL,
}


# The wire names this module reads at each level of a request, by the model that defines them
# (a test holds them to the models' fields: a new field is never taken for an unknown key).
HANDLED: Final = {
    "ProcessRequest": frozenset({"input", "evalscript", "output"}),
    "ProcessInput": frozenset({"bounds", "data"}),
    "Bounds": frozenset({"bbox", "geometry", "properties"}),
    "BoundsProperties": frozenset({"crs"}),
    "InputData": frozenset({"type", "id", "dataFilter", "processing"}),
    "DataFilter": frozenset({"timeRange", *_FILTER_FIELDS}),
    "TimeRange": frozenset({"from", "to"}),
    "Processing": frozenset(_PROCESSING_FIELDS),
    "ProcessOutput": frozenset({"width", "height", "resx", "resy", "responses"}),
    "OutputResponse": frozenset({"identifier", "format"}),
    "OutputFormat": frozenset({"type", "quality"}),
}


class _Refused(Exception):
    """Not vouched for here: the general path decides (and names the field if it is a mistake)."""


_REFUSED: Final = _Refused()  # raised often on the way out, never shown: one instance


class FastBody(NamedTuple):  # a tuple: made for every request, and a frozen dataclass costs more to make
    """What one pass over a valid request dict found."""

    wire: dict[str, Any] | None
    """The JSON body as builtins (the general path's ``wire``); ``None``: decode it from ``body``."""
    body: bytes
    """The JSON body, keys sorted (:func:`~eoclient.sentinelhub.cache.canonical_json` of ``wire``)."""
    width: int
    height: int
    parts: tuple[tuple[str, str | None], ...]
    """``(identifier, media type asked for)`` of each response, in order."""
    evalscript: str
    collections: int
    georef: GeoRef | None
    time: datetime | None
    """The start of ``input.data[0]``'s time range."""


def fast_process_body(request: Any) -> FastBody | None:
    """The checked body of a plain request dict, or ``None``: take the general path.

    Two tries, cheapest first: msgspec checks the types of a request without
    a key the models do not know (:func:`_shaped`), else the walk of this module
    copies the unknown keys too (:func:`_request`).
    """
    if type(request) is not dict:
        return None
    try:
        return _shaped(request)
    except (_Refused, ValidationError, msgspec.ValidationError, OverflowError):
        pass
    if request.get("type") in _FEATURES:
        return None
    try:
        return _request(request)
    except (_Refused, ValidationError, OverflowError):  # OverflowError: an int too large for a float
        return None


# --- the first try: the request's shape, checked by msgspec ------------------------------------
# The models' fields that a docs-style dict holds, of the types the models take (strict: a bool is
# not a number, an int is taken for a float), with no other key: anything else is the walk's.
# Absent and None are the same (the default), and left out of the body as the walk leaves them.


class _Shape(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class _TimeRangeShape(_Shape, rename={"from_": "from"}):
    from_: Any = None  # a str or a datetime: _instant decides (msgspec takes no union of the two)
    to: Any = None


class _FilterShape(_Shape):
    timeRange: _TimeRangeShape | None = None
    maxCloudCoverage: float | None = None
    mosaickingOrder: str | None = None
    previewMode: str | None = None
    tiers: str | None = None
    acquisitionMode: str | None = None
    polarization: str | None = None
    orbitDirection: str | None = None
    resolution: str | None = None
    timeliness: str | None = None
    demInstance: str | None = None
    constellation: str | None = None


class _ProcessingShape(_Shape):  # no speckleFilter: the general path's
    upsampling: str | None = None
    downsampling: str | None = None
    harmonizeValues: bool | None = None
    backCoeff: str | None = None
    orthorectify: bool | None = None
    demInstance: str | None = None
    radiometricTerrainOversampling: float | None = None
    clampNegative: bool | None = None
    egm: bool | None = None


class _DataShape(_Shape):
    type: str
    id: str | None = None
    dataFilter: _FilterShape | None = None
    processing: _ProcessingShape | None = None


class _PropertiesShape(_Shape):
    crs: str | int | None = None


class _BoundsShape(_Shape):
    bbox: tuple[float, float, float, float]
    geometry: None = None  # a geometry is the general path's
    properties: _PropertiesShape | None = None


class _InputShape(_Shape):
    bounds: _BoundsShape
    data: list[_DataShape]


class _FormatShape(_Shape):
    type: str
    quality: int | None = None


class _ResponseShape(_Shape):
    identifier: str | None = None
    format: _FormatShape | None = None


class _OutputShape(_Shape):
    width: int | None = None
    height: int | None = None
    resx: float | None = None
    resy: float | None = None
    responses: list[_ResponseShape] | None = None


class _RequestShape(_Shape):
    input: _InputShape
    evalscript: str
    output: _OutputShape | None = None


def _shaped(request: dict[Any, Any]) -> FastBody:
    """:func:`_request` for a request whose every key the models know: the types checked by msgspec.

    The shape itself, its values normalized in place, is encoded with sorted keys: the bytes
    ``canonical_json`` makes of the walk's ``wire`` (the struct's fields are the wire names, and
    left out when absent as the walk leaves them out). No ``wire`` is built: nearly nobody asks.
    """
    shape = msgspec.convert(request, _RequestShape, strict=True)
    if not shape.evalscript.strip():
        raise _REFUSED
    inp = shape.input
    bounds = inp.bounds
    properties = bounds.properties
    crs = CRS84
    if properties is not None and properties.crs is not None:
        crs = properties.crs = crs_url(properties.crs, field="input.bounds.properties.crs")
    bbox = bounds.bbox = _bbox(bounds.bbox, crs)
    data = inp.data
    if not data:
        raise _REFUSED
    start: datetime | None = None
    for i, item in enumerate(data):
        kind = item.type
        if not kind.strip() or kind in _FEATURES:
            raise _REFUSED
        flt = item.dataFilter
        if flt is None:
            continue
        cover = flt.maxCloudCoverage
        if cover is not None and not 0 <= cover <= 100:
            raise _REFUSED
        order = flt.mosaickingOrder
        if order is not None and order not in MOSAICKING_ORDERS:
            raise _REFUSED
        time_range = flt.timeRange
        if time_range is None:
            continue
        first = last = None
        value = time_range.from_
        if value is not None:  # _instant's usual case (a string) without its call
            first, time_range.from_ = _parsed(value) if type(value) is str else _instant(value)
        value = time_range.to
        if value is not None:
            last, time_range.to = _parsed(value) if type(value) is str else _instant(value)
        if first is not None and last is not None and first > last:
            raise _REFUSED
        if i == 0:
            start = first
    width, height, parts = _shaped_output(shape.output, bbox)
    body = msgspec.json.encode(shape, order="sorted")
    # Positional, in FastBody's order, through tuple.__new__ (a NamedTuple's own __new__ is Python).
    return _new_body(
        FastBody,
        (
            None,
            body,
            width,
            height,
            parts,
            shape.evalscript,
            len(data),
            _georef(crs, bbox, width, height),
            start,
        ),
    )


_new_body = tuple.__new__


def _shaped_output(
    output: _OutputShape | None, extent: tuple[float, float, float, float]
) -> tuple[int, int, tuple[tuple[str, str | None], ...]]:
    if output is None:
        width, height = check_size(None, None, None, None, extent=extent, field="output")
        return width, height, _DEFAULT_PARTS
    given_width, given_height = output.width, output.height
    if (
        given_width is not None
        and given_height is not None
        and 1 <= given_width <= MAX_SIZE
        and 1 <= given_height <= MAX_SIZE
        and output.resx is None
        and output.resy is None
    ):  # the usual width and height, in range
        width, height = given_width, given_height
    else:  # check_size's to decide (and compute)
        width, height = check_size(
            output.width, output.height, output.resx, output.resy, extent=extent, field="output"
        )
    responses = output.responses
    if responses is None:
        return width, height, _DEFAULT_PARTS
    if not responses:
        raise _REFUSED
    parts: list[tuple[str, str | None]] = []
    for response in responses:
        identifier = response.identifier
        if identifier is None:
            identifier = "default"
        if not identifier.strip() or (parts and any(identifier == seen for seen, _ in parts)):
            raise _REFUSED
        fmt = response.format
        asked: str | None = None
        if fmt is not None:
            asked = fmt.type
            quality = fmt.quality
            if asked not in OUTPUT_FORMATS or (
                quality is not None and (asked != "image/jpeg" or not 0 <= quality <= 100)
            ):
                raise _REFUSED
        parts.append((identifier, asked))
    return width, height, tuple(parts)


_DEFAULT_PARTS: Final[tuple[tuple[str, str | None], ...]] = (("default", None),)


# --- the second try: a walk that also copies the keys the models do not know -------------------


def _request(request: dict[Any, Any]) -> FastBody:
    wire: dict[str, Any] = {}
    evalscript: str | None = None
    inp: dict[Any, Any] | None = None
    output: dict[Any, Any] | None = None
    for key, value in request.items():
        if key == "evalscript":
            if value is not None:
                if type(value) is not str or not value.strip():
                    raise _REFUSED
                evalscript = wire[key] = value
        elif key == "input":
            if value is not None:
                inp = _dict(value)
        elif key == "output":
            if value is not None:
                output = _dict(value)
        else:
            _unknown(wire, key, value)
    if evalscript is None or inp is None:
        raise _REFUSED
    wire["input"], bbox, crs, data, start = _input(inp)
    width, height, parts, wire_out = _output(output, bbox)
    if wire_out is not None:
        wire["output"] = wire_out
    return FastBody(
        wire=wire,
        body=canonical_json(wire),
        width=width,
        height=height,
        parts=parts,
        evalscript=evalscript,
        collections=data,
        georef=_georef(crs, bbox, width, height),
        time=start,
    )


def _dict(value: Any) -> dict[Any, Any]:
    if type(value) is not dict or value.get("type") in _FEATURES:
        raise _REFUSED
    return value


def _unknown(wire: dict[str, Any], key: Any, value: Any) -> None:
    """A key the models do not know: copied as the overlay copies it (a ``None`` is left out)."""
    if type(key) is not str:
        raise _REFUSED
    if value is not None:
        wire[key] = plain_copy(value)


def _input(
    inp: dict[Any, Any],
) -> tuple[dict[str, Any], tuple[float, float, float, float], str, int, datetime | None]:
    out: dict[str, Any] = {}
    bounds: dict[Any, Any] | None = None
    data: list[Any] | None = None
    for key, value in inp.items():
        if key == "bounds":
            if value is not None:
                bounds = _dict(value)
        elif key == "data":
            if value is not None:
                if type(value) is not list or not value:
                    raise _REFUSED
                data = value
        else:
            _unknown(out, key, value)
    if bounds is None or data is None:
        raise _REFUSED
    out["bounds"], bbox, crs = _bounds(bounds)
    items = []
    start: datetime | None = None
    for i, item in enumerate(data):
        wire_item, item_start = _data_item(item)
        if i == 0:
            start = item_start
        items.append(wire_item)
    out["data"] = items
    return out, bbox, crs, len(items), start


def _bounds(bounds: dict[Any, Any]) -> tuple[dict[str, Any], tuple[float, float, float, float], str]:
    out: dict[str, Any] = {}
    box: Any = None
    properties: dict[str, Any] | None = None
    for key, value in bounds.items():
        if key == "bbox":
            box = value
        elif key == "geometry":
            if value is not None:  # as_geojson and a Feature's keys: the general path's
                raise _REFUSED
        elif key == "properties":
            if value is not None:
                properties = _properties(_dict(value))
        else:
            _unknown(out, key, value)
    crs = properties.get("crs", CRS84) if properties is not None else CRS84
    x0, y0, x1, y1 = _bbox(box, crs)
    out["bbox"] = [x0, y0, x1, y1]
    if properties is not None:
        out["properties"] = properties
    return out, (x0, y0, x1, y1), crs


def _bbox(box: Any, crs: str) -> tuple[float, float, float, float]:
    """What :func:`~eoclient.geo.validate_bbox` accepts, checked inline (it is every request's)."""
    if not (type(box) is list or type(box) is tuple) or len(box) != 4:
        raise _REFUSED
    for v in box:  # the model's list[float]: an int is taken (and sent as a float), a bool is not
        if not (type(v) is float or type(v) is int):
            raise _REFUSED
    x0, y0, x1, y1 = float(box[0]), float(box[1]), float(box[2]), float(box[3])
    extent = _extent(crs)
    if extent is None:  # a CRS without a known range: finite, and not empty nor inverted
        if not (math.isfinite(x0 + y0 + x1 + y1) and x0 < x1 and y0 < y1):
            raise _REFUSED
    elif not (extent[0] <= x0 < x1 <= extent[2] and extent[1] <= y0 < y1 <= extent[3]):
        raise _REFUSED  # NaN and infinities fail here too: every extent is finite
    return x0, y0, x1, y1


@functools.lru_cache(maxsize=64)  # the same few CRSs, request after request
def _extent(crs: str) -> tuple[float, float, float, float] | None:
    return crs_extent(crs)


def _properties(properties: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in properties.items():
        if key == "crs":
            if value is not None:
                if not (type(value) is str or type(value) is int):
                    raise _REFUSED
                out[key] = crs_url(value, field="input.bounds.properties.crs")
        else:
            _unknown(out, key, value)
    return out


def _data_item(item: Any) -> tuple[dict[str, Any], datetime | None]:
    out: dict[str, Any] = {}
    kind = None
    start: datetime | None = None
    for key, value in _dict(item).items():
        if key == "type":
            kind = value
        elif key == "id":
            if value is not None:
                if type(value) is not str:
                    raise _REFUSED
                out[key] = value
        elif key == "dataFilter":
            if value is not None:
                out[key], start = _data_filter(_dict(value))
        elif key == "processing":
            if value is not None:
                out[key] = _scalars(_dict(value), _PROCESSING_FIELDS)
        else:
            _unknown(out, key, value)
    # A DataCollection object (or anything else) is the general path's: it adds implied filters.
    if type(kind) is not str or not kind.strip() or kind in _FEATURES:
        raise _REFUSED
    out["type"] = kind
    return out, start


def _data_filter(flt: dict[Any, Any]) -> tuple[dict[str, Any], datetime | None]:
    time_range = flt.get("timeRange")
    rest = {k: v for k, v in flt.items() if k != "timeRange"} if "timeRange" in flt else flt
    out = _scalars(rest, _FILTER_FIELDS)
    cover = out.get("maxCloudCoverage")
    if cover is not None and not 0 <= cover <= 100:
        raise _REFUSED
    order = out.get("mosaickingOrder")
    if order is not None and order not in MOSAICKING_ORDERS:
        raise _REFUSED
    start: datetime | None = None
    if time_range is not None:
        out["timeRange"], start = _time_range(_dict(time_range))
    return out, start


def _time_range(time_range: dict[Any, Any]) -> tuple[dict[str, Any], datetime | None]:
    out: dict[str, Any] = {}
    first = last = None
    for key, value in time_range.items():
        if key in {"from", "to"}:
            if value is not None:
                when, out[key] = _instant(value)
                if key == "from":
                    first = when
                else:
                    last = when
        else:
            _unknown(out, key, value)
    if first is not None and last is not None and first > last:
        raise _REFUSED
    return out, first


def _instant(value: Any) -> tuple[datetime, str]:
    """A time as the model keeps it (naive is UTC) and as it is sent."""
    if type(value) is str:
        return _parsed(value)
    if type(value) is datetime:  # not cached: equal instants in other zones are sent as given
        return _instant_of(value)
    raise _REFUSED


@functools.lru_cache(maxsize=256)  # the same few times, request after request
def _parsed(value: str) -> tuple[datetime, str]:
    return _instant_of(value)


def _instant_of(value: str | datetime) -> tuple[datetime, str]:
    try:
        when = msgspec.convert(value, datetime, strict=True)
    except msgspec.ValidationError:
        raise _REFUSED from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    text = msgspec.to_builtins(when)
    assert isinstance(text, str)
    return when, text


def _scalars(values: dict[Any, Any], fields: dict[str, str]) -> dict[str, Any]:
    """The scalar options of a filter or a processing block, of the types the model takes."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        kind = fields.get(key) if type(key) is str else None
        if kind is None:
            _unknown(out, key, value)
        elif value is not None:
            out[key] = _scalar(value, kind)
    return out


def _scalar(value: Any, kind: str) -> Any:
    cls = type(value)
    if kind == _STR and cls is str:
        return value
    if kind == _BOOL and cls is bool:
        return value
    if kind == _FLOAT and (cls is float or cls is int):
        try:
            return float(value)
        except OverflowError:
            raise _REFUSED from None
    raise _REFUSED


def _output(
    output: dict[Any, Any] | None, extent: tuple[float, float, float, float]
) -> tuple[int, int, tuple[tuple[str, str | None], ...], dict[str, Any] | None]:
    if output is None:
        width, height = check_size(None, None, None, None, extent=extent, field="output")
        return width, height, (("default", None),), None
    out: dict[str, Any] = {}
    size: dict[str, Any] = {}
    responses: Any = None
    for key, value in output.items():
        if key in {"width", "height"}:
            if value is not None:
                if type(value) is not int:
                    raise _REFUSED
                size[key] = out[key] = value
        elif key in {"resx", "resy"}:
            if value is not None:
                size[key] = out[key] = _scalar(value, _FLOAT)
        elif key == "responses":
            responses = value
        else:
            _unknown(out, key, value)
    width, height = check_size(
        size.get("width"),
        size.get("height"),
        size.get("resx"),
        size.get("resy"),
        extent=extent,
        field="output",
    )
    if responses is None:
        return width, height, (("default", None),), out
    if type(responses) is not list or not responses:
        raise _REFUSED
    out["responses"], parts = _responses(responses)
    return width, height, parts, out


def _responses(responses: list[Any]) -> tuple[list[dict[str, Any]], tuple[tuple[str, str | None], ...]]:
    wire: list[dict[str, Any]] = []
    parts: list[tuple[str, str | None]] = []
    for response in responses:
        out: dict[str, Any] = {}
        identifier: Any = None
        asked: str | None = None
        for key, value in _dict(response).items():
            if key == "identifier":
                identifier = value
            elif key == "format":
                if value is not None:
                    out[key], asked = _format(_dict(value))
            else:
                _unknown(out, key, value)
        if identifier is None:
            identifier = "default"
        else:
            if type(identifier) is not str:
                raise _REFUSED
            out["identifier"] = identifier
        if not identifier.strip() or (parts and any(identifier == seen for seen, _ in parts)):
            raise _REFUSED
        wire.append(out)
        parts.append((identifier, asked))
    return wire, tuple(parts)


def _format(fmt: dict[Any, Any]) -> tuple[dict[str, Any], str]:
    out: dict[str, Any] = {}
    kind: Any = None
    for key, value in fmt.items():
        if key == "type":
            kind = value
        elif key == "quality":
            if value is not None:
                if type(value) is not int:
                    raise _REFUSED
                out[key] = value
        else:
            _unknown(out, key, value)
    if type(kind) is not str or kind not in OUTPUT_FORMATS:
        raise _REFUSED
    quality = out.get("quality")
    if quality is not None and (kind != "image/jpeg" or not 0 <= quality <= 100):
        raise _REFUSED
    out["type"] = kind
    return out, kind


def _georef(crs: str, bbox: tuple[float, float, float, float], width: int, height: int) -> GeoRef | None:
    """Where the image lies (what :func:`~eoclient.sentinelhub.process_models.request_georef` finds).

    Made without :class:`GeoRef`'s own checks, which this pass already made:
    the bbox four finite floats, not empty nor inverted (:func:`_bbox`), the
    size whole pixels >= 1 (``check_size``), the EPSG code positive.
    """
    try:
        epsg = _epsg(crs)
    except (ValidationError, ValueError):
        return None
    if epsg <= 0:  # as GeoRef refuses it
        return None
    return _new_georef(epsg, bbox, width, height)


_new_georef = positional_maker(GeoRef)  # its checks are made above: each field set through its slot


@functools.lru_cache(maxsize=64)  # the same few CRS URLs, request after request
def _epsg(crs: str) -> int:
    return epsg_of(crs)
