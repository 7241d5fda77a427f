"""decode-small / decode-large: Process API answers (GeoTIFFs) decoded to numpy arrays.

The answers are fetched from the emulator once, before any row runs (outside
every timing), and kept in files that each row reads into memory before it
warms up: only the decoding is timed. ``distinct`` answers are fetched (different
boxes, so different pixels) and cycled to ``count`` decodes.

Rows: eoclient's ``eoclient.arrays.decode`` (and ``to_dataarray``, the
``to_xarray()`` of a Process result: what x/y coordinates and the CRS cost on
top), sentinelhub-py's own decode of the same bytes
(``sentinelhub.decoding.decode_data(content, MimeType.TIFF)``, what its
download client does with ``decode_data=True``), tifffile alone (its zlib
fallback: imagecodecs kept out of the process), tifffile with imagecodecs, and
rasterio (GDAL) from a ``MemoryFile``.

A first, untimed pass (also the warm-up) hashes every distinct answer's array
(band axis last, C order) and records its shape and dtype: the rows must agree
on all three. rasterio's ``read()`` is band-first; the band-last view a user
takes of it is free and is what is hashed. The timed runs decode every answer
and drop each array before the next (``work MB`` is one array's worth plus the
decoder's scratch).

With ``-p decode-large.deflate=1`` (or ``decode-small.deflate=1``) the fetched answers are rewritten with
deflate compression (their georeferencing tags kept) before the rows run:
tifffile and imagecodecs only differ on compressed TIFFs.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks import clients
from benchmarks.measure import Context
from benchmarks.scenarios._process import eoclient_request, evalscript, tile
from benchmarks.spec import Facts, Params, Row, Scenario

# GeoTIFF tags to keep when an answer is rewritten with deflate.
GEO_TAGS = (33550, 33922, 34264, 34735, 34736, 34737)


def _script(params: Params) -> str:
    return evalscript(params["bands"], params["sample"])


async def _fetch(info: dict[str, Any], params: Params, folder: Path) -> None:
    size, script = params["size"], _script(params)
    # Boxes as large as the image at ~10 m a pixel, so that big and small answers look alike.
    box = max(0.05, size * 10 / 80_000)
    async with clients.sentinelhub(info) as sh:
        jobs = [
            partial(sh.process, eoclient_request(tile(i, box), size, size, script))
            for i in range(params["distinct"])
        ]
        results = await clients.bounded(jobs, 4)
    for i, result in enumerate(results):
        data = result.content if not params.get("deflate") else _deflated(result.content)
        (folder / f"answer-{i:04d}.tif").write_bytes(data)


def _deflated(data: bytes) -> bytes:
    """The same image and georeferencing tags, deflate-compressed (tifffile writes it)."""
    import tifffile  # noqa: PLC0415 - eoclient[arrays]'s dependency, only for this option

    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = tif.pages[0]
        array = page.asarray()
        extratags = [(t.code, int(t.dtype), t.count, t.value, True) for t in page.tags if t.code in GEO_TAGS]
    out = io.BytesIO()
    tifffile.imwrite(
        out, array, compression="zlib", extratags=extratags, photometric="minisblack", planarconfig="contig"
    )
    return out.getvalue()


@contextmanager
def fetched(info: dict[str, Any], params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Fetch the answers once, for every row; the folder is removed after the last row."""
    with tempfile.TemporaryDirectory(prefix="eoclient-bench-decode-") as tmp:
        asyncio.run(_fetch(info, params, Path(tmp)))
        yield {"answers": tmp}


def _answers(ctx: Context) -> tuple[list[bytes], int]:
    """Every answer to decode (``count``, the distinct ones cycled) and how many are distinct."""
    files = sorted(Path(ctx.info["answers"]).glob("answer-*.tif"))
    distinct = [p.read_bytes() for p in files]
    return [distinct[i % len(distinct)] for i in range(ctx.params["count"])], len(distinct)


def _band_last(array: Any) -> Any:
    import numpy as np  # noqa: PLC0415

    return np.ascontiguousarray(array)


def _run(ctx: Context, decode: Callable[[bytes], Any], as_array: Callable[[Any], Any] = _band_last) -> None:
    answers, distinct = _answers(ctx)
    digest = hashlib.sha256()
    shapes, dtypes = set(), set()
    for data in answers[:distinct]:  # the untimed pass: warm-up and what the rows must agree on
        array = as_array(decode(data))
        shapes.add(tuple(array.shape))
        dtypes.add(str(array.dtype))
        digest.update(array.tobytes())
        del array
    (shape,), (dtype,) = shapes, dtypes
    for _ in ctx.repeats():
        with ctx.timed():
            for data in answers:
                decoded = decode(data)
                del decoded
    ctx.fact(arrays=len(answers), shape="x".join(map(str, shape)), dtype=dtype)
    ctx.fact(sha256=digest.hexdigest()[:16])
    ctx.fact(array_mb=round(len(answers) * _nbytes(shape, dtype) / 1e6, 3))


def _nbytes(shape: tuple[int, ...], dtype: str) -> int:
    import numpy as np  # noqa: PLC0415

    return int(np.prod(shape)) * np.dtype(dtype).itemsize


def eoclient_decode(ctx: Context) -> None:
    from eoclient.arrays import decode  # noqa: PLC0415

    _run(ctx, lambda data: decode(data, "image/tiff").array)


