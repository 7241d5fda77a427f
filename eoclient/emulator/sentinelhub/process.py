"""Emulated Sentinel Hub Process API: ``POST /api/v1/process``.

The body is checked like the real service checks it (the OpenAPI document's
required fields; a data collection ``type`` it knows, :data:`DATA_TYPES` or
``byoc-``/``batch-``/``zarr-<uuid>``; a bbox or geometry within its CRS's range,
:func:`crs_range`; an output format and an evalscript ``sampleType`` the
service has; the Statistical, Async Process and batch APIs share these
checks); a bad one gets a 400 in Sentinel Hub's error shape
(``COMMON_BAD_PAYLOAD`` with an ``errors`` list of ``{"parameter",
"invalidValue", "violation"}``, or ``RENDERER_EXCEPTION`` for an evalscript
that cannot run). A query parameter is refused before that
(:mod:`eoclient.emulator.core.routing`: the operation lists none). A good one gets
deterministic synthetic imagery of the requested size, format and band count:

* ``image/tiff``: a valid baseline TIFF (uncompressed, one strip, 8/16/32-bit
  samples as the evalscript's ``sampleType`` says), ``width * height * bands *
  bytes per sample`` bytes of pixels;
* ``image/png``: a valid PNG (up to 4 bands, stored deflate blocks, so the size
  scales with the pixels);
* ``image/jpeg``: a JFIF header and trailer around filler bytes (not decodable);
* ``application/json``: a small JSON document (``userdata`` is always JSON);
* ``application/octet-stream``: the raw pixels.

Several responses come as a tar (``application/tar``, ``application/x-tar``;
members ``<identifier>.<ext>``, e.g. ``default.tif``, ``userdata.json``) or as
``multipart/mixed`` (parts named in ``Content-Disposition``), whichever
``Accept`` asks for. Every body is streamed in chunks with a known
``Content-Length``. The pixels derive from the emulator's seed and the request
body, so the same request always gets the same bytes.

``x-processingunits-spent`` follows Sentinel Hub's PU formula (512 x 512 px = 1
PU; x input bands / 3; x2 for FLOAT32 TIFF; x collections; x data samples,
counted for ``ORBIT``/``TILE`` mosaicking as one per 5 days of the time range;
at least 0.005). The running total is in ``state.stores["sh_process.usage"]``.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import struct
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeGuard

from aiohttp import web

from eoclient.emulator.core.errors import sh_error
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.sentinelhub.common import json_payload

__all__ = ["PATH", "PU_HEADER", "ProcessUsage", "setup"]

PATH: Final = "/api/v1/process"
PU_HEADER: Final = "x-processingunits-spent"
MAX_SIZE: Final = 2500
_CHUNK: Final = 256 * 1024
_SEED_KEY: Final = "sh_process.seed"
_USAGE_KEY: Final = "sh_process.usage"

_FORMATS: Final = frozenset({"image/tiff", "image/png", "image/jpeg", "application/json"})
_MULTI: Final = frozenset({"application/tar", "application/x-tar", "multipart/mixed"})
_SINGLE: Final = _FORMATS | {"application/octet-stream"}
_EXTENSIONS: Final = {
    "image/tiff": "tif",
    "image/png": "png",
    "image/jpeg": "jpg",
    "application/json": "json",
    "application/octet-stream": "bin",
}
_SAMPLE_BYTES: Final = {"UINT8": 1, "AUTO": 1, "INT8": 1, "UINT16": 2, "INT16": 2, "FLOAT32": 4}
"""Bytes per sample of each evalscript ``sampleType`` (the only ones an evalscript may set)."""
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
_BOUNDARY: Final = "eoclient-emulator-boundary-7f3a9c"


@dataclass
class ProcessUsage:
    """What the emulated Process API has served: requests and processing units."""

    requests: int = 0
    processing_units: float = 0.0


class BadRequest(Exception):
    """A request the service refuses, with its Sentinel Hub error code and details."""

    def __init__(self, message: str, code: str = "COMMON_BAD_PAYLOAD", errors: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.errors = errors

    def response(self) -> web.Response:
        return sh_error(400, self.message, self.code, self.errors)


def violation(parameter: str, value: Any, text: str) -> BadRequest:
    """A payload error naming the parameter the way Sentinel Hub does (``output->width``)."""
    return BadRequest(
        f"{parameter}: {text}",
        errors=[{"parameter": parameter, "invalidValue": value, "violation": text}],
    )


def script_error(text: str) -> BadRequest:
    """An evalscript failure, as the renderer reports it."""
    return BadRequest(f"Failed to evaluate script!\n{text}", code="RENDERER_EXCEPTION")


def derived_seed(state: EmulatorState, salt: str) -> int:
    """A seed fixed by the emulator's seed, taken without drawing from ``state.rng``.

    Drawing would shift every later draw of other modules; hashing the state does not.
    """
    digest = hashlib.sha256(f"{salt}:{state.rng.getstate()!r}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


# -- reading the request -----------------------------------------------------------


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_time(value: Any, parameter: str) -> datetime:
    """An ISO-8601 date-time with a time part (a bare date is refused, as by the service)."""
    if not isinstance(value, str) or "T" not in value:
        raise violation(parameter, value, "must be an ISO-8601 date-time, e.g. 2019-01-31T14:00:00Z")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise violation(
            parameter, value, "must be an ISO-8601 date-time, e.g. 2019-01-31T14:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise violation(parameter, value, "must have a time zone, e.g. Z or +01:00")
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
        raise violation(
            parameter,
            value,
            f"coordinates outside the range of the CRS ({name}: x {x0:g}..{x1:g}, y {y0:g}..{y1:g})",
        )


def parse_bounds(bounds: Any, prefix: str = "input->bounds") -> tuple[float, float, float, float]:
    """Check ``bounds``; returns the extent ``(min_x, min_y, max_x, max_y)``.

    Coordinates must lie within the range of the CRS (:func:`crs_range`).
    """
    if not isinstance(bounds, dict):
        raise violation(prefix, bounds, "must not be null")
    bbox = bounds.get("bbox")
    geometry = bounds.get("geometry")
    if bbox is None and geometry is None:
        raise violation(prefix, bounds, "bbox or geometry must be specified")
    props = bounds.get("properties")
    crs: str | None = None
    if props is not None:
        crs = props.get("crs") if isinstance(props, dict) else None
        if crs is not None and (not isinstance(crs, str) or not _CRS_RE.match(crs)):
            raise violation(f"{prefix}->properties->crs", crs, "unsupported CRS")
    extent: tuple[float, float, float, float] | None = None
    if geometry is not None:
        if not isinstance(geometry, dict) or geometry.get("type") not in {"Polygon", "MultiPolygon"}:
            raise violation(f"{prefix}->geometry", geometry, "must be a GeoJSON Polygon or MultiPolygon")
        try:
            points = _points(geometry.get("coordinates"))
        except ValueError:
            raise violation(f"{prefix}->geometry", geometry, "invalid coordinates") from None
        if len(points) < 3:
            raise violation(f"{prefix}->geometry", geometry, "a polygon needs at least 3 positions")
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        extent = (min(xs), min(ys), max(xs), max(ys))
        _check_range(extent, crs, f"{prefix}->geometry", geometry)
    if bbox is not None:
        if not isinstance(bbox, list) or len(bbox) != 4 or not all(_number(v) for v in bbox):
            raise violation(f"{prefix}->bbox", bbox, "must be an array of 4 numbers")
        if bbox[0] >= bbox[2] or bbox[1] >= bbox[3]:
            raise violation(
                f"{prefix}->bbox", bbox, "invalid bbox: minimum coordinates must be below maximum"
            )
        extent = (float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3]))
        _check_range(extent, crs, f"{prefix}->bbox", bbox)
    assert extent is not None
    return extent


def parse_data(data: Any, prefix: str = "input->data") -> list[dict[str, Any]]:
    """Check ``input.data``; returns it."""
    if not isinstance(data, list) or not data:
        raise violation(prefix, data, "must contain at least one data source")
    for i, item in enumerate(data):
        where = f"{prefix}[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("type"), str) or not item["type"]:
            raise violation(f"{where}->type", item, "must not be null")
        kind = item["type"]
        if kind not in DATA_TYPES and not _OWN_COLLECTION_RE.match(kind):
            raise violation(
                f"{where}->type",
                kind,
                "unknown data collection type: one of "
                f"{', '.join(sorted(DATA_TYPES))}, or byoc-/batch-/zarr-<collection id>",
            )
        flt = item.get("dataFilter") or {}
        if not isinstance(flt, dict):
            raise violation(f"{where}->dataFilter", flt, "must be an object")
        time_range = flt.get("timeRange")
        if time_range is not None:
            if not isinstance(time_range, dict):
                raise violation(f"{where}->dataFilter->timeRange", time_range, "must be an object")
            start = time_range.get("from")
            end = time_range.get("to")
            if start is not None and end is not None:
                t0 = parse_time(start, f"{where}->dataFilter->timeRange->from")
                t1 = parse_time(end, f"{where}->dataFilter->timeRange->to")
                if t0 > t1:
                    raise violation(
                        f"{where}->dataFilter->timeRange", time_range, "'from' must not be after 'to'"
                    )
        cc = flt.get("maxCloudCoverage")
        if cc is not None and (not _number(cc) or not 0 <= cc <= 100):
            raise violation(f"{where}->dataFilter->maxCloudCoverage", cc, "must be between 0 and 100")
        order = flt.get("mosaickingOrder")
        if order is not None and order not in _MOSAICKING:
            raise violation(
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
            raise violation(f"{prefix}->{name}", value, f"must be an integer between 1 and {max_size}")
    if (width is not None or height is not None) and (resx is not None or resy is not None):
        raise violation(
            prefix, spec, 'only one pair of parameters "width"/"height" or "resx"/"resy" may be set'
        )
    span_x, span_y = extent[2] - extent[0], extent[3] - extent[1]
    if resx is not None or resy is not None:
        for name, value in (("resx", resx), ("resy", resy)):
            if not _number(value) or value <= 0:
                raise violation(f"{prefix}->{name}", value, "must be a positive number")
        assert resx is not None and resy is not None
        w, h = math.ceil(span_x / resx), math.ceil(span_y / resy)
        if w > max_size or h > max_size:
            raise violation(
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


# -- reading the evalscript (as far as an emulator needs to) -------------------------------


@dataclass(frozen=True)
class ScriptOutput:
    """One ``setup().output`` entry."""

    id: str
    bands: int
    sample_type: str


def _group(text: str, start: int) -> str:
    """The bracketed/braced group opening at ``start`` (without the brackets)."""
    opening = text[start]
    closing = {"[": "]", "{": "}"}[opening]
    depth = 0
    for i in range(start, len(text)):
        if text[i] == opening:
            depth += 1
        elif text[i] == closing:
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
    return text[start + 1 :]


def _objects(text: str) -> list[str]:
    """Top-level ``{...}`` literals in ``text``."""
    out = []
    i = 0
    while (i := text.find("{", i)) >= 0:
        body = _group(text, i)
        out.append(body)
        i += len(body) + 2
    return out


def input_bands(evalscript: str) -> int:
    """Input bands of ``setup()`` (``dataMask`` not counted; 3 if it cannot be read)."""
    match = re.search(r"\binput\s*:\s*\[", evalscript)
    if match is None:
        return 3
    group = _group(evalscript, match.end() - 1)
    lists = re.findall(r"\bbands\s*:\s*\[([^\]]*)\]", group)
    text = " ".join(lists) if lists else group
    names = [a or b for a, b in re.findall(r"\"([^\"]*)\"|'([^']*)'", text)]
    count = len([n for n in names if n and n != "dataMask"])
    return count or 3


def script_outputs(evalscript: str) -> list[ScriptOutput]:
    """``setup().output`` entries (one ``default`` output with 3 bands if it cannot be read)."""
    match = re.search(r"\boutput\s*:\s*([\[{])", evalscript)
    if match is None:
        return [ScriptOutput("default", 3, "AUTO")]
    start = match.start(1)
    group = _group(evalscript, start)
    bodies = [group] if evalscript[start] == "{" else _objects(group)
    outputs = []
    for body in bodies:
        ident = re.search(r"\bid\s*:\s*[\"']([^\"']+)[\"']", body)
        bands = re.search(r"\bbands\s*:\s*(\d+)", body)
        # A literal (``"UINT8"`` or ``SampleType.UINT8``) is checked; a variable cannot be read here.
        sample = re.search(r"\bsampleType\s*:\s*(?:SampleType\s*\.\s*(\w+)|[\"'](\w*)[\"'])", body)
        sample_type = (sample.group(1) or sample.group(2)).upper() if sample else "AUTO"
        name = ident.group(1) if ident else "default"
        if sample_type not in _SAMPLE_BYTES:
            raise script_error(
                f"evalscript.js: output {name!r}: unknown sampleType {sample_type!r} "
                f"(one of {', '.join(sorted(_SAMPLE_BYTES))})"
            )
        outputs.append(ScriptOutput(name, max(1, int(bands.group(1))) if bands else 1, sample_type))
    return outputs or [ScriptOutput("default", 3, "AUTO")]


def check_script(evalscript: str) -> None:
    """The renderer's complaints about a script without its two functions."""
    for name in ("setup", "evaluatePixel"):
        if not re.search(rf"\bfunction\s+{name}\s*\(|\b{name}\s*=", evalscript):
            raise script_error(f"evalscript.js: ReferenceError: {name} is not defined")


