"""The emulator's accelerated clock.

Job state machines run on emulated time so that a "10 minute" batch job
finishes in milliseconds of a test. Tokens do *not* use this clock: a client
checks token expiry with its own wall clock.
"""

from __future__ import annotations

import time

__all__ = ["EmulatorClock"]


class EmulatorClock:
    """Emulated epoch seconds that run ``speed`` times faster than real time.

    The clock starts at the real ``time.time()`` and measures elapsed real time
    with ``time.monotonic()`` (so a wall-clock step does not move jobs).

    Example::

        clock = EmulatorClock(speed=100.0)
        clock.advance(3600)          # jump an hour ahead
        real = clock.to_real(30.0)   # 0.3 real seconds for 30 emulated ones
    """

    def __init__(self, speed: float = 1.0, *, start: float | None = None) -> None:
        _check_speed(speed)
        self._speed = speed
        # Emulated time at the anchor, and the real monotonic anchor itself.
        self._base = time.time() if start is None else start
        self._anchor = time.monotonic()

    @property
    def speed(self) -> float:
        """How many emulated seconds pass per real second (> 0)."""
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        _check_speed(value)
        # Re-anchor so that changing the speed never makes time jump.
        self._base = self.now()
        self._anchor = time.monotonic()
        self._speed = value

    def now(self) -> float:
        """Return the current emulated time as epoch seconds."""
        return self._base + (time.monotonic() - self._anchor) * self._speed

    def advance(self, seconds: float) -> None:
        """Jump the emulated time forward by ``seconds`` (never backwards)."""
        if seconds < 0:
            raise ValueError("the emulated clock cannot go backwards")
        self._base += seconds

    def to_real(self, emulated_seconds: float) -> float:
        """Convert an emulated duration to real seconds (negative becomes 0)."""
        return max(0.0, emulated_seconds) / self._speed

    def to_emulated(self, real_seconds: float) -> float:
        """Convert a real duration to emulated seconds (negative becomes 0)."""
        return max(0.0, real_seconds) * self._speed

    def __repr__(self) -> str:
        return f"EmulatorClock(speed={self._speed!r}, now={self.now():.3f})"


def _check_speed(speed: float) -> None:
    if not speed > 0:
        raise ValueError(f"clock speed must be > 0, got {speed!r}")
