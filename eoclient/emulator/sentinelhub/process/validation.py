"""Checking a Process API body as the service does (shared by the Statistical, Async and batch APIs).

A bad body is a 400 ``COMMON_BAD_PAYLOAD`` naming the parameter the way
Sentinel Hub does (``input->bounds->bbox``), with an ``errors`` list:
:func:`~eoclient.emulator.core.refusal.invalid`. Checked: a data collection
``type`` it knows (:data:`DATA_TYPES` or ``byoc-``/``batch-``/``zarr-<uuid>``),
a bbox or geometry within its CRS's range (:func:`crs_range`), an image size,
the output formats.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any, Final, TypeGuard

from eoclient.emulator.core.refusal import invalid

__all__ = [
    "DATA_TYPES",
    "EXTENSIONS",
    "FORMATS",
    "MAX_SIZE",
    "crs_range",
    "parse_bounds",
    "parse_data",
    "parse_input",
    "parse_responses",
    "parse_size",
    "parse_time",
]

MAX_SIZE: Final = 2500
EXTENSIONS: Final = {"image/tiff": "tif", "image/png": "png", "image/jpeg": "jpg", "application/json": "json"}
"""The extension of the files of each format the service renders."""
FORMATS: Final = frozenset(EXTENSIONS)
"""The ``output.responses[].format.type`` values the service renders."""
_CRS_RE: Final = re.compile(r"^https?://www\.opengis\.net/def/crs/(EPSG/0/(\d+)|OGC/1\.3/CRS84)$")
_WGS84: Final = (-180.0, -90.0, 180.0, 90.0)
_WEB_MERCATOR: Final = (-20037508.3428, -20048966.1041, 20037508.3428, 20048966.1041)  # EPSG:3857 bounds
# A UTM zone's own coordinates: false easting 500 km (so 0..1000 km), northing 0..10000 km
# (the south zones' false northing is 10000 km at the equator).
_UTM: Final = (0.0, 0.0, 1_000_000.0, 10_000_000.0)

DATA_TYPES: Final = frozenset(
    {
        # The OpenAPI document's ProcessRequestInputData types ...
        "sentinel-2-l1c",
        "sentinel-2-l2a",
        "landsat-8-l1c",
        "landsat-ot-l1",
        "landsat-ot-l2",
        "landsat-etm-l1",
        "landsat-etm-l2",
        "landsat-tm-l1",
        "landsat-tm-l2",
        "landsat-mss-l1",
        "modis",
        "dem",
        "sentinel-1-grd",
        "hls",
        # ... and the Sentinel-3/5P collections docs.sentinel-hub.com lists besides them.
        "sentinel-3-olci",
        "sentinel-3-slstr",
        "sentinel-5p-l2",
    }
)
"""The ``input.data[].type`` values of the data collections; ``byoc-``/``batch-``/``zarr-<uuid>`` too."""
_OWN_COLLECTION_RE: Final = re.compile(
    r"^(byoc|batch|zarr)-[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$"
)
_MOSAICKING: Final = frozenset({"mostRecent", "leastRecent", "leastCC"})


# -- reading the request -----------------------------------------------------------


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_time(value: Any, parameter: str) -> datetime:
    """An ISO-8601 date-time with a time part (a bare date is refused, as by the service)."""
    if not isinstance(value, str) or "T" not in value:
        raise invalid(parameter, value, "must be an ISO-8601 date-time, e.g. 2019-01-31T14:00:00Z")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise invalid(parameter, value, "must be an ISO-8601 date-time, e.g. 2019-01-31T14:00:00Z") from None
    if moment.tzinfo is None:
        raise invalid(parameter, value, "must have a time zone, e.g. Z or +01:00")
    return moment


def _points(value: Any) -> list[tuple[float, float]]:
    """Every ``[x, y]`` position of nested GeoJSON coordinates, in order."""
    if isinstance(value, list) and len(value) >= 2 and all(_number(v) for v in value):
        return [(float(value[0]), float(value[1]))]
    if isinstance(value, list) and value:
        return [p for item in value for p in _points(item)]
    raise ValueError("bad coordinates")


def crs_range(crs: str | None) -> tuple[float, float, float, float] | None:
    """The coordinates a CRS can express (``min_x, min_y, max_x, max_y``), ``None`` if not known here.

    WGS84 (CRS84, EPSG:4326, longitude first as the service reads both), Web
    Mercator (EPSG:3857) and the UTM zones (EPSG:326xx north, 327xx south).
    """
    match = _CRS_RE.match(crs) if crs is not None else None
    if crs is None or (match is not None and match.group(2) is None):
        return _WGS84
    code = int(match.group(2)) if match is not None else 0
    if code == 4326:
        return _WGS84
    if code == 3857:
        return _WEB_MERCATOR
    if 32601 <= code <= 32660 or 32701 <= code <= 32760:
        return _UTM
    return None


def _check_range(
    extent: tuple[float, float, float, float], crs: str | None, parameter: str, value: Any
) -> None:
    limits = crs_range(crs)
    if limits is None:
        return
    x0, y0, x1, y1 = limits
    if not (x0 <= extent[0] and extent[2] <= x1 and y0 <= extent[1] and extent[3] <= y1):
        name = "WGS84" if limits == _WGS84 else (crs or "").rsplit("/", 1)[-1]
        raise invalid(
            parameter,
            value,
            f"coordinates outside the range of the CRS ({name}: x {x0:g}..{x1:g}, y {y0:g}..{y1:g})",
        )


def parse_bounds(bounds: Any, prefix: str = "input->bounds") -> tuple[float, float, float, float]:
    """Check ``bounds``; returns the extent ``(min_x, min_y, max_x, max_y)``.

    Coordinates must lie within the range of the CRS (:func:`crs_range`).
    """
    if not isinstance(bounds, dict):
        raise invalid(prefix, bounds, "must not be null")
    bbox = bounds.get("bbox")
    geometry = bounds.get("geometry")
    if bbox is None and geometry is None:
        raise invalid(prefix, bounds, "bbox or geometry must be specified")
    props = bounds.get("properties")
    crs: str | None = None
    if props is not None:
        crs = props.get("crs") if isinstance(props, dict) else None
        if crs is not None and (not isinstance(crs, str) or not _CRS_RE.match(crs)):
            raise invalid(f"{prefix}->properties->crs", crs, "unsupported CRS")
    extent: tuple[float, float, float, float] | None = None
    if geometry is not None:
        if not isinstance(geometry, dict) or geometry.get("type") not in {"Polygon", "MultiPolygon"}:
            raise invalid(f"{prefix}->geometry", geometry, "must be a GeoJSON Polygon or MultiPolygon")
        try:
            points = _points(geometry.get("coordinates"))
        except ValueError:
            raise invalid(f"{prefix}->geometry", geometry, "invalid coordinates") from None
        if len(points) < 3:
            raise invalid(f"{prefix}->geometry", geometry, "a polygon needs at least 3 positions")
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        extent = (min(xs), min(ys), max(xs), max(ys))
        _check_range(extent, crs, f"{prefix}->geometry", geometry)
    if bbox is not None:
        if not isinstance(bbox, list) or len(bbox) != 4 or not all(_number(v) for v in bbox):
            raise invalid(f"{prefix}->bbox", bbox, "must be an array of 4 numbers")
        if bbox[0] >= bbox[2] or bbox[1] >= bbox[3]:
            raise invalid(f"{prefix}->bbox", bbox, "invalid bbox: minimum coordinates must be below maximum")
        extent = (float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3]))
        _check_range(extent, crs, f"{prefix}->bbox", bbox)
    assert extent is not None
    return extent


def parse_input(body: dict[str, Any]) -> tuple[tuple[float, float, float, float], list[dict[str, Any]]]:
    """Check a request's ``input``: its extent (:func:`parse_bounds`) and data (:func:`parse_data`)."""
    inp = body.get("input")
    if not isinstance(inp, dict):
        raise invalid("input", inp, "must not be null")
    return parse_bounds(inp.get("bounds")), parse_data(inp.get("data"))