def mosaicking_samples(evalscript: str, data: list[dict[str, Any]]) -> int:
    """Data samples per pixel: one per 5 days of the time range for ORBIT/TILE mosaicking, else 1."""
    if not re.search(r"\bmosaicking\s*:\s*(?:Mosaicking\s*\.\s*)?[\"']?(ORBIT|TILE)\b", evalscript):
        return 1
    time_range = (data[0].get("dataFilter") or {}).get("timeRange") or {}
    try:
        start = datetime.fromisoformat(time_range["from"])
        end = datetime.fromisoformat(time_range["to"])
    except (KeyError, TypeError, ValueError):
        return 1
    return max(1, math.ceil((end - start).total_seconds() / (5 * 86400)))


def processing_units(
    width: int, height: int, bands: int, *, float32: bool, collections: int, samples: int
) -> float:
    """Sentinel Hub's PU formula."""
    area = max(width * height / (512 * 512), 0.01)
    return max(area * bands / 3 * (2 if float32 else 1) * collections * samples, 0.005)


# -- producing the answer ----------------------------------------------------------------


@dataclass
class Part:
    """One file of the answer: identifier, media type, exact size, its chunks and archive name."""

    identifier: str
    media: str
    size: int
    chunks: Iterator[bytes]
    filename: str = ""


