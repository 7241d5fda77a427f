"""``python -m benchmarks floor``: the issue's table, every measure paired with its floor in one run.

A round runs, for every measure, eoclient's child process and the floor's
child process back to back (eoclient first in even rounds, the floor first in
odd ones); the ratio eoclient / floor is taken per round, and the table shows
its median and its range over the rounds. Pairing cancels most of what a
shared machine does to both sides alike (another process taking a core for
a minute); the range says how much is left. The 1-minute load average is read
before every pair (the ``load`` column: its range over the measure's pairs)
and at the start and end of the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks.emulator import emulator_process
from benchmarks.floor import imports, instructions, stac
from benchmarks.floor.interleave import round_ratio, run_interleaved
from benchmarks.floor.measures import (
    IMPORT_ROUNDS,
    JOBS,
    PROCESS,
    STANDIN,
    TO_FILE,
    TO_FILE_DISK,
    Goal,
    Measure,
    Setup,
    cpu_per,
)
from benchmarks.report import Outcome, environment
from benchmarks.run import RESULTS, run_child
from benchmarks.standin import standin_process

ROOT = Path(__file__).resolve().parent.parent.parent
KINDS = ("process", "to-file", "jobs", "stac", "import")
HEADS = ("measure", "eoclient", "floor or peer", "paired ratio: median [min-max] (rounds)", "goal", "load")


def loadavg() -> float | None:
    """The 1-minute load average (Linux), or ``None``."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class Pair:
    ours: Outcome
    floor: Outcome
    load: float | None


@dataclass
class Tally:
    """One measure's pairs over the rounds, and its problems."""

    measure: Measure
    params: dict[str, Any]
    info: dict[str, Any]
    rounds: int
    pairs: list[Pair] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def good(self) -> list[Pair]:
        return [p for p in self.pairs if p.ours.status == p.floor.status == "ok"]


@dataclass
class Line:
    cells: tuple[str, str, str, str, str, str]


def _fmt(value: float, digits: int) -> str:
    return f"{value:,.{digits}f}"


def _loads(values: Sequence[float | None]) -> str:
    got = [v for v in values if v is not None]
    if not got:
        return "-"
    return f"{min(got):.1f}" if min(got) == max(got) else f"{min(got):.1f}-{max(got):.1f}"


def _ratio_cell(ratios: Sequence[float]) -> str:
    med = statistics.median(ratios)
    if len(ratios) == 1:
        return f"{med:.2f} (1)"
    return f"{med:.2f} [{min(ratios):.2f}-{max(ratios):.2f}] ({len(ratios)})"


def _goal_cell(goal: Goal | None, ratio: float | None) -> str:
    if goal is None:
        return "-"
    if ratio is None:
        return str(goal)
    return f"{goal}: {'met' if goal.met(ratio) else 'NOT met'}"


def pair_line(tally: Tally) -> Line:
    m = tally.measure
    good = tally.good()
    if not good:
        why = "; ".join(tally.problems) or "no round completed"
        return Line((m.name, f"not measured: {why}", "", "", str(m.goal or "-"), "-"))
    ours = [m.value(p.ours, tally.params) for p in good]
    floor = [m.value(p.floor, tally.params) for p in good]
    if m.interleave:  # turn by turn: each of our runs over the floor's run beside it in time
        ratios = [round_ratio(m.value, p.ours, p.floor, tally.params) for p in good]
    else:
        ratios = [a / b for a, b in zip(ours, floor, strict=True)]
    return Line(
        (
            m.name,
            f"{_fmt(statistics.median(ours), m.digits)} {m.unit}",
            f"{_fmt(statistics.median(floor), m.digits)} {m.unit}",
            _ratio_cell(ratios),
            _goal_cell(m.goal, statistics.median(ratios)),
            _loads([p.load for p in good]),
        )
    )


def _check(tally: Tally, pair: Pair) -> None:
    for side in (pair.ours, pair.floor):
        if side.status != "ok":
            tally.problems.append(f"{side.row.label} failed: {side.reason}")
    if pair.ours.status == pair.floor.status == "ok":
        for key in tally.measure.agree:
            a, b = pair.ours.facts.get(key), pair.floor.facts.get(key)
            if a != b:
                tally.problems.append(f"the sides disagree on {key}: eoclient {a!r}, floor {b!r}")


