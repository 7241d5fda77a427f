"""eoclient: an asyncio-first client for Sentinel Hub and SpaceKnow.

Example::

    import eoclient

    async with eoclient.SentinelHub() as sh:      # credentials from env/config
        ...
"""

from eoclient import errors
from eoclient._http.ratelimit import RateLimit
from eoclient._http.retry import RetryPolicy
from eoclient._http.transport import ConnectionLimits, Timeouts
from eoclient._version import __version__
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
