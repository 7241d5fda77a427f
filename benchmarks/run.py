"""The runner: start the emulator, run every row of every scenario in a child process, report.

``python -m benchmarks`` calls :func:`main`; the smoke test calls :func:`run`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.emulator import emulator_process
from benchmarks.report import Outcome, ScenarioResult, summary, text_table
from benchmarks.scenarios import BY_NAME, SCENARIOS
from benchmarks.spec import GROUPS, INSTALL_HINT, Row, Scenario

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="eoclient side by side with sentinelhub-py, requests and bare aiohttp, on the emulator.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat: a smoke run")
    parser.add_argument("--repeat", type=int, help="timed repeats per client (default: per scenario)")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[s.name for s in SCENARIOS],
        help="run only this scenario (repeatable; default: all)",
    )
    parser.add_argument(
        "--clients",
        default=",".join(GROUPS),
        help=f"comma-separated kinds of rows to run, of {', '.join(GROUPS)} (default: all)",
    )
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="SCENARIO.KEY=N",
        help="override a size, e.g. -p process-many.requests=200 (repeatable)",
    )
    parser.add_argument(
        "--min-time",
        type=float,
        help="repeat a client until this many seconds were timed (up to --max-repeat; default 3, quick 0)",
    )
    parser.add_argument("--max-repeat", type=int, default=25, help="the most timed repeats per client")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write the tables")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds allowed per client process")
    args = parser.parse_args(argv)
    args.groups = {g.strip() for g in args.clients.split(",") if g.strip()}
    unknown = args.groups - set(GROUPS)
    if unknown:
        parser.error(f"--clients: unknown {', '.join(sorted(unknown))} (choose from {', '.join(GROUPS)})")
    return args


def _overrides(items: Sequence[str]) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for item in items:
        name, _, rest = item.partition(".")
        key, _, value = rest.partition("=")
        if name not in BY_NAME or not key or not value.isdigit():
            raise SystemExit(f"--param {item!r}: expected SCENARIO.KEY=N with a known scenario")
        found.setdefault(name, {})[key] = int(value)
    return found


def _missing(group: str) -> str | None:
    if group in ("eoclient", "aiohttp") or importlib.util.find_spec(group) is not None:
        return None
    return f"{group} is not installed: {INSTALL_HINT.get(group, 'pip install ' + group)}"


def _child(
    scenario: Scenario, row: Row, info: dict[str, Any], params: dict[str, Any], timeout: float
) -> Outcome:
    return run_child(scenario.module, row, info, params, timeout)


def child_spec(
    module: str, row: Row, info: dict[str, Any], params: dict[str, Any], tmp: Path, **extra: Any
) -> tuple[Path, Path]:
    """Write the spec of one child (:mod:`benchmarks.child`) into ``tmp``: its path and the result's."""
    work = tmp / "work"
    work.mkdir()
    spec = {
        "module": module,
        "client": row.client,
        "emulator": info,
        "params": params,
        "repeat": params["repeat"],
        "min_time": params.get("min_time", 0.0),
        "max_repeat": params.get("max_repeat", params["repeat"]),
        "workdir": str(work),
        "result": str(tmp / "result.json"),
        **extra,
    }
    spec_path = tmp / "spec.json"
    spec_path.write_text(json.dumps(spec))
    return spec_path, tmp / "result.json"


def child_argv(spec_path: Path, wrapper: Sequence[str] = ()) -> list[str]:
    """The command line of a child (``wrapper``, e.g. valgrind, goes before the interpreter)."""
    return [*wrapper, sys.executable, "-m", "benchmarks.child", str(spec_path)]


