"""Two children of one measure, alive together, their timed sections taking turns.

On two shared cores the CPU time of the same work moves by tens of percent
from one minute to the next (other tenants, caches, frequency). Children run
back to back each see a different minute; here both start together, warm up,
and then the parent hands the turn to one, waits until its timed section is
over, hands it to the other, and so on (the first of each turn alternating).
Each section of one side thus has a section of the other next to it in time,
and the ratio of the two is taken section by section (:func:`turn_ratios`):
what the machine does to both within a few hundred milliseconds cancels out.

The turn is a byte on a pipe (:class:`benchmarks.measure.Context` reads it
before a timed section and writes one back after it); a child that dies or
hangs shows as an end of file or a timeout, never as a wait without end.
"""

from __future__ import annotations

import os
import select
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.report import Outcome
from benchmarks.run import ROOT, child_argv, child_env, child_outcome, child_spec
from benchmarks.spec import Row


class _Side:
    """One running child and the two ends of its baton the parent keeps."""

    def __init__(self, proc: subprocess.Popen[bytes], give: int, back: int, folder: Path) -> None:
        self.proc, self.give, self.back, self.folder = proc, give, back, folder


def _take_back(side: _Side, deadline: float) -> str | None:
    """Wait for ``side`` to hand the turn back: ``None``, or why it did not."""
    left = deadline - time.monotonic()
    ready, _, _ = select.select([side.back], [], [], max(0.0, left))
    if not ready:
        return "no turn handed back before the timeout"
    if not os.read(side.back, 1):
        return "the child ended during its turn"
    return None


def run_interleaved(
    module: str, rows: Sequence[Row], info: dict[str, Any], params: dict[str, Any], timeout: float
) -> dict[str, Outcome]:
    """Run ``rows`` (two) together, their ``params["repeat"]`` timed sections taking turns.

    ``rows[0]`` goes first in even turns, ``rows[1]`` in odd ones. Every child
    gets exactly ``repeat`` turns; what each measured, by ``row.client``.
    """
    deadline = time.monotonic() + timeout
    params = {**params, "min_time": 0.0, "max_repeat": params["repeat"]}  # as many sections as turns
    with tempfile.TemporaryDirectory(prefix="eoclient-interleave-") as tmp:
        sides: list[_Side] = []
        try:
            for i, row in enumerate(rows):
                give_r, give_w = os.pipe()
                back_r, back_w = os.pipe()
                folder = Path(tmp) / str(i)
                folder.mkdir()
                spec, _ = child_spec(module, row, info, params, folder, baton=[give_r, back_w])
                with (folder / "stderr").open("wb") as err:  # a file: a pipe nobody reads can fill up
                    proc = subprocess.Popen(
                        child_argv(spec),
                        cwd=ROOT,
                        env=child_env(),
                        stdout=subprocess.DEVNULL,
                        stderr=err,
                        pass_fds=(give_r, back_w),
                    )
                os.close(give_r)  # the child's ends: an end of file once the child is gone
                os.close(back_w)
                sides.append(_Side(proc, give_w, back_r, folder))
            problem = _conduct(sides, int(params["repeat"]), deadline)
        finally:
            for side in sides:
                os.close(side.give)  # a child still waiting for a turn reads an end of file and stops
        outcomes = {}
        for row, side in zip(rows, sides, strict=True):
            killed = False
            try:
                side.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                side.proc.kill()
                side.proc.wait()
                killed = True
            os.close(side.back)
            stderr = (side.folder / "stderr").read_text(errors="replace")
            outcome = child_outcome(row, side.proc.returncode, stderr, side.folder / "result.json")
            if killed:
                outcome = Outcome(row, "failed", f"stopped after {timeout:.0f} s: {problem or 'no result'}")
            elif problem is not None and outcome.status == "ok":
                outcome = Outcome(row, "failed", problem)
            outcomes[row.client] = outcome
    return outcomes


def _conduct(sides: list[_Side], turns: int, deadline: float) -> str | None:
    """Hand out ``turns`` turns to each side, alternating who goes first; ``None``, or what went wrong."""
    for turn in range(turns):
        for side in sides if turn % 2 == 0 else sides[::-1]:
            try:
                os.write(side.give, b".")
            except BrokenPipeError:
                return "the child ended before its turn"
            problem = _take_back(side, deadline)
            if problem is not None:
                return problem
    return None


def single(outcome: Outcome, i: int) -> Outcome:
    """``outcome`` as if its child had timed only its ``i``-th section."""
    return replace(outcome, times=[outcome.times[i]], cpu_times=[outcome.cpu_times[i]])


def turn_ratios(
    value: Callable[[Outcome, Mapping[str, Any]], float],
    ours: Outcome,
    floor: Outcome,
    params: Mapping[str, Any],
) -> list[float]:
    """``value`` of each of our sections over the floor's section of the same turn."""
    turns = min(len(ours.cpu_times), len(floor.cpu_times))
    return [value(single(ours, i), params) / value(single(floor, i), params) for i in range(turns)]


def round_ratio(
    value: Callable[[Outcome, Mapping[str, Any]], float],
    ours: Outcome,
    floor: Outcome,
    params: Mapping[str, Any],
) -> float:
    """The ratio of one round of an interleaved measure: the median of its turns' ratios."""
    return statistics.median(turn_ratios(value, ours, floor, params))


__all__: Sequence[str] = ("round_ratio", "run_interleaved", "single", "turn_ratios")
