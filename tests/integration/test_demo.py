"""The README's first command: ``eoclient demo``, real service jobs against the embedded emulator."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
import pytest

from eoclient.demo import run_demo
from eoclient.emulator import Credentials
from eoclient.errors import ConfigurationError, ValidationError

JOBS = {
    "batch": "sentinelhub.batch",
    "async-process": "sentinelhub.async_process",
    "batch-statistics": "sentinelhub.batch_statistics",
    "broken-evalscript": "sentinelhub.batch_statistics",
    "kraken": "spaceknow.pipeline",
    "stopped-batch": "sentinelhub.batch",
}
# Every status a job of the demo may report (polling may skip some, never add others), and its last.
STATUSES = {
    "batch": {"CREATED", "ANALYSING", "ANALYSIS_DONE", "PROCESSING", "DONE"},
    "async-process": {"RUNNING", "FINISHED"},
    "batch-statistics": {"CREATED", "ANALYSING", "ANALYSIS_DONE", "PROCESSING", "DONE"},
    "broken-evalscript": {"CREATED", "ANALYSING", "ANALYSIS_DONE", "PROCESSING", "FAILED"},
    "kraken": {"NEW", "PROCESSING", "RESOLVED"},
}
END = {
    "batch": "DONE",
    "async-process": "FINISHED",
    "batch-statistics": "DONE",
    "broken-evalscript": "FAILED",
    "kraken": "RESOLVED",
}
Run = tuple[dict[str, Any], list[dict[str, Any]], str]


def demo(out_dir: Path, seed: int = 3) -> Run:
    """One run in an event loop of its own: the summary, the parsed lines, the text."""
    out = io.StringIO()
    summary = anyio.run(lambda: run_demo(seed=seed, clock_speed=200.0, out=out, out_dir=out_dir))
    text = out.getvalue()
    return summary, [json.loads(line) for line in text.splitlines()], text


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return demo(tmp_path_factory.mktemp("demo"))


def events(lines: list[dict[str, Any]], name: str, **match: Any) -> list[dict[str, Any]]:
    return [line for line in lines if line["event"] == name and match.items() <= line.items()]


def test_every_real_job_reaches_its_end_state(first_run: Run) -> None:
    summary, lines, _ = first_run
    jobs = summary["jobs"]
    assert set(jobs) == set(JOBS)
    batch = jobs["batch"]
    assert {k: batch[k] for k in ("status", "completion")} == {"status": "DONE", "completion": 100.0}
    assert batch["cost_pu"] > 0
    # every tile the job delivered was downloaded while it ran, through a 503 and a dropped connection
    assert batch["downloaded"] > 0 and batch["downloaded_bytes"] > 0
    outputs = events(lines, "job.output", job="batch")
    assert (
        len(outputs) == batch["downloaded"] and sum(o["bytes"] for o in outputs) == batch["downloaded_bytes"]
    )
    assert all(o["path"].startswith("batch/tile-") and o["path"].endswith("/default.tif") for o in outputs)
    assert jobs["async-process"]["status"] == "FINISHED"
    [output] = jobs["async-process"]["outputs"]
    assert output.startswith("s3://eoclient-demo/async/") and output.endswith("/default.tif")
    assert (
        jobs["async-process"]["verified"] is True and jobs["async-process"]["bytes"] > 0
    )  # read, not guessed
    assert jobs["batch-statistics"]["status"] == "DONE" and jobs["batch-statistics"]["resumed"] is True
    features = jobs["batch-statistics"]["features"]
    assert features > 0
    assert events(lines, "job.features", job="batch-statistics")[0]["features"] == features
    shown = events(lines, "job.feature", job="batch-statistics")
    assert shown and all(f["intervals"] > 0 and 0 < f["mean_ndvi"] < 1 for f in shown)
    assert jobs["batch-statistics"]["completion"] == 100.0 and jobs["batch-statistics"]["cost_pu"] > 0
    assert jobs["broken-evalscript"]["status"] == "FAILED"
    assert "ReferenceError" in jobs["broken-evalscript"]["failed"]
    assert jobs["stopped-batch"] == {"status": "STOPPED", "reason": "USER_ACTION", "cancelled": True}
    assert jobs["kraken"]["status"] == "RESOLVED" and jobs["kraken"]["tiles"] > 0
    # each job's result line says what the summary says (which adds what was read after it ended)
    for name, result in jobs.items():
        [line] = events(lines, "job.result", job=name)
        assert line.items() <= {"event": "job.result", "job": name, **result}.items()
        assert line["status"] == result["status"]


def test_jobs_are_real_service_jobs_watched_to_their_end(first_run: Run) -> None:
    _, lines, _ = first_run
    submitted = {line["job"]: line["kind"] for line in events(lines, "job.submitted")}
    assert submitted == JOBS
    for name, allowed in STATUSES.items():
        seen = [line["status"] for line in events(lines, "job.status", job=name)]
        assert seen and set(seen) <= allowed, (name, seen)
        assert seen[-1] == END[name], (name, seen)
    batch = events(lines, "job.status", job="batch")
    progress = [line["progress"] for line in batch if line["progress"] is not None]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert events(lines, "job.cancel", job="stopped-batch", service_stopped=True)
    [token] = events(lines, "job.resume_token", job="batch-statistics")
    assert token["token"]["kind"] == "sentinelhub.batch_statistics"
    assert token["token"]["id"] == next(
        line["id"] for line in events(lines, "job.submitted", job="batch-statistics")
    )


def test_the_services_steps_and_the_faults_survived(first_run: Run) -> None:
    summary, lines, _ = first_run
    assert lines[0]["event"] == "emulator.started"
    assert lines[-1] == {"event": "demo.done", **summary}
    assert {"rate_limit", "server_error", "html_error", "drop"} <= set(summary["faults_survived"])
    assert summary["sentinelhub"]["scenes"] == summary["sentinelhub"]["rendered"] > 0
    assert summary["sentinelhub"]["pu_spent"] > 0 and summary["sentinelhub"]["stat_intervals"] > 0
    assert summary["spaceknow"]["scenes"] == 60
    assert summary["spaceknow"]["credits_spent"] > 0
    assert (
        summary["spaceknow"]["map_files"]
        >= summary["spaceknow"]["map_tiles"]
        == summary["jobs"]["kraken"]["tiles"]
    )
    assert {
        "login",
        "catalog.search",
        "imagery.search",
        "kraken.dry_run",
        "process.to_file",
        "statistics",
        "kraken.download_map",
    } <= {line["event"] for line in lines}
    # one login per client, one refresh after the forced expiry, one for the resuming client
    assert summary["token_requests"] == 4
    # a few hundred scenes, one PNG thumbnail each, all written where the run says
    assert summary["sentinelhub"]["rendered"] >= 200
    [rendered] = events(lines, "process.to_file")
    pngs = sorted(Path(rendered["directory"]).glob("*.png"))
    assert len(pngs) == rendered["files"] == summary["sentinelhub"]["rendered"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert sum(p.stat().st_size for p in pngs) == rendered["bytes"]


def test_no_secret_and_no_emulator_only_job_is_printed(first_run: Run) -> None:
    _, lines, text = first_run
    creds = Credentials()
    for secret in (creds.sh_client_secret, creds.sk_password, "emulator-client-secret", "emulator-password"):
        assert secret not in text
    assert "_sample" not in text and "emulator.sample" not in text
    assert all(isinstance(line["event"], str) for line in lines)


def test_the_same_seed_gives_the_same_jobs_and_results(first_run: Run, tmp_path: Path) -> None:
    summary, lines, _ = first_run
    again, lines_again, _ = demo(tmp_path)

    def stable(s: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in s.items() if k != "requests"}  # polls depend on timing

    assert stable(again) == stable(summary)
    assert events(lines_again, "job.submitted") == events(lines, "job.submitted")


@pytest.mark.timeout(300)  # a whole demo in a fresh interpreter: slow on a loaded machine
def test_cli_entry_point(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = subprocess.run(
        [sys.executable, "-m", "eoclient.cli", "demo", "--clock-speed", "300", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    last = json.loads(proc.stdout.splitlines()[-1])
    assert last["event"] == "demo.done"
    assert last["jobs"]["batch"]["status"] == "DONE"
    files = sorted(tmp_path.glob("*.tif"))
    assert files
    assert all(f.read_bytes()[:4] in (b"II*\x00", b"MM\x00*") for f in files)
    assert not list(tmp_path.rglob("*.part"))
    assert list((tmp_path / "map").rglob("*.png"))
    tiles = sorted((tmp_path / "batch").rglob("*.tif"))
    assert len(tiles) == last["jobs"]["batch"]["downloaded"] > 0
    assert all(t.read_bytes()[:4] in (b"II*\x00", b"MM\x00*") for t in tiles)
    # the area mosaic and its quicklook: real images, read back with coordinates
    [mosaic] = events([json.loads(line) for line in proc.stdout.splitlines()], "area.mosaic")
    assert mosaic["tiles"] == 4 and mosaic["crs"] == "EPSG:32633"
    assert (tmp_path / "area.tif").read_bytes()[:4] == b"II*\x00"
    assert (tmp_path / "quicklook.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(0 < mean < 255 for mean in mosaic["band_means"])


BLOCKED = """
import sys
for name in {names!r}:
    sys.modules[name] = None  # import name raises ImportError: as if it were not installed
