"""The optional extras' packages, imported by the tests that need them.

The ``test`` extra installs every one of them, so a missing package is a
broken install, not a reason to skip: the import fails loudly and names what
to install, and no test of the arrays, tables or areas quietly stops running.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def need(module: str) -> ModuleType:
    """``module``, or an ImportError saying that the test extra is not installed whole."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{module} is missing: the tests need the whole test extra (pip install -e '.[test]')"
        ) from exc
