"""Structured log events of eoclient, always redacted.

When the application has configured structlog, events go through its
configuration; otherwise they go to the standard ``logging`` logger
``"eoclient"`` (silent below WARNING unless the application turns it up), so a
library never prints on its own. Every field passes :func:`redact_mapping`.

structlog is imported only when an event is actually written through the
fallback: importing it (and the ``rich`` it pulls in when installed) is a tenth
of a second, and an application that configured structlog has imported it.
"""

from __future__ import annotations

import functools
import logging
import sys
from typing import Any

from eoclient._redact import redact_mapping

__all__ = ["log_enabled", "log_event"]

_stdlib_logger = logging.getLogger("eoclient")


@functools.cache
def _fallback() -> Any:
    """The stdlib-backed structlog logger, built on the first event that is written."""
    import structlog  # noqa: PLC0415 - see the module docstring

    return structlog.wrap_logger(
        _stdlib_logger,
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True),
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
    )


def log_event(level: int, event: str, **fields: Any) -> None:
    """Emit ``event`` at ``level`` with ``fields`` scrubbed of secrets."""
    # Not imported yet means not configured: configuring structlog imports it.
    structlog: Any = sys.modules.get("structlog")
    if structlog is not None and structlog.is_configured():
        logger: Any = structlog.get_logger("eoclient")
    elif _stdlib_logger.isEnabledFor(level):
        logger = _fallback()
    else:
        return
    logger.log(level, event, **redact_mapping(fields))


def log_enabled(level: int) -> bool:
    """Whether an event at ``level`` would be written (to skip building one that would not)."""
    structlog: Any = sys.modules.get("structlog")
    return (structlog is not None and structlog.is_configured()) or _stdlib_logger.isEnabledFor(level)
