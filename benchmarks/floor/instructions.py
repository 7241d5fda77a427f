"""``python -m benchmarks floor --instructions``: the CPU rows again, as instructions counted by callgrind.

CPU time on two shared cores moves by tens of percent between rounds; the
number of instructions a process executes for the same work hardly moves at
all. So each side of a CPU measure (small Process requests, Job status
updates) also runs under ``valgrind --tool=callgrind`` twice: once doing
``n`` units of work and once ``2n``, each after the same warm-up. The
difference of the two totals over the difference of the units the child
reported (requests sent, status GETs the server counted) is the instructions
one unit costs: imports, the warm-up and the process's start and end cancel
out. Both runs of both sides use the same hash seed (``PYTHONHASHSEED``), so
that dicts are probed alike in the two runs. The ratio eoclient / floor is the
steady counterpart of the CPU row.

What it does not see: time in the kernel (system calls, the loopback TCP
stack) and cache misses; CPU time ratios therefore run higher than
instruction ratios. The cache footprint line covers the second: requests one
at a time, the child's data pushed out of the caches before each (what the
emulator's process does to a client's caches between its requests on two
cores), counted by callgrind's cache simulation with a small last level
(:data:`CACHE_SIM`): the last-level read misses of data and instructions one
request costs, i.e. how much of its code and data a request must fetch from
memory again. It needs the ``valgrind`` program (Debian's ``valgrind``
package); without it the lines say so. Each run is 50 to 100 times slower than
native: the sizes here are small.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.floor.measures import FOOTPRINT, JOBS, PROCESS, Measure
from benchmarks.report import Outcome
from benchmarks.run import run_child
from benchmarks.spec import Row

# Units of work per child: the smaller run; the larger does twice as many.
SIZES: dict[str, dict[str, Any]] = {
    "process": {"requests": 150, "repeat": 1, "size": 16},
    "jobs": {"jobs": 300, "repeat": 1, "delay": 0.05, "trace_idle": 0},
    "footprint": {"requests": 50, "repeat": 1, "size": 16},
}
HASH_SEED = 1
# 32 KiB first-level caches and a 2 MiB last level (a core's own L2 on this class of Xeon: the
# shared L3 belongs to every tenant of the host).
CACHE_SIM = ("--cache-sim=yes", "--I1=32768,8,64", "--D1=32768,8,64", "--LL=2097152,16,64")
LL_READ_MISSES = ("DLmr", "ILmr")  # last-level misses of data reads and of instruction fetches
_EVENTS = re.compile(rb"^events: (.+)$", re.MULTILINE)
_TOTAL = re.compile(rb"^(?:summary|totals): (.+)$", re.MULTILINE)


def available() -> str | None:
    """``None`` when callgrind can run, else why not."""
    if shutil.which("valgrind") is None:
        return "valgrind is not installed (apt install valgrind)"
    return None


def _counted(
    measure: Measure,
    row: Row,
    info: dict[str, Any],
    params: dict[str, Any],
    timeout: float,
    events: Sequence[str] = ("Ir",),
) -> tuple[int, Outcome]:
    """The sum of callgrind's totals of ``events`` for one child (``Ir``: instructions), and what it reported.

    Events other than instructions turn on the cache simulation (:data:`CACHE_SIM`).
    """
    with tempfile.TemporaryDirectory(prefix="eoclient-callgrind-") as tmp:
        out = Path(tmp) / "callgrind.out"
        # One hash seed for every run: with a random one, the n and 2n runs of a side would hash
        # (and probe) their dicts differently, and the start-up's share would not cancel out.
        wrapper = [
            "env",
            f"PYTHONHASHSEED={HASH_SEED}",
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            "--log-file=/dev/null",
            *(CACHE_SIM if set(events) - {"Ir"} else ()),
        ]
        outcome = run_child(measure.module, row, info, params, timeout, wrapper=wrapper)
        if outcome.status != "ok":
            return 0, outcome
        text = out.read_bytes() if out.exists() else b""
        names, total = _EVENTS.search(text), _TOTAL.search(text)
        if names is None or total is None:
            return 0, Outcome(row, "failed", "callgrind wrote no total")
        counts = dict(zip(names.group(1).decode().split(), map(int, total.group(1).split()), strict=False))
        if not set(events) <= counts.keys():
            return 0, Outcome(row, "failed", f"callgrind counted no {', '.join(set(events) - counts.keys())}")
        return sum(counts[e] for e in events), outcome


def per_unit(
    measure: Measure,
    row: Row,
    info: dict[str, Any],
    params: dict[str, Any],
    unit: str,
    timeout: float,
    events: Sequence[str] = ("Ir",),
) -> tuple[float | None, str]:
    """``events`` (instructions by default) per ``unit`` (a fact the child reports) of a side, or why not."""
    key = "requests" if "requests" in params else "jobs"
    small, outcome_small = _counted(measure, row, info, params, timeout, events)
    large, outcome_large = _counted(measure, row, info, {**params, key: 2 * params[key]}, timeout, events)
    for outcome in (outcome_small, outcome_large):
        if outcome.status != "ok":
            return None, f"{row.label} failed under callgrind: {outcome.reason}"
    units = float(outcome_large.facts[unit]) - float(outcome_small.facts[unit])
    if units <= 0:
        return None, f"{row.label}: no more {unit} in the larger run"
    return (large - small) / units, ""


def measures() -> list[tuple[str, Measure, str]]:
    """``(kind, measure, unit)`` for every CPU row that has an instruction line."""
    return [*(("process", m, "requests") for m in PROCESS), ("jobs", JOBS, "polls")]


def _sizes(measure: Measure, kind: str) -> dict[str, Any]:
    return {**measure.normal, **SIZES["footprint" if measure is FOOTPRINT else kind]}


def lines(
    infos: dict[str, dict[str, Any]],
    kinds: set[str],
    timeout: float,
    loadavg: Callable[[], float | None],
) -> list[tuple[str, str, str, str, str, str]]:
    """The table's cells for the instruction lines of the chosen kinds (``infos``: each kind's server)."""
    missing = available()
    cells = []
    counted: list[tuple[str, Measure, str, tuple[str, ...]]] = [(k, m, u, ("Ir",)) for k, m, u in measures()]
    counted.insert(len(PROCESS), ("process", FOOTPRINT, "requests", LL_READ_MISSES))
    for kind, m, unit, events in counted:
        if kind not in kinds:
            continue
        name = m.name.replace("CPU per", "Instructions per")
        if missing is not None:
            cells.append((name, f"not measured: {missing}", "", "", "-", "-"))
            continue
        params = _sizes(m, kind)
        load = loadavg()
        print(f"  callgrind: {name} ...", file=sys.stderr, flush=True)
        ours, why_ours = per_unit(m, m.ours, infos[kind], params, unit, timeout, events)
        floor, why_floor = per_unit(m, m.floor, infos[kind], params, unit, timeout, events)
        if ours is None or floor is None:
            cells.append((name, f"not measured: {why_ours or why_floor}", "", "", "-", "-"))
            continue
        loads = [v for v in (load, loadavg()) if v is not None]
        cached = events != ("Ir",)
        cells.append(
            (
                name,
                f"{ours:,.0f}" if cached else f"{ours / 1000:,.0f}k",
                f"{floor:,.0f}" if cached else f"{floor / 1000:,.0f}k",
                f"{ours / floor:.2f} (callgrind{' cache sim' if cached else ''})",
                "-",
                f"{min(loads):.1f}-{max(loads):.1f}" if loads else "-",
            )
        )
    return cells


__all__: Sequence[str] = ("CACHE_SIM", "LL_READ_MISSES", "available", "lines", "measures", "per_unit")
