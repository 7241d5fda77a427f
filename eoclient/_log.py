"""Structured log events of eoclient, always redacted.

When the application has configured structlog, events go through its
configuration; otherwise they go to the standard ``logging`` logger
``"eoclient"`` (silent below WARNING unless the application turns it up), so a
library never prints on its own. Every field passes :func:`redact_mapping`.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

from eoclient._redact import redact_mapping

__all__ = ["log_event"]

_stdlib_logger = logging.getLogger("eoclient")
_fallback: Any = structlog.wrap_logger(
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
    if structlog.is_configured():
        logger: Any = structlog.get_logger("eoclient")
    elif _stdlib_logger.isEnabledFor(level):
        logger = _fallback
    else:
        return
    logger.log(level, event, **redact_mapping(fields))
