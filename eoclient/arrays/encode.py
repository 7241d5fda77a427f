"""Arrays back to GeoTIFF bytes, with the georeferencing tags GDAL, rasterio and :func:`decode` read."""

from __future__ import annotations

import io
from typing import Any, Final

from eoclient.arrays import _deps
from eoclient.arrays.georef import GEO_KEY_DIRECTORY, GeoRef
from eoclient.errors import ValidationError

__all__ = ["encode_geotiff"]

_COMPRESSIONS: Final = frozenset({"none", "deflate"})


def encode_geotiff(array: Any, georef: GeoRef | None = None, *, compression: str = "deflate") -> bytes:
    """A GeoTIFF of ``array`` (``(H, W)`` or ``(H, W, B)``, band axis last) georeferenced by ``georef``.

    One image, bands interleaved by pixel; ``compression`` is ``"deflate"``
    (with a horizontal predictor for integers) or ``"none"``.
    """
    np = _deps.numpy()
    tifffile = _deps.tifffile()
    data = np.asarray(array)
    if data.ndim not in (2, 3):
        raise ValidationError("array", f"must be (height, width) or (height, width, bands), got {data.shape}")
    if compression not in _COMPRESSIONS:
        raise ValidationError("compression", f"must be one of {sorted(_COMPRESSIONS)}, got {compression!r}")
    if georef is not None and (georef.width, georef.height) != (data.shape[1], data.shape[0]):
        raise ValidationError(
            "georef", f"is {georef.width}x{georef.height} pixels, the array {data.shape[1]}x{data.shape[0]}"
        )
    extratags = []
    if georef is not None:
        for code, values in sorted(georef.geotiff_tags().items()):
            kind = "H" if code == GEO_KEY_DIRECTORY else "d"
            extratags.append((code, kind, len(values), values, True))
    options: dict[str, Any] = {}
    if compression == "deflate":
        options["compression"] = "zlib"
        if data.dtype.kind in "ui":
            options["predictor"] = 2
    out = io.BytesIO()
    tifffile.imwrite(
        out,
        data,
        photometric="minisblack",
        planarconfig="contig" if data.ndim == 3 else None,
        extratags=extratags,
        metadata=None,
        **options,
    )
    return out.getvalue()