def child_env() -> dict[str, str]:
    """The environment of a child: this one, with the project on ``PYTHONPATH``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))
    return env


def child_outcome(row: Row, returncode: int, stderr: str, result_path: Path) -> Outcome:
    """What a finished child measured, or why it failed (the last line it wrote to stderr)."""
    if returncode != 0 or not result_path.exists():
        tail = [line for line in stderr.strip().splitlines() if line.strip()][-1:] or ["no output"]
        return Outcome(row, "failed", f"exit {returncode}: {tail[0].strip()}")
    data = json.loads(result_path.read_text())
    return Outcome(
        row,
        "ok",
        times=data["times"],
        cpu_times=data["cpu_times"],
        facts=data["facts"],
        peak_rss_kb=data["peak_rss_kb"],
        work_rss_kb=data["work_rss_kb"],
    )


def run_child(
    module: str,
    row: Row,
    info: dict[str, Any],
    params: dict[str, Any],
    timeout: float,
    *,
    wrapper: Sequence[str] = (),
) -> Outcome:
    """Run ``row.client`` of ``module`` in a child process (:mod:`benchmarks.child`); what it measured.

    ``wrapper`` goes before the interpreter on the command line (a profiler such as valgrind).
    """
    with tempfile.TemporaryDirectory(prefix="eoclient-bench-") as tmp:
        spec_path, result_path = child_spec(module, row, info, params, Path(tmp))
        try:
            proc = subprocess.run(
                child_argv(spec_path, wrapper),
                cwd=ROOT,
                env=child_env(),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Outcome(row, "failed", f"no result after {timeout:.0f} s")
        return child_outcome(row, proc.returncode, proc.stderr, result_path)


def _check(result: ScenarioResult) -> None:
    """Every client must have done the same work (facts named by ``agree``)."""
    done = [o for o in result.outcomes if o.status == "ok"]
    for key in result.scenario.agree:
        values = {o.row.label: o.facts[key] for o in done if key in o.facts}
        if len(set(values.values())) > 1:
            got = "; ".join(f"{label}: {value}" for label, value in values.items())
            result.problems.append(f"the clients disagree on {key}: {got}")
        elif len(values) > 1:
            result.checks.append(f"{len(values)} clients agree on {key} ({next(iter(values.values()))})")
    result.problems.extend(
        f"{o.row.label} failed: {o.reason}" for o in result.outcomes if o.status == "failed"
    )


def run_scenario(
    scenario: Scenario,
    info: dict[str, Any],
    params: dict[str, Any],
    groups: set[str],
    timeout: float,
) -> ScenarioResult:
    if scenario.prepare is not None:
        params = {**params, **scenario.prepare(info, params)}
    if scenario.setup is not None:
        with scenario.setup(info, params) as extra:
            return _rows(scenario, {**info, **extra}, params, groups, timeout)
    return _rows(scenario, info, params, groups, timeout)


def _rows(
    scenario: Scenario, info: dict[str, Any], params: dict[str, Any], groups: set[str], timeout: float
) -> ScenarioResult:
    outcomes: list[Outcome] = []
    for row in scenario.rows:
        if row.group not in groups:
            outcomes.append(Outcome(row, "skipped", f"not selected (--clients {','.join(sorted(groups))})"))
            continue
        missing = _missing(row.group)
        if missing is not None:
            print(f"  {scenario.name}: skipping {row.label!r}: {missing}", file=sys.stderr)
            outcomes.append(Outcome(row, "skipped", missing))
            continue
        print(f"  {scenario.name}: {row.label} ...", file=sys.stderr, flush=True)
        outcomes.append(_child(scenario, row, info, params, timeout))
    result = ScenarioResult(scenario, params, outcomes)
    _check(result)
    return result


def run(argv: Sequence[str] | None = None) -> list[ScenarioResult]:
    """Run the chosen scenarios; print each table, write ``<results>/<scenario>.txt`` and ``summary.md``."""
    args = parse_args(argv)
    overrides = _overrides(args.param)
    chosen = [BY_NAME[name] for name in args.scenario] if args.scenario else list(SCENARIOS)
    results: list[ScenarioResult] = []
    args.results.mkdir(parents=True, exist_ok=True)
    with emulator_process() as info:
        for scenario in chosen:
            params = dict(scenario.quick if args.quick else scenario.normal)
            params.update(overrides.get(scenario.name, {}))
            if args.repeat is not None:
                params["repeat"] = args.repeat
            params["min_time"] = args.min_time if args.min_time is not None else (0.0 if args.quick else 3.0)
            params["max_repeat"] = max(args.max_repeat, params["repeat"])
            result = run_scenario(scenario, info, params, args.groups, args.timeout)
            text = text_table(result)
            print(text + "\n", flush=True)
            (args.results / f"{scenario.name}.txt").write_text(text + "\n")
            results.append(result)
    (args.results / "summary.md").write_text(summary(results, quick=args.quick))
    return results


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["floor"] or "--floor" in args:  # the floor table: benchmarks/floor/
        from benchmarks.floor.runner import main as floor  # noqa: PLC0415 - only that command needs it

        floor([a for a in args if a not in ("floor", "--floor")])
        return
    results = run(args)
    if any(r.problems for r in results):
        raise SystemExit(1)