def _rows(width: int, height: int, row_bytes: int, seed: int, prefix: bytes = b"") -> Iterator[bytes]:
    """``height`` deterministic rows (each ``prefix`` + ``row_bytes`` bytes), grouped into chunks."""
    template = random.Random(seed).randbytes(max(row_bytes, 1))[:row_bytes]
    batch: list[bytes] = []
    size = 0
    for y in range(height):
        k = (y * 131) % max(row_bytes, 1)
        row = prefix + template[k:] + template[:k]
        batch.append(row)
        size += len(row)
        if size >= _CHUNK:
            yield b"".join(batch)
            batch, size = [], 0
    if batch:
        yield b"".join(batch)


def _tiff(width: int, height: int, out: ScriptOutput, seed: int) -> tuple[int, Iterator[bytes]]:
    bps = _SAMPLE_BYTES.get(out.sample_type, 1)
    bands = out.bands
    fmt = 3 if out.sample_type == "FLOAT32" else (2 if out.sample_type.startswith("INT") else 1)
    data_len = width * height * bands * bps
    entries: list[tuple[int, int, int, int | bytes]] = []  # tag, type, count, value or array bytes
    short, long_ = 3, 4
    entries.append((256, long_, 1, width))
    entries.append((257, long_, 1, height))
    entries.append((258, short, bands, struct.pack(f"<{bands}H", *([bps * 8] * bands))))
    entries.append((259, short, 1, 1))  # no compression
    entries.append((262, short, 1, 1))  # min-is-black
    entries.append((273, long_, 1, 0))  # strip offset, patched below
    entries.append((277, short, 1, bands))
    entries.append((278, long_, 1, height))
    entries.append((279, long_, 1, data_len))
    entries.append((284, short, 1, 1))  # chunky
    if bands > 1:
        entries.append((338, short, bands - 1, struct.pack(f"<{bands - 1}H", *([0] * (bands - 1)))))
    entries.append((339, short, bands, struct.pack(f"<{bands}H", *([fmt] * bands))))
    ifd_size = 2 + 12 * len(entries) + 4
    extra_at = 8 + ifd_size
    extra = b""
    offsets: dict[int, int] = {}
    for tag, _kind, _count, value in entries:
        if isinstance(value, bytes) and len(value) > 4:
            offsets[tag] = extra_at + len(extra)
            extra += value + (b"\0" if len(value) % 2 else b"")
    data_at = extra_at + len(extra)
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, given in entries:
        value = data_at if tag == 273 else given
        if isinstance(value, bytes):
            packed = struct.pack("<I", offsets[tag]) if tag in offsets else value.ljust(4, b"\0")
        elif kind == short:
            packed = struct.pack("<HH", value, 0)
        else:
            packed = struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    ifd += struct.pack("<I", 0)
    head = b"II*\0" + struct.pack("<I", 8) + ifd + extra

    def chunks() -> Iterator[bytes]:
        yield head
        yield from _rows(width, height, width * bands * bps, seed)

    return len(head) + data_len, chunks()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, out: ScriptOutput, seed: int) -> tuple[int, Iterator[bytes]]:
    bands = min(out.bands, 4)
    depth = 16 if out.sample_type in {"UINT16", "INT16"} else 8
    color = {1: 0, 2: 4, 3: 2, 4: 6}[bands]
    row_bytes = width * bands * depth // 8
    raw_len = height * (1 + row_bytes)
    blocks = max(1, math.ceil(raw_len / 65535))
    zlen = 2 + raw_len + 5 * blocks + 4
    ihdr = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0))
    head = b"\x89PNG\r\n\x1a\n" + ihdr + struct.pack(">I", zlen) + b"IDAT"
    tail_len = 4 + 12  # IDAT CRC + IEND chunk

    def chunks() -> Iterator[bytes]:
        yield head
        crc = zlib.crc32(b"IDAT")
        adler = 1
        zhead = b"\x78\x01"
        crc = zlib.crc32(zhead, crc)
        yield zhead
        pending = b""
        done = 0
        for chunk in _rows(width, height, row_bytes, seed, prefix=b"\0"):
            adler = zlib.adler32(chunk, adler)
            pending += chunk
            while len(pending) >= 65535 and done + 65535 < raw_len:
                block, pending = pending[:65535], pending[65535:]
                done += len(block)
                out_block = b"\0" + struct.pack("<HH", 65535, 0) + block
                crc = zlib.crc32(out_block, crc)
                yield out_block
        final = b"\1" + struct.pack("<HH", len(pending), len(pending) ^ 0xFFFF) + pending
        final += struct.pack(">I", adler)
        crc = zlib.crc32(final, crc)
        yield final + struct.pack(">I", crc) + _png_chunk(b"IEND", b"")

    return len(head) + zlen + tail_len, chunks()


