"""Planning and encoding a Process API answer: synthetic imagery of the requested size and format.

:func:`plan_request` checks a body (:mod:`.validation`, :mod:`.evalscript`)
and plans the parts; :func:`answer_body` gives the whole answer's length,
``Content-Type`` and chunks: one part as is, several as a tar or
``multipart/mixed``. The pixels derive from the emulator's seed and the body.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import struct
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from eoclient.emulator.core.refusal import Refusal, invalid
from eoclient.emulator.sentinelhub.process.evalscript import (
    SAMPLE_BYTES,
    ScriptOutput,
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

__all__ = ["Part", "Plan", "answer_body", "negotiate", "plan_request", "render_file"]

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
    bps = SAMPLE_BYTES.get(out.sample_type, 1)
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
    row_bytes = width * out.bands * SAMPLE_BYTES.get(out.sample_type, 1)
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


def render_file(  # noqa: PLR0917 - partial() binds these positionally
    identifier: str, media: str, width: int, height: int, out: ScriptOutput, seed: int
) -> bytes:
    """One whole output file as the Process API would answer it (for job deliveries)."""
    part = _make_part(identifier, media, width=width, height=height, out=out, seed=seed, meta={})
    return b"".join(part.chunks)


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
