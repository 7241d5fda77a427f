"""Smoke test of the benchmarks: every scenario runs in quick mode. Nothing here looks at timings."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from benchmarks.emulator import emulator_process
from benchmarks.measure import Context
from benchmarks.run import run
from benchmarks.scenarios import SCENARIOS


def test_eoclient_side_of_every_scenario_runs_in_quick_mode(tmp_path: Path) -> None:
    results = run(["--quick", "--clients", "eoclient", "--results", str(tmp_path)])

    assert [r.scenario.name for r in results] == [s.name for s in SCENARIOS]
    for result in results:
        assert result.problems == [], result.problems
        ours = [o for o in result.outcomes if o.row.group == "eoclient"]
        assert ours and all(o.status == "ok" for o in ours), [(o.row.label, o.reason) for o in ours]
        for outcome in ours:
            assert len(outcome.times) == result.params["repeat"]
            assert outcome.facts, outcome.row.label
            assert outcome.peak_rss_kb
        others = [o for o in result.outcomes if o.row.group != "eoclient"]
        assert all(o.status == "skipped" for o in others)
        assert (tmp_path / f"{result.scenario.name}.txt").read_text().startswith(result.scenario.name)
    summary = (tmp_path / "summary.md").read_text()
    assert all(f"## {s.name}" in summary for s in SCENARIOS)


def test_sentinelhub_py_side_of_every_scenario_runs_in_quick_mode(tmp_path: Path) -> None:
    """The peer's rows, run in this process (one import of sentinelhub-py instead of one per row)."""
    pytest.importorskip(
        "sentinelhub", reason="sentinelhub-py is not installed: its rows are not smoke-tested (nox -s bench)"
    )
    with emulator_process() as info:
        for scenario in SCENARIOS:
            params = dict(scenario.quick)
            if scenario.prepare is not None:
                params.update(scenario.prepare(info, params))
            module = importlib.import_module(scenario.module)
            for row in scenario.rows:
                if row.group != "sentinelhub":
                    continue
                work = tmp_path / f"{scenario.name}-{row.client}"
                work.mkdir()
                spec = {"emulator": info, "params": params, "repeat": 1, "workdir": str(work)}
                ctx = Context(spec)
                getattr(module, row.client)(ctx)
                assert len(ctx.times) == 1, row.label
                assert ctx.facts, row.label
