"""The floor table's measures: what runs on each side of a pair, on which server, and how to read it."""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from benchmarks.report import Outcome
from benchmarks.spec import Row

CHILDREN = "benchmarks.floor.children"
Setup = Callable[[dict[str, Any], dict[str, Any]], AbstractContextManager[dict[str, Any]]]


@dataclass(frozen=True)
class Goal:
    """``ratio <op> limit`` (``op`` is ``"<="`` or ``">="``)."""

    op: str
    limit: float

    def met(self, ratio: float) -> bool:
        return ratio <= self.limit if self.op == "<=" else ratio >= self.limit

    def __str__(self) -> str:
        return f"{self.op} {self.limit:.2f}"


@dataclass(frozen=True)
class Measure:
    """One line of the table: eoclient's row and the floor's row, run back to back in every round.

    ``value(outcome, params)`` reads one child's number (the median over its
    timed runs); the paired ratio of a round is eoclient's value over the
    floor's. ``server`` is where the children point: ``"emulator"``,
    ``"standin"`` (:mod:`benchmarks.standin`), or ``"setup"`` (the measure's
    own ``setup`` context yields it, e.g. the STAC server). ``agree`` names
    the facts both sides must report alike (the same work done).
    """

    name: str
    module: str
    ours: Row
    floor: Row
    server: str
    normal: Mapping[str, Any]
    quick: Mapping[str, Any]
    value: Callable[[Outcome, Mapping[str, Any]], float]
    unit: str
    goal: Goal | None
    agree: tuple[str, ...] = ()
    setup: Setup | None = None
    prepare: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None
    digits: int = 1
    rounds: int | None = None  # at most this many rounds at normal sizes (a long measure)
    # Both children alive together, their timed runs taking turns (benchmarks.floor.interleave);
    # a round's ratio is the median of its turns' ratios.
    interleave: bool = False


def cpu_per(fact: str, scale: float = 1e6) -> Callable[[Outcome, Mapping[str, Any]], float]:
    """Median CPU seconds of a timed run over ``facts[fact]`` units, times ``scale`` (µs by default)."""

    def value(outcome: Outcome, params: Mapping[str, Any]) -> float:
        return statistics.median(outcome.cpu_times) / float(outcome.facts[fact]) * scale

    return value


def mb_per_s(outcome: Outcome, params: Mapping[str, Any]) -> float:
    """Bytes written per second of wall time (median run), in MB/s."""
    return float(outcome.facts["bytes"]) / statistics.median(outcome.times) / 1e6


CONCURRENCY = (1, 16, 64)
PROCESS = tuple(
    Measure(
        name=f"CPU per small Process request, C={c}",
        module=CHILDREN,
        ours=Row("eoclient sh.process()", "process_eoclient"),
        floor=Row("aiohttp post + read", "process_aiohttp", "aiohttp"),
        server="emulator",
        # 15 turns of 200 requests a side: run one after the other, 3 runs of 1,000 requests of one
        # commit gave ratios from 0.84 to 1.31 (C=16, 5 rounds); taking turns, 0.95-1.03 floor/floor.
        normal={"requests": 200, "concurrency": c, "size": 64, "repeat": 15},
        quick={"requests": 32, "concurrency": c, "size": 64, "repeat": 2},
        value=cpu_per("requests"),
        unit="µs",
        goal=Goal("<=", 1.10),
        agree=("requests", "bytes"),
        digits=0,
        interleave=True,
    )
    for c in CONCURRENCY
)
# Only counted (benchmarks/floor/instructions.py), never timed: how much of a request's code and
# data must come from memory again when the caches went cold in between, as at C=1.
FOOTPRINT = Measure(
    name="Last-level cache read misses per small Process request, caches cold before each (C=1)",
    module=CHILDREN,
    ours=Row("eoclient sh.process(), cold caches", "process_eoclient_cold"),
    floor=Row("aiohttp post + read, cold caches", "process_aiohttp_cold", "aiohttp"),
    server="emulator",
    normal={"requests": 50, "concurrency": 1, "size": 16, "repeat": 1},
    quick={"requests": 8, "concurrency": 1, "size": 16, "repeat": 1},
    value=cpu_per("requests"),
    unit="misses",
    goal=None,
    agree=("requests", "bytes"),
)
# In memory-backed files the client's own cost shows; on a disk its speed (and eoclient's fsync
# before the rename, which the floor does not do) decides: the second line compares that
# with a floor that also syncs.
TMPFS = "/dev/shm" if os.path.isdir("/dev/shm") else ""
TO_FILE = Measure(
    name="process_to_file throughput" + (" (tmpfs)" if TMPFS else ""),
    module=CHILDREN,
    ours=Row("eoclient sh.process_to_file()", "to_file_eoclient"),
    floor=Row("aiohttp 1 MiB chunks + blocking writes", "to_file_aiohttp", "aiohttp"),
    server="standin",
    normal={"repeat": 1, "dir": TMPFS},
    quick={"repeat": 1, "dir": TMPFS},
    value=mb_per_s,
    unit="MB/s",
    goal=Goal(">=", 0.90),
    agree=("bytes",),
    digits=0,
)
TO_FILE_DISK = Measure(
    name="process_to_file throughput (disk), floor + fsync",
    module=CHILDREN,
    ours=TO_FILE.ours,
    floor=Row("aiohttp blocking writes + fsync", "to_file_aiohttp", "aiohttp"),
    server="standin",
    normal={"repeat": 1, "fsync": 1},
    quick={"repeat": 1, "fsync": 1},
    value=mb_per_s,
    unit="MB/s",
    goal=None,
    agree=("bytes",),
    digits=0,
)
JOBS = Measure(
    name="Jobs on one loop: CPU per status update",
    module=CHILDREN,
    ours=Row("eoclient sh.batch.job().wait()", "jobs_eoclient"),
    floor=Row("asyncio + aiohttp poller", "jobs_aiohttp", "aiohttp"),
    server="standin",
    normal={"jobs": 10_000, "delay": 0.05, "repeat": 1},
    quick={"jobs": 500, "delay": 0.05, "repeat": 1},
    value=cpu_per("polls"),
    unit="µs",
    goal=Goal("<=", 1.10),
    agree=("jobs", "done", "polls"),
    digits=0,
    rounds=3,  # 20,000 status GETs a side: about a minute a pair on two busy cores
)
# The stand-in's sizes: the large answer, and the GETs a job takes to reach DONE.
STANDIN = {"normal": {"body_bytes": 1 << 30, "polls": 2}, "quick": {"body_bytes": 64 << 20, "polls": 2}}
IMPORT_ROUNDS = {"normal": 10, "quick": 3}