def _jpeg(width: int, height: int, out: ScriptOutput, seed: int) -> tuple[int, Iterator[bytes]]:
    # A JFIF header and trailer; the "compressed" body is filler scaled to the pixels (~1/8).
    bands = min(out.bands, 3)
    filler = max(16, width * height * bands // 8)
    head = b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"

    def chunks() -> Iterator[bytes]:
        yield head
        rng = random.Random(seed)
        left = filler
        while left > 0:
            n = min(left, _CHUNK)
            yield rng.randbytes(n).replace(b"\xff", b"\xfe")
            left -= n
        yield b"\xff\xd9"

    return len(head) + filler + 2, chunks()


def _raw(width: int, height: int, out: ScriptOutput, seed: int) -> tuple[int, Iterator[bytes]]:
    row_bytes = width * out.bands * _SAMPLE_BYTES.get(out.sample_type, 1)
    return row_bytes * height, _rows(width, height, row_bytes, seed)


def _json_part(document: dict[str, Any]) -> tuple[int, Iterator[bytes]]:
    data = json.dumps(document, sort_keys=True).encode()
    return len(data), iter([data])


@dataclass
class Plan:
    """Everything needed to answer one request."""

    width: int
    height: int
    media: str
    parts: list[Part]
    processing_units: float


def _make_part(
    identifier: str,
    media: str,
    *,
    width: int,
    height: int,
    out: ScriptOutput,
    seed: int,
    meta: dict[str, Any],
) -> Part:
    if identifier == "userdata" or media == "application/json":
        size, chunks = _json_part({**meta, "identifier": identifier})
        media = "application/json"
    elif media == "image/tiff":
        size, chunks = _tiff(width, height, out, seed)
    elif media == "image/png":
        size, chunks = _png(width, height, out, seed)
    elif media == "image/jpeg":
        size, chunks = _jpeg(width, height, out, seed)
    else:
        size, chunks = _raw(width, height, out, seed)
    return Part(identifier, media, size, chunks, filename=f"{identifier}.{_EXTENSIONS[media]}")


def parse_responses(responses: Any) -> list[tuple[str, str]]:
    """``output.responses`` as ``(identifier, media type)`` pairs (default: one PNG)."""
    if responses is None:
        return [("default", "image/png")]
    if not isinstance(responses, list) or not responses:
        raise violation("output->responses", responses, "must contain at least one response")
    wanted: list[tuple[str, str]] = []
    for i, response in enumerate(responses):
        ident = response.get("identifier", "default") if isinstance(response, dict) else None
        if not isinstance(ident, str) or not ident:
            raise violation(f"output->responses[{i}]->identifier", ident, "must not be blank")
        fmt = response.get("format") or {"type": "image/png"}
        media = fmt.get("type") if isinstance(fmt, dict) else None
        if not isinstance(media, str) or media not in _FORMATS:
            raise violation(
                f"output->responses[{i}]->format->type",
                media,
                f"must be one of {', '.join(sorted(_FORMATS))}",
            )
        wanted.append((ident, media))
    return wanted


def negotiate(accept_header: str, wanted: list[tuple[str, str]]) -> tuple[str, list[tuple[str, str]]]:
    """The media type of the answer; a single-type ``Accept`` overrides the requested format."""
    accept = accept_header.split(",", 1)[0].split(";", 1)[0].strip().lower()
    if accept in {"", "*/*"}:
        accept = wanted[0][1] if len(wanted) == 1 else "application/tar"
    if accept not in _MULTI and accept not in _SINGLE:
        raise BadRequest(f"Unsupported Accept header: {accept}", code="COMMON_UNSUPPORTED_MEDIA_TYPE")
    if len(wanted) > 1 and accept not in _MULTI:
        raise BadRequest(
            f"{len(wanted)} responses were requested: set the Accept header to application/tar, "
            "application/x-tar or multipart/mixed"
        )
    if accept in _SINGLE:
        return accept, [(wanted[0][0], accept)]
    return accept, wanted


def plan_request(body: Any, accept_header: str, base_seed: int) -> Plan:
    """Check the request like the service and plan the answer; raises :class:`BadRequest`."""
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    evalscript = body.get("evalscript")
    if evalscript is None:
        raise violation("evalscript", None, "must not be null")
    if not isinstance(evalscript, str) or not evalscript.strip():
        raise violation("evalscript", evalscript, "must not be blank")
    inp = body.get("input")
    if not isinstance(inp, dict):
        raise violation("input", inp, "must not be null")
    extent = parse_bounds(inp.get("bounds"))
    data = parse_data(inp.get("data"))
    output = body.get("output") or {}
    if not isinstance(output, dict):
        raise violation("output", output, "must be an object")
    width, height = parse_size(output, extent, "output")
    wanted = parse_responses(output.get("responses"))
    check_script(evalscript)
    outputs = {o.id: o for o in script_outputs(evalscript)}
    for ident, _media in wanted:
        if ident != "userdata" and ident not in outputs:
            known = ", ".join(outputs)
            raise script_error(
                f"Output {ident!r} requested but missing from function setup() (outputs: {known})"
            )
    accept, wanted = negotiate(accept_header, wanted)
    digest = hashlib.sha256(f"{base_seed}:".encode() + json.dumps(body, sort_keys=True).encode()).digest()
    seed = int.from_bytes(digest[:8], "big")
    time_range = (data[0].get("dataFilter") or {}).get("timeRange") or {}
    meta = {
        "width": width,
        "height": height,
        "bbox": list(extent),
        "collections": [d["type"] for d in data],
        "timeRange": time_range,
        "seed": digest[:8].hex(),
    }
    parts = [
        _make_part(
            ident,
            media,
            width=width,
            height=height,
            out=outputs.get(ident, ScriptOutput(ident, 1, "AUTO")),
            seed=seed + i,
            meta=meta,
        )
        for i, (ident, media) in enumerate(wanted)
    ]
    float32 = any(
        media == "image/tiff" and outputs.get(ident, ScriptOutput(ident, 1, "AUTO")).sample_type == "FLOAT32"
        for ident, media in wanted
    )
    units = processing_units(
        width,
        height,
        input_bands(evalscript),
        float32=float32,
        collections=len(data),
        samples=mosaicking_samples(evalscript, data),
    )
    return Plan(width, height, accept, parts, units)


def _tar_header(part: Part) -> bytes:
    info = tarfile.TarInfo(part.filename)
    info.size = part.size
    info.mode = 0o644
    info.mtime = 0
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def _padding(size: int) -> int:
    return -size % 512


def _body(plan: Plan) -> tuple[int, str, Iterator[bytes]]:
    """Total length, Content-Type and the chunks of the whole answer."""
    if plan.media in {"application/tar", "application/x-tar"}:
        headers = [_tar_header(p) for p in plan.parts]
        total = (
            sum(len(h) + p.size + _padding(p.size) for h, p in zip(headers, plan.parts, strict=True)) + 1024
        )

        def tar_chunks() -> Iterator[bytes]:
            for head, part in zip(headers, plan.parts, strict=True):
                yield head
                yield from part.chunks
                yield b"\0" * _padding(part.size)
            yield b"\0" * 1024

        return total, plan.media, tar_chunks()
    if plan.media == "multipart/mixed":
        heads = [
            (
                f"--{_BOUNDARY}\r\nContent-Type: {p.media}\r\n"
                f'Content-Disposition: inline; name="{p.identifier}"; filename="{p.filename}"\r\n\r\n'
            ).encode()
            for p in plan.parts
        ]
        closing = f"\r\n--{_BOUNDARY}--\r\n".encode()
        total = sum(len(h) + p.size for h, p in zip(heads, plan.parts, strict=True))
        total += 2 * (len(plan.parts) - 1) + len(closing)

        def multipart_chunks() -> Iterator[bytes]:
            for i, (head, part) in enumerate(zip(heads, plan.parts, strict=True)):
                yield (b"\r\n" if i else b"") + head
                yield from part.chunks
            yield closing

        return total, f"multipart/mixed; boundary={_BOUNDARY}", multipart_chunks()
    part = plan.parts[0]
    return part.size, part.media, part.chunks


async def _process(request: web.Request) -> web.StreamResponse:
    state = get_state(request)
    body = await json_payload(request)
    if isinstance(body, web.Response):
        return body
    seed = state.store(_SEED_KEY, lambda: derived_seed(state, _SEED_KEY))
    try:
        plan = plan_request(body, request.headers.get("Accept", ""), seed)
    except BadRequest as exc:
        return exc.response()
    usage = state.store(_USAGE_KEY, ProcessUsage)
    usage.requests += 1
    usage.processing_units += plan.processing_units
    total, content_type, chunks = _body(plan)
    resp = web.StreamResponse(
        status=200, headers={"Content-Type": content_type, PU_HEADER: repr(plan.processing_units)}
    )
    resp.content_length = total
    await resp.prepare(request)
    for chunk in chunks:
        if chunk:
            await resp.write(chunk)
    await resp.write_eof()
    return resp


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add ``POST /api/v1/process`` to the Sentinel Hub app."""
    state.store(_SEED_KEY, lambda: derived_seed(state, _SEED_KEY))
    add_route(app, "POST", PATH, _process)
