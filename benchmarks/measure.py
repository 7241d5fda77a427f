"""The child side of a measurement: wall time and CPU time of the timed sections, and memory.

The CPU time (user + system, every thread of the process) is what the
client itself burnt: unlike the wall time, it hardly moves when the machine is
busy with something else, and it leaves out the time spent waiting for the
emulator.

Every client of every scenario runs in a child process of its own
(``python -m benchmarks.child``) so that its peak memory is its own: not the
emulator's, not another client's. The client warms up first (imports, token,
first connection), then runs ``repeat`` timed sections. Memory is read from
``/proc/self/status`` on Linux:

* ``peak_rss``: the highest resident set of the whole child (imports included);
* ``work_rss``: how far the resident set rose, during a timed section, above
  what it was just before it (the high-water mark is reset with
  ``/proc/self/clear_refs`` before each one), i.e. what the work itself needs
  on top of what the process already holds; the largest over the repeats
  (usually the first: later ones reuse memory the allocator kept).

Elsewhere only ``peak_rss`` is known (``getrusage``).

Interleaved children (``"baton"`` in the spec: two pipe descriptors, see
:mod:`benchmarks.floor.interleave`) wait before each timed section until the
parent hands them the turn, and hand it back when the section ends, so that
two clients' sections alternate and never overlap.
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kb(field: str) -> int | None:
    with suppress(OSError):
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def _maxrss_kb() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB elsewhere


def _reset_peak() -> bool:
    """Reset the high-water mark to the current resident set (Linux >= 4.0)."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


class Context:
    """What a client function gets: the emulator, its parameters, a work directory, and the stopwatch.

    Example::

        def eoclient_side(ctx: Context) -> None:
            ...  # warm up
            for _ in ctx.repeats():
                with ctx.timed():
                    ...  # the work
                ctx.fact(items=len(items))
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        self.info: dict[str, Any] = spec["emulator"]
        self.params: dict[str, Any] = spec["params"]
        self.repeat: int = spec["repeat"]
        self.min_time: float = spec.get("min_time", 0.0)
        self.max_repeat: int = max(self.repeat, spec.get("max_repeat", self.repeat))
        self.workdir = Path(spec["workdir"])
        self.times: list[float] = []
        self.cpu_times: list[float] = []
        self.work_kb: list[int] = []
        self.facts: dict[str, Any] = {}
        self._peak_kb = 0
        baton = spec.get("baton")
        self._baton: tuple[int, int] | None = (int(baton[0]), int(baton[1])) if baton else None

    def repeats(self) -> Iterator[int]:
        """At least ``repeat`` runs, more (up to ``max_repeat``) until ``min_time`` seconds were timed.

        Fast rows thus get enough runs for a steady median; slow ones stop at ``repeat``.
        """
        i = 0
        while i < self.repeat or (sum(self.times) < self.min_time and i < self.max_repeat):
            yield i
            i += 1

    @contextmanager
    def timed(self) -> Iterator[None]:
        """Time the block and measure how far the resident set rises above where it was before it."""
        gc.collect()
        self._peak_kb = max(self._peak_kb, _status_kb("VmHWM") or 0)
        baseline = _status_kb("VmRSS") if _reset_peak() else None
        if self._baton is not None and not os.read(self._baton[0], 1):  # the turn (empty: the parent left)
            raise SystemExit("the parent stopped handing out turns")
        t0, c0 = time.perf_counter(), time.process_time()
        yield
        self.times.append(time.perf_counter() - t0)
        self.cpu_times.append(time.process_time() - c0)
        if self._baton is not None:
            os.write(self._baton[1], b".")  # the turn goes back
        peak = _status_kb("VmHWM")
        if baseline is not None and peak is not None:
            self.work_kb.append(max(0, peak - baseline))

    def fact(self, **facts: Any) -> None:
        """Record what the work produced (item ids, bytes...); the parent checks that every client agrees."""
        for key, value in facts.items():
            if key in self.facts and self.facts[key] != value:
                raise AssertionError(f"{key} differs between repeats: {self.facts[key]!r} != {value!r}")
            self.facts[key] = value

    def result(self) -> dict[str, Any]:
        peak = max(self._peak_kb, _status_kb("VmHWM") or 0) or _maxrss_kb()
        return {
            "times": self.times,
            "cpu_times": self.cpu_times,
            "facts": self.facts,
            "peak_rss_kb": peak,
            "work_rss_kb": max(self.work_kb) if self.work_kb else None,
        }