def run_pair(tally: Tally, round_: int, timeout: float) -> None:
    m = tally.measure
    load = loadavg()
    sides = [m.ours, m.floor] if round_ % 2 == 0 else [m.floor, m.ours]
    got = {}
    if m.interleave:
        print(f"  round {round_ + 1}: {m.name}: taking turns ...", end="", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        got = run_interleaved(m.module, sides, tally.info, tally.params, timeout)
        print(f" {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    for row in [] if m.interleave else sides:
        print(f"  round {round_ + 1}: {m.name}: {row.label} ...", end="", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        got[row.client] = run_child(m.module, row, tally.info, tally.params, timeout)
        print(f" {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    pair = Pair(got[m.ours.client], got[m.floor.client], load)
    _check(tally, pair)
    tally.pairs.append(pair)


def memory_lines(to_file: Tally | None, jobs: Tally | None, body_bytes: int) -> list[Line]:
    """What the pairs also tell about memory: RSS growth while streaming, bytes per idle Job handle."""
    lines = []
    if to_file is not None and to_file.good():
        ours = [p.ours.work_rss_kb for p in to_file.good() if p.ours.work_rss_kb is not None]
        floor = [p.floor.work_rss_kb for p in to_file.good() if p.floor.work_rss_kb is not None]
        if ours:
            worst = max(ours) / 1024
            lines.append(
                Line(
                    (
                        f"{body_bytes / (1 << 20):,.0f} MiB process_to_file: RSS growth (largest)",
                        f"{worst:.1f} MiB",
                        f"{max(floor) / 1024:.1f} MiB" if floor else "-",
                        "-",
                        f"<= 8 MiB: {'met' if worst <= 8 else 'NOT met'}",
                        _loads([p.load for p in to_file.good()]),
                    )
                )
            )
    if jobs is not None and jobs.good():
        idle = [p.ours.facts["idle_bytes_per_job"] for p in jobs.good()]
        polled = [p.ours.facts["polled_bytes_per_job"] for p in jobs.good()]
        med = statistics.median(idle)
        lines.append(
            Line(
                (
                    f"{jobs.params['jobs']:,} Jobs: memory per idle handle (after one poll)",
                    f"{med:,.0f} B ({statistics.median(polled):,.0f} B)",
                    "-",
                    "-",
                    f"<= 1,024 B: {'met' if med <= 1024 else 'NOT met'}",
                    _loads([p.load for p in jobs.good()]),
                )
            )
        )
    return lines


def import_lines(n: int) -> list[Line]:
    """``import eoclient`` (and its first use) against ``import sentinelhub``, fresh interpreters."""
    name = "`import eoclient` wall vs `import sentinelhub`"
    first = "`import eoclient; eoclient.SentinelHub` vs `import sentinelhub`"
    missing = stac.missing("sentinelhub")
    if missing is not None:
        return [Line((name, f"not measured: {missing}", "", "", "<= 0.5", "-"))]
    load = loadavg()
    print(f"  imports: {n} rounds of fresh interpreters ...", file=sys.stderr, flush=True)
    found = imports.rounds(["eoclient", "eoclient_first_use", "sentinelhub"], n)
    loads = _loads([load, loadavg()])
    lines = []
    for label, key, goal in ((name, "eoclient", Goal("<=", 0.5)), (first, "eoclient_first_use", None)):
        ratios = [r[key] / r["sentinelhub"] for r in found]
        lines.append(
            Line(
                (
                    label,
                    f"{statistics.median(r[key] for r in found) * 1000:,.1f} ms",
                    f"{statistics.median(r['sentinelhub'] for r in found) * 1000:,.1f} ms",
                    _ratio_cell(ratios),
                    _goal_cell(goal, statistics.median(ratios)),
                    loads,
                )
            )
        )
    return lines


def table(lines: Sequence[Line]) -> str:
    """A Markdown table (pipes aligned, so it reads in a terminal too)."""
    rows = [HEADS, *(line.cells for line in lines)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADS))]

    def fmt(cells: Sequence[str]) -> str:
        return "| " + " | ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join([fmt(HEADS), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(fmt, rows[1:])])


def _commit() -> str:
    proc = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() or "unknown"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks floor",
        description="Issue #15's table: every measure against its floor, paired per round, in one run.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, one round: a smoke run (< 60 s)")
    parser.add_argument("--rounds", type=int, help="paired rounds per measure (default 5; quick 1)")
    parser.add_argument(
        "--only",
        action="append",
        choices=KINDS,
        help="run only these measures (repeatable; default: all)",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count the CPU rows' instructions per unit with callgrind (steady on busy cores)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write floor.md")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds allowed per child process")
    return parser.parse_args(argv)


@dataclass
class FloorResult:
    lines: list[Line]
    problems: list[str]
    text: str


def _start(
    stack: ExitStack, kinds: set[str], quick: bool, rounds: int, *, capped: bool
) -> tuple[dict[str, list[Tally]], list[Line]]:
    """Start the servers the chosen measures need (closed with ``stack``); a tally per measure."""
    size = "quick" if quick else "normal"
    emulator: dict[str, Any] = {}
    if "process" in kinds:
        emulator = stack.enter_context(emulator_process())
    standin: dict[str, Any] = {}
    if kinds & {"to-file", "jobs"}:
        server = stack.enter_context(standin_process(**STANDIN[size]))
        standin = {
            "sentinelhub_url": server["url"],
            "sentinelhub_token_url": server["token_url"],
            "credentials": {"sh_client_id": "standin-client", "sh_client_secret": "standin-secret"},
        }
    chosen: list[tuple[str, Measure]] = []
    if "process" in kinds:
        chosen += [("process", m) for m in PROCESS]
    if "to-file" in kinds:
        chosen += [("to-file", TO_FILE), ("to-file", TO_FILE_DISK)]
    if "jobs" in kinds:
        chosen.append(("jobs", JOBS))
    stac_lines: list[Line] = []
    if "stac" in kinds:
        measures, reason = stac.measures()
        if reason is not None:
            stac_lines = [Line((stac.NAME, f"not measured: {reason}", "", "", stac.GOALS, "-"))]
        chosen += [("stac", m) for m in measures]
    tallies: dict[str, list[Tally]] = {kind: [] for kind in KINDS}
    servers: dict[Setup, dict[str, Any]] = {}
    for kind, m in chosen:
        info = standin if m.server == "standin" else emulator
        # a long measure runs fewer rounds at normal sizes, unless --rounds says how many
        most = m.rounds if capped and m.rounds is not None else rounds
        tally = Tally(m, dict(m.quick if quick else m.normal), info, min(rounds, most))
        try:
            if m.prepare is not None:
                tally.params.update(m.prepare(info, tally.params))
            if m.setup is not None:  # one server for every measure of a scenario (the STAC lines)
                if m.setup not in servers:
                    servers[m.setup] = stack.enter_context(m.setup(info, tally.params))
                tally.info = {**info, **servers[m.setup]}
        except Exception as exc:  # a measure that cannot start is a line of the table, not a crash
            tally.problems.append(f"setup failed: {type(exc).__name__}: {exc}")
            tally.rounds = 0
        tallies[kind].append(tally)
    return tallies, stac_lines


def run(argv: Sequence[str] | None = None) -> FloorResult:
    """Run the table; print it and write ``<results>/floor.md``."""
    args = parse_args(argv)
    size = "quick" if args.quick else "normal"
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 5)
    capped = args.rounds is None and not args.quick
    kinds = set(args.only or KINDS)
    start_load, started = loadavg(), dt.datetime.now(dt.UTC)
    with ExitStack() as stack:
        tallies, stac_lines = _start(stack, kinds, args.quick, rounds, capped=capped)
        for r in range(rounds):
            for kind in KINDS:
                for tally in tallies[kind]:
                    if tally.rounds > r:
                        run_pair(tally, r, args.timeout)
        counted: dict[str, list[Line]] = {}
        if args.instructions:
            infos = {kind: tallies[kind][0].info for kind in ("process", "jobs") if tallies[kind]}
            for kind in infos:
                counted[kind] = [Line(c) for c in instructions.lines(infos, {kind}, args.timeout, loadavg)]
    lines: list[Line] = []
    for kind in KINDS:
        if kind == "stac" and "stac" in kinds:
            lines += stac_lines
        for tally in tallies[kind]:
            lines.append(pair_line(tally))
            if kind == "to-file":  # the same pairs read by CPU time: steadier than MB/s on busy cores
                cpu = replace(tally.measure, name=tally.measure.name.replace("throughput", "CPU per GiB"))
                cpu = replace(cpu, value=cpu_per("bytes", 1 << 30), unit="CPU s", goal=None, digits=2)
                lines.append(pair_line(replace(tally, measure=cpu)))
        lines += counted.get(kind, [])
        if kind == "jobs":
            to_file = tallies["to-file"][0] if tallies["to-file"] else None
            jobs = tallies["jobs"][0] if tallies["jobs"] else None
            lines += memory_lines(to_file, jobs, STANDIN[size]["body_bytes"])
        if kind == "import" and "import" in kinds:
            lines += import_lines(args.rounds or IMPORT_ROUNDS[size])
    end_load = loadavg()
    problems = [f"{t.measure.name}: {p}" for ts in tallies.values() for t in ts for p in t.problems]
    notes = _notes(tallies, size, counted=bool(counted))
    text = "\n".join(
        [
            f"# The floor table ({size} sizes, {rounds} paired round(s))",
            "",
            f"{started:%Y-%m-%d %H:%M} UTC, commit {_commit()}; {platform.node() or 'this machine'}: "
            f"{os.cpu_count()} CPUs, 1-minute load {start_load} at the start and {end_load} at the end.",
            "",
            table(lines),
            "",
            *(f"- {n}" for n in notes),
            *(f"- PROBLEM: {p}" for p in problems),
            "",
            environment(quick=args.quick),
            "",
        ]
    )
    print(text, flush=True)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "floor.md").write_text(text)
    return FloorResult(lines, problems, text)