def parse_data(data: Any, prefix: str = "input->data") -> list[dict[str, Any]]:
    """Check ``input.data``; returns it."""
    if not isinstance(data, list) or not data:
        raise invalid(prefix, data, "must contain at least one data source")
    for i, item in enumerate(data):
        where = f"{prefix}[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("type"), str) or not item["type"]:
            raise invalid(f"{where}->type", item, "must not be null")
        kind = item["type"]
        if kind not in DATA_TYPES and not _OWN_COLLECTION_RE.match(kind):
            raise invalid(
                f"{where}->type",
                kind,
                "unknown data collection type: one of "
                f"{', '.join(sorted(DATA_TYPES))}, or byoc-/batch-/zarr-<collection id>",
            )
        flt = item.get("dataFilter") or {}
        if not isinstance(flt, dict):
            raise invalid(f"{where}->dataFilter", flt, "must be an object")
        time_range = flt.get("timeRange")
        if time_range is not None:
            if not isinstance(time_range, dict):
                raise invalid(f"{where}->dataFilter->timeRange", time_range, "must be an object")
            start = time_range.get("from")
            end = time_range.get("to")
            if start is not None and end is not None:
                t0 = parse_time(start, f"{where}->dataFilter->timeRange->from")
                t1 = parse_time(end, f"{where}->dataFilter->timeRange->to")
                if t0 > t1:
                    raise invalid(
                        f"{where}->dataFilter->timeRange", time_range, "'from' must not be after 'to'"
                    )
        cc = flt.get("maxCloudCoverage")
        if cc is not None and (not _number(cc) or not 0 <= cc <= 100):
            raise invalid(f"{where}->dataFilter->maxCloudCoverage", cc, "must be between 0 and 100")
        order = flt.get("mosaickingOrder")
        if order is not None and order not in _MOSAICKING:
            raise invalid(
                f"{where}->dataFilter->mosaickingOrder", order, f"must be one of {sorted(_MOSAICKING)}"
            )
    return data