from eoclient.cli import main
sys.exit(main(["demo", "--clock-speed", "300", "--out", {out!r}]))
"""


def run_without(names: list[str], out: str) -> subprocess.CompletedProcess[str]:
    code = BLOCKED.format(names=names, out=out)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=240, check=False
    )


@pytest.mark.timeout(300)  # a whole demo in a fresh interpreter, as above
def test_the_demo_needs_no_s3_server_of_its_own(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # moto and boto3 are test tools: the demo reads the emulator's own S3 API through obstore
    proc = run_without(["moto", "boto3", "botocore"], str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    last = json.loads(proc.stdout.splitlines()[-1])
    assert last["jobs"]["batch"]["downloaded"] == len(list((tmp_path / "batch").rglob("*.tif"))) > 0
    assert last["jobs"]["async-process"]["verified"] is True
    assert last["jobs"]["batch-statistics"]["features"] > 0


@pytest.mark.timeout(300)  # a whole demo in a fresh interpreter, as above
def test_without_the_extras_the_demo_says_what_to_install(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = run_without(["obstore", "xarray"], str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    [skipped] = events(lines, "outputs.skipped")
    assert "pip install 'eoclient[s3]'" in skipped["reason"]
    [no_arrays] = events(lines, "arrays.skipped")
    assert "pip install 'eoclient[xarray]'" in no_arrays["reason"]
    assert not events(lines, "area.mosaic") and not (tmp_path / "area.tif").exists()
    last = lines[-1]
    assert last["jobs"]["batch"]["status"] == "DONE" and "downloaded" not in last["jobs"]["batch"]
    assert last["jobs"]["async-process"]["verified"] is False
    assert not (tmp_path / "batch").exists()


def test_for_a_person_live_progress_and_a_summary_table(tmp_path: Path) -> None:
    out = io.StringIO()  # not a terminal: rich prints the live display once, when it stops
    summary = anyio.run(
        lambda: run_demo(seed=3, clock_speed=200.0, out=out, out_dir=tmp_path, json_lines=False)
    )
    text = out.getvalue()
    assert '{"event"' not in text  # no JSON lines
    for step in ("Catalog search: ", "Kraken dry run: ", "Job batch: DONE", "Job broken-evalscript: FAILED"):
        assert step in text, step
    rendered = summary["sentinelhub"]["rendered"]
    assert f"{rendered}/{rendered}" in text  # the render progress bar, full
    summary_table = text[text.index("Summary") :]
    for row in ("items", "files", "bytes", "time", "retries survived"):
        assert row in summary_table, row
    faults = len(summary["faults_survived"])
    assert f"{faults} injected faults" in summary_table
    assert f"Files: {tmp_path}" in text and f"Report: {tmp_path / 'report.html'}" in text
    assert (tmp_path / "report.html").is_file()


def test_without_an_out_dir_the_files_stay_in_a_temporary_folder_it_names() -> None:
    out = io.StringIO()
    anyio.run(lambda: run_demo(seed=3, clock_speed=300.0, out=out))
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    [report] = events(lines, "report")
    folder = Path(report["directory"])
    try:
        assert folder.parent == Path(tempfile.gettempdir()) and folder.name.startswith("eoclient-demo-")
        assert Path(report["path"]) == folder / "report.html" and Path(report["path"]).is_file()
        assert list((folder / "renders").glob("*.png"))
    finally:
        shutil.rmtree(folder)


def test_bad_arguments_are_refused_before_anything_starts(tmp_path: Path) -> None:
    a_file = tmp_path / "taken"
    a_file.write_text("")
    for kwargs, field in (
        ({"clock_speed": -1.0}, "clock_speed"),
        ({"clock_speed": float("nan")}, "clock_speed"),
        ({"out_dir": a_file}, "out_dir"),
    ):
        out = io.StringIO()
        with pytest.raises(ValidationError) as raised:
            anyio.run(lambda kw=kwargs, o=out: run_demo(out=o, **kw))
        assert raised.value.field == field
        assert out.getvalue() == ""  # nothing printed: the emulator never started


def test_live_progress_without_rich_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in [m for m in sys.modules if m.split(".")[0] == "rich"] + ["rich"]:
        monkeypatch.setitem(sys.modules, name, None)  # import rich... then raises ImportError
    monkeypatch.delitem(sys.modules, "eoclient.demo_view", raising=False)
    with pytest.raises(ConfigurationError, match=r"pip install 'eoclient\[cli\]'"):
        anyio.run(lambda: run_demo(out=io.StringIO(), out_dir=tmp_path, json_lines=False))
    assert not list(tmp_path.iterdir())  # refused before anything was written
