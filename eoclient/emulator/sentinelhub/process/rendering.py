"""Planning and encoding a Process API answer: synthetic imagery of the requested size and format.

:func:`plan_request` checks a body (:mod:`.validation`, :mod:`.evalscript`)
and plans the parts; :func:`answer_body` gives the whole answer's length,
``Content-Type`` and chunks: one part as is, several as a tar or
``multipart/mixed``. The pixels are a smooth field over the request's map
coordinates (:mod:`eoclient.emulator.core.fields`), encoded by
:mod:`eoclient.emulator.core.rasters` and :mod:`eoclient.emulator.core.jpeg`.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from eoclient.emulator.core.fields import Grid, Landscape, seed_from
from eoclient.emulator.core.jpeg import jpeg_bytes
from eoclient.emulator.core.rasters import Raster, png_bytes, tiff_head
from eoclient.emulator.core.refusal import Refusal, invalid
from eoclient.emulator.sentinelhub.process.evalscript import (
    ScriptOutput,
    band_kinds,
    check_outputs,
    input_bands,
    mosaicking_samples,
)
from eoclient.emulator.sentinelhub.process.units import processing_units
from eoclient.emulator.sentinelhub.process.validation import (
    EXTENSIONS,
    FORMATS,
    parse_input,
    parse_responses,
    parse_size,
)

__all__ = [
    "Part",
    "Plan",
    "answer_body",
    "crs_code",
    "negotiate",
    "output_raster",
    "plan_request",
    "render_file",
]

_CHUNK: Final = 256 * 1024
_MULTI: Final = frozenset({"application/tar", "application/x-tar", "multipart/mixed"})
_SINGLE: Final = FORMATS | {"application/octet-stream"}
_EXTENSIONS: Final = {**EXTENSIONS, "application/octet-stream": "bin"}
_BOUNDARY: Final = "eoclient-emulator-boundary-7f3a9c"


@dataclass
class Part:
    """One file of the answer: identifier, media type, exact size, its chunks and archive name."""

    identifier: str
    media: str
    size: int
    chunks: Iterator[bytes]
    filename: str = ""


_CRS_CODE_RE: Final = re.compile(r"/EPSG/0/(\d+)$")


def crs_code(bounds: Any) -> int:
    """The EPSG code of a request's ``bounds`` (CRS84 and no CRS are 4326, longitude first)."""
    props = bounds.get("properties") if isinstance(bounds, dict) else None
    crs = props.get("crs") if isinstance(props, dict) else None
    match = _CRS_CODE_RE.search(crs) if isinstance(crs, str) else None
    return int(match.group(1)) if match else 4326


def output_raster(request: dict[str, Any], out: ScriptOutput, grid: Grid) -> Raster:
    """The pixels of output ``out`` of a Process request over ``grid``.

    Fixed by the request's evalscript, collections and output, with the time
    range as the landscape's variant: never by its bounds or size, so that
    tiles of one area join and mosaic to the image of the whole.
    """
    evalscript = request.get("evalscript")
    script = evalscript if isinstance(evalscript, str) else ""
    data = (request.get("input") or {}).get("data") or []
    kinds = [str(d.get("type")) for d in data if isinstance(d, dict)]
    times = [
        json.dumps((d.get("dataFilter") or {}).get("timeRange"), sort_keys=True)
        for d in data
        if isinstance(d, dict)
    ]
    seed = seed_from(script, kinds, out.id)
    sample_type = "UINT8" if out.sample_type == "AUTO" else out.sample_type
    return Raster(grid, Landscape(seed, times), band_kinds(script, out), sample_type)


def _tiff(raster: Raster) -> tuple[int, Iterator[bytes]]:
    head = tiff_head(raster.grid, raster.bands, raster.sample_type)

    def chunks() -> Iterator[bytes]:
        yield head
        yield from _batched(raster.rows())

    return len(head) + raster.row_bytes * raster.grid.height, chunks()


def _batched(rows: Iterator[bytes]) -> Iterator[bytes]:
    """Rows joined into chunks of about :data:`_CHUNK` bytes."""
    batch: list[bytes] = []
    size = 0
    for row in rows:
        batch.append(row)
        size += len(row)
        if size >= _CHUNK:
            yield b"".join(batch)
            batch, size = [], 0
    if batch:
        yield b"".join(batch)


