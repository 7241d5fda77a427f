"""Emulated Sentinel Hub Process API: ``POST /api/v1/process``.

Laid out by concern: :mod:`.validation` checks a body as the service does,
:mod:`.evalscript` reads what an emulator needs from the evalscript,
:mod:`.units` is the PU formula, :mod:`.rendering` plans and encodes the
answer, :mod:`.routes` serves it.

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

from eoclient.emulator.sentinelhub.process.routes import PATH, ProcessUsage, setup
from eoclient.emulator.sentinelhub.process.units import PU_HEADER

__all__ = ["PATH", "PU_HEADER", "ProcessUsage", "setup"]
