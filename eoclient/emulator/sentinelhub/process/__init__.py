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
plausible, georeferenced imagery of the requested size, format and band count
(a smooth field over the request's map coordinates, so that tiles of an area
join without seams; values as the sample type and the evalscript imply:
reflectance, an index for a normalized difference, a 0/1 ``dataMask``):

* ``image/tiff``: a GeoTIFF (uncompressed, one strip, 8/16/32-bit samples as
  the evalscript's ``sampleType`` says, ModelPixelScale/ModelTiepoint/GeoKeys
  for the request's CRS and bounds), ``width * height * bands * bytes per
  sample`` bytes of pixels;
* ``image/png``: a zlib-compressed PNG (up to 4 bands, 16-bit for UINT16/INT16);
* ``image/jpeg``: a baseline JPEG (greyscale or YCbCr, quality 90);
* ``application/json``: a small JSON document (``userdata`` is always JSON);
* ``application/octet-stream``: the raw samples.

Several responses come as a tar (``application/tar``, ``application/x-tar``;
members ``<identifier>.<ext>``, e.g. ``default.tif``, ``userdata.json``) or as
``multipart/mixed`` (parts named in ``Content-Disposition``), whichever
``Accept`` asks for. Every body is streamed in chunks with a known
``Content-Length``. The pixels derive from the request's evalscript,
collections, time range and output (not its bounds or size), so the same
request always gets the same bytes.

``x-processingunits-spent`` follows Sentinel Hub's PU formula (512 x 512 px = 1
PU; x input bands / 3; x2 for FLOAT32 TIFF; x collections; x data samples,
counted for ``ORBIT``/``TILE`` mosaicking as one per 5 days of the time range;
at least 0.005). The running total is in ``state.stores["sh_process.usage"]``.
"""

from __future__ import annotations

from eoclient.emulator.sentinelhub.process.routes import PATH, ProcessUsage, setup
from eoclient.emulator.sentinelhub.process.units import PU_HEADER

__all__ = ["PATH", "PU_HEADER", "ProcessUsage", "setup"]