def _whole(data: bytes) -> tuple[int, Iterator[bytes]]:
    return len(data), (data[i : i + _CHUNK] for i in range(0, len(data), _CHUNK))


def _jpeg(raster: Raster) -> tuple[int, Iterator[bytes]]:
    bands = [0] if raster.bands < 3 else [0, 1, 2]
    pixels = b"".join(raster.with_sample_type("UINT8").rows(bands))
    return _whole(jpeg_bytes(pixels, raster.grid.width, raster.grid.height, len(bands)))


def _raw(raster: Raster) -> tuple[int, Iterator[bytes]]:
    return raster.row_bytes * raster.grid.height, _batched(raster.rows())


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


def render_file(identifier: str, media: str, raster: Raster) -> bytes:
    """One whole output file as the Process API would answer it (for job deliveries)."""
    part = _make_part(identifier, media, raster, meta={})
    return b"".join(part.chunks)


def _make_part(identifier: str, media: str, raster: Raster, *, meta: dict[str, Any]) -> Part:
    if identifier == "userdata" or media == "application/json":
        size, chunks = _json_part({**meta, "identifier": identifier})
        media = "application/json"
    elif media == "image/tiff":
        size, chunks = _tiff(raster)
    elif media == "image/png":
        size, chunks = _whole(png_bytes(raster))
    elif media == "image/jpeg":
        size, chunks = _jpeg(raster)
    else:
        size, chunks = _raw(raster)
    return Part(identifier, media, size, chunks, filename=f"{identifier}.{_EXTENSIONS[media]}")


def negotiate(accept_header: str, wanted: list[tuple[str, str]]) -> tuple[str, list[tuple[str, str]]]:
    """The media type of the answer; a single-type ``Accept`` overrides the requested format."""
    accept = accept_header.split(",", 1)[0].split(";", 1)[0].strip().lower()
    if accept in {"", "*/*"}:
        accept = wanted[0][1] if len(wanted) == 1 else "application/tar"
    if accept not in _MULTI and accept not in _SINGLE:
        raise Refusal(400, "COMMON_UNSUPPORTED_MEDIA_TYPE", f"Unsupported Accept header: {accept}")
    if len(wanted) > 1 and accept not in _MULTI:
        raise Refusal(
            400,
            None,
            f"{len(wanted)} responses were requested: set the Accept header to application/tar, "
            "application/x-tar or multipart/mixed",
        )
    if accept in _SINGLE:
        return accept, [(wanted[0][0], accept)]
    return accept, wanted


def plan_request(body: Any, accept_header: str, base_seed: int) -> Plan:
    """Check the request like the service and plan the answer; a bad one raises a ``Refusal``."""
    if not isinstance(body, dict):
        raise Refusal(400, None, "The request body must be a JSON object")
    evalscript = body.get("evalscript")
    if evalscript is None:
        raise invalid("evalscript", None, "must not be null")
    if not isinstance(evalscript, str) or not evalscript.strip():
        raise invalid("evalscript", evalscript, "must not be blank")
    extent, data = parse_input(body)
    output = body.get("output") or {}
    if not isinstance(output, dict):
        raise invalid("output", output, "must be an object")
    width, height = parse_size(output, extent, "output")
    wanted = parse_responses(output.get("responses"))
    outputs = check_outputs(evalscript, wanted)
    accept, wanted = negotiate(accept_header, wanted)
    digest = hashlib.sha256(f"{base_seed}:".encode() + json.dumps(body, sort_keys=True).encode()).digest()
    time_range = (data[0].get("dataFilter") or {}).get("timeRange") or {}
    meta = {
        "width": width,
        "height": height,
        "bbox": list(extent),
        "collections": [d["type"] for d in data],
        "timeRange": time_range,
        "seed": digest[:8].hex(),
    }
    grid = Grid(extent, width, height, crs_code((body.get("input") or {}).get("bounds")))
    parts = [
        _make_part(
            ident,
            media,
            output_raster(body, outputs.get(ident, ScriptOutput(ident, 1, "AUTO")), grid),
            meta=meta,
        )
        for ident, media in wanted
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


def answer_body(plan: Plan) -> tuple[int, str, Iterator[bytes]]:
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