def parse_size(
    spec: dict[str, Any],
    extent: tuple[float, float, float, float],
    prefix: str,
    *,
    max_size: int = MAX_SIZE,
) -> tuple[int, int]:
    """Width and height in pixels from ``width``/``height`` or ``resx``/``resy`` (at most ``max_size``)."""
    width, height = spec.get("width"), spec.get("height")
    resx, resy = spec.get("resx"), spec.get("resy")
    for name, value in (("width", width), ("height", height)):
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= max_size
        ):
            raise invalid(f"{prefix}->{name}", value, f"must be an integer between 1 and {max_size}")
    if (width is not None or height is not None) and (resx is not None or resy is not None):
        raise invalid(
            prefix, spec, 'only one pair of parameters "width"/"height" or "resx"/"resy" may be set'
        )
    span_x, span_y = extent[2] - extent[0], extent[3] - extent[1]
    if resx is not None or resy is not None:
        for name, value in (("resx", resx), ("resy", resy)):
            if not _number(value) or value <= 0:
                raise invalid(f"{prefix}->{name}", value, "must be a positive number")
        assert resx is not None and resy is not None
        w, h = math.ceil(span_x / resx), math.ceil(span_y / resy)
        if w > max_size or h > max_size:
            raise invalid(
                prefix, spec, f"the requested image is {w}x{h} pixels; the maximum is {max_size}x{max_size}"
            )
        return max(w, 1), max(h, 1)
    if width is None and height is None:
        return 256, 256
    if width is not None and height is not None:
        return width, height
    ratio = span_y / span_x
    if width is not None:
        return width, max(1, min(max_size, round(width * ratio)))
    assert height is not None
    return max(1, min(max_size, round(height / ratio))), height


def parse_responses(responses: Any) -> list[tuple[str, str]]:
    """``output.responses`` as ``(identifier, media type)`` pairs (default: one PNG)."""
    if responses is None:
        return [("default", "image/png")]
    if not isinstance(responses, list) or not responses:
        raise invalid("output->responses", responses, "must contain at least one response")
    wanted: list[tuple[str, str]] = []
    for i, response in enumerate(responses):
        ident = response.get("identifier", "default") if isinstance(response, dict) else None
        if not isinstance(ident, str) or not ident:
            raise invalid(f"output->responses[{i}]->identifier", ident, "must not be blank")
        fmt = response.get("format") or {"type": "image/png"}
        media = fmt.get("type") if isinstance(fmt, dict) else None
        if not isinstance(media, str) or media not in FORMATS:
            raise invalid(
                f"output->responses[{i}]->format->type",
                media,
                f"must be one of {', '.join(sorted(FORMATS))}",
            )
        wanted.append((ident, media))
    return wanted
