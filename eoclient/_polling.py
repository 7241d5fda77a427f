"""Poll cadence of long-running jobs.

How often a job's status is asked for, and until when, is a policy of its own,
separate from the transport's retry policy (which retries one failed status
call). :class:`PollPolicy` is that cadence: exponential backoff with jitter,
capped, where a hint from the server (SpaceKnow ``nextTry``, ``Retry-After``)
wins over the computed delay.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final, Protocol

from eoclient._checks import check_seconds
from eoclient.errors import ValidationError

__all__ = ["PollPolicy", "RandomLike"]


class RandomLike(Protocol):
    """What the jitter needs from a random generator (``random.Random`` fits)."""

    def uniform(self, a: float, b: float, /) -> float:
        """A float between ``a`` and ``b``."""
        ...


# Jitter spreads polls of many jobs apart; it is not security-sensitive.
_DEFAULT_RNG: Final = random.Random()  # noqa: S311


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """How often a :class:`~eoclient.jobs.Job` polls, and for how long.

    The ``n``-th sleep (from 0) is ``initial * multiplier**n``, capped at
    ``max_delay``, then scaled by a random factor in ``1 ± jitter`` (and capped
    again). When the service gave a hint for the next poll, the hint is used
    as is instead (clamped to ``0..max_hint``, no jitter).

    ``deadline`` is the number of seconds a ``wait()``/``watch()`` may take
    from its start (``None``: forever); no sleep runs past it, and a status
    call in flight at the deadline may take ``grace`` more seconds before it
    is cut off. A wrong type or value of any field is a
    :class:`~eoclient.errors.ValidationError` naming it (``PollPolicy.jitter``).

    Example::

        policy = PollPolicy(initial=2, max_delay=60, deadline=3600)
        job = Job(strategy, poll=policy)
    """

    initial: float = 1.0
    multiplier: float = 1.5
    max_delay: float = 30.0
    jitter: float = 0.1
    deadline: float | None = None
    max_hint: float = 600.0
    grace: float = 5.0

    def __post_init__(self) -> None:
        for name in ("initial", "max_delay", "max_hint", "grace"):
            check_seconds(f"PollPolicy.{name}", getattr(self, name))
        check_seconds("PollPolicy.multiplier", self.multiplier, minimum=1.0)
        check_seconds("PollPolicy.jitter", self.jitter)
        if self.jitter > 1.0:
            raise ValidationError("PollPolicy.jitter", f"must be between 0 and 1, got {self.jitter!r}")
        check_seconds("PollPolicy.deadline", self.deadline, optional=True)

    def delay(self, attempt: int, hint: float | None = None, rng: RandomLike | None = None) -> float:
        """Seconds to sleep before the next poll.

        ``attempt`` counts the sleeps so far (0 for the first); ``hint`` is the
        server's own suggestion in seconds, which wins when given.

        >>> PollPolicy(initial=1, multiplier=2, max_delay=5, jitter=0).delay(3)
        5.0
        >>> PollPolicy().delay(0, hint=14)
        14.0
        """
        if hint is not None and not math.isnan(hint):
            return float(min(max(hint, 0.0), self.max_hint))
        try:
            base = self.initial * self.multiplier ** max(attempt, 0)
        except OverflowError:
            base = self.max_delay
        base = min(base, self.max_delay)
        if self.jitter:
            base *= 1.0 + (rng or _DEFAULT_RNG).uniform(-self.jitter, self.jitter)
        return float(min(max(base, 0.0), self.max_delay))
