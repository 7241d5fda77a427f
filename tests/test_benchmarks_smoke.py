"""Smoke test of the benchmarks: every scenario runs in quick mode. Nothing here looks at timings."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from contextlib import nullcontext
from pathlib import Path

import pytest

from benchmarks.emulator import emulator_process
from benchmarks.floor import instructions
from benchmarks.floor.measures import FOOTPRINT, PROCESS
from benchmarks.floor.runner import run as floor_run
from benchmarks.measure import Context
from benchmarks.run import run
from benchmarks.scenarios import SCENARIOS
from tests.extras import need

# Every row is a process of its own (imports, token, a warm-up each): on two shared cores a quick run
# of the larger scenarios (Dask's cluster, the floor table) takes longer than the suite's default timeout.
RUNNER_TIMEOUT = 240


@pytest.mark.timeout(RUNNER_TIMEOUT)
@pytest.mark.parametrize("name", [s.name for s in SCENARIOS])
def test_eoclient_side_of_every_scenario_runs_in_quick_mode(name: str, tmp_path: Path) -> None:
    # One scenario per test: each has the whole timeout, and the suite's workers share them out.
    results = run(["--quick", "--scenario", name, "--clients", "eoclient", "--results", str(tmp_path)])

    assert [r.scenario.name for r in results] == [name]
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
    assert f"## {name}" in (tmp_path / "summary.md").read_text()


def test_sentinelhub_py_side_of_every_scenario_runs_in_quick_mode(tmp_path: Path) -> None:
    """The peer's rows, run in this process (one import of sentinelhub-py instead of one per row)."""
    pytest.importorskip(
        "sentinelhub", reason="sentinelhub-py is not installed: its rows are not smoke-tested (nox -s bench)"
    )
    with emulator_process() as info:
        for scenario in SCENARIOS:
            rows = [row for row in scenario.rows if row.group == "sentinelhub"]
            if not rows:
                continue
            params = dict(scenario.quick)
            if scenario.prepare is not None:
                params.update(scenario.prepare(info, params))
            setup = scenario.setup(info, params) if scenario.setup is not None else nullcontext({})
            module = importlib.import_module(scenario.module)
            with setup as extra:
                for row in rows:
                    work = tmp_path / f"{scenario.name}-{row.client}"
                    work.mkdir()
                    spec = {
                        "emulator": {**info, **extra},
                        "params": params,
                        "repeat": 1,
                        "workdir": str(work),
                    }
                    ctx = Context(spec)
                    getattr(module, row.client)(ctx)
                    assert len(ctx.times) == 1, row.label
                    assert ctx.facts, row.label


DECODERS = ("tifffile", "imagecodecs", "rasterio")


@pytest.mark.timeout(RUNNER_TIMEOUT)
def test_decoder_rows_run_in_quick_mode_and_agree_with_eoclient(tmp_path: Path) -> None:
    """tifffile (alone, and with imagecodecs) and rasterio: each in a process of its own, as the runner does.

    The tifffile-alone row keeps imagecodecs out of its process, so it cannot run in this one. The
    test extra installs all three (rasterio comes with rioxarray).
    """
    for module in DECODERS:
        need(module)
    scenarios = ["--scenario", "decode-small", "--scenario", "decode-large"]
    clients = ",".join(["eoclient", *DECODERS])
    results = run(["--quick", *scenarios, "--clients", clients, "--results", str(tmp_path)])

    for result in results:
        assert result.problems == [], result.problems
        ran = {o.row.group for o in result.outcomes if o.status == "ok"}
        assert ran == {"eoclient", *DECODERS}, [(o.row.label, o.status, o.reason) for o in result.outcomes]
        # every row that ran decoded the same arrays: the same bytes hashed, shape and dtype
        assert any("agree on sha256" in check for check in result.checks), result.checks


