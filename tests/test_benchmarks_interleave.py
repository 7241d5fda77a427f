"""The floor table's interleaved children: their timed sections take turns, and a child that fails is told."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from benchmarks.floor.interleave import round_ratio, run_interleaved, turn_ratios
from benchmarks.floor.measures import cpu_per
from benchmarks.report import Outcome
from benchmarks.spec import Row

OURS, FLOOR = Row("ours", "ours"), Row("floor", "floor", "aiohttp")
MODULE = "tests.turn_children"


def _sections(log: Path) -> list[tuple[str, float, float]]:
    rows = [line.split() for line in log.read_text().splitlines()]
    return sorted(((side, float(a), float(b)) for side, a, b in rows), key=lambda s: s[1])


@pytest.mark.timeout(120)
def test_the_sides_take_turns_and_never_overlap(tmp_path: Path) -> None:
    log = tmp_path / "log"
    got = run_interleaved(MODULE, [OURS, FLOOR], {}, {"repeat": 4, "log": str(log)}, timeout=60)

    assert [o.status for o in got.values()] == ["ok", "ok"], [o.reason for o in got.values()]
    assert len(got["ours"].cpu_times) == len(got["floor"].cpu_times) == 4
    sections = _sections(log)
    # Turn by turn, the first of each turn alternating: ours floor | floor ours | ours floor | ...
    assert [s[0] for s in sections] == ["ours", "floor", "floor", "ours"] * 2
    for before, after in itertools.pairwise(sections):
        assert before[2] <= after[1], (before, after)  # one section ends before the next starts


@pytest.mark.timeout(120)
def test_a_child_that_dies_is_a_failure_with_its_reason_not_a_wait(tmp_path: Path) -> None:
    params = {"repeat": 3, "log": str(tmp_path / "log"), "die_at": ["floor", 1]}
    got = run_interleaved(MODULE, [OURS, FLOOR], {}, params, timeout=60)

    assert got["floor"].status == "failed"
    assert "floor stops at turn 1" in got["floor"].reason
    assert got["ours"].status == "failed"  # it was never given its later turns
    assert "the parent stopped handing out turns" in got["ours"].reason


@pytest.mark.timeout(120)
def test_a_child_that_keeps_its_turn_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    params = {"repeat": 2, "log": str(tmp_path / "log"), "hang": {"ours": 600}}
    got = run_interleaved(MODULE, [OURS, FLOOR], {}, params, timeout=5)

    assert got["ours"].status == "failed"
    assert got["ours"].reason == "stopped after 5 s: no turn handed back before the timeout"
    assert got["floor"].status == "failed"  # never given its turn
    assert "the parent stopped handing out turns" in got["floor"].reason


def test_a_round_is_the_median_of_its_turns_ratios() -> None:
    value = cpu_per("requests")
    ours = Outcome(OURS, "ok", times=[1.0] * 3, cpu_times=[2.0, 1.1, 3.0], facts={"requests": 10})
    floor = Outcome(FLOOR, "ok", times=[1.0] * 3, cpu_times=[1.0, 1.0, 2.0], facts={"requests": 10})

    assert turn_ratios(value, ours, floor, {}) == pytest.approx([2.0, 1.1, 1.5])
    assert round_ratio(value, ours, floor, {}) == pytest.approx(1.5)
