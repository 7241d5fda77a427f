"""Analysis-ready pixels: answers decoded to numpy arrays and xarray objects with their coordinates.

* :class:`GeoRef` (:mod:`.georef`, pure Python): where an image's pixels are —
  from the request that asked for it or from a GeoTIFF's tags.
* :func:`decode` / :func:`read` (:mod:`.decode`): TIFF, PNG, JPEG and raw
  bytes or files to a :class:`Raster` (numpy array, band axis last, and its GeoRef).
* :func:`to_dataarray`, :func:`to_dataset`, :func:`stack_time`
  (:mod:`.labelled`): xarray objects with ``x``/``y``/``band``/``time``
  coordinates and the CRS as rioxarray reads it.

numpy, tifffile and imagecodecs (``pip install 'eoclient[arrays]'``) and
xarray (``pip install 'eoclient[xarray]'``) are optional and imported on
first use: importing this package imports none of them.
"""

from eoclient.arrays.decode import Raster, decode, read
from eoclient.arrays.georef import GeoRef, Window
from eoclient.arrays.labelled import stack_time, to_dataarray, to_dataset

__all__ = ["GeoRef", "Raster", "Window", "decode", "read", "stack_time", "to_dataarray", "to_dataset"]
