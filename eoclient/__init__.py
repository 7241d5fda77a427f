"""eoclient: an asyncio-first client for Sentinel Hub and SpaceKnow.

Example::

    import eoclient

    async with eoclient.SentinelHub() as sh:      # credentials from env/config
        ...

``import eoclient`` loads only :mod:`eoclient.errors`; the clients and the
rest (aiohttp, msgspec models, the services) are loaded on first use of a name
(``eoclient.SentinelHub``, ``from eoclient import Job``), so a program that
imports eoclient and does not use it yet pays for nothing else.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any, Final

from eoclient import errors
from eoclient._lazy import lazy_names
from eoclient._version import __version__

if TYPE_CHECKING:  # what __getattr__ hands out, for type checkers and editors
    from eoclient._http.ratelimit import RateLimit
    from eoclient._http.retry import RetryPolicy
    from eoclient._http.transport import ConnectionLimits, Timeouts
    from eoclient.jobs import Job, JobState, JobStatus, PollPolicy, resume_job
    from eoclient.sentinelhub import ProcessingBudget, SentinelHub
    from eoclient.spaceknow import SpaceKnow

__all__ = [
    "ConnectionLimits",
    "Job",
    "JobState",
    "JobStatus",
    "PollPolicy",
    "ProcessingBudget",
    "RateLimit",
    "RetryPolicy",
    "SentinelHub",
    "SpaceKnow",
    "Timeouts",
    "__version__",
    "errors",
    "resume_job",
]

# Public name -> the module that defines it, imported when the name is first asked for (_lazy).
_LAZY: Final = {
    "ConnectionLimits": "eoclient._http.transport",
    "Job": "eoclient.jobs",
    "JobState": "eoclient.jobs",
    "JobStatus": "eoclient.jobs",
    "PollPolicy": "eoclient.jobs",
    "ProcessingBudget": "eoclient.sentinelhub",
    "RateLimit": "eoclient._http.ratelimit",
    "RetryPolicy": "eoclient._http.retry",
    "SentinelHub": "eoclient.sentinelhub",
    "SpaceKnow": "eoclient.spaceknow",
    "Timeouts": "eoclient._http.transport",
    "resume_job": "eoclient.jobs",
}


_public = lazy_names(__name__, _LAZY)


def __getattr__(name: str) -> Any:
    """Load a public name, or a subpackage (``eoclient.geo``), on first use."""
    if name in _LAZY:
        return _public(name)  # kept in the namespace: later lookups do not come here
    if not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        # Before imports were lazy, `import eoclient` loaded every subpackage as a side effect.
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