@pytest.mark.timeout(RUNNER_TIMEOUT)
def test_floor_table_runs_in_quick_mode(tmp_path: Path) -> None:
    """``python -m benchmarks floor --quick``: every measure has its line, paired or saying why not."""
    result = floor_run(["--quick", "--results", str(tmp_path)])

    assert result.problems == [], result.problems
    by_name = {line.cells[0]: line.cells for line in result.lines}
    paired = [
        name for name in by_name if name.startswith(("CPU per small Process", "process_to_file", "Jobs on"))
    ]
    assert len(paired) == 8, list(by_name)  # 3 Process, 2 x 2 to a file (MB/s, CPU), 1 Jobs
    for name in paired:
        eoclient, floor_value, ratio = by_name[name][1:4]
        assert eoclient[0].isdigit() and floor_value[0].isdigit(), by_name[name]
        assert ratio.endswith("(1)"), by_name[name]  # one round in quick mode
    assert any(name.endswith("RSS growth (largest)") for name in by_name), list(by_name)
    assert any("memory per idle handle" in name for name in by_name), list(by_name)
    imports = by_name["`import eoclient` wall vs `import sentinelhub`"]
    if importlib.util.find_spec("sentinelhub") is None:
        assert imports[1].startswith("not measured: sentinelhub is not installed"), imports
    else:
        assert imports[3].endswith("(3)"), imports  # three rounds of fresh interpreters
    stac = [cells for name, cells in by_name.items() if name.startswith("STAC paging")]
    assert stac, list(by_name)
    if importlib.util.find_spec("benchmarks.scenarios.stac_paging") is None:
        assert stac[0][1].startswith("not measured: "), stac
    assert (tmp_path / "floor.md").read_text() == result.text


# A stand-in for valgrind: runs the command and writes a callgrind total that grows by exactly
# 5,000 per request the spec asks for, so the difference method must find 5,000 per request.
# It refuses to run without the fixed hash seed (the n and 2n runs must hash alike).
FAKE_VALGRIND = """#!{python}
import json, os, subprocess, sys
if os.environ.get("PYTHONHASHSEED") != "1":
    sys.exit("no fixed PYTHONHASHSEED")
args = sys.argv[1:]
out = next(a for a in args if a.startswith("--callgrind-out-file=")).split("=", 1)[1]
command = [a for a in args if not a.startswith("--")]
subprocess.run(command, check=True)
params = json.load(open(command[-1]))["params"]
n = params["requests"]
if "--cache-sim=yes" in args:  # instructions, then the last-level read misses of data and of code
    misses = (70_000 + 400 * n, 900 + 30 * n)
    open(out, "w").write("events: Ir DLmr ILmr\\nsummary: 9000000 %d %d\\n" % misses)
else:
    open(out, "w").write("events: Ir\\nsummary: %d\\n" % (9_000_000 + 5_000 * n))
"""


@pytest.fixture
def fake_valgrind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FAKE_VALGRIND first on PATH."""
    fake = tmp_path / "bin" / "valgrind"
    fake.parent.mkdir()
    fake.write_text(FAKE_VALGRIND.format(python=sys.executable))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")


@pytest.mark.timeout(RUNNER_TIMEOUT)
@pytest.mark.usefixtures("fake_valgrind")
def test_instruction_lines_take_the_difference_per_unit() -> None:
    assert instructions.available() is None
    measure = PROCESS[1]
    params = {**measure.quick, **instructions.SIZES["process"], "requests": 6}
    with emulator_process() as info:
        ours, why = instructions.per_unit(measure, measure.ours, info, params, "requests", RUNNER_TIMEOUT)
    assert why == "" and ours == 5_000


@pytest.mark.timeout(RUNNER_TIMEOUT)
@pytest.mark.usefixtures("fake_valgrind")
def test_footprint_line_counts_last_level_read_misses_of_cold_requests() -> None:
    measure = FOOTPRINT
    params = {**measure.quick, "requests": 3}
    with emulator_process() as info:  # both cold children run for real, against the emulator
        got = [
            instructions.per_unit(
                measure, row, info, params, "requests", RUNNER_TIMEOUT, instructions.LL_READ_MISSES
            )
            for row in (measure.ours, measure.floor)
        ]
    assert got == [(430.0, ""), (430.0, "")]  # (DLmr + ILmr) per request: 400 + 30


def test_instruction_lines_say_why_without_valgrind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(instructions.shutil, "which", lambda name: None)
    cells = instructions.lines({}, {"jobs"}, 10.0, lambda: None)
    assert cells == [
        (
            "Jobs on one loop: Instructions per status update",
            "not measured: valgrind is not installed (apt install valgrind)",
            "",
            "",
            "-",
            "-",
        )
    ]