def _notes(tallies: dict[str, list[Tally]], size: str, *, counted: bool) -> list[str]:
    notes = [
        "paired ratio: eoclient's value / the floor's, per round (each side a fresh child process, run "
        "back to back, the order alternating); CPU rows are CPU time (user + system) per unit, lower "
        "is better; throughput rows are MB/s or items/s, higher is better. The Process rows' children "
        "run together and take turns (benchmarks/floor/interleave.py): a round's ratio is the median "
        "of its turns' ratios, each of eoclient's timed runs over the floor's beside it in time.",
    ]
    if counted:
        notes.append(
            "Instructions rows: the same children under valgrind's callgrind, run with n and 2n units "
            "after the same warm-up; (instructions(2n) - instructions(n)) / units is one unit's cost "
            "(benchmarks/floor/instructions.py). Steady on busy cores, blind to the kernel and to cache "
            "misses: CPU time ratios run higher."
        )
        notes.append(
            "Cache footprint line: the Process requests one at a time, the child's data evicted before "
            "each (as the emulator's process does between requests at C=1), under callgrind's cache "
            "simulation (32 KiB L1, 2 MiB last level): last-level read misses (data + instructions) per "
            "request, i.e. what a request fetches from memory again when its caches went cold."
        )
    if tallies["process"]:
        p = tallies["process"][0].params
        notes.append(
            f"Process rows: {p['requests']} requests of {p['size']}x{p['size']} 3-band UINT8 TIFF on the "
            f"emulator, {p['repeat']} timed run(s) per child, taking turns; floor: one aiohttp session "
            "posting the same dict as JSON with a bearer and reading the body."
        )
    if tallies["to-file"]:
        body = STANDIN[size]["body_bytes"]
        notes.append(
            f"process_to_file: {body / (1 << 20):,.0f} MiB from the stand-in server (benchmarks/standin.py); "
            "throughput is wall time (noisy on shared cores); floor: aiohttp reading 1 MiB chunks, plain "
            "blocking writes. RSS growth: how far the child's resident set rose during the transfer."
        )
    if tallies["jobs"]:
        j = tallies["jobs"][0].params
        polls = STANDIN[size]["polls"]
        notes.append(
            f"Jobs: {j['jobs']:,} Batch v2 ids on the stand-in, {polls} GETs each to DONE "
            f"({j['delay']} s between polls); CPU of following all of them / status GETs counted by the "
            "server. Idle handle memory: tracemalloc over creating the Jobs "
            "(benchmarks/scenarios/jobs_idle_memory.py)."
        )
    return notes


def main(argv: Sequence[str] | None = None) -> None:
    result = run(argv)
    if result.problems:
        raise SystemExit(1)
