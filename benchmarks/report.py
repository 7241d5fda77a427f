"""Tables: plain text for the terminal and ``results/<scenario>.txt``, Markdown for ``results/summary.md``."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from benchmarks.spec import Row, Scenario

LEGEND = (
    "time x: the median time relative to eoclient's row (2.00 = twice as long as eoclient). "
    "spread: (slowest - fastest) / median over the repeats. "
    "cpu s: the median CPU time (user + system, all threads) the client process burnt per run, "
    "cpu x relative to eoclient's row: what the client itself costs, blind to waiting (pacing, "
    "the server) and usually steadier than the wall time. "
    "peak MB: the client process's highest resident set, imports included. "
    "work MB: how far the resident set rose during one timed run above where it was just before "
    "(the largest over the runs); work x relative to eoclient's row."
)


@dataclass
class Outcome:
    """What one row's child process reported (or why it did not run)."""

    row: Row
    status: str  # "ok", "skipped", "failed"
    reason: str = ""
    times: list[float] = field(default_factory=list)
    cpu_times: list[float] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    peak_rss_kb: int | None = None
    work_rss_kb: int | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_times)

    @property
    def spread(self) -> float:
        return (max(self.times) - min(self.times)) / self.median if self.median else 0.0


@dataclass
class ScenarioResult:
    scenario: Scenario
    params: dict[str, Any]
    outcomes: list[Outcome]
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        runs = f"median of {self.params['repeat']} run(s)"
        if self.params.get("min_time"):
            runs = (
                f"median of >= {self.params['repeat']} runs, more until {self.params['min_time']:g} s timed"
            )
        return f"{self.scenario.name}: {self.scenario.headline(self.params)}; {runs}"

    @property
    def base(self) -> Outcome | None:
        first = self.outcomes[0] if self.outcomes else None
        return first if first is not None and first.status == "ok" else None


def _mb(kb: int | None) -> str:
    return "-" if kb is None else f"{kb / 1024:.1f}"


def _ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "-"
    return f"{value / base:.2f}"


def _cells(result: ScenarioResult, outcome: Outcome) -> list[str]:
    if outcome.status != "ok":
        return [f"{outcome.status}: {outcome.reason}"]
    base = result.base
    amount = result.scenario.amount(result.params, outcome.facts)
    cells = [
        str(len(outcome.times)),
        f"{outcome.median:.3f}",
        f"{outcome.spread * 100:.0f}%",
        f"{amount / outcome.median:,.0f}"
        if amount / outcome.median >= 100
        else f"{amount / outcome.median:.1f}",
        _ratio(outcome.median, base.median if base else None),
        f"{outcome.cpu:.3f}",
        _ratio(outcome.cpu, base.cpu if base else None),
        _mb(outcome.peak_rss_kb),
        _mb(outcome.work_rss_kb),
    ]
    if result.scenario.memory:
        base_work = base.work_rss_kb if base else None
        cells.append(_ratio(outcome.work_rss_kb, base_work))
    return cells


def _headers(result: ScenarioResult) -> list[str]:
    heads = [
        "runs",
        "median s",
        "spread",
        result.scenario.unit,
        "time x",
        "cpu s",
        "cpu x",
        "peak MB",
        "work MB",
    ]
    return [*heads, "work x"] if result.scenario.memory else heads


def text_table(result: ScenarioResult) -> str:
    width = max(44, *(len(o.row.label) for o in result.outcomes)) + 1
    heads = _headers(result)
    rows = [(o, _cells(result, o)) for o in result.outcomes]
    # Each column as wide as its widest cell (a million jobs/s must not run into the next column).
    widths = [
        max([9, len(h) + 1] + [len(c) + 1 for o, cells in rows if o.status == "ok" for c in cells[i : i + 1]])
        for i, h in enumerate(heads)
    ]
    lines = [
        result.title,
        f"{'client':{width}}" + "".join(f"{h:>{w}}" for h, w in zip(heads, widths, strict=True)),
    ]
    for outcome, cells in rows:
        if outcome.status != "ok":
            lines.append(f"{outcome.row.label:{width}}  {cells[0]}")
        else:
            lines.append(
                f"{outcome.row.label:{width}}"
                + "".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=False))
            )
    lines.extend(_notes(result, bullet="  "))
    return "\n".join(lines)


def _notes(result: ScenarioResult, *, bullet: str) -> list[str]:
    lines = [f"{bullet}{o.row.label}: {o.row.note}" for o in result.outcomes if o.row.note]
    figures = result.scenario.figures
    if figures is not None:
        lines.extend(
            f"{bullet}{o.row.label}: {figures(o.facts)}" for o in result.outcomes if o.status == "ok"
        )
    lines.extend(f"{bullet}check: {c}" for c in result.checks)
    lines.extend(f"{bullet}PROBLEM: {p}" for p in result.problems)
    return lines


def markdown_table(result: ScenarioResult) -> str:
    heads = _headers(result)
    lines = [
        f"## {result.scenario.name}",
        "",
        result.scenario.summary,
        "",
        f"{result.title}.",
        "",
        "| client | " + " | ".join(heads) + " |",
        "|---|" + "---:|" * len(heads),
    ]
    for outcome in result.outcomes:
        cells = _cells(result, outcome)
        if outcome.status != "ok":
            cells = cells + [""] * (len(heads) - 1)
        lines.append(f"| {outcome.row.label} | " + " | ".join(cells) + " |")
    notes = _notes(result, bullet="- ")
    if notes:
        lines.extend(["", *notes])
    return "\n".join(lines)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment(*, quick: bool) -> str:
    versions = ", ".join(
        f"{name} {_version(name)}"
        for name in (
            "eoclient",
            "aiohttp",
            "msgspec",
            "requests",
            "sentinelhub",
            "numpy",
            "tifffile",
            "imagecodecs",
            "rasterio",
        )
    )
    return (
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {'quick' if quick else 'normal'} sizes; "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs; "
        f"Python {platform.python_version()}; {versions}"
    )


def summary(results: list[ScenarioResult], *, quick: bool) -> str:
    parts = [
        "# eoclient benchmarks",
        "",
        environment(quick=quick),
        "",
        "The emulator runs in a process of its own; each client runs in a process of its own too "
        "(`python -m benchmarks.child`), warms up (imports, token, first connection), then repeats the "
        "timed work. " + LEGEND,
    ]
    for result in results:
        parts.extend(["", markdown_table(result)])
    return "\n".join(parts) + "\n"