def eoclient_to_xarray(ctx: Context) -> None:
    from eoclient.arrays import decode, to_dataarray  # noqa: PLC0415

    def labelled(data: bytes) -> Any:
        raster = decode(data, "image/tiff")
        return to_dataarray(raster.array, raster.georef, name="default")

    _run(ctx, labelled, lambda da: _band_last(da.values))


def sentinelhub_decode(ctx: Context) -> None:
    from sentinelhub import MimeType  # noqa: PLC0415 - the peer is optional
    from sentinelhub.decoding import decode_data  # noqa: PLC0415

    _run(ctx, lambda data: decode_data(data, MimeType.TIFF))


def _tifffile_read(data: bytes) -> Any:
    import tifffile  # noqa: PLC0415 - the peer is optional

    return tifffile.imread(io.BytesIO(data))


def tifffile_alone(ctx: Context) -> None:
    # Keep imagecodecs out so that tifffile uses its own fallbacks (zlib for deflate).
    if "tifffile" in sys.modules:
        raise RuntimeError("tifffile was imported before this row: run it in a fresh process")
    sys.modules["imagecodecs"] = None  # type: ignore[assignment]
    import tifffile  # noqa: PLC0415

    assert tifffile.tifffile.imagecodecs.__name__ != "imagecodecs"
    _run(ctx, _tifffile_read)


def tifffile_imagecodecs(ctx: Context) -> None:
    import imagecodecs  # noqa: PLC0415 - the peer is optional
    import tifffile  # noqa: PLC0415

    assert tifffile.tifffile.imagecodecs is imagecodecs
    _run(ctx, _tifffile_read)


def rasterio_decode(ctx: Context) -> None:
    from rasterio.io import MemoryFile  # noqa: PLC0415 - the peer is optional

    def read(data: bytes) -> Any:
        with MemoryFile(data) as memory, memory.open() as dataset:
            return dataset.read()  # (bands, rows, cols)

    def band_last(array: Any) -> Any:
        import numpy as np  # noqa: PLC0415

        moved = np.moveaxis(array, 0, -1)
        return _band_last(moved[..., 0] if moved.shape[-1] == 1 else moved)

    _run(ctx, read, band_last)


def _rows() -> tuple[Row, ...]:
    return (
        Row("eoclient arrays.decode()", "eoclient_decode"),
        Row(
            "eoclient decode + to_dataarray()",
            "eoclient_to_xarray",
            "eoclient",
            "what result.to_xarray() adds: x/y coordinates, band, the CRS as rioxarray reads it",
        ),
        Row(
            "sentinelhub-py decode_data(MimeType.TIFF)",
            "sentinelhub_decode",
            "sentinelhub",
            "sentinelhub.decoding.decode_data: what its download client does with decode_data=True",
        ),
        Row(
            "tifffile.imread (no imagecodecs)",
            "tifffile_alone",
            "tifffile",
            "imagecodecs kept out of the process: tifffile's own codecs (zlib for deflate)",
        ),
        Row("tifffile.imread + imagecodecs", "tifffile_imagecodecs", "imagecodecs"),
        Row(
            "rasterio MemoryFile.read()",
            "rasterio_decode",
            "rasterio",
            "GDAL; read() is band-first (the band-last view is free and not timed)",
        ),
    )


def _headline(kind: str) -> Callable[[Params], str]:
    def line(p: Params) -> str:
        compressed = ", deflate" if p.get("deflate") else ""
        return (
            f"{p['count']} {kind} GeoTIFFs of {p['size']}x{p['size']}x{p['bands']} {p['sample']}{compressed} "
            f"({p['distinct']} distinct) decoded from memory"
        )

    return line


def _array_mb(params: Params, facts: Facts) -> float:
    return float(facts.get("array_mb", 0.0))


AGREE = ("arrays", "shape", "dtype", "sha256")

SMALL = Scenario(
    name="decode-small",
    module=__name__,
    summary=(
        "Many small Process API answers (256x256 3-band UINT8 GeoTIFFs, fetched from the emulator "
        "once, outside the timing) decoded to numpy arrays from memory."
    ),
    rows=_rows(),
    normal={"count": 1000, "distinct": 100, "size": 256, "bands": 3, "sample": "UINT8", "repeat": 5},
    quick={"count": 20, "distinct": 4, "size": 64, "bands": 3, "sample": "UINT8", "repeat": 1},
    unit="images/s",
    amount=lambda params, facts: float(params["count"]),
    headline=_headline("small"),
    agree=AGREE,
    memory=True,
    setup=fetched,
)

LARGE = Scenario(
    name="decode-large",
    module=__name__,
    summary=(
        "A few large Process API answers (2500x2500 3-band FLOAT32 GeoTIFFs, 75 MB each, fetched "
        "from the emulator once, outside the timing) decoded to numpy arrays from memory."
    ),
    rows=_rows(),
    normal={"count": 10, "distinct": 2, "size": 2500, "bands": 3, "sample": "FLOAT32", "repeat": 3},
    quick={"count": 2, "distinct": 1, "size": 300, "bands": 3, "sample": "FLOAT32", "repeat": 1},
    unit="MB/s",
    amount=_array_mb,
    headline=_headline("large"),
    agree=AGREE,
    memory=True,
    setup=fetched,
)
