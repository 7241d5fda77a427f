"""The optional libraries behind :mod:`eoclient.arrays`, imported on first use.

``import eoclient`` never imports them; without them a call that needs one is
a :class:`~eoclient.errors.ConfigurationError` that says which extra to install.
"""

from __future__ import annotations

import importlib
from typing import Any, Final

from eoclient.errors import ConfigurationError

ARRAYS_INSTALL: Final = "pip install 'eoclient[arrays]'"
XARRAY_INSTALL: Final = "pip install 'eoclient[xarray]'"


def _load(module: str, what: str, install: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigurationError(f"{what} needs {module}, which is not installed: {install}") from None


def numpy() -> Any:
    """numpy, or a ConfigurationError naming the ``arrays`` extra."""
    return _load("numpy", "decoding images to arrays", ARRAYS_INSTALL)


def tifffile() -> Any:
    """tifffile, or a ConfigurationError naming the ``arrays`` extra."""
    return _load("tifffile", "decoding TIFF images", ARRAYS_INSTALL)


def imagecodecs() -> Any:
    """imagecodecs (PNG and JPEG; fast deflate for tifffile), or a ConfigurationError."""
    return _load("imagecodecs", "decoding PNG and JPEG images", ARRAYS_INSTALL)


def xarray() -> Any:
    """xarray, or a ConfigurationError naming the ``xarray`` extra."""
    return _load("xarray", "labelled arrays", XARRAY_INSTALL)
